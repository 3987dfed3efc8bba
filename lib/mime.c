/* mime.c — one-pass MIME structure parser (see mime.h).
 *
 * Design.  The parser walks the buffer once, line by line, keeping a stack
 * of the boundaries of the multiparts that are open (at most
 * MIME_DEPTH_MAX, in a fixed array: no recursion, no memory per level).  A
 * line starting with "--" is compared with the open boundaries, innermost
 * first; a match ends every part opened inside that multipart (an inner
 * part missing its close delimiter is ended by an outer boundary, as
 * RFC 2046 5.1.2 asks of readers), then opens the next body part or starts
 * the epilogue.  Each line's LF is counted as it passes, so body line counts
 * and wire sizes cost nothing extra.  The CRLF (or LF) before a boundary
 * belongs to the boundary (RFC 2046 5.1.1). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "charset.h"
#include "err.h"
#include "header.h"
#include "limits.h"
#include "mime.h"
#include "qp.h"
#include "rfc2047.h"

/* ---- defects ---- */

static const struct { const char *text, *rfc; } defect_info[MD_CODE_MAX] = {
	[MD_NOBLANK]        = { "header not ended by an empty line", "RFC 5322 2.1" },
	[MD_BADFIELD]       = { "header line is not a field", "RFC 5322 2.2" },
	[MD_8BITHDR]        = { "8-bit byte in a header field", "RFC 5322 2.2" },
	[MD_LONGLINE]       = { "line longer than 998 octets", "RFC 5322 2.1.1" },
	[MD_NUL]            = { "NUL octet", "RFC 5322 2.3" },
	[MD_BADTYPE]        = { "Content-Type syntax error, text/plain assumed", "RFC 2045 5.1, 5.2" },
	[MD_NOBOUNDARY]     = { "multipart without a boundary parameter", "RFC 2046 5.1.1" },
	[MD_BADBOUNDARY]    = { "boundary longer than 70 or with characters outside bchars", "RFC 2046 5.1.1" },
	[MD_NOPARTS]        = { "multipart boundary never appears", "RFC 2046 5.1.1" },
	[MD_NOEND]          = { "missing close delimiter (final boundary)", "RFC 2046 5.1.1" },
	[MD_BADCTE]         = { "unknown Content-Transfer-Encoding", "RFC 2045 6.4" },
	[MD_CTECOMPOSITE]   = { "multipart or message with an encoding other than 7bit, 8bit, binary", "RFC 2045 6.4" },
	[MD_DUPFIELD]       = { "MIME header field given twice", "RFC 2045 3" },
	[MD_DEEP]           = { "nested deeper than the parser's limit, kept as a leaf", "RFC 2046 5.1" },
	[MD_TOOMANY]        = { "more parts than the parser's limit, rest kept as text", "RFC 2046 5.1" },
	[MD_BOUNDARYTEXT]   = { "line starts with a boundary but is not a delimiter", "RFC 2046 5.1.1" },
	[MD_NESTEDBOUNDARY] = { "inner boundary starts with an enclosing boundary", "RFC 2046 5.1.2" },
};

const char *mime_defect_text(int code)
{
	return code > 0 && code < MD_CODE_MAX ? defect_info[code].text : "unknown defect";
}

const char *mime_defect_rfc(int code)
{
	return code > 0 && code < MD_CODE_MAX ? defect_info[code].rfc : "";
}

/* ---- parser state ---- */

struct level {
	struct mime_part *mp;
	const char *b;
	size_t blen;
};

enum state { ST_BODY, ST_PREAMBLE, ST_EPILOGUE };

struct parser {
	struct mime_msg *m;
	const char *base;
	size_t len;
	size_t pos;                     /* start of the current line */
	size_t lines;                   /* LFs before pos */
	size_t barelf;                  /* bare LFs before pos */
	struct mime_part *cur;          /* innermost open part */
	struct mime_part *last;         /* tail of the document-order chain */
	enum state st;
	int nlev;
	struct level lev[MIME_DEPTH_MAX];
};

static void defect(struct parser *ps, size_t line, int code, const struct mime_part *p)
{
	struct mime_msg *m = ps->m;

	m->ndefects_total++;
	if (m->ndefects >= MIME_DEFECTS_MAX)
		return;
	if (m->defects == NULL)
		m->defects = xcalloc(MIME_DEFECTS_MAX, sizeof *m->defects);
	m->defects[m->ndefects].line = line;
	m->defects[m->ndefects].code = code;
	m->defects[m->ndefects].part = p;
	m->ndefects++;
}

static struct mime_part *new_part(struct parser *ps, struct mime_part *parent)
{
	struct mime_part *p = xcalloc(1, sizeof *p);

