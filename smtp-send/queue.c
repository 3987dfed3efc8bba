/* queue.c — the queue runner: deliver what smtpd spooled (lib/queue.h).
 *
 * Each message is worked on only under the lock of its envelope, so cron
 * and smtpd may start runners at the same time.  A recipient is "done" or
 * "failed" once a server gave a final answer; the message is removed only
 * when no recipient is pending.  Temporary failures wait on a schedule
 * that doubles from SEND_RETRY_MIN up to SEND_RETRY_MAX; after --max-age
 * they become failures.  Failures are reported to the sender in one RFC
 * 3464 delivery status notification, itself queued with the null sender
 * (RFC 5321 4.5.5), so a bounce never bounces. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <unistd.h>

#include "err.h"
#include "queue.h"
#include "send.h"

/* The reply as stored in the envelope: "550 5.1.1 text" or "4.4.1 text". */
static void store_text(const struct rcpt *r, char *out, size_t cap)
{
	if (r->code > 0)
		snprintf(out, cap, "%d%s%s %s", r->code, r->enh[0] ? " " : "", r->enh, r->text);
	else
		snprintf(out, cap, "%s%s%s", r->enh, r->enh[0] ? " " : "", r->text);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < ' ')
			*p = ' ';
}

/* A status code x.y.z (RFC 3463) from stored text, or a default. */
static void status_of(const char *text, int failed, char *out, size_t cap)
{
	const char *p = text;

	for (int i = 0; i < 2 && *p; i++) {
		size_t n = strcspn(p, " ");
		int a, b, c, k = 0;

		if (sscanf(p, "%1d.%3d.%3d%n", &a, &b, &c, &k) == 3 && (size_t)k == n &&
		    (a == 2 || a == 4 || a == 5)) {
			/* a 4.x.x that ran out of time stays 4.x.x, as Sendmail and
			 * Postfix report it: the cause was transient */
			snprintf(out, cap, "%.*s", (int)n, p);
			return;
		}
		p += n;
		p += strspn(p, " ");
	}
	snprintf(out, cap, "%s", failed ? "5.0.0" : "4.0.0");
}

static void crlf_to_lf(struct buf *b)
{
	size_t j = 0;

	for (size_t i = 0; i < b->len; i++)
		if (!(b->p[i] == '\r' && i + 1 < b->len && b->p[i + 1] == '\n'))
			b->p[j++] = b->p[i];
	b->len = j;
	b->p[j] = '\0';
}

/* Report kinds: what newly[i] holds for a recipient of this run. */
enum { K_NONE, K_FAILED, K_RELAYED, K_DELAYED, K_DELIVERED, K_EXPANDED };

static const struct {
	const char *action, *subject, *intro;
	int notify;                     /* the NOTIFY keyword that asks for it */
} kinds[] = {
	[K_FAILED] = { "failed", "Undelivered Mail Returned to Sender",
	    "Your message could not be delivered to one or more recipients.", DSN_FAILURE },
	[K_RELAYED] = { "relayed", "Successful Mail Delivery Report",
	    "Your message was relayed to a system that does not report delivery\r\n"
	    "(RFC 3461 5.2.2): no further notification will come for", DSN_SUCCESS },
	[K_DELAYED] = { "delayed", "Delayed Mail (still being retried)",
	    "Your message has not been delivered yet; it is still being retried for",
	    DSN_DELAY },
	[K_DELIVERED] = { "delivered", "Successful Mail Delivery Report",
	    "Your message was delivered to the mailbox of", DSN_SUCCESS },
	/* RFC 3461 6.2.7.2: a list's own report ends there; its members'
	 * copies carry no NOTIFY of the author's */
	[K_EXPANDED] = { "expanded", "Successful Mail Delivery Report",
	    "Your message was delivered to the members of the mailing list", DSN_SUCCESS },
};

