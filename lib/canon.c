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

/* simple (3.4.1): the field unchanged, but bare LF line ends become CRLF,
 * since the signer saw the message on the wire. */
static void header_simple(const char *raw, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
			buf_addc(out, '\r');
		buf_addc(out, raw[i]);
	}
	if (n == 0 || raw[n - 1] != '\n')
		buf_adds(out, "\r\n");
}

/* relaxed (3.4.2): name in lower case, value unfolded, runs of white
 * space made one space, white space around the colon and at the end gone. */
static void header_relaxed(const char *raw, size_t n, struct buf *out)
{
	const char *colon = memchr(raw, ':', n);
	size_t i, nl, start;
	int sp = 0;

	if (!colon)
		colon = raw + n;
	for (nl = (size_t)(colon - raw); nl > 0 && wsp(raw[nl - 1]); nl--)
		;
	for (i = 0; i < nl; i++)
		buf_addc(out, tolower((unsigned char)raw[i]));
	buf_addc(out, ':');
	start = out->len;
	for (i = (size_t)(colon - raw) + 1; i < n; i++) {
		char c = raw[i];
		if (c == '\r' || c == '\n')
			continue;
		if (wsp(c)) {
			sp = 1;
			continue;
		}
		if (sp && out->len > start)
			buf_addc(out, ' ');
		sp = 0;
		buf_addc(out, c);
	}
	buf_adds(out, "\r\n");
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
	int sp = 0;

	while (n > 0 && wsp(p[n - 1]))
		n--;
	for (size_t i = 0; i < n; i++) {
		if (wsp(p[i])) {
			sp = 1;
			continue;
		}
		if (sp)
			buf_addc(out, ' ');
		sp = 0;
		buf_addc(out, p[i]);
	}
}

void canon_body(const char *p, size_t n, enum canon c, struct buf *out)
{
	const char *end = p + n;
	size_t base = out->len, keep = out->len;

	buf_adds(out, "");
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
