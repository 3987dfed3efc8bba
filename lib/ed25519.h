/* ed25519.h — Ed25519 signature verification (RFC 8032 5.1.7) with
 * per-key precomputation, for a verifier that checks many signatures made
 * by few keys (mailauth verify over a mailbox, smtpd over a day's mail).
 *
 * Why: libsodium's crypto_sign_verify_detached costs some 46 us here, and
 * it was more than half of what mailauth spent on a message.  Verification
 * handles public data only, so it may take variable time: with the key's
 * multiples of A and the base point's multiples of B laid out in tables
 * once, [S]B - [k]A takes about 128 point additions and no doublings.
 *
 * Signing stays on libsodium.  A key this code does not take (not a
 * canonical point of the prime-order subgroup, crypto_core_ed25519_is_
 * valid_point) is refused by ed25519_key_new: the caller then verifies
 * with libsodium, whose verdicts ed25519_verify gives on the keys it does
 * take (tests/unit/test_ed25519.c compares them).
 *
 * Ownership: ed25519_key_new and ed25519_base_new return tables the caller
 * frees with free(). */
#ifndef ML_ED25519_H
#define ML_ED25519_H

#include <stddef.h>

struct ed25519_base;    /* the multiples of B: one per process, some 60 KB */
struct ed25519_key;     /* the multiples of one key's A, some 60 KB */

struct ed25519_base *ed25519_base_new(void);
/* NULL if pk is not a point this code takes (see above). */
struct ed25519_key *ed25519_key_new(const struct ed25519_base *b, const unsigned char pk[32]);
/* 0 if sig[0..64) is a valid signature of msg[0..n) by k, else -1:
 * S must be below L, R not the neutral point, and the encoding of
 * [S]B - [SHA-512(R || A || M) mod L]A equal to R's 32 bytes. */
int ed25519_verify(const struct ed25519_base *b, const struct ed25519_key *k,
    const unsigned char sig[64], const unsigned char *msg, size_t n);

#endif
