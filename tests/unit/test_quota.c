/* Unit tests of lib/quota.c: the --quota argument, the maildirsize file as
 * Courier and Dovecot write it (limit line, changes, torn lines), and when
 * it is counted again from the folders. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quota.h"

const char *const progname = "test_quota";

START_TEST(option)
{
	struct quota q;

	ck_assert_int_eq(quota_parse_option("1000", &q), 0);
	ck_assert(q.max_bytes == 1000 && q.max_count == 0);
	ck_assert_int_eq(quota_parse_option("10K,5", &q), 0);
	ck_assert(q.max_bytes == 10240 && q.max_count == 5);
	ck_assert_int_eq(quota_parse_option("2G", &q), 0);
	ck_assert(q.max_bytes == 2ULL << 30);
	ck_assert_int_eq(quota_parse_option("0,100", &q), 0);
	ck_assert(q.max_bytes == 0 && q.max_count == 100);
	ck_assert_int_eq(quota_parse_option("", &q), -1);
	ck_assert_int_eq(quota_parse_option("10X", &q), -1);
	ck_assert_int_eq(quota_parse_option("10,", &q), -1);
	ck_assert_int_eq(quota_parse_option("-1", &q), -1);
	ck_assert_int_eq(quota_parse_option("99999999999999999999", &q), -1);
	ck_assert_int_eq(quota_parse_option("99999999999999999G", &q), -1);
}
END_TEST

/* A Maildir in a fresh directory with one 100-byte message in INBOX and a
 * 50-byte one (named with its size) in .Sent; its path into root. */
static void make_maildir(char *root, size_t cap)
{
	char p[512];
	FILE *f;

	snprintf(root, cap, "/tmp/test_quota.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	const char *dirs[] = { "cur", "new", "tmp", ".Sent", ".Sent/cur", ".Sent/new", ".Sent/tmp" };
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
		ck_assert_int_eq(mkdir(p, 0700), 0);
	}
	snprintf(p, sizeof p, "%s/new/1.M1P1.host", root);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	for (int i = 0; i < 100; i++)
		fputc('x', f);
	fclose(f);
	snprintf(p, sizeof p, "%s/.Sent/cur/2.M2P2.host,S=50:2,S", root);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fclose(f);
}

