/* privsep.c — a login process with no way back to root, and its privileged
 * helper (privsep.h).
 *
 * Design note: the helper is the process the server already has for the
 * connection (the listener's child, or the inetd process); it forks the
 * login process, lets go of the client's descriptors, and from then on
 * reads only fixed-size requests on a SOCK_SEQPACKET pair, so a request
 * is one recv and its size says whether it is one.  A request that is
 * not exactly right ends the session: the login process that sent it is
 * not trusted any more.  After a START the helper becomes the user
 * (server_become) and runs the post-login session itself, so the
 * listener's per-client count, which follows this process, stays right. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "err.h"
#include "privsep.h"
#include "server.h"

/* The helper's memory of one session. */
struct helper {
	const struct privsep_cfg *cfg;
	int    fd;                      /* its end of the pair */
	pid_t  child;                   /* the login process */
	char   stamp[PRIVSEP_TEXT_MAX]; /* APOP timestamp, as the greeting shows it */
	char   chal[PRIVSEP_TEXT_MAX];  /* the CRAM-MD5 challenge out, "": none */
	int    fails;
	int    authed;                  /* a yes was given for u */
	struct user u;
};

/* ---------- the login process ---------- */

/* For good: every uid and gid the login account's, no groups, no new
 * privileges, and check root cannot come back.  0, or -1 after printing. */
static int become_login(const struct passwd *pw, pid_t parent)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		warn_("login process: switch to user %s", pw->pw_name);
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		warn_("login process: no_new_privs");
		return -1;
	}
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0 || r != pw->pw_uid ||
	    e != r || s != r || rg != pw->pw_gid || eg != rg || sg != rg || getgroups(0, NULL) != 0 ||
	    setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0) {
		warnx_("login process: root privileges could be regained as %s; stopping",
		    pw->pw_name);
		return -1;
	}
	server_keep_dumpable();
	/* After the switch (a change of ids clears it); the helper is root,
	 * so the kernel lets its death signal through. */
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	if (getppid() != parent)
		return -1;
	return 0;
}

