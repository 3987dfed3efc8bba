/* canon.c — DKIM canonicalisation (see canon.h). */
#include <ctype.h>
#include <string.h>

#include "canon.h"

static int wsp(char c)
{
	return c == ' ' || c == '\t';
}

int canon_parse(const char *s, enum canon *h, enum canon *b)
{
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	const char *bs = slash ? slash + 1 : "simple";

	if (hl == 6 && strncmp(s, "simple", 6) == 0)
		*h = CANON_SIMPLE;
	else if (hl == 7 && strncmp(s, "relaxed", 7) == 0)
		*h = CANON_RELAXED;
	else
		return -1;
	if (strcmp(bs, "simple") == 0)
		*b = CANON_SIMPLE;
	else if (strcmp(bs, "relaxed") == 0)
		*b = CANON_RELAXED;
	else
		return -1;
	return 0;
}

const char *canon_name(enum canon c)
{
	return c == CANON_RELAXED ? "relaxed" : "simple";
}

/* The canonical forms below are written straight into out's reserved
 * space, never longer than the input plus a line end: byte by byte
 * through buf_addc they were the largest cost of verifying a message. */

/* simple (3.4.1): the field unchanged, but bare LF line ends become CRLF,
 * since the signer saw the message on the wire. */
static void header_simple(const char *raw, size_t n, struct buf *out)
{
	char *d = buf_reserve(out, 2 * n + 2), *w = d;

	for (size_t i = 0; i < n; i++) {
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
			*w++ = '\r';
		*w++ = raw[i];
	}
	buf_commit(out, (size_t)(w - d));
	if (n == 0 || raw[n - 1] != '\n')
		buf_adds(out, "\r\n");
}

/* relaxed (3.4.2): name in lower case, value unfolded, runs of white
 * space made one space, white space around the colon and at the end gone. */
static void header_relaxed(const char *raw, size_t n, struct buf *out)
{
	const char *colon = memchr(raw, ':', n);
	char *d = buf_reserve(out, n + 3), *w = d, *start;
	size_t i, nl;
	int sp = 0;

	if (!colon)
		colon = raw + n;
	for (nl = (size_t)(colon - raw); nl > 0 && wsp(raw[nl - 1]); nl--)
		;
	for (i = 0; i < nl; i++)
		*w++ = (char)tolower((unsigned char)raw[i]);
	*w++ = ':';
	start = w;
	for (i = (size_t)(colon - raw) + 1; i < n; i++) {
		char c = raw[i];
		if (c == '\r' || c == '\n')
			continue;
		if (wsp(c)) {
			sp = 1;
			continue;
		}
		if (sp && w > start)
			*w++ = ' ';
		sp = 0;
		*w++ = c;
	}
	*w++ = '\r';
	*w++ = '\n';
	buf_commit(out, (size_t)(w - d));
}

void canon_header(const char *raw, size_t n, enum canon c, struct buf *out)
{
	if (c == CANON_RELAXED)
		header_relaxed(raw, n, out);
	else
		header_simple(raw, n, out);
}

/* One body line p[0..n) (line end excluded) as relaxed wants it. */
static void line_relaxed(const char *p, size_t n, struct buf *out)
{
	char *d, *w;
	int sp = 0;

	while (n > 0 && wsp(p[n - 1]))
		n--;
	d = w = buf_reserve(out, n);
	for (size_t i = 0; i < n; i++) {
		if (wsp(p[i])) {
			sp = 1;
			continue;
		}
		if (sp)
			*w++ = ' ';
		sp = 0;
		*w++ = p[i];
	}
	buf_commit(out, (size_t)(w - d));
}

void canon_body(const char *p, size_t n, enum canon c, struct buf *out)
{
	const char *end = p + n;
	size_t base = out->len, keep = out->len;

	buf_reserve(out, n + 2);        /* the usual size: grown once, not doubled up to it */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p), at = out->len;
		if (l > 0 && p[l - 1] == '\r')
			l--;
		if (c == CANON_RELAXED)
			line_relaxed(p, l, out);
		else
			buf_add(out, p, l);
		buf_adds(out, "\r\n");
		/* Trailing empty lines are dropped: remember where the last
		 * line with something on it ended. */
		if (out->len - 2 > at)
			keep = out->len;
		p = nl ? nl + 1 : end;
	}
	out->len = keep;
	out->p[keep] = '\0';
	if (c == CANON_SIMPLE && keep == base)
		buf_adds(out, "\r\n");
}
