/* view.c — the message as a person reads it: the main header fields, the
 * text (for multipart/alternative the richest part a terminal can show),
 * and the list of attachments.  RFC 2046 5.1.3: unknown multipart subtypes
 * are read as mixed; unknown text subtypes as plain (4.1.4). */
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "err.h"
#include "header.h"
#include "mimecat.h"
#include "rfc2047.h"

struct view {
	struct mc *mc;
	int shown;                      /* text parts printed so far */
	const struct mime_part *att[MC_ATT_MAX];
	size_t natt, more;
};

static int is(const struct mime_part *p, const char *type, const char *sub)
{
	return strcmp(p->type, type) == 0 && (sub == NULL || strcmp(p->subtype, sub) == 0);
}

static int attachment(const struct mime_part *p)
{
	return p->disposition && strcmp(p->disposition, "attachment") == 0;
}

/* Something the terminal can show: text/plain or html, or a multipart or
 * message holding one. */
static int showable(const struct mime_part *p)
{
	if (mime_is_multipart(p)) {
		for (const struct mime_part *c = p->child; c; c = c->next)
			if (showable(c))
				return 1;
		return 0;
	}
	if (mime_is_message(p))
		return 1;
	return is(p, "text", NULL) && !attachment(p) &&
	    (is(p, "text", "plain") || is(p, "text", "html") || !p->filename);
}

static void list_attachment(struct view *v, const struct mime_part *p)
{
	if (v->natt < MC_ATT_MAX)
		v->att[v->natt++] = p;
	else
		v->more++;
}

/* The topmost Authentication-Results field, the one our own MX added
 * (smtpd --authres), as a one-line verdict; lower ones may be forged. */
static void show_authres(const struct mime_part *m, FILE *f)
{
	struct hdr_field fl;
	struct buf b = { 0 };

	if (!hdr_find(m->base + m->off, m->body_off - m->off, "Authentication-Results", &fl))
		return;
	ar_summary(fl.value, fl.vallen, &b);
	fputs("Authentication: ", f);
	mc_put_safe(f, b.p, b.len);
	putc('\n', f);
	buf_free(&b);
}

static void show_fields(struct view *v, const struct mime_part *m, int brief)
{
	static const char *const full[] = { "From", "To", "Cc", "Date", "Subject", NULL };
	static const char *const short_[] = { "From", "Date", "Subject", NULL };
	const char *const *names = brief ? short_ : full;
	FILE *f = v->mc->out;

	for (; *names; names++) {
		struct hdr_field fl;
		struct buf b = { 0 };

		if (!hdr_find(m->base + m->off, m->body_off - m->off, *names, &fl))
			continue;
		mc_field_value(&fl, &b);
		fprintf(f, "%s: ", *names);
		mc_put_safe(f, b.p, b.len);
		putc('\n', f);
		buf_free(&b);
	}
	if (!brief)
		show_authres(m, f);
}

static void show(struct view *v, const struct mime_part *p);

static void show_text(struct view *v, const struct mime_part *p)
{
	struct buf t = { 0 };
	struct buf sec = { 0 };

	mc_text(p, 1, &t);
	if (v->shown++) {
		mime_section_name(p, &sec);
		fprintf(v->mc->out, "\n[-- part %s: %s/%s --]\n\n", sec.p, p->type, p->subtype);
	}
	mc_put_safe(v->mc->out, t.p ? t.p : "", t.len);
	if (t.len && t.p[t.len - 1] != '\n')
		putc('\n', v->mc->out);
	buf_free(&t);
	buf_free(&sec);
}

/* text/plain or text/html (RFC 2046 5.1.4: of the alternatives a reader
 * can show, the last is the richest; text/calendar and such are not what a
 * person reads). */
static int readable(const struct mime_part *p)
{
	if (mime_is_multipart(p) || mime_is_message(p))
		return showable(p);
	return showable(p) && (is(p, "text", "plain") || is(p, "text", "html"));
}

