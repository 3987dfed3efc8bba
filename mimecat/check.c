/* check.c — -c: every RFC 5322 / 2045-2049 / 2047 rule a message breaks,
 * one line each with its line number and the clause, for students who
 * write messages by hand; and, for the signed part of multipart/signed
 * (S/MIME or PGP), what a relay would change in it and so break the
 * signature (RFC 3156 3, RFC 8551 3.1.3), with how to avoid it.  Structure defects come from the parser; this
 * file adds the checks that read every byte (encodings, 8-bit data) and
 * the header rules (required and unique fields, addresses, encoded-words). */
#include <ctype.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "addr.h"
#include "b64.h"
#include "err.h"
#include "header.h"
#include "limits.h"
#include "mimecat.h"
#include "qp.h"

struct finding {
	size_t line;
	char *text;
	const char *rfc;
};

struct check {
	struct mc *mc;
	struct finding *v;
	size_t n, cap;
};

static void report(struct check *c, size_t line, const char *rfc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(struct check *c, size_t line, const char *rfc, const char *fmt, ...)
{
	char t[512];
	va_list ap;

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 32;
		c->v = xrealloc(c->v, c->cap * sizeof *c->v);
	}
	va_start(ap, fmt);
	vsnprintf(t, sizeof t, fmt, ap);
	va_end(ap);
	c->v[c->n++] = (struct finding){ line, xstrdup(t), rfc };
}

/* Line number of offset off inside part p's body. */
static size_t body_line_of(const struct mime_part *p, size_t off)
{
	size_t line = p->body_line;

	for (const char *s = p->base + p->body_off, *e = p->base + off; s < e; s++) {
		s = memchr(s, '\n', (size_t)(e - s));
		if (s == NULL)
			break;
		line++;
	}
	return line;
}

/* ---- header rules ---- */

static int is_bchar_word(const char *s, size_t n)
{
	/* "=?charset?E?text?=" with no white space (RFC 2047 2) */
	const char *q1, *q2;

	if (n < 8 || s[0] != '=' || s[1] != '?' || s[n - 2] != '?' || s[n - 1] != '=')
		return 0;
	if ((q1 = memchr(s + 2, '?', n - 4)) == NULL || q1 == s + 2 || q1 + 2 >= s + n - 2 ||
	    q1[2] != '?')
		return 0;
	if (strchr("BbQq", q1[1]) == NULL)
		return 0;
	q2 = q1 + 3;
	for (const char *t = q2; t < s + n - 2; t++) {
		if (*t == '?' || *t == ' ')
			return 0;
		if ((q1[1] | 0x20) == 'b' && !(isalnum((unsigned char)*t) || *t == '+' ||
		    *t == '/' || *t == '='))
			return 0;
	}
	if ((q1[1] | 0x20) == 'b' && (size_t)(s + n - 2 - q2) % 4 != 0)
		return 0;
	return 1;
}

/* RFC 2047: encoded-words in one unfolded field value. */
static void check_words(struct check *c, size_t line, const char *name, const char *v, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		size_t j;

		if (v[i] != '=' || v[i + 1] != '?' || (i > 0 && v[i - 1] != ' ' && v[i - 1] != '\t' &&
		    v[i - 1] != '(' && v[i - 1] != '"'))
			continue;
		for (j = i; j < n && v[j] != ' ' && v[j] != '\t' && v[j] != ')' && v[j] != '"'; j++)
			;
		if (!is_bchar_word(v + i, j - i))
			report(c, line, "RFC 2047 2, 4", "malformed encoded-word in %s", name);
		else if (j - i > RFC2047_WORD_MAX)
			report(c, line, "RFC 2047 2", "encoded-word longer than 75 characters in %s", name);
		i = j;
	}
}

