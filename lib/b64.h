/* b64.h — base64 (RFC 4648 section 4; RFC 2045 section 6.8), streaming.
 *
 * The encoder wraps lines at a given width (MIME: 76) and can end lines
 * with LF or CRLF.  The decoder is strict (only line ends may appear
 * between characters; padding must be right, though another padded
 * quantum may follow, so concatenated encodings decode as coreutils does) or
 * lenient (every character outside the alphabet is skipped, as RFC 2045
 * asks of MIME readers, and a truncated tail is decoded as far as it goes). */
#ifndef ML_B64_H
#define ML_B64_H

#include <stddef.h>
#include <sys/types.h>

struct b64_enc {
	size_t wrap;            /* columns per line, 0: one line */
	size_t col;             /* characters on the current line */
	int    crlf;            /* end lines with CRLF instead of LF */
	unsigned char hold[3];  /* input bytes waiting for a full group */
	size_t nhold;
};

void b64_enc_init(struct b64_enc *e, size_t wrap, int crlf);
/* Most bytes b64_enc_update (or _final) can write for n input bytes. */
size_t b64_enc_bound(const struct b64_enc *e, size_t n);
/* Encode n bytes into out (room: b64_enc_bound); return bytes written. */
size_t b64_enc_update(struct b64_enc *e, const void *in, size_t n, char *out);
/* Flush the last group with padding and, when wrapping, end the last line
 * (nothing at all for empty input, as coreutils does). */
size_t b64_enc_final(struct b64_enc *e, char *out);

struct b64_dec {
	unsigned long acc;      /* bits of the current quantum */
	int    n;               /* characters in the current quantum (0..3) */
	int    pad;             /* '=' seen in this quantum */
	int    lenient;
	unsigned long long off; /* input offset, for error messages */
	const char *err;        /* why decoding failed, static text */
	unsigned long long erroff;  /* where */
	size_t errout;          /* bytes written to out before the error (as
	                         * coreutils, with those of a partial quantum) */
};

void b64_dec_init(struct b64_dec *d, int lenient);
/* Decode n characters into out (room: n / 4 * 3 + 3).  Return the number of
 * bytes written, or -1 with d->err, d->erroff and d->errout set (strict
 * mode only): out[0..errout) is what the input decodes to up to the error. */
ssize_t b64_dec_update(struct b64_dec *d, const char *in, size_t n, unsigned char *out);
/* End of input: write what a lenient decoder can still make of a partial
 * quantum (at most 2 bytes); strict mode fails on a partial quantum, with
 * those bytes in out[0..errout). */
ssize_t b64_dec_final(struct b64_dec *d, unsigned char *out);

/* One-shot helpers for short strings (SASL, RFC 2047).  b64_encode writes
 * 4 * ceil(n/3) characters plus NUL, no line breaks.  b64_decode is strict,
 * accepts no white space at all, NUL-terminates, and returns the length or
 * -1; out needs n / 4 * 3 + 3 bytes. */
size_t b64_encode(const void *in, size_t n, char *out);
ssize_t b64_decode(const char *in, size_t n, unsigned char *out);

#endif