/* Send m, wait for the answer: 1 yes, 0 no, -1 the helper is gone. */
static int ask(struct privsep *ps, struct privsep_msg *m, char *text, size_t cap)
{
	struct privsep_reply r;
	ssize_t n;

	m->magic = PRIVSEP_MAGIC;
	while ((n = send(ps->fd, m, sizeof *m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	OPENSSL_cleanse(m, sizeof *m);
	if (n != (ssize_t)sizeof *m)
		return -1;
	while ((n = recv(ps->fd, &r, sizeof r, 0)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof r || r.magic != PRIVSEP_MAGIC || r.ok > 1 ||
	    memchr(r.text, '\0', sizeof r.text) == NULL)
		return -1;
	if (text != NULL)
		snprintf(text, cap, "%s", r.text);
	return (int)r.ok;
}

/* A request with a user and, in one of its fields, a value; 0 (no) when
 * either does not fit. */
static int ask_user(struct privsep *ps, uint32_t type, const char *user, const char *secret,
    const char *digest)
{
	struct privsep_msg *m = xcalloc(1, sizeof *m);
	int rc = 0;

	m->type = type;
	if (strlen(user) < sizeof m->user && (secret == NULL || strlen(secret) < sizeof m->secret) &&
	    (digest == NULL || strlen(digest) < sizeof m->digest)) {
		strcpy(m->user, user);
		if (secret != NULL)
			strcpy(m->secret, secret);
		if (digest != NULL)
			strcpy(m->digest, digest);
		rc = ask(ps, m, NULL, 0);
	}
	OPENSSL_cleanse(m, sizeof *m);
	free(m);
	return rc;
}

int privsep_password(struct privsep *ps, const char *user, const char *pass)
{
	return ask_user(ps, PRIVSEP_PASSWORD, user, pass, NULL);
}

int privsep_apop(struct privsep *ps, const char *user, const char *hex)
{
	return ask_user(ps, PRIVSEP_APOP, user, NULL, hex);
}

static int check_password(void *arg, const char *name, const char *pass, struct user *u)
{
	int ok = privsep_password(arg, name, pass) == 1;

	if (ok) {
		memset(u, 0, sizeof *u);        /* the name only: the rest is the helper's */
		snprintf(u->name, sizeof u->name, "%s", name);
	}
	return ok;
}

static int check_challenge(void *arg, char *buf, size_t cap)
{
	struct privsep_msg *m = xcalloc(1, sizeof *m);
	int rc;

	m->type = PRIVSEP_CHALLENGE;
	rc = ask(arg, m, buf, cap);
	free(m);
	return rc == 1 ? 0 : -1;
}

static int check_cram(void *arg, const char *name, const char *hex, struct user *u)
{
	int ok = ask_user(arg, PRIVSEP_CRAM, name, NULL, hex) == 1;

	if (ok) {
		memset(u, 0, sizeof *u);
		snprintf(u->name, sizeof u->name, "%s", name);
	}
	return ok;
}

/* Under TLS, after the handoff: plaintext both ways between the client's
 * TLS session and the post-login session on pair, until the session ends
 * (pair closed) or the client goes (then the session gets EOF).  Both
 * sides non-blocking, so neither direction waits for the other. */
struct relay {
	unsigned char up[CONN_BUFSIZE], down[CONN_BUFSIZE];     /* to the session, to the client */
	size_t upoff, uplen, downoff, downlen;
	short  rd_want, wr_want;        /* what the TLS read and write wait for */
	int    client_eof, session_eof;
};

/* One round of every move that can be made now: 1 if something moved, 0
 * if nothing could, -1 when the relay is over. */
static int relay_step(struct relay *r, SSL *ssl, int pair)
{
	int moved = 0, n, e;
	ssize_t k;

	if (r->uplen == 0 && !r->client_eof) {
		r->rd_want = 0;
		if ((n = SSL_read(ssl, r->up, sizeof r->up)) > 0) {
			r->upoff = 0, r->uplen = (size_t)n, moved = 1;
		} else if ((e = SSL_get_error(ssl, n)) == SSL_ERROR_WANT_READ) {
			r->rd_want = POLLIN;
		} else if (e == SSL_ERROR_WANT_WRITE) {
			r->rd_want = POLLOUT;
		} else {
			r->client_eof = 1, moved = 1;
			shutdown(pair, SHUT_WR);        /* the session reads EOF and ends */
		}
	}
	if (r->downlen > 0) {
		r->wr_want = 0;
		if ((n = SSL_write(ssl, r->down + r->downoff, (int)r->downlen)) > 0) {
			r->downoff += (size_t)n, r->downlen -= (size_t)n, moved = 1;
		} else if ((e = SSL_get_error(ssl, n)) == SSL_ERROR_WANT_READ) {
			r->wr_want = POLLIN;
		} else if (e == SSL_ERROR_WANT_WRITE) {
			r->wr_want = POLLOUT;
		} else {
			return -1;      /* the client is gone */
		}
	}
	if (r->uplen > 0) {
		if ((k = write(pair, r->up + r->upoff, r->uplen)) > 0)
			r->upoff += (size_t)k, r->uplen -= (size_t)k, moved = 1;
		else if (k < 0 && errno != EAGAIN && errno != EINTR)
			r->uplen = 0, r->client_eof = 1;        /* the session stopped reading */
	}
	if (r->downlen == 0 && !r->session_eof) {
		if ((k = read(pair, r->down, sizeof r->down)) > 0)
			r->downoff = 0, r->downlen = (size_t)k, moved = 1;
		else if (k == 0 || (errno != EAGAIN && errno != EINTR))
			r->session_eof = 1, moved = 1;
	}
	if (r->session_eof && r->downlen == 0)
		return -1;
	return moved;
}

static void relay(SSL *ssl, int rfd, int wfd, int pair, int idle)
{
	struct relay *r = xcalloc(1, sizeof *r);
	int rc;

	fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK);
	fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
	fcntl(pair, F_SETFL, fcntl(pair, F_GETFL) | O_NONBLOCK);
	while ((rc = relay_step(r, ssl, pair)) >= 0) {
		struct pollfd p[3];
		short cev = (short)((r->uplen == 0 && !r->client_eof ? r->rd_want : 0) |
		    (r->downlen > 0 ? r->wr_want : 0));

		if (rc > 0)
			continue;
		p[0] = (struct pollfd){ .fd = rfd, .events = (short)(cev & POLLIN) };
		p[1] = (struct pollfd){ .fd = wfd, .events = (short)(cev & POLLOUT) };
		p[2] = (struct pollfd){ .fd = pair, .events = (short)((r->uplen > 0 ? POLLOUT : 0) |
		    (r->downlen == 0 && !r->session_eof ? POLLIN : 0)) };
		/* Only a client that stops reading can stall us: the session
		 * times its own reads and closes the pair. */
		if ((rc = poll(p, 3, idle > 0 ? idle * 1000 : -1)) < 0 && errno != EINTR)
			break;
		if (rc == 0 && r->downlen > 0)
			break;
	}
	free(r);
}

int privsep_handoff(struct privsep *ps, struct conn *c, const char *user, const void *state,
    size_t nstate, int idle)
{
	struct privsep_msg *m = xcalloc(1, sizeof *m);
	int fds[2] = { c->rfd, c->wfd }, rel[2] = { -1, -1 }, nfds = c->rfd == c->wfd ? 1 : 2;
	size_t pend = conn_pending(c);
	char cbuf[CMSG_SPACE(sizeof fds)];
	struct iovec iov = { m, sizeof *m };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf };
	struct cmsghdr *cm;
	ssize_t n;

	conn_flush(c);
	ps->handed = 1;
	if (conn_is_tls(c)) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rel) < 0) {
			warn_("socketpair");
			free(m);
			return EXIT_FAILURE;
		}
		fds[0] = rel[1];
		nfds = 1;
	}
	m->magic = PRIVSEP_MAGIC;
	m->type = PRIVSEP_START;
	snprintf(m->user, sizeof m->user, "%s", user);
	m->tls = conn_is_tls(c);
	m->nfds = (uint32_t)nfds;
	m->nstate = (uint32_t)(nstate < sizeof m->state ? nstate : sizeof m->state);
	memcpy(m->state, state, m->nstate);
	m->npending = (uint32_t)pend;
	memcpy(m->pending, c->in + c->ipos, pend);
	c->ipos = c->ilen;              /* the session's now */
	memset(cbuf, 0, sizeof cbuf);
	mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	while ((n = sendmsg(ps->fd, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	OPENSSL_cleanse(m, sizeof *m);
	free(m);
	if (rel[1] >= 0)
		close(rel[1]);
	if (n != (ssize_t)sizeof *m) {
		warn_("login process: hand the client over");
		if (rel[0] >= 0)
			close(rel[0]);
		return EXIT_FAILURE;
	}
	if (rel[0] >= 0) {
		relay(c->ssl, c->rfd, c->wfd, rel[0], idle);
		close(rel[0]);
	}
	return EXIT_SUCCESS;
}

void privsep_preload(struct conn *c, const struct privsep_handoff *h)
{
	memcpy(c->in, h->pending, h->npending);
	c->ipos = 0;
	c->ilen = h->npending;
}

/* ---------- the helper ---------- */

/* Whether a string field ends in NUL and is zero after it. */
static int field_ok(const char *f, size_t cap)
{
	const char *nul = memchr(f, '\0', cap);

	if (nul == NULL)
		return 0;
	for (const char *p = nul; p < f + cap; p++)
		if (*p != '\0')
			return 0;
	return 1;
}

static int zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static int hex32(const char *s)
{
	return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

/* What is wrong with m (received with nfds descriptors), or NULL. */
static const char *bad_request(const struct helper *h, const struct privsep_msg *m, int nfds)
{
	int start = m->type == PRIVSEP_START;

	if (m->magic != PRIVSEP_MAGIC || m->type < PRIVSEP_PASSWORD || m->type > PRIVSEP_START)
		return "unknown type";
	if (!field_ok(m->user, sizeof m->user) || !field_ok(m->secret, sizeof m->secret) ||
	    !field_ok(m->digest, sizeof m->digest))
		return "a field without its NUL or with bytes after it";
	if (m->type != PRIVSEP_CHALLENGE && !auth_name_ok(m->user))
		return "bad user name";
	if (m->type == PRIVSEP_CHALLENGE && m->user[0] != '\0')
		return "a user where none goes";
	if (m->type != PRIVSEP_PASSWORD && m->secret[0] != '\0')
		return "a password where none goes";
	if ((m->type == PRIVSEP_APOP || m->type == PRIVSEP_CRAM) != (m->digest[0] != '\0') ||
	    (m->digest[0] != '\0' && !hex32(m->digest)))
		return "bad digest";
	if (!start && (m->tls || m->nfds || m->nstate || m->npending || nfds != 0 ||
	    !zero(m->state, sizeof m->state) || !zero(m->pending, sizeof m->pending)))
		return "start fields in another request";
	if (h->authed && !start)
		return "a login after a successful one";
	if (!start)
		return NULL;
	if (!h->authed)
		return "start without a login";
	if (strcmp(m->user, h->u.name) != 0)
		return "start for another user";
	if (m->tls > 1 || m->nfds < 1 || m->nfds > 2 || (int)m->nfds != nfds ||
	    m->nstate > sizeof m->state || m->npending > sizeof m->pending ||
	    !zero(m->state + m->nstate, sizeof m->state - m->nstate) ||
	    !zero(m->pending + m->npending, sizeof m->pending - m->npending))
		return "bad start fields";
	return NULL;
}

/* One request, with up to two descriptors: its size, 0 at EOF, -1 when
 * not a request (fds closed). */
static ssize_t take(int fd, struct privsep_msg *m, int *fds, int *nfds)
{
	char cbuf[CMSG_SPACE(3 * sizeof(int))];
	struct iovec iov = { m, sizeof *m };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
	    .msg_controllen = sizeof cbuf };
	ssize_t n;

	*nfds = 0;
	while ((n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_TRUNC)) < 0 && errno == EINTR)
		;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); n >= 0 && cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int f;

			memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof f);
			if (*nfds < 2)
				fds[(*nfds)++] = f;
			else
				close(f), n = -2;
		}
	}
	/* An empty record is EOF, and descriptors sent with it are closed too
	 * (fuzz_privsep: they stayed open in the root helper). */
	if (n != (ssize_t)sizeof *m || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		while (*nfds > 0)
			close(fds[--(*nfds)]);
		return n == 0 ? 0 : -1;
	}
	return n;
}

