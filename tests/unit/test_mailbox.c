/* test_mailbox.c — lib/mailbox.c: --mailbox template expansion and its safety. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailbox.h"

const char *const progname = "test_mailbox";

static struct user mkuser(const char *name, const char *home)
{
	struct user u;

	memset(&u, 0, sizeof u);
	snprintf(u.name, sizeof u.name, "%s", name);
	snprintf(u.home, sizeof u.home, "%s", home);
	return u;
}

/* Expand and return the path ("" on failure), the kind in *k. */
static const char *exp_(const char *tmpl, const struct user *u, enum mailbox_kind *k,
    const char **why)
{
	static char path[PATH_MAX];

	if (mailbox_path(tmpl, u, path, sizeof path, k, why) < 0)
		return "";
	return path;
}

START_TEST(defaults_and_prefixes)
{
	struct user u = mkuser("bob", "/home/bob");
	enum mailbox_kind k;
	const char *why;

	ck_assert_str_eq(exp_(NULL, &u, &k, &why), "/home/bob/Maildir");
	ck_assert_int_eq(k, MB_MAILDIR);
	ck_assert_str_eq(exp_(MAILBOX_DEFAULT, &u, &k, &why), "/home/bob/Maildir");
	ck_assert_str_eq(exp_("mbox:/var/mail/%u", &u, &k, &why), "/var/mail/bob");
	ck_assert_int_eq(k, MB_MBOX);
	ck_assert_str_eq(exp_("maildir:/srv/mail/%u/", &u, &k, &why), "/srv/mail/bob/");
	ck_assert_int_eq(k, MB_MAILDIR);
	ck_assert_str_eq(exp_("/srv/%u", &u, &k, &why), "/srv/bob");
	ck_assert_int_eq(k, MB_MAILDIR);
}
END_TEST

START_TEST(sequences)
{
	struct user u = mkuser("bob@example.org", "/home/bob");
	struct user v = mkuser("carol", "/home/carol");
	enum mailbox_kind k;
	const char *why;

	ck_assert_str_eq(exp_("maildir:/m/%d/%n", &u, &k, &why), "/m/example.org/bob");
	ck_assert_str_eq(exp_("maildir:/m/%u", &u, &k, &why), "/m/bob@example.org");
	ck_assert_str_eq(exp_("maildir:%h/mail%%x", &u, &k, &why), "/home/bob/mail%x");
	ck_assert_str_eq(exp_("maildir:/m/%d/%n", &v, &k, &why), "/m//carol");
	ck_assert_str_eq(exp_("mbox:%h/mbox", &v, &k, &why), "/home/carol/mbox");
}
END_TEST

START_TEST(errors)
{
	struct user u = mkuser("bob", "");
	struct user bad = mkuser("../../etc", "/home/x");
	struct user dot = mkuser(".", "/home/x");
	struct user relhome = mkuser("bob", "home/bob");
	struct user dothome = mkuser("bob", "/home/../etc");
	struct user baddom = mkuser("bob@../x", "/home/x");
	enum mailbox_kind k;
	const char *why;
	char small[8];

	ck_assert_str_eq(exp_(NULL, &u, &k, &why), "");
	ck_assert_str_eq(why, "user has no home directory");
	ck_assert_str_eq(exp_("maildir:/m/%u", &bad, &k, &why), "");
	ck_assert_str_eq(why, "user name not safe in a path");
	ck_assert_str_eq(exp_("maildir:/m/%n", &dot, &k, &why), "");
	ck_assert_str_eq(exp_("maildir:/m/%d", &baddom, &k, &why), "");
	ck_assert_str_eq(exp_(NULL, &relhome, &k, &why), "");
	ck_assert_str_eq(exp_(NULL, &dothome, &k, &why), "");
	ck_assert_str_eq(exp_("maildir:/m/%x", &u, &k, &why), "");
	ck_assert_str_eq(why, "unknown %-sequence in mailbox template");
	ck_assert_str_eq(exp_("maildir:/m/%", &u, &k, &why), "");
	ck_assert_str_eq(exp_("maildir:", &u, &k, &why), "");
	ck_assert_int_eq(mailbox_path("/long/path/%u", &u, small, sizeof small, &k, &why), -1);
	ck_assert_str_eq(why, "mailbox path too long");
}
END_TEST

START_TEST(guess_mbox)
{
	char tmp[] = "/tmp/test_mailbox.XXXXXX";
	int fd = mkstemp(tmp);
	struct user u = mkuser("bob", "/home/bob");
	enum mailbox_kind k;
	const char *why;

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_str_eq(exp_(tmp, &u, &k, &why), tmp);
	ck_assert_int_eq(k, MB_MBOX);         /* an existing file, no prefix */
	ck_assert_str_eq(exp_("/tmp", &u, &k, &why), "/tmp");
	ck_assert_int_eq(k, MB_MAILDIR);
	unlink(tmp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mailbox");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, defaults_and_prefixes);
	tcase_add_test(tc, sequences);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, guess_mbox);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