static const char *const unique[] = {   /* RFC 5322 3.6: at most once */
	"Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-ID", "In-Reply-To",
	"References", "Subject", "MIME-Version",
};
static const char *const address_fields[] = {
	"From", "Sender", "Reply-To", "To", "Cc", "Bcc",
};

static void check_address(struct check *c, size_t line, const struct hdr_field *f,
    const char *v, size_t n)
{
	struct addr_list l = { 0 };

	if (addr_parse(v, n, &l) > 0 || (l.n == 0 && !hdr_is(f, "Bcc")))
		report(c, line, "RFC 5322 3.4", "address syntax error in %s", hdr_is(f, "From") ?
		    "From" : hdr_is(f, "To") ? "To" : hdr_is(f, "Cc") ? "Cc" : "an address field");
	if (hdr_is(f, "From") && addr_count(&l) > 1)
		report(c, line, "RFC 5322 3.6.2", "%s", "several From mailboxes need a Sender field");
	addr_list_free(&l);
}

static void check_header(struct check *c, const struct mime_part *p)
{
	struct hdr_iter it;
	struct hdr_field f;
	size_t line = p->line, seen[sizeof unique / sizeof unique[0]] = { 0 };
	int message = (p->flags & MP_MESSAGE) != 0, mime = 0;

	hdr_iter_init(&it, p->base + p->off, p->body_off - p->off);
	while (hdr_next(&it, &f)) {
		struct buf v = { 0 };

		hdr_unfold(f.value, f.vallen, 0, &v);
		if (f.name) {
			check_words(c, line, "a header field", v.p, v.len);
			mime |= f.namelen > 8 && strncasecmp(f.name, "content-", 8) == 0;
		}
		for (size_t i = 0; message && f.name && i < sizeof unique / sizeof unique[0]; i++)
			if (hdr_is(&f, unique[i]) && seen[i]++ == 1)
				report(c, line, "RFC 5322 3.6", "%s given more than once", unique[i]);
		for (size_t i = 0; message && f.name && i < sizeof address_fields / sizeof address_fields[0]; i++)
			if (hdr_is(&f, address_fields[i]))
				check_address(c, line, &f, v.p, v.len);
		if (message && hdr_is(&f, "MIME-Version") && (v.len < 3 || strncmp(v.p, "1.0", 3) != 0))
			report(c, line, "RFC 2045 4", "%s", "MIME-Version is not 1.0");
		for (size_t i = 0; i < f.rawlen; i++)
			line += f.raw[i] == '\n';
		buf_free(&v);
	}
	if (!message)
		return;
	if (!seen[0])
		report(c, p->line, "RFC 5322 3.6", "%s", "no Date field");
	if (!seen[1])
		report(c, p->line, "RFC 5322 3.6", "%s", "no From field");
	/* required at the top level; in an encapsulated message only "if it
	 * claims to be MIME-conformant", which we cannot tell */
	if (!seen[11] && p->parent == NULL && (mime || p->child))
		report(c, p->line, "RFC 2045 4", "%s", "MIME header fields without MIME-Version");
}

/* ---- bodies ---- */

static void check_bytes(struct check *c, const struct mime_part *p)
{
	const unsigned char *s = (const unsigned char *)p->base + p->body_off;
	size_t n = p->end - p->body_off;
	int eight = 0, nul = 0;

	for (size_t i = 0; i < n && !(eight && nul); i++) {
		if (s[i] >= 0x80 && !eight && (p->enc == ENC_7BIT || p->enc == ENC_QP ||
		    p->enc == ENC_BASE64)) {
			eight = 1;
			report(c, body_line_of(p, p->body_off + i), p->enc == ENC_7BIT ? "RFC 2045 2.7, 6.2" :
			    "RFC 2045 6.7, 6.8", "8-bit data in a %s part", p->enc_name && *p->enc_name ?
			    p->enc_name : "7bit (default)");
		}
		if (s[i] == 0 && !nul && p->enc != ENC_BINARY) {
			nul = 1;
			report(c, body_line_of(p, p->body_off + i), "RFC 2045 2.7, 2.8",
			    "NUL octet in a %s part", p->enc_name && *p->enc_name ? p->enc_name : "7bit");
		}
	}
}