static void answer(struct helper *h, uint32_t type, int ok, const char *text)
{
	struct privsep_reply r;

	memset(&r, 0, sizeof r);
	r.magic = PRIVSEP_MAGIC;
	r.type = type;
	r.ok = ok != 0;
	snprintf(r.text, sizeof r.text, "%s", text ? text : "");
	(void)!send(h->fd, &r, sizeof r, MSG_NOSIGNAL);
}

/* Check the credentials of m: 1 yes (h->u is the user), 0 no. */
static int verify(struct helper *h, const struct privsep_msg *m)
{
	struct user u;
	int ok = 0;

	if (h->fails >= PRIVSEP_FAILS_MAX)
		return 0;
	if (auth_lookup(h->cfg->users, m->user, &u) == 1) {
		if (m->type == PRIVSEP_PASSWORD)
			ok = auth_verify(&u, m->secret);
		else if (m->type == PRIVSEP_APOP)
			ok = h->cfg->users != NULL && auth_apop_ok(&u, h->stamp, m->digest);
		else
			ok = h->chal[0] != '\0' && auth_cram_ok(&u, h->chal, m->digest);
	}
	if (m->type == PRIVSEP_CRAM)
		h->chal[0] = '\0';              /* a challenge is good for one answer */
	if (ok) {
		h->u = u;
		h->authed = 1;
	} else {
		h->fails++;
		if (h->cfg->fail_delay > 0)
			sleep((unsigned)h->cfg->fail_delay);
	}
	OPENSSL_cleanse(&u, sizeof u);
	return ok;
}

