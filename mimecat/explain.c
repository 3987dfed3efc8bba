/* explain.c — -e: the raw message, line by line, annotated for a student:
 * where each header starts and ends, which line is a boundary and which
 * part it opens or closes, preambles and epilogues, and a decoded preview
 * of encoded bodies (long bodies are elided). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charset.h"
#include "err.h"
#include "mimecat.h"

struct note {
	size_t off;             /* line start the note is about */
	int order;              /* among notes of one line */
	char *text;
	const struct mime_part *body;   /* a leaf body starts here: elide, preview */
};

struct notes {
	struct note *v;
	size_t n, cap;
};

static void note(struct notes *ns, size_t off, int order, const struct mime_part *body,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void note(struct notes *ns, size_t off, int order, const struct mime_part *body,
    const char *fmt, ...)
{
	char t[512];
	va_list ap;

	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? 2 * ns->cap : 64;
		ns->v = xrealloc(ns->v, ns->cap * sizeof *ns->v);
	}
	va_start(ap, fmt);
	vsnprintf(t, sizeof t, fmt, ap);
	va_end(ap);
	ns->v[ns->n++] = (struct note){ off, order, xstrdup(t), body };
}

static int by_off(const void *x, const void *y)
{
	const struct note *a = x, *b = y;

	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	return a->order - b->order;
}

/* Start of the line before the line starting at off. */
static size_t prev_line(const char *base, size_t off)
{
	size_t i = off;

	if (i > 0)
		i--;            /* the LF ending the previous line */
	while (i > 0 && base[i - 1] != '\n')
		i--;
	return i;
}

static void part_notes(struct notes *ns, const struct mime_part *p, const char *base)
{
	struct buf sec = { 0 }, what = { 0 };

	mime_section_name(p, &sec);
	if (p->flags & MP_MESSAGE)
		buf_printf(&what, "%s header (RFC 5322)", p->parent ? "encapsulated message" :
		    "message");
	else
		buf_printf(&what, "MIME header of part %s", sec.p);
	if (p->body_off > p->off)
		note(ns, p->off, 1, NULL, "<- %s", what.p);
	if (p->body_off > p->off && !(p->flags & MP_HDRNOBLANK))
		note(ns, prev_line(base, p->body_off), 2, NULL, "<- empty line: header ends");
	buf_reset(&what);
	buf_printf(&what, "%s/%s", p->type, p->subtype);
	if (mime_is_multipart(p)) {
		if (p->preamble_end > p->body_off)
			note(ns, p->body_off, 3, NULL, "<- preamble of %s (readers ignore it)", what.p);
		for (const struct mime_part *c = p->child; c; c = c->next) {
			struct buf cs = { 0 };

			mime_section_name(c, &cs);
			note(ns, prev_line(base, c->off), 0, NULL, "<- boundary \"--%s\": part %s begins",
			    p->boundary, cs.p);
			buf_free(&cs);
		}
		if (!(p->flags & MP_NOEND) && p->epilogue_off < p->end + 1 && p->epilogue_off > p->body_off) {
			note(ns, prev_line(base, p->epilogue_off), 0, NULL,
			    "<- close delimiter \"--%s--\": %s ends", p->boundary, what.p);
			if (p->end > p->epilogue_off)
				note(ns, p->epilogue_off, 3, NULL, "<- epilogue (readers ignore it)");
		} else {
			note(ns, p->end, 0, NULL, "<- (no close delimiter for \"--%s\" before here)",
			    p->boundary);
		}
	} else if (mime_is_message(p)) {
		note(ns, p->body_off, 0, NULL, "<- body: %s, an encapsulated message", what.p);
	} else if (p->end > p->body_off) {
		buf_printf(&what, ", %s", p->enc_name && *p->enc_name ? p->enc_name : "7bit (default)");
		note(ns, p->body_off, 4, p, "<- body of part %s: %s", sec.len ? sec.p : "1", what.p);
	}
	buf_free(&sec);
	buf_free(&what);
}

static void show_line(FILE *f, size_t no, const char *s, size_t n)
{
	fprintf(f, "%6zu| ", no);
	if (n > 0 && s[n - 1] == '\r')
		n--;
	mc_put_safe(f, s, n > MC_SHOW_COLS ? MC_SHOW_COLS : n);
	if (n > MC_SHOW_COLS)
		fprintf(f, "... (%zu more)", n - MC_SHOW_COLS);
	putc('\n', f);
}

/* A note may quote the message (a boundary): shown safely. */
static void show_note(FILE *f, const char *text)
{
	fputs("        ", f);
	mc_put_name(f, text);
	putc('\n', f);
}

static int collect(void *arg, const char *s, size_t n)
{
	struct buf *b = arg;
	size_t room = MC_PREVIEW_BYTES - b->len;

	buf_add(b, s, n < room ? n : room);
	return b->len >= MC_PREVIEW_BYTES;
}

