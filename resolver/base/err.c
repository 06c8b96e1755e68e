/* vg_strerror: one text table for the project's error convention. */
#include <string.h>
#include <vigil/err.h>

const char *vg_strerror(int err)
{
	switch (err) {
	case VG_OK: return "success";
	case VG_EFORMAT: return "malformed input";
	case VG_ETRUNC: return "input truncated";
	case VG_ELOOP: return "loop detected";
	case VG_ELIMIT: return "limit reached";
	case VG_ENOTFOUND: return "not found";
	case VG_ESTALE: return "entry expired";
	case VG_ERANK: return "lower-ranked data refused";
	case VG_ECORRUPT: return "stored data corrupted";
	case VG_EVERSION: return "stored data has another format version";
	case VG_ECONFIG: return "configuration error";
	case VG_ESPACE: return "no space left";
	case VG_ETIMEOUT: return "timed out";
	case VG_EREFUSED: return "refused by policy";
	case VG_EBOGUS: return "DNSSEC validation failed";
	case VG_ELIBUV: return "event loop error";
	case VG_ELMDB: return "LMDB error";
	default: break;
	}
	if (err < 0 && err > -4096)
		return strerror(-err); /* glibc returns a static string for known codes */
	return "unknown error";
}
