/* ed25519.c — Ed25519 verification with fixed-base tables (see ed25519.h).
 *
 * The curve: -x^2 + y^2 = 1 + d x^2 y^2 over GF(p), p = 2^255 - 19,
 * d = -121665/121666, base point B with y = 4/5 and x even, prime order
 * L = 2^252 + 27742317777372353535851937790883648493 (RFC 8032 5.1).
 *
 * Field elements are five 51-bit limbs (radix 2^51): a product of two
 * fits in unsigned __int128 sums, and 2^255 = 19 (mod p) folds the top
 * half back.  Limbs are kept loosely below 2^54 between operations (sums
 * and differences are not carried), which every product tolerates.
 *
 * Points are extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, T = XY/Z
 * (Hisil, Wong, Carter, Dawson 2008); table entries are affine and stored
 * as (y+x, y-x, 2dxy), so adding one costs 8 multiplications.
 *
 * A scalar below 2^255 is written as 64 signed digits e[i] in -8..8,
 * sum e[i] 16^i; the table of a point P holds j 16^i P for j = 1..8 at
 * every position i, so [s]P is at most 64 additions of table entries
 * (a negative digit adds the negated entry) and no doubling.
 *
 * Everything here handles public values (keys, signatures, messages):
 * table lookups and branches depend on them, which is fine for verifying
 * and would not be for signing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ed25519.h"
#include "err.h"

typedef unsigned __int128 u128;
typedef uint64_t fe[5];

#define MASK51 ((UINT64_C(1) << 51) - 1)
#define POSITIONS 64    /* radix-16 digits of a 256-bit scalar */
#define MULTIPLES 8     /* |digit| <= 8 */

struct niels {
	fe ypx, ymx, xy2d;      /* y+x, y-x, 2dxy of an affine point */
};

struct pt {
	fe X, Y, Z, T;
};

struct ed25519_base {
	fe d2;                  /* 2d, for additions of two extended points */
	fe d, sqrtm1;           /* for decoding keys */
	struct niels t[POSITIONS][MULTIPLES];
};

struct ed25519_key {
	unsigned char pk[32];   /* A's encoding, hashed into every k */
	struct niels t[POSITIONS][MULTIPLES];
};

/* ------------------------------------------------------ field GF(p) */

static void fe_set(fe h, uint64_t v)
{
	h[0] = v;
	h[1] = h[2] = h[3] = h[4] = 0;
}

static void fe_copy(fe h, const fe f)
{
	memcpy(h, f, sizeof(fe));
}

static void fe_add(fe h, const fe f, const fe g)
{
	for (int i = 0; i < 5; i++)
		h[i] = f[i] + g[i];
}

/* f - g + 4p, limb by limb, so that no limb goes below zero for any g
 * with limbs under 2^53. */
static void fe_sub(fe h, const fe f, const fe g)
{
	h[0] = f[0] + UINT64_C(0x1fffffffffffb4) - g[0];
	for (int i = 1; i < 5; i++)
		h[i] = f[i] + UINT64_C(0x1ffffffffffffc) - g[i];
}

static void fe_neg(fe h, const fe f)
{
	fe z;

	fe_set(z, 0);
	fe_sub(h, z, f);
}

/* Carry r[0..5) (each below 2^115) into five limbs below 2^51 + 2^13. */
static inline __attribute__((always_inline)) void fe_carry(fe h, u128 r0, u128 r1, u128 r2,
    u128 r3, u128 r4)
{
	uint64_t c;

	r1 += (uint64_t)(r0 >> 51);
	h[0] = (uint64_t)r0 & MASK51;
	r2 += (uint64_t)(r1 >> 51);
	h[1] = (uint64_t)r1 & MASK51;
	r3 += (uint64_t)(r2 >> 51);
	h[2] = (uint64_t)r2 & MASK51;
	r4 += (uint64_t)(r3 >> 51);
	h[3] = (uint64_t)r3 & MASK51;
	c = (uint64_t)(r4 >> 51);
	h[4] = (uint64_t)r4 & MASK51;
	h[0] += c * 19;         /* 2^255 = 19 */
	h[1] += h[0] >> 51;
	h[0] &= MASK51;
}

