/* vigil error convention: 0 or a negative code (negative errno or VG_E*), one vg_strerror(). */
#ifndef VIGIL_ERR_H
#define VIGIL_ERR_H

/* Project codes live below -10000 so they never collide with a negative errno. */
enum vg_err {
	VG_OK = 0,
	VG_EFORMAT = -10001,   /* malformed input (packet, file, record) */
	VG_ETRUNC = -10002,    /* input ended early */
	VG_ELOOP = -10003,     /* compression-pointer loop, CNAME loop, referral loop */
	VG_ELIMIT = -10004,    /* a named limit was reached */
	VG_ENOTFOUND = -10005, /* no such entry */
	VG_ESTALE = -10006,    /* entry found but expired */
	VG_ERANK = -10007,     /* refused: would replace data of higher rank */
	VG_ECORRUPT = -10008,  /* stored data failed validation */
	VG_EVERSION = -10009,  /* stored data from another format version */
	VG_ECONFIG = -10010,   /* configuration error */
	VG_ESPACE = -10011,    /* output buffer or map full */
	VG_ETIMEOUT = -10012,  /* deadline passed */
	VG_EREFUSED = -10013,  /* policy refused it */
	VG_EBOGUS = -10014,    /* DNSSEC validation failed */
	VG_ELIBUV = -10015,    /* an unmapped libuv error */
	VG_ELMDB = -10016,     /* an unmapped LMDB error */
};

/* Returns a static, human-readable text for any code this convention produces (thread-safe). */
const char *vg_strerror(int err);

#endif
