/* addr.c — RFC 5322 address lists (see addr.h).
 *
 * A small tokenizer (atoms, quoted strings, domain literals, specials;
 * comments and white space skipped) and a recursive-descent parser with no
 * recursion: group nesting is not allowed by the grammar, so one flag
 * suffices.  Broken lists are common (missing '>', stray commas, bare
 * names), so every error counts and parsing goes on at the next ','. */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"

enum tok { T_END, T_ATOM, T_QUOTED, T_LITERAL, T_SPECIAL };

struct lex {
	const char *p, *end;
	enum tok kind;
	struct buf text;        /* the token: atom as is, quoted string unquoted */
	int c;                  /* the special character */
	int errors;
	struct buf comment;     /* text of the last comment skipped */
};

/* RFC 5322 3.2.3 atext, plus '.' (dot-atom and obs-phrase) and 8-bit (RFC 6532). */
static int atext(unsigned char c)
{
	if (c >= 0x80)
		return 1;
	if (c <= ' ' || c == 0x7f)
		return 0;
	return strchr("()<>[]:;@\\,\"", c) == NULL;
}

static void skip_cfws(struct lex *x)
{
	int depth = 0;

	while (x->p < x->end) {
		char c = *x->p;

		if (depth > 0 && c == '\\' && x->p + 1 < x->end) {
			buf_addc(&x->comment, x->p[1]);
			x->p += 2;
			continue;
		}
		if (c == '(') {
			if (depth++ == 0)
				x->comment.len = 0;
			else
				buf_addc(&x->comment, c);
		} else if (c == ')' && depth > 0) {
			if (--depth > 0)
				buf_addc(&x->comment, c);
		} else if (depth > 0) {
			if (c != '\r' && c != '\n')
				buf_addc(&x->comment, c);
		} else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			return;
		}
		x->p++;
	}
	if (depth > 0)
		x->errors++;    /* unclosed comment */
}

/* Read a quoted string or domain literal ending in close; unescape. */
static void read_delimited(struct lex *x, char close)
{
	x->p++;
	while (x->p < x->end && *x->p != close) {
		if (*x->p == '\\' && x->p + 1 < x->end)
			x->p++;
		if (*x->p != '\r' && *x->p != '\n')
			buf_addc(&x->text, *x->p);
		x->p++;
	}
	if (x->p < x->end)
		x->p++;
	else
		x->errors++;
}

static void next(struct lex *x)
{
	x->text.len = 0;
	buf_add(&x->text, "", 0);
	x->text.p[0] = '\0';
	skip_cfws(x);
	if (x->p >= x->end) {
		x->kind = T_END;
		return;
	}
	if (*x->p == '"') {
		x->kind = T_QUOTED;
		read_delimited(x, '"');
	} else if (*x->p == '[') {
		x->kind = T_LITERAL;
		buf_addc(&x->text, '[');
		read_delimited(x, ']');
		buf_addc(&x->text, ']');
	} else if (atext((unsigned char)*x->p)) {
		const char *s = x->p;

		while (x->p < x->end && atext((unsigned char)*x->p))
			x->p++;
		x->kind = T_ATOM;
		buf_add(&x->text, s, (size_t)(x->p - s));
	} else {
		x->kind = T_SPECIAL;
		x->c = *x->p++;
	}
}

static int is_special(const struct lex *x, int c)
{
	return x->kind == T_SPECIAL && x->c == c;
}

static char *take(struct buf *b)
{
	return b->len ? buf_take(b) : (buf_free(b), NULL);
}

static struct addr *push(struct addr_list *l, enum addr_kind kind)
{
	struct addr *a;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	a = &l->v[l->n++];
	memset(a, 0, sizeof *a);
	a->kind = kind;
	return a;
}

/* Append the quoted-string text q to a local part, quoted again if needed. */
static void add_local_word(struct buf *b, const struct lex *x)
{
	if (x->kind != T_QUOTED) {
		buf_add(b, x->text.p, x->text.len);
		return;
	}
	buf_addc(b, '"');
	for (size_t i = 0; i < x->text.len; i++) {
		if (x->text.p[i] == '"' || x->text.p[i] == '\\')
			buf_addc(b, '\\');
		buf_addc(b, x->text.p[i]);
	}
	buf_addc(b, '"');
}

/* After '@': the domain, atoms and literals up to a delimiter. */
static char *parse_domain(struct lex *x)
{
	struct buf d = { 0 };

	while (x->kind == T_ATOM || x->kind == T_LITERAL || is_special(x, '.')) {
		buf_add(&d, x->text.p, x->text.len);
		next(x);
	}
	if (d.len == 0)
		x->errors++;
	return take(&d);
}

