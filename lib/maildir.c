/* maildir.c — Maildir delivery: unique names, tmp/ then new/ (maildir.h).
 *
 * Design note: the order of operations is the Maildir spec's, plus the
 * fsyncs that make "delivered" mean "on disk": write in tmp/, fsync the
 * file, link into new/ (a rename where hard links are not supported),
 * unlink the tmp name, fsync new/.  A crash at any point leaves at worst a
 * stray file in tmp/, which readers ignore and the next delivery removes
 * once it is MAILDIR_TMP_MAXAGE old (maildir_open). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "durable.h"
#include "maildir.h"

#define MAILDIR_HOST_MAX 200    /* escaped host name part of a unique name */
#define MAILDIR_TMP_MAXAGE (36 * 3600) /* the Maildir convention: a file in tmp/ not
                                           touched for 36 hours is a dead writer's */

static int is_dir(const char *dir, const char *sub)
{
	char p[PATH_MAX];
	struct stat st;

	if (snprintf(p, sizeof p, "%s/%s", dir, sub) >= (int)sizeof p)
		return 0;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int maildir_exists(const char *path)
{
	return is_dir(path, "cur") && is_dir(path, "new") && is_dir(path, "tmp");
}

/* mkdir -p with mode 0700 for what is missing. */
static int mkdirs(const char *path)
{
	char p[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof p)
		return errno = ENAMETOOLONG, -1;
	memcpy(p, path, len + 1);
	for (char *s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir_durable(p, 0700) < 0)
			return -1;
		*s = c;
		if (c == '\0')
			break;
	}
	return is_dir(path, ".") ? 0 : (errno = ENOTDIR, -1);
}

int maildir_make(const char *path, int folder)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	char p[PATH_MAX];
	int fd;

	if (mkdirs(path) < 0)
		return -1;
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		if (snprintf(p, sizeof p, "%s/%s", path, subs[i]) >= (int)sizeof p)
			return errno = ENAMETOOLONG, -1;
		if (mkdir_durable(p, 0700) < 0)
			return -1;
	}
	if (folder) {
		if (snprintf(p, sizeof p, "%s/maildirfolder", path) >= (int)sizeof p)
			return errno = ENAMETOOLONG, -1;
		if ((fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
			return -1;
		close(fd);
	}
	return maildir_exists(path) ? 0 : (errno = ENOTDIR, -1);
}

/* The host name with the two characters a Maildir name cannot hold escaped. */
static void host_part(char *out, size_t cap)
{
	char host[256] = "localhost";
	size_t o = 0;

	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = '\0';
	for (const char *h = host; *h && o + 5 < cap; h++) {
		if (*h == '/' || *h == ':') {
			o += snprintf(out + o, cap - o, "\\%03o", (unsigned char)*h);
		} else
			out[o++] = *h;
	}
	out[o] = '\0';
}

int maildir_uniq(char *buf, size_t cap)
{
	struct timeval tv;
	unsigned long long r;
	char host[MAILDIR_HOST_MAX];

	gettimeofday(&tv, NULL);
	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
		return -1;
	host_part(host, sizeof host);
	if (snprintf(buf, cap, "%lld.M%06ldP%ldR%016llx.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), r, host) >= (int)cap)
		return errno = ENAMETOOLONG, -1;
	return 0;
}

/* Remove the regular files of dir/tmp that nobody has read or written
 * for MAILDIR_TMP_MAXAGE (left by killed writers).  Best effort: a
 * failure here must not stop the delivery. */
static void clean_tmp(const char *dir)
{
	char path[PATH_MAX];
	time_t limit = time(NULL) - MAILDIR_TMP_MAXAGE;
	struct dirent *e;
	struct stat st;
	DIR *d;
	int fd;

	if (snprintf(path, sizeof path, "%s/tmp", dir) >= (int)sizeof path ||
	    (fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode) && st.st_mtime < limit && st.st_atime < limit)
			unlinkat(fd, e->d_name, 0);
	}
	closedir(d);
}

int maildir_open(struct maildir_msg *m, const char *dir)
{
	memset(m, 0, sizeof *m);
	m->fd = -1;
	m->last = -1;
	if (strlen(dir) >= sizeof m->dir)
		return errno = ENAMETOOLONG, -1;
	strcpy(m->dir, dir);
	clean_tmp(dir);
	for (int i = 0; i < MAILDIR_RETRIES; i++) {
		if (maildir_uniq(m->uniq, sizeof m->uniq) < 0)
			return -1;
		if (snprintf(m->tmp, sizeof m->tmp, "%s/tmp/%s", dir, m->uniq) >= (int)sizeof m->tmp)
			return errno = ENAMETOOLONG, -1;
		m->fd = open(m->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (m->fd >= 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

int maildir_write(struct maildir_msg *m, const void *p, size_t n)
{
	const char *s = p, *nl = s, *end = s + n;

	/* A CRLF already is what the wire form wants: count bare LFs only
	 * (a CR ending the previous piece counts). */
	while ((nl = memchr(nl, '\n', end - nl)) != NULL) {
		if ((nl > s ? nl[-1] : m->last) != '\r')
			m->lines++;
		nl++;
	}
	if (n > 0)
		m->last = (unsigned char)s[n - 1];

	while (n > 0) {
		ssize_t w = write(m->fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= w;
		m->size += w;
	}
	return 0;
}

static int fsync_dir(const char *dir, const char *sub)
{
	char p[PATH_MAX];
	int fd, rc;

	if (snprintf(p, sizeof p, "%s/%s", dir, sub) >= (int)sizeof p)
		return errno = ENAMETOOLONG, -1;
	if ((fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Link tmp to target; fall back to rename where links are not supported. */
static int place(const char *tmp, const char *target)
{
	if (link(tmp, target) == 0) {
		unlink(tmp);
		return 0;
	}
	if (errno != EPERM && errno != ENOSYS && errno != EOPNOTSUPP && errno != EMLINK)
		return -1;
	/* rename() would replace an existing file; the unique name makes
	 * that impossible in practice, but check anyway. */
	if (access(target, F_OK) == 0)
		return errno = EEXIST, -1;
	return rename(tmp, target);
}

int maildir_commit(struct maildir_msg *m, const char *info, char *name, size_t cap)
{
	char base[MAILDIR_UNIQ_MAX + 64], target[PATH_MAX];
	int e;

	if (fsync(m->fd) < 0 || close(m->fd) < 0) {
		e = errno;
		m->fd = -1;
		maildir_abort(m);
		return errno = e, -1;
	}
	m->fd = -1;
	if (info == NULL)
		snprintf(base, sizeof base, "%s,S=%lld,W=%lld", m->uniq, (long long)m->size,
		    (long long)(m->size + m->lines));
	else
		snprintf(base, sizeof base, "%s,S=%lld,W=%lld:2,%s", m->uniq, (long long)m->size,
		    (long long)(m->size + m->lines), info);
	if (snprintf(target, sizeof target, "%s/%s/%s", m->dir, info ? "cur" : "new", base) >=
	    (int)sizeof target || place(m->tmp, target) < 0) {
		e = errno;
		maildir_abort(m);
		return errno = e ? e : ENAMETOOLONG, -1;
	}
	if (fsync_dir(m->dir, info ? "cur" : "new") < 0)
		return -1;      /* linked, but maybe not on disk: the caller retries */
	if (name != NULL)
		snprintf(name, cap, "%s", base);
	return 0;
}

void maildir_abort(struct maildir_msg *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	if (m->tmp[0] != '\0')
		unlink(m->tmp);
}
