/* vg_file_read: one reader for the small text files vigil loads (config, root hints). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <vigil/file.h>

int vg_file_read(const char *path, size_t max, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t n = 0, cap = 4096;
	char *buf = malloc(cap);
	int rc = buf ? 0 : -ENOMEM;
	while (rc == 0 && n < max) {
		if (cap - n < 2) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t want = cap - n - 1;
		if (want > max - n)
			want = max - n;
		size_t got = fread(buf + n, 1, want, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				rc = errno ? -errno : -EIO;
			break;
		}
	}
	fclose(f);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}
