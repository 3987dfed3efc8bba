/* tree.c — -t: one line per part.  The first column is the IMAP section
 * (RFC 3501 6.4.5) that names the part's body: a multipart body of a
 * message is its TEXT ("TEXT" for the top, "2.TEXT" inside part 2). */
#include <string.h>

#include "mimecat.h"

/* The IMAP name of p's body into sec. */
static void section_label(const struct mime_part *p, struct buf *sec)
{
	mime_section_name(p, sec);
	if ((p->flags & MP_MESSAGE) && mime_is_multipart(p))
		buf_adds(sec, sec->len ? ".TEXT" : "TEXT");
}

int mc_tree(struct mc *mc)
{
	FILE *f = mc->out;
	char tmp[32];

	for (const struct mime_part *p = mc->m.root; p; p = p->order) {
		struct buf sec = { 0 };
		int leaf = p->child == NULL;

		section_label(p, &sec);
		fprintf(f, "%-12s %*s%s/%s", sec.p, (int)(2 * p->depth), "", p->type, p->subtype);
		if (p->charset) {
			fputs(" charset=", f);
			mc_put_name(f, p->charset);
		}
		if (p->enc_name && *p->enc_name)
			fprintf(f, " %s", p->enc_name);
		if (p->disposition)
			fprintf(f, " %s", p->disposition);
		if (p->filename) {
			fputs(" \"", f);
			mc_put_name(f, p->filename);
			putc('"', f);
		}
		if (p->flags & MP_NOEND)
			fputs(" [no close delimiter]", f);
		if (p->flags & MP_DEEP)
			fputs(" [too deep: not opened]", f);
		fprintf(f, "  %s\n", mc_size(leaf ? mc_decoded_size(p) : p->end - p->body_off,
		    tmp, sizeof tmp));
		buf_free(&sec);
	}
	return 0;
}