/* Per-recipient fields of the report (RFC 3464 2.3). */
static void dsn_rcpt(struct buf *b, const struct queue_rcpt *q, int kind, const char *last)
{
	char st[16], dec[DSN_ORCPT_MAX + 1];
	const char *t = q->text, *semi = strchr(q->orcpt, ';');

	if (semi != NULL && dsn_xtext_decode(semi + 1, dec, sizeof dec) >= 0)
		buf_printf(b, "\r\nOriginal-Recipient: %.*s; %s", (int)(semi - q->orcpt),
		    q->orcpt, dec);
	status_of(t, kind == K_FAILED, st, sizeof st);
	if (kind == K_RELAYED || kind == K_DELIVERED || kind == K_EXPANDED)
		snprintf(st, sizeof st, "2.0.0");
	buf_printf(b, "\r\nFinal-Recipient: rfc822; %s\r\nAction: %s\r\nStatus: %s\r\n",
	    q->addr, kinds[kind].action, st);
	if (q->remote[0] != '\0')
		buf_printf(b, "Remote-MTA: dns; %s\r\n", q->remote);
	if (t[0] >= '2' && t[0] <= '5' && t[1] >= '0' && t[1] <= '9' && t[3] == ' ')
		buf_printf(b, "Diagnostic-Code: smtp; %s\r\n", t);
	buf_printf(b, "Last-Attempt-Date: %s\r\n", last);
}

/* The human part and the machine part of the report. */
static void dsn_parts(struct buf *b, const struct queue_env *e, const int *mark, int kind,
    const char *mta, const char *bnd, time_t now)
{
	char date[64], last[64], envid[DSN_ENVID_MAX + 1];

	buf_printf(b, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
	    "This is the mail system at %s.\r\n\r\n%s\r\n\r\n", bnd, mta, kinds[kind].intro);
	for (size_t i = 0; i < e->nrcpt; i++)
		if (mark[i])
			buf_printf(b, "<%s>: %s\r\n", e->rcpt[i].addr, e->rcpt[i].text);
	rfc5322_date(e->created, date, sizeof date);
	rfc5322_date(now, last, sizeof last);
	buf_printf(b, "\r\n--%s\r\nContent-Type: message/delivery-status\r\n\r\n"
	    "Reporting-MTA: dns; %s\r\n", bnd, mta);
	if (e->envid[0] != '\0' && dsn_xtext_decode(e->envid, envid, sizeof envid) >= 0)
		buf_printf(b, "Original-Envelope-Id: %s\r\n", envid);
	buf_printf(b, "Arrival-Date: %s\r\n", date);
	for (size_t i = 0; i < e->nrcpt; i++)
		if (mark[i])
			dsn_rcpt(b, &e->rcpt[i], kind, last);
}

/* Build the RFC 3464 report (multipart/report, RFC 6522) of one kind for
 * the recipients marked in mark: the message itself for RET=FULL, else
 * its header section (RFC 3461 4.3: RET=HDRS, and our default). */