static void write_file(const char *root, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof p, "%s/maildirsize", root);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static void cleanup(const char *root)
{
	char cmd[600];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(file)
{
	char root[64];
	struct quota q, def = { 1 << 20, 9, 0, 0 };

	make_maildir(root, sizeof root);
	/* no file, no default: no quota, nothing written */
	ck_assert_int_eq(quota_get(root, NULL, &q), 0);
	ck_assert_int_eq(quota_note(root, 10, 1), 0);
	/* no file with a default: counted (stat and S=) and written */
	ck_assert_int_eq(quota_get(root, &def, &q), 1);
	ck_assert(q.bytes == 150 && q.count == 2 && q.max_bytes == 1 << 20 && q.max_count == 9);
	ck_assert_int_eq(quota_note(root, 20, 1), 0);
	ck_assert_int_eq(quota_get(root, &def, &q), 1);
	ck_assert(q.bytes == 170 && q.count == 3);
	ck_assert(quota_exceeded(&q, 0, 6) == 0 && quota_exceeded(&q, 0, 7) == 1);
	/* a hand-written file: its limits win; a torn line is skipped */
	write_file(root, "1000S,5C\n300 2\n-100 -1\n12 \n");
	ck_assert_int_eq(quota_get(root, &def, &q), 1);
	ck_assert(q.bytes == 200 && q.count == 1 && q.max_bytes == 1000 && q.max_count == 5);
	ck_assert(quota_exceeded(&q, 800, 1) == 0 && quota_exceeded(&q, 801, 1) == 1);
	/* a count limit alone; a usage below zero is counted again */
	write_file(root, "7C\n-500 -3\n");
	ck_assert_int_eq(quota_get(root, NULL, &q), 1);
	ck_assert(q.bytes == 150 && q.count == 2 && q.max_bytes == 0 && q.max_count == 7);
	ck_assert(quota_exceeded(&q, 1ULL << 40, 5) == 0);
	/* too long: counted again, the limit line kept */
	write_file(root, "1000S\n");
	for (int i = 0; i < 1500; i++)      /* 6006 bytes */
		quota_note(root, 1, 1);
	ck_assert_int_eq(quota_get(root, NULL, &q), 1);
	ck_assert(q.bytes == 150 && q.count == 2 && q.max_bytes == 1000);
	/* after a folder went away: counted again */
	quota_note(root, 1000, 10);
	ck_assert_int_eq(quota_refresh(root), 0);
	ck_assert_int_eq(quota_get(root, NULL, &q), 1);
	ck_assert(q.bytes == 150 && q.count == 2);
	cleanup(root);
}
END_TEST

/* Found by fuzz_quota (tests/fuzz/regress/quota/). */
START_TEST(hostile_file)
{
	char root[64], p[600];
	struct quota q, lim = { 1000, 10, 10, 1 };
	FILE *f;

	/* the largest figures are numbers; adding cannot wrap around the limit */
	ck_assert_int_eq(quota_parse_option("18446744073709551615", &q), 0);
	ck_assert(q.max_bytes == UINT64_MAX);
	ck_assert_int_eq(quota_parse_option("18446744073709551616", &q), -1);
	ck_assert(quota_exceeded(&lim, UINT64_MAX, 0) == 1);
	ck_assert(quota_exceeded(&lim, 0, UINT64_MAX - 5) == 1);
	ck_assert(quota_exceeded(&lim, 990, 9) == 0);
	/* a usage past int64_t (the user's file, the user's file names) is
	 * counted again, and the count saturates */
	make_maildir(root, sizeof root);
	write_file(root, "1000S\n9223372036854775807 1\n9223372036854775807 1\n");
	ck_assert_int_eq(quota_get(root, NULL, &q), 1);
	ck_assert(q.bytes == 150 && q.count == 2);
	snprintf(p, sizeof p, "%s/cur/3.M3P3.host,S=9223372036854775807:2,", root);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fclose(f);
	snprintf(p, sizeof p, "%s/cur/4.M4P4.host,S=18446744073709551615:2,", root);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fclose(f);
	write_file(root, "1000S\n-1 -1\n");
	ck_assert_int_eq(quota_get(root, NULL, &q), 1);
	ck_assert(q.bytes == INT64_MAX && q.count == 4);
	ck_assert(quota_exceeded(&q, 0, 0) == 1);
	cleanup(root);
}
END_TEST

/* Dovecot's quota rules, as a passwd-file's userdb_quota_rule gives them */
START_TEST(rules)
{
	struct quota q;

	memset(&q, 0, sizeof q);
	ck_assert_int_eq(quota_parse_rule("*:storage=100M", &q), 1);
	ck_assert(q.max_bytes == 100ULL << 20 && q.max_count == 0);
	ck_assert_int_eq(quota_parse_rule("*:storage=512", &q), 1);      /* KiB */
	ck_assert(q.max_bytes == 512 * 1024);
	ck_assert_int_eq(quota_parse_rule("*:messages=30", &q), 1);     /* storage kept */
	ck_assert(q.max_bytes == 512 * 1024 && q.max_count == 30);
	ck_assert_int_eq(quota_parse_rule("*:bytes=1000:messages=0", &q), 1);
	ck_assert(q.max_bytes == 1000 && q.max_count == 0);
	ck_assert_int_eq(quota_parse_rule("*:storage=2G:messages=7", &q), 1);
	ck_assert(q.max_bytes == 2ULL << 30 && q.max_count == 7);
	ck_assert_int_eq(quota_parse_rule("*:bytes=1T", &q), 1);
	ck_assert(q.max_bytes == 1ULL << 40);
	ck_assert_int_eq(quota_parse_rule("*:storage=10b", &q), 1);
	ck_assert(q.max_bytes == 10);
	ck_assert_int_eq(quota_parse_rule("*:backend=x:storage=0", &q), 1);
	ck_assert(q.max_bytes == 0 && q.max_count == 7);
	/* not ours: q untouched */
	ck_assert_int_eq(quota_parse_rule("Trash:storage=+100M", &q), 0);
	ck_assert_int_eq(quota_parse_rule("*:ignore", &q), 0);
	ck_assert_int_eq(quota_parse_rule("*:backend=x", &q), 0);
	ck_assert(q.max_bytes == 0 && q.max_count == 7);
	/* malformed: q untouched */
	const char *bad[] = { "", "*", "*:", "storage=1M", "*:storage=", "*:storage=1X",
	    "*:storage=+1M", "*:storage=10%", "*:messages=1k", "*:storage=99999999999999999999",
	    "*:storage=99999999999T", "*:dirs=3" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(quota_parse_rule(bad[i], &q) == -1, "%s", bad[i]);
	ck_assert(q.max_bytes == 0 && q.max_count == 7);
}
END_TEST

/* A user's own limits win over maildirsize's limit line and are written */
START_TEST(user_rule)
{
	char root[64], p[600], line[64];
	struct quota q, rule = { 4096, 3, 0, 0 }, none = { 0, 0, 0, 0 };
	FILE *f;

	make_maildir(root, sizeof root);
	ck_assert_int_eq(quota_get_user(root, &none, &q), 0);
	/* no file: counted, written with the rule's limits */
	ck_assert_int_eq(quota_get_user(root, &rule, &q), 1);
	ck_assert(q.bytes == 150 && q.count == 2 && q.max_bytes == 4096 && q.max_count == 3);
	/* another limit line: the rule wins, the file's usage is kept */
	write_file(root, "1000000S\n160 2\n");
	ck_assert_int_eq(quota_get_user(root, &rule, &q), 1);
	ck_assert(q.bytes == 160 && q.count == 2 && q.max_bytes == 4096 && q.max_count == 3);
	snprintf(p, sizeof p, "%s/maildirsize", root);
	ck_assert_ptr_nonnull(f = fopen(p, "r"));
	ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
	fclose(f);
	ck_assert_str_eq(line, "4096S,3C\n");
	ck_assert_int_eq(quota_get(root, NULL, &q), 1);
	ck_assert(q.bytes == 160 && q.max_bytes == 4096 && q.max_count == 3);
	/* storage=0 and messages=0: no quota, whatever the file says */
	ck_assert_int_eq(quota_get_user(root, &none, &q), 0);
	cleanup(root);
}
END_TEST

START_TEST(roots)
{
	char out[64];

	ck_assert_int_eq(quota_root_of("/home/bob/Maildir/.Sent", out, sizeof out), 0);
	ck_assert_str_eq(out, "/home/bob/Maildir");
	ck_assert_int_eq(quota_root_of("/home/bob/Maildir", out, sizeof out), 0);
	ck_assert_str_eq(out, "/home/bob/Maildir");
	ck_assert_int_eq(quota_root_of("/home/bob/Maildir", out, 5), -1);
	ck_assert(quota_file_size("1.M1,S=1234,W=1300:2,S", 7) == 1234);
	ck_assert(quota_file_size("1.M1:2,S", 7) == 7);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("quota");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, option);
	tcase_add_test(tc, file);
	tcase_add_test(tc, rules);
	tcase_add_test(tc, user_rule);
	tcase_add_test(tc, roots);
	tcase_add_test(tc, hostile_file);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