/* Inside "<...>": [route ":"] local "@" domain, then '>'. */
static void parse_angle(struct lex *x, struct addr *a)
{
	struct buf local = { 0 }, route = { 0 };

	next(x);
	while (is_special(x, '@') || (is_special(x, ',') && route.len)) {   /* obs-route */
		buf_addc(&route, x->c);
		next(x);
		if (route.p[route.len - 1] == '@') {
			char *d = parse_domain(x);

			if (d)
				buf_adds(&route, d);
			free(d);
		}
		if (is_special(x, ':')) {
			next(x);
			break;
		}
	}
	while (x->kind == T_ATOM || x->kind == T_QUOTED) {
		add_local_word(&local, x);
		next(x);
	}
	a->route = take(&route);
	a->local = take(&local);
	if (is_special(x, '@')) {
		next(x);
		a->domain = parse_domain(x);
	} else {
		x->errors++;    /* no domain, or "<>" (a null path, not an address) */
	}
	if (is_special(x, '>'))
		next(x);
	else
		x->errors++;
}

/* One mailbox, or a group when allow_group; stops before ',' ';' or end. */
static void parse_address(struct lex *x, struct addr_list *l, int *in_group)
{
	struct buf phrase = { 0 }, local = { 0 };
	struct addr *a;
	int words = 0;

	/* the words before < : or @ are a display name or a local part */
	while (x->kind == T_ATOM || x->kind == T_QUOTED) {
		if (phrase.len)
			buf_addc(&phrase, ' ');
		buf_add(&phrase, x->text.p, x->text.len);
		add_local_word(&local, x);
		words++;
		next(x);
	}
	if (is_special(x, ':') && !*in_group) {
		buf_free(&local);
		a = push(l, ADDR_GROUP);
		a->name = take(&phrase);
		*in_group = 1;
		next(x);
		return;
	}
	if (is_special(x, '<')) {
		buf_free(&local);
		a = push(l, ADDR_MAILBOX);
		a->name = take(&phrase);
		parse_angle(x, a);
		return;
	}
	buf_free(&phrase);
	if (words == 0 && !is_special(x, '@')) {
		buf_free(&local);
		x->errors++;
		return;
	}
	a = push(l, ADDR_MAILBOX);
	a->local = take(&local);
	if (is_special(x, '@')) {
		x->comment.len = 0;
		next(x);
		a->domain = parse_domain(x);
		/* "user@host (Full Name)": the comment names the mailbox, as
		 * Dovecot and Python's parseaddr take it */
		if (x->comment.len)
			a->name = xstrndup(x->comment.p, x->comment.len);
	} else {
		x->errors++;    /* a bare word: no domain */
	}
	if (words > 1 && a->local && strchr(a->local, ' '))
		x->errors++;    /* "john doe@x": words not dotted */
}

/* Whether the last entry just opened a group (its mailboxes follow). */
static int in_group_start(const struct addr_list *l, int in_group)
{
	return in_group && l->n > 0 && l->v[l->n - 1].kind == ADDR_GROUP;
}

int addr_parse(const char *in, size_t n, struct addr_list *l)
{
	struct lex x = { .p = in, .end = in + n };
	int in_group = 0;

	next(&x);
	while (x.kind != T_END && l->n < ADDR_MAX) {
		if (is_special(&x, ',')) {
			next(&x);
			continue;
		}
		if (is_special(&x, ';')) {
			if (in_group)
				push(l, ADDR_GROUP_END);
			else
				x.errors++;
			in_group = 0;
			next(&x);
			continue;
		}
		{
			const char *before = x.p;
			enum tok kind = x.kind;

			parse_address(&x, l, &in_group);
			if (x.p == before && x.kind == kind) {   /* nothing taken: skip one token */
				x.errors++;
				next(&x);
			}
		}
		/* whatever is left of a broken address, up to the next ',' or ';' */
		while (!in_group_start(l, in_group) && x.kind != T_END &&
		    !is_special(&x, ',') && !is_special(&x, ';')) {
			x.errors++;
			next(&x);
		}
	}
	if (in_group) {
		push(l, ADDR_GROUP_END);
		x.errors++;
	}
	buf_free(&x.text);
	buf_free(&x.comment);
	return x.errors;
}

void addr_list_free(struct addr_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].route);
		free(l->v[i].local);
		free(l->v[i].domain);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

void addr_spec(const struct addr *a, struct buf *out)
{
	if (a->local)
		buf_adds(out, a->local);
	if (a->domain) {
		buf_addc(out, '@');
		buf_adds(out, a->domain);
	}
	buf_add(out, "", 0);
}

size_t addr_count(const struct addr_list *l)
{
	size_t k = 0;

	for (size_t i = 0; i < l->n; i++)
		k += l->v[i].kind == ADDR_MAILBOX;
	return k;
}
