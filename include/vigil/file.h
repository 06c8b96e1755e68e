/* Reading a whole small file into memory (base library, libc only). */
#ifndef VIGIL_FILE_H
#define VIGIL_FILE_H

#include <stddef.h>

/* Reads at most `max` bytes of `path` into a new NUL-terminated buffer: *out (caller frees) and
 * *len (bytes read, NUL not counted; the text may itself contain NUL bytes). A longer file is cut
 * at `max`. Returns 0 or a negative errno (-ENOENT, -EISDIR, -ENOMEM, ...); *out is NULL then.
 * Thread-safe. */
int vg_file_read(const char *path, size_t max, char **out, size_t *len);

#endif
