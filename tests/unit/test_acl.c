/* Unit tests of the client ACL (daemon/acl.c): default loopback, longest prefix, deny ties. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>
#include <vigil/config.h>
#include "acl.h"

static struct vg_config cfg;
static struct vg_acl *acl;

static void fini(void)
{
	vg_acl_free(acl);
	acl = NULL;
	vg_config_free(&cfg);
}

TestSuite(acl, .fini = fini);

static void build(const char *text)
{
	char err[256];
	cr_assert_eq(vg_config_defaults(&cfg), 0);
	cr_assert_eq(vg_config_parse(&cfg, "acl.conf", text, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(vg_acl_new(&cfg, &acl), 0);
}

static bool allows(const char *addr)
{
	struct vg_sockaddr sa;
	cr_assert_eq(vg_sockaddr_parse(addr, 53, &sa), 0, "bad test address %s", addr);
	return vg_acl_allows(acl, &sa.u.sa);
}

Test(acl, default_allows_only_loopback)
{
	build("");
	cr_assert(allows("127.0.0.1"));
	cr_assert(allows("127.255.1.2"));
	cr_assert(allows("::1"));
	cr_assert(allows("::ffff:127.0.0.1"), "v4-mapped loopback refused");
	cr_assert_not(allows("128.0.0.1"));
	cr_assert_not(allows("10.0.0.1"));
	cr_assert_not(allows("::2"));
	cr_assert_not(allows("::ffff:10.0.0.1"));
	cr_assert_not(allows("fe80::1"));
}

Test(acl, deny_only_keeps_the_loopback_default)
{
	build("deny: 127.0.0.66\n");
	cr_assert(allows("127.0.0.1"));
	cr_assert_not(allows("127.0.0.66"));
	cr_assert_not(allows("192.0.2.1"));
}

Test(acl, allow_lines_replace_the_default)
{
	build("allow: 192.168.0.0/16\n");
	cr_assert(allows("192.168.4.5"));
	cr_assert_not(allows("127.0.0.1"), "loopback still allowed after explicit allow");
	cr_assert_not(allows("::1"));
	cr_assert_not(allows("192.169.0.1"));
}

Test(acl, longest_prefix_wins)
{
	build("allow: 10.0.0.0/8\ndeny: 10.1.0.0/16\nallow: 10.1.2.0/24\ndeny: 10.1.2.3\n"
	      "allow: 2001:db8::/32\ndeny: 2001:db8:bad::/48\nallow: 2001:db8:bad:1::/64\n");
	cr_assert(allows("10.9.9.9"));
	cr_assert_not(allows("10.1.9.9"));
	cr_assert(allows("10.1.2.4"));
	cr_assert_not(allows("10.1.2.3"));
	cr_assert(allows("2001:db8:1::1"));
	cr_assert_not(allows("2001:db8:bad:2::1"));
	cr_assert(allows("2001:db8:bad:1::99"));
	cr_assert_not(allows("2001:db9::1"));
}

Test(acl, deny_wins_a_tie)
{
	build("allow: 192.0.2.0/24\ndeny: 192.0.2.0/24\nallow: ::/0\ndeny: ::/0\n");
	cr_assert_not(allows("192.0.2.1"));
	cr_assert_not(allows("2001:db8::1"));
	fini();
	build("deny: 192.0.2.0/24\nallow: 192.0.2.0/24\n"); /* order in the file does not matter */
	cr_assert_not(allows("192.0.2.1"));
}

Test(acl, v4_mapped_clients_are_judged_as_ipv4)
{
	build("allow: 192.168.1.0/24\nallow: ::/0\ndeny: 192.168.1.7\n");
	cr_assert(allows("::ffff:192.168.1.5"));
	cr_assert_not(allows("::ffff:192.168.1.7"));
	cr_assert_not(allows("::ffff:10.0.0.1"), "::/0 must not cover v4-mapped clients");
	cr_assert(allows("2001:db8::5"));
}

Test(acl, zero_prefix_matches_everything_of_its_family)
{
	build("allow: 0.0.0.0/0\n");
	cr_assert(allows("203.0.113.9"));
	cr_assert(allows("::ffff:203.0.113.9"));
	cr_assert_not(allows("2001:db8::1"));
}

Test(acl, other_families_are_refused)
{
	build("allow: 0.0.0.0/0\nallow: ::/0\n");
	struct sockaddr sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	cr_assert_not(vg_acl_allows(acl, &sa));
}