static void fe_mul(fe h, const fe f, const fe g)
{
	uint64_t g1 = 19 * g[1], g2 = 19 * g[2], g3 = 19 * g[3], g4 = 19 * g[4];

	fe_carry(h,
	    (u128)f[0] * g[0] + (u128)f[1] * g4 + (u128)f[2] * g3 + (u128)f[3] * g2 + (u128)f[4] * g1,
	    (u128)f[0] * g[1] + (u128)f[1] * g[0] + (u128)f[2] * g4 + (u128)f[3] * g3 + (u128)f[4] * g2,
	    (u128)f[0] * g[2] + (u128)f[1] * g[1] + (u128)f[2] * g[0] + (u128)f[3] * g4 + (u128)f[4] * g3,
	    (u128)f[0] * g[3] + (u128)f[1] * g[2] + (u128)f[2] * g[1] + (u128)f[3] * g[0] + (u128)f[4] * g4,
	    (u128)f[0] * g[4] + (u128)f[1] * g[3] + (u128)f[2] * g[2] + (u128)f[3] * g[1] + (u128)f[4] * g[0]);
}

static void fe_sq(fe h, const fe f)
{
	uint64_t d0 = 2 * f[0], d1 = 2 * f[1], f3_19 = 19 * f[3], f4_19 = 19 * f[4];

	fe_carry(h,
	    (u128)f[0] * f[0] + (u128)d1 * f4_19 + (u128)(2 * f[2]) * f3_19,
	    (u128)d0 * f[1] + (u128)f[3] * f3_19 + (u128)(2 * f[2]) * f4_19,
	    (u128)d0 * f[2] + (u128)f[1] * f[1] + (u128)(2 * f[3]) * f4_19,
	    (u128)d0 * f[3] + (u128)d1 * f[2] + (u128)f[4] * f4_19,
	    (u128)d0 * f[4] + (u128)d1 * f[3] + (u128)f[2] * f[2]);
}

static void fe_sqn(fe h, const fe f, int n)
{
	fe_sq(h, f);
	while (--n > 0)
		fe_sq(h, h);
}

/* z^(2^250 - 1) into t250, and z^11 into z11: the common start of
 * inversion and square root. */
static void fe_pow250(fe t250, fe z11, const fe z)
{
	fe z2, z9, a, b, c;

	fe_sq(z2, z);
	fe_sqn(a, z2, 2);               /* z^8 */
	fe_mul(z9, a, z);
	fe_mul(z11, z9, z2);
	fe_sq(a, z11);                  /* z^22 */
	fe_mul(a, a, z9);               /* z^(2^5 - 1) */
	fe_sqn(b, a, 5);
	fe_mul(a, b, a);                /* 2^10 - 1 */
	fe_sqn(b, a, 10);
	fe_mul(b, b, a);                /* 2^20 - 1 */
	fe_sqn(c, b, 20);
	fe_mul(c, c, b);                /* 2^40 - 1 */
	fe_sqn(c, c, 10);
	fe_mul(a, c, a);                /* 2^50 - 1 */
	fe_sqn(b, a, 50);
	fe_mul(b, b, a);                /* 2^100 - 1 */
	fe_sqn(c, b, 100);
	fe_mul(c, c, b);                /* 2^200 - 1 */
	fe_sqn(c, c, 50);
	fe_mul(t250, c, a);             /* 2^250 - 1 */
}

/* 1/z = z^(p - 2) = z^(2^255 - 21); 0 for 0. */
static void fe_invert(fe h, const fe z)
{
	fe t, z11;

	fe_pow250(t, z11, z);
	fe_sqn(t, t, 5);                /* 2^255 - 32 */
	fe_mul(h, t, z11);
}

/* z^((p - 5) / 8) = z^(2^252 - 3), for square roots. */
static void fe_pow22523(fe h, const fe z)
{
	fe t, z11;

	fe_pow250(t, z11, z);
	fe_sqn(t, t, 2);                /* 2^252 - 4 */
	fe_mul(h, t, z);
}

/* The canonical 32 bytes (value mod p, little-endian). */
static void fe_tobytes(unsigned char s[32], const fe f)
{
	uint64_t h[5], q;

	fe_copy(h, f);
	for (int round = 0; round < 3; round++) {       /* three: every limb below 2^51 */
		for (int i = 0; i < 4; i++) {
			h[i + 1] += h[i] >> 51;
			h[i] &= MASK51;
		}
		h[0] += 19 * (h[4] >> 51);
		h[4] &= MASK51;
	}
	/* h < 2^255 now; h >= p exactly when h + 19 carries out of 2^255 */
	q = (h[0] + 19) >> 51;
	for (int i = 1; i < 5; i++)
		q = (h[i] + q) >> 51;
	h[0] += 19 * q;
	for (int i = 0; i < 4; i++) {
		h[i + 1] += h[i] >> 51;
		h[i] &= MASK51;
	}
	h[4] &= MASK51;
	uint64_t w[4] = { h[0] | h[1] << 51, h[1] >> 13 | h[2] << 38, h[2] >> 26 | h[3] << 25,
		h[3] >> 39 | h[4] << 12 };
	for (int i = 0; i < 32; i++)
		s[i] = (unsigned char)(w[i / 8] >> (8 * (i % 8)));
}