static void dsn_build(const struct opts *o, const struct queue_env *e, const int *mark,
    int kind, const struct message *m, time_t now, struct buf *b)
{
	char date[64], mta[256], bnd[64];
	unsigned long long rnd = 0;

	if (getrandom(&rnd, sizeof rnd, 0) < 0)
		rnd = (unsigned long long)now ^ (unsigned long long)getpid();
	if (o->helo)
		snprintf(mta, sizeof mta, "%s", o->helo);
	else if (gethostname(mta, sizeof mta) < 0)
		snprintf(mta, sizeof mta, "localhost");
	snprintf(bnd, sizeof bnd, "=_dsn_%016llx", rnd);
	rfc5322_date(now, date, sizeof date);
	buf_printf(b, "Date: %s\r\nFrom: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
	    "To: <%s>\r\nSubject: %s\r\n"
	    "Message-ID: <%llx.dsn@%s>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s\"\r\n\r\nThis is a MIME-encapsulated delivery status notification.\r\n\r\n",
	    date, mta, e->from, kinds[kind].subject, rnd, mta, bnd);
	dsn_parts(b, e, mark, kind, mta, bnd, now);
	if (e->ret == DSN_RET_FULL && m->p != NULL) {
		buf_printf(b, "\r\n--%s\r\nContent-Type: message/rfc822\r\n\r\n", bnd);
		buf_add(b, m->p, m->len);
	} else {
		buf_printf(b, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", bnd);
		buf_add(b, m->p, m->hdrlen >= 2 ? m->hdrlen - 2 : m->hdrlen);
	}
	buf_printf(b, "\r\n--%s--\r\n", bnd);
}

/* Queue one report of kind for the recipients marked with it in newly
 * whose NOTIFY asks for it (RFC 3461 4.1: NEVER, none). */
static void bounce(const struct opts *o, const char *dir, const struct queue_env *e,
    const int *newly, int kind, const struct message *m, time_t now)
{
	struct queue_env be;
	struct buf b = { 0 };
	char id[QUEUE_ID_MAX];
	int *mark = xcalloc(e->nrcpt + 1, sizeof *mark), any = 0;

	for (size_t i = 0; i < e->nrcpt; i++)
		any |= mark[i] = newly[i] == kind && dsn_wanted(e->rcpt[i].notify, kinds[kind].notify);
	if (!any) {
		free(mark);
		return;
	}
	dsn_build(o, e, mark, kind, m, now, &b);
	crlf_to_lf(&b);
	queue_env_init(&be, "", now);
	/* smtpd's local-args go along: a sender in its local domains gets
	 * the report through it (handed_back), not by MX */
	for (size_t i = 0; i < e->nlarg; i++)
		queue_env_add_arg(&be, e->larg[i]);
	if (queue_env_add(&be, e->from) < 0 || queue_enqueue(dir, &be, b.p, b.len, id) < 0)
		warn_("queue %s: cannot queue the report to <%s>", dir, e->from);
	else if (o->verbose)
		fprintf(stderr, "* %s report to <%s> queued as %s\n", kinds[kind].action, e->from, id);
	queue_env_free(&be);
	buf_free(&b);
	free(mark);
}

/* Put the results of this attempt into the envelope; mark in newly the
 * recipients that failed now.  Return how many are still pending. */
static size_t record(const struct queue_env *e, struct rcpt *rv, const size_t *map,
    size_t k, int *newly, const char *id, int verbose)
{
	static const char *const said[] = { "pending", "delivered", "deferred", "failed" };
	size_t pending = 0;

	for (size_t j = 0; j < k; j++) {
		struct queue_rcpt *q = &e->rcpt[map[j]];

		store_text(&rv[j], q->text, sizeof q->text);
		/* "mx.example.org[192.0.2.1]:25": the name for Remote-MTA */
		if (strchr(rv[j].host, '[') != NULL)
			snprintf(q->remote, sizeof q->remote, "%.*s",
			    (int)strcspn(rv[j].host, "["), rv[j].host);
		if (rv[j].state == RS_OK)
			q->state = QR_DONE, newly[map[j]] = rv[j].nodsn ? K_RELAYED : K_NONE;
		else if (rv[j].state == RS_PERM)
			q->state = QR_FAILED, newly[map[j]] = K_FAILED;
		else
			pending++;
		if (verbose || rv[j].state != RS_OK)
			warnx_("queue %s: <%s>: %s: %s%s%s", id, q->addr, said[rv[j].state],
			    rv[j].host, rv[j].host[0] ? ": " : "", q->text);
	}
	return pending;
}

/* Expire what waited too long: pending becomes failed. */
static size_t expire(struct queue_env *e, int *newly, time_t now, long max_age)
{
	size_t n = 0;

	if (now - e->created < max_age)
		return 0;
	for (size_t i = 0; i < e->nrcpt; i++) {
		struct queue_rcpt *q = &e->rcpt[i];
		static const char pre[] = "4.4.7 delivery time expired; last error: ";
		char t[QUEUE_TEXT_MAX + 1];

		if (q->state != QR_PENDING)
			continue;
		snprintf(t, sizeof t, "%s", q->text);
		snprintf(q->text, sizeof q->text, "%s%.*s", pre,
		    (int)(sizeof q->text - sizeof pre), t);
		q->state = QR_FAILED;
		newly[i] = K_FAILED;
		n++;
	}
	return n;
}

static int load_msg(const char *dir, const char *id, struct message *m, char *err, size_t cap)
{
	struct buf raw = { 0 };
	int fd = queue_open_msg(dir, id), r;

	if (fd < 0) {
		snprintf(err, cap, "message file: %s", strerror(errno));
		return -1;
	}
	r = read_all(fd, &raw, err, cap);
	close(fd);
	if (r == 0)
		r = msg_from_bytes(raw.p ? raw.p : "", raw.len, 1, m, err, cap);
	buf_free(&raw);
	return r;
}

/* ---- local delivery handed back to smtpd (lib/queue.h "local") ---- */

/* The value after opt in the envelope's local-args, or NULL. */
static const char *larg_value(const struct queue_env *e, const char *opt)
{
	for (size_t i = 0; i + 1 < e->nlarg; i++)
		if (strcmp(e->larg[i], opt) == 0)
			return e->larg[i + 1];
	return NULL;
}

/* Whether addr is in one of the local domains of the smtpd that wrote e
 * (its --domains, else its host name and localhost, as smtpd decides). */
static int env_local(const struct queue_env *e, const char *addr)
{
	const char *at = strrchr(addr, '@'), *doms = larg_value(e, "--domains");
	const char *dom = at ? at + 1 : "", *host = larg_value(e, "--hostname");
	size_t n = strlen(dom);

	if (e->nlarg == 0 || n == 0)
		return 0;
	if (doms == NULL)
		return (host != NULL && strcasecmp(dom, host) == 0) || strcasecmp(dom, "localhost") == 0;
	for (const char *p = doms; *p; ) {
		size_t k = strcspn(p, ", ");

		if (k == n && strncasecmp(p, dom, n) == 0)
			return 1;
		p += k;
		p += strspn(p, ", ");
	}
	return 0;
}

/* A recipient smtpd delivers: one it deferred, or (unless -s or --pipe
 * name the one server to use) one in its local domains, such as the
 * sender of a report. */
static int handed_back(const struct opts *o, const struct queue_env *e, const struct queue_rcpt *q)
{
	return e->nlarg > 0 && (q->local || (o->server == NULL && o->pipe_cmd == NULL &&
	    env_local(e, q->addr)));
}

/* Whether path is root's alone: it and every directory above it owned
 * by root, none writable by others but a sticky one (/tmp), so nobody
 * else wrote it or can put another file in its place. */
static int root_path(const char *path)
{
	char real[PATH_MAX];
	struct stat st;

	if (realpath(path, real) == NULL)
		return 0;
	for (;;) {
		if (lstat(real, &st) < 0 || st.st_uid != 0 ||
		    ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(S_ISDIR(st.st_mode) &&
		    (st.st_mode & S_ISVTX))))
			return 0;
		if (strcmp(real, "/") == 0)
			return 1;
		char *slash = strrchr(real, '/');

		if (slash == real)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
}

/* Options of smtpd's (each with a value but --no-forward) that give it no
 * power beyond what smtpd as root grants any client: where mail goes is
 * decided by the system's accounts (or a passwd-file of root's) and its
 * privilege separation.  The others (--mailbox, --mda, a passwd-file
 * someone else could write, ...) say who a user is, where a mailbox lies
 * or what command runs. */
static int root_safe(const struct queue_env *e)
{
	static const char *const safe[] = { "--hostname", "--domains", "--max-size", "--aliases",
	    "--queue", "--smtp-send", "--users" };

	for (size_t i = 0; i < e->nlarg; i++) {
		size_t k = 0;

		if (strcmp(e->larg[i], "--no-forward") == 0 || strcmp(e->larg[i], "--list-headers") == 0)
			continue;
		while (k < sizeof safe / sizeof *safe && strcmp(e->larg[i], safe[k]) != 0)
			k++;
		if (k == sizeof safe / sizeof *safe || i + 1 == e->nlarg)
			return 0;
		if (strcmp(e->larg[i], "--users") == 0 && !root_path(e->larg[i + 1]))
			return 0;
		i++;
	}
	return 1;
}

/* The command line of the smtpd to hand back to, and under whose ids it
 * runs (*drop, as).  Not root: ours, with the envelope's options.  Root:
 * the queue's env/ belongs to the user whose smtpd wrote the envelopes,
 * so what an envelope says never runs with more rights than that user
 * has: smtpd runs with the user's ids, unless the options are all
 * root_safe, and then as root, as the smtpd that wrote them ran (it drops
 * to --user, the owner, for the protocol and delivers as each recipient),
 * with the runner's own queue directory and the default runner.  -1 (with
 * err) if env/ is writable by others. */
static int handback_argv(const char *dir, const struct queue_env *e, char **argv,
    struct ids *as, int *drop, char *err, size_t cap)
{
	char path[PATH_MAX];
	struct stat st;
	struct passwd *pw;
	size_t n = 2;

	*drop = 0;
	snprintf(path, sizeof path, "%s/env", dir);
	if (stat(path, &st) < 0) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, cap, "%s is writable by others: no local delivery from it", path);
		return -1;
	}
	pw = getpwuid(st.st_uid);
	if (geteuid() == 0 && st.st_uid != 0 && pw != NULL && root_safe(e)) {
		argv[n++] = "--user";
		argv[n++] = pw->pw_name;
		argv[n++] = "--queue";
		argv[n++] = (char *)dir;
		for (size_t i = 0; i < e->nlarg; i++) {
			if (strcmp(e->larg[i], "--queue") == 0 || strcmp(e->larg[i], "--smtp-send") == 0)
				i++;
			else
				argv[n++] = e->larg[i];
		}
		argv[n] = NULL;
		return 0;
	}
	for (size_t i = 0; i < e->nlarg; i++)
		argv[n++] = e->larg[i];
	argv[n] = NULL;
	if (geteuid() != 0 || st.st_uid == 0)
		return 0;
	as->uid = st.st_uid;
	as->gid = pw != NULL ? pw->pw_gid : st.st_gid;
	*drop = 1;
	return 0;
}