	p->base = ps->base;
	p->parent = parent;
	p->off = ps->pos;
	p->line = ps->lines + 1;
	if (parent) {
		struct mime_part **pp = &parent->child;

		p->depth = parent->depth + 1;
		/* append: walk from the last child we know through the order chain */
		if (parent->child) {
			struct mime_part *c = parent->child;

			while (c->next)
				c = c->next;
			pp = &c->next;
		}
		*pp = p;
		parent->nchild++;
	}
	if (ps->last)
		ps->last->order = p;
	else
		ps->m->root = p;
	ps->last = p;
	ps->m->nparts++;
	return p;
}

/* ---- field values ---- */

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 2045 5.1 token characters. */
static int tchar(unsigned char c)
{
	return c > ' ' && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Skip white space and (nested) comments. */
static const char *skip_cfws(const char *s, const char *end)
{
	int depth = 0;

	for (; s < end; s++) {
		if (depth > 0 && *s == '\\' && s + 1 < end)
			s++;
		else if (*s == '(')
			depth++;
		else if (*s == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !is_ws(*s))
			break;
	}
	return s;
}

static char *lower_dup(const char *s, size_t n)
{
	char *d = xstrndup(s, n);

	for (char *q = d; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q += 'a' - 'A';
	return d;
}

/* Read one parameter value at s: quoted string or text up to ';'. */
static char *param_value(const char **sp, const char *end)
{
	const char *s = *sp;
	struct buf v = { 0 };

	buf_add(&v, "", 0);
	if (s < end && *s == '"') {
		for (s++; s < end && *s != '"'; s++) {
			if (*s == '\\' && s + 1 < end)
				s++;
			buf_addc(&v, *s);
		}
		if (s < end)
			s++;
	} else {
		/* lenient: up to ';', comments dropped ("us-ascii (Plain text)") */
		while (s < end && *s != ';') {
			if (*s == '(') {
				s = skip_cfws(s, end);
				continue;
			}
			buf_addc(&v, *s++);
		}
		while (v.len > 0 && is_ws(v.p[v.len - 1]))
			v.len--;
		v.p[v.len] = '\0';
	}
	*sp = s;
	return buf_take(&v);
}

/* Parse ";name=value" pairs of s[0..end) into *v (at most MIME_PARAMS_MAX). */
static void parse_params(const char *s, const char *end, struct mime_param **v, size_t *n)
{
	while (s < end) {
		const char *name;
		size_t nlen;

		s = skip_cfws(s, end);
		if (s < end && *s == ';') {
			s++;
			continue;
		}
		name = s;
		while (s < end && *s != '=' && *s != ';' && !is_ws(*s) && *s != '(')
			s++;
		nlen = (size_t)(s - name);
		s = skip_cfws(s, end);
		if (s >= end || *s != '=' || nlen == 0) {
			while (s < end && *s != ';')
				s++;
			continue;
		}
		s = skip_cfws(s + 1, end);
		if (*n >= MIME_PARAMS_MAX) {
			free(param_value(&s, end));
			continue;
		}
		if (*n % 8 == 0)
			*v = xrealloc(*v, (*n + 8) * sizeof **v);
		(*v)[*n].name = xstrndup(name, nlen);
		(*v)[*n].value = param_value(&s, end);
		(*n)++;
	}
}

/* "type/subtype; params": return 0, or -1 on a syntax error. */
static int parse_ctype(struct mime_part *p, const char *s, size_t n)
{
	const char *end = s + n, *t, *st;
	size_t tl, sl;

	s = skip_cfws(s, end);
	for (t = s; s < end && tchar((unsigned char)*s); s++)
		;
	tl = (size_t)(s - t);
	s = skip_cfws(s, end);
	if (tl == 0 || s >= end || *s != '/')
		return -1;
	s = skip_cfws(s + 1, end);
	for (st = s; s < end && tchar((unsigned char)*s); s++)
		;
	sl = (size_t)(s - st);
	if (sl == 0)
		return -1;
	s = skip_cfws(s, end);
	if (s < end && *s != ';')
		return -1;
	p->type = lower_dup(t, tl);
	p->subtype = lower_dup(st, sl);
	parse_params(s, end, &p->params, &p->nparams);
	return 0;
}

static void parse_disposition(struct mime_part *p, const char *s, size_t n)
{
	const char *end = s + n, *t;

	s = skip_cfws(s, end);
	for (t = s; s < end && tchar((unsigned char)*s); s++)
		;
	if (s == t)
		return;
	p->disposition = lower_dup(t, (size_t)(s - t));
	parse_params(s, end, &p->dparams, &p->ndparams);
}

static enum mime_enc parse_cte(struct mime_part *p, const char *s, size_t n)
{
	static const struct { const char *name; enum mime_enc enc; } t[] = {
		{ "7bit", ENC_7BIT }, { "8bit", ENC_8BIT }, { "binary", ENC_BINARY },
		{ "quoted-printable", ENC_QP }, { "base64", ENC_BASE64 },
		{ "x-uuencode", ENC_UU }, { "x-uue", ENC_UU }, { "uuencode", ENC_UU },
	};
	const char *end = s + n, *w;

	s = skip_cfws(s, end);
	for (w = s; s < end && tchar((unsigned char)*s); s++)
		;
	p->enc_name = xstrndup(w, (size_t)(s - w));      /* as written: IMAP echoes it */
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcasecmp(p->enc_name, t[i].name) == 0)
			return t[i].enc;
	return ENC_UNKNOWN;
}

/* Which MIME field a name is; the slots that must appear at most once. */
enum { F_TYPE, F_CTE, F_ID, F_DESC, F_DISP, F_LANG, F_LOC, F_MD5, F_NFIELDS };

static int mime_field(const struct hdr_field *f)
{
	static const char *const names[F_NFIELDS] = {
		"content-type", "content-transfer-encoding", "content-id",
		"content-description", "content-disposition", "content-language",
		"content-location", "content-md5",
	};

	if (f->namelen < 8 || strncasecmp(f->name, "content-", 8) != 0)
		return -1;
	for (int i = 0; i < F_NFIELDS; i++)
		if (hdr_is(f, names[i]))
			return i;
	return -1;
}

static void set_field(struct mime_part *p, int which, const char *v, size_t n, int *badtype)
{
	switch (which) {
	case F_TYPE:
		if (parse_ctype(p, v, n) < 0)
			*badtype = 1;
		break;
	case F_CTE:         p->enc = parse_cte(p, v, n); break;
	case F_ID:          p->id = xstrndup(v, n); break;
	case F_DESC:        p->description = xstrndup(v, n); break;
	case F_DISP:        parse_disposition(p, v, n); break;
	case F_LANG:        p->language = xstrndup(v, n); break;
	case F_LOC:         p->location = xstrndup(v, n); break;
	case F_MD5:         p->md5 = xstrndup(v, n); break;
	}
}

/* Whether the parent makes "no Content-Type" mean message/rfc822. */
static int in_digest(const struct mime_part *p)
{
	return p->parent && p->parent->subtype && strcmp(p->parent->subtype, "digest") == 0 &&
	    strcmp(p->parent->type, "multipart") == 0;
}

/* Fill p's MIME fields from its header [p->off, p->body_off). */
static void read_fields(struct parser *ps, struct mime_part *p)
{
	struct hdr_iter it;
	struct hdr_field f;
	struct buf v = { 0 };
	int seen[F_NFIELDS] = { 0 }, badtype = 0;
	size_t line = p->line;

	hdr_iter_init(&it, ps->base + p->off, p->body_off - p->off);
	while (hdr_next(&it, &f)) {
		int which;

		for (size_t i = 0; i < f.rawlen; i++) {
			unsigned char c = (unsigned char)f.raw[i];

			if (c >= 0x80 || c == 0) {
				defect(ps, line, c ? MD_8BITHDR : MD_NUL, p);
				break;
			}
		}
		if (f.name == NULL)
			defect(ps, line, MD_BADFIELD, p);
		else if ((which = mime_field(&f)) >= 0) {
			if (seen[which]++) {
				defect(ps, line, MD_DUPFIELD, p);
			} else {
				v.len = 0;
				hdr_unfold(f.value, f.vallen, MIME_FIELD_MAX, &v);
				set_field(p, which, v.p, v.len, &badtype);
				if (badtype == 1) {
					defect(ps, line, MD_BADTYPE, p);
					badtype = 2;
				}
			}
		}
		for (size_t i = 0; i < f.rawlen; i++)
			line += f.raw[i] == '\n';
	}
	buf_free(&v);
	if (p->type == NULL) {
		int digest = in_digest(p) && !badtype;

		p->flags |= badtype ? MP_BADTYPE : MP_DEFTYPE;
		p->type = xstrdup(digest ? "message" : "text");
		p->subtype = xstrdup(digest ? "rfc822" : "plain");
	}
}

/* Whether s is an RFC 2045 token (a charset name must be one). */
static int token(const char *s)
{
	for (; *s; s++)
		if (!tchar((unsigned char)*s))
			return 0;
	return 1;
}

static int param_2231(const struct mime_param *v, size_t n, const char *name, struct buf *out);

/* A parameter's plain value, or else its RFC 2231 extended value
 * (boundary*="us-ascii'en'b1", charset*=..., as some mailers send them);
 * the extended value is kept in *tmp.  NULL if neither is there. */
static const char *param_plain(const struct mime_part *p, const char *name, struct buf *tmp)
{
	const char *v = mime_param_raw(p->params, p->nparams, name);

	if (v == NULL && param_2231(p->params, p->nparams, name, tmp))
		v = tmp->p ? tmp->p : "";
	return v;
}

/* Derived fields: charset, boundary, filename. */
static void derive(struct mime_part *p)
{
	struct buf fn = { 0 }, cst = { 0 }, bt = { 0 };
	const char *cs = param_plain(p, "charset", &cst);
	const char *b = param_plain(p, "boundary", &bt);

	if (cs && *cs && strlen(cs) <= CHARSET_NAME_MAX && token(cs))
		p->charset = lower_dup(cs, strlen(cs));
	else if (strcmp(p->type, "text") == 0 && (p->flags & (MP_DEFTYPE | MP_BADTYPE)))
		p->charset = xstrdup("us-ascii");
	if (b && *b && strcmp(p->type, "multipart") == 0)
		p->boundary = xstrdup(b);
	if (mime_param_get(p->dparams, p->ndparams, "filename", &fn) ||
	    mime_param_get(p->params, p->nparams, "name", &fn))
		p->filename = buf_take(&fn);
	buf_free(&fn);
	buf_free(&cst);
	buf_free(&bt);
}

/* RFC 2046 5.1.1 bchars. */
static int boundary_ok(const char *b)
{
	size_t n = strlen(b);

	if (n == 0 || n > MIME_BOUNDARY_MAX || b[n - 1] == ' ')
		return 0;
	for (; *b; b++)
		if (!((*b >= '0' && *b <= '9') || (*b >= 'a' && *b <= 'z') ||
		    (*b >= 'A' && *b <= 'Z') || strchr("'()+_,-./:=? ", *b)))
			return 0;
	return 1;
}

/* ---- the walk ---- */

/* Close part p at end, with the line and bare-LF counts at end. */
static void close_part(struct mime_part *p, size_t end, size_t lines_end, size_t barelf_end)
{
	p->end = end;
	/* until now body_wire and body_lines held the counts at the body start */
	p->body_wire = (end - p->body_off) + (barelf_end - p->body_wire);
	p->body_lines = lines_end - p->body_lines;
	if (p->boundary && p->child && p->epilogue_off == 0)
		p->epilogue_off = end;
	if (p->boundary && p->preamble_end == 0)
		p->preamble_end = end;
}

/* A multipart ends: flag what it lacked. */
static void finish_multipart(struct parser *ps, struct mime_part *p)
{
	if (p->boundary == NULL || (p->flags & MP_DEEP))
		return;
	if (p->child == NULL) {
		p->flags |= MP_NOPARTS;
		defect(ps, p->line, MD_NOPARTS, p);
	} else if (p->epilogue_off == 0) {
		p->flags |= MP_NOEND;
		defect(ps, ps->lines + 1, MD_NOEND, p);
	}
}

/* Where the text before the line at pos ends: its CRLF or LF belongs to
 * the boundary on that line (never before floor, the body start). */
static size_t before_line(const struct parser *ps, size_t pos, size_t floor)
{
	size_t e = pos;

	if (e > floor && ps->base[e - 1] == '\n') {
		e--;
		if (e > floor && ps->base[e - 1] == '\r')
			e--;
	}
	return e;
}

/* A boundary line of level k at ps->pos ends every part opened inside
 * that multipart. */
static void end_inner(struct parser *ps, int k)
{
	struct mime_part *stop = ps->lev[k].mp, *p;

	size_t inner_end = 0;

	for (p = ps->cur; p && p != stop; p = p->parent) {
		/* after a close delimiter the epilogue starts past its line end,
		 * which an empty epilogue cannot give back (Dovecot agrees) */
		size_t floor = p->epilogue_off > p->body_off ? p->epilogue_off : p->body_off;
		size_t e = before_line(ps, ps->pos, floor), l = ps->lines, bl = ps->barelf;

		if (e < inner_end)
			e = inner_end;
		if (e < ps->pos) {      /* the line end before ps->pos is not the part's */
			l--;
			bl -= ps->pos < 2 || ps->base[ps->pos - 2] != '\r';
		}
		finish_multipart(ps, p);
		close_part(p, e, l, bl);
		inner_end = e;
	}
	ps->cur = stop;
	ps->nlev = k + 1;
	if (stop->child == NULL)
		stop->preamble_end = before_line(ps, ps->pos, stop->body_off);
}

/* Compare the line at s (n bytes, line end excluded) with the open
 * boundaries; return the level (>= 0) and set *close, or -1. */
static int match_boundary(struct parser *ps, const char *s, size_t n, int *close)
{
	for (int k = ps->nlev - 1; k >= 0; k--) {
		const struct level *lv = &ps->lev[k];
		size_t i;

		if (n < 2 + lv->blen || memcmp(s + 2, lv->b, lv->blen) != 0)
			continue;
		i = 2 + lv->blen;
		*close = (n >= i + 2 && s[i] == '-' && s[i + 1] == '-');
		if (*close)
			i += 2;
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == n)
			return k;
		defect(ps, ps->lines + 1, MD_BOUNDARYTEXT, ps->cur);
	}
	return -1;
}

