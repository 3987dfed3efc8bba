/* test_auth.c — lib/auth.c: names, passwd-file parsing, password schemes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pwd.h>

#include "auth.h"

const char *const progname = "test_auth";

/* `openssl passwd -6 -salt saltsalt secret`, -5, -1 */
#define H6 "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"
#define H5 "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA"
#define H1 "$1$saltsalt$9xy1btjgzLYfb7hivXtC//"

static char pwfile[64];

static void setup(void)
{
	FILE *f;
	int fd;

	strcpy(pwfile, "/tmp/test_auth.XXXXXX");
	fd = mkstemp(pwfile);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs("# comment line\n"
	    "\n"
	    "alice:{PLAIN}wonderland:1001:1001::/home/alice::\n"
	    "bob@example.org:{SHA512-CRYPT}" H6 ":1002:1002:Bob:/home/bob:/bin/sh:\n"
	    "bob:{CLEARTEXT}local-bob:1003:1003::/home/bob2\r\n"
	    "carol:{SHA256-CRYPT}" H5 ":::::\n"
	    "dave:{MD5-CRYPT}" H1 ":1004:1004::/home/dave:::extra:with:colons\n"
	    "erin:" H6 ":1005:1005::/home/erin\n"
	    "frank:{WEIRD}x:1:1::/x\n"
	    "grace:{PLAIN}p:ass:w:0:0::/g\n"
	    "nohash:{SHA512-CRYPT}!locked:1:1::/n\n"
	    "heidi:{PLAIN}h:1006:1006::/home/heidi::userdb_mail=maildir:~/M "
	    "userdb_quota_rule=*:storage=10M\tuserdb_quota_rule2=*:messages=50 nopassword\n"
	    "ivan:{PLAIN}i:1007:1007::/home/ivan::  quota_rule=*:bytes=1G quota_rule3=*:storage=x "
	    "userdb_quota_rule_x=*:storage=1 quota_rule4=Trash:storage=+1M\n", f);
	fclose(f);
}

static void teardown(void)
{
	unlink(pwfile);
}

START_TEST(names)
{
	char big[AUTH_NAME_MAX + 2];

	ck_assert(auth_name_ok("bob"));
	ck_assert(auth_name_ok("bob@example.org"));
	ck_assert(auth_name_ok("j.doe+lists"));
	ck_assert(auth_name_ok("jos\xc3\xa9"));         /* é in UTF-8 */
	ck_assert(!auth_name_ok(""));
	ck_assert(!auth_name_ok(NULL));
	ck_assert(!auth_name_ok("."));
	ck_assert(!auth_name_ok(".."));
	ck_assert(!auth_name_ok(".hidden"));
	ck_assert(!auth_name_ok("-rf"));
	ck_assert(!auth_name_ok("../etc"));
	ck_assert(!auth_name_ok("a/b"));
	ck_assert(!auth_name_ok("a:b"));
	ck_assert(!auth_name_ok("a b"));
	ck_assert(!auth_name_ok("a\tb"));
	ck_assert(!auth_name_ok("a\nb"));
	ck_assert(!auth_name_ok("a\\b"));
	ck_assert(!auth_name_ok("a\x7f"));
	ck_assert(!auth_name_ok("jos\xe9"));            /* Latin-1, not UTF-8 */
	ck_assert(!auth_name_ok("\xc0\xaf"));           /* overlong '/' */
	ck_assert(!auth_name_ok("\xed\xa0\x80"));       /* surrogate */
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ck_assert(!auth_name_ok(big));
	big[AUTH_NAME_MAX] = '\0';
	ck_assert(auth_name_ok(big));
}
END_TEST

