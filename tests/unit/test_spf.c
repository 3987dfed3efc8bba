/* Unit tests of lib/spf.c's record parser (RFC 7208 4.6, 5, 6, 7.1):
 * every mechanism and modifier form, macros, CIDR lengths, and records
 * that must be a permerror.  Evaluation is tested against pyspf in
 * tests/cli/mailauth-spf.bats. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "spf.h"

const char *const progname = "test_spf";

static const char *const good[] = {
	"v=spf1", "v=spf1 -all", "V=SPF1 +ALL", "v=spf1 ?all ~all",
	"v=spf1 a a:x.test a/24 a//64 a:x.test/24//64 a:%{d}",
	"v=spf1 mx mx:x.test/0 ptr ptr:x.test",
	"v=spf1 ip4:192.0.2.1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ip6:::1",
	"v=spf1 include:x.test exists:%{i}.x.test exists:%{ir}.%{v}._spf.%{d2}",
	"v=spf1 exists:%{l1r+-}.%{o}.x.test exists:%{S}.%{H}.x.test exists:%%.%_.%-.x.test",
	"v=spf1 redirect=x.test", "v=spf1 -all exp=explain.x.test",
	"v=spf1 foo=bar -all", "v=spf1 x-y.z=%{d} -all", "v=spf1  -all  ", "v=spf1 a:x.test.",
};

static const char *const bad[] = {
	"v=spf10", "spf1", "", "v=spf1 foo", "v=spf1 foo:bar", "v=spf1 all:x",
	"v=spf1 ip4:300.1.1.1", "v=spf1 ip4:192.0.2.0/33", "v=spf1 ip4:192.0.2.0/024",
	"v=spf1 ip6:2001:db8::/129", "v=spf1 ip4:", "v=spf1 ip4:192.0.2.1/", "v=spf1 a/33",
	"v=spf1 a//129", "v=spf1 include", "v=spf1 include:", "v=spf1 exists",
	"v=spf1 a:x", "v=spf1 a:x.1", "v=spf1 a:x.-test", "v=spf1 exists:%{z}.x.test",
	"v=spf1 exists:%{c}.x.test", "v=spf1 exists:%x.test", "v=spf1 exists:%{d.x.test",
	"v=spf1 redirect=a.test redirect=b.test", "v=spf1 exp=a.test exp=b.test",
	"v=spf1 -all \x01", "v=spf1 a:caf\xc3\xa9.test",
};

START_TEST(good_records)
{
	const char *why = NULL;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(spf_record_syntax(good[i], &why) == 0, "%s: %s", good[i], why);
}
END_TEST

START_TEST(bad_records)
{
	const char *why = NULL;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(spf_record_syntax(bad[i], &why) == -1, "accepted: %s", bad[i]);
}
END_TEST

START_TEST(prefixes)
{
	/* every prefix of a long record parses or fails, never reads past it */
	const char *r = good[8];
	const char *why;

	for (size_t n = 0; n <= strlen(r); n++) {
		char *c = xstrndup(r, n);
		int rc = spf_record_syntax(c, &why);
		ck_assert(rc == 0 || rc == -1);
		free(c);
	}
}
END_TEST

START_TEST(received)
{
	struct spf_out r = { .res = AR_PASS, .identity = "mailfrom", .domain = "x.test",
		.mechanism = "ip4:192.0.2.1" };
	struct buf b = { 0 };

	spf_received(&r, "192.0.2.1", "a\"b@x.test", "h.test", "mx.test", &b);
	ck_assert_ptr_nonnull(strstr(b.p, "Received-SPF: pass (mx.test: domain of x.test "
	    "designates 192.0.2.1 as permitted sender)"));
	ck_assert_ptr_nonnull(strstr(b.p, "envelope-from=\"a\\\"b@x.test\";"));
	ck_assert_ptr_nonnull(strstr(b.p, "mechanism=ip4:192.0.2.1"));
	buf_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("spf");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, good_records);
	tcase_add_test(tc, bad_records);
	tcase_add_test(tc, prefixes);
	tcase_add_test(tc, received);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
