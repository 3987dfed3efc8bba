/* Unit tests of lib/qp.c and lib/rfc2047.c: every RFC 2045 6.7 rule,
 * streaming at every split point, round trips, encoded-words. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "qp.h"
#include "rfc2047.h"

const char *const progname = "test_qp";

/* In loops over every split point, check's ck_assert records a mark point
 * (a write to the parent) on every success: thousands per case, which is
 * what made this suite slow under sanitizers.  QCHECK reports only a failure. */
#define QCHECK(cond, ...) \
	do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

/* Encode in[0..n) in one go (binary/crlf flags) into a malloc'd string. */
static char *enc(const char *in, size_t n, int binary, int crlf, size_t *len)
{
	struct qp_enc e;
	char *out = malloc(qp_enc_bound(n) + 1);
	size_t k;

	qp_enc_init(&e, binary, crlf);
	k = qp_enc_update(&e, in, n, out);
	k += qp_enc_final(&e, out + k);
	out[k] = '\0';
	*len = k;
	return out;
}

static char *dec(const char *in, int lenient, ssize_t *len)
{
	struct qp_dec d;
	size_t n = strlen(in);
	char *out = malloc(qp_dec_bound(n) + 1);
	ssize_t k, f;

	qp_dec_init(&d, lenient, 0);
	k = qp_dec_update(&d, in, n, out);
	f = k < 0 ? -1 : qp_dec_final(&d, out + k);
	*len = (k < 0 || f < 0) ? -1 : k + f;
	if (*len >= 0)
		out[*len] = '\0';
	return out;
}

static void enc_is(const char *in, const char *want)
{
	size_t n;
	char *got = enc(in, strlen(in), 0, 0, &n);

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(encode_rules)
{
	enc_is("plain text\n", "plain text\n");
	enc_is("a=b\n", "a=3Db\n");                          /* rule 1: '=' */
	enc_is("caf\xc3\xa9\n", "caf=C3=A9\n");              /* rule 1: 8-bit */
	enc_is("trailing \nand tab\t\n", "trailing=20\nand tab=09\n");   /* rule 3 */
	enc_is("end blank ", "end blank=20");                /* at end of data too */
	enc_is("crlf\r\nline\r\n", "crlf\nline\n");          /* text: CRLF is a line end */
	enc_is("bare\rcr\n", "bare=0Dcr\n");
	enc_is("From me\n", "=46rom me\n");                  /* mbox safety */
	enc_is(".\n", "=2E\n");                              /* SMTP safety */
	enc_is("ctl\x01\n", "ctl=01\n");
}
END_TEST

START_TEST(line_length)
{
	char in[1000];
	size_t n;
	char *out;

	memset(in, 'a', sizeof in);
	out = enc(in, sizeof in, 0, 0, &n);
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
		ck_assert_uint_le(strlen(line), 76);     /* rule 5 */
	free(out);
	/* exactly 76 characters on a hard line need no soft break */
	memset(in, 'b', 76);
	in[76] = '\n';
	out = enc(in, 77, 0, 0, &n);
	ck_assert_uint_eq(n, 77);
	free(out);
	/* an escape never straddles a soft break */
	memset(in, '=', 100);
	out = enc(in, 100, 0, 0, &n);
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		size_t l = strlen(line);
		ck_assert_uint_le(l, 76);
		ck_assert(l < 3 || line[l - 1] == '=' || line[l - 3] == '=');
	}
	free(out);
}
END_TEST

START_TEST(binary_mode)
{
	size_t n;
	char *out = enc("a\r\nb\n", 5, 1, 0, &n);

	ck_assert_str_eq(out, "a=0D=0Ab=0A");
	free(out);
	out = enc("From x", 6, 1, 0, &n);                   /* mbox safety, binary too */
	ck_assert_str_eq(out, "=46rom x");
	free(out);
	/* the output does not depend on where the input is cut (found by
	 * fuzz_codecs: "Fm " cut after the F) */
	for (int binary = 0; binary <= 1; binary++) {
		const char *t = "Fm From Fr";

		for (size_t cut = 0; cut <= 10; cut++) {
			struct qp_enc e;
			char a[256], *whole = enc(t, 10, binary, 0, &n);
			size_t k;

			qp_enc_init(&e, binary, 0);
			k = qp_enc_update(&e, t, cut, a);
			k += qp_enc_update(&e, t + cut, 10 - cut, a + k);
			k += qp_enc_final(&e, a + k);
			QCHECK(k == n && memcmp(a, whole, n) == 0, "binary %d cut %zu", binary, cut);
			free(whole);
		}
	}
	out = enc("x\n", 2, 0, 1, &n);                       /* CRLF output */
	ck_assert_str_eq(out, "x\r\n");
	free(out);
}
END_TEST

