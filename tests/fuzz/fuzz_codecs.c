/* fuzz_codecs — libFuzzer harness for the codecs: lib/b64.c, lib/qp.c,
 * lib/rfc2047.c, lib/charset.c.
 *
 * The first four bytes of the input choose the split points, the wrap
 * width and the modes; the rest is the data.  Each call writes into a
 * buffer of exactly the size the bound functions promise (so ASan sees any
 * overrun), and the harness asserts:
 *   - decoding in pieces gives the same bytes and the same verdict as in
 *     one call (b64 and qp, strict and lenient);
 *   - encoding in pieces gives the same text as in one call, and that text
 *     decodes strictly back to the data (qp text mode: CRLF as LF);
 *   - qp text lines are at most 76 characters with no trailing blank;
 *   - rfc2047_decode always yields valid UTF-8, and rfc2047_encode of valid
 *     UTF-8 gives words of at most 75 characters that decode back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "buf.h"
#include "charset.h"
#include "qp.h"
#include "rfc2047.h"

const char *const progname = "fuzz_codecs";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

struct cuts {
	unsigned seed;
};

/* Next piece length (1..n), from a small LCG seeded by the input. */
static size_t piece(struct cuts *c, size_t n)
{
	c->seed = c->seed * 1103515245u + 12345u;
	if (n == 0)
		return 0;
	switch ((c->seed >> 16) % 4) {
	case 0: return 1;
	case 1: return n;
	default: return 1 + (c->seed >> 8) % n;
	}
}

/* base64 decode in one call, then in pieces: same output, same verdict. */
static void b64_dec_check(const char *s, size_t n, int lenient, unsigned seed)
{
	struct b64_dec d;
	struct cuts c = { seed };
	unsigned char *one = malloc(n / 4 * 3 + 3 + 2), *o;
	struct buf many = { 0 };
	ssize_t k, f = 0, rone;

	b64_dec_init(&d, lenient);
	k = b64_dec_update(&d, s, n, one);
	if (k >= 0)
		f = b64_dec_final(&d, one + k);
	rone = (k < 0 || f < 0) ? -1 : k + f;
	if (lenient)
		CHECK(rone >= 0);

	b64_dec_init(&d, lenient);
	for (size_t i = 0; i < n;) {
		size_t m = piece(&c, n - i);

		o = malloc(m / 4 * 3 + 3);
		k = b64_dec_update(&d, s + i, m, o);
		if (k < 0) {
			free(o);
			break;
		}
		buf_add(&many, o, (size_t)k);
		free(o);
		i += m;
	}
	if (k >= 0) {
		o = malloc(2);
		f = b64_dec_final(&d, o);
		if (f > 0)
			buf_add(&many, o, (size_t)f);
		free(o);
	}
	CHECK((rone < 0) == (k < 0 || f < 0));
	if (rone >= 0) {
		CHECK((size_t)rone == many.len);
		CHECK(rone == 0 || memcmp(one, many.p, many.len) == 0);
	}
	free(one);
	buf_free(&many);
}

