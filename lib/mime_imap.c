/* mime_imap.c — what IMAP answers from a parsed message (RFC 3501 7.4.2,
 * 6.4.5): BODYSTRUCTURE, BODY, ENVELOPE, and section numbers to byte
 * ranges.  Declared in mime.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "header.h"
#include "mime.h"

/* ---- strings ---- */

void mime_nstring_n(const char *s, size_t n, struct buf *out)
{
	size_t i, nul = 0;
	int literal = 0;

	if (s == NULL) {
		buf_adds(out, "NIL");
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0)
			nul++;
		else if (c >= 0x80 || c == '\r' || c == '\n')
			literal = 1;
	}
	if (literal) {
		/* RFC 3501 4.3: a literal may hold any octet but NUL */
		buf_printf(out, "{%zu}\r\n", n - nul);
		for (i = 0; i < n; i++)
			if (s[i] != '\0')
				buf_addc(out, s[i]);
		return;
	}
	buf_addc(out, '"');
	for (i = 0; i < n; i++) {
		if (s[i] == '\0')
			continue;
		if (s[i] == '"' || s[i] == '\\')
			buf_addc(out, '\\');
		buf_addc(out, s[i]);
	}
	buf_addc(out, '"');
}

void mime_nstring(const char *s, struct buf *out)
{
	mime_nstring_n(s, s ? strlen(s) : 0, out);
}


/* Split an RFC 2231 name "base*N", "base*N*" or "base*": return the base
 * length and set *idx (-1 for "base*") and *ext, or return 0. */
static size_t split_2231(const char *name, long *idx, int *ext)
{
	const char *star = strchr(name, '*');
	char *end;

	if (star == NULL || star == name)
		return 0;
	*ext = 0;
	if (star[1] == '\0') {
		*idx = -1;
		*ext = 1;
		return (size_t)(star - name);
	}
	if (!isdigit((unsigned char)star[1]))
		return 0;
	*idx = strtol(star + 1, &end, 10);
	*ext = *end == '*';
	if (end[*ext] != '\0' || *idx > MIME_PARAMS_MAX)
		return 0;
	return (size_t)(star - name);
}

