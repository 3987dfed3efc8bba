/* deliver.c — find each recipient's mailbox and store the message there
 * (maildeliver's core, and smtpd's in-process delivery).
 *
 * Design note: never as root.  Started by root (Postfix's local, smtpd,
 * an administrator), each delivery runs in a child that has switched for
 * good to the recipient's uid/gid (passwd-file fields, system account, or
 * else the owner of the mailbox), so a mailbox, a symlink or a .forward
 * trick of one user can never reach a file that user could not write.
 * Errors map to sysexits: temporary (75) whenever trying again may work. */
#include <errno.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "err.h"
#include "deliver.h"
#include "quota.h"
#include "maildir.h"
#include "mailbox.h"
#include "mbox.h"
#include "server.h"

#define MD_PREFIX_MAX   (MD_SENDER_MAX + AUTH_NAME_MAX + 64)

/* One delivery: where, for whom, and the header lines we add. */
struct target {
	enum mailbox_kind kind;
	char  path[PATH_MAX];
	char  folder[AUTH_NAME_MAX + 1];    /* "+detail" folder, or "" */
	const char *who;                    /* for messages */
	char  prefix[MD_PREFIX_MAX];        /* Return-Path:, Delivered-To: */
	char  sender[MD_SENDER_MAX + 1];
	const struct quota *rule;           /* the user's own quota rule, or NULL */
};

/* The exit status for a failed system call: temporary unless retrying
 * cannot help without an administrator. */
static int ex_errno(int e)
{
	switch (e) {
	case EACCES: case EPERM: case EROFS:
		return EX_NOPERM;
	case ENOENT: case ENOTDIR: case ELOOP: case EISDIR: case ENAMETOOLONG:
		return EX_CANTCREAT;
	default:        /* ENOSPC, EDQUOT, EIO, EAGAIN, EFBIG, ENOMEM... */
		return EX_TEMPFAIL;
	}
}

/* Why a delivery failed: into o->err when the caller collects it, else
 * on stderr as "progname: ...". */
static void __attribute__((format(printf, 2, 3))) md_warn(const struct md_opts *o,
    const char *fmt, ...)
{
	struct buf b = { 0 };
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (b.p == NULL)
		return;         /* a formatting error: nothing to say */
	if (o->err != NULL) {
		buf_add(o->err, b.p, b.len);
		buf_addc(o->err, '\n');
	} else {
		warnx_("%s", b.p);
	}
	buf_free(&b);
}

static int fail_errno(const struct md_opts *o, const struct target *t, const char *what)
{
	int e = errno;

	/* Permissions: say whose ids were refused, and the fix. */
	if (e == EACCES || e == EPERM)
		md_warn(o, "%s: %s %s: %s (delivering as uid %lu gid %lu: make the mailbox that "
		    "account's, chown -R %lu:%lu %s, or give the user the mailbox owner's ids)",
		    t->who, what, t->path, strerror(e), (unsigned long)geteuid(),
		    (unsigned long)getegid(), (unsigned long)geteuid(), (unsigned long)getegid(),
		    t->path);
	else
		md_warn(o, "%s: %s %s: %s", t->who, what, t->path, strerror(e));
	return ex_errno(e);
}

static int write_maildir(const struct target *t, const struct md_msg *m, const char *dir,
    char *name, size_t cap)
{
	struct maildir_msg mm;

	if (maildir_open(&mm, dir) < 0)
		return -1;
	if (maildir_write(&mm, t->prefix, strlen(t->prefix)) < 0 ||
	    maildir_write(&mm, m->data, m->len) < 0) {
		int e = errno;
		maildir_abort(&mm);
		return errno = e, -1;
	}
	return maildir_commit(&mm, NULL, name, cap);
}

/* Whether m would put the Maildir over its Maildir++ quota (a user's own
 * quota rule in the passwd-file, else a maildirsize with a limit line
 * sets one; an unreadable one does not stop the mail). */