START_TEST(lookup_file)
{
	struct user u;

	ck_assert_int_eq(auth_lookup(pwfile, "alice", &u), 1);
	ck_assert_str_eq(u.name, "alice");
	ck_assert_str_eq(u.secret, "{PLAIN}wonderland");
	ck_assert_int_eq(u.uid, 1001);
	ck_assert_int_eq(u.gid, 1001);
	ck_assert_int_eq(u.has_ids, 1);
	ck_assert_str_eq(u.home, "/home/alice");

	ck_assert_int_eq(auth_lookup(pwfile, "bob", &u), 1);
	ck_assert_str_eq(u.home, "/home/bob2");          /* CRLF line end stripped */
	ck_assert_int_eq(u.uid, 1003);

	ck_assert_int_eq(auth_lookup(pwfile, "bob@EXAMPLE.org", &u), 1);
	ck_assert_str_eq(u.name, "bob@example.org");
	ck_assert_int_eq(auth_lookup(pwfile, "Bob@example.org", &u), 0);   /* local part exact */

	ck_assert_int_eq(auth_lookup(pwfile, "carol", &u), 1);
	ck_assert_int_eq(u.has_ids, 0);
	ck_assert_str_eq(u.home, "");

	ck_assert_int_eq(auth_lookup(pwfile, "dave", &u), 1);
	ck_assert_str_eq(u.home, "/home/dave");

	ck_assert_int_eq(auth_lookup(pwfile, "nobody-here", &u), 0);
	ck_assert_int_eq(auth_lookup(pwfile, "# comment line", &u), 0);
	ck_assert_int_eq(auth_lookup(pwfile, "../alice", &u), 0);
	ck_assert_int_eq(auth_lookup(pwfile, "", &u), 0);
	ck_assert_int_eq(auth_lookup("/nonexistent/passwd", "alice", &u), -1);
	/* quota rules in the extra field (Dovecot's userdb_quota_rule) */
	ck_assert_int_eq(auth_lookup(pwfile, "alice", &u), 1);
	ck_assert_int_eq(u.has_quota, 0);
	ck_assert_int_eq(auth_lookup(pwfile, "dave", &u), 1);
	ck_assert_int_eq(u.has_quota, 0);
	ck_assert_int_eq(auth_lookup(pwfile, "heidi", &u), 1);
	ck_assert_int_eq(u.has_quota, 1);
	ck_assert(u.quota.max_bytes == 10ULL << 20 && u.quota.max_count == 50);
	ck_assert_str_eq(u.home, "/home/heidi");
	/* a malformed rule, a key that only starts like one, and a rule for
	 * one mailbox are left out; the good one stays */
	ck_assert_int_eq(auth_lookup(pwfile, "ivan", &u), 1);
	ck_assert_int_eq(u.has_quota, 1);
	ck_assert(u.quota.max_bytes == 1ULL << 30 && u.quota.max_count == 0);
	/* A malformed entry (uid "ass") is not a user. */
	ck_assert_int_eq(auth_lookup(pwfile, "grace", &u), 0);
}
END_TEST

START_TEST(lookup_rcpt)
{
	struct user u;

	ck_assert_int_eq(auth_lookup_rcpt(pwfile, "bob@example.org", &u), 1);
	ck_assert_str_eq(u.name, "bob@example.org");
	ck_assert_int_eq(auth_lookup_rcpt(pwfile, "bob@other.example", &u), 1);
	ck_assert_str_eq(u.name, "bob");
	ck_assert_int_eq(auth_lookup_rcpt(pwfile, "alice@anything", &u), 1);
	ck_assert_str_eq(u.name, "alice");
	ck_assert_int_eq(auth_lookup_rcpt(pwfile, "alice+lists@anything", &u), 1);
	ck_assert_str_eq(u.name, "alice");
	ck_assert_int_eq(auth_lookup_rcpt(pwfile, "bob+x@example.org", &u), 1);
	ck_assert_str_eq(u.name, "bob@example.org");
	ck_assert_int_eq(auth_lookup_rcpt(pwfile, "alice+", &u), 1);
	ck_assert_int_eq(auth_lookup_rcpt(pwfile, "+alice", &u), 0);
	ck_assert_int_eq(auth_lookup_rcpt(pwfile, "zed@example.org", &u), 0);
	ck_assert_int_eq(auth_lookup_rcpt(pwfile, "../alice@x", &u), 0);
}
END_TEST

