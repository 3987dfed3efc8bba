/* fuzz_mime — libFuzzer harness for the MIME parser (lib/mime.c), the IMAP
 * writers built on it (lib/mime_imap.c: BODYSTRUCTURE, ENVELOPE, sections),
 * lib/header.c, lib/addr.c, the RFC 2047/2231 decoders, and every mode of
 * mimecat that reads a message (view with the HTML renderer, tree, headers,
 * explain, check, part, imap), output to /dev/null.
 *
 * The input is the message.  Besides the invariants asserted here, ASan and
 * UBSan watch every access.  Seeds: tests/corpus/mime/.  run.sh links the
 * mimecat modules named on the next line with the harness:
 * FUZZ_EXTRA: mimecat/util.c mimecat/html.c mimecat/view.c mimecat/tree.c mimecat/part.c mimecat/explain.c mimecat/check.c */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "header.h"
#include "mime.h"
#include "../../mimecat/mimecat.h"

const char *const progname = "fuzz_mime";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(void *arg, const char *s, size_t n)
{
	size_t *total = arg;

	if (n && (s[0] == 0x7f || s[n - 1] == 0x7f))
		*total += 1;
	*total += n;
	return 0;
}

static void invariants(const struct mime_msg *m)
{
	size_t n = 0;

	for (const struct mime_part *p = m->root; p; p = p->order, n++) {
		if (p->off > p->body_off || p->body_off > p->end || p->end > m->len)
			abort();
		if (p->parent && (p->end > p->parent->end || p->off < p->parent->body_off))
			abort();
		if (p->depth > MIME_DEPTH_MAX || !p->type || !p->subtype)
			abort();
	}
	if (n != m->nparts || n > MIME_PARTS_MAX || m->ndefects > MIME_DEFECTS_MAX)
		abort();
}

/* What imapd does with a message. */
static void imap(const struct mime_msg *m)
{
	struct buf b = { 0 }, name = { 0 };
	struct mime_range r;

	mime_bodystructure(m->root, 1, &b);
	mime_bodystructure(m->root, 0, &b);
	for (const struct mime_part *p = m->root; p; p = p->order) {
		size_t total = 0;

		if (p->flags & MP_MESSAGE)
			mime_envelope(p, &b);
		name.len = 0;
		mime_section_name(p, &name);
		buf_adds(&name, ".MIME");
		if (mime_section(m->root, name.p, &r) == SECT_OK) {
			if (r.off + r.len > m->len)
				abort();
			mime_wire_len(m->base + r.off, r.len);
		}
		if (!p->child)
			mime_decode(p, sink, &total, NULL);
		b.len = 0;
		mime_param_get(p->params, p->nparams, "name", &b);
		mime_param_get(p->dparams, p->ndparams, "filename", &b);
	}
	if (mime_section(m->root, "HEADER.FIELDS (From To)", &r) == SECT_OK) {
		static const char *const names[] = { "From", "To" };

		hdr_filter(m->base + r.off, r.len, names, 2, 0, &b);
		hdr_filter(m->base + r.off, r.len, names, 2, 1, &b);
	}
	b.len = 0;
	mime_wire_copy(m->base, m->len < 4096 ? m->len : 4096, &b);
	buf_free(&b);
	buf_free(&name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct mc mc;
	struct addr_list l = { 0 };
	struct buf v = { 0 };

	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		abort();
	memset(&mc, 0, sizeof mc);
	mc.name = "fuzz";
	mc.base = (const char *)data;
	mc.len = size;
	mc.out = devnull;
	mime_parse(mc.base, mc.len, &mc.m);
	invariants(&mc.m);
	imap(&mc.m);
	if (hdr_get(mc.base, mc.len, "From", &v))
		addr_parse(v.p, v.len, &l);
	addr_list_free(&l);
	buf_free(&v);
	mc_view(&mc);
	mc_tree(&mc);
	mc.all = 1;
	mc_headers(&mc);
	mc_explain(&mc);
	mc_check(&mc);
	mc_imap(&mc);
	mc.section = "1";
	mc_part(&mc);
	mc.utf8 = 1;
	mc_part(&mc);
	mime_free(&mc.m);
	return 0;
}
