/* privsep.c — privilege separation when smtpd is started as root.
 *
 * Design note (popa3d's and OpenSMTPD's model).  A session started as
 * root forks before it reads a byte from the client.  The child drops to
 * --user for good and runs the whole protocol.  The parent keeps root, holds
 * no client socket, and does exactly one thing: on a request from the child
 * over a SOCK_SEQPACKET pair ("sender\0recipient\0" plus the message as a
 * passed file descriptor) it delivers: without --mda in this process,
 * with the effective uid, gid and groups switched to the recipient's for
 * the store and back (lib/deliver.c MD_BECOME_EFFECTIVE: no fork per
 * message, never written as uid 0, and the process exits if it cannot
 * return to root's ids), with --mda by running the command as root, which switches itself
 * (maildeliver does, and refuses uid 0); it answers with the exit status
 * and the first line of the reason.  So mail is
 * written as its owner, while a hostile client can at worst take over an
 * unprivileged process that may ask for local deliveries, which it could
 * do through SMTP anyway.  The request is checked (lengths, no control
 * characters) and the MDA is exec'ed without a shell, the sender as the
 * argument of -f and "--" before the recipient.
 *
 * With -l the split is made once per worker (smtpd_worker in session.c,
 * called by server_listen_reuse), and the same two halves serve the
 * worker's --max-use sessions one after the other: the protocol half dies
 * with the root half (PR_SET_PDEATHSIG), the root half ends when the
 * protocol half closes the channel.  The death signal is not sent when the
 * root half dies with a recipient's effective uid (the kernel checks the
 * dying process's credentials), so the protocol half also ends its worker
 * after a session whose channel hung up, and an idle one sees its parent
 * change (lib/server.c worker_accept). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "smtpd.h"

#define PS_REQ_MAX  (2 * (SMTP_PATH_MAX + 1))
#define PS_REP_MAX  SMTP_REPLY_MAX

pid_t privsep_fork(int *chan)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		warn_("socketpair");
		return -1;
	}
	if ((pid = fork()) < 0) {
		warn_("fork");
		close(sv[0]), close(sv[1]);
		return -1;
	}
	close(sv[pid == 0 ? 0 : 1]);
	*chan = sv[pid == 0 ? 1 : 0];
	return pid;
}

/* Addresses we pass to the MDA: printable and bounded.  A leading '-' is
 * harmless: the sender is the argument of -f, the recipient follows "--". */
static int arg_ok(const char *s, size_t n, int empty_ok)
{
	if (n > SMTP_PATH_MAX || (n == 0 && !empty_ok))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
			return 0;
	return 1;
}

/* Receive one request: fills sender, rcpt and *fd.  0, 1 at EOF, -1 bad. */
static int recv_req(int chan, char *sender, char *rcpt, int *fd)
{
	char data[PS_REQ_MAX], ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { data, sizeof data };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
	    .msg_controllen = sizeof ctl };
	struct cmsghdr *c;
	ssize_t n;
	size_t l1, l2;

	*fd = -1;
	while ((n = recvmsg(chan, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return 1;
	c = CMSG_FIRSTHDR(&mh);
	if (c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	if (*fd < 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return -1;
	l1 = strnlen(data, (size_t)n);
	if (l1 == (size_t)n)
		return -1;
	l2 = strnlen(data + l1 + 1, (size_t)n - l1 - 1);
	if (l1 + 1 + l2 + 1 != (size_t)n || !arg_ok(data, l1, 1) || !arg_ok(data + l1 + 1, l2, 0))
		return -1;
	memcpy(sender, data, l1 + 1);
	memcpy(rcpt, data + l1 + 1, l2 + 1);
	return 0;
}

int privsep_serve(const struct config *cfg, int chan, pid_t child)
{
	char sender[SMTP_PATH_MAX + 1], rcpt[SMTP_PATH_MAX + 1], rep[PS_REP_MAX];
	int fd, rc, st;

	/* The root half holds no client socket. */
	int null = open("/dev/null", O_RDWR);

	if (null >= 0) {
		dup2(null, 0), dup2(null, 1);
		if (null > 2)
			close(null);
	}
	while ((rc = recv_req(chan, sender, rcpt, &fd)) != 1) {
		struct buf err = { 0 };

		if (rc < 0) {
			warnx_("privsep: bad request from the session; stopping it");
			if (fd >= 0)
				close(fd);
			kill(child, SIGKILL);
			break;
		}
		if (cfg->mda == NULL)
			st = local_deliver(cfg, sender, rcpt, fd, NULL, &err);
		else
			st = mda_exec(cfg, sender, rcpt, fd, &err);
		close(fd);
		snprintf(rep, sizeof rep, "%d %.*s", st, (int)strcspn(err.p ? err.p : "", "\n"),
		    err.p ? err.p : "");
		buf_free(&err);
		if (send(chan, rep, strlen(rep), MSG_NOSIGNAL) < 0)
			break;
	}
	close(chan);
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			return EX_OSERR;
	return WIFEXITED(st) ? WEXITSTATUS(st) : EX_SOFTWARE;
}

int privsep_deliver(int chan, const char *sender, const char *rcpt, int fd, struct buf *err)
{
	char data[PS_REQ_MAX], ctl[CMSG_SPACE(sizeof(int))], rep[PS_REP_MAX + 1];
	size_t l1 = strlen(sender), l2 = strlen(rcpt);
	struct iovec iov = { data, l1 + l2 + 2 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
	    .msg_controllen = sizeof ctl };
	struct cmsghdr *c;
	ssize_t n;
	char *sp;

	if (l1 > SMTP_PATH_MAX || l2 > SMTP_PATH_MAX)
		return -1;
	memcpy(data, sender, l1 + 1);
	memcpy(data + l1 + 1, rcpt, l2 + 1);
	memset(ctl, 0, sizeof ctl);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(chan, &mh, MSG_NOSIGNAL) < 0)
		return buf_adds(err, "the delivering process has gone"), -1;
	while ((n = recv(chan, rep, sizeof rep - 1, 0)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return buf_adds(err, "the delivering process has gone"), -1;
	rep[n] = '\0';
	if ((sp = strchr(rep, ' ')) != NULL)
		buf_adds(err, sp + 1);
	return atoi(rep);
}