START_TEST(verify_schemes)
{
	struct user u;

	ck_assert_int_eq(auth_lookup(pwfile, "alice", &u), 1);
	ck_assert(auth_verify(&u, "wonderland"));
	ck_assert(!auth_verify(&u, "wonderlan"));
	ck_assert(!auth_verify(&u, "wonderland "));
	ck_assert(!auth_verify(&u, ""));
	ck_assert_str_eq(auth_plain_secret(&u), "wonderland");

	ck_assert_int_eq(auth_lookup(pwfile, "bob", &u), 1);
	ck_assert(auth_verify(&u, "local-bob"));
	ck_assert_str_eq(auth_plain_secret(&u), "local-bob");

	ck_assert_int_eq(auth_lookup(pwfile, "bob@example.org", &u), 1);
	ck_assert(auth_verify(&u, "secret"));
	ck_assert(!auth_verify(&u, "Secret"));
	ck_assert_ptr_null(auth_plain_secret(&u));

	ck_assert_int_eq(auth_lookup(pwfile, "carol", &u), 1);
	ck_assert(auth_verify(&u, "secret"));
	ck_assert(!auth_verify(&u, "secret2"));

	ck_assert_int_eq(auth_lookup(pwfile, "dave", &u), 1);
	ck_assert(auth_verify(&u, "secret"));
	ck_assert(!auth_verify(&u, "x"));

	ck_assert_int_eq(auth_lookup(pwfile, "erin", &u), 1);  /* no scheme: CRYPT */
	ck_assert(auth_verify(&u, "secret"));

	ck_assert_int_eq(auth_lookup(pwfile, "frank", &u), 1); /* unknown scheme */
	ck_assert(!auth_verify(&u, "x"));
	ck_assert_int_eq(auth_lookup(pwfile, "nohash", &u), 1);
	ck_assert(!auth_verify(&u, "locked"));
	ck_assert(!auth_verify(&u, "!locked"));

	memset(&u, 0, sizeof u);                /* a system account we cannot verify */
	ck_assert(!auth_verify(&u, ""));
	ck_assert(!auth_verify(&u, "x"));
}
END_TEST

/* The helper's checks for the login process (privsep): RFC 1939 7's APOP
 * example and RFC 2195 2's CRAM-MD5 example, any case; none without a
 * clear-text secret. */
START_TEST(digests)
{
	struct user u;

	memset(&u, 0, sizeof u);
	strcpy(u.secret, "{PLAIN}tanstaaf");
	ck_assert_int_eq(auth_apop_ok(&u, "<1896.697170952@dbc.mtview.ca.us>",
	    "c4c9334bac560ecc979e58001b3e22fb"), 1);
	ck_assert_int_eq(auth_apop_ok(&u, "<1896.697170952@dbc.mtview.ca.us>",
	    "C4C9334BAC560ECC979E58001B3E22FB"), 1);
	ck_assert_int_eq(auth_apop_ok(&u, "<1896.697170953@dbc.mtview.ca.us>",
	    "c4c9334bac560ecc979e58001b3e22fb"), 0);
	ck_assert_int_eq(auth_apop_ok(&u, "", "c4c9334bac560ecc979e58001b3e22fb"), 0);
	strcpy(u.secret, "{PLAIN}tanstaaftanstaaf");
	ck_assert_int_eq(auth_cram_ok(&u, "<1896.697170952@postoffice.reston.mci.net>",
	    "b913a602c7eda7a495b4e6e7334d3890"), 1);
	ck_assert_int_eq(auth_cram_ok(&u, "<1896.697170952@postoffice.reston.mci.net>",
	    "b913a602c7eda7a495b4e6e7334d389"), 0);
	ck_assert_int_eq(auth_cram_ok(&u, "<1896.697170952@postoffice.reston.mci.net>",
	    "b913a602c7eda7a495b4e6e7334d389g"), 0);
	strcpy(u.secret, "{SHA512-CRYPT}$6$x$y");
	ck_assert_int_eq(auth_cram_ok(&u, "<1896.697170952@postoffice.reston.mci.net>",
	    "b913a602c7eda7a495b4e6e7334d3890"), 0);
}
END_TEST

START_TEST(system_accounts)
{
	struct user u;
	struct passwd *pw = getpwuid(getuid());

	ck_assert_ptr_nonnull(pw);
	ck_assert_int_eq(auth_lookup(NULL, pw->pw_name, &u), 1);
	ck_assert_int_eq(u.uid, pw->pw_uid);
	ck_assert_int_eq(u.has_ids, 1);
	ck_assert_str_eq(u.home, pw->pw_dir);
	ck_assert_int_eq(auth_lookup(NULL, "no-such-user-maillab", &u), 0);
	ck_assert_int_eq(auth_lookup(NULL, "../root", &u), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, names);
	tcase_add_test(tc, lookup_file);
	tcase_add_test(tc, lookup_rcpt);
	tcase_add_test(tc, verify_schemes);
	tcase_add_test(tc, digests);
	tcase_add_test(tc, system_accounts);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
