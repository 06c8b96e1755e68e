/* Trust anchor files (`trust-anchor-file:`) as the config sees them: checked when the config is
 * loaded, so `vigild -t` reports a bad anchor with its file and line. The resolver's anchor set
 * (resolver/anchor.h) parses the same text again. Thread-safe (no shared state). */
#ifndef VIGIL_ANCHOR_H
#define VIGIL_ANCHOR_H

#include <stddef.h>

#define VG_ANCHOR_FILE_MAX (1 << 20) /* bytes of a trust-anchor file that are read */

/* Checks presentation-format DS / DNSKEY records (zone-file syntax: comments, parentheses,
 * $ORIGIN and $TTL allowed). `name` names the text in messages. Returns 0, or VG_ECONFIG with
 * "NAME:LINE: reason" in err (NUL-terminated, truncated to errlen), or -ENOMEM. */
int vg_anchor_text_check(const char *name, const char *text, char *err, size_t errlen);

#endif
