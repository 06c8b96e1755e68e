/* Reply matching shared by every upstream transport: ID, QR and exact question bytes (0x20 case). */
#include <ctype.h>
#include <vigil/name.h>
#include <vigil/upstream.h>

enum vg_upstream_match vg_upstream_match(const uint8_t *query, size_t qlen, const uint8_t *reply,
					 size_t rlen)
{
	if (qlen < 12 + 1 + 4 || rlen < 12 + 1 + 4)
		return VG_MATCH_SHORT;
	if (!(reply[2] & 0x80))
		return VG_MATCH_NOT_REPLY;
	if (reply[0] != query[0] || reply[1] != query[1])
		return VG_MATCH_ID;
	if (vg_get_u16(reply + 4) != 1)
		return VG_MATCH_QUESTION;
	/* Our query's name is uncompressed and the reply's question is the first name in it, so it
	 * cannot be compressed either: a byte comparison is exact. */
	size_t pos = 12;
	int n = vg_name_len(query + 12, qlen - 12);
	if (n <= 0 || 12 + (size_t)n + 4 > qlen || 12 + (size_t)n + 4 > rlen)
		return n <= 0 ? VG_MATCH_SHORT : VG_MATCH_QUESTION;
	if (memcmp(query + pos, reply + pos, (size_t)n + 4) == 0)
		return VG_MATCH_OK;
	/* Tell a case-only difference apart: it is what a 0x20 check catches (forgery or a server
	 * that does not preserve case). */
	for (size_t i = 0; i < (size_t)n + 4; i++) {
		uint8_t a = query[pos + i], b = reply[pos + i];
		if (a != b && (i >= (size_t)n || tolower(a) != tolower(b)))
			return VG_MATCH_QUESTION;
	}
	return VG_MATCH_CASE;
}