START_TEST(decode_rules)
{
	ssize_t n;
	char *o;

	o = dec("a=3Db=\nc\n", 0, &n);          /* escape, soft break */
	ck_assert_str_eq(o, "a=bc\n");
	free(o);
	o = dec("low=3d=c3=a9\n", 0, &n);       /* lower case hex accepted */
	ck_assert_str_eq(o, "low=\xc3\xa9\n");
	free(o);
	o = dec("trail  \t\nx", 0, &n);         /* transport white space removed */
	ck_assert_str_eq(o, "trail\nx");
	free(o);
	o = dec("soft= \t\nx", 0, &n);          /* padded soft break */
	ck_assert_str_eq(o, "softx");
	free(o);
	o = dec("crlf\r\n=\r\nx", 0, &n);
	ck_assert_str_eq(o, "crlf\nx");
	free(o);
	o = dec("bad=ZZ", 0, &n);
	ck_assert_int_eq(n, -1);
	free(o);
	o = dec("bad=ZZ=4", 1, &n);             /* lenient keeps them */
	ck_assert_str_eq(o, "bad=ZZ=4");
	free(o);
	o = dec("a=4", 0, &n);                   /* truncated escape */
	ck_assert_int_eq(n, -1);
	free(o);
}
END_TEST

/* Every split point decodes and encodes the same as one call. */
START_TEST(split_points)
{
	const char *text = "Caf\xc3\xa9 = ok \t \nFrom here\r\n.\nlong line "
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx end \n";
	size_t n = strlen(text), wn;
	char *whole = enc(text, n, 0, 0, &wn);

	for (size_t cut = 0; cut <= n; cut++) {
		struct qp_enc e;
		char out[2048];
		size_t k;

		qp_enc_init(&e, 0, 0);
		k = qp_enc_update(&e, text, cut, out);
		k += qp_enc_update(&e, text + cut, n - cut, out + k);
		k += qp_enc_final(&e, out + k);
		QCHECK(k == wn, "cut %zu: %zu bytes", cut, k);
		QCHECK(memcmp(out, whole, wn) == 0, "cut %zu", cut);
	}
	for (size_t cut = 0; cut <= wn; cut++) {
		struct qp_dec d;
		char out[2048];
		ssize_t a, b, f;

		qp_dec_init(&d, 0, 0);
		a = qp_dec_update(&d, whole, cut, out);
		b = qp_dec_update(&d, whole + cut, wn - cut, out + a);
		f = qp_dec_final(&d, out + a + b);
		QCHECK(a >= 0 && b >= 0 && f >= 0, "cut %zu: decode error", cut);
		out[a + b + f] = '\0';
		/* text mode turns CRLF into LF */
		ck_assert_str_eq(out, "Caf\xc3\xa9 = ok \t \nFrom here\n.\nlong line "
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx end \n");
	}
	free(whole);
}
END_TEST

/* Properties of encoded text mode output: RFC 2045 6.7 rules 3 and 5, and
 * no line that starts "From " or "." (mbox, SMTP). */
static void check_encoded(const char *out, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *lf = memchr(out + i, '\n', n - i);
		size_t l = lf ? (size_t)(lf - (out + i)) : n - i;
		const char *line = out + i;

		QCHECK(l <= 76, "line of %zu: %.*s", l, (int)l, line);
		QCHECK(l == 0 || (line[l - 1] != ' ' && line[l - 1] != '\t'),
		    "trailing blank: %.*s", (int)l, line);
		QCHECK(l < 5 || memcmp(line, "From ", 5) != 0, "From line: %.*s", (int)l, line);
		QCHECK(l == 0 || line[0] != '.', "dot line: %.*s", (int)l, line);
		i += l + 1;
	}
}

