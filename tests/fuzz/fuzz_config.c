/* Fuzz target: the text a user or a package hands vigild at start: the config grammar
 * (daemon/config.c), the local-data records it carries (daemon/localdata.c, with the answers
 * they produce) and the ACL built from it; and the root hints file format (resolver/hints.c).
 * Input: config text. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/config.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include "acl.h"
#include "fuzz.h"
#include "internal.h"
#include "localdata.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vg_fuzz_init_log();
	return 0;
}

static uint8_t out[65535];
static struct vg_hint hints[64];

static void ask(const struct vg_localdata *ld, const uint8_t *name, uint16_t qtype)
{
	size_t outlen = 0;
	int nl = vg_name_len(name, VG_NAME_MAX);
	int rc =
	    vg_localdata_answer(ld, name, (size_t)nl, qtype, 1, true, out, sizeof(out), &outlen);
	VG_FUZZ_CHECK(rc == 0 || rc == 1 || rc == VG_ESPACE || rc == VG_EFORMAT);
	if (rc != 1)
		return;
	VG_FUZZ_CHECK(outlen >= 12 + (size_t)nl + 4 && outlen <= sizeof(out));
	VG_FUZZ_CHECK(out[0] == 0 && out[1] == 0 && vg_get_u16(out + 10) == 0);
	VG_FUZZ_CHECK(memcmp(out + 12, name, (size_t)nl) == 0);
	/* A small buffer is refused, not overrun. */
	size_t small = outlen - 1;
	uint8_t *b = malloc(small);
	if (b) {
		rc = vg_localdata_answer(ld, name, (size_t)nl, qtype, 1, true, b, small, &outlen);
		VG_FUZZ_CHECK(rc == VG_ESPACE);
		free(b);
	}
}

/* Owner of a local-data record ("NAME TTL TYPE DATA"), as a wire name; false if none. */
static bool first_owner(const char *rr, uint8_t *name)
{
	char text[VG_NAME_TEXT_MAX];
	size_t i = 0;
	while (rr[i] && rr[i] != ' ' && rr[i] != '\t' && i + 1 < sizeof(text)) {
		text[i] = rr[i];
		i++;
	}
	text[i] = 0;
	return i > 0 && vg_name_from_text(text, name) > 0;
}

static void fuzz_cfg(const char *text)
{
	struct vg_config cfg;
	char err[512];
	if (vg_config_defaults(&cfg) != 0)
		return;
	int rc = vg_config_parse(&cfg, "fuzz.conf", text, err, sizeof(err));
	if (rc != 0) {
		VG_FUZZ_CHECK(memchr(err, 0, sizeof(err)) != NULL && err[0] != 0);
		return; /* cfg is freed on error */
	}
	struct vg_acl *acl = NULL;
	if (vg_acl_new(&cfg, &acl) == 0) {
		struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
		struct sockaddr_in a4 = {.sin_family = AF_INET};
		inet_pton(AF_INET6, "::ffff:10.1.2.3", &a6.sin6_addr);
		inet_pton(AF_INET, "192.168.1.7", &a4.sin_addr);
		(void)vg_acl_allows(acl, (struct sockaddr *)&a6);
		(void)vg_acl_allows(acl, (struct sockaddr *)&a4);
		vg_acl_free(acl);
	}
	struct vg_localdata *ld = NULL;
	rc = vg_localdata_new(&cfg, &ld, err, sizeof(err));
	if (rc == 0) {
		static const uint16_t types[] = {1, 28, 255, 16, 12, 5, 6, 2, 15, 33, 99};
		uint8_t name[VG_NAME_MAX];
		for (size_t i = 0; i < cfg.n_local_data && i < 4; i++) {
			if (!first_owner(cfg.local_data[i].text, name))
				continue;
			for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
				ask(ld, name, types[t]);
			/* a child of a local name */
			uint8_t child[VG_NAME_MAX];
			int nl = vg_name_len(name, VG_NAME_MAX);
			if (nl + 2 <= VG_NAME_MAX) {
				child[0] = 1;
				child[1] = 'x';
				memcpy(child + 2, name, (size_t)nl);
				ask(ld, child, 1);
			}
		}
		static const uint8_t localhost[] = {9,	 'l', 'o', 'c', 'a', 'l',
						    'h', 'o', 's', 't', 0};
		ask(ld, localhost, 1);
		vg_localdata_free(ld);
	}
	vg_config_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	fuzz_cfg(text);
	int n = vg_roothints_parse(text, hints, sizeof(hints) / sizeof(hints[0]));
	VG_FUZZ_CHECK(n == VG_EFORMAT || (n >= 1 && n <= 64));
	free(text);
	return 0;
}