/* Deliver rv[0..n) through "smtpd --lmtp LOCAL-ARGS" (the smtpd beside
 * this program, else the one in PATH): one LMTP reply per recipient. */
static void handback(const struct opts *o, const char *dir, const struct queue_env *e,
    const struct message *m, struct rcpt *rv, size_t n)
{
	char self[PATH_MAX], prog[PATH_MAX + 8], err[PATH_MAX + 64];
	char **argv = xcalloc(e->nlarg + 8, sizeof *argv);
	ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
	struct opts od = *o;
	struct ids as;
	struct peer p;
	int drop, rc;

	snprintf(prog, sizeof prog, "smtpd");
	if (len > 0) {
		self[len] = '\0';
		snprintf(prog, sizeof prog, "%s/smtpd", dirname(self));
		if (access(prog, X_OK) < 0)
			snprintf(prog, sizeof prog, "smtpd");
	}
	argv[0] = prog;
	argv[1] = "--lmtp";
	rc = handback_argv(dir, e, argv, &as, &drop, err, sizeof err);
	if (rc == 0)
		rc = net_spawn(argv, drop ? &as : NULL, &p, err, sizeof err);
	if (rc < 0) {
		for (size_t i = 0; i < n; i++) {
			rv[i].state = RS_TEMP;
			snprintf(rv[i].enh, sizeof rv[i].enh, "4.3.0");
			snprintf(rv[i].text, sizeof rv[i].text, "local delivery: %.*s",
			    (int)sizeof rv[i].text - 20, err);
			snprintf(rv[i].host, sizeof rv[i].host, "smtpd");
		}
		free(argv);
		return;
	}
	od.server = od.pipe_cmd = NULL;
	od.lmtp = 1;
	od.bdat = 0;
	od.tls = TLSM_NONE;
	od.auth_user = NULL;
	od.quit_after = ST_NONE;
	smtp_session(&od, &p, NULL, e->from, m, rv, n);
	peer_close(&p);
	free(argv);
}