/* The low 255 bits of s (the sign bit of a point is the caller's). */
static void fe_frombytes(fe h, const unsigned char s[32])
{
	uint64_t w[4] = { 0 };

	for (int i = 0; i < 32; i++)
		w[i / 8] |= (uint64_t)s[i] << (8 * (i % 8));
	h[0] = w[0] & MASK51;
	h[1] = (w[0] >> 51 | w[1] << 13) & MASK51;
	h[2] = (w[1] >> 38 | w[2] << 26) & MASK51;
	h[3] = (w[2] >> 25 | w[3] << 39) & MASK51;
	h[4] = (w[3] >> 12) & MASK51;
}

static int fe_iszero(const fe f)
{
	unsigned char s[32], z = 0;

	fe_tobytes(s, f);
	for (int i = 0; i < 32; i++)
		z |= s[i];
	return z == 0;
}

static int fe_isodd(const fe f)
{
	unsigned char s[32];

	fe_tobytes(s, f);
	return s[0] & 1;
}

/* ------------------------------------------------------------ points */

static void pt_zero(struct pt *p)
{
	fe_set(p->X, 0);
	fe_set(p->Y, 1);
	fe_set(p->Z, 1);
	fe_set(p->T, 0);
}

/* r = p + q, both extended (add-2008-hwcd-3, a = -1, k = 2d). */
static void pt_add(struct pt *r, const struct pt *p, const struct pt *q, const fe d2)
{
	fe a, b, c, d, e, f, g, h;

	fe_sub(a, p->Y, p->X);
	fe_sub(b, q->Y, q->X);
	fe_mul(a, a, b);
	fe_add(b, p->Y, p->X);
	fe_add(c, q->Y, q->X);
	fe_mul(b, b, c);
	fe_mul(c, p->T, q->T);
	fe_mul(c, c, d2);
	fe_mul(d, p->Z, q->Z);
	fe_add(d, d, d);
	fe_sub(e, b, a);
	fe_sub(f, d, c);
	fe_add(g, d, c);
	fe_add(h, b, a);
	fe_mul(r->X, e, f);
	fe_mul(r->Y, g, h);
	fe_mul(r->T, e, h);
	fe_mul(r->Z, f, g);
}

/* r = 2p (dbl-2008-hwcd, a = -1, signs folded). */
static void pt_dbl(struct pt *r, const struct pt *p)
{
	fe a, b, c, e, f, g, h;

	fe_sq(a, p->X);
	fe_sq(b, p->Y);
	fe_sq(c, p->Z);
	fe_add(c, c, c);
	fe_add(h, a, b);
	fe_add(e, p->X, p->Y);
	fe_sq(e, e);
	fe_sub(e, h, e);        /* -2xy */
	fe_sub(g, a, b);        /* x^2 - y^2 */
	fe_add(f, c, g);
	fe_mul(r->X, e, f);
	fe_mul(r->Y, g, h);
	fe_mul(r->T, e, h);
	fe_mul(r->Z, f, g);
}

/* p += q or p -= q (neg), q affine in niels form: 8 multiplications. */
static void pt_madd(struct pt *p, const struct niels *q, int neg)
{
	fe a, b, c, d, e, f, g, h;

	fe_sub(a, p->Y, p->X);
	fe_mul(a, a, neg ? q->ypx : q->ymx);    /* -q swaps y+x and y-x */
	fe_add(b, p->Y, p->X);
	fe_mul(b, b, neg ? q->ymx : q->ypx);
	fe_mul(c, p->T, q->xy2d);               /* and negates 2dxy */
	fe_add(d, p->Z, p->Z);
	fe_sub(e, b, a);
	fe_add(h, b, a);
	if (neg) {
		fe_add(f, d, c);
		fe_sub(g, d, c);
	} else {
		fe_sub(f, d, c);
		fe_add(g, d, c);
	}
	fe_mul(p->X, e, f);
	fe_mul(p->Y, g, h);
	fe_mul(p->T, e, h);
	fe_mul(p->Z, f, g);
}

