/* deliver.c — what happens after the end of data: the Received: line,
 * the content filter, local delivery through the MDA, the queue for
 * relayed mail, and the replies.
 *
 * The rule is RFC 5321 6.1: once we say 250 the mail is ours.  So a
 * relayed message is committed to the queue (fsync'ed) and a local one is
 * in the mailbox (fsync'ed, by lib/deliver in-process or by an --mda that
 * exited 0) before the reply goes out.  Delivery runs once per recipient
 * (an --mda gets the message on a memfd), so each recipient has its own
 * exit status (LMTP needs one
 * reply per recipient; SMTP folds them: with --queue a local recipient
 * that failed temporarily is queued for a retry (defer.c) and the others
 * are not delivered twice; without it any temporary failure is 451 for
 * the whole message, see DEVIATIONS.md). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "err.h"
#include "filter.h"
#include "mailbox.h"
#include "mbox.h"
#include "smtpd.h"

#define MDA_ARGS_MAX 24         /* words in --mda plus our own arguments */
#define ERRTEXT_MAX  200        /* MDA stderr quoted in logs */

/* ---- headers ---- */

size_t header_count(const char *msg, size_t len, const char *name)
{
	size_t n = strlen(name), count = 0;
	const char *p = msg, *end = msg + len;

	while (p < end && *p != '\n') {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		/* RFC 5322 3.6.8 allows blanks before the colon (obs-optional). */
		if ((size_t)(end - p) > n && strncasecmp(p, name, n) == 0) {
			const char *c = p + n;

			while (c < end && (*c == ' ' || *c == '\t'))
				c++;
			if (c < end && *c == ':')
				count++;
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return count;
}

int header_has(const char *msg, size_t len, const char *name)
{
	return header_count(msg, len, name) > 0;
}

/* RFC 5321 6.3: a message that has already crossed --max-hops relays is
 * in a loop; refuse it (for every recipient) rather than pass it on. */
static int too_many_hops(const struct session *s, char *why, size_t cap)
{
	size_t hops = header_count(s->msg.p ? s->msg.p : "", s->msg.len, "Received");

	if (hops <= (size_t)s->cfg->max_hops)
		return 0;
	snprintf(why, cap, "5.4.6 Too many hops: %zu Received: fields, limit %d "
	    "(RFC 5321 6.3: mail loop?)", hops, s->cfg->max_hops);
	return 554;
}

static void rfc5322_date(char *buf, size_t cap, time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, cap, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

/* RFC 3848 / RFC 6531 "with" keywords. */
static const char *protocol(const struct session *s)
{
	static const char *const names[2][2][2][2] = {
		/* [lmtp][utf8][tls][auth] */
		{ { { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } },
		  { { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } } },
		{ { { "LMTP", "LMTPA" }, { "LMTPS", "LMTPSA" } },
		  { { "UTF8LMTP", "UTF8LMTPA" }, { "UTF8LMTPS", "UTF8LMTPSA" } } },
	};

	if (!s->esmtp)
		return "SMTP";
	return names[s->cfg->lmtp][s->utf8][conn_is_tls(&s->conn)][s->authuser[0] != '\0'];
}

/* The HELO argument as it may appear in a header: printable ASCII only. */
static void clean_helo(const char *in, char *out, size_t cap)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < cap; i++)
		out[i] = (in[i] > ' ' && in[i] < 0x7f && in[i] != '(' && in[i] != ')') ? in[i] : '_';
	out[i] = '\0';
}

void received_line(struct session *s, struct buf *b, const char *rcpt)
{
	char helo[SMTP_CMD_MAX], date[64], tls[160];
	const struct peer *p = &s->peer;

	clean_helo(s->helo, helo, sizeof helo);
	buf_printf(b, "Received: from %s", helo);
	if (p->addr[0])
		buf_printf(b, " (%s [%s%s])", p->name[0] ? p->name : "unknown",
		    strchr(p->addr, ':') ? "IPv6:" : "", p->addr);
	else
		buf_adds(b, " (unknown)");
	conn_tls_info(&s->conn, tls, sizeof tls);
	if (tls[0])
		buf_printf(b, "\n\t(using %s)", tls);
	if (s->authuser[0])
		buf_printf(b, "\n\t(Authenticated sender: %s)", s->authuser);
	/* RFC 5321 4.4: ID is an Atom or a msg-id; our ids hold dots, which
	 * an Atom may not, so they go in msg-id form. */
	buf_printf(b, "\n\tby %s (maillab smtpd) with %s id <%s@%s>", s->cfg->hostname,
	    protocol(s), s->id, s->cfg->hostname);
	rfc5322_date(date, sizeof date, time(NULL));
	if (rcpt != NULL && strpbrk(rcpt, "\r\n") == NULL)
		buf_printf(b, "\n\tfor <%s>", rcpt);
	buf_printf(b, "; %s\n", date);
}

/* --submission: RFC 6409 8.2/8.3, a submission server may add what the
 * client left out. */
static void submission_headers(struct session *s, struct buf *b)
{
	char date[64];

	if (!header_has(s->msg.p ? s->msg.p : "", s->msg.len, "Message-ID"))
		buf_printf(b, "Message-ID: <%s@%s>\n", s->id, s->cfg->hostname);
	if (!header_has(s->msg.p ? s->msg.p : "", s->msg.len, "Date")) {
		rfc5322_date(date, sizeof date, time(NULL));
		buf_printf(b, "Date: %s\n", date);
	}
}

/* ---- child processes ---- */

/* A memfd (or unlinked temp file) holding p[0..n), at offset 0. */
static int data_fd(const char *p, size_t n)
{
	int fd = memfd_create("smtpd-msg", MFD_CLOEXEC);

	if (fd < 0) {
		char tmpl[] = "/tmp/smtpd.XXXXXX";

		if ((fd = mkostemp(tmpl, O_CLOEXEC)) < 0)
			return -1;
		unlink(tmpl);
	}
	if (write_all(fd, p, n) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Drain the child's stdout (into out, at most outmax bytes kept) and
 * stderr (into err) until both close or SMTPD_CHILD_SECS pass. */
static void drain(int ofd, int efd, struct buf *out, size_t outmax, struct buf *err, pid_t pid)
{
	struct pollfd pf[2] = { { .fd = ofd, .events = POLLIN }, { .fd = efd, .events = POLLIN } };
	time_t deadline = time(NULL) + SMTPD_CHILD_SECS;
	char tmp[IO_BUFSIZE / 8];

	while (pf[0].fd >= 0 || pf[1].fd >= 0) {
		int left = (int)(deadline - time(NULL));

		if (left <= 0 || poll(pf, 2, left * 1000) == 0) {
			kill(pid, SIGKILL);
			break;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t k;

			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if ((k = read(pf[i].fd, tmp, sizeof tmp)) <= 0) {
				if (k < 0 && errno == EINTR)
					continue;
				pf[i].fd = -1;
				continue;
			}
			struct buf *b = i == 0 ? out : err;
			size_t max = i == 0 ? outmax : ERRTEXT_MAX;

			if (b != NULL && b->len < max)
				buf_add(b, tmp, (size_t)k < max - b->len ? (size_t)k : max - b->len);
		}
	}
}

/* Run argv (or "sh -c argv[0]" when shell) with stdin from infd; capture
 * stdout into out (NULL: discard) and stderr into err.  Return the exit
 * code, 128+signal, or -1 if it could not start. */
static int run_child_fn(char *const argv[], int shell, int (*fn)(void *), void *arg, int infd,
    struct buf *out, size_t outmax, struct buf *err)
{
	int op[2], ep[2], st;
	pid_t pid;

	if (pipe2(op, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		close(op[0]), close(op[1]);
		return -1;
	}
	if ((pid = fork()) < 0) {
		close(op[0]), close(op[1]), close(ep[0]), close(ep[1]);
		return -1;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(infd, 0) < 0 || dup2(op[1], 1) < 0 || dup2(ep[1], 2) < 0)
			_exit(EX_OSERR);
		if (fn != NULL) {
			/* No exec to close the O_CLOEXEC ones: the child keeps
			 * only stdin, stdout and stderr (not the privsep channel). */
			close_range(3, ~0U, 0);
			_exit(fn(arg));
		}
		if (shell)
			execl("/bin/sh", "sh", "-c", argv[0], (char *)NULL);
		else
			execv(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		/* A command that was there at start and is not now (an
		 * upgrade in progress): defer the mail, do not bounce it. */
		_exit(EX_TEMPFAIL);
	}
	close(op[1]);
	close(ep[1]);
	drain(op[0], ep[0], out, outmax, err, pid);
	close(op[0]);
	close(ep[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run_child(char *const argv[], int shell, int infd, struct buf *out, size_t outmax,
    struct buf *err)
{
	return run_child_fn(argv, shell, NULL, NULL, infd, out, outmax, err);
}

/* ---- the filter (lab 7) ---- */

/* Copy the X-Spam-* and X-Virus-* fields of the filter's output header. */
static void filter_headers(const struct buf *out, struct buf *keep)
{
	const char *p = out->p ? out->p : "", *end = p + out->len;
	int taking = 0;

	while (p < end && *p != '\n' && !(*p == '\r' && p + 1 < end && p[1] == '\n')) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (*p == ' ' || *p == '\t')            /* continuation */
			;
		else
			taking = strncasecmp(p, "X-Spam-", 7) == 0 || strncasecmp(p, "X-Virus-", 8) == 0;
		if (taking) {
			if (n > 0 && p[n - 1] == '\r')
				n--;
			buf_add(keep, p, n);
			buf_addc(keep, '\n');
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

/* Pipe m through --filter.  0: accept (its X-Spam-* headers added into
 * hdrs); else a reply code with text in why. */
static int run_filter(struct session *s, const struct buf *m, struct buf *hdrs, char *why,
    size_t cap)
{
	char *argv[] = { (char *)s->cfg->filter, NULL };
	struct buf out = { 0 }, err = { 0 };
	int fd = data_fd(m->p, m->len), rc;

	if (fd < 0) {
		snprintf(why, cap, "4.3.0 Error: cannot run the content filter");
		return 451;
	}
	rc = run_child(argv, 1, fd, &out, SMTPD_FILTER_OUT_MAX, &err);
	close(fd);
	if (rc == 0)
		filter_headers(&out, hdrs);
	else if (s->cfg->verbose)
		warnx_("filter %s exited %d: %s", s->cfg->filter, rc, err.p ? err.p : "");
	if (rc == 1)
		snprintf(why, cap, "5.7.1 Error: message content rejected");
	else if (rc != 0)
		snprintf(why, cap, "4.3.0 Error: content filter failed (status %d)", rc);
	buf_free(&out);
	buf_free(&err);
	return rc == 0 ? 0 : rc == 1 ? 550 : 451;
}

/* ---- local delivery ---- */

/* argv for one MDA run: the --mda words, then -f SENDER [--users F]
 * [--mailbox T] -- RCPT.  Words point into words (a copy of --mda). */
static void mda_argv(const struct config *cfg, char *words, const char *sender,
    const char *rcpt, char **argv, const char *domains)
{
	size_t n = 0;
	const char *base;

	for (char *t = strtok(words, " \t"); t && n < MDA_ARGS_MAX - 15; t = strtok(NULL, " \t"))
		argv[n++] = t;
	base = n > 0 && strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : n > 0 ? argv[0] : "";
	if (cfg->aliases && strcmp(base, "maildeliver") == 0) {
		/* maildeliver expands the table for the local members; the
		 * others are ours to queue (expand.c) */
		argv[n++] = "--aliases";
		argv[n++] = (char *)cfg->aliases;
		argv[n++] = "--skip-remote";
		argv[n++] = "--domains";
		argv[n++] = (char *)domains;
	}
	if (cfg->no_forward && strcmp(base, "maildeliver") == 0)
		argv[n++] = "--no-forward";
	if (cfg->quota_bounce && strcmp(base, "maildeliver") == 0)
		argv[n++] = "--quota-bounce";
	argv[n++] = "-f";
	argv[n++] = (char *)sender;
	if (cfg->users) {
		argv[n++] = "--users";
		argv[n++] = (char *)cfg->users;
	}
	if (cfg->mailbox) {
		argv[n++] = "--mailbox";
		argv[n++] = (char *)cfg->mailbox;
	}
	argv[n++] = "--";
	argv[n++] = (char *)rcpt;
	argv[n] = NULL;
}

int mda_exec(const struct config *cfg, const char *sender, const char *rcpt, int fd,
    struct buf *err)
{
	char *argv[MDA_ARGS_MAX + 1], *words = xstrdup(cfg->mda);
	struct buf doms = { 0 };
	int st;

	for (size_t i = 0; i < cfg->ndomains; i++)
		buf_printf(&doms, "%s%s", i ? "," : "", cfg->domains[i]);
	if (cfg->ndomains == 0)
		buf_printf(&doms, "%s,localhost", cfg->hostname);
	mda_argv(cfg, words, sender, rcpt, argv, doms.p);
	st = run_child(argv, 0, fd, NULL, 0, err);
	free(words);
	buf_free(&doms);
	return st;
}

/* In-process delivery (no --mda): lib/deliver.c, the very code of
 * maildeliver, with maildeliver's settings (umask 077, SIGXFSZ ignored so
 * a file size limit is EFBIG, handled), without a fork or exec.  As root
 * (the root half of privsep.c, single-threaded, holding no client socket)
 * the message comes from the unprivileged half as a regular file (its
 * memfd), and lib/deliver switches the effective uid, gid and groups to
 * the recipient's for the store only, then back (MD_BECOME_EFFECTIVE): the
 * file is created and written as its owner, never as uid 0, and the root
 * half exits rather than go on with other ids. */
struct local_job {
	const struct config *cfg;
	const char *sender, *rcpt;
	const struct buf *msg;          /* the message, or NULL: read it from fd */
	int fd;
	struct buf *err;
	int become;
};

static int local_run(struct local_job *j)
{
	struct md_opts o = { .sender = j->sender, .users = j->cfg->users,
	    .tmpl = j->cfg->mailbox ? j->cfg->mailbox : MAILBOX_DEFAULT,
	    .lock_wait = MBOX_LOCK_SECS, .max_size = MD_SIZE_MAX, .err = j->err,
	    .become = j->become, .aliases = j->cfg->aliases, .alias_local = alias_domain_local,
	    .alias_ctx = j->cfg, .remote_ok = 1, .no_forward = j->cfg->no_forward,
	    .relay_cmd = j->cfg->smtp_send, .quota_bounce = j->cfg->quota_bounce };
	char *rcpts[1] = { (char *)j->rcpt };
	struct md_msg m;
	int rc;

	if (j->msg != NULL)
		rc = md_from_mem(j->msg->p ? j->msg->p : "", j->msg->len, &m);
	else
		rc = md_read(j->fd, MD_SIZE_MAX, &m);
	if (rc != EX_OK)
		return rc;
	rc = md_run(&o, &m, rcpts, 1);
	md_msg_free(&m);
	return rc;
}

int local_deliver(const struct config *cfg, const char *sender, const char *rcpt, int fd,
    const struct buf *msg, struct buf *err)
{
	struct local_job j = { .cfg = cfg, .sender = sender, .rcpt = rcpt, .msg = msg, .fd = fd,
	    .err = err };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	struct stat st;
	mode_t mask;
	int rc;

	if (geteuid() == 0) {
		/* Only a regular file (the memfd): a pipe or socket from a
		 * misbehaving half could keep root waiting. */
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    lseek(fd, 0, SEEK_SET) < 0) {
			buf_adds(err, "the message is not a regular file");
			return EX_SOFTWARE;
		}
		j.msg = NULL;
		j.become = MD_BECOME_EFFECTIVE;
	} else if (msg == NULL && fd < 0) {
		return -1;
	}
	mask = umask(077);
	sigemptyset(&ign.sa_mask);
	sigaction(SIGXFSZ, &ign, &old);
	rc = local_run(&j);
	sigaction(SIGXFSZ, &old, NULL);
	umask(mask);
	return rc;
}

/* Whether the first line of the delivery's complaint, e[0..n), says the
 * mailbox is over its quota: lib/deliver's (and maildeliver's) "mailbox
 * full: quota exceeded", or dovecot-lda's "Quota exceeded (mailbox for
 * user is full)". */
static int says_quota(const char *e, int n)
{
	static const char *const words[] = { "quota exceeded", "mailbox full" };

	for (size_t w = 0; w < sizeof words / sizeof *words; w++) {
		size_t k = strlen(words[w]);

		for (int i = 0; i + (int)k <= n; i++)
			if (strncasecmp(e + i, words[w], k) == 0)
				return 1;
	}
	return 0;
}

/* Map the MDA's exit status to a reply (sysexits, as Postfix's pipe does:
 * unknown statuses are temporary, so mail is retried rather than lost).
 * A mailbox over its quota gets RFC 3463's X.2.2 "mailbox full" with the
 * RFC 5321 codes for storage: 452 for now, 552 for good (--quota-bounce). */
static void mda_result(struct rcpt *r, int st, const struct buf *err)
{
	const char *e = err->p ? err->p : "";
	int elen = (int)strcspn(e, "\n");

	if (st != 0 && st != EX_NOUSER && says_quota(e, elen)) {
		int now = st != EX_USAGE && st != EX_DATAERR && st != EX_NOHOST &&
		    st != EX_UNAVAILABLE && st != EX_NOPERM;

		r->code = now ? 452 : 552;
		snprintf(r->reply, sizeof r->reply, "%s <%s>: mailbox full%s",
		    now ? "4.2.2" : "5.2.2", r->addr, now ? ", try again later" : "");
		return;
	}
	switch (st) {
	case 0:
		r->code = 250;
		snprintf(r->reply, sizeof r->reply, "2.0.0 <%s> Ok: delivered", r->addr);
		return;
	case EX_NOUSER:
		r->code = 550;
		snprintf(r->reply, sizeof r->reply, "5.1.1 <%s>: User unknown", r->addr);
		return;
	case EX_USAGE: case EX_DATAERR: case EX_NOHOST: case EX_UNAVAILABLE: case EX_NOPERM:
		r->code = 554;
		snprintf(r->reply, sizeof r->reply, "5.3.0 <%s>: delivery failed: %.*s", r->addr,
		    elen, e);
		return;
	default:
		r->code = 451;
		snprintf(r->reply, sizeof r->reply, "4.2.0 <%s>: temporary delivery failure: %.*s",
		    r->addr, elen, elen ? e : "try again later");
	}
}

static void deliver_local(struct session *s, struct rcpt *r, const struct buf *m)
{
	struct buf err = { 0 };
	int fd, st;
	/* "bob@[IPv6:::1]" cannot be a user name (':' separates passwd-file
	 * fields): for an address literal, deliver to the user found. */
	const char *who = *addr_domain(r->addr) == '[' ? r->user.name : r->addr;

	if (s->cfg->mda != NULL && s->cfg->mda[0] == '\0') {
		r->code = 451;
		snprintf(r->reply, sizeof r->reply, "4.3.5 Error: no MDA configured");
		return;
	}
	if (s->cfg->mda == NULL && s->privsep < 0) {      /* in-process, as ourselves */
		st = local_deliver(s->cfg, s->from, who, -1, m, &err);
		mda_result(r, st, &err);
		if (st != 0 && s->cfg->verbose)
			warnx_("%s: delivery failed (%d): %s", r->addr, st, err.p ? err.p : "");
		buf_free(&err);
		return;
	}
	if ((fd = data_fd(m->p, m->len)) < 0) {
		r->code = 451;
		snprintf(r->reply, sizeof r->reply, "4.3.0 Error: cannot spool the message");
		return;
	}
	if (s->privsep >= 0)            /* root runs it for us: see privsep.c */
		s->privsep_gone |= (st = privsep_deliver(s->privsep, s->from, who, fd, &err)) < 0;
	else
		st = mda_exec(s->cfg, s->from, who, fd, &err);
	close(fd);
	mda_result(r, st, &err);
	if (st != 0 && s->cfg->verbose)
		warnx_("%s: %s exited %d: %s", r->addr, s->cfg->mda ? s->cfg->mda : "delivery", st,
		    err.p ? err.p : "");
	buf_free(&err);
}

/* ---- relaying ---- */

/* Start "smtp-send --queue DIR" in the background, detached, so it
 * outlives this session; without it the mail waits in the queue.
 * --smtp-send may carry options ("smtp-send --dns 127.0.0.1:5353"). */
static void start_runner(const struct config *cfg)
{
	char *argv[MDA_ARGS_MAX + 1], *words;
	size_t n = 0;
	pid_t pid;

	if (cfg->smtp_send == NULL || cfg->smtp_send[0] == '\0')
		return;
	if ((pid = fork()) < 0)
		return;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		setsid();
		if (fork() != 0)
			_exit(0);
		signal(SIGPIPE, SIG_DFL);
		dup2(null, 0), dup2(null, 1), dup2(null, 2);
		words = xstrdup(cfg->smtp_send);
		for (char *t = strtok(words, " \t"); t && n < MDA_ARGS_MAX - 3; t = strtok(NULL, " \t"))
			argv[n++] = t;
		argv[n++] = "--queue";
		argv[n++] = (char *)cfg->queue;
		argv[n] = NULL;
		execvp(argv[0], argv);
		_exit(EX_UNAVAILABLE);
	}
	waitpid(pid, NULL, 0);
}

/* Commit the relayed recipients to the queue; 1 if something was queued. */
static int deliver_relay(struct session *s, const struct buf *m)
{
	struct queue_env e;
	char qid[QUEUE_ID_MAX];
	int any = 0, rc;

	queue_env_init(&e, s->from, time(NULL));
	e.ret = s->ret;
	snprintf(e.envid, sizeof e.envid, "%s", s->envid);
	queue_local_args(s->cfg, &e);
	for (size_t i = 0; i < s->nrcpt; i++)
		if (!s->rcpt[i].local && queue_env_add(&e, s->rcpt[i].addr) == 0) {
			e.rcpt[e.nrcpt - 1].notify = s->rcpt[i].notify;
			memcpy(e.rcpt[e.nrcpt - 1].orcpt, s->rcpt[i].orcpt, sizeof s->rcpt[i].orcpt);
			any = 1;
		}
	if (!any) {
		queue_env_free(&e);
		return 0;
	}
	rc = queue_init(s->cfg->queue);
	if (rc == 0)
		rc = queue_enqueue(s->cfg->queue, &e, m->p, m->len, qid);
	if (rc < 0)
		warn_("queue %s", s->cfg->queue);
	for (size_t i = 0; i < s->nrcpt; i++) {
		struct rcpt *r = &s->rcpt[i];

		if (r->local)
			continue;
		r->code = rc == 0 ? 250 : 451;
		if (rc == 0)
			snprintf(r->reply, sizeof r->reply, "2.0.0 Ok: queued as %s", qid);
		else
			snprintf(r->reply, sizeof r->reply, "4.3.0 Error: queue file write error");
	}
	queue_env_free(&e);
	return rc == 0;
}

/* ---- the whole ---- */

/* SMTP has one reply for all: the worst outcome wins, temporary first. */
static void reply_smtp(struct session *s)
{
	const struct rcpt *worst = &s->rcpt[0];

	for (size_t i = 1; i < s->nrcpt; i++) {
		int c = s->rcpt[i].code, w = worst->code;

		if ((c / 100 == 4 && w / 100 != 4) || (c / 100 == 5 && w / 100 == 2))
			worst = &s->rcpt[i];
	}
	if (worst->code == 250 && s->nrcpt > 1)
		reply(s, 250, "2.0.0 Ok: %zu recipients, id %s", s->nrcpt, s->id);
	else
		reply(s, worst->code, "%s", worst->reply);
}

static void build_message(struct session *s, struct buf *m)
{
	received_line(s, m, s->nrcpt == 1 ? s->rcpt[0].addr : NULL);
	if (s->cfg->submission)
		submission_headers(s, m);
	buf_add(m, s->msg.p ? s->msg.p : "", s->msg.len);
}

/* Put hdrs after the first header field (our Received: line). */
static void insert_after_received(struct buf *m, const struct buf *hdrs)
{
	struct buf n = { 0 };
	const char *p = m->p;
	const char *cut = p;

	/* our Received: line is folded: it ends at the first LF not followed by a tab */
	while ((cut = strchr(cut, '\n')) != NULL && cut[1] == '\t')
		cut++;
	size_t at = cut ? (size_t)(cut - p) + 1 : m->len;

	buf_add(&n, p, at);
	buf_add(&n, hdrs->p, hdrs->len);
	buf_add(&n, p + at, m->len - at);
	buf_free(m);
	*m = n;
}

void deliver_message(struct session *s)
{
	struct buf m = { 0 }, hdrs = { 0 };
	char why[SMTP_REPLY_MAX];
	int code = 0, queued = 0;

	queue_new_id(s->id);
	build_message(s, &m);
	code = too_many_hops(s, why, sizeof why);
	if (code == 0 && s->cfg->filter != NULL && (code = run_filter(s, &m, &hdrs, why, sizeof why)) == 0 &&
	    hdrs.len > 0)
		insert_after_received(&m, &hdrs);
	if (code == 0)
		code = authres_message(s, &m, why, sizeof why);
	for (size_t i = 0; code != 0 && i < s->nrcpt; i++) {
		s->rcpt[i].code = code;
		snprintf(s->rcpt[i].reply, sizeof s->rcpt[i].reply, "%s", why);
	}
	if (code == 0) {
		queued = deliver_relay(s, &m);
		for (size_t i = 0; i < s->nrcpt; i++) {
			struct buf h = { 0 }, l = { 0 };
			const struct buf *c = &m;

			if (!s->rcpt[i].local)
				continue;
			if (handoff_copy(s, s->rcpt[i].addr, c, &h))
				c = &h;
			if (s->rcpt[i].alias && list_copy(s, s->rcpt[i].addr, c, &l))
				c = &l;
			deliver_local(s, &s->rcpt[i], c);
			buf_free(&h);
			buf_free(&l);
		}
		if (s->cfg->aliases != NULL)
			queued |= alias_relay(s, &m);
		queued |= dsn_local_success(s, &m);
		/* last: a recipient it queues was not delivered (no success
		 * report) and its alias members were not relayed */
		defer_local(s, &m);
	}
	if (s->cfg->lmtp)
		for (size_t i = 0; i < s->nrcpt; i++)
			reply(s, s->rcpt[i].code, "%s", s->rcpt[i].reply);
	else
		reply_smtp(s);
	s->size = m.len;
	log_delivery(s);
	if (queued)
		start_runner(s->cfg);
	buf_free(&m);
	buf_free(&hdrs);
}
