/* part.c — -p SECTION (one part's body, decoded) and -H (header fields). */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "charset.h"
#include "err.h"
#include "header.h"
#include "mimecat.h"

static int put(void *arg, const char *s, size_t n)
{
	return fwrite(s, 1, n, arg) == n ? 0 : -1;
}

static int add(void *arg, const char *s, size_t n)
{
	buf_add(arg, s, n);
	return 0;
}

/* Resolve mc->section; print why not and return the exit status, or 0. */
static int resolve(struct mc *mc, struct mime_range *r)
{
	int rc = mime_section(mc->m.root, mc->section, r);

	if (rc == SECT_BAD || (rc == SECT_OK && *r->rest)) {
		warnx_("bad section: %s (numbers like 1.2, optionally .HEADER, .TEXT or .MIME)",
		    mc->section);
		return EX_USAGE;
	}
	if (rc == SECT_NONE) {
		warnx_("%s: no part %s", mc->name, mc->section);
		return EX_DATAERR;
	}
	return 0;
}

int mc_part(struct mc *mc)
{
	struct mime_range r;
	const struct mime_part *p;
	int rc;

	if ((rc = resolve(mc, &r)) != 0)
		return rc;
	p = r.part;
	/* a numbered body is decoded; HEADER, TEXT, MIME and the whole message raw */
	if (r.spec != SPEC_BODY || r.off != p->body_off || p->child) {
		fwrite(mc->base + r.off, 1, r.len, mc->out);
		return 0;
	}
	if (mc->utf8 && strcmp(p->type, "text") == 0) {
		struct buf raw = { 0 }, u = { 0 };

		mime_decode(p, add, &raw, NULL);
		if (charset_to_utf8(p->charset ? p->charset : "us-ascii", raw.p ? raw.p : "",
		    raw.len, &u) < 0)
			warnx_("warning: unknown charset %s: 8-bit bytes replaced", p->charset);
		fwrite(u.p ? u.p : "", 1, u.len, mc->out);
		buf_free(&raw);
		buf_free(&u);
		return 0;
	}
	mime_decode(p, put, mc->out, NULL);
	return 0;
}

static void headers_of(struct mc *mc, const struct mime_part *p)
{
	struct hdr_iter it;
	struct hdr_field f;
	FILE *o = mc->out;

	hdr_iter_init(&it, p->base + p->off, p->body_off - p->off);
	while (hdr_next(&it, &f)) {
		struct buf v = { 0 };

		if (f.name == NULL) {
			fputs("(not a header field): ", o);
			mc_put_safe(o, f.raw, f.rawlen - (f.raw[f.rawlen - 1] == '\n'));
			putc('\n', o);
			continue;
		}
		if (!mc_mime_field(p, &f, &v))
			mc_field_value(&f, &v);
		mc_put_safe(o, f.name, f.namelen);
		fputs(": ", o);
		mc_put_safe(o, v.p ? v.p : "", v.len);
		putc('\n', o);
		buf_free(&v);
	}
}

int mc_headers(struct mc *mc)
{
	const struct mime_part *p = mc->m.root;

	if (mc->section) {
		struct mime_range r;
		int rc;

		if ((rc = resolve(mc, &r)) != 0)
			return rc;
		p = r.part;
		/* "2.HEADER" or "2.TEXT": the encapsulated message's header */
		if ((r.spec == SPEC_HEADER || r.spec == SPEC_FIELDS || r.spec == SPEC_FIELDS_NOT) &&
		    mime_is_message(p) && r.off == p->child->off)
			p = p->child;
	}
	if (!mc->all) {
		headers_of(mc, p);
		return 0;
	}
	for (const struct mime_part *q = p; q; q = q->order) {
		struct buf sec = { 0 };

		mime_section_name(q, &sec);
		fprintf(mc->out, "%s== part %s: %s/%s ==\n", q == p ? "" : "\n",
		    sec.len ? sec.p : "(message)", q->type, q->subtype);
		headers_of(mc, q);
		buf_free(&sec);
		/* stay inside the part asked for */
		if (q->order && q->order->depth <= p->depth && q->order != p->child)
			break;
	}
	return 0;
}

int mc_imap(struct mc *mc)
{
	struct buf b = { 0 };

	/* what the server sends, but with the message's control characters
	 * (legal in IMAP quoted strings) shown, not sent to the terminal */
	mime_bodystructure(mc->m.root, 1, &b);
	fputs("BODYSTRUCTURE ", mc->out);
	mc_put_safe(mc->out, b.p, b.len);
	b.len = 0;
	mime_envelope(mc->m.root, &b);
	fputs("\nENVELOPE ", mc->out);
	mc_put_safe(mc->out, b.p, b.len);
	putc('\n', mc->out);
	buf_free(&b);
	return 0;
}