/* Encoded lines: at most 76 characters (RFC 2045 6.7 (5), 6.8). */
static void check_encoded_lines(struct check *c, const struct mime_part *p)
{
	const char *s = p->base + p->body_off, *end = p->base + p->end;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl ? nl : end) - s);

		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (n > MIME_LINE_MAX) {
			report(c, body_line_of(p, (size_t)(s - p->base)), p->enc == ENC_QP ?
			    "RFC 2045 6.7 (5)" : "RFC 2045 6.8", "encoded line longer than 76 characters (%s)",
			    p->enc_name);
			return;
		}
		s = nl ? nl + 1 : end;
	}
}

static void check_decoding(struct check *c, const struct mime_part *p)
{
	const char *s = p->base + p->body_off;
	size_t n = p->end - p->body_off;
	char *tmp = xmalloc(IO_BUFSIZE + 16);
	size_t chunk = IO_BUFSIZE / 2;

	if (p->enc == ENC_BASE64) {
		struct b64_dec d;

		b64_dec_init(&d, 0);
		for (size_t i = 0; i < n; i += chunk) {
			if (b64_dec_update(&d, s + i, n - i < chunk ? n - i : chunk, (unsigned char *)tmp) < 0)
				break;
		}
		if (d.err == NULL)
			b64_dec_final(&d, (unsigned char *)tmp);
		if (d.err)
			report(c, body_line_of(p, p->body_off + (size_t)d.erroff), "RFC 2045 6.8",
			    "bad base64: %s", d.err);
	} else {
		struct qp_dec d;

		qp_dec_init(&d, 0, 0);
		for (size_t i = 0; i < n; i += chunk)
			if (qp_dec_update(&d, s + i, n - i < chunk ? n - i : chunk, tmp) < 0)
				break;
		if (d.err == NULL)
			qp_dec_final(&d, tmp);
		if (d.err)
			report(c, body_line_of(p, p->body_off + (size_t)d.erroff), "RFC 2045 6.7",
			    "bad quoted-printable: %s", d.err);
	}
	free(tmp);
}

static void check_charset(struct check *c, const struct mime_part *p)
{
	iconv_t cd;

	if (p->charset == NULL || strcmp(p->type, "text") != 0)
		return;
	if ((cd = iconv_open("UTF-8", p->charset)) == (iconv_t)-1)
		report(c, p->line, "RFC 2046 4.1.2", "unknown charset \"%s\"", p->charset);
	else
		iconv_close(cd);
}

/* RFC 1847 2.1, RFC 2046 5.2.2 and 5.2.3: parameters some types need. */
static void check_type_rules(struct check *c, const struct mime_part *p)
{
	static const struct { const char *type, *sub, *param, *rfc; } need[] = {
		{ "multipart", "signed", "protocol", "RFC 1847 2.1" },
		{ "multipart", "encrypted", "protocol", "RFC 1847 2.2" },
		{ "message", "partial", "id", "RFC 2046 5.2.2" },
		{ "message", "partial", "number", "RFC 2046 5.2.2" },
		{ "message", "external-body", "access-type", "RFC 2046 5.2.3" },
	};

	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
		if (strcmp(p->type, need[i].type) == 0 && strcmp(p->subtype, need[i].sub) == 0 &&
		    mime_param_raw(p->params, p->nparams, need[i].param) == NULL)
			report(c, p->line, need[i].rfc, "Content-Type parameter \"%s\" missing", need[i].param);
	if (strcmp(p->type, "multipart") == 0 && strcmp(p->subtype, "signed") == 0 &&
	    p->nchild != 2 && p->child)
		report(c, p->line, "RFC 1847 2.1", "%s", "multipart/signed must have exactly two parts");
}

