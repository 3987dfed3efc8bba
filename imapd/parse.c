/* parse.c — the IMAP command reader and parser (see parse.h).
 *
 * The reader is a small state machine fed arbitrary slices of input (one
 * byte at a time works as well as a whole buffer): it is in a line, in a
 * literal, or skipping the rest of a bad line.  Limits are checked on the
 * announced sizes, before any byte of a literal is stored. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "parse.h"

void imap_reader_init(struct imap_reader *r)
{
	memset(r, 0, sizeof *r);
}

void imap_reader_free(struct imap_reader *r)
{
	buf_free(&r->cmd);
}

static void reader_reset(struct imap_reader *r)
{
	r->cmd.len = 0;
	if (r->cmd.p)
		r->cmd.p[0] = '\0';
	r->line = 0;
	r->litleft = 0;
	r->skipping = 0;
	r->nlits = 0;
	r->has_nul = 0;
}

/* If the line cmd[from..to) (line end stripped) ends with a literal
 * announcement, return 1 and its size and form; values past 2^32 are
 * reported as UINT64_MAX so the caller refuses them. */
static int literal_suffix(const char *s, size_t from, size_t to, uint64_t *size, int *plus)
{
	size_t i = to, d;
	uint64_t v = 0;

	if (i == from || s[i - 1] != '}')
		return 0;
	i--;
	*plus = (i > from && s[i - 1] == '+');
	if (*plus)
		i--;
	d = i;
	while (i > from && isdigit((unsigned char)s[i - 1]))
		i--;
	if (i == d || i == from || s[i - 1] != '{')
		return 0;
	for (size_t k = i; k < d; k++) {
		v = v * 10 + (uint64_t)(s[k] - '0');
		if (v > UINT32_MAX) {
			v = UINT64_MAX;
			break;
		}
	}
	*size = v;
	return 1;
}

/* A whole line is in cmd[r->line..len), line end included. */
static enum rd_event line_done(struct imap_reader *r)
{
	size_t end = r->cmd.len, eol = 1;
	uint64_t size;
	int plus;

	if (end - r->line >= 2 && r->cmd.p[end - 2] == '\r')
		eol = 2;
	if (literal_suffix(r->cmd.p, r->line, end - eol, &size, &plus)) {
		if (size > (r->litmax ? r->litmax : IMAP_LITERAL_MAX) || r->cmd.len + size > IMAP_CMD_MAX ||
		    ++r->nlits > IMAP_LITERALS_MAX) {
			r->why = "literal too big";
			/* The client sends a LITERAL+ literal without waiting:
			 * we cannot find where the next command starts. */
			return plus ? RD_FATAL : RD_ERROR;
		}
		r->litleft = size;
		r->line = r->cmd.len + size;
		return plus ? RD_MORE : RD_CONT;
	}
	r->cmd.len = end - eol;
	r->cmd.p[r->cmd.len] = '\0';
	if (r->has_nul) {
		r->why = "NUL byte in command";
		return RD_ERROR;
	}
	return RD_DONE;
}

enum rd_event imap_reader_feed(struct imap_reader *r, const char *p, size_t n, size_t *used)
{
	size_t i = 0;
	enum rd_event ev;

	if (r->line == (size_t)-1)      /* a command was handed out: start anew */
		reader_reset(r);
	while (i < n) {
		if (r->litleft > 0) {
			size_t k = n - i < r->litleft ? n - i : (size_t)r->litleft;

			buf_add(&r->cmd, p + i, k);
			r->litleft -= k;
			i += k;
			continue;
		}
		const char *lf = memchr(p + i, '\n', n - i);
		size_t k = lf ? (size_t)(lf - (p + i)) + 1 : n - i;

		if (r->skipping) {
			i += k;
			if (lf == NULL)
				continue;
			*used = i;
			r->line = (size_t)-1;
			return RD_ERROR;
		}
		if (memchr(p + i, '\0', k))
			r->has_nul = 1;
		if (r->cmd.len - r->line + k > IMAP_LINE_MAX || r->cmd.len + k > IMAP_CMD_MAX) {
			/* Keep what fits of the start, for the tag of the reply. */
			size_t keep = r->cmd.len < IMAP_TAG_MAX + 1 ? IMAP_TAG_MAX + 1 - r->cmd.len : 0;

			buf_add(&r->cmd, p + i, keep < k ? keep : k);
			r->why = "line too long";
			r->skipping = 1;
			continue;
		}
		buf_add(&r->cmd, p + i, k);
		i += k;
		if (lf == NULL)
			continue;
		ev = line_done(r);
		if (ev == RD_MORE)
			continue;
		*used = i;
		if (ev != RD_CONT)
			r->line = (size_t)-1;   /* reset on the next feed; cmd stays readable */
		return ev;
	}
	*used = i;
	return RD_MORE;
}

