/* Unit tests of lib/ed25519.c: RFC 8032 7.1's vectors, then libsodium's
 * crypto_sign_verify_detached as the oracle: random keys and messages
 * whose signatures must verify, and the same with one bit flipped in S, R,
 * A or M, non-canonical S, and R or A of small order, where our verdict
 * must be libsodium's. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ed25519.h"

const char *const progname = "test_ed25519";

/* 10,000 signatures: 2,000 keys with 5 messages each (a key's tables
 * cost more than a verification) */
#define RANDOM_KEYS 2000
#define MESSAGES_PER_KEY 5

static void unhex(const char *h, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
}

/* Our verdict for pk, falling back on libsodium for a key we do not
 * take, as lib/dkim.c does. */
static int ours(const struct ed25519_base *b, const unsigned char *pk, const unsigned char *sig,
    const unsigned char *m, size_t n)
{
	struct ed25519_key *k = ed25519_key_new(b, pk);
	int r;

	if (!k)
		return crypto_sign_verify_detached(sig, m, n, pk) == 0 ? 0 : -1;
	r = ed25519_verify(b, k, sig, m, n);
	free(k);
	return r;
}

static int theirs(const unsigned char *pk, const unsigned char *sig, const unsigned char *m,
    size_t n)
{
	return crypto_sign_verify_detached(sig, m, n, pk) == 0 ? 0 : -1;
}

/* Decoding takes every key libsodium takes: y small (u = y^2 - 1 then has
 * a canonical value far below its limbs, where a subtraction from it once
 * went below zero and refused y = 0xd798, found by fuzz_ed25519), both
 * signs, and random strings. */
START_TEST(decode_agrees)
{
	struct ed25519_base *b = ed25519_base_new();
	unsigned char pk[32];
	int valid = 0;

	ck_assert_ptr_nonnull(b);
	for (unsigned i = 0; i < 2 * 4096 + 2000; i++) {
		memset(pk, 0, sizeof pk);
		if (i < 2 * 4096) {
			pk[0] = (unsigned char)(i / 2);
			pk[1] = (unsigned char)(i / 2 >> 8);
			pk[31] = (unsigned char)((i & 1) << 7);
		} else {
			randombytes_buf(pk, sizeof pk);
		}
		if (i == 0) {
			pk[0] = 0x98;           /* the fuzzer's key */
			pk[1] = 0xd7;
		}
		struct ed25519_key *k = ed25519_key_new(b, pk);
		int want = crypto_core_ed25519_is_valid_point(pk) == 1;

		ck_assert_msg((k != NULL) == want, "key %02x%02x...%02x: ours %d, libsodium %d",
		    pk[1], pk[0], pk[31], k != NULL, want);
		valid += want;
		free(k);
	}
	ck_assert_int_gt(valid, 100);   /* the loop did meet keys to decode */
	free(b);
}
END_TEST