/* A decoded preview of an encoded leaf body. */
static void preview(FILE *f, const struct mime_part *p)
{
	struct buf raw = { 0 }, u = { 0 };
	size_t bin = 0;

	mime_decode(p, collect, &raw, NULL);
	for (size_t i = 0; i < raw.len; i++)
		bin += raw.p[i] == 0 || ((unsigned char)raw.p[i] < ' ' && !strchr("\r\n\t\f", raw.p[i]));
	fprintf(f, "      = decoded (%s): ", p->enc_name);
	if (strcmp(p->type, "text") != 0 && bin) {
		for (size_t i = 0; i < raw.len && i < 16; i++)
			fprintf(f, "%02x ", (unsigned char)raw.p[i]);
		fputs("... (binary)\n", f);
	} else {
		charset_to_utf8(p->charset ? p->charset : "utf-8", raw.p ? raw.p : "", raw.len, &u);
		for (size_t i = 0; i < u.len; i++)
			if (u.p[i] == '\n')
				u.p[i] = ' ';
		putc('"', f);
		mc_put_safe(f, u.p ? u.p : "", u.len);
		fputs(raw.len >= MC_PREVIEW_BYTES ? "\"...\n" : "\"\n", f);
	}
	buf_free(&raw);
	buf_free(&u);
}

/* An mbox file (RFC 4155) starts with a "From " line that the parser
 * skipped: say what it is, and what ">From " in a body means there. */
static void mbox_notes(struct notes *ns, const char *base, size_t len, size_t hdr_off)
{
	const char *nl = memchr(base, '\n', len), *sp;
	size_t n = nl ? (size_t)(nl - base) : len, sl;

	if (hdr_off == 0 || n < 5 || memcmp(base, "From ", 5) != 0)
		return;
	sp = memchr(base + 5, ' ', n - 5);
	sl = sp ? (size_t)(sp - base) - 5 : n - 5;
	note(ns, 0, 0, NULL, "<- mbox separator line (RFC 4155), not a header field: envelope "
	    "sender <%.*s> (SMTP MAIL FROM, as in Return-Path:), then the date it was "
	    "stored (asctime format, no time zone). The author is the From: field below.",
	    (int)(sl > 200 ? 200 : sl), base + 5);
	for (size_t off = n + 1; off < len;) {
		const char *e = memchr(base + off, '\n', len - off);
		size_t q = off;

		while (q < len && base[q] == '>')
			q++;
		if (q > off && len - q >= 5 && memcmp(base + q, "From ", 5) == 0)
			note(ns, off, 5, NULL, "<- \">From \" in mbox: a body line that began "
			    "\"From \" was quoted so it cannot end the message; a reader drops one '>'");
		off = e ? (size_t)(e - base) + 1 : len;
	}
}

int mc_explain(struct mc *mc)
{
	struct notes ns = { 0 };
	const char *s = mc->base, *end = mc->base + mc->len;
	size_t no = 1, k = 0, elide_end = 0, shown = 0, skipped = 0;
	const struct mime_part *elide = NULL;

	for (const struct mime_part *p = mc->m.root; p; p = p->order)
		part_notes(&ns, p, mc->base);
	mbox_notes(&ns, mc->base, mc->len, mc->m.root->off);
	if (ns.n)
		qsort(ns.v, ns.n, sizeof *ns.v, by_off);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s), off = (size_t)(s - mc->base);
		int noted = 0;

		if (elide && off >= elide_end) {
			if (skipped)
				fprintf(mc->out, "      ... %zu more lines of the body\n", skipped);
			if (elide->enc == ENC_BASE64 || elide->enc == ENC_QP)
				preview(mc->out, elide);
			elide = NULL;
		}
		for (; k < ns.n && ns.v[k].off <= off; k++) {
			if (!noted++ && !(elide && ns.v[k].off < off))
				show_line(mc->out, no, s, n);
			show_note(mc->out, ns.v[k].text);
			if (ns.v[k].body) {
				elide = ns.v[k].body;
				elide_end = elide->end;
				shown = 1;
				skipped = 0;
			}
		}
		if (!noted) {
			if (elide && shown >= MC_EXPLAIN_LINES)
				skipped++;
			else
				show_line(mc->out, no, s, n);
			shown++;
		}
		no++;
		s = nl ? nl + 1 : end;
	}
	if (elide) {
		if (skipped)
			fprintf(mc->out, "      ... %zu more lines of the body\n", skipped);
		if (elide->enc == ENC_BASE64 || elide->enc == ENC_QP)
			preview(mc->out, elide);
	}
	for (; k < ns.n; k++)
		show_note(mc->out, ns.v[k].text);
	for (size_t i = 0; i < ns.n; i++)
		free(ns.v[i].text);
	free(ns.v);
	return 0;
}