static int tag_char(int c)
{
	return c > ' ' && c < 0x7f && !strchr("(){%*\"\\]+", c);
}

int imap_is_tag(const char *s, size_t n)
{
	if (n == 0 || n > IMAP_TAG_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!tag_char((unsigned char)s[i]))
			return 0;
	return 1;
}

void imap_reader_tag(const struct imap_reader *r, char *tag, size_t cap)
{
	size_t i = 0;
	const char *s = r->cmd.p ? r->cmd.p : "";

	while (i < r->cmd.len && i + 1 < cap && tag_char((unsigned char)s[i]))
		i++;
	if (i == 0 || (i < r->cmd.len && s[i] != ' ') || i + 1 >= cap) {
		snprintf(tag, cap, "*");
		return;
	}
	memcpy(tag, s, i);
	tag[i] = '\0';
}

/* ---- the parser ---- */

struct pstate {
	const char *p, *end;
	int depth;
	size_t ntok;
	const char *why;
};

static int fail(struct pstate *ps, const char *why)
{
	if (ps->why == NULL)
		ps->why = why;
	return -1;
}

static void arg_free(struct imap_arg *a)
{
	for (size_t i = 0; i < a->nkids; i++)
		arg_free(&a->kids[i]);
	free(a->kids);
	free(a->s);
}

static int atom_char(int c)
{
	return c > ' ' && c != 0x7f && !strchr("(){\"", c);
}

/* Whether s[0..n), which ends with '[', starts a FETCH section, whose
 * brackets may hold spaces and lists (RFC 3501 9, section; RFC 3516). */
static int section_prefix(const char *s, size_t n)
{
	static const char *const v[] = { "BODY[", "BODY.PEEK[", "BINARY[", "BINARY.PEEK[",
		"BINARY.SIZE[" };

	for (size_t i = 0; i < sizeof v / sizeof *v; i++)
		if (strlen(v[i]) == n && strncasecmp(s, v[i], n) == 0)
			return 1;
	return 0;
}

static int parse_atom(struct pstate *ps, struct imap_arg *a)
{
	const char *s = ps->p;

	while (ps->p < ps->end && atom_char((unsigned char)*ps->p)) {
		if (*ps->p++ != '[' || !section_prefix(s, (size_t)(ps->p - s)))
			continue;       /* elsewhere '[' is an ASTRING-CHAR and a list-char */
		/* BODY[HEADER.FIELDS (A B)]: brackets may hold spaces and lists */
		while (ps->p < ps->end && *ps->p != ']' && (unsigned char)*ps->p >= ' ')
			ps->p++;
		if (ps->p == ps->end || *ps->p != ']')
			return fail(ps, "unterminated [");
		ps->p++;
	}
	if (ps->p == s)
		return fail(ps, "unexpected character");
	a->type = ARG_ATOM;
	a->len = (size_t)(ps->p - s);
	a->s = xstrndup(s, a->len);
	return 0;
}

static int parse_quoted(struct pstate *ps, struct imap_arg *a)
{
	struct buf b = { 0 };

	ps->p++;
	for (;;) {
		if (ps->p == ps->end || *ps->p == '\r' || *ps->p == '\n') {
			buf_free(&b);
			return fail(ps, "unterminated quoted string");
		}
		char c = *ps->p++;
		if (c == '"')
			break;
		if (c == '\\') {
			if (ps->p == ps->end || (*ps->p != '"' && *ps->p != '\\')) {
				buf_free(&b);
				return fail(ps, "bad escape in quoted string");
			}
			c = *ps->p++;
		}
		buf_addc(&b, c);
	}
	a->type = ARG_STRING;
	a->len = b.len;
	a->s = b.p ? buf_take(&b) : xstrdup("");
	return 0;
}