/* Attempt the pending recipients of a locked message: the ones smtpd
 * delivers handed back to it, the others by SMTP. */
static void attempt(const struct opts *o, const struct qopts *q, SSL_CTX *ctx,
    const char *id, struct queue_env *e, int *newly, struct message *m)
{
	struct rcpt *rv = xcalloc(e->nrcpt + 1, sizeof *rv);
	size_t *map = xcalloc(e->nrcpt + 1, sizeof *map), k = 0, nremote;
	char err[300];
	struct opts od = *o;    /* with this message's RET and ENVID */

	od.ret = e->ret;
	od.envid = e->envid[0] ? e->envid : NULL;
	/* the remote ones first, then the local ones */
	for (int local = 0; local < 2; local++) {
		for (size_t i = 0; i < e->nrcpt; i++)
			if (e->rcpt[i].state == QR_PENDING &&
			    handed_back(o, e, &e->rcpt[i]) == local) {
				rv[k].addr = e->rcpt[i].addr;
				rv[k].notify = e->rcpt[i].notify;
				rv[k].orcpt = e->rcpt[i].orcpt[0] ? e->rcpt[i].orcpt : NULL;
				map[k++] = i;
			}
		if (local == 0)
			nremote = k;
	}
	if (load_msg(q->dir, id, m, err, sizeof err) < 0) {
		/* a spool file we cannot send will not get better */
		for (size_t j = 0; j < k; j++) {
			rv[j].state = RS_PERM;
			snprintf(rv[j].enh, sizeof rv[j].enh, "5.6.0");
			snprintf(rv[j].text, sizeof rv[j].text, "cannot send the queued message: %s", err);
		}
	} else {
		if (nremote > 0)
			deliver(&od, ctx, e->from, m, rv, nremote);
		if (k > nremote)
			handback(&od, q->dir, e, m, rv + nremote, k - nremote);
	}
	record(e, rv, map, k, newly, id, o->verbose);
	free(rv);
	free(map);
}

