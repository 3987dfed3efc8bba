/* html.c — text/html rendered as plain text for a terminal: tags dropped,
 * blocks on their own lines, list items bulleted, links shown after their
 * text, entities decoded, script and style skipped, white space collapsed
 * outside <pre>.  Not a browser: enough to read a newsletter. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mimecat.h"

#define TAG_NAME_MAX 16
#define HREF_MAX     2048

struct html {
	struct buf *out;
	int pre;                /* inside <pre> */
	int space;              /* a space is pending */
	int newlines;           /* line ends at the end of out (0..2) */
	char href[HREF_MAX];    /* of the open <a> */
};

static void put_utf8(struct buf *b, unsigned long cp)
{
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		buf_addc(b, (int)cp);
	} else if (cp < 0x800) {
		buf_addc(b, 0xc0 | (int)(cp >> 6));
		buf_addc(b, 0x80 | (int)(cp & 0x3f));
	} else if (cp < 0x10000) {
		buf_addc(b, 0xe0 | (int)(cp >> 12));
		buf_addc(b, 0x80 | (int)((cp >> 6) & 0x3f));
		buf_addc(b, 0x80 | (int)(cp & 0x3f));
	} else {
		buf_addc(b, 0xf0 | (int)(cp >> 18));
		buf_addc(b, 0x80 | (int)((cp >> 12) & 0x3f));
		buf_addc(b, 0x80 | (int)((cp >> 6) & 0x3f));
		buf_addc(b, 0x80 | (int)(cp & 0x3f));
	}
}

static void text(struct html *h, const char *s, size_t n)
{
	if (n == 0)
		return;
	if (h->space && h->newlines == 0 && h->out->len > 0)
		buf_addc(h->out, ' ');
	h->space = 0;
	buf_add(h->out, s, n);
	h->newlines = s[n - 1] == '\n';
}

static void newline(struct html *h, int want)
{
	if (h->out->len == 0)
		return;
	while (h->newlines < want) {
		buf_addc(h->out, '\n');
		h->newlines++;
	}
	h->space = 0;
}

/* Decode the entity at s (after '&'); append it, return bytes used or 0. */
static size_t entity(const char *s, size_t n, struct buf *o)
{
	static const struct { const char *name; unsigned long cp; } ent[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
		{ "nbsp", ' ' }, { "copy", 0xa9 }, { "reg", 0xae }, { "hellip", 0x2026 },
		{ "mdash", 0x2014 }, { "ndash", 0x2013 }, { "rsquo", 0x2019 }, { "lsquo", 0x2018 },
		{ "rdquo", 0x201d }, { "ldquo", 0x201c }, { "euro", 0x20ac }, { "bull", 0x2022 },
		{ "eacute", 0xe9 }, { "egrave", 0xe8 }, { "agrave", 0xe0 }, { "ccedil", 0xe7 },
		{ "uuml", 0xfc }, { "ouml", 0xf6 }, { "auml", 0xe4 }, { "szlig", 0xdf },
		{ "zwnj", 0x200c }, { "shy", 0xad }, { "trade", 0x2122 }, { "middot", 0xb7 },
	};
	size_t i = 0;

	if (n > 0 && s[0] == '#') {
		unsigned long cp = 0;
		int hex = n > 1 && (s[1] == 'x' || s[1] == 'X');

		for (i = hex ? 2 : 1; i < n && i < 10; i++) {
			int c = s[i], d;

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
				d = (c | 0x20) - 'a' + 10;
			else
				break;
			cp = cp * (hex ? 16 : 10) + (unsigned long)d;
		}
		if (i == (size_t)(hex ? 2 : 1))
			return 0;
		put_utf8(o, cp == 0xa0 ? ' ' : cp);
		return i < n && s[i] == ';' ? i + 1 : i;
	}
	for (size_t k = 0; k < sizeof ent / sizeof ent[0]; k++) {
		size_t l = strlen(ent[k].name);

		if (l <= n && strncmp(s, ent[k].name, l) == 0) {
			put_utf8(o, ent[k].cp);
			return l < n && s[l] == ';' ? l + 1 : l;
		}
	}
	return 0;
}

/* Text between tags, white space collapsed unless in <pre>. */
static void chars(struct html *h, const char *s, size_t n)
{
	struct buf t = { 0 };

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!h->pre && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
			if (t.len)
				text(h, t.p, t.len);
			t.len = 0;
			h->space = 1;
			continue;
		}
		if (c == '&') {
			size_t k = entity(s + i + 1, n - i - 1, &t);

			if (k) {
				i += k;
				continue;
			}
		}
		if (c != '\r')
			buf_addc(&t, c);
	}
	if (t.len)
		text(h, t.p, t.len);
	buf_free(&t);
}