static int parse_literal(struct pstate *ps, struct imap_arg *a)
{
	uint64_t v = 0;
	const char *d;

	ps->p++;
	d = ps->p;
	while (ps->p < ps->end && isdigit((unsigned char)*ps->p) && v <= IMAP_LITERAL_MAX)
		v = v * 10 + (uint64_t)(*ps->p++ - '0');
	if (ps->p == d || v > IMAP_LITERAL_MAX)
		return fail(ps, "bad literal");
	if (ps->p < ps->end && *ps->p == '+')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '}')
		ps->p++;
	else
		return fail(ps, "bad literal");
	if (ps->p < ps->end && *ps->p == '\r')
		ps->p++;
	if (ps->p == ps->end || *ps->p != '\n')
		return fail(ps, "literal not at end of line");
	ps->p++;
	if ((uint64_t)(ps->end - ps->p) < v)
		return fail(ps, "short literal");
	a->type = ARG_STRING;
	a->literal = 1;
	a->len = (size_t)v;
	a->s = xmalloc(a->len + 1);
	memcpy(a->s, ps->p, a->len);
	a->s[a->len] = '\0';
	ps->p += a->len;
	return 0;
}

static int parse_args(struct pstate *ps, struct imap_arg **out, size_t *nout, int inlist);

static int parse_one(struct pstate *ps, struct imap_arg *a)
{
	memset(a, 0, sizeof *a);
	if (++ps->ntok > IMAP_ARGS_MAX)
		return fail(ps, "too many arguments");
	switch (*ps->p) {
	case '"':
		return parse_quoted(ps, a);
	case '{':
		return parse_literal(ps, a);
	case '~':               /* literal8 (RFC 3516): a literal that may hold NULs */
		if (ps->p + 1 < ps->end && ps->p[1] == '{') {
			ps->p++;
			if (parse_literal(ps, a) < 0)
				return -1;
			a->literal = 2;
			return 0;
		}
		return parse_atom(ps, a);
	case '(':
		if (ps->depth >= IMAP_NEST_MAX)
			return fail(ps, "lists nested too deep");
		ps->p++;
		ps->depth++;
		a->type = ARG_LIST;
		if (parse_args(ps, &a->kids, &a->nkids, 1) < 0)
			return -1;
		ps->depth--;
		return 0;
	default:
		return parse_atom(ps, a);
	}
}

/* Arguments separated by single spaces, up to the end or (in a list) ')'. */
static int parse_args(struct pstate *ps, struct imap_arg **out, size_t *nout, int inlist)
{
	size_t cap = 0;

	for (;;) {
		if (ps->p == ps->end)
			return inlist ? fail(ps, "missing )") : 0;
		if (*ps->p == ')') {
			if (!inlist)
				return fail(ps, "unexpected )");
			ps->p++;
			return 0;
		}
		if (*nout > 0) {
			if (*ps->p != ' ')
				return fail(ps, "missing space between arguments");
			ps->p++;
			/* mutt sends "AUTHENTICATE CRAM-MD5 ": tolerate a
			 * trailing space, as Dovecot does */
			if (ps->p == ps->end && !inlist)
				return 0;
			if (ps->p == ps->end || *ps->p == ')')
				return fail(ps, "trailing space");
		}
		if (*nout == cap) {
			cap = cap ? cap * 2 : 4;
			*out = xrealloc(*out, cap * sizeof **out);
		}
		memset(&(*out)[*nout], 0, sizeof **out);
		(*nout)++;
		if (parse_one(ps, &(*out)[*nout - 1]) < 0)
			return -1;
	}
}

