/* Unit tests of lib/header.c: line kinds, header length, iteration over
 * folded fields with LF and CRLF, unfolding, HEADER.FIELDS filtering. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "header.h"

const char *const progname = "test_header";

START_TEST(line_kinds)
{
	size_t n = 0;

	ck_assert_int_eq(hdr_line_kind("Subject: x\n", 11, &n), HL_FIELD);
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(hdr_line_kind("Subject : x\n", 12, &n), HL_FIELD);   /* obs-optional */
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(hdr_line_kind(" folded\n", 8, NULL), HL_CONT);
	ck_assert_int_eq(hdr_line_kind("\tfolded\n", 8, NULL), HL_CONT);
	ck_assert_int_eq(hdr_line_kind("\n", 1, NULL), HL_BLANK);
	ck_assert_int_eq(hdr_line_kind("\r\n", 2, NULL), HL_BLANK);
	ck_assert_int_eq(hdr_line_kind("", 0, NULL), HL_BLANK);
	ck_assert_int_eq(hdr_line_kind("no colon here\n", 14, NULL), HL_OTHER);
	ck_assert_int_eq(hdr_line_kind(":empty name\n", 12, NULL), HL_OTHER);
	ck_assert_int_eq(hdr_line_kind("Na\xe9me: x\n", 9, NULL), HL_OTHER);
	ck_assert_int_eq(hdr_line_kind("--boundary\n", 11, NULL), HL_OTHER);
}
END_TEST

START_TEST(lengths)
{
	int fl;
	const char *m1 = "A: 1\nB: 2\n folded\n\nbody\n";
	const char *m2 = "A: 1\r\nB: 2\r\n\r\nbody\r\n";
	const char *m3 = "A: 1\nnot a field\n\nbody\n";
	const char *m4 = "A: 1\nB: 2";

	ck_assert_uint_eq(hdr_length(m1, strlen(m1), &fl), 19);
	ck_assert_int_eq(fl, 0);
	ck_assert_uint_eq(hdr_length(m2, strlen(m2), &fl), 14);
	ck_assert_uint_eq(hdr_length(m3, strlen(m3), &fl), 5);
	ck_assert_int_eq(fl, HDR_NOBLANK);
	ck_assert_uint_eq(hdr_length(m4, strlen(m4), &fl), strlen(m4));
	ck_assert_int_eq(fl, HDR_EOF);
	ck_assert_uint_eq(hdr_length("\nbody", 5, &fl), 1);
	ck_assert_uint_eq(hdr_length(" x\n\n", 4, &fl), 0);
	ck_assert_int_eq(fl, HDR_NOBLANK);
}
END_TEST

START_TEST(iterate)
{
	const char *h = "From: a@b\r\nSubject: hello\r\n\tworld\r\nX-Empty:\r\n\r\nBody: no\r\n";
	struct hdr_iter it;
	struct hdr_field f;
	struct buf b = { 0 };

	hdr_iter_init(&it, h, strlen(h));
	ck_assert(hdr_next(&it, &f));
	ck_assert(hdr_is(&f, "from"));
	ck_assert_uint_eq(f.vallen, 4);
	ck_assert(hdr_next(&it, &f));
	ck_assert(hdr_is(&f, "SUBJECT"));
	ck_assert_uint_eq(f.rawlen, strlen("Subject: hello\r\n\tworld\r\n"));
	hdr_unfold(f.value, f.vallen, 0, &b);
	ck_assert_str_eq(b.p, "hello\tworld");
	ck_assert(hdr_next(&it, &f));
	ck_assert(hdr_is(&f, "X-Empty"));
	ck_assert_uint_eq(f.vallen, 0);
	ck_assert(!hdr_next(&it, &f));          /* the blank line ends it */
	ck_assert(!hdr_next(&it, &f));
	buf_free(&b);
}
END_TEST

START_TEST(stray_lines)
{
	const char *h = " leading continuation\nA: 1\ngarbage\nB: 2\n";
	struct hdr_iter it;
	struct hdr_field f;

	hdr_iter_init(&it, h, strlen(h));
	ck_assert(hdr_next(&it, &f));
	ck_assert_ptr_null(f.name);
	ck_assert(hdr_next(&it, &f));
	ck_assert(hdr_is(&f, "A"));
	ck_assert(hdr_next(&it, &f));
	ck_assert_ptr_null(f.name);
	ck_assert(hdr_next(&it, &f));
	ck_assert(hdr_is(&f, "B"));
	ck_assert_uint_eq(f.vallen, 2);
	ck_assert(!hdr_next(&it, &f));
}
END_TEST

START_TEST(unfold_get)
{
	const char *h = "Subject:   a\n  b  \n\tc   \nTo: x\n\n";
	struct buf b = { 0 };

	ck_assert(hdr_get(h, strlen(h), "subject", &b));
	ck_assert_str_eq(b.p, "a  b  \tc");
	b.len = 0;
	ck_assert(!hdr_get(h, strlen(h), "Cc", &b));
	ck_assert(hdr_get(h, strlen(h), "to", &b));
	ck_assert_str_eq(b.p, "x");
	b.len = 0;
	hdr_unfold("abcdef", 6, 3, &b);
	ck_assert_str_eq(b.p, "abc");
	buf_free(&b);
}
END_TEST

START_TEST(filter)
{
	const char *h = "From: a\nTo: b\n c\nSubject: s\nfrom: dup\n\nbody";
	const char *names[] = { "FROM", "to" };
	struct buf b = { 0 };

	hdr_filter(h, strlen(h), names, 2, 0, &b);
	ck_assert_str_eq(b.p, "From: a\nTo: b\n c\nfrom: dup\n\n");
	b.len = 0;
	hdr_filter(h, strlen(h), names, 2, 1, &b);
	ck_assert_str_eq(b.p, "Subject: s\n\n");
	b.len = 0;
	hdr_filter("A: 1\r\nB: 2", 10, names, 0, 1, &b);        /* no final line end */
	ck_assert_str_eq(b.p, "A: 1\r\nB: 2\r\n\r\n");
	b.len = 0;
	hdr_filter("", 0, names, 2, 0, &b);
	ck_assert_str_eq(b.p, "\n");
	buf_free(&b);
}
END_TEST

/* Every prefix of a header: iteration stays inside it and terminates. */
START_TEST(prefixes)
{
	const char *h = "A: 1\r\n b\r\nC:\r\n\r\n";

	for (size_t n = 0; n <= strlen(h); n++) {
		char *c = malloc(n + 1);
		struct hdr_iter it;
		struct hdr_field f;
		int k = 0;

		memcpy(c, h, n);
		hdr_iter_init(&it, c, n);
		while (hdr_next(&it, &f)) {
			ck_assert(f.raw >= c && f.raw + f.rawlen <= c + n);
			ck_assert(f.value >= c && f.value + f.vallen <= c + n);
			ck_assert_int_lt(++k, 10);
		}
		ck_assert_uint_le(hdr_length(c, n, NULL), n);
		free(c);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("header");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, line_kinds);
	tcase_add_test(tc, lengths);
	tcase_add_test(tc, iterate);
	tcase_add_test(tc, stray_lines);
	tcase_add_test(tc, unfold_get);
	tcase_add_test(tc, filter);
	tcase_add_test(tc, prefixes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