static int over_quota(const struct target *t, const struct md_msg *m)
{
	struct quota q;
	int rc = t->rule ? quota_get_user(t->path, t->rule, &q) : quota_get(t->path, NULL, &q);

	return rc == 1 && quota_exceeded(&q, strlen(t->prefix) + m->len, 1);
}

/* Pick the Maildir: .Junk for spam, the +folder if it exists, else INBOX. */
static int to_maildir(const struct md_opts *o, const struct target *t, const struct md_msg *m)
{
	char dir[PATH_MAX], name[MAILDIR_UNIQ_MAX + 64];
	int folder = 0;

	if (!maildir_exists(t->path) && maildir_make(t->path, 0) < 0)
		return fail_errno(o, t, "create Maildir");
	snprintf(dir, sizeof dir, "%s", t->path);
	if (m->spam && !o->no_junk) {
		if (snprintf(dir, sizeof dir, "%s/%s", t->path, MD_JUNK_FOLDER) >= (int)sizeof dir)
			return errno = ENAMETOOLONG, fail_errno(o, t, "Junk folder of");
		folder = 1;
		if (!maildir_exists(dir) && maildir_make(dir, 1) < 0)
			return fail_errno(o, t, "create Junk folder in");
	} else if (t->folder[0] != '\0') {
		char f[PATH_MAX];
		if (snprintf(f, sizeof f, "%s/.%s", t->path, t->folder) < (int)sizeof f &&
		    maildir_exists(f)) {
			snprintf(dir, sizeof dir, "%s", f);
			folder = 1;
		}
	}
	if (over_quota(t, m)) {
		md_warn(o, "%s: %s: mailbox full: quota exceeded (%s)", t->who, t->path,
		    o->quota_bounce ? "5.2.2" : "4.2.2");
		return o->quota_bounce ? EX_UNAVAILABLE : EX_TEMPFAIL;
	}
	if (write_maildir(t, m, dir, name, sizeof name) < 0)
		return fail_errno(o, t, "deliver to Maildir");
	quota_note(t->path, (int64_t)(strlen(t->prefix) + m->len), 1);
	if (o->verbose)
		warnx_("%s: delivered to %s/new/%s%s", t->who, dir, name,
		    folder ? " (folder)" : "");
	return EX_OK;
}

static int to_mbox(const struct md_opts *o, const struct target *t, const struct md_msg *m)
{
	struct mbox mb;
	struct iovec iov[2];
	char from[MBOX_FROM_MAX];

	if (mbox_lock(&mb, t->path, o->lock_wait) < 0) {
		if (errno == EAGAIN) {
			md_warn(o, "%s: mbox %s: still locked after %d s, try again later",
			    t->who, t->path, o->lock_wait);
			return EX_TEMPFAIL;
		}
		return fail_errno(o, t, "open mbox");
	}
	mbox_from_line(from, sizeof from, t->sender, time(NULL));
	iov[0] = (struct iovec){ .iov_base = (void *)t->prefix, .iov_len = strlen(t->prefix) };
	iov[1] = (struct iovec){ .iov_base = m->data, .iov_len = m->len };
	if (mbox_append(&mb, from, iov, 2) < 0) {
		int rc = fail_errno(o, t, "append to mbox");
		mbox_unlock(&mb);
		return rc;
	}
	mbox_unlock(&mb);
	if (o->verbose)
		warnx_("%s: delivered to mbox %s", t->who, t->path);
	return EX_OK;
}

static int store(const struct md_opts *o, const struct target *t, const struct md_msg *m)
{
	return t->kind == MB_MBOX ? to_mbox(o, t, m) : to_maildir(o, t, m);
}

