/* defer.c — per-recipient store and forward for local delivery (issue 15).
 *
 * SMTP has one reply after DATA for all recipients.  With --queue, a local
 * recipient whose delivery failed temporarily is not a reason to answer
 * 451 for all (the client's retry would give the others a second copy):
 * the message is committed to the queue for that recipient alone, marked
 * "local", and the reply is 250 once the envelope is on disk (RFC 5321
 * 6.1: the mail is ours).  The queue runner retries it by handing it back
 * to smtpd (smtp-send/queue.c: "smtpd --lmtp" with the options recorded
 * here), so the same code delivers it, with the same aliases and mailbox
 * settings; the recipients delivered now are never delivered again.
 *
 * Every envelope smtpd writes records those options ("local-arg" lines,
 * lib/queue.h): the runner learns smtpd's local domains from them too, and
 * a report to a sender in one of them is delivered locally, not by MX. */
#include <limits.h>
#include <linux/limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "smtpd.h"

/* A file option as an absolute path: the runner may start elsewhere. */
static void add_path(struct queue_env *e, const char *opt, const char *path)
{
	char abs[PATH_MAX];

	if (path == NULL)
		return;
	queue_env_add_arg(e, opt);
	queue_env_add_arg(e, realpath(path, abs) != NULL ? abs : path);
}

void queue_local_args(const struct config *cfg, struct queue_env *e)
{
	struct buf doms = { 0 };
	char num[32];

	queue_env_add_arg(e, "--hostname");
	queue_env_add_arg(e, cfg->hostname);
	for (size_t i = 0; i < cfg->ndomains; i++)
		buf_printf(&doms, "%s%s", i ? "," : "", cfg->domains[i]);
	if (doms.len > 0) {
		queue_env_add_arg(e, "--domains");
		queue_env_add_arg(e, doms.p);
	}
	buf_free(&doms);
	add_path(e, "--users", cfg->users);
	add_path(e, "--aliases", cfg->aliases);
	add_path(e, "--queue", cfg->queue);
	if (cfg->mailbox != NULL) {
		queue_env_add_arg(e, "--mailbox");
		queue_env_add_arg(e, cfg->mailbox);
	}
	if (cfg->mda != NULL) {
		queue_env_add_arg(e, "--mda");
		queue_env_add_arg(e, cfg->mda);
	}
	if (cfg->smtp_send != NULL) {
		queue_env_add_arg(e, "--smtp-send");
		queue_env_add_arg(e, cfg->smtp_send);
	}
	if (cfg->no_forward)
		queue_env_add_arg(e, "--no-forward");
	if (cfg->list_headers)
		queue_env_add_arg(e, "--list-headers");
	if (cfg->max_size > 0) {
		snprintf(num, sizeof num, "%lld", cfg->max_size);
		queue_env_add_arg(e, "--max-size");
		queue_env_add_arg(e, num);
	}
}

/* Queue the deferred recipients marked in pick with message m, as one
 * envelope; they get 250 (or keep their 451 if the queue fails). */
static void defer_some(struct session *s, const int *pick, const struct buf *m)
{
	struct queue_env e;
	char qid[QUEUE_ID_MAX];
	int rc;

	queue_env_init(&e, s->from, time(NULL));
	e.ret = s->ret;
	snprintf(e.envid, sizeof e.envid, "%s", s->envid);
	queue_local_args(s->cfg, &e);
	for (size_t i = 0; i < s->nrcpt; i++) {
		struct queue_rcpt *q;

		if (!pick[i] || queue_env_add(&e, s->rcpt[i].addr) < 0)
			continue;
		q = &e.rcpt[e.nrcpt - 1];
		q->local = 1;
		q->notify = s->rcpt[i].notify;
		memcpy(q->orcpt, s->rcpt[i].orcpt, sizeof q->orcpt);
		snprintf(q->text, sizeof q->text, "%d %.*s", s->rcpt[i].code,
		    (int)sizeof q->text - 5, s->rcpt[i].reply);
	}
	rc = e.nrcpt == 0 ? -1 : queue_init(s->cfg->queue);
	if (rc == 0)
		rc = queue_enqueue(s->cfg->queue, &e, m->p, m->len, qid);
	if (rc < 0 && e.nrcpt > 0)
		warn_("queue %s: deferred local delivery", s->cfg->queue);
	for (size_t i = 0; rc == 0 && i < s->nrcpt; i++) {
		struct rcpt *r = &s->rcpt[i];

		if (!pick[i])
			continue;
		log_line(s, "to=<%s>, status=deferred (%d %s), queued as %s for a local retry",
		    r->addr, r->code, r->reply, qid);
		r->code = 250;
		r->deferred = 1;
		snprintf(r->reply, sizeof r->reply, "2.0.0 <%.*s> Ok: queued as %s (delivery "
		    "deferred: temporary failure)", (int)(sizeof r->reply - 100), r->addr, qid);
	}
	queue_env_free(&e);
}

void defer_local(struct session *s, const struct buf *m)
{
	int *pick;

	if (s->cfg->lmtp || s->cfg->queue == NULL)
		return;
	pick = xcalloc(s->nrcpt + 1, sizeof *pick);
	/* the copy without a handed Delivered-To (handoff.c) is queued on
	 * its own, else the retry would take that field for a loop */
	for (size_t i = 0; i < s->nrcpt; i++) {
		struct rcpt *r = &s->rcpt[i];
		struct buf h = { 0 };

		if (!r->local || r->code / 100 != 4)
			continue;
		if (handoff_copy(s, r->addr, m, &h)) {
			int *one = xcalloc(s->nrcpt + 1, sizeof *one);

			one[i] = 1;
			defer_some(s, one, &h);
			free(one);
		} else {
			pick[i] = 1;
		}
		buf_free(&h);
	}
	for (size_t i = 0; i < s->nrcpt; i++)
		if (pick[i]) {
			defer_some(s, pick, m);
			break;
		}
	free(pick);
}