static void pt_encode(unsigned char s[32], const struct pt *p)
{
	fe zi, x, y;

	fe_invert(zi, p->Z);
	fe_mul(x, p->X, zi);
	fe_mul(y, p->Y, zi);
	fe_tobytes(s, y);
	s[31] |= (unsigned char)(fe_isodd(x) << 7);
}

/* RFC 8032 5.1.3: x from y and the sign bit; -1 if there is none. */
static int pt_decode(struct pt *p, const unsigned char s[32], const struct ed25519_base *b)
{
	fe u, v, v3, t, x, chk;

	fe_frombytes(p->Y, s);
	fe_set(p->Z, 1);
	fe_sq(u, p->Y);
	fe_mul(v, u, b->d);
	fe_set(t, 1);
	fe_sub(u, u, t);                /* u = y^2 - 1 */
	fe_add(v, v, t);                /* v = d y^2 + 1 */
	/* u's limbs now reach 2^53 + 2^51: back to canonical limbs, or the
	 * v x^2 - u and -u below would take a limb below zero (fe_sub wants
	 * its second operand's limbs under 2^53) */
	unsigned char ub[32];
	fe_tobytes(ub, u);
	fe_frombytes(u, ub);
	fe_sq(v3, v);
	fe_mul(v3, v3, v);              /* v^3 */
	fe_sq(x, v3);
	fe_mul(x, x, v);
	fe_mul(x, x, u);                /* u v^7 */
	fe_pow22523(x, x);
	fe_mul(x, x, v3);
	fe_mul(x, x, u);                /* x = u v^3 (u v^7)^((p-5)/8) */
	fe_sq(chk, x);
	fe_mul(chk, chk, v);            /* v x^2 */
	fe_sub(t, chk, u);
	if (!fe_iszero(t)) {
		fe_add(t, chk, u);
		if (!fe_iszero(t))
			return -1;      /* u/v is not a square */
		fe_mul(x, x, b->sqrtm1);
	}
	if (fe_iszero(x) && (s[31] >> 7))
		return -1;
	if (fe_isodd(x) != (s[31] >> 7))
		fe_neg(x, x);
	fe_copy(p->X, x);
	fe_mul(p->T, x, p->Y);
	return 0;
}

/* The table of P: j 16^i P for i < 64, j = 1..8, made affine with one
 * inversion for all 512 (Montgomery's trick). */
static void table_make(struct niels t[POSITIONS][MULTIPLES], const struct pt *p, const fe d2,
    const fe d)
{
	enum { N = POSITIONS * MULTIPLES };
	struct pt *m = xcalloc(N, sizeof *m), base = *p;
	fe *pre = xcalloc(N, sizeof *pre), inv, zi, x, y;

	for (int i = 0; i < POSITIONS; i++) {
		struct pt *row = m + i * MULTIPLES;

		row[0] = base;
		for (int j = 1; j < MULTIPLES; j++)
			pt_add(&row[j], &row[j - 1], &base, d2);
		pt_dbl(&base, &row[MULTIPLES - 1]);     /* 16^(i+1) P = 2 (8 16^i P) */
	}
	fe_copy(pre[0], m[0].Z);
	for (int k = 1; k < N; k++)
		fe_mul(pre[k], pre[k - 1], m[k].Z);
	fe_invert(inv, pre[N - 1]);
	for (int k = N - 1; k >= 0; k--) {
		struct niels *e = &t[k / MULTIPLES][k % MULTIPLES];

		if (k > 0) {
			fe_mul(zi, inv, pre[k - 1]);    /* 1/Z[k] */
			fe_mul(inv, inv, m[k].Z);       /* 1/(Z[0]..Z[k-1]) */
		} else {
			fe_copy(zi, inv);
		}
		fe_mul(x, m[k].X, zi);
		fe_mul(y, m[k].Y, zi);
		fe_add(e->ypx, y, x);
		fe_sub(e->ymx, y, x);
		fe_mul(e->xy2d, x, y);
		fe_mul(e->xy2d, e->xy2d, d);
		fe_add(e->xy2d, e->xy2d, e->xy2d);
	}
	free(m);
	free(pre);
}

/* ---------------------------------------------------------- scalars */