static void show_alternative(struct view *v, const struct mime_part *p)
{
	const struct mime_part *best = NULL;

	for (const struct mime_part *c = p->child; c; c = c->next)
		if (readable(c))
			best = c;
	for (const struct mime_part *c = p->child; c && !best; c = c->next)
		if (showable(c))
			best = c;
	if (best)
		show(v, best);
	else if (p->child)
		list_attachment(v, p->child);
}

/* multipart/related: the root part (RFC 2387 3.2: "start", or the first). */
static void show_related(struct view *v, const struct mime_part *p)
{
	const char *start = mime_param_raw(p->params, p->nparams, "start");
	const struct mime_part *root = p->child;

	for (const struct mime_part *c = p->child; start && c; c = c->next)
		if (c->id && strcmp(c->id, start) == 0)
			root = c;
	for (const struct mime_part *c = p->child; c; c = c->next) {
		if (c == root)
			show(v, c);
		else if (c->filename)
			list_attachment(v, c);
	}
}

/* RFC 2046 5.2.2, 5.2.3: say what a partial or external body is. */
static int show_reference(struct view *v, const struct mime_part *p)
{
	static const char *const ext[] = { "access-type", "url", "name", "site", "directory",
	    "server", "expiration", "size" };
	static const char *const part[] = { "id", "number", "total" };
	const char *const *names;
	size_t n;
	FILE *f = v->mc->out;

	if (is(p, "message", "external-body"))
		names = ext, n = sizeof ext / sizeof ext[0];
	else if (is(p, "message", "partial"))
		names = part, n = sizeof part / sizeof part[0];
	else
		return 0;
	fprintf(f, "\n[-- %s/%s:", p->type, p->subtype);
	for (size_t i = 0; i < n; i++) {
		struct buf b = { 0 };

		if (mime_param_get(p->params, p->nparams, names[i], &b)) {
			fprintf(f, " %s=", names[i]);
			mc_put_name(f, b.p);
		}
		buf_free(&b);
	}
	fputs(" --]\n", f);
	return 1;
}

static void show(struct view *v, const struct mime_part *p)
{
	if (mime_is_multipart(p)) {
		if (is(p, "multipart", "alternative"))
			show_alternative(v, p);
		else if (is(p, "multipart", "related"))
			show_related(v, p);
		else
			for (const struct mime_part *c = p->child; c; c = c->next)
				show(v, c);
		return;
	}
	if (mime_is_message(p) && !attachment(p)) {
		struct buf sec = { 0 };

		mime_section_name(p, &sec);
		fprintf(v->mc->out, "\n[-- part %s: message --]\n", sec.p);
		show_fields(v, p->child, 1);
		putc('\n', v->mc->out);
		v->shown = 0;
		show(v, p->child);
		v->shown = 1;
		buf_free(&sec);
		return;
	}
	if (showable(p))
		show_text(v, p);
	else if (!show_reference(v, p))
		list_attachment(v, p);
}

int mc_view(struct mc *mc)
{
	struct view *v = xcalloc(1, sizeof *v);
	char tmp[32];

	v->mc = mc;
	show_fields(v, mc->m.root, 0);
	putc('\n', mc->out);
	show(v, mc->m.root);
	if (v->natt)
		fprintf(mc->out, "\n[-- attachments --]\n");
	for (size_t i = 0; i < v->natt; i++) {
		const struct mime_part *p = v->att[i];
		struct buf sec = { 0 };

		mime_section_name(p, &sec);
		fprintf(mc->out, "  %-8s %s/%s", sec.p, p->type, p->subtype);
		if (p->filename) {
			fputs("  ", mc->out);
			mc_put_name(mc->out, p->filename);
		}
		fprintf(mc->out, "  %s\n", mc_size(mc_decoded_size(p), tmp, sizeof tmp));
		buf_free(&sec);
	}
	if (v->more)
		fprintf(mc->out, "  ... and %zu more\n", v->more);
	free(v);
	return 0;
}