/* Step over the line at ps->pos (nl: its LF, or NULL for an unterminated
 * last line); return the start of the next line. */
static size_t advance(struct parser *ps, const char *nl)
{
	const char *s = ps->base + ps->pos, *e = nl ? nl : ps->base + ps->len;
	size_t n = (size_t)(e - s);

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n > RFC5322_LINE_MAX)
		defect(ps, ps->lines + 1, MD_LONGLINE, ps->cur);
	if (nl == NULL)
		return ps->len;
	ps->lines++;
	if (nl == s || nl[-1] != '\r')
		ps->barelf++;
	return (size_t)(nl - ps->base) + 1;
}

static void open_part(struct parser *ps, struct mime_part *parent);

/* Act on a boundary of level k (close: a close delimiter) on the line at
 * ps->pos, whose LF is nl. */
static void on_boundary(struct parser *ps, int k, int close, const char *nl)
{
	struct mime_part *mp = ps->lev[k].mp;

	end_inner(ps, k);
	ps->pos = advance(ps, nl);
	if (close) {
		mp->epilogue_off = ps->pos;
		ps->nlev = k;
		ps->st = ST_EPILOGUE;
	} else if (ps->m->nparts >= MIME_PARTS_MAX) {
		defect(ps, ps->lines, MD_TOOMANY, mp);
		mp->epilogue_off = ps->pos;
		ps->nlev = 0;           /* everything left is text of mp */
		ps->st = ST_EPILOGUE;
	} else {
		open_part(ps, mp);
	}
}

