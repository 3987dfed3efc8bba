/* dsn.c — success reports for local delivery (RFC 3461 4.1: NOTIFY=SUCCESS).
 *
 * smtpd does not write the report itself: it queues the message with the
 * recipients it delivered marked "done" and "delivered", and the queue
 * runner (smtp-send --queue) writes and sends the RFC 3464 report as it
 * does for the others, then removes the entry (nothing is pending). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "smtpd.h"

int dsn_local_success(struct session *s, const struct buf *m)
{
	struct queue_env e;
	char qid[QUEUE_ID_MAX];
	int any = 0;

	/* no queue, no runner to send it; the null sender gets no report */
	if (s->cfg->queue == NULL || s->from[0] == '\0')
		return 0;
	queue_env_init(&e, s->from, time(NULL));
	e.ret = s->ret;
	snprintf(e.envid, sizeof e.envid, "%s", s->envid);
	queue_local_args(s->cfg, &e);
	for (size_t i = 0; i < s->nrcpt; i++) {
		const struct rcpt *r = &s->rcpt[i];
		struct queue_rcpt *q;

		if (!r->local || r->code != 250 || !(r->notify & DSN_SUCCESS) ||
		    queue_env_add(&e, r->addr) < 0)
			continue;
		q = &e.rcpt[e.nrcpt - 1];
		q->state = QR_DONE;
		q->delivered = 1;
		q->expanded = r->alias && alias_is_list(s, r->addr);
		q->notify = r->notify;
		memcpy(q->orcpt, r->orcpt, sizeof q->orcpt);
		snprintf(q->text, sizeof q->text, "250 %.*s", (int)sizeof q->text - 5, r->reply);
		any = 1;
	}
	if (any && (queue_init(s->cfg->queue) < 0 ||
	    queue_enqueue(s->cfg->queue, &e, m->p, m->len, qid) < 0)) {
		warn_("queue %s: success report", s->cfg->queue);
		any = 0;
	}
	queue_env_free(&e);
	return any;
}