int imap_parse(const char *p, size_t n, struct imap_cmd *c, const char **why)
{
	struct pstate ps = { p, p + n, 0, 0, NULL };
	const char *s = p;

	memset(c, 0, sizeof *c);
	while (ps.p < ps.end && tag_char((unsigned char)*ps.p))
		ps.p++;
	if (ps.p == s || (size_t)(ps.p - s) > IMAP_TAG_MAX || ps.p == ps.end || *ps.p != ' ') {
		*why = ps.p == s || (size_t)(ps.p - s) > IMAP_TAG_MAX ? "bad tag" : "missing command";
		if (ps.p != s && ps.p == ps.end && (size_t)(ps.p - s) <= IMAP_TAG_MAX)
			c->tag = xstrndup(s, (size_t)(ps.p - s));
		return -1;
	}
	c->tag = xstrndup(s, (size_t)(ps.p - s));
	s = ++ps.p;
	while (ps.p < ps.end && isalnum((unsigned char)*ps.p))
		ps.p++;
	if (ps.p == s || (ps.p < ps.end && *ps.p != ' ')) {
		*why = "bad command name";
		return -1;
	}
	c->name = xstrndup(s, (size_t)(ps.p - s));
	for (char *q = c->name; *q; q++)
		*q = (char)toupper((unsigned char)*q);
	if (ps.p < ps.end) {
		ps.p++;
		if (ps.p == ps.end)
			return 0;       /* "NOOP ": tolerated, see parse_args */
		/* the first argument needs no leading space: parse_args adds
		 * one between arguments only */
		if (parse_args(&ps, &c->args, &c->nargs, 0) < 0) {
			*why = ps.why;
			return -1;
		}
	}
	return 0;
}

void imap_cmd_free(struct imap_cmd *c)
{
	for (size_t i = 0; i < c->nargs; i++)
		arg_free(&c->args[i]);
	free(c->args);
	free(c->tag);
	free(c->name);
	memset(c, 0, sizeof *c);
}

int arg_is(const struct imap_arg *a, const char *s)
{
	return a->type == ARG_ATOM && strcasecmp(a->s, s) == 0;
}

int arg_astring(const struct imap_arg *a)
{
	return a->type == ARG_ATOM || a->type == ARG_STRING;
}

/* ---- sequence sets ---- */