static time_t backoff(int attempts)
{
	long d = SEND_RETRY_MIN;

	for (int i = 1; i < attempts && d < SEND_RETRY_MAX; i++)
		d *= 2;
	return d > SEND_RETRY_MAX ? SEND_RETRY_MAX : d;
}

static void run_one(const struct opts *o, const struct qopts *q, SSL_CTX *ctx, const char *id)
{
	struct queue_env e = { 0 };
	struct message m = { 0 };
	const char *why;
	int fd = queue_lock(q->dir, id), *newly = NULL, anyfail = 0;
	time_t now = time(NULL);
	size_t pending = 0;

	if (fd < 0)
		return;         /* another runner has it, or it is gone */
	if (queue_read_env(fd, &e, &why) < 0) {
		warnx_("queue %s: bad envelope: %s", id, why ? why : strerror(errno));
		goto out;
	}
	if (!q->retry_now && e.next > now)
		goto out;
	newly = xcalloc(e.nrcpt + 1, sizeof *newly);
	attempt(o, q, ctx, id, &e, newly, &m);
	for (size_t i = 0; i < e.nrcpt; i++)
		if (e.rcpt[i].delivered && e.rcpt[i].state == QR_DONE) {
			/* smtpd's local delivery, or a list's expansion */
			newly[i] = e.rcpt[i].expanded ? K_EXPANDED : K_DELIVERED;
			e.rcpt[i].delivered = 0;
		}
	e.attempts++;
	for (size_t i = 0; i < e.nrcpt; i++)
		pending += e.rcpt[i].state == QR_PENDING;
	if (pending > 0 && expire(&e, newly, now, q->max_age) > 0)
		pending = 0;
	if (pending > 0 && q->delay_warn > 0 && now - e.created >= q->delay_warn)
		for (size_t i = 0; i < e.nrcpt; i++)
			if (e.rcpt[i].state == QR_PENDING && !e.rcpt[i].warned &&
			    dsn_wanted(e.rcpt[i].notify, DSN_DELAY)) {
				newly[i] = K_DELAYED;
				e.rcpt[i].warned = 1;
			}
	for (size_t i = 0; i < e.nrcpt; i++)
		anyfail |= newly[i] != K_NONE;
	if (anyfail && e.from[0] != '\0')
		for (int k = K_FAILED; k <= K_EXPANDED; k++)
			bounce(o, q->dir, &e, newly, k, &m, now);
	else if (anyfail && o->verbose)
		fprintf(stderr, "* %s: null sender, no bounce\n", id);
	if (pending == 0) {
		if (queue_remove(q->dir, id, fd) < 0)
			warn_("queue %s: remove", id);
		fd = -1;
	} else {
		e.next = now + backoff(e.attempts);
		if (queue_update_env(q->dir, id, &e, &fd) < 0)
			warn_("queue %s: update envelope", id);
	}
out:
	if (fd >= 0)
		close(fd);
	free(newly);
	msg_free(&m);
	queue_env_free(&e);
}

int queue_run(const struct opts *o, const struct qopts *q, SSL_CTX *ctx)
{
	char **ids = NULL, **again = NULL;
	size_t n = 0, n2 = 0;

	if (queue_list(q->dir, &ids, &n) < 0) {
		warn_("queue %s", q->dir);
		return 75;
	}
	for (size_t i = 0; i < n; i++)
		run_one(o, q, ctx, ids[i]);
	/* bounces queued by this run go out now, not at the next run */
	if (queue_list(q->dir, &again, &n2) == 0) {
		for (size_t i = 0; i < n2; i++) {
			int seen = 0;

			for (size_t j = 0; j < n && !seen; j++)
				seen = strcmp(again[i], ids[j]) == 0;
			if (!seen)
				run_one(o, q, ctx, again[i]);
		}
		queue_list_free(again, n2);
	}
	queue_list_free(ids, n);
	return 0;
}
