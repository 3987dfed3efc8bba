/* handoff.c — a Delivered-To: field the handing MTA wrote for this delivery.
 *
 * OpenSMTPD's lmtp and mda actions prepend "Delivered-To: <rcpt>" before
 * handing a message over, above every Received: field.  Our Received:
 * line then goes on top of it, and the MDA would take the field for the
 * trace of an earlier delivery (a mail loop).  So, for a local recipient,
 * such a field is left out of the copy the MDA gets; the MDA adds the same
 * "Delivered-To: rcpt" again.  A Delivered-To: below a Received: field of
 * the message as it reached us is kept, and is still a loop. */
#include <string.h>

#include "deliver.h"
#include "smtpd.h"

int handoff_copy(const struct session *s, const char *rcpt, const struct buf *m, struct buf *out)
{
	const char *msg = s->msg.p ? s->msg.p : "";
	size_t start;

	/* m is our Received: line and any headers we add, then s->msg */
	if (m->len < s->msg.len || !(md_dt_find(msg, s->msg.len, rcpt) & MD_DT_HANDED))
		return 0;
	start = m->len - s->msg.len;
	buf_add(out, m->p, start);
	md_dt_drop_handed(m->p + start, s->msg.len, rcpt, out);
	return 1;
}