static int seq_number(const char **s, uint32_t *v)
{
	int64_t x;

	if (**s == '*') {
		(*s)++;
		*v = 0;
		return 0;
	}
	if ((x = imap_number32(s, 1)) < 0)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

int seqset_parse(const char *s, struct seqset *set)
{
	size_t cap = 0;

	memset(set, 0, sizeof *set);
	for (;;) {
		struct seq_range r;

		if (seq_number(&s, &r.lo) < 0)
			goto bad;
		r.hi = r.lo;
		if (*s == ':') {
			s++;
			if (seq_number(&s, &r.hi) < 0)
				goto bad;
		}
		if (set->n == cap) {
			cap = cap ? cap * 2 : 4;
			set->r = xrealloc(set->r, cap * sizeof *set->r);
		}
		set->r[set->n++] = r;
		if (*s == '\0')
			return 0;
		if (*s++ != ',')
			goto bad;
	}
bad:
	seqset_free(set);
	return -1;
}

void seqset_range(const struct seqset *set, size_t i, uint32_t max, uint32_t *lo, uint32_t *hi)
{
	uint32_t a = set->r[i].lo ? set->r[i].lo : max;
	uint32_t b = set->r[i].hi ? set->r[i].hi : max;

	*lo = a < b ? a : b;
	*hi = a < b ? b : a;
}

int seqset_has(const struct seqset *set, uint32_t v, uint32_t max)
{
	for (size_t i = 0; i < set->n; i++) {
		uint32_t lo, hi;

		seqset_range(set, i, max, &lo, &hi);
		if (v >= lo && v <= hi)
			return 1;
	}
	return 0;
}

void seqset_free(struct seqset *set)
{
	free(set->r);
	set->r = NULL;
	set->n = 0;
}

/* ---- modified UTF-7 (RFC 3501 5.1.3) ---- */

static const char mb64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static void put_utf8(struct buf *out, uint32_t cp)
{
	if (cp < 0x80) {
		buf_addc(out, (int)cp);
	} else if (cp < 0x800) {
		buf_addc(out, (int)(0xc0 | cp >> 6));
		buf_addc(out, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addc(out, (int)(0xe0 | cp >> 12));
		buf_addc(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(out, (int)(0x80 | (cp & 0x3f)));
	} else {
		buf_addc(out, (int)(0xf0 | cp >> 18));
		buf_addc(out, (int)(0x80 | ((cp >> 12) & 0x3f)));
		buf_addc(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(out, (int)(0x80 | (cp & 0x3f)));
	}
}

/* Decode one "&...-" run starting after the '&'; *s ends after the '-'. */
static int mutf7_run(const char **s, struct buf *out)
{
	uint32_t bits = 0, hi = 0;
	int nbits = 0, units = 0;
	const char *q;

	for (; **s != '-'; (*s)++) {
		if (**s == '\0' || (q = strchr(mb64, **s)) == NULL)
			return -1;
		bits = bits << 6 | (uint32_t)(q - mb64);
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t u = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;
		units++;
		if (hi) {
			if (u < 0xdc00 || u > 0xdfff)
				return -1;
			put_utf8(out, 0x10000 + ((hi - 0xd800) << 10) + (u - 0xdc00));
			hi = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			hi = u;
		} else if ((u >= 0xdc00 && u <= 0xdfff) || u <= 0x7f) {
			return -1;      /* lone surrogate, or ASCII (a NUL!) encoded */
		} else {
			put_utf8(out, u);
		}
	}
	(*s)++;
	/* leftover bits must be padding zeros, fewer than 6 */
	if (units == 0 || hi || nbits >= 6 || bits != 0)
		return -1;
	return 0;
}

int mutf7_decode(const char *s, struct buf *out)
{
	const char *run_end = NULL;

	while (*s) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c > 0x7e)
			return -1;
		if (c != '&') {
			buf_addc(out, c);
			s++;
		} else if (s[1] == '-') {
			buf_addc(out, '&');
			s += 2;
		} else {
			/* two runs in a row are one run written twice: only the
			 * canonical form names a mailbox, so a name has one form */
			if (s == run_end)
				return -1;
			s++;
			if (mutf7_run(&s, out) < 0)
				return -1;
			run_end = s;
		}
	}
	if (out->p == NULL)
		buf_adds(out, "");
	return 0;
}

/* Next code point of UTF-8 text, or -1 if invalid. */
static long utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	long cp;
	int n;

	if (p[0] < 0x80) {
		*s = p + 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		cp = p[0] & 0x1f;
		n = 1;
	} else if ((p[0] & 0xf0) == 0xe0) {
		cp = p[0] & 0x0f;
		n = 2;
	} else if ((p[0] & 0xf8) == 0xf0) {
		cp = p[0] & 0x07;
		n = 3;
	} else {
		return -1;
	}
	for (int i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*s = p + n + 1;
	return cp;
}

static void flush_b64(struct buf *out, uint32_t *bits, int *nbits)
{
	if (*nbits > 0)
		buf_addc(out, mb64[(*bits << (6 - *nbits)) & 0x3f]);
	buf_addc(out, '-');
	*bits = 0;
	*nbits = 0;
}

static void add_unit(struct buf *out, uint32_t u, uint32_t *bits, int *nbits)
{
	*bits = (*bits << 16) | u;
	*nbits += 16;
	while (*nbits >= 6) {
		*nbits -= 6;
		buf_addc(out, mb64[(*bits >> *nbits) & 0x3f]);
	}
	*bits &= (1u << *nbits) - 1;
}

int mutf7_encode(const char *s, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t bits = 0;
	int nbits = 0, shifted = 0;

	while (*p) {
		long cp = utf8_next(&p);

		if (cp < 0)
			return -1;
		if (cp >= 0x20 && cp <= 0x7e) {
			if (shifted)
				flush_b64(out, &bits, &nbits);
			shifted = 0;
			buf_adds(out, cp == '&' ? "&-" : (char[]){ (char)cp, 0 });
			continue;
		}
		if (!shifted)
			buf_addc(out, '&');
		shifted = 1;
		if (cp >= 0x10000) {
			add_unit(out, 0xd800 + ((uint32_t)(cp - 0x10000) >> 10), &bits, &nbits);
			add_unit(out, 0xdc00 + ((uint32_t)(cp - 0x10000) & 0x3ff), &bits, &nbits);
		} else {
			add_unit(out, (uint32_t)cp, &bits, &nbits);
		}
	}
	if (shifted)
		flush_b64(out, &bits, &nbits);
	if (out->p == NULL)
		buf_adds(out, "");
	return 0;
}

int imap_day_ok(int year, int month, int day)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month >= 1 && month <= 12 && day >= 1 && day <= mdays[month - 1] &&
	    !(month == 2 && day == 29 && !leap);
}

int imap_month(const char *p)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (int i = 0; i < 12; i++)
		if (strncasecmp(p, names + 3 * i, 3) == 0)
			return i + 1;
	return 0;
}