/* ---- signatures a relay would break ---- */

enum { SIG_8BIT, SIG_NUL, SIG_LONG, SIG_HARDLONG, SIG_BLANK, SIG_FROM, SIG_LF, SIG_CR, SIG_NKIND };

/* What each hazard does and how to avoid it. */
static const char *const sig_hazard[SIG_NKIND] = {
	[SIG_8BIT] = "8-bit data in a signed part: a relay without 8BITMIME (RFC 6152) re-encodes it "
	    "and the signature breaks; sign it quoted-printable or base64 (smtp-send --sign "
	    "and --pgp-sign do)",
	[SIG_NUL] = "NUL (binary) data in a signed part: no SMTP relay passes it unchanged; "
	    "sign it base64",
	[SIG_LONG] = "line over 76 characters in a signed part: gateways may wrap or re-encode it "
	    "and the signature breaks; sign it quoted-printable",
	[SIG_HARDLONG] = "line over 998 characters in a signed part: a relay must break it "
	    "(RFC 5322 2.1.1) and the signature breaks; sign it quoted-printable or base64",
	[SIG_BLANK] = "blank (space or tab) at the end of a line in a signed part: relays and "
	    "mail stores may strip it and the signature breaks; sign it quoted-printable (=20)",
	[SIG_FROM] = "line starting \"From \" in a signed part: an mbox store writes it \">From \" "
	    "and the signature breaks; sign it quoted-printable (=46rom)",
	[SIG_LF] = "bare LF line ends in a signed part whose other lines end in CRLF: whatever "
	    "was signed, a relay sends CRLF; sign the canonical CRLF form",
	[SIG_CR] = "bare CR in a signed part: relays change it and the signature breaks; sign it base64",
};

/* The first offset of each hazard in s[0..n), or n when absent. */
static void scan_signed(const char *s, size_t n, size_t first[SIG_NKIND])
{
	size_t col = 0, crlf = 0;

	for (int k = 0; k < SIG_NKIND; k++)
		first[k] = n;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		int kind = -1;

		if (ch == '\n') {
			size_t e = i > 0 && s[i - 1] == '\r' ? i - 1 : i;

			if (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t') && first[SIG_BLANK] == n)
				first[SIG_BLANK] = e - 1;
			if (e == i && first[SIG_LF] == n)
				first[SIG_LF] = i;
			crlf += e != i;
			col = 0;
			continue;
		}
		if (col == 0 && n - i >= 5 && memcmp(s + i, "From ", 5) == 0)
			kind = SIG_FROM;
		else if (ch >= 0x80)
			kind = SIG_8BIT;
		else if (ch == 0)
			kind = SIG_NUL;
		else if (ch == '\r' && (i + 1 == n || s[i + 1] != '\n'))
			kind = SIG_CR;
		if (kind >= 0 && first[kind] == n)
			first[kind] = i;
		col++;
		if (col == RFC5322_LINE_MAX + 1 && first[SIG_HARDLONG] == n)
			first[SIG_HARDLONG] = i;
		else if (col == MIME_LINE_MAX + 1 && first[SIG_LONG] == n)
			first[SIG_LONG] = i;
	}
	if (crlf == 0)
		first[SIG_LF] = n;      /* stored with LF throughout: the CRLF form is clear */
}