static void b64_enc_check(const unsigned char *s, size_t n, size_t wrap, int crlf, unsigned seed)
{
	struct b64_enc e;
	struct cuts c = { seed };
	struct buf one = { 0 }, many = { 0 };
	char *o;
	size_t k;
	unsigned char *back;
	struct b64_dec d;
	ssize_t a, f;

	b64_enc_init(&e, wrap, crlf);
	o = malloc(b64_enc_bound(&e, n));
	k = b64_enc_update(&e, s, n, o);
	buf_add(&one, o, k);
	free(o);
	o = malloc(b64_enc_bound(&e, 0));
	k = b64_enc_final(&e, o);
	buf_add(&one, o, k);
	free(o);

	b64_enc_init(&e, wrap, crlf);
	for (size_t i = 0; i < n;) {
		size_t m = piece(&c, n - i);

		o = malloc(b64_enc_bound(&e, m));
		k = b64_enc_update(&e, s + i, m, o);
		buf_add(&many, o, k);
		free(o);
		i += m;
	}
	o = malloc(b64_enc_bound(&e, 0));
	k = b64_enc_final(&e, o);
	buf_add(&many, o, k);
	free(o);
	CHECK(one.len == many.len && (one.len == 0 || memcmp(one.p, many.p, one.len) == 0));
	/* lines: wrap characters each (the last may be shorter) */
	if (wrap) {
		size_t col = 0;

		for (size_t i = 0; i < one.len; i++) {
			if (one.p[i] == '\n') {
				CHECK(col > 0 && col <= wrap);
				col = 0;
			} else if (one.p[i] != '\r') {
				col++;
			}
		}
		CHECK(col == 0);
	}
	back = malloc(one.len / 4 * 3 + 3 + 2);
	b64_dec_init(&d, 0);
	a = b64_dec_update(&d, one.p ? one.p : "", one.len, back);
	CHECK(a >= 0);
	f = b64_dec_final(&d, back + a);
	CHECK(f >= 0);
	CHECK((size_t)(a + f) == n && (n == 0 || memcmp(back, s, n) == 0));
	free(back);
	buf_free(&one);
	buf_free(&many);
}

static void qp_dec_check(const char *s, size_t n, int lenient, int crlf, unsigned seed)
{
	struct qp_dec d;
	struct cuts c = { seed };
	char *one = malloc(qp_dec_bound(n) + qp_dec_bound(0)), *o;
	struct buf many = { 0 };
	ssize_t k, f = 0, rone;

	qp_dec_init(&d, lenient, crlf);
	k = qp_dec_update(&d, s, n, one);
	if (k >= 0)
		f = qp_dec_final(&d, one + k);
	rone = (k < 0 || f < 0) ? -1 : k + f;
	if (lenient)
		CHECK(rone >= 0);

	qp_dec_init(&d, lenient, crlf);
	for (size_t i = 0; i < n;) {
		size_t m = piece(&c, n - i);

		o = malloc(qp_dec_bound(m));
		k = qp_dec_update(&d, s + i, m, o);
		if (k < 0) {
			free(o);
			break;
		}
		buf_add(&many, o, (size_t)k);
		free(o);
		i += m;
	}
	if (k >= 0) {
		o = malloc(qp_dec_bound(0));
		f = qp_dec_final(&d, o);
		if (f > 0)
			buf_add(&many, o, (size_t)f);
		free(o);
	}
	CHECK((rone < 0) == (k < 0 || f < 0));
	if (rone >= 0) {
		CHECK((size_t)rone == many.len);
		CHECK(rone == 0 || memcmp(one, many.p, many.len) == 0);
	}
	free(one);
	buf_free(&many);
}