/* The uid that owns path or, when missing, its nearest existing parent. */
static int owner_of(const char *path, uid_t *uid, gid_t *gid)
{
	char p[PATH_MAX];
	struct stat st;
	char *slash;

	snprintf(p, sizeof p, "%s", path);
	while (stat(p, &st) < 0) {
		if ((slash = strrchr(p, '/')) == NULL)
			return getcwd(p, sizeof p) && stat(p, &st) == 0 ? (*uid = st.st_uid,
			    *gid = st.st_gid, 0) : -1;
		if (slash == p)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	*uid = st.st_uid;
	*gid = st.st_gid;
	return 0;
}

/* The ids of a root process while it stores one message as someone else. */
struct saved_ids {
	gid_t  egid;
	int    ngroups;
	gid_t *groups;
};

/* Back to the saved ids (euid 0 first: it is what allows the others), and
 * check that they are all back.  A process that cannot return to exactly
 * what it was must not go on serving with the wrong ids: it exits (smtpd's
 * session then answers 451 and the client retries). */
static void ids_leave(const struct md_opts *o, struct saved_ids *sv)
{
	int n;
	gid_t *now = NULL;

	if (seteuid(0) < 0 || setegid(sv->egid) < 0 || setgroups((size_t)sv->ngroups,
	    sv->groups) < 0 || geteuid() != 0 || getegid() != sv->egid)
		goto fatal;
	if ((n = getgroups(0, NULL)) != sv->ngroups)
		goto fatal;
	now = xcalloc((size_t)n + 1, sizeof *now);
	if (getgroups(n, now) != n || memcmp(now, sv->groups, (size_t)n * sizeof *now) != 0)
		goto fatal;
	free(now);
	free(sv->groups);
	sv->groups = NULL;
	return;
fatal:
	md_warn(o, "cannot return to root's ids after a delivery (%s); stopping",
	    strerror(errno));
	_exit(EX_OSERR);
}

/* For a long-lived root process that delivers many messages (smtpd's root
 * half), without a fork per message: switch the effective uid and gid and
 * the supplementary groups to the recipient's (exactly what server_become
 * sets for good: the one group gid), store, and switch back.  While the
 * effective uid is not 0 the kernel clears every effective capability, so
 * the file is created, opened and fsync'ed with the recipient's rights
 * only, and owned by uid/gid.  The real and saved uids stay 0, so the
 * recipient cannot signal or ptrace the process meanwhile. */
static int store_effective(const struct md_opts *o, const struct target *t,
    const struct md_msg *m, uid_t uid, gid_t gid)
{
	struct saved_ids sv = { .egid = getegid() };
	int rc, n;

	if ((n = getgroups(0, NULL)) < 0) {
		md_warn(o, "getgroups: %s", strerror(errno));
		return EX_TEMPFAIL;
	}
	sv.groups = xcalloc((size_t)n + 1, sizeof *sv.groups);
	if ((sv.ngroups = getgroups(n, sv.groups)) != n) {
		md_warn(o, "getgroups: %s", strerror(errno));
		free(sv.groups);
		return EX_TEMPFAIL;
	}
	if (setgroups(1, &gid) < 0 || setegid(gid) < 0 || seteuid(uid) < 0 ||
	    geteuid() != uid || getegid() != gid) {
		md_warn(o, "%s: switch to uid %lu gid %lu: %s", t->who, (unsigned long)uid,
		    (unsigned long)gid, strerror(errno));
		ids_leave(o, &sv);
		return EX_TEMPFAIL;
	}
	rc = store(o, t, m);
	ids_leave(o, &sv);
	return rc;
}

/* As root: deliver in a child running as uid/gid (or, for smtpd's root
 * half, with the effective ids switched).  Otherwise in place. */
static int store_as(const struct md_opts *o, const struct target *t, const struct md_msg *m,
    const struct user *u)
{
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int st;

	if (geteuid() != 0)
		return store(o, t, m);
	if (u != NULL && u->has_ids) {
		uid = u->uid;
		gid = u->gid;
	} else if (owner_of(t->path, &uid, &gid) < 0) {
		return fail_errno(o, t, "find the owner of");
	}
	if (uid == 0 && u != NULL && u->has_ids) {
		md_warn(o, "%s: refusing to deliver as root: the passwd-file gives the user uid 0; "
		    "give it the ids of an ordinary account instead (as root, maillab-user add "
		    "uses the mail account's) and make %s that account's", t->who, t->path);
		return EX_TEMPFAIL;
	}
	if (uid == 0) {
		md_warn(o, "%s: refusing to deliver as root: %s belongs to root; chown it to the "
		    "user, or give the user a uid and gid other than 0 in a passwd-file (--users)",
		    t->who, t->path);
		return EX_TEMPFAIL;
	}
	if (gid == 0) {         /* mail owned by group root: refused as Dovecot does */
		md_warn(o, "%s: refusing to deliver as group root (gid 0): give the user its own "
		    "group in the gid field of the passwd-file, or a mailbox %s of another group",
		    t->who, t->path);
		return EX_TEMPFAIL;
	}
	if (o->become == MD_BECOME_EFFECTIVE)   /* smtpd's root half: here, and back */
		return store_effective(o, t, m, uid, gid);
	if (o->become)          /* a one-delivery child: for good, here */
		return server_become(uid, gid) < 0 ? EX_TEMPFAIL : store(o, t, m);
	if ((pid = fork()) < 0) {
		md_warn(o, "fork: %s", strerror(errno));
		return EX_TEMPFAIL;
	}
	if (pid == 0)
		_exit(server_become(uid, gid) < 0 ? EX_TEMPFAIL : store(o, t, m));
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return EX_TEMPFAIL;
	return WIFEXITED(st) ? WEXITSTATUS(st) : EX_TEMPFAIL;
}

static void set_prefix(struct target *t, const char *sender, const char *rcpt)
{
	size_t n = 0;

	snprintf(t->sender, sizeof t->sender, "%s", sender);
	n = snprintf(t->prefix, sizeof t->prefix, "Return-Path: <%s>\n", sender);
	if (rcpt != NULL)
		snprintf(t->prefix + n, sizeof t->prefix - n, "Delivered-To: %s\n", rcpt);
}

/* The +detail of rcpt's local part when it named user u through it. */
static void detail_of(const char *rcpt, const struct user *u, char *folder, size_t cap)
{
	size_t ll = strcspn(rcpt, "@"), ul = strcspn(u->name, "@");
	const char *plus = memchr(rcpt, '+', ll);

	folder[0] = '\0';
	if (plus == NULL || (ll == ul && memcmp(rcpt, u->name, ll) == 0))
		return;
	if ((size_t)(rcpt + ll - plus - 1) >= cap)
		return;
	memcpy(folder, plus + 1, rcpt + ll - plus - 1);
	folder[rcpt + ll - plus - 1] = '\0';
	if (!auth_name_ok(folder))
		folder[0] = '\0';
}

static int deliver_user(const struct md_opts *o, const struct md_msg *m, const char *sender,
    const char *rcpt, const char *folder, int add_dt)
{
	struct target t;
	struct user u;
	const char *why;
	int rc, dt;

	memset(&t, 0, sizeof t);
	t.who = rcpt;
	if (!auth_name_ok(rcpt)) {
		md_warn(o, "%s: not a valid user name", rcpt);
		return EX_NOUSER;
	}
	if ((rc = auth_lookup_rcpt(o->users, rcpt, &u)) < 0) {
		md_warn(o, "%s: read %s: %s", rcpt, o->users ? o->users : "user database",
		    strerror(errno));
		return EX_TEMPFAIL;
	}
	if (rc == 0) {
		md_warn(o, "%s: no such user", rcpt);
		return EX_NOUSER;
	}
	dt = md_dt_find(m->data, m->hdr_len, rcpt);
	if (dt & MD_DT_BELOW) {
		md_warn(o, "%s: mail loop: message already has Delivered-To: %s", rcpt, rcpt);
		return EX_DATAERR;
	}
	if (dt & MD_DT_HANDED)
		add_dt = 0;     /* the handing MTA said it already, for this delivery */
	if (mailbox_path(o->tmpl, &u, t.path, sizeof t.path, &t.kind, &why) < 0) {
		md_warn(o, "%s: mailbox: %s", rcpt, why);
		return EX_TEMPFAIL;
	}
	if (folder != NULL && auth_name_ok(folder))
		snprintf(t.folder, sizeof t.folder, "%s", folder);
	else
		detail_of(rcpt, &u, t.folder, sizeof t.folder);
	set_prefix(&t, sender, add_dt ? rcpt : NULL);
	if (u.has_quota)
		t.rule = &u.quota;
	return store_as(o, &t, m, &u);
}

int md_deliver_user(const struct md_opts *o, const struct md_msg *m, const char *sender,
    const char *rcpt)
{
	return deliver_user(o, m, sender, rcpt, NULL, 1);
}

int md_deliver_file(const struct md_opts *o, const struct md_msg *m, const char *sender,
    const char *rcpt, const char *path, uid_t uid, gid_t gid)
{
	struct target t;
	struct user u = { .uid = uid, .gid = gid, .has_ids = 1 };

	memset(&t, 0, sizeof t);
	t.who = rcpt;
	t.kind = MB_MBOX;
	if (strlen(path) >= sizeof t.path) {
		md_warn(o, "%s: %s: path too long", rcpt, path);
		return EX_CANTCREAT;
	}
	snprintf(t.path, sizeof t.path, "%s", path);
	set_prefix(&t, sender, rcpt);
	return store_as(o, &t, m, &u);
}

void md_warnf(const struct md_opts *o, const char *fmt, ...)
{
	struct buf b = { 0 };
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	md_warn(o, "%s", b.p ? b.p : "");
	buf_free(&b);
}

/* -m MAILBOX: [maildir:|mbox:]PATH taken literally; without a prefix an
 * existing regular file is an mbox, anything else a Maildir. */
static int deliver_direct(const struct md_opts *o, const struct md_msg *m, const char *sender)
{
	struct target t;
	const char *p = o->direct;
	struct stat st;

	memset(&t, 0, sizeof t);
	t.who = o->direct;
	t.kind = MB_MAILDIR;
	if (strncmp(p, "maildir:", 8) == 0)
		p += 8;
	else if (strncmp(p, "mbox:", 5) == 0)
		p += 5, t.kind = MB_MBOX;
	else if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
		t.kind = MB_MBOX;
	if (*p == '\0' || strlen(p) >= sizeof t.path) {
		md_warn(o, "%s: not a usable mailbox path", o->direct);
		return EX_USAGE;
	}
	snprintf(t.path, sizeof t.path, "%s", p);
	if (o->folder != NULL && auth_name_ok(o->folder))
		snprintf(t.folder, sizeof t.folder, "%s", o->folder);
	set_prefix(&t, sender, NULL);
	return store_as(o, &t, m, NULL);
}

/* The sender: -f, else a leading From_ line, else $SENDER (Postfix's
 * mailbox_command sets it), else the null sender. */
static const char *sender_of(const struct md_opts *o, const struct md_msg *m)
{
	const char *s;

	if (o->sender != NULL)
		return o->sender;
	if (m->from_sender != NULL && strcmp(m->from_sender, "MAILER-DAEMON") != 0)
		return m->from_sender;
	if ((s = getenv("SENDER")) != NULL && strlen(s) <= MD_SENDER_MAX &&
	    strpbrk(s, "\r\n<>") == NULL)
		return s;
	return "";
}

int md_run(const struct md_opts *o, const struct md_msg *m, char *const *rcpts, int n)
{
	const char *sender = sender_of(o, m);
	int rc, first = EX_OK;

	if (o->direct != NULL)
		return deliver_direct(o, m, sender);
	if (n == 0) {
		/* Postfix's mailbox_command: we run as the recipient. */
		struct passwd *pw = getpwuid(getuid());
		if (pw == NULL) {
			md_warn(o, "no user name for uid %lu", (unsigned long)getuid());
			return EX_NOUSER;
		}
		/* Postfix's local has already prepended Delivered-To: $RECIPIENT
		 * (prepend_delivered_header); a second one would say less. */
		const char *r = getenv("RECIPIENT");
		return deliver_user(o, m, sender, pw->pw_name, o->folder,
		    r == NULL || !md_delivered_to(m, r));
	}
	for (int i = 0; i < n; i++) {
		rc = md_deliver_rcpt(o, m, sender, rcpts[i]);
		if (rc != EX_OK && first == EX_OK)
			first = rc;
	}
	return first;
}
