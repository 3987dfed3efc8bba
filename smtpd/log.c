/* log.c — logs in the style of Postfix's: one line per message
 *
 *   ID: client=unknown[127.0.0.1], helo=<x>, from=<a@b>, size=312, nrcpt=1,
 *       proto=ESMTP, to=<c@d> status=sent (250 2.0.0 ...)
 *
 * and one per refusal ("NOQUEUE: reject: RCPT from ...").  They go to
 * syslog (mail facility) with --syslog, and to stderr with -v.  Nothing is
 * written to stderr otherwise: under inetd stderr may be the client. */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "buf.h"
#include "err.h"
#include "smtpd.h"

void log_open(const struct config *cfg)
{
	if (cfg->syslog)
		openlog("smtpd", LOG_PID, LOG_MAIL);
}

void log_line(const struct session *s, const char *fmt, ...)
{
	struct buf b = { 0 };
	va_list ap;

	if (!s->cfg->syslog && !s->cfg->verbose)
		return;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (b.p == NULL)
		return;
	if (s->cfg->syslog)
		syslog(LOG_MAIL | LOG_INFO, "%s", b.p);
	if (s->cfg->verbose)
		warnx_("%s", b.p);
	buf_free(&b);
}

static const char *status_word(int code)
{
	return code / 100 == 2 ? "sent" : code / 100 == 4 ? "deferred" : "rejected";
}

void log_delivery(const struct session *s)
{
	struct buf b = { 0 };

	if (!s->cfg->syslog && !s->cfg->verbose)
		return;
	buf_printf(&b, "%s: client=%s[%s], helo=<%s>", s->id,
	    s->peer.name[0] ? s->peer.name : "unknown", s->peer.addr[0] ? s->peer.addr : "stdin",
	    s->helo);
	if (s->authuser[0])
		buf_printf(&b, ", sasl_username=%s", s->authuser);
	buf_printf(&b, ", from=<%s>, size=%zu, nrcpt=%zu, proto=%s", s->from, s->size, s->nrcpt,
	    s->cfg->lmtp ? "LMTP" : s->esmtp ? "ESMTP" : "SMTP");
	for (size_t i = 0; i < s->nrcpt; i++)
		buf_printf(&b, ", to=<%s> relay=%s status=%s (%d %s)", s->rcpt[i].addr,
		    s->rcpt[i].local && !s->rcpt[i].deferred ? "local" : "queue",
		    s->rcpt[i].deferred ? "deferred" : status_word(s->rcpt[i].code),
		    s->rcpt[i].code, s->rcpt[i].reply);
	log_line(s, "%s", b.p);
	buf_free(&b);
}
