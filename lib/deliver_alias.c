/* deliver_alias.c — local delivery through the aliases(5) table.
 *
 * A recipient whose local part (or, failing that, the part before a
 * "+detail") is an alias is delivered to every member: a local user like
 * any recipient, "|command" on the message's standard input and "/file"
 * appended as an mbox, both with the ids of the file that named them
 * (lib/aliases.c: the table's owner, an :include: file's owner, nobody for
 * root's), never as root.  A list ("owner-NAME" exists) gets owner-NAME
 * as its envelope sender (RFC 5321 3.9), so bounces reach the owner.
 * Members in other domains are relayed by smtpd, which expands the same
 * table (remote_ok); maildeliver alone cannot relay them.
 *
 * A user's ~/.forward (the same syntax; the user's or root's file,
 * writable by its owner only) sends the user's mail to its members instead,
 * commands and files running as the user; naming the user (or \user)
 * keeps a copy in the mailbox.  Its members in other domains are sent on
 * at once with relay_cmd (smtp-send), as the user, keeping the sender and
 * our Delivered-To: (so a forward that comes back is a loop). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "aliases.h"
#include "auth.h"
#include "buf.h"
#include "err.h"
#include "deliver.h"
#include "server.h"

/* The message on a memfd at offset 0, with the trace lines on top (no
 * Return-Path: when sender is NULL: the message goes on to another MTA). */