/* The value of attribute name in the tag text a[0..n), into v. */
static void attr(const char *a, size_t n, const char *name, char *v, size_t cap)
{
	size_t l = strlen(name);

	v[0] = '\0';
	for (size_t i = 0; i + l < n; i++) {
		if (strncasecmp(a + i, name, l) != 0 || (i > 0 && a[i - 1] != ' ' &&
		    a[i - 1] != '\t' && a[i - 1] != '\n') || a[i + l] != '=')
			continue;
		size_t j = i + l + 1, k = 0;
		char q = (j < n && (a[j] == '"' || a[j] == '\'')) ? a[j++] : ' ';

		while (j < n && a[j] != q && a[j] != '>' && k + 1 < cap)
			v[k++] = a[j++];
		v[k] = '\0';
		return;
	}
}

static void tag(struct html *h, const char *a, size_t n, const char **skip_to)
{
	char name[TAG_NAME_MAX + 1];
	size_t k = 0, i = 0;
	int close = 0;

	if (i < n && a[i] == '/')
		close = 1, i++;
	while (i < n && k < TAG_NAME_MAX && a[i] != ' ' && a[i] != '>' && a[i] != '/' &&
	    a[i] != '\t' && a[i] != '\n' && a[i] != '\r')
		name[k++] = (char)(a[i++] | 0x20);
	name[k] = '\0';
	if (!close && (strcmp(name, "script") == 0 || strcmp(name, "style") == 0 ||
	    strcmp(name, "head") == 0 || strcmp(name, "title") == 0)) {
		*skip_to = name[1] == 'c' ? "</script" : name[1] == 't' ? "</style" :
		    name[0] == 'h' ? "</head" : "</title";
		return;
	}
	if (strcmp(name, "br") == 0) {
		buf_addc(h->out, '\n');
		h->newlines = h->newlines < 2 ? h->newlines + 1 : 2;
		h->space = 0;
	} else if (strcmp(name, "li") == 0 && !close) {
		newline(h, 1);
		text(h, "* ", 2);
	} else if (strcmp(name, "pre") == 0) {
		newline(h, 2);
		h->pre = !close;
	} else if (strcmp(name, "a") == 0) {
		if (!close) {
			attr(a, n, "href", h->href, sizeof h->href);
		} else if (h->href[0] && strncasecmp(h->href, "mailto:", 7) != 0) {
			char t[HREF_MAX + 4];

			snprintf(t, sizeof t, "<%s>", h->href);
			h->space = 1;
			text(h, t, strlen(t));
			h->href[0] = '\0';
		}
	} else if (strcmp(name, "p") == 0 || strcmp(name, "div") == 0 || strcmp(name, "table") == 0 ||
	    strcmp(name, "ul") == 0 || strcmp(name, "ol") == 0 || strcmp(name, "blockquote") == 0 ||
	    (name[0] == 'h' && name[1] >= '1' && name[1] <= '6' && name[2] == '\0') ||
	    strcmp(name, "hr") == 0) {
		newline(h, 2);
	} else if (strcmp(name, "tr") == 0 || strcmp(name, "dd") == 0 || strcmp(name, "dt") == 0) {
		newline(h, 1);
	} else if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0) {
		h->space = 1;
	} else if (strcmp(name, "img") == 0) {
		char alt[256];

		attr(a, n, "alt", alt, sizeof alt);
		if (alt[0]) {
			h->space = 1;
			chars(h, alt, strlen(alt));
		}
	}
}

void mc_html_to_text(const char *s, size_t n, struct buf *out)
{
	struct html h = { .out = out, .newlines = 2 };
	const char *p = s, *end = s + n, *skip = NULL;

	buf_add(out, "", 0);
	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p)), *gt;

		if (skip) {             /* inside script/style: find its end tag */
			size_t l = strlen(skip);

			for (; lt && lt + l <= end; lt = memchr(lt + 1, '<', (size_t)(end - lt - 1)))
				if (strncasecmp(lt, skip, l) == 0)
					break;
			if (lt == NULL || lt + l > end)
				break;
			skip = NULL;
			p = lt;
			continue;
		}
		if (lt == NULL) {
			chars(&h, p, (size_t)(end - p));
			break;
		}
		chars(&h, p, (size_t)(lt - p));
		if (lt + 4 <= end && strncmp(lt, "<!--", 4) == 0) {
			const char *e = memmem(lt + 4, (size_t)(end - lt - 4), "-->", 3);

			p = e ? e + 3 : end;
			continue;
		}
		if ((gt = memchr(lt, '>', (size_t)(end - lt))) == NULL)
			break;
		tag(&h, lt + 1, (size_t)(gt - lt - 1), &skip);
		p = gt + 1;
	}
	while (out->len > 0 && (out->p[out->len - 1] == '\n' || out->p[out->len - 1] == ' '))
		out->len--;
	buf_add(out, "\n", 1);
}