/* Scan body lines from ps->pos until a boundary (acted on) or the end. */
static void scan_body(struct parser *ps)
{
	const char *base = ps->base;

	while (ps->pos < ps->len) {
		const char *s = base + ps->pos;
		const char *nl = memchr(s, '\n', ps->len - ps->pos);
		size_t n = nl ? (size_t)(nl - s) : ps->len - ps->pos;
		int k, close;

		if (ps->nlev > 0 && n >= 2 && s[0] == '-' && s[1] == '-') {
			if (s[n - 1] == '\r')
				n--;
			if ((k = match_boundary(ps, s, n, &close)) >= 0) {
				on_boundary(ps, k, close, nl);
				return;
			}
		}
		ps->pos = advance(ps, nl);
	}
}

/* Start a part at ps->pos (after a delimiter, or an encapsulated message). */
static void open_part(struct parser *ps, struct mime_part *parent)
{
	struct mime_part *p = new_part(ps, parent);

	ps->cur = p;
	ps->st = ST_BODY;
	p->body_off = (size_t)-1;       /* header not read yet */
	p->hdr_wire = ps->barelf;       /* until begin_body: bare LFs before the header */
}

/* Read the header of ps->cur from ps->pos, stopping early at a boundary. */
static void scan_header(struct parser *ps)
{
	struct mime_part *p = ps->cur;

	while (ps->pos < ps->len) {
		const char *s = ps->base + ps->pos;
		const char *nl = memchr(s, '\n', ps->len - ps->pos);
		size_t n = nl ? (size_t)(nl + 1 - s) : ps->len - ps->pos;
		enum hdr_line kind = hdr_line_kind(s, n, NULL);
		int close;

		if (ps->nlev > 0 && n >= 2 && s[0] == '-' && s[1] == '-') {
			size_t ln = n - (nl != NULL);

			ln -= ln > 0 && s[ln - 1] == '\r';
			if (match_boundary(ps, s, ln, &close) >= 0)
				kind = HL_OTHER;        /* header ends; scan_body meets it */
		}
		if (kind == HL_OTHER || (kind == HL_CONT && ps->pos == p->off)) {
			p->flags |= MP_HDRNOBLANK;
			if (ps->pos != p->off)
				defect(ps, ps->lines + 1, MD_NOBLANK, p);
			return;
		}
		ps->pos = advance(ps, nl);
		if (kind == HL_BLANK)
			return;
	}
}

