/* Unit tests of lib/b64.c: RFC 4648 vectors, strict and lenient decoding,
 * streaming across every split point, random round trips. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

const char *const progname = "test_b64";

static const struct { const char *in, *out; } rfc4648[] = {   /* RFC 4648 10 */
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

START_TEST(vectors)
{
	for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
		char enc[64];
		unsigned char dec[64];

		b64_encode(rfc4648[i].in, strlen(rfc4648[i].in), enc);
		ck_assert_str_eq(enc, rfc4648[i].out);
		ck_assert_int_eq(b64_decode(rfc4648[i].out, strlen(rfc4648[i].out), dec),
		    (ssize_t)strlen(rfc4648[i].in));
		ck_assert_str_eq((char *)dec, rfc4648[i].in);
	}
}
END_TEST

/* Decode s in one call plus final; return length or -1. */
static ssize_t dec_all(const char *s, int lenient, unsigned char *out, const char **err)
{
	struct b64_dec d;
	ssize_t k, f;

	b64_dec_init(&d, lenient);
	k = b64_dec_update(&d, s, strlen(s), out);
	if (k < 0) {
		*err = d.err;
		return -1;
	}
	f = b64_dec_final(&d, out + k);
	if (f < 0) {
		*err = d.err;
		return -1;
	}
	return k + f;
}

START_TEST(strict_errors)
{
	unsigned char o[64];
	const char *err = NULL;

	ck_assert_int_eq(dec_all("Zm9v\nYmFy\r\n", 0, o, &err), 6);   /* line ends are fine */
	ck_assert_int_eq(dec_all("Zm9v YmFy", 0, o, &err), -1);
	ck_assert_str_eq(err, "invalid character");
	ck_assert_int_eq(dec_all("Zm9", 0, o, &err), -1);
	ck_assert_str_eq(err, "truncated input");
	ck_assert_int_eq(dec_all("Z===", 0, o, &err), -1);
	ck_assert_str_eq(err, "misplaced padding");
	ck_assert_int_eq(dec_all("Zg=a", 0, o, &err), -1);
	ck_assert_str_eq(err, "data after padding");
	ck_assert_int_eq(dec_all("Zg==Zg==", 0, o, &err), 2);   /* concatenated */
	ck_assert_int_eq(memcmp(o, "ff", 2), 0);
}
END_TEST

START_TEST(lenient)
{
	unsigned char o[64];
	const char *err = NULL;

	ck_assert_int_eq(dec_all("Zm 9v*Ym\tFy!", 1, o, &err), 6);
	ck_assert_int_eq(memcmp(o, "foobar", 6), 0);
	ck_assert_int_eq(dec_all("Zm9vYg", 1, o, &err), 4);    /* missing padding */
	ck_assert_int_eq(memcmp(o, "foob", 4), 0);
	ck_assert_int_eq(dec_all("Zm9vY", 1, o, &err), 3);     /* lone last char dropped */
}
END_TEST

START_TEST(wrap_and_crlf)
{
	unsigned char in[120];
	char out[400];
	struct b64_enc e;
	size_t k;

	memset(in, 'x', sizeof in);
	b64_enc_init(&e, 76, 1);
	k = b64_enc_update(&e, in, sizeof in, out);
	k += b64_enc_final(&e, out + k);
	out[k] = '\0';
	/* 120 bytes = 160 chars: 76 + CRLF + 76 + CRLF + 8 + CRLF */
	ck_assert_uint_eq(k, 160 + 6);
	ck_assert(out[76] == '\r' && out[77] == '\n');
	ck_assert(out[k - 2] == '\r' && out[k - 1] == '\n');

	b64_enc_init(&e, 76, 0);                 /* empty input: no output at all */
	ck_assert_uint_eq(b64_enc_final(&e, out), 0);
}
END_TEST

/* Every split point of a buffer gives the same output as one call. */
START_TEST(split_points)
{
	unsigned char in[200];
	char whole[400], part[400];
	size_t nw, np;

	srand(42);
	for (size_t i = 0; i < sizeof in; i++)
		in[i] = (unsigned char)rand();
	for (size_t wrap = 0; wrap <= 76; wrap += 38) {
		struct b64_enc e;

		b64_enc_init(&e, wrap, 0);
		nw = b64_enc_update(&e, in, sizeof in, whole);
		nw += b64_enc_final(&e, whole + nw);
		for (size_t cut = 0; cut <= sizeof in; cut++) {
			b64_enc_init(&e, wrap, 0);
			np = b64_enc_update(&e, in, cut, part);
			np += b64_enc_update(&e, in + cut, sizeof in - cut, part + np);
			np += b64_enc_final(&e, part + np);
			ck_assert_uint_eq(np, nw);
			ck_assert_int_eq(memcmp(part, whole, nw), 0);
		}
		/* and decode it back at every split point, strict */
		for (size_t cut = 0; cut <= nw; cut++) {
			struct b64_dec d;
			unsigned char back[300];
			ssize_t a, b, f;

			b64_dec_init(&d, 0);
			a = b64_dec_update(&d, whole, cut, back);
			b = b64_dec_update(&d, whole + cut, nw - cut, back + a);
			f = b64_dec_final(&d, back + a + b);
			ck_assert(a >= 0 && b >= 0 && f >= 0);
			ck_assert_int_eq(a + b + f, (ssize_t)sizeof in);
			ck_assert_int_eq(memcmp(back, in, sizeof in), 0);
		}
	}
}
END_TEST

START_TEST(random_round_trips)
{
	srand(7);
	for (int round = 0; round < 300; round++) {
		size_t n = (size_t)rand() % 3000;
		unsigned char *in = malloc(n + 1), *back = malloc(n + 8);
		char *enc = malloc(n * 2 + 64);
		struct b64_enc e;
		struct b64_dec d;
		size_t k;
		ssize_t a, f;

		for (size_t i = 0; i < n; i++)
			in[i] = (unsigned char)rand();
		b64_enc_init(&e, (size_t)(rand() % 2) * 76, rand() % 2);
		k = b64_enc_update(&e, in, n, enc);
		k += b64_enc_final(&e, enc + k);
		b64_dec_init(&d, 0);
		a = b64_dec_update(&d, enc, k, back);
		f = b64_dec_final(&d, back + a);
		ck_assert(a >= 0 && f == 0);
		ck_assert_uint_eq((size_t)a, n);
		ck_assert(n == 0 || memcmp(in, back, n) == 0);
		free(in);
		free(back);
		free(enc);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("b64");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, vectors);
	tcase_add_test(tc, strict_errors);
	tcase_add_test(tc, lenient);
	tcase_add_test(tc, wrap_and_crlf);
	tcase_add_test(tc, split_points);
	tcase_add_test(tc, random_round_trips);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