/* L, little-endian (RFC 8032 5.1). */
static const unsigned char order[32] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10
};

static int below_order(const unsigned char s[32])
{
	for (int i = 31; i >= 0; i--)
		if (s[i] != order[i])
			return s[i] < order[i];
	return 0;
}

/* s (below 2^255) as 64 signed digits in -8..8. */
static void digits(signed char e[POSITIONS], const unsigned char s[32])
{
	int carry = 0;

	for (int i = 0; i < 32; i++) {
		e[2 * i] = (signed char)(s[i] & 15);
		e[2 * i + 1] = (signed char)(s[i] >> 4);
	}
	for (int i = 0; i < POSITIONS - 1; i++) {
		e[i] = (signed char)(e[i] + carry);
		carry = (e[i] + 8) >> 4;
		e[i] = (signed char)(e[i] - carry * 16);
	}
	e[POSITIONS - 1] = (signed char)(e[POSITIONS - 1] + carry);
}

/* p += [sign s] of the table's point. */
static void add_multiple(struct pt *p, const struct niels t[POSITIONS][MULTIPLES],
    const unsigned char s[32], int negate)
{
	signed char e[POSITIONS];

	digits(e, s);
	for (int i = 0; i < POSITIONS; i++)
		if (e[i] != 0)
			pt_madd(p, &t[i][abs(e[i]) - 1], (e[i] < 0) != negate);
}

/* ------------------------------------------------------------ public */

struct ed25519_base *ed25519_base_new(void)
{
	struct ed25519_base *b = xcalloc(1, sizeof *b);
	fe t, y;
	unsigned char s[32];
	struct pt B;

	fe_set(b->d, 121666);                   /* d = -121665 / 121666 */
	fe_invert(b->d, b->d);
	fe_set(t, 121665);
	fe_mul(b->d, b->d, t);
	fe_neg(b->d, b->d);
	fe_add(b->d2, b->d, b->d);
	fe_set(t, 2);                           /* sqrt(-1) = 2^((p-1)/4) */
	fe_pow22523(b->sqrtm1, t);              /* 2^(2^252 - 3) */
	fe_sq(b->sqrtm1, b->sqrtm1);
	fe_mul(b->sqrtm1, b->sqrtm1, t);        /* 2^(2^253 - 5) */
	fe_set(t, 5);                           /* B: y = 4/5, x even */
	fe_invert(y, t);
	fe_set(t, 4);
	fe_mul(y, y, t);
	fe_tobytes(s, y);
	if (pt_decode(&B, s, b) < 0) {          /* cannot happen: y = 4/5 is on the curve */
		free(b);
		return NULL;
	}
	table_make(b->t, &B, b->d2, b->d);
	return b;
}

struct ed25519_key *ed25519_key_new(const struct ed25519_base *b, const unsigned char pk[32])
{
	struct ed25519_key *k;
	struct pt A;

	if (!b || sodium_init() < 0 || crypto_core_ed25519_is_valid_point(pk) != 1 ||
	    pt_decode(&A, pk, b) < 0)
		return NULL;
	k = xcalloc(1, sizeof *k);
	memcpy(k->pk, pk, 32);
	table_make(k->t, &A, b->d2, b->d);
	return k;
}

int ed25519_verify(const struct ed25519_base *b, const struct ed25519_key *k,
    const unsigned char sig[64], const unsigned char *msg, size_t n)
{
	static const unsigned char neutral[32] = { 1 };
	crypto_hash_sha512_state hs;
	unsigned char h[64], kred[32], got[32];
	struct pt r;

	/* S below L (no malleable S + L); R not the neutral point, the one
	 * small-order point that [S]B - [k]A can be when A has prime order
	 * (libsodium refuses R of small order) */
	if (!below_order(sig + 32) || memcmp(sig, neutral, 32) == 0)
		return -1;
	crypto_hash_sha512_init(&hs);
	crypto_hash_sha512_update(&hs, sig, 32);
	crypto_hash_sha512_update(&hs, k->pk, 32);
	crypto_hash_sha512_update(&hs, msg, n);
	crypto_hash_sha512_final(&hs, h);
	crypto_core_ed25519_scalar_reduce(kred, h);
	pt_zero(&r);
	add_multiple(&r, b->t, sig + 32, 0);
	add_multiple(&r, k->t, kred, 1);
	pt_encode(got, &r);
	return memcmp(got, sig, 32) == 0 ? 0 : -1;
}