static int message_type(const struct mime_part *p)
{
	return strcmp(p->type, "message") == 0 &&
	    (strcmp(p->subtype, "rfc822") == 0 || strcmp(p->subtype, "global") == 0);
}

/* After a header: decide what the body is and set the walk up for it. */
static void begin_body(struct parser *ps)
{
	struct mime_part *p = ps->cur;
	int composite;

	p->body_off = ps->pos;
	p->body_line = ps->lines + 1;
	p->hdr_wire = (p->body_off - p->off) + (ps->barelf - p->hdr_wire);
	read_fields(ps, p);
	derive(p);
	/* body_lines and body_wire hold the counts at the body start until
	 * close_part turns them into differences */
	p->body_lines = ps->lines;
	p->body_wire = ps->barelf;
	composite = strcmp(p->type, "multipart") == 0 || message_type(p);
	if (composite && p->enc != ENC_7BIT && p->enc != ENC_8BIT && p->enc != ENC_BINARY)
		defect(ps, p->line, MD_CTECOMPOSITE, p);
	if (strcmp(p->type, "multipart") == 0) {
		if (p->boundary == NULL) {
			p->flags |= MP_NOPARTS;
			defect(ps, p->line, MD_NOBOUNDARY, p);
		} else if (!boundary_ok(p->boundary)) {
			defect(ps, p->line, MD_BADBOUNDARY, p);
		}
	}
	if (!composite || (strcmp(p->type, "multipart") == 0 && p->boundary == NULL) ||
	    (message_type(p) && (p->enc == ENC_BASE64 || p->enc == ENC_QP))) {
		ps->st = ST_BODY;
		return;
	}
	if (ps->nlev >= MIME_DEPTH_MAX || p->depth + 1 >= MIME_DEPTH_MAX ||
	    ps->m->nparts >= MIME_PARTS_MAX) {
		p->flags |= MP_DEEP;
		defect(ps, p->line, ps->m->nparts >= MIME_PARTS_MAX ? MD_TOOMANY : MD_DEEP, p);
		ps->st = ST_BODY;
		return;
	}
	if (p->boundary) {
		for (int k = 0; k < ps->nlev; k++)
			if (strncmp(p->boundary, ps->lev[k].b, ps->lev[k].blen) == 0)
				defect(ps, p->line, MD_NESTEDBOUNDARY, p);
		ps->lev[ps->nlev].mp = p;
		ps->lev[ps->nlev].b = p->boundary;
		ps->lev[ps->nlev].blen = strlen(p->boundary);
		ps->nlev++;
		ps->st = ST_PREAMBLE;
		return;
	}
	open_part(ps, p);               /* message/rfc822: the message follows */
	p->child->flags |= MP_MESSAGE;
}

