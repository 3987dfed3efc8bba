/* qp.c — streaming quoted-printable codec (see qp.h).
 *
 * The encoder must look ahead: a space is literal unless a line end follows
 * it, and a character may stay on a full line only if the line ends right
 * after it.  So it keeps the current input line in pend[] until it sees the
 * line end, or until pend[] is full, when it encodes all but the last byte
 * (which is never the last one of its line and so needs no lookahead). */
#include <string.h>

#include "limits.h"
#include "qp.h"

static const char hexdig[] = "0123456789ABCDEF";

void qp_enc_init(struct qp_enc *e, int binary, int crlf)
{
	memset(e, 0, sizeof *e);
	e->binary = binary;
	e->crlf = crlf;
}

size_t qp_enc_bound(size_t n)
{
	/* 3 chars per byte, a soft break (up to 3) every 25 input bytes, plus
	 * what is pending from earlier calls. */
	size_t m = n + QP_PEND_MAX;

	return m * 3 + (m / 25 + 2) * 3 + 4;
}

static size_t eol(const struct qp_enc *e, char *d)
{
	if (e->crlf) {
		d[0] = '\r';
		d[1] = '\n';
		return 2;
	}
	d[0] = '\n';
	return 1;
}

/* 1: always literal; 2: literal unless last on its line (blanks) */
static const unsigned char safe[256] = {
	[' '] = 2, ['\t'] = 2,
	['!'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,        /* ! .. / */
	['0'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,              /* 0 .. < */
	['>'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* > .. M */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,             /* N .. ] */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,             /* ^ .. m */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,          /* n .. ~ */
};

/* soft: the column is 0 because of a soft break just made */
static int literal(const struct qp_enc *e, const unsigned char *p, size_t i, size_t n,
    int line_ends, int soft)
{
	unsigned char c = p[i];

	if (safe[c] == 2)       /* literal unless it ends the line */
		return !(line_ends && i + 1 == n);
	if (!safe[c])
		return 0;
	if (e->col == 0 && c == '.')
		return 0;
	/* "From " at the start of a line.  A text line start always has its
	 * first bytes in this run (short lines are held whole), but after a
	 * soft break or in binary mode the run may end before the five bytes
	 * are known, and the output must not depend on where the caller's
	 * buffers end: there an 'F' is always encoded. */
	if (e->col == 0 && c == 'F')
		return !(soft || e->binary || (n - i >= 5 && memcmp(p + i, "From ", 5) == 0));
	return 1;
}

/* Encode p[0..n); line_ends: a hard line end follows p[n-1]. */
static size_t enc_run(struct qp_enc *e, const unsigned char *p, size_t n, int line_ends, char *out)
{
	char *d = out;
	size_t last = line_ends ? n - 1 : n;    /* index whose blanks need encoding */

	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		/* Fast paths: mid-line with room left, not the last byte. */
		if (e->col != 0 && i != last) {
			if (safe[c] && e->col < MIME_LINE_MAX - 1) {
				*d++ = (char)c;
				e->col++;
				continue;
			}
			if (!safe[c] && e->col + 3 < MIME_LINE_MAX) {
				d[0] = '=';
				d[1] = hexdig[c >> 4];
				d[2] = hexdig[c & 15];
				d += 3;
				e->col += 3;
				continue;
			}
		}
		int lit = literal(e, p, i, n, line_ends, 0);
		size_t w = lit ? 1 : 3;
		size_t room = MIME_LINE_MAX - 1;  /* keep a column for '=' */

		if (line_ends && i + 1 == n)
			room = MIME_LINE_MAX;     /* last token: no soft break follows */
		if (e->col + w > room) {
			*d++ = '=';
			d += eol(e, d);
			e->col = 0;
			lit = literal(e, p, i, n, line_ends, 1);  /* now at column 0 */
			w = lit ? 1 : 3;
		}
		if (lit) {
			*d++ = (char)c;
		} else {
			*d++ = '=';
			*d++ = hexdig[c >> 4];
			*d++ = hexdig[c & 15];
		}
		e->col += w;
	}
	return (size_t)(d - out);
}

/* How many bytes at the end of p[0..n) (a line cut short) must wait for
 * more input: the last one, which may be a blank that ends its line; in
 * text mode a last CR may start the CRLF line end, so the byte before it
 * waits too. */
static size_t hold_len(const struct qp_enc *e, const unsigned char *p, size_t n)
{
	return (!e->binary && n >= 2 && p[n - 1] == '\r') ? 2 : 1;
}

/* Slow path: one byte into pend[], encoding it when a line ends or pend
 * is full.  Return bytes written. */
static size_t enc_push(struct qp_enc *e, unsigned char c, char *d)
{
	size_t k = 0;

	if (!e->binary && c == '\n') {
		size_t m = e->npend;

		if (m && e->pend[m - 1] == '\r')  /* CRLF is one line end */
			m--;
		k = enc_run(e, e->pend, m, 1, d);
		k += eol(e, d + k);
		e->col = 0;
		e->npend = 0;
		return k;
	}
	if (e->npend == QP_PEND_MAX) {
		size_t keep = hold_len(e, e->pend, e->npend);

		k = enc_run(e, e->pend, e->npend - keep, 0, d);
		memmove(e->pend, e->pend + e->npend - keep, keep);
		e->npend = keep;
	}
	e->pend[e->npend++] = c;
	return k;
}

size_t qp_enc_update(struct qp_enc *e, const void *in, size_t n, char *out)
{
	const unsigned char *s = in;
	char *d = out;

	/* Finish a line left over from the last call byte by byte. */
	while (n > 0 && e->npend > 0 && !e->binary) {
		d += enc_push(e, *s, d);
		s++;
		n--;
	}
	if (e->binary && e->npend > 0 && n > 0) {
		/* binary: the held byte is not the last of the data */
		d += enc_run(e, e->pend, e->npend, 0, d);
		e->npend = 0;
	}
	/* Fast path: whole lines straight from the input. */
	while (n > 0) {
		const unsigned char *lf = e->binary ? NULL : memchr(s, '\n', n);

		if (lf == NULL) {
			/* Hold a short partial line whole (its start may be
			 * "From "), else all but the last byte, the only one
			 * that may need lookahead. */
			size_t keep = (n < QP_PEND_MAX && !e->binary) ? n : hold_len(e, s, n);

			d += enc_run(e, s, n - keep, 0, d);
			memcpy(e->pend, s + n - keep, keep);
			e->npend = keep;
			break;
		}
		size_t k = (size_t)(lf - s), m = k;

		if (m && s[m - 1] == '\r')
			m--;
		d += enc_run(e, s, m, 1, d);
		d += eol(e, d);
		e->col = 0;
		s += k + 1;
		n -= k + 1;
	}
	return (size_t)(d - out);
}

size_t qp_enc_final(struct qp_enc *e, char *out)
{
	size_t k = enc_run(e, e->pend, e->npend, 1, out);

	e->npend = 0;
	return k;
}

void qp_dec_init(struct qp_dec *d, int lenient, int crlf)
{
	memset(d, 0, sizeof *d);
	d->lenient = lenient;
	d->crlf = crlf;
}

size_t qp_dec_bound(size_t n)
{
	return 2 * (n + QP_WS_MAX) + 8;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')   /* RFC 2045 6.7 (1): a robust reader takes these */
		return c - 'a' + 10;
	return -1;
}

static size_t flush_ws(struct qp_dec *d, char *o)
{
	size_t k = d->nws;

	memcpy(o, d->ws, k);
	d->nws = 0;
	return k;
}

static size_t dec_eol(struct qp_dec *d, char *o)
{
	d->nws = 0;   /* RFC 2045 6.7 (3): trailing white space is deleted */
	if (d->crlf) {
		o[0] = '\r';
		o[1] = '\n';
		return 2;
	}
	o[0] = '\n';
	return 1;
}

static ssize_t bad_escape(struct qp_dec *d)
{
	d->err = "invalid '=' sequence";
	d->erroff = d->off;
	return -1;
}

/* One byte in QD_TEXT (also used to re-read a byte after a bad escape). */
static size_t dec_text(struct qp_dec *d, unsigned char c, char *o)
{
	size_t k = 0;

	switch (c) {
	case ' ':
	case '\t':
		if (d->nws == sizeof d->ws)
			k = flush_ws(d, o);
		d->ws[d->nws++] = (char)c;
		return k;
	case '\r':
		d->state = QD_CR;
		return 0;
	case '\n':
		return dec_eol(d, o);
	case '=':
		d->state = QD_EQ;
		return flush_ws(d, o);
	default:
		k = flush_ws(d, o);
		o[k++] = (char)c;
		return k;
	}
}

static ssize_t dec_byte(struct qp_dec *d, unsigned char c, char *o)
{
	size_t k = 0;
	int v;

	switch (d->state) {
	case QD_TEXT:
		return (ssize_t)dec_text(d, c, o);
	case QD_CR:     /* CR LF is a line end; a lone CR is data */
		d->state = QD_TEXT;
		if (c == '\n')
			return (ssize_t)dec_eol(d, o);
		k = flush_ws(d, o);
		o[k++] = '\r';
		return (ssize_t)(k + dec_text(d, c, o + k));
	case QD_EQ:
		if ((v = hexval(c)) >= 0) {
			d->hex = v;
			d->state = QD_EQ1;
			return 0;
		}
		if (c == ' ' || c == '\t') {
			d->state = QD_EQWS;
			return 0;
		}
		if (c == '\r') {
			d->state = QD_EQCR;
			return 0;
		}
		if (c == '\n') {        /* soft line break */
			d->state = QD_TEXT;
			return 0;
		}
		break;
	case QD_EQ1:
		if ((v = hexval(c)) >= 0) {
			o[0] = (char)(d->hex << 4 | v);
			d->state = QD_TEXT;
			return 1;
		}
		break;
	case QD_EQWS:   /* "=  " then the line end: a padded soft break */
		if (c == ' ' || c == '\t')
			return 0;
		if (c == '\r') {
			d->state = QD_EQCR;
			return 0;
		}
		if (c == '\n') {
			d->state = QD_TEXT;
			return 0;
		}
		break;
	case QD_EQCR:
		if (c == '\n') {
			d->state = QD_TEXT;
			return 0;
		}
		break;
	}
	if (!d->lenient)
		return bad_escape(d);
	/* Lenient: keep the '=' (and a first hex digit) as text, re-read c. */
	o[k++] = '=';
	if (d->state == QD_EQ1)
		o[k++] = hexdig[d->hex];
	d->state = QD_TEXT;
	return (ssize_t)(k + dec_text(d, c, o + k));
}

/* bytes the decoder's fast path cannot copy as they are */
static const unsigned char dspecial[256] = {
	[' '] = 1, ['\t'] = 1, ['\r'] = 1, ['\n'] = 1, ['='] = 1,
};

/* hex digit value + 1, 0 for a non-digit (lower case too: RFC 2045 6.7 (1)) */
static const unsigned char hexv[256] = {
	['0'] = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	['A'] = 11, 12, 13, 14, 15, 16,
	['a'] = 11, 12, 13, 14, 15, 16,
};

/* Fastest path: whole lines s[j..LF] in the buffer, read with memchr
 * (the line end, then each '=') and copied with memcpy: the trailing
 * blanks (and a CR before the LF) are cut first, so every blank left is
 * data; "=XX" is decoded, a last '=' is a soft break.  A line with any
 * other '=' is left to the slower paths, which report it.  Returns where
 * it stopped (at the start of a line it did not take); *op advances. */
static size_t dec_lines(struct qp_dec *d, const unsigned char *restrict s, size_t n,
    size_t j, char **op)
{
	char *restrict o = *op;

	while (j < n) {
		const unsigned char *lf = memchr(s + j, '\n', n - j);
		size_t e, end, p;
		char *o0 = o;
		int soft = 0;

		if (lf == NULL)
			break;
		e = (size_t)(lf - s);
		end = e;
		if (end > j && s[end - 1] == '\r')
			end--;
		while (end > j && (s[end - 1] == ' ' || s[end - 1] == '\t'))
			end--;
		for (p = j; p < end;) {
			if (s[p] != '=') {
				/* a run of data: short ones (binary) byte by
				 * byte, long ones (text) with memchr */
				size_t q = p, lim = end - p > 16 ? p + 16 : end;
				const unsigned char *eq;

				while (q < lim && s[q] != '=')
					q++;
				if (q == lim && q < end) {
					eq = memchr(s + q, '=', end - q);
					q = eq ? (size_t)(eq - s) : end;
				}
				memcpy(o, s + p, q - p);
				o += q - p;
				p = q;
				continue;
			}
			if (p + 1 == end) {             /* soft line break */
				soft = 1;
				p++;
				break;
			}
			if (p + 2 < end && hexv[s[p + 1]] && hexv[s[p + 2]]) {
				*o++ = (char)((hexv[s[p + 1]] - 1) << 4 | (hexv[s[p + 2]] - 1));
				p += 3;
				continue;
			}
			break;                          /* a bad '=': not here */
		}
		if (p < end) {
			o = o0;
			break;
		}
		if (!soft)
			o += dec_eol(d, o);
		j = e + 1;
	}
	*op = o;
	return j;
}

/* Fast path: plain text, single spaces between words, "=XX", soft and
 * hard line breaks, without the state machine.  Stops at anything else
 * (blanks that may be trailing, a sequence cut by the buffer end, bad
 * escapes) and returns how far it got; *op advances.  After each line
 * end it goes back to dec_lines. */
static size_t dec_fast(struct qp_dec *d, const unsigned char *restrict s, size_t n,
    char **op)
{
	char *o;
	size_t j = 0;

again:
	j = dec_lines(d, s, n, j, op);
	o = *op;
	while (j < n) {
		unsigned char c = s[j];

		if (!dspecial[c]) {
			do
				*o++ = (char)s[j++];
			while (j < n && !dspecial[s[j]]);
		} else if (c == '=' && j + 2 < n && hexv[s[j + 1]] && hexv[s[j + 2]]) {
			*o++ = (char)((hexv[s[j + 1]] - 1) << 4 | (hexv[s[j + 2]] - 1));
			j += 3;
		} else if (c == '=' && j + 1 < n && s[j + 1] == '\n') {
			j += 2;         /* soft line break */
			*op = o;
			goto again;
		} else if (c == ' ' || c == '\t') {
			size_t k = j + 1;

			while (k < n && (s[k] == ' ' || s[k] == '\t'))
				k++;
			if (k == n || (s[k] == '\r' && k + 1 == n))
				break;          /* may be trailing: let the state machine wait */
			if (s[k] == '\n' || (s[k] == '\r' && s[k + 1] == '\n')) {
				j = k;          /* trailing blanks are dropped (rule 3) */
				continue;
			}
			while (j < k)
				*o++ = (char)s[j++];
		} else if (c == '\n') {
			o += dec_eol(d, o);
			j++;
			*op = o;
			goto again;
		} else if (c == '\r' && j + 1 < n && s[j + 1] == '\n') {
			o += dec_eol(d, o);
			j += 2;
			*op = o;
			goto again;
		} else {
			break;
		}
	}
	*op = o;
	return j;
}

ssize_t qp_dec_update(struct qp_dec *d, const char *in, size_t n, char *out)
{
	const unsigned char *s = (const unsigned char *)in;
	char *o = out;
	size_t i = 0;

	while (i < n) {
		if (d->state == QD_TEXT && d->nws == 0) {
			size_t j = dec_fast(d, s + i, n - i, &o);

			d->off += j;
			i += j;
			if (i == n)
				break;
		}
		ssize_t k = dec_byte(d, s[i], o);
		if (k < 0)
			return -1;
		o += k;
		i++;
		d->off++;
	}
	return o - out;
}

ssize_t qp_dec_final(struct qp_dec *d, char *out)
{
	size_t k = 0;

	switch (d->state) {
	case QD_TEXT:
	case QD_EQWS:       /* "=" and blanks at the very end: a soft break */
	case QD_EQ:         /* "=" at the very end: a soft break */
		break;
	case QD_CR:         /* blanks then a bare CR: both are data */
		k = flush_ws(d, out);
		out[k++] = '\r';
		break;
	case QD_EQ1:
	case QD_EQCR:
		if (!d->lenient)
			return bad_escape(d);
		out[k++] = '=';
		if (d->state == QD_EQ1)
			out[k++] = hexdig[d->hex];
		break;
	}
	d->nws = 0;     /* white space at the end of the data is trailing */
	d->state = QD_TEXT;
	return (ssize_t)k;
}