/* Long lines (the encoder holds at most QP_PEND_MAX bytes of a line):
 * "blank CR LF" and "From " cut at every point still come out right. */
START_TEST(split_long_lines)
{
	char text[16384];
	size_t n = 0, wn;

	for (int len = 70; len <= 170; len += 3) {
		memset(text + n, 'x', (size_t)len);
		n += (size_t)len;
		memcpy(text + n, len % 2 ? " \r\n" : "\t\r\n", 3);
		n += 3;
		if (len % 25 == 1) {
			memset(text + n, 'y', 75);
			memcpy(text + n + 75, "From me\n", 8);
			n += 83;
		}
		ck_assert_uint_lt(n, sizeof text - 300);
	}
	char *whole = enc(text, n, 0, 0, &wn);
	check_encoded(whole, wn);
	for (size_t cut = 0; cut <= n; cut++) {
		struct qp_enc e;
		char *out = malloc(qp_enc_bound(n) * 2);
		size_t k;

		qp_enc_init(&e, 0, 0);
		k = qp_enc_update(&e, text, cut, out);
		k += qp_enc_update(&e, text + cut, n - cut, out + k);
		k += qp_enc_final(&e, out + k);
		check_encoded(out, k);
		QCHECK(k == wn && memcmp(out, whole, wn) == 0, "cut at %zu", cut);
		free(out);
	}
	/* byte by byte */
	{
		struct qp_enc e;
		char *out = malloc(qp_enc_bound(n) * 2);
		size_t k = 0;

		qp_enc_init(&e, 0, 0);
		for (size_t i = 0; i < n; i++)
			k += qp_enc_update(&e, text + i, 1, out + k);
		k += qp_enc_final(&e, out + k);
		ck_assert(k == wn && memcmp(out, whole, wn) == 0);
		free(out);
	}
	free(whole);
}
END_TEST

/* Rule 3: trailing blanks are deleted however many there are (a line of
 * up to RFC 5322's 998 characters), at any split point. */
START_TEST(many_trailing_blanks)
{
	char in[1200], want[16];
	size_t n;

	memcpy(in, "ab", 2);
	memset(in + 2, ' ', 500);
	in[300] = '\t';
	memcpy(in + 502, "\r\ncd\n", 5);
	n = 507;
	strcpy(want, "ab\ncd\n");
	for (size_t cut = 0; cut <= n; cut++) {
		struct qp_dec d;
		char out[4096];
		ssize_t a, b, f;

		qp_dec_init(&d, 0, 0);
		a = qp_dec_update(&d, in, cut, out);
		b = qp_dec_update(&d, in + cut, n - cut, out + a);
		f = qp_dec_final(&d, out + a + b);
		QCHECK(a >= 0 && b >= 0 && f >= 0, "cut %zu: decode error", cut);
		out[a + b + f] = '\0';
		QCHECK(strcmp(out, want) == 0, "cut %zu: %zu bytes", cut, strlen(out));
	}
	/* blanks then a bare CR (data, not a line end) at the end: all kept */
	{
		ssize_t k;
		char *out = dec("a \t\r", 0, &k);

		ck_assert_int_eq(k, 4);
		ck_assert_str_eq(out, "a \t\r");
		free(out);
		out = dec("a \t\rb", 0, &k);
		ck_assert_str_eq(out, "a \t\rb");
		free(out);
	}
}
END_TEST

START_TEST(binary_round_trips)
{
	srand(3);
	for (int round = 0; round < 200; round++) {
		size_t n = (size_t)rand() % 2000, k;
		char *in = malloc(n + 1), *out, *back;
		struct qp_dec d;
		ssize_t a, f;

		for (size_t i = 0; i < n; i++)
			in[i] = (char)(rand() % 4 ? rand() % 128 : rand());
		out = enc(in, n, 1, 0, &k);
		back = malloc(qp_dec_bound(k));
		qp_dec_init(&d, 0, 0);
		a = qp_dec_update(&d, out, k, back);
		f = qp_dec_final(&d, back + a);
		ck_assert(a >= 0 && f >= 0);
		ck_assert_uint_eq((size_t)(a + f), n);
		ck_assert(n == 0 || memcmp(in, back, n) == 0);
		free(in);
		free(out);
		free(back);
	}
}
END_TEST