void mime_parse(const char *base, size_t len, struct mime_msg *m)
{
	struct parser *ps = xcalloc(1, sizeof *ps);

	memset(m, 0, sizeof *m);
	m->base = base;
	m->len = len;
	ps->m = m;
	ps->base = base;
	ps->len = len;
	if (len >= 5 && memcmp(base, "From ", 5) == 0 &&      /* mbox envelope line, */
	    hdr_line_kind(base, len, NULL) != HL_FIELD)         /* not "From : x" */
		ps->pos = advance(ps, memchr(base, '\n', len));
	open_part(ps, NULL);
	ps->cur->flags |= MP_MESSAGE;
	for (;;) {
		if (ps->cur->body_off == (size_t)-1) {
			scan_header(ps);
			begin_body(ps);         /* may open an encapsulated message */
			continue;
		}
		if (ps->pos >= ps->len)
			break;
		scan_body(ps);
	}
	for (struct mime_part *p = ps->cur; p; p = p->parent) {
		finish_multipart(ps, p);
		close_part(p, len, ps->lines, ps->barelf);
	}
	free(ps);
}

void mime_free(struct mime_msg *m)
{
	struct mime_part *p = m->root, *n;

	for (; p; p = n) {
		n = p->order;
		for (size_t i = 0; i < p->nparams; i++) {
			free(p->params[i].name);
			free(p->params[i].value);
		}
		for (size_t i = 0; i < p->ndparams; i++) {
			free(p->dparams[i].name);
			free(p->dparams[i].value);
		}
		free(p->params);
		free(p->dparams);
		free(p->type);
		free(p->subtype);
		free(p->charset);
		free(p->boundary);
		free(p->enc_name);
		free(p->id);
		free(p->description);
		free(p->md5);
		free(p->language);
		free(p->location);
		free(p->disposition);
		free(p->filename);
		free(p);
	}
	free(m->defects);
	memset(m, 0, sizeof *m);
}

int mime_is_multipart(const struct mime_part *p)
{
	return p->child != NULL && strcmp(p->type, "multipart") == 0;
}

int mime_is_message(const struct mime_part *p)
{
	return p->child != NULL && message_type(p);
}

/* ---- parameters (RFC 2231) ---- */

const char *mime_param_raw(const struct mime_param *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i].name, name) == 0)
			return v[i].value;
	return NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Append the %XX-decoded s to raw (RFC 2231 4: extended-other-values). */
static void pct_decode(const char *s, struct buf *raw)
{
	for (; *s; s++) {
		if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			buf_addc(raw, hexval(s[1]) << 4 | hexval(s[2]));
			s += 2;
		} else {
			buf_addc(raw, *s);
		}
	}
}