START_TEST(rfc8032_vectors)
{
	static const struct { const char *pk, *msg, *sig; } v[] = {
		{ "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
		  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
		  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
		{ "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
		  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
		  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
		{ "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
		  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
		  "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
	};
	struct ed25519_base *b = ed25519_base_new();

	ck_assert_ptr_nonnull(b);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		unsigned char pk[32], sig[64], m[2];
		size_t n = strlen(v[i].msg) / 2;
		struct ed25519_key *k;

		unhex(v[i].pk, pk, 32);
		unhex(v[i].sig, sig, 64);
		unhex(v[i].msg, m, n);
		ck_assert_int_eq(theirs(pk, sig, m, n), 0);     /* the vector as copied */
		k = ed25519_key_new(b, pk);
		ck_assert_ptr_nonnull(k);
		ck_assert_int_eq(ed25519_verify(b, k, sig, m, n), 0);
		sig[5] ^= 1;
		ck_assert_int_eq(ed25519_verify(b, k, sig, m, n), -1);
		free(k);
	}
	free(b);
}
END_TEST

/* Flip bit bit of the 32 + 64 + n bytes pk || sig || m. */
static void flip(unsigned char *pk, unsigned char *sig, unsigned char *m, size_t n, size_t bit)
{
	size_t byte = bit / 8;
	unsigned char mask = (unsigned char)(1u << (bit % 8));

	if (byte < 32)
		pk[byte] ^= mask;
	else if (byte < 96)
		sig[byte - 32] ^= mask;
	else if (byte - 96 < n)
		m[byte - 96] ^= mask;
}

START_TEST(random_keys_agree)
{
	struct ed25519_base *b = ed25519_base_new();
	unsigned char pk[32], sk[64], sig[64], m[128];
	unsigned flipped_ok = 0;

	ck_assert_int_ge(sodium_init(), 0);
	for (int i = 0; i < RANDOM_KEYS; i++) {
		struct ed25519_key *k;

		crypto_sign_keypair(pk, sk);
		k = ed25519_key_new(b, pk);
		ck_assert_ptr_nonnull(k);
		for (int j = 0; j < MESSAGES_PER_KEY; j++) {
			size_t n = randombytes_uniform(sizeof m + 1), bits = (96 + n) * 8;
			unsigned char a[32];

			randombytes_buf(m, n);
			crypto_sign_detached(sig, NULL, m, n, sk);
			ck_assert_int_eq(ed25519_verify(b, k, sig, m, n), 0);
			/* one bit anywhere in A, R, S or M; a flip in S's top
			 * bits often gives S >= L, refused by both */
			memcpy(a, pk, 32);
			flip(a, sig, m, n, randombytes_uniform((uint32_t)bits));
			if (memcmp(a, pk, 32) == 0)
				ck_assert_int_eq(ed25519_verify(b, k, sig, m, n),
				    theirs(a, sig, m, n));
			else
				ck_assert_int_eq(ours(b, a, sig, m, n), theirs(a, sig, m, n));
			flipped_ok += theirs(a, sig, m, n) == 0;
		}
		free(k);
	}
	ck_assert_uint_eq(flipped_ok, 0);
	free(b);
}
END_TEST

/* S + L is the same scalar mod L: libsodium refuses it, so must we. */
START_TEST(non_canonical_s)
{
	static const unsigned char L[32] = {
		0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
		0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10 };
	struct ed25519_base *b = ed25519_base_new();
	unsigned char pk[32], sk[64], sig[64], m[] = "message";

	ck_assert_int_ge(sodium_init(), 0);
	for (int i = 0; i < 50; i++) {
		unsigned c = 0;
		struct ed25519_key *k;

		crypto_sign_keypair(pk, sk);
		crypto_sign_detached(sig, NULL, m, sizeof m, sk);
		k = ed25519_key_new(b, pk);
		ck_assert_int_eq(ed25519_verify(b, k, sig, m, sizeof m), 0);
		for (int j = 0; j < 32; j++) {          /* S += L */
			c += sig[32 + j] + L[j];
			sig[32 + j] = (unsigned char)c;
			c >>= 8;
		}
		ck_assert_int_eq(theirs(pk, sig, m, sizeof m), -1);
		ck_assert_int_eq(ed25519_verify(b, k, sig, m, sizeof m), -1);
		memset(sig + 32, 0xff, 32);             /* and the largest S */
		ck_assert_int_eq(ed25519_verify(b, k, sig, m, sizeof m), -1);
		free(k);
	}
	free(b);
}
END_TEST

/* Encodings of the points of order 1, 2, 4 and 8 (and non-canonical
 * ones, y >= p), as R and as A; each also with the sign bit set. */
START_TEST(small_order)
{
	static const char *const enc[] = {
		"0100000000000000000000000000000000000000000000000000000000000000",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	};
	struct ed25519_base *b = ed25519_base_new();
	unsigned char pk[32], sk[64], sig[64], small[32], m[] = "message";
	struct ed25519_key *k;

	ck_assert_int_ge(sodium_init(), 0);
	crypto_sign_keypair(pk, sk);
	k = ed25519_key_new(b, pk);
	for (size_t i = 0; i < sizeof enc / sizeof enc[0]; i++)
		for (int sign = 0; sign < 2; sign++) {
			unhex(enc[i], small, 32);
			small[31] |= (unsigned char)(sign << 7);
			ck_assert_ptr_null(ed25519_key_new(b, small));
			crypto_sign_detached(sig, NULL, m, sizeof m, sk);
			memcpy(sig, small, 32);
			ck_assert_int_eq(ed25519_verify(b, k, sig, m, sizeof m),
			    theirs(pk, sig, m, sizeof m));
			ck_assert_int_eq(ours(b, small, sig, m, sizeof m),
			    theirs(small, sig, m, sizeof m));
		}
	/* S = 0 and R = the neutral point: [0]B - [k]A is not it, but
	 * libsodium refuses R of small order before any arithmetic */
	memset(sig, 0, 64);
	sig[0] = 1;
	ck_assert_int_eq(ed25519_verify(b, k, sig, m, sizeof m), -1);
	free(k);
	free(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ed25519");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, rfc8032_vectors);
	tcase_add_test(tc, random_keys_agree);
	tcase_add_test(tc, non_canonical_s);
	tcase_add_test(tc, small_order);
	tcase_add_test(tc, decode_agrees);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