static void rfc2047_is(const char *in, const char *want)
{
	struct buf b = { 0 };

	rfc2047_decode(in, strlen(in), &b);
	ck_assert_str_eq(b.p, want);
	buf_free(&b);
}

START_TEST(encoded_words)
{
	/* RFC 2047 section 8 examples */
	rfc2047_is("=?ISO-8859-1?Q?a?=", "a");
	rfc2047_is("=?ISO-8859-1?Q?a?= b", "a b");
	rfc2047_is("=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab");
	rfc2047_is("=?ISO-8859-1?Q?a?=  \r\n  =?ISO-8859-1?Q?b?=", "ab");
	rfc2047_is("=?ISO-8859-1?Q?a_b?=", "a b");
	rfc2047_is("=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=", "a b");
	rfc2047_is("=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xc3\xa9 Pirard");
	rfc2047_is("=?UTF-8?B?Q2Fmw6k=?=", "Caf\xc3\xa9");
	rfc2047_is("=?utf-8*fr?q?Caf=C3=A9?=", "Caf\xc3\xa9");   /* RFC 2231 language */
	rfc2047_is("=?bogus", "=?bogus");                          /* malformed: as is */
	rfc2047_is("plain \xff", "plain \xef\xbf\xbd");           /* bad 8-bit replaced */
	/* a character split across adjacent words of one charset (common in
	 * the wild; Python's email.header joins them too) */
	rfc2047_is("=?UTF-8?Q?caf=C3?= =?utf-8?Q?=A9?=", "caf\xc3\xa9");
	rfc2047_is("=?UTF-8?B?w6nD?= =?UTF-8?B?qQ==?= x", "\xc3\xa9\xc3\xa9 x");
	rfc2047_is("=?UTF-8?Q?=C3?= =?ISO-8859-1?Q?=E9?=", "\xef\xbf\xbd\xc3\xa9");
	rfc2047_is("=?UTF-8?Q?=C3?= x =?UTF-8?Q?=A9?=", "\xef\xbf\xbd x \xef\xbf\xbd");
	rfc2047_is("=?ISO-2022-JP?B?GyRCJEgkJhsoQg==?= =?ISO-2022-JP?B?GyRCJEgbKEI=?=",
	    "\xe3\x81\xa8\xe3\x81\x86\xe3\x81\xa8");
}
END_TEST

START_TEST(encode_words)
{
	const char *subj = "Caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e: a very long subject line "
	    "that will certainly need more than one encoded-word to carry \xe2\x82\xac";
	struct buf b = { 0 }, back = { 0 };

	rfc2047_encode("UTF-8", 'Q', subj, strlen(subj), "\r\n ", &b);
	for (char *w = strtok(b.p, "\r\n "); w; w = strtok(NULL, "\r\n ")) {
		ck_assert_uint_le(strlen(w), 75);        /* RFC 2047 2 */
		ck_assert(strncmp(w, "=?UTF-8?Q?", 10) == 0);
	}
	buf_free(&b);
	rfc2047_encode("UTF-8", 'Q', subj, strlen(subj), " ", &b);
	rfc2047_decode(b.p, b.len, &back);
	ck_assert_str_eq(back.p, subj);
	buf_free(&b);
	buf_free(&back);
	rfc2047_encode("UTF-8", 'B', subj, strlen(subj), " ", &b);
	rfc2047_decode(b.p, b.len, &back);
	ck_assert_str_eq(back.p, subj);
	buf_free(&b);
	buf_free(&back);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qp");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, encode_rules);
	tcase_add_test(tc, line_length);
	tcase_add_test(tc, binary_mode);
	tcase_add_test(tc, decode_rules);
	tcase_add_test(tc, split_points);
	tcase_add_test(tc, split_long_lines);
	tcase_add_test(tc, many_trailing_blanks);
	tcase_add_test(tc, binary_round_trips);
	tcase_add_test(tc, encoded_words);
	tcase_add_test(tc, encode_words);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