/* Split "charset'lang'text": copy the charset to cs, return the text. */
static const char *ext_value(const char *s, char *cs, size_t cap)
{
	const char *q1 = strchr(s, '\''), *q2;
	size_t n;

	cs[0] = '\0';
	if (q1 == NULL || (q2 = strchr(q1 + 1, '\'')) == NULL)
		return s;
	n = (size_t)(q1 - s);
	if (n < cap) {
		memcpy(cs, s, n);
		cs[n] = '\0';
	}
	return q2 + 1;
}

/* Parameter v named "name*" or "name*N" or "name*N*": return N (0 for the
 * bare "name*"), set *ext when the value is extended, or -1. */
static long segment(const char *pname, const char *name, size_t nlen, int *ext)
{
	const char *s = pname + nlen;
	char *end;
	long k;

	if (strncasecmp(pname, name, nlen) != 0 || *s != '*')
		return -1;
	s++;
	if (*s == '\0') {
		*ext = 1;
		return 0;
	}
	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
		return -1;
	k = strtol(s, &end, 10);
	if (k > MIME_PARAMS_MAX)
		return -1;
	*ext = *end == '*';
	if (end[*ext] != '\0')
		return -1;
	return k;
}

/* Append the decoded p[0..n) to out with each NUL as U+FFFD: "%00" (RFC
 * 2231), "=00" (RFC 2047) or a UTF-16 zero would otherwise cut the value
 * short wherever it is used as a C string ("evil.exe%00.txt" saved as
 * "evil.exe" but shown whole). */
static void add_no_nul(struct buf *out, const struct buf *d)
{
	if (d->p != NULL && out->p == NULL)
		buf_add(out, "", 0);    /* an empty value is "", not NULL */
	for (size_t i = 0; i < d->len; i++)
		if (d->p[i] == '\0')
			buf_adds(out, "\xEF\xBF\xBD");
		else
			buf_addc(out, d->p[i]);
}

/* RFC 2231 3 and 4: join name*0, name*1... (or take name*). */
static int param_2231(const struct mime_param *v, size_t n, const char *name, struct buf *out)
{
	size_t nlen = strlen(name);
	char cs[CHARSET_NAME_MAX + 1] = "";
	struct buf raw = { 0 }, u = { 0 };
	int found = 0;

	for (long want = 0; want <= MIME_PARAMS_MAX; want++) {
		size_t i;
		int ext = 0;

		for (i = 0; i < n; i++)
			if (segment(v[i].name, name, nlen, &ext) == want)
				break;
		if (i == n)
			break;
		found = 1;
		if (ext) {
			const char *t = want == 0 ? ext_value(v[i].value, cs, sizeof cs) : v[i].value;

			pct_decode(t, &raw);
		} else {
			buf_adds(&raw, v[i].value);
		}
		if (strcasecmp(v[i].name + nlen, "*") == 0)
			break;
	}
	if (found) {
		charset_to_utf8(*cs ? cs : "utf-8", raw.p ? raw.p : "", raw.len, &u);
		add_no_nul(out, &u);
	}
	buf_free(&raw);
	buf_free(&u);
	return found;
}

int mime_param_get(const struct mime_param *v, size_t n, const char *name, struct buf *out)
{
	const char *plain;
	struct buf d = { 0 };

	if (param_2231(v, n, name, out))
		return 1;
	if ((plain = mime_param_raw(v, n, name)) == NULL)
		return 0;
	if (!utf8_valid(plain, strlen(plain))) {
		/* raw 8-bit from a legacy mailer: read it in the charset most
		 * such mail is in, as header fields are */
		struct buf w = { 0 };

		charset_to_utf8(MIME_LEGACY_CHARSET, plain, strlen(plain), &w);
		rfc2047_decode(w.p ? w.p : "", w.len, &d);
		buf_free(&w);
	} else {
		rfc2047_decode(plain, strlen(plain), &d);       /* also makes it valid UTF-8 */
	}
	add_no_nul(out, &d);
	buf_free(&d);
	return 1;
}

/* ---- decoding ---- */

#define DECODE_BLOCK (64 * 1024)

/* uudecode the body s[0..n) from its "begin" line to its "end" line (a
 * short line, its trailing blanks lost in transit, is read as padded with
 * zeros).  Without a "begin" line the body is given as it is, as Python's
 * email does.  Return out's first non-zero value; *bad is set when a line
 * is malformed or "end" is missing. */