int imap_digits(const char **p, int min, int max, int *len)
{
	int v = 0, n = 0;

	while (n < max && isdigit((unsigned char)**p)) {
		v = v * 10 + (**p - '0');
		(*p)++, n++;
	}
	if (len)
		*len = n;
	return n < min ? -1 : v;
}

/* imap_number32 reading at most max bytes of *p */
static int64_t number32(const char **p, size_t max, int nz)
{
	int64_t v = 0;

	if (max == 0 || !isdigit((unsigned char)**p) || (nz && **p == '0'))
		return -1;
	while (max-- > 0 && isdigit((unsigned char)**p))
		if ((v = v * 10 + (*(*p)++ - '0')) > UINT32_MAX)
			return -1;
	return v;
}

int64_t imap_number32(const char **p, int nz)
{
	return number32(p, SIZE_MAX, nz);
}

int64_t imap_number32_span(const char *s, size_t n, int nz)
{
	const char *p = s;
	int64_t v = number32(&p, n, nz);

	return p == s + n ? v : -1;
}

static const char *date_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

int imap_sent_date(const char *v, struct sent_date *d)
{
	static const struct { const char *name; int hours; } zones[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "EST", -5 }, { "EDT", -4 }, { "CST", -6 },
		{ "CDT", -5 }, { "MST", -7 }, { "MDT", -6 }, { "PST", -8 }, { "PDT", -7 },
	};
	const char *p = v, *m;
	int ylen;

	if ((m = strchr(p, ',')) != NULL)       /* the day name */
		p = m + 1;
	p = date_space(p);
	if ((d->day = imap_digits(&p, 1, 2, NULL)) < 0)
		return -1;
	p = date_space(p);
	if ((d->month = imap_month(p)) == 0 || isalpha((unsigned char)p[3]))
		return -1;
	p = date_space(p + 3);
	if ((d->year = imap_digits(&p, 2, 4, &ylen)) < 0 || isdigit((unsigned char)*p))
		return -1;
	if (ylen == 2)                          /* RFC 5322 4.3 */
		d->year += d->year < 50 ? 2000 : 1900;
	else if (ylen == 3)
		d->year += 1900;
	p = date_space(p);
	if ((d->hh = imap_digits(&p, 1, 2, NULL)) < 0)
		return -1;
	p = date_space(p);
	if (*p++ != ':')
		return -1;
	p = date_space(p);
	if ((d->mm = imap_digits(&p, 1, 2, NULL)) < 0)
		return -1;
	d->ss = 0;
	p = date_space(p);
	if (*p == ':') {
		p = date_space(p + 1);
		if ((d->ss = imap_digits(&p, 1, 2, NULL)) < 0)
			return -1;
		p = date_space(p);
	}
	d->zone = 0;
	if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, z = imap_digits(&p, 4, 4, NULL);

		if (z < 0 || z / 100 > 23 || z % 100 > 59)
			return -1;
		d->zone = sign * (z / 100 * 60 + z % 100);
	} else {
		size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

		for (size_t i = 0; i < sizeof zones / sizeof *zones; i++)
			if (n == strlen(zones[i].name) && strncasecmp(p, zones[i].name, n) == 0)
				d->zone = zones[i].hours * 60;
	}
	if (!imap_day_ok(d->year, d->month, d->day) || d->hh > 23 || d->mm > 59 || d->ss > 60)
		return -1;
	return 0;
}
