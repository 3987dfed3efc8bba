/* test_maildeliver.c — maildeliver/message.c: the stored form of a message. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "../../maildeliver/maildeliver.h"

const char *const progname = "test_maildeliver";

/* Feed text through a pipe, chunk bytes per write (0: all at once). */
static void load(struct md_msg *m, const char *text, size_t len, size_t chunk)
{
	int p[2];
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		for (size_t off = 0; off < len; ) {
			size_t n = chunk && chunk < len - off ? chunk : len - off;
			if (write(p[1], text + off, n) != (ssize_t)n)
				_exit(1);
			off += n;
		}
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(md_read(p[0], MD_SIZE_MAX, m), EX_OK);
	close(p[0]);
}

struct vec {
	const char *in;
	const char *out;
	size_t hdr_len;
	int spam;
	const char *from;
};

static const struct vec vecs[] = {
	{ "Subject: a\r\n\r\nbody\r\n", "Subject: a\n\nbody\n", 12, 0, NULL },
	{ "A: 1\r\nB: x\r\n y\r\n\r\nb\rc\r\r\n", "A: 1\nB: x\n y\n\nb\rc\r\n", 14, 0, NULL },
	{ "Return-Path: <x@y>\nReturn-path:\n <folded@z>\nS: 1\n\nReturn-Path: body\n",
	  "S: 1\n\nReturn-Path: body\n", 6, 0, NULL },
	{ "From a@b Mon Nov 23 10:00:00 2026\nS: 1\n\nx\n", "S: 1\n\nx\n", 6, 0, "a@b" },
	{ "From a@b\n", "", 0, 0, "a@b" },
	{ "X-Spam-Flag: YES\n\n", "X-Spam-Flag: YES\n\n", 18, 1, NULL },
	{ "x-spam-flag:yes\n\n", "x-spam-flag:yes\n\n", 17, 1, NULL },
	{ "X-Spam-Flag: YES please\n\n", "X-Spam-Flag: YES please\n\n", 25, 0, NULL },
	{ "S: 1\n\nX-Spam-Flag: YES\n", "S: 1\n\nX-Spam-Flag: YES\n", 6, 0, NULL },
	/* not a header at all: the whole text is body */
	{ "hello world\nX-Spam-Flag: YES\n", "hello world\nX-Spam-Flag: YES\n", 0, 0, NULL },
	{ "", "", 0, 0, NULL },
	{ "A: 1\0\n\nz", "A: 1\0\n\nz", 7, 0, NULL },
};

START_TEST(normalise)
{
	const struct vec *v = &vecs[_i];
	size_t inlen = strlen(v->in), outlen = strlen(v->out);
	size_t chunks[] = { 0, 1, 2, 3 };

	if (_i == sizeof vecs / sizeof vecs[0] - 1)
		inlen = 8, outlen = 8;          /* the one with a NUL */
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		struct md_msg m;
		load(&m, v->in, inlen, chunks[c]);
		ck_assert_uint_eq(m.len, outlen);
		ck_assert(memcmp(m.data, v->out, outlen) == 0);
		ck_assert_uint_eq(m.hdr_len, v->hdr_len);
		ck_assert_int_eq(m.spam, v->spam);
		if (v->from)
			ck_assert_str_eq(m.from_sender, v->from);
		else
			ck_assert_ptr_null(m.from_sender);
		md_msg_free(&m);
	}
}
END_TEST

START_TEST(delivered_to)
{
	struct md_msg m;
	const char *t = "Received: x\nDelivered-To:  Bob@Example.org \nS: 1\n\nDelivered-To: alice\n";

	load(&m, t, strlen(t), 0);
	ck_assert(md_delivered_to(&m, "bob@example.org"));
	ck_assert(!md_delivered_to(&m, "bob"));
	ck_assert(!md_delivered_to(&m, "alice"));       /* in the body */
	ck_assert_int_eq(md_dt_find(m.data, m.hdr_len, "bob@example.org"), MD_DT_BELOW);
	ck_assert_int_eq(md_dt_find(m.data, m.len, "alice"), 0);
	md_msg_free(&m);

	/* the handing MTA's field on top is not a loop, and can be left out */
	static const char h[] = "Delivered-To: b\nDelivered-To: c\nReceived: x\nDelivered-To: b\n\n";
	struct buf b = { 0 };

	ck_assert_int_eq(md_dt_find(h, sizeof h - 1, "B"), MD_DT_HANDED | MD_DT_BELOW);
	ck_assert_int_eq(md_dt_find(h, sizeof h - 1, "c"), MD_DT_HANDED);
	ck_assert_uint_eq(md_dt_drop_handed(h, sizeof h - 1, "b", &b), 1);
	buf_adds(&b, "");
	ck_assert_str_eq(b.p, "Delivered-To: c\nReceived: x\nDelivered-To: b\n\n");
	buf_free(&b);
}
END_TEST

START_TEST(crlf_split_across_reads)
{
	/* A CRLF split between two reads is still one line end. */
	struct md_msg m;
	char big[IO_BUFSIZE + 8];

	memset(big, 'x', sizeof big);
	memcpy(big + IO_BUFSIZE - 1, "\r\n", 2);
	load(&m, big, sizeof big, IO_BUFSIZE);
	ck_assert_uint_eq(m.len, sizeof big - 1);
	ck_assert_int_eq(m.data[IO_BUFSIZE - 1], '\n');
	md_msg_free(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("maildeliver");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, normalise, 0, sizeof vecs / sizeof vecs[0]);
	tcase_add_test(tc, delivered_to);
	tcase_add_test(tc, crlf_split_across_reads);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