static int uu_decode(const char *s, size_t n, int (*out)(void *, const char *, size_t),
    void *arg, char *tmp, size_t *bad)
{
	size_t i = 0, k = 0;
	int rc = 0, begun = 0;

	*bad = 1;
	while (i < n && rc == 0) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - s) : n, next = nl ? e + 1 : n, len;

		if (e > i && s[e - 1] == '\r')
			e--;
		if (!begun) {
			begun = e - i >= 6 && memcmp(s + i, "begin ", 6) == 0;
			i = next;
			continue;
		}
		if (e - i >= 3 && memcmp(s + i, "end", 3) == 0 && (e - i == 3 || s[i + 3] == ' ')) {
			*bad = 0;
			break;
		}
		len = e > i ? (size_t)((s[i] - ' ') & 077) : 0;
		for (size_t j = i + 1, got = 0; got < len; j += 4) {
			unsigned char c[4], b[3];

			for (int q = 0; q < 4; q++)
				c[q] = j + (size_t)q < e ? (unsigned char)((s[j + q] - ' ') & 077) : 0;
			b[0] = (unsigned char)(c[0] << 2 | c[1] >> 4);
			b[1] = (unsigned char)(c[1] << 4 | c[2] >> 2);
			b[2] = (unsigned char)(c[2] << 6 | c[3]);
			for (int q = 0; q < 3 && got < len; q++, got++)
				tmp[k++] = (char)b[q];
		}
		if (k > DECODE_BLOCK - 64) {
			rc = out(arg, tmp, k);
			k = 0;
		}
		i = next;
	}
	if (!begun)
		return n ? out(arg, s, n) : 0;
	if (rc == 0 && k)
		rc = out(arg, tmp, k);
	return rc;
}

int mime_decode(const struct mime_part *p, int (*out)(void *, const char *, size_t),
    void *arg, size_t *errors)
{
	const char *s = p->base + p->body_off;
	size_t n = p->end - p->body_off, bad = 0;
	char *tmp;
	int rc = 0;

	if (p->enc == ENC_UU) {
		tmp = xmalloc(DECODE_BLOCK + 16);
		rc = uu_decode(s, n, out, arg, tmp, &bad);
		free(tmp);
		if (errors)
			*errors = bad;
		return rc;
	}
	if (p->enc != ENC_BASE64 && p->enc != ENC_QP) {
		rc = n ? out(arg, s, n) : 0;
		if (errors)
			*errors = 0;
		return rc;
	}
	tmp = xmalloc(DECODE_BLOCK + 16);
	if (p->enc == ENC_BASE64) {
		struct b64_dec d;
		ssize_t k;

		/* RFC 2045 6.8: an "=" means the end of the data has been
		 * reached; what follows (a list footer, say) is not decoded,
		 * as Python's email does */
		const char *eq = memchr(s, '=', n);

		if (eq) {
			size_t m = (size_t)(eq - s);

			while (m < n && (s[m] == '=' || s[m] == '\r' || s[m] == '\n' ||
			    s[m] == ' ' || s[m] == '\t'))
				m++;
			n = m;
		}
		b64_dec_init(&d, 1);
		for (size_t i = 0; i < n && rc == 0; i += DECODE_BLOCK / 4 * 3) {
			size_t c = n - i < DECODE_BLOCK / 4 * 3 ? n - i : DECODE_BLOCK / 4 * 3;

			k = b64_dec_update(&d, s + i, c, (unsigned char *)tmp);
			if (k > 0)
				rc = out(arg, tmp, (size_t)k);
		}
		if (rc == 0 && (k = b64_dec_final(&d, (unsigned char *)tmp)) > 0)
			rc = out(arg, tmp, (size_t)k);
		bad = d.err != NULL || d.n != 0;
	} else {
		struct qp_dec d;
		ssize_t k;
		size_t chunk = DECODE_BLOCK / 2;

		qp_dec_init(&d, 1, 0);
		for (size_t i = 0; i < n && rc == 0; i += chunk) {
			size_t c = n - i < chunk ? n - i : chunk;

			k = qp_dec_update(&d, s + i, c, tmp);
			if (k > 0)
				rc = out(arg, tmp, (size_t)k);
		}
		if (rc == 0 && (k = qp_dec_final(&d, tmp)) > 0)
			rc = out(arg, tmp, (size_t)k);
		bad = d.err != NULL;
	}
	free(tmp);
	if (errors)
		*errors = bad;
	return rc;
}

void mime_section_name(const struct mime_part *p, struct buf *out)
{
	unsigned nums[2 * MIME_DEPTH_MAX + 4];
	int k = 0;

	buf_add(out, "", 0);
	/* RFC 3501 6.4.5: a message (root or encapsulated) whose body is not
	 * multipart has that body as part 1; a multipart body's parts are
	 * numbered 1...; an encapsulated message takes its part's number */
	for (; p && k < (int)(sizeof nums / sizeof nums[0]) - 1; p = p->parent) {
		const struct mime_part *c;
		unsigned i = 1;

		if (p->parent == NULL || mime_is_message(p->parent)) {
			if (!mime_is_multipart(p))
				nums[k++] = 1;
			continue;
		}
		for (c = p->parent->child; c && c != p; c = c->next)
			i++;
		nums[k++] = i;
	}
	while (k-- > 0)
		buf_printf(out, k ? "%u." : "%u", nums[k]);
}
