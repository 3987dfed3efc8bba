/* reply.c — SMTP replies (RFC 5321 4.2) and EHLO capabilities.
 *
 * A reply is one or more lines "ddd-text" ending with "ddd text" (or a
 * bare "ddd"); every line carries the same code.  An enhanced status code
 * (RFC 3463, RFC 2034) after the code is kept apart from the text. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "send.h"

void reply_reset(struct reply *r)
{
	r->code = 0;
	r->enh[0] = '\0';
	r->nlines = 0;
	r->done = 0;
	r->text.len = 0;
	if (r->text.p)
		r->text.p[0] = '\0';
}

void reply_free(struct reply *r)
{
	buf_free(&r->text);
	reply_reset(r);
}

/* Length of an enhanced status code "c.sss.ddd" at s (class must match
 * the reply's first digit), followed by a space or the end; else 0. */
static size_t enh_len(const char *s, size_t n, int cls)
{
	size_t i = 0, k;

	if (n < 5 || s[0] != cls || s[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		for (k = 0; i < n && k < 4 && isdigit((unsigned char)s[i]); i++, k++)
			;
		if (k == 0 || k > 3)
			return 0;
		if (part == 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && s[i] != ' ')
		return 0;
	return i;
}

static int code_of(const char *s, size_t n)
{
	if (n < 3 || s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '5' ||
	    !isdigit((unsigned char)s[2]))
		return -1;
	if (n > 3 && s[3] != ' ' && s[3] != '-')
		return -1;
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

enum reply_rc reply_feed(struct reply *r, const char *line, size_t len, const char **why)
{
	int code = code_of(line, len), last;
	const char *t;
	size_t tl, el;

	*why = NULL;
	if (r->done)
		reply_reset(r);
	if (code < 0) {
		*why = "not an SMTP reply line";
		return REPLY_BAD;
	}
	if (r->code != 0 && code != r->code) {
		*why = "reply code changes within a multi-line reply";
		return REPLY_BAD;
	}
	if (++r->nlines > SEND_REPLY_LINES_MAX || r->text.len + len > SEND_REPLY_TEXT_MAX) {
		*why = "reply too long";
		return REPLY_BAD;
	}
	if (memchr(line, '\0', len)) {
		*why = "NUL byte in reply";
		return REPLY_BAD;
	}
	last = len == 3 || line[3] == ' ';
	t = len > 4 ? line + 4 : "";
	tl = len > 4 ? len - 4 : 0;
	if ((el = enh_len(t, tl, line[0])) > 0) {
		if (r->code == 0 && el < sizeof r->enh) {
			memcpy(r->enh, t, el);
			r->enh[el] = '\0';
		}
		t += el;
		tl -= el;
		if (tl > 0 && *t == ' ')
			t++, tl--;
	}
	r->code = code;
	if (r->nlines > 1)
		buf_addc(&r->text, '\n');
	buf_add(&r->text, t, tl);
	if (r->text.p == NULL)
		buf_adds(&r->text, "");
	r->done = last;
	return last ? REPLY_DONE : REPLY_MORE;
}

void reply_summary(const struct reply *r, char *out, size_t cap)
{
	const char *t = r->text.p ? r->text.p : "";
	size_t n = strcspn(t, "\n");

	snprintf(out, cap, "%d%s%s %.*s", r->code, r->enh[0] ? " " : "", r->enh, (int)n, t);
}

void reply_flat(const struct reply *r, char *out, size_t cap)
{
	const char *t = r->text.p ? r->text.p : "";
	size_t k = 0;

	if (cap == 0)
		return;
	/* The id a server gives after a chunk or a message is often on a
	 * later line (Exim's BDAT answer): every line is kept. */
	for (; *t && k + 1 < cap; t++) {
		if (*t != '\n') {
			out[k++] = *t;
			continue;
		}
		for (const char *sep = " / "; *sep && k + 1 < cap; sep++)
			out[k++] = *sep;
	}
	out[k] = '\0';
}

/* Whether the keyword line s starts with word kw followed by space or end;
 * returns the rest (parameters) or NULL. */
static const char *keyword(const char *s, size_t n, const char *kw)
{
	size_t k = strlen(kw);

	if (n < k || strncasecmp(s, kw, k) != 0 || (n > k && s[k] != ' ' && s[k] != '='))
		return NULL;
	return s + k + (n > k);
}

static void cap_line(struct caps *c, const char *s, size_t n)
{
	const char *a;

	if (keyword(s, n, "PIPELINING"))
		c->pipelining = 1;
	else if (keyword(s, n, "8BITMIME"))
		c->eightbitmime = 1;
	else if (keyword(s, n, "SMTPUTF8"))
		c->smtputf8 = 1;
	else if (keyword(s, n, "STARTTLS"))
		c->starttls = 1;
	else if (keyword(s, n, "CHUNKING"))
		c->chunking = 1;
	else if (keyword(s, n, "ENHANCEDSTATUSCODES"))
		c->enhanced = 1;
	else if (keyword(s, n, "DSN"))
		c->dsn = 1;
	else if ((a = keyword(s, n, "SIZE")) != NULL) {
		c->has_size = 1;
		c->size = strtoull(a, NULL, 10);
	} else if ((a = keyword(s, n, "AUTH")) != NULL) {
		size_t k = (size_t)(s + n - a), have = strlen(c->auth);

		/* several AUTH lines (and the old "AUTH=") add up */
		if (have + k + 2 < sizeof c->auth) {
			if (have)
				c->auth[have++] = ' ';
			for (size_t i = 0; i < k; i++)
				c->auth[have + i] = (char)toupper((unsigned char)a[i]);
			c->auth[have + k] = '\0';
		}
	}
}

void caps_parse(struct caps *c, const struct reply *r)
{
	const char *t = r->text.p ? r->text.p : "", *nl;

	memset(c, 0, sizeof *c);
	c->esmtp = 1;
	/* the first line is the server's name and greeting */
	for (nl = strchr(t, '\n'); nl != NULL; ) {
		const char *s = nl + 1, *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s);

		cap_line(c, s, n);
		nl = e;
	}
}