static void new_challenge(struct helper *h)
{
	unsigned long long r = 0;

	if (RAND_bytes((unsigned char *)&r, sizeof r) != 1) {
		answer(h, PRIVSEP_CHALLENGE, 0, NULL);
		return;
	}
	snprintf(h->chal, sizeof h->chal, "<%llu.%lld@%.200s>", r % 10000000000ULL,
	    (long long)time(NULL), h->cfg->hostname && *h->cfg->hostname ? h->cfg->hostname :
	    "localhost");
	answer(h, PRIVSEP_CHALLENGE, 1, h->chal);
}

/* START accepted: the session, as the user. */
static int post_login(struct helper *h, const struct privsep_msg *m, const int *fds)
{
	struct privsep_handoff *hd = xcalloc(1, sizeof *hd);
	int became = 0, status;

	close(h->fd);
	h->fd = -1;
	hd->rfd = fds[0];
	hd->wfd = m->nfds == 2 ? fds[1] : fds[0];
	hd->tls = (int)m->tls;
	hd->nstate = m->nstate;
	memcpy(hd->state, m->state, m->nstate);
	hd->npending = m->npending;
	memcpy(hd->pending, m->pending, m->npending);
	if (!h->u.has_ids)
		warnx_("user %s: no uid and gid in the passwd-file, and started as root %s reads "
		    "mail only as its owner: give the user the ids of an ordinary account (as root, "
		    "maillab-user add uses the mail account's)", h->u.name, progname);
	else if (server_become(h->u.uid, h->u.gid) == 0)
		became = 1;
	server_keep_dumpable();
	status = h->cfg->post(hd, &h->u, became, h->cfg->arg);
	close(hd->rfd);
	if (hd->wfd != hd->rfd)
		close(hd->wfd);
	OPENSSL_cleanse(hd, sizeof *hd);
	free(hd);
	return status;
}

