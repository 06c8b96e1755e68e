/* Shared helpers of the fuzz targets: a quiet log sink that turns failed checks into crashes, and
 * a hard invariant check that works in every build type. */
#ifndef VIGIL_TESTS_FUZZ_H
#define VIGIL_TESTS_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/log.h>

/* A vg_fails()/vg_require() reached from untrusted input means an invariant the code relies on
 * can be broken by a packet or a file: report it as a crash so the fuzzer minimises it. */
static void vg_fuzz_sink(enum vg_log_level level, const char *line, void *ctx)
{
	(void)level;
	(void)ctx;
	if (strncmp(line, "check failed:", 13) == 0 ||
	    strncmp(line, "invariant failed:", 17) == 0) {
		fprintf(stderr, "fuzz: %s\n", line);
		abort();
	}
}

/* Call once per process: silences ordinary log lines (they would dominate the run time). */
static inline void vg_fuzz_init_log(void)
{
	vg_log_set_sink(vg_fuzz_sink, NULL);
	vg_log_set_level(VG_LOG_DEBUG); /* format every line, so format bugs are exercised too */
}

/* A property of the output the contract promises; violated = a bug, reported as a crash. */
#define VG_FUZZ_CHECK(cond)                                                                        \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz: property failed: %s (%s:%d)\n", #cond, __FILE__,    \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Reads input bytes front to back; past the end every read yields zeros. */
struct vg_fuzz_in {
	const uint8_t *p;
	size_t len, pos;
};

static inline uint8_t vg_fuzz_u8(struct vg_fuzz_in *in)
{
	return in->pos < in->len ? in->p[in->pos++] : 0;
}

static inline uint16_t vg_fuzz_u16(struct vg_fuzz_in *in)
{
	uint16_t hi = vg_fuzz_u8(in);
	return (uint16_t)(hi << 8 | vg_fuzz_u8(in));
}

#endif
