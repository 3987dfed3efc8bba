/* b64.c — streaming base64 codec (see b64.h).
 *
 * Speed matters here (mimecat decodes attachments at codec speed), so both
 * directions have a fast path: the encoder turns whole 76-column lines at a
 * time into output with no per-character bookkeeping, and the decoder takes
 * four alphabet characters at once and falls back to the byte-at-a-time
 * state machine only at line ends, padding and garbage. */
#include <string.h>

#include "b64.h"

static const char alphabet[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

enum { D_PAD = 0x40, D_EOL = 0x80, D_BAD = 0xff };

/* value of each input byte: 0..63, P (pad '='), E (CR, LF) or X (bad) */
#define P D_PAD
#define E D_EOL
#define X D_BAD
static const unsigned char dtab[256] = {
	X, X, X, X, X, X, X, X, X, X, E, X, X, E, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, 62, X, X, X, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, P, X, X,
	X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, X,
	X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
};
#undef P
#undef E
#undef X

void b64_enc_init(struct b64_enc *e, size_t wrap, int crlf)
{
	memset(e, 0, sizeof *e);
	e->wrap = wrap;
	e->crlf = crlf;
}

size_t b64_enc_bound(const struct b64_enc *e, size_t n)
{
	size_t chars = (n + e->nhold + 2) / 3 * 4 + 4;

	if (e->wrap)
		chars += (chars / e->wrap + 2) * 2;
	return chars;
}

static inline void enc3(const unsigned char *s, char *d)
{
	d[0] = alphabet[s[0] >> 2];
	d[1] = alphabet[((s[0] & 3) << 4) | (s[1] >> 4)];
	d[2] = alphabet[((s[1] & 15) << 2) | (s[2] >> 6)];
	d[3] = alphabet[s[2] & 63];
}

static size_t put_eol(const struct b64_enc *e, char *d)
{
	if (e->crlf) {
		d[0] = '\r';
		d[1] = '\n';
		return 2;
	}
	d[0] = '\n';
	return 1;
}

/* Emit one character, wrapping when the line is full (slow path). */
static size_t put_char(struct b64_enc *e, char c, char *d)
{
	size_t k = 0;

	if (e->wrap && e->col == e->wrap) {
		k = put_eol(e, d);
		e->col = 0;
	}
	d[k++] = c;
	e->col++;
	return k;
}

static size_t put_group(struct b64_enc *e, const unsigned char *s, char *d)
{
	char g[4];
	size_t k = 0;

	enc3(s, g);
	for (int i = 0; i < 4; i++)
		k += put_char(e, g[i], d + k);
	return k;
}

size_t b64_enc_update(struct b64_enc *e, const void *in, size_t n, char *out)
{
	const unsigned char *s = in;
	char *d = out;

	if (e->nhold > 0) {
		while (e->nhold < 3 && n > 0) {
			e->hold[e->nhold++] = *s++;
			n--;
		}
		if (e->nhold < 3)
			return 0;
		d += put_group(e, e->hold, d);
		e->nhold = 0;
	}

	if (e->wrap % 4 == 0) {
		/* Fast path: whole groups up to the end of each line. */
		while (n >= 3) {
			size_t groups = n / 3;

			if (e->wrap) {
				if (e->col == e->wrap) {
					d += put_eol(e, d);
					e->col = 0;
				}
				if (groups > (e->wrap - e->col) / 4)
					groups = (e->wrap - e->col) / 4;
				e->col += groups * 4;
			}
			for (size_t i = 0; i < groups; i++, s += 3, d += 4)
				enc3(s, d);
			n -= groups * 3;
		}
	} else {
		for (; n >= 3; s += 3, n -= 3)
			d += put_group(e, s, d);
	}
	memcpy(e->hold, s, n);
	e->nhold = n;
	return (size_t)(d - out);
}

size_t b64_enc_final(struct b64_enc *e, char *out)
{
	size_t k = 0;

	if (e->nhold) {
		unsigned char t[3] = { 0, 0, 0 };
		char g[4];

		memcpy(t, e->hold, e->nhold);
		enc3(t, g);
		if (e->nhold == 1)
			g[2] = '=';
		g[3] = '=';
		for (int i = 0; i < 4; i++)
			k += put_char(e, g[i], out + k);
		e->nhold = 0;
	}
	if (e->wrap && e->col > 0)
		k += put_eol(e, out + k);
	e->col = 0;
	return k;
}

void b64_dec_init(struct b64_dec *d, int lenient)
{
	memset(d, 0, sizeof *d);
	d->lenient = lenient;
}

static ssize_t dec_fail(struct b64_dec *d, const char *why, unsigned long long off)
{
	d->err = why;
	d->erroff = off;
	return -1;
}

/* One character through the state machine; return bytes written to o. */
static ssize_t dec_slow(struct b64_dec *d, unsigned char c, unsigned char *o)
{
	unsigned v = dtab[c];
	unsigned long long at = d->off;

	if (v == D_EOL)
		return 0;
	if (v == D_BAD)
		return d->lenient ? 0 : dec_fail(d, "invalid character", at);
	if (v == D_PAD) {
		if (d->n < 2)
			return d->lenient ? 0 : dec_fail(d, "misplaced padding", at);
		d->pad++;
		if (d->n + d->pad == 4) {
			ssize_t k = d->n - 1;  /* 2 chars -> 1 byte, 3 -> 2 */

			o[0] = (unsigned char)(d->acc >> (d->n == 2 ? 4 : 10));
			if (k == 2)
				o[1] = (unsigned char)(d->acc >> 2);
			d->n = d->pad = 0;
			d->acc = 0;
			return k;      /* a new quantum may follow: "YQ==YQ==" is "aa" */
		}
		return 0;
	}
	if (d->pad)
		return d->lenient ? 0 : dec_fail(d, "data after padding", at);
	d->acc = (d->acc << 6) | v;
	if (++d->n < 4)
		return 0;
	o[0] = (unsigned char)(d->acc >> 16);
	o[1] = (unsigned char)(d->acc >> 8);
	o[2] = (unsigned char)d->acc;
	d->n = 0;
	d->acc = 0;
	return 3;
}

ssize_t b64_dec_update(struct b64_dec *d, const char *in, size_t n, unsigned char *out)
{
	const unsigned char *s = (const unsigned char *)in, *end = s + n;
	unsigned char *o = out;

	while (s < end) {
		/* Fast path: aligned quantum of four alphabet characters. */
		if (d->n == 0) {
			while (end - s >= 4) {
				unsigned a = dtab[s[0]], b = dtab[s[1]], c = dtab[s[2]], e = dtab[s[3]];

				if ((a | b | c | e) & 0xc0)
					break;
				unsigned long v = (unsigned long)a << 18 | b << 12 | c << 6 | e;
				o[0] = (unsigned char)(v >> 16);
				o[1] = (unsigned char)(v >> 8);
				o[2] = (unsigned char)v;
				o += 3;
				s += 4;
				d->off += 4;
			}
			if (s == end)
				break;
		}
		ssize_t k = dec_slow(d, *s, o);
		if (k < 0)
			return -1;
		o += k;
		s++;
		d->off++;
	}
	return o - out;
}

ssize_t b64_dec_final(struct b64_dec *d, unsigned char *out)
{
	ssize_t k = 0;

	if (d->n == 0)
		return 0;
	if (!d->lenient)
		return dec_fail(d, "truncated input", d->off);
	if (d->n >= 2) {    /* missing padding: decode what is there */
		out[0] = (unsigned char)(d->acc >> (d->n == 2 ? 4 : 10));
		k = 1;
		if (d->n == 3)
			out[k++] = (unsigned char)(d->acc >> 2);
	}
	d->n = 0;
	return k;
}

size_t b64_encode(const void *in, size_t n, char *out)
{
	struct b64_enc e;
	size_t k;

	b64_enc_init(&e, 0, 0);
	k = b64_enc_update(&e, in, n, out);
	k += b64_enc_final(&e, out + k);
	out[k] = '\0';
	return k;
}

ssize_t b64_decode(const char *in, size_t n, unsigned char *out)
{
	struct b64_dec d;
	ssize_t k, f;

	if (memchr(in, '\r', n) || memchr(in, '\n', n))
		return -1;
	b64_dec_init(&d, 0);
	k = b64_dec_update(&d, in, n, out);
	if (k < 0)
		return -1;
	f = b64_dec_final(&d, out + k);
	if (f < 0)
		return -1;
	out[k + f] = '\0';
	return k + f;
}
