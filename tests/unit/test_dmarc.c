/* Unit tests of lib/dmarc.c's organizational domain (RFC 7489 3.2) over
 * Debian's Public Suffix List and a small list of our own with wildcard
 * and exception rules.  Policy and alignment run against a DNS server in
 * tests/cli/mailauth.bats. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dmarc.h"

const char *const progname = "test_dmarc";

static void org_is(const char *psl, const char *d, const char *want)
{
	char out[256];

	ck_assert_str_eq(dmarc_org_domain(psl, d, out, sizeof out), want);
}

START_TEST(debian_list)
{
	if (access(DMARC_PSL_FILE, R_OK) != 0)
		return;         /* publicsuffix not installed: tests/deps.sh installs it */
	org_is(NULL, "www.example.co.uk", "example.co.uk");
	org_is(NULL, "a.b.Example.COM", "example.com");
	org_is(NULL, "example.com.", "example.com");
	org_is(NULL, "co.uk", "co.uk");
	org_is(NULL, "mail.ex.test", "ex.test");       /* not in the list: "*" rule */
}
END_TEST

START_TEST(own_list)
{
	char path[] = "/tmp/test_dmarc_XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	ck_assert_ptr_nonnull(f);
	fputs("// comment\n\ncom\n*.ck\n!www.ck\nco.uk\n", f);
	fclose(f);
	org_is(path, "a.b.ck", "a.b.ck");               /* b.ck is a public suffix */
	org_is(path, "x.www.ck", "www.ck");             /* the exception */
	org_is(path, "a.b.c.co.uk", "c.co.uk");
	org_is(path, "com", "com");
	unlink(path);
	org_is("/nonexistent/psl", "a.b.co.uk", "co.uk");       /* no list: two labels */
}
END_TEST

/* The rules go into a hash table: CRLF, text after a rule, upper case,
 * duplicates, no final newline, an empty list, and enough rules that
 * probes collide and wrap. */
START_TEST(list_shapes)
{
	char path[] = "/tmp/test_dmarc_XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	ck_assert_ptr_nonnull(f);
	fputs("// comment\r\nCOM\r\nuk\tfoo\nCo.Uk and more\nco.uk\n//x.test\n", f);
	for (int i = 0; i < 5000; i++)
		fprintf(f, "s%d.test\n", i);
	fputs("last.test", f);
	fclose(f);
	org_is(path, "a.b.c.co.uk", "c.co.uk");
	org_is(path, "x.Example.com", "example.com");
	org_is(path, "a.b.s4999.test", "b.s4999.test");
	org_is(path, "a.b.s0.test", "b.s0.test");
	org_is(path, "a.b.s5000.test", "s5000.test");   /* no rule: "*" takes one label */
	org_is(path, "a.b.last.test", "b.last.test");
	org_is(path, "a.b.x.test", "x.test");           /* "//x.test" is a comment */
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	org_is(path, "a.b.co.uk", "co.uk");             /* empty list: "*" only */
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dmarc");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, debian_list);
	tcase_add_test(tc, own_list);
	tcase_add_test(tc, list_shapes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
