/* fuzz_ed25519 — libFuzzer harness for lib/ed25519.c against libsodium's
 * crypto_sign_verify_detached: the two verdicts must be the same.
 *
 * Input: a mode byte, then
 *   mode even: a 32-byte seed, 96 bytes XORed into pk || sig after
 *     signing, and the message: a real signature, bent where the input
 *     says (all zero: it must verify);
 *   mode odd: pk (32), sig (64) and the message as given.
 * A key lib/ed25519.c refuses must be one libsodium's
 * crypto_core_ed25519_is_valid_point refuses too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ed25519.h"

const char *const progname = "fuzz_ed25519";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ed25519_base *base;       /* B's tables, once per process */
	unsigned char pk[32], sk[64], sig[64];
	const unsigned char *m;
	struct ed25519_key *k;
	size_t n, bent = 0;
	int want, got;

	if (size < 1 + 96 || sodium_init() < 0)
		return 0;
	if (!base)
		base = ed25519_base_new();
	if (data[0] % 2 == 0) {
		if (size < 1 + 32 + 96)
			return 0;
		m = data + 1 + 32 + 96;
		n = size - 1 - 32 - 96;
		crypto_sign_seed_keypair(pk, sk, data + 1);
		crypto_sign_detached(sig, NULL, m, n, sk);
		for (size_t i = 0; i < 96; i++) {
			bent |= data[1 + 32 + i];
			if (i < 32)
				pk[i] ^= data[1 + 32 + i];
			else
				sig[i - 32] ^= data[1 + 32 + i];
		}
	} else {
		memcpy(pk, data + 1, 32);
		memcpy(sig, data + 33, 64);
		m = data + 97;
		n = size - 97;
		bent = 1;
	}
	want = crypto_sign_verify_detached(sig, m, n, pk) == 0 ? 0 : -1;
	k = ed25519_key_new(base, pk);
	CHECK((k != NULL) == (crypto_core_ed25519_is_valid_point(pk) == 1));
	if (!k)
		return 0;       /* the caller verifies with libsodium: same verdict */
	got = ed25519_verify(base, k, sig, m, n);
	CHECK(got == want);
	CHECK(bent || got == 0);
	free(k);
	return 0;
}