/* Serve the login process's requests until it ends or hands over. */
static int helper_run(struct helper *h)
{
	struct privsep_msg *m = xcalloc(1, sizeof *m);
	int fds[2], nfds, status = -1, st;
	const char *why;
	ssize_t n;

	while ((n = take(h->fd, m, fds, &nfds)) != 0) {
		/* (Any descriptor will do as the client: inetd mode may be given
		 * a file, and the login process can pass only what it holds.) */
		why = n < 0 ? "not one request" : bad_request(h, m, nfds);
		if (why != NULL) {
			/* The login process is not trusted any more: end it. */
			warnx_("login process: refused request: %s; session ended", why);
			answer(h, n > 0 ? m->type : 0, 0, NULL);
			while (nfds > 0)
				close(fds[--nfds]);
			kill(h->child, SIGKILL);
			status = EXIT_FAILURE;
			break;
		}
		if (m->type == PRIVSEP_START) {
			status = post_login(h, m, fds);
			break;
		}
		if (m->type == PRIVSEP_CHALLENGE)
			new_challenge(h);
		else
			answer(h, m->type, verify(h, m), NULL);
		OPENSSL_cleanse(m, sizeof *m);
	}
	OPENSSL_cleanse(m, sizeof *m);
	free(m);
	if (h->fd >= 0)
		close(h->fd);
	while (waitpid(h->child, &st, 0) < 0 && errno == EINTR)
		;
	if (status < 0)         /* the session ended before login: the login process's status */
		status = WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_FAILURE;
	return status;
}

/* The client's descriptors are the login process's alone now; fds 0-2
 * stay open on /dev/null. */
static void let_go(int rfd, int wfd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int fds[2] = { rfd, wfd };

	for (int i = 0; i < 2; i++) {
		if (i == 1 && wfd == rfd)
			break;
		if (fds[i] <= STDERR_FILENO && null >= 0)
			dup2(null, fds[i]);
		else
			close(fds[i]);
	}
	if (null >= 0)
		close(null);
}

enum privsep_rc privsep_start(const struct privsep_cfg *cfg, int rfd, int wfd, struct privsep *ps,
    int *status)
{
	const char *name = cfg->runas != NULL && *cfg->runas ? cfg->runas : PRIVSEP_USER;
	struct helper *h;
	struct passwd *pw;
	int sv[2];
	pid_t parent = getpid();

	memset(ps, 0, sizeof *ps);
	ps->fd = -1;
	if (geteuid() != 0)
		return PRIVSEP_OFF;
	if ((pw = getpwnam(name)) == NULL) {
		warnx_("user %s: no such user (the login process runs as it): create it, or name an "
		    "existing unprivileged account with --user (default %s)", name, PRIVSEP_USER);
		return PRIVSEP_FAIL;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		warnx_("user %s: has uid or gid 0; the login process must not: name an "
		    "unprivileged account with --user (default %s)", name, PRIVSEP_USER);
		return PRIVSEP_FAIL;
	}
	h = xcalloc(1, sizeof *h);
	h->cfg = cfg;
	snprintf(h->stamp, sizeof h->stamp, "<%ld.%lld@%.200s>", (long)getpid(),
	    (long long)time(NULL), cfg->hostname ? cfg->hostname : "localhost");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    (h->child = fork()) < 0) {
		warn_("login process");
		free(h);
		return PRIVSEP_FAIL;
	}
	if (h->child == 0) {
		close(sv[0]);
		snprintf(ps->stamp, sizeof ps->stamp, "%s", h->stamp);
		free(h);
		if (become_login(pw, parent) < 0)
			exit(EXIT_FAILURE);
		ps->fd = sv[1];
		ps->check = (struct sasl_check){ check_password, check_challenge, check_cram, ps };
		return PRIVSEP_LOGIN;
	}
	close(sv[1]);
	let_go(rfd, wfd);
	h->fd = sv[0];
	*status = helper_run(h);
	OPENSSL_cleanse(h, sizeof *h);
	free(h);
	return PRIVSEP_DONE;
}

int privsep_run(const struct privsep_cfg *cfg, int rfd, int wfd, privsep_login_fn login,
    int *status)
{
	struct privsep ps;

	switch (privsep_start(cfg, rfd, wfd, &ps, status)) {
	case PRIVSEP_DONE:
		return 0;
	case PRIVSEP_LOGIN:
		*status = login(rfd, wfd, &ps, cfg->arg);
		close(ps.fd);
		return 0;
	case PRIVSEP_OFF:
		*status = login(rfd, wfd, NULL, cfg->arg);
		return 0;
	default:
		return -1;
	}
}
