/* qp.h — quoted-printable (RFC 2045 section 6.7), streaming.
 *
 * Text mode: a line break in the input (LF or CRLF) is a hard line break of
 * the encoding; binary mode encodes CR and LF as =0D and =0A, so any byte
 * string survives.  Encoded lines are at most 76 characters, soft break '='
 * included; white space before a line end is encoded; '=', control and
 * 8-bit bytes are encoded; a line starting "From " or "." has that first
 * character encoded, so the text passes mbox and SMTP unchanged. */
#ifndef ML_QP_H
#define ML_QP_H

#include <stddef.h>
#include <sys/types.h>

#define QP_PEND_MAX 80          /* encoder: input bytes held for lookahead */
#define QP_WS_MAX 1000          /* decoder: blanks held until we know they are not
                                   trailing (a line is at most 998, RFC 5322 2.1.1) */

struct qp_enc {
	int    binary;
	int    crlf;                /* output line ends: CRLF, else LF */
	size_t col;                 /* characters on the current output line */
	unsigned char pend[QP_PEND_MAX]; /* input of the current line not yet encoded */
	size_t npend;
};

void qp_enc_init(struct qp_enc *e, int binary, int crlf);
/* Most bytes qp_enc_update / qp_enc_final write for n input bytes. */
size_t qp_enc_bound(size_t n);
size_t qp_enc_update(struct qp_enc *e, const void *in, size_t n, char *out);
size_t qp_enc_final(struct qp_enc *e, char *out);

enum { QD_TEXT, QD_EQ, QD_EQ1, QD_EQWS, QD_CR, QD_EQCR };

struct qp_dec {
	int    state;
	int    lenient;             /* keep bad '=' sequences as they are */
	int    crlf;                /* output line ends: CRLF, else LF */
	int    hex;                 /* first digit of =XX, or its character */
	size_t nws;                 /* pending white space (may be trailing) */
	char   ws[QP_WS_MAX];
	unsigned long long off;
	const char *err;
	unsigned long long erroff;
};

void qp_dec_init(struct qp_dec *d, int lenient, int crlf);
/* Decode n bytes into out (room: qp_dec_bound(n)).  Return bytes written,
 * or -1 with d->err and d->erroff set (strict mode only). */
size_t qp_dec_bound(size_t n);
ssize_t qp_dec_update(struct qp_dec *d, const char *in, size_t n, char *out);
ssize_t qp_dec_final(struct qp_dec *d, char *out);

#endif