/* RFC 2231 7 attribute-char: what may stay unencoded in an extended value. */
static int attr_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && strchr("*'%()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Join the continuations of base (v[first] is its first piece) into one
 * parameter, extended ("base*" = charset''%XX...) if any piece is. */
static void join_2231(const struct mime_param *v, size_t n, size_t first, size_t blen,
    struct buf *out)
{
	struct buf val = { 0 };
	int anyext = 0, ext;
	long idx;

	for (size_t i = 0; i < n; i++)
		if (split_2231(v[i].name, &idx, &ext) == blen &&
		    strncasecmp(v[i].name, v[first].name, blen) == 0 && ext)
			anyext = 1;
	buf_add(&val, "", 0);
	for (long want = 0; want <= MIME_PARAMS_MAX; want++) {
		size_t i;

		for (i = 0; i < n; i++)
			if (split_2231(v[i].name, &idx, &ext) == blen && idx == want &&
			    strncasecmp(v[i].name, v[first].name, blen) == 0)
				break;
		if (i == n)
			break;
		if (ext || !anyext) {
			buf_adds(&val, v[i].value);
		} else {
			if (want == 0)
				buf_adds(&val, "''");
			for (const char *c = v[i].value; *c; c++)
				if (attr_char((unsigned char)*c))
					buf_addc(&val, *c);
				else
					buf_printf(&val, "%%%02X", (unsigned char)*c);
		}
	}
	buf_addc(out, '"');
	buf_add(out, v[first].name, blen);
	buf_adds(out, anyext ? "*\" " : "\" ");
	mime_nstring_n(val.p, val.len, out);
	buf_free(&val);
}

/* Whether p names a charset, plainly or as RFC 2231 "charset*"/"charset*N". */
static int has_charset(const struct mime_part *p)
{
	for (size_t i = 0; i < p->nparams; i++) {
		long idx;
		int ext;
		const char *nm = p->params[i].name;

		if (strcasecmp(nm, "charset") == 0 ||
		    (split_2231(nm, &idx, &ext) == 7 && strncasecmp(nm, "charset", 7) == 0))
			return 1;
	}
	return 0;
}

/* body-fld-param: as written, but RFC 2231 continuations joined (as
 * Dovecot does: clients do not all join them); a text part without a
 * charset gets charset=us-ascii (RFC 2045 5.2). */
static void params(const struct mime_param *v, size_t n, int ascii_default, struct buf *out)
{
	int k = 0;

	if (n == 0 && !ascii_default) {
		buf_adds(out, "NIL");
		return;
	}
	buf_addc(out, '(');
	for (size_t i = 0; i < n; i++) {
		long idx;
		int ext;
		size_t blen = split_2231(v[i].name, &idx, &ext), j;

		if (blen && idx >= 0) {
			for (j = 0; j < i; j++) {
				long idx2;
				int ext2;

				if (split_2231(v[j].name, &idx2, &ext2) == blen && idx2 >= 0 &&
				    strncasecmp(v[j].name, v[i].name, blen) == 0)
					break;
			}
			if (j < i)
				continue;       /* joined with an earlier piece */
		}
		if (k++)
			buf_addc(out, ' ');
		if (blen && idx >= 0) {
			join_2231(v, n, i, blen, out);
			continue;
		}
		mime_nstring(v[i].name, out);
		buf_addc(out, ' ');
		mime_nstring(v[i].value, out);
	}
	if (ascii_default)              /* after the others, as Dovecot puts it */
		buf_adds(out, k ? " \"charset\" \"us-ascii\"" : "\"charset\" \"us-ascii\"");
	buf_addc(out, ')');
}

static void disposition(const struct mime_part *p, struct buf *out)
{
	if (p->disposition == NULL) {
		buf_adds(out, "NIL");
		return;
	}
	buf_addc(out, '(');
	mime_nstring(p->disposition, out);
	buf_addc(out, ' ');
	params(p->dparams, p->ndparams, 0, out);
	buf_addc(out, ')');
}

/* body-fld-lang: one string, or a list for "en, fr". */
static void language(const char *l, struct buf *out)
{
	const char *s, *e;
	int n = 0;

	if (l == NULL || *l == '\0') {
		buf_adds(out, "NIL");
		return;
	}
	if (strchr(l, ',') == NULL) {
		mime_nstring(l, out);
		return;
	}
	buf_addc(out, '(');
	for (s = l; *s; s = *e ? e + 1 : e) {
		e = strchr(s, ',');
		if (e == NULL)
			e = s + strlen(s);
		while (s < e && isspace((unsigned char)*s))
			s++;
		size_t k = (size_t)(e - s);
		while (k > 0 && isspace((unsigned char)s[k - 1]))
			k--;
		if (k == 0)
			continue;
		if (n++)
			buf_addc(out, ' ');
		mime_nstring_n(s, k, out);
	}
	buf_addc(out, ')');
}

/* ---- BODYSTRUCTURE ---- */

static void ext_leaf(const struct mime_part *p, struct buf *out)
{
	buf_addc(out, ' ');
	mime_nstring(p->md5, out);
	buf_addc(out, ' ');
	disposition(p, out);
	buf_addc(out, ' ');
	language(p->language, out);
	buf_addc(out, ' ');
	mime_nstring(p->location, out);
}

static void leaf(const struct mime_part *p, int ext, struct buf *out)
{
	const char *type = p->type, *subtype = p->subtype;
	int text, msg = mime_is_message(p);

	/* a multipart without parts cannot be sent as multipart, a message
	 * we did not open cannot be sent as MESSAGE/RFC822 (the grammar wants
	 * its envelope and structure) */
	if (strcmp(type, "multipart") == 0)
		type = "text", subtype = "plain";
	else if (strcmp(type, "message") == 0 && !msg &&
	    (strcmp(subtype, "rfc822") == 0 || strcmp(subtype, "global") == 0))
		type = "application", subtype = "octet-stream";
	text = strcmp(type, "text") == 0;
	buf_addc(out, '(');
	mime_nstring(type, out);
	buf_addc(out, ' ');
	mime_nstring(subtype, out);
	buf_addc(out, ' ');
	params(p->params, p->nparams, text && !has_charset(p), out);
	buf_addc(out, ' ');
	mime_nstring(p->id, out);
	buf_addc(out, ' ');
	mime_nstring(p->description, out);
	buf_addc(out, ' ');
	mime_nstring(p->enc_name && *p->enc_name ? p->enc_name : "7bit", out);
	buf_printf(out, " %zu", p->body_wire);
	if (msg) {
		buf_addc(out, ' ');
		mime_envelope(p->child, out);
		buf_addc(out, ' ');
		mime_bodystructure(p->child, ext, out);
	}
	if (text || msg)
		buf_printf(out, " %zu", p->body_lines);
	if (ext)
		ext_leaf(p, out);
	buf_addc(out, ')');
}

void mime_bodystructure(const struct mime_part *p, int ext, struct buf *out)
{
	if (!mime_is_multipart(p)) {
		leaf(p, ext, out);
		return;
	}
	buf_addc(out, '(');
	for (const struct mime_part *c = p->child; c; c = c->next)
		mime_bodystructure(c, ext, out);
	buf_addc(out, ' ');
	mime_nstring(p->subtype, out);
	if (ext) {
		buf_addc(out, ' ');
		params(p->params, p->nparams, 0, out);
		buf_addc(out, ' ');
		disposition(p, out);
		buf_addc(out, ' ');
		language(p->language, out);
		buf_addc(out, ' ');
		mime_nstring(p->location, out);
	}
	buf_addc(out, ')');
}

/* ---- ENVELOPE ---- */

static int field(const struct mime_part *m, const char *name, struct buf *v)
{
	v->len = 0;
	return hdr_get(m->base + m->off, m->body_off - m->off, name, v);
}

static void env_string(const struct mime_part *m, const char *name, struct buf *out)
{
	struct buf v = { 0 };

	if (field(m, name, &v))
		mime_nstring_n(v.p, v.len, out);
	else
		buf_adds(out, "NIL");
	buf_free(&v);
}

/* The address list of field name; 0 if absent or empty (then nothing is
 * appended). */
static int env_addrs(const struct mime_part *m, const char *name, struct buf *out)
{
	struct buf v = { 0 };
	struct addr_list l = { 0 };

	if (field(m, name, &v))
		addr_parse(v.p, v.len, &l);
	buf_free(&v);
	if (l.n == 0)
		return 0;
	buf_addc(out, '(');
	for (size_t i = 0; i < l.n; i++) {
		const struct addr *a = &l.v[i];

		buf_addc(out, '(');
		if (a->kind == ADDR_MAILBOX) {
			mime_nstring(a->name, out);
			buf_addc(out, ' ');
			mime_nstring(a->route, out);
			buf_addc(out, ' ');
			mime_nstring(a->local ? a->local : "", out);
			buf_addc(out, ' ');
			mime_nstring(a->domain ? a->domain : "MISSING_DOMAIN", out);
		} else if (a->kind == ADDR_GROUP) {
			buf_adds(out, "NIL NIL ");
			mime_nstring(a->name ? a->name : "", out);
			buf_adds(out, " NIL");
		} else {
			buf_adds(out, "NIL NIL NIL NIL");
		}
		buf_addc(out, ')');
	}
	buf_addc(out, ')');
	addr_list_free(&l);
	return 1;
}

static void env_addr_field(const struct mime_part *m, const char *name, const char *fallback,
    struct buf *out)
{
	if (env_addrs(m, name, out))
		return;
	if (fallback == NULL || !env_addrs(m, fallback, out))
		buf_adds(out, "NIL");
}

void mime_envelope(const struct mime_part *m, struct buf *out)
{
	buf_addc(out, '(');
	env_string(m, "Date", out);
	buf_addc(out, ' ');
	env_string(m, "Subject", out);
	buf_addc(out, ' ');
	env_addr_field(m, "From", NULL, out);
	buf_addc(out, ' ');
	env_addr_field(m, "Sender", "From", out);           /* RFC 3501 7.4.2 */
	buf_addc(out, ' ');
	env_addr_field(m, "Reply-To", "From", out);
	buf_addc(out, ' ');
	env_addr_field(m, "To", NULL, out);
	buf_addc(out, ' ');
	env_addr_field(m, "Cc", NULL, out);
	buf_addc(out, ' ');
	env_addr_field(m, "Bcc", NULL, out);
	buf_addc(out, ' ');
	env_string(m, "In-Reply-To", out);
	buf_addc(out, ' ');
	env_string(m, "Message-ID", out);
	buf_addc(out, ')');
}

/* ---- sections ---- */

static const struct mime_part *nth_child(const struct mime_part *p, unsigned long n)
{
	const struct mime_part *c = p->child;

	while (c && --n > 0)
		c = c->next;
	return c;
}

/* Part n of message m (root or encapsulated). */
static const struct mime_part *msg_sub(const struct mime_part *m, unsigned long n)
{
	if (mime_is_multipart(m))
		return nth_child(m, n);
	return n == 1 ? m : NULL;
}

/* Part n inside part p (its multipart body or its encapsulated message). */
static const struct mime_part *part_sub(const struct mime_part *p, unsigned long n)
{
	if (mime_is_multipart(p))
		return nth_child(p, n);
	if (mime_is_message(p))
		return msg_sub(p->child, n);
	return NULL;
}

/* Match keyword kw at s (case-insensitive, not followed by a name char). */
static int keyword(const char *s, const char *kw)
{
	size_t n = strlen(kw);

	return strncasecmp(s, kw, n) == 0 && !isalnum((unsigned char)s[n]) && s[n] != '.';
}

static const struct { const char *kw; enum mime_spec spec; } spec_kw[] = {
	{ "HEADER.FIELDS.NOT", SPEC_FIELDS_NOT }, { "HEADER.FIELDS", SPEC_FIELDS },
	{ "HEADER", SPEC_HEADER }, { "TEXT", SPEC_TEXT }, { "MIME", SPEC_MIME },
};

/* Parse "1.2.3": return the part (NULL if none), advance *sp; -1 on error. */
static int parse_numbers(const struct mime_part *root, const char **sp,
    const struct mime_part **part, int *have)
{
	const char *s = *sp;
	const struct mime_part *p = root;

	*have = 0;
	while (isdigit((unsigned char)*s)) {
		char *end;
		unsigned long n = strtoul(s, &end, 10);

		if (n == 0 || *s == '0' || end - s > 9)
			return -1;
		if (p)
			p = *have ? part_sub(p, n) : msg_sub(root, n);
		*have = 1;
		s = end;
		if (*s == '.' && isdigit((unsigned char)s[1]))
			s++;
		else
			break;
	}
	*sp = s;
	*part = p;
	return 0;
}

int mime_section(const struct mime_part *root, const char *section, struct mime_range *r)
{
	const char *s = section;
	const struct mime_part *p, *msg;
	int have, i, n = (int)(sizeof spec_kw / sizeof spec_kw[0]);

	memset(r, 0, sizeof *r);
	if (parse_numbers(root, &s, &p, &have) < 0)
		return SECT_BAD;
	r->spec = SPEC_BODY;
	if (have && *s == '.') {
		if (*++s == '\0' || *s == ' ' || *s == ']')
			return SECT_BAD;        /* "1." */
	} else if (have && *s && *s != ' ' && *s != ']') {
		return SECT_BAD;
	}
	if (*s && *s != ' ' && *s != ']') {
		for (i = 0; i < n && !keyword(s, spec_kw[i].kw); i++)
			;
		if (i == n || (spec_kw[i].spec == SPEC_MIME && !have))
			return SECT_BAD;
		r->spec = spec_kw[i].spec;
		s += strlen(spec_kw[i].kw);
	}
	r->rest = s;
	if (p == NULL)
		return SECT_NONE;
	r->part = p;
	if (r->spec == SPEC_BODY) {
		r->off = have ? p->body_off : p->off;
		r->len = p->end - r->off;
		return SECT_OK;
	}
	if (r->spec == SPEC_MIME) {
		r->off = p->off;
		r->len = p->body_off - p->off;
		return SECT_OK;
	}
	msg = have ? (mime_is_message(p) ? p->child : NULL) : root;
	if (msg == NULL)
		return SECT_NONE;
	r->off = r->spec == SPEC_TEXT ? msg->body_off : msg->off;
	r->len = r->spec == SPEC_TEXT ? msg->end - msg->body_off : msg->body_off - msg->off;
	return SECT_OK;
}

size_t mime_wire_len(const char *p, size_t n)
{
	const char *s = p, *end = p + n, *nl;
	size_t k = n;

	while (s < end && (nl = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		if (nl == p || nl[-1] != '\r')
			k++;
		s = nl + 1;
	}
	return k;
}

void mime_wire_copy(const char *p, size_t n, struct buf *out)
{
	const char *s = p, *end = p + n, *nl;

	buf_reserve(out, n);
	while (s < end && (nl = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		if (nl == p || nl[-1] != '\r') {
			buf_add(out, s, (size_t)(nl - s));
			buf_add(out, "\r\n", 2);
		} else {
			buf_add(out, s, (size_t)(nl + 1 - s));
		}
		s = nl + 1;
	}
	buf_add(out, s, (size_t)(end - s));
}