static void check_signed(struct check *c, const struct mime_part *p)
{
	const struct mime_part *sp = p->child;
	const char *v = mime_param_raw(p->params, p->nparams, "protocol");
	const char *rfc = v && strcasecmp(v, "application/pgp-signature") == 0 ? "RFC 3156 3" :
	    v && strcasestr(v, "pkcs7-signature") ? "RFC 8551 3.1.3" : "RFC 1847 2.1";
	size_t first[SIG_NKIND], n = sp->end - sp->off;

	scan_signed(sp->base + sp->off, n, first);
	for (int k = 0; k < SIG_NKIND; k++) {
		size_t line = sp->line;

		if (first[k] == n)
			continue;
		/* one line over 998 is said once, not as over 76 too */
		if (k == SIG_LONG && first[SIG_HARDLONG] > first[SIG_LONG] && first[SIG_HARDLONG] < n &&
		    memchr(sp->base + sp->off + first[SIG_LONG], '\n',
		    first[SIG_HARDLONG] - first[SIG_LONG]) == NULL)
			continue;
		for (const char *q = sp->base + sp->off, *e = q + first[k]; q < e; q++) {
			q = memchr(q, '\n', (size_t)(e - q));
			if (q == NULL)
				break;
			line++;
		}
		report(c, line, rfc, "%s", sig_hazard[k]);
	}
}

/* Line numbers of the first CRLF and first bare LF; counts of each. */
static void check_line_ends(struct check *c)
{
	const char *s = c->mc->base, *end = s + c->mc->len;
	size_t crlf = 0, lf = 0, line = 1, first_crlf = 0, first_lf = 0;

	for (const char *p = s; p < end; p++) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (p == NULL)
			break;
		if (p > s && p[-1] == '\r') {
			if (crlf++ == 0)
				first_crlf = line;
		} else if (lf++ == 0) {
			first_lf = line;
		}
		line++;
	}
	/* stored mail has LF, mail on the wire CRLF: a mix is an error either way */
	if (crlf && lf)
		report(c, crlf < lf ? first_crlf : first_lf, "RFC 5322 2.3",
		    "mixed line ends: %zu CRLF, %zu bare LF; the first of the fewer here", crlf, lf);
	for (const char *p = s; p < end && (p = memchr(p, '\r', (size_t)(end - p))) != NULL; p++)
		if (p + 1 == end || p[1] != '\n') {
			size_t l = 1;

			for (const char *q = s; q < p; q++)
				l += *q == '\n';
			report(c, l, "RFC 5322 2.3", "%s", "bare CR");
			break;
		}
}

static int by_line(const void *x, const void *y)
{
	const struct finding *a = x, *b = y;

	return a->line < b->line ? -1 : a->line > b->line;
}

int mc_check(struct mc *mc)
{
	struct check c = { .mc = mc };
	size_t lost = mc->m.ndefects_total - mc->m.ndefects;

	for (size_t i = 0; i < mc->m.ndefects; i++) {
		const struct mime_defect *d = &mc->m.defects[i];

		report(&c, d->line, mime_defect_rfc(d->code), "%s", mime_defect_text(d->code));
	}
	check_line_ends(&c);
	for (const struct mime_part *p = mc->m.root; p; p = p->order) {
		check_header(&c, p);
		check_type_rules(&c, p);
		if (strcmp(p->type, "multipart") == 0 && strcmp(p->subtype, "signed") == 0 && p->child)
			check_signed(&c, p);
		if (p->child)
			continue;
		check_charset(&c, p);
		check_bytes(&c, p);
		if (p->enc == ENC_BASE64 || p->enc == ENC_QP) {
			check_encoded_lines(&c, p);
			check_decoding(&c, p);
		}
	}
	if (c.n)
		qsort(c.v, c.n, sizeof *c.v, by_line);
	for (size_t i = 0; i < c.n; i++) {
		fprintf(mc->out, "%s:%zu: ", mc->name, c.v[i].line);
		mc_put_name(mc->out, c.v[i].text);     /* may quote the message */
		fprintf(mc->out, " (%s)\n", c.v[i].rfc);
		free(c.v[i].text);
	}
	if (lost)
		fprintf(mc->out, "%s: ... and %zu more structure problems\n", mc->name, lost);
	free(c.v);
	if (c.n + lost == 0) {
		fprintf(mc->out, "%s: no problem found\n", mc->name);
		return 0;
	}
	return EX_DATAERR;
}