static void qp_enc_check(const unsigned char *s, size_t n, int binary, int crlf, unsigned seed)
{
	struct qp_enc e;
	struct cuts c = { seed };
	struct buf one = { 0 }, many = { 0 }, want = { 0 };
	char *o, *back;
	size_t k;
	struct qp_dec d;
	ssize_t a, f;

	qp_enc_init(&e, binary, crlf);
	o = malloc(qp_enc_bound(n));
	k = qp_enc_update(&e, s, n, o);
	buf_add(&one, o, k);
	free(o);
	o = malloc(qp_enc_bound(0));
	k = qp_enc_final(&e, o);
	buf_add(&one, o, k);
	free(o);

	qp_enc_init(&e, binary, crlf);
	for (size_t i = 0; i < n;) {
		size_t m = piece(&c, n - i);

		o = malloc(qp_enc_bound(m));
		k = qp_enc_update(&e, s + i, m, o);
		buf_add(&many, o, k);
		free(o);
		i += m;
	}
	o = malloc(qp_enc_bound(0));
	k = qp_enc_final(&e, o);
	buf_add(&many, o, k);
	free(o);
	CHECK(one.len == many.len && (one.len == 0 || memcmp(one.p, many.p, one.len) == 0));

	/* RFC 2045 6.7 rules 3 and 5; only printable ASCII, blanks, line ends */
	for (size_t i = 0, col = 0; i < one.len; i++) {
		unsigned char ch = (unsigned char)one.p[i];

		if (ch == '\n' || (ch == '\r' && crlf)) {
			if (ch == '\r')
				CHECK(i + 1 < one.len && one.p[i + 1] == '\n');
			else
				col = 0;
			if (i > 0 && ch == '\r')
				CHECK(one.p[i - 1] != ' ' && one.p[i - 1] != '\t');
			if (i > 0 && ch == '\n' && !crlf)
				CHECK(one.p[i - 1] != ' ' && one.p[i - 1] != '\t');
			continue;
		}
		CHECK(ch == ' ' || ch == '\t' || (ch > 32 && ch < 127));
		CHECK(++col <= 76);
		if (col == 1)
			CHECK(ch != '.' && !(one.len - i >= 5 && memcmp(one.p + i, "From ", 5) == 0));
	}
	if (one.len)
		CHECK(one.p[one.len - 1] != ' ' && one.p[one.len - 1] != '\t');

	/* strict decoding gives the data back (text mode: CRLF as LF) */
	for (size_t i = 0; i < n; i++) {
		if (!binary && s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
			continue;
		buf_addc(&want, s[i]);
	}
	back = malloc(qp_dec_bound(one.len) + qp_dec_bound(0));
	qp_dec_init(&d, 0, 0);
	a = qp_dec_update(&d, one.p ? one.p : "", one.len, back);
	CHECK(a >= 0);
	f = qp_dec_final(&d, back + a);
	CHECK(f >= 0);
	CHECK((size_t)(a + f) == want.len && (want.len == 0 || memcmp(back, want.p, want.len) == 0));
	free(back);
	buf_free(&one);
	buf_free(&many);
	buf_free(&want);
}

static void rfc2047_check(const char *s, size_t n, int enc)
{
	struct buf out = { 0 }, words = { 0 }, back = { 0 };

	rfc2047_decode(s, n, &out);
	CHECK(out.p != NULL && out.p[out.len] == '\0');
	CHECK(utf8_valid(out.p, out.len));
	buf_free(&out);

	/* encode: only for valid UTF-8 without line breaks (a header value) */
	if (!utf8_valid(s, n) || memchr(s, '\n', n) || memchr(s, '\r', n) || n == 0)
		return;
	rfc2047_encode("UTF-8", enc, s, n, " ", &words);
	for (size_t i = 0; i < words.len;) {
		const char *sp = memchr(words.p + i, ' ', words.len - i);
		size_t l = sp ? (size_t)(sp - (words.p + i)) : words.len - i;

		CHECK(l <= 75 && l >= 12);
		CHECK(memcmp(words.p + i, enc == 'Q' ? "=?UTF-8?Q?" : "=?UTF-8?B?", 10) == 0);
		CHECK(memcmp(words.p + i + l - 2, "?=", 2) == 0);
		i += l + 1;
	}
	rfc2047_decode(words.p, words.len, &back);
	CHECK(back.len == n && memcmp(back.p, s, n) == 0);
	buf_free(&words);
	buf_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned seed;
	const char *s;
	size_t n, wrap;

	if (size < 4)
		return 0;
	seed = (unsigned)data[0] | (unsigned)data[1] << 8;
	wrap = data[2] % 4 == 0 ? 0 : data[2] % 4 == 1 ? 76 : 4 + data[2] % 97;
	s = (const char *)data + 4;
	n = size - 4;

	b64_dec_check(s, n, 0, seed);
	b64_dec_check(s, n, 1, seed + 1);
	b64_enc_check((const unsigned char *)s, n, wrap, data[3] & 1, seed + 2);
	qp_dec_check(s, n, 0, data[3] & 2, seed + 3);
	qp_dec_check(s, n, 1, data[3] & 2, seed + 4);
	qp_enc_check((const unsigned char *)s, n, 0, data[3] & 4, seed + 5);
	qp_enc_check((const unsigned char *)s, n, 1, data[3] & 4, seed + 6);
	rfc2047_check(s, n, data[3] & 8 ? 'B' : 'Q');
	return 0;
}
