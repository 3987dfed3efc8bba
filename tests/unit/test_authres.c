/* Unit tests of lib/authres.c: result names and the one-line summary of
 * an Authentication-Results value mimecat shows. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"

const char *const progname = "test_authres";

static void summary_is(const char *v, const char *want)
{
	struct buf b = { 0 };

	ar_summary(v, strlen(v), &b);
	ck_assert_str_eq(b.p, want);
	buf_free(&b);
}

START_TEST(names)
{
	ck_assert_str_eq(ar_name(AR_PASS), "pass");
	ck_assert_str_eq(ar_name(AR_PERMERROR), "permerror");
	ck_assert_str_eq(ar_name((enum ar_result)99), "none");
}
END_TEST

START_TEST(summaries)
{
	summary_is(" mx.example.org;\n\tspf=pass smtp.mailfrom=a@b.test;\n\tdkim=fail "
	    "reason=\"body; hash\" header.d=b.test;\n\tdmarc=fail (p=reject dis=reject) "
	    "header.from=b.test", "spf=pass dkim=fail dmarc=fail (by mx.example.org)");
	summary_is("mx.test; none", "none (by mx.test)");
	summary_is("mx.test (our MX) 1; auth=pass (cram-md5) smtp.auth=x",
	    "auth=pass (by mx.test)");
	summary_is("", "none (by )");
	summary_is(";;;==;", "== (by )");
	/* a ";" in a comment or a quoted string starts no result (fuzz_authres) */
	summary_is("mx.test; spf=fail (helo x; dkim=pass) smtp.helo=x; dmarc=fail",
	    "spf=fail dmarc=fail (by mx.test)");
	summary_is("mx.test; spf=fail (a (b; arc=pass) \\) ; dkim=pass) x=y",
	    "spf=fail (by mx.test)");
	summary_is("mx.test; spf=fail smtp.mailfrom=\"a\\\";dkim=pass\"@x", "spf=fail (by mx.test)");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("authres");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, names);
	tcase_add_test(tc, summaries);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