static int message_fd(const struct md_msg *m, const char *sender, const char *rcpt)
{
	struct buf b = { 0 };
	int fd = memfd_create("alias", MFD_CLOEXEC);
	size_t off = 0;

	if (fd < 0)
		return -1;
	if (sender != NULL)
		buf_printf(&b, "Return-Path: <%s>\n", sender);
	buf_printf(&b, "Delivered-To: %s\n", rcpt);
	buf_add(&b, m->data, m->len);
	while (off < b.len) {
		ssize_t w = write(fd, b.p + off, b.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			buf_free(&b);
			return -1;
		}
		off += (size_t)w;
	}
	buf_free(&b);
	if (lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The child side of a |command: its ids, its environment, then sh -c. */
static void pipe_child(const struct alias_target *t, int fd, const char *sender, const char *rcpt)
{
	if (geteuid() == 0 ? server_become(t->uid, t->gid) < 0 : getuid() != t->uid) {
		dprintf(2, "cannot run as uid %lu\n", (unsigned long)t->uid);
		_exit(EX_NOPERM);
	}
	if (dup2(fd, 0) < 0 || chdir("/") < 0)
		_exit(EX_TEMPFAIL);
	signal(SIGPIPE, SIG_DFL);
	clearenv();
	setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
	setenv("SENDER", sender, 1);
	setenv("RECIPIENT", rcpt, 1);
	setenv("SHELL", "/bin/sh", 1);
	alarm(ALIAS_CMD_SECS);
	execl("/bin/sh", "sh", "-c", t->text, (char *)NULL);
	_exit(EX_UNAVAILABLE);
}

/* |command: 0 and 75 as sysexits say; a signal or the time limit is
 * temporary; any other status is a failure for good (as Postfix's local). */
static int deliver_pipe(const struct md_opts *o, const struct md_msg *m,
    const struct alias_target *t, const char *sender, const char *rcpt)
{
	int fd = message_fd(m, sender, rcpt), st;
	pid_t pid;

	if (fd < 0) {
		md_warnf(o, "%s: |%s: cannot spool the message: %s", rcpt, t->text, strerror(errno));
		return EX_TEMPFAIL;
	}
	if ((pid = fork()) < 0) {
		close(fd);
		md_warnf(o, "%s: fork: %s", rcpt, strerror(errno));
		return EX_TEMPFAIL;
	}
	if (pid == 0)
		pipe_child(t, fd, sender, rcpt);
	close(fd);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return EX_TEMPFAIL;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return EX_OK;
	if (WIFEXITED(st) && WEXITSTATUS(st) != EX_TEMPFAIL) {
		md_warnf(o, "%s: |%s exited %d", rcpt, t->text, WEXITSTATUS(st));
		return WEXITSTATUS(st) == EX_NOPERM ? EX_NOPERM : EX_UNAVAILABLE;
	}
	md_warnf(o, "%s: |%s: %s", rcpt, t->text, WIFEXITED(st) ? "temporary failure (75)" :
	    "killed or out of time");
	return EX_TEMPFAIL;
}

/* Forward to an address in another domain: relay_cmd -i -f sender -- addr
 * as t's ids, the message with our Delivered-To: on its stdin. */
static int relay_child(const struct md_opts *o, const struct alias_target *t, int fd,
    const char *sender)
{
	char *words = xstrdup(o->relay_cmd), *argv[24];
	size_t n = 0;

	if (geteuid() == 0 ? server_become(t->uid, t->gid) < 0 : getuid() != t->uid)
		_exit(EX_NOPERM);
	for (char *w = strtok(words, " \t"); w && n < 18; w = strtok(NULL, " \t"))
		argv[n++] = w;
	argv[n++] = "-i";
	argv[n++] = "-f";
	argv[n++] = (char *)sender;
	argv[n++] = "--";
	argv[n++] = t->text;
	argv[n] = NULL;
	if (n < 6 || dup2(fd, 0) < 0)
		_exit(EX_TEMPFAIL);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	_exit(EX_UNAVAILABLE);
}

static int deliver_relay(const struct md_opts *o, const struct md_msg *m,
    const struct alias_target *t, const char *sender, const char *rcpt)
{
	int fd, st;
	pid_t pid;

	if (o->relay_cmd == NULL || o->relay_cmd[0] == '\0') {
		md_warnf(o, "%s: member %s is not local and there is no smtp-send to relay it",
		    rcpt, t->text);
		return EX_UNAVAILABLE;
	}
	if ((fd = message_fd(m, NULL, rcpt)) < 0 || (pid = fork()) < 0) {
		if (fd >= 0)
			close(fd);
		md_warnf(o, "%s: forward to %s: %s", rcpt, t->text, strerror(errno));
		return EX_TEMPFAIL;
	}
	if (pid == 0)
		relay_child(o, t, fd, sender);
	close(fd);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return EX_TEMPFAIL;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return EX_OK;
	md_warnf(o, "%s: forward to %s failed (%d)", rcpt, t->text,
	    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return WIFEXITED(st) && WEXITSTATUS(st) != EX_TEMPFAIL ? EX_UNAVAILABLE : EX_TEMPFAIL;
}

static int no_domain_is_local(const void *ctx, const char *domain)
{
	(void)ctx, (void)domain;
	return 0;
}

/* One member. */
static int deliver_member(const struct md_opts *o, const struct md_msg *m,
    const struct alias_target *t, const char *sender, const char *rcpt)
{
	switch (t->kind) {
	case AK_PIPE:
		return deliver_pipe(o, m, t, sender, rcpt);
	case AK_FILE:
		return md_deliver_file(o, m, sender, rcpt, t->text, t->uid, t->gid);
	case AK_LOCAL:
		return md_deliver_user(o, m, sender, t->text);
	case AK_REMOTE:
		break;
	}
	if (o->remote_ok)
		return EX_OK;           /* smtpd queues it */
	md_warnf(o, "%s: member %s is not local: maildeliver does not relay", rcpt, t->text);
	return EX_UNAVAILABLE;
}

/* The worst status wins, temporary first, but a list with some members
 * delivered is delivered (the others are reported, as a list does). */
static int fold(int acc, int rc, int *any_ok)
{
	if (rc == EX_OK)
		*any_ok = 1;
	else if (acc == EX_OK || (rc == EX_TEMPFAIL && acc != EX_TEMPFAIL))
		return rc;
	return acc;
}

/* ~/.forward of rcpt: 1 with *rc when it decided the delivery, else 0. */
static int deliver_forward(const struct md_opts *o, const struct md_msg *m, const char *sender,
    const char *rcpt, int *rc)
{
	struct user u;
	struct alias_set set;
	struct stat st;
	char path[PATH_MAX + 16], err[512];
	int r, acc = EX_OK, any_ok = 0;

	if (o->no_forward || auth_lookup_rcpt(o->users, rcpt, &u) <= 0 || u.home[0] == '\0')
		return 0;
	if (!u.has_ids) {
		struct passwd *pw = getpwnam(u.name);

		if (pw == NULL)
			return 0;
		u.uid = pw->pw_uid, u.gid = pw->pw_gid;
	}
	snprintf(path, sizeof path, "%s/.forward", u.home);
	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			md_warnf(o, "%s: %s: %s (not used)", rcpt, path, strerror(errno));
		return 0;
	}
	r = alias_forward(NULL, path, u.name, u.uid, u.gid,
	    o->alias_local ? o->alias_local : no_domain_is_local, o->alias_ctx, &set, err,
	    sizeof err);
	if (r == ALIAS_NONE)
		return 0;
	if (r < 0) {
		md_warnf(o, "%s: .forward: %s", rcpt, err);
		*rc = r == ALIAS_INCLUDE ? EX_TEMPFAIL : EX_DATAERR;
		return 1;
	}
	for (size_t i = 0; i < set.n; i++) {
		const struct alias_target *t = &set.v[i];
		int one;

		if (t->kind == AK_LOCAL && strncasecmp(t->text, u.name, strcspn(u.name, "@")) == 0 &&
		    strcspn(t->text, "@") == strcspn(u.name, "@"))
			one = md_deliver_user(o, m, sender, rcpt);      /* the user's own copy */
		else if (t->kind == AK_REMOTE)
			one = deliver_relay(o, m, t, sender, rcpt);
		else
			one = deliver_member(o, m, t, sender, rcpt);
		acc = fold(acc, one, &any_ok);
	}
	alias_set_free(&set);
	*rc = acc == EX_TEMPFAIL || !any_ok ? acc : EX_OK;
	return 1;
}

int md_deliver_rcpt(const struct md_opts *o, const struct md_msg *m, const char *sender,
    const char *rcpt)
{
	struct aliases a;
	struct alias_set set;
	char err[512], name[256], list_sender[600];
	const char *dom = strchr(rcpt, '@');
	int rc, acc = EX_OK, any_ok = 0;

	if (o->aliases == NULL)
		return deliver_forward(o, m, sender, rcpt, &rc) ? rc : md_deliver_user(o, m, sender, rcpt);
	if (aliases_load(o->aliases, &a, err, sizeof err) < 0) {
		md_warnf(o, "%s: aliases %s", rcpt, err);
		return EX_TEMPFAIL;
	}
	if (!alias_name(&a, rcpt, name, sizeof name)) {
		aliases_free(&a);
		return deliver_forward(o, m, sender, rcpt, &rc) ? rc : md_deliver_user(o, m, sender, rcpt);
	}
	rc = alias_expand(&a, name, o->alias_local ? o->alias_local : no_domain_is_local,
	    o->alias_ctx, &set, err, sizeof err);
	if (rc < 0) {
		md_warnf(o, "%s: %s", rcpt, err);
		aliases_free(&a);
		return rc == ALIAS_INCLUDE ? EX_TEMPFAIL : EX_DATAERR;
	}
	for (size_t i = 0; i < set.n; i++) {
		const char *from = sender;

		/* a list's copies go out with its owner as sender (RFC 5321 3.9) */
		if (set.v[i].owner != NULL) {
			snprintf(list_sender, sizeof list_sender, "%s%s", set.v[i].owner, dom ? dom : "");
			if (strlen(list_sender) <= MD_SENDER_MAX)
				from = list_sender;
		}
		acc = fold(acc, deliver_member(o, m, &set.v[i], from, rcpt), &any_ok);
	}
	alias_set_free(&set);
	aliases_free(&a);
	return acc == EX_TEMPFAIL || !any_ok ? acc : EX_OK;
}
