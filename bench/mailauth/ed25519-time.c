/* bench/mailauth/ed25519-time.c — microseconds per Ed25519 verification,
 * libsodium's crypto_sign_verify_detached against lib/ed25519.c with one
 * key's tables made once (as mailauth's key cache does); also what making
 * the tables costs.  Built and run by bench/mailauth/run; not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sodium.h>

#include "ed25519.h"

#define ROUNDS 20000

const char *const progname = "ed25519-time";

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
	unsigned char pk[32], sk[64], sig[64], m[32] = "a DKIM header hash, 32 bytes...";
	struct ed25519_base *b;
	struct ed25519_key *k = NULL;
	double t0, t1, t2, t3;
	int bad = 0;

	if (sodium_init() < 0)
		return 1;
	crypto_sign_keypair(pk, sk);
	crypto_sign_detached(sig, NULL, m, sizeof m, sk);
	t0 = now();
	for (int i = 0; i < ROUNDS; i++)
		bad |= crypto_sign_verify_detached(sig, m, sizeof m, pk);
	t1 = now();
	b = ed25519_base_new();
	for (int i = 0; i < 100; i++) {
		free(k);
		k = ed25519_key_new(b, pk);
	}
	t2 = now();
	for (int i = 0; i < ROUNDS; i++)
		bad |= ed25519_verify(b, k, sig, m, sizeof m);
	t3 = now();
	printf("ed25519 verify, us each: libsodium %.1f, lib/ed25519.c %.1f (%.1fx); "
	    "a key's tables %.0f us once\n", (t1 - t0) * 1e6 / ROUNDS, (t3 - t2) * 1e6 / ROUNDS,
	    (t1 - t0) / (t3 - t2), (t2 - t1) * 1e6 / 100);
	free(k);
	free(b);
	return bad != 0;
}
