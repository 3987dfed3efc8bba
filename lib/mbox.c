/* mbox.c — mbox locking and mboxrd appends (mbox.h).
 *
 * Design note: the fcntl lock is taken first and released last, so while
 * we hold it no other maildeliver can be inside its append.  A dot-lock in
 * our own format found at that moment was therefore left by a process that
 * died in the middle of an append, and the size it recorded tells us where
 * the partial message starts. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"
#include "mbox.h"

#define MBOX_POLL_MS   50       /* between two tries of a busy lock */
#define MBOX_LOCK_TAG  "maildeliver"

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int fcntl_lock(int fd, int wait_secs)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	long waited = 0;

	while (fcntl(fd, F_SETLK, &fl) < 0) {
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return -1;
		if (waited >= wait_secs * 1000L)
			return errno = EAGAIN, -1;
		pause_ms(MBOX_POLL_MS);
		waited += MBOX_POLL_MS;
	}
	return 0;
}

int mbox_lock_recover(int mboxfd, const char *lock)
{
	char text[128], tag[32];
	struct stat st;
	long pid = 0;
	long long size = -1;
	ssize_t n;
	int fd, k, dead;

	/* O_NONBLOCK: a FIFO named like the lock must not hang us in open(). */
	if ((fd = open(lock, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 1 : -1;
	n = read(fd, text, sizeof text - 1);
	if (fstat(fd, &st) < 0)
		st.st_mtime = time(NULL);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	/* "TAG PID [SIZE]": ours ("maildeliver PID SIZE") or pop3d's
	 * ("pop3d PID"); a lock with no pid (mutt, Postfix) only goes stale. */
	k = sscanf(text, "%31s %ld %lld", tag, &pid, &size);
	dead = k >= 2 && pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
	if (!dead && time(NULL) - st.st_mtime < MBOX_STALE_SECS)
		return 0;
	/* A maildeliver that died in its append: cut the partial message. */
	if (k == 3 && strcmp(tag, MBOX_LOCK_TAG) == 0 && size >= 0) {
		struct stat mst;
		if (fstat(mboxfd, &mst) == 0 && mst.st_size > size && ftruncate(mboxfd, size) < 0)
			return -1;
	}
	if (unlink(lock) < 0 && errno != ENOENT)
		return -1;
	return 1;
}

/* An existing dot-lock: see mbox_lock_recover. */
static int dotlock_recover(struct mbox *mb)
{
	return mbox_lock_recover(mb->fd, mb->lock);
}

/* Make path.lock holding our pid and the mbox size; 0 or -1.  A directory
 * we may not write in means no dot-lock, as with Postfix's local(8). */
static int dot_lock(struct mbox *mb, int wait_secs)
{
	long waited = 0;
	int fd, r;

	for (;;) {
		fd = open(mb->lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			break;
		if (errno == EACCES || errno == EROFS || errno == EPERM)
			return 0;
		if (errno != EEXIST)
			return -1;
		if ((r = dotlock_recover(mb)) < 0)
			return -1;
		if (r == 1)
			continue;
		if (waited >= wait_secs * 1000L)
			return errno = EAGAIN, -1;
		pause_ms(MBOX_POLL_MS);
		waited += MBOX_POLL_MS;
	}
	mb->dotlocked = 1;
	struct stat st;
	if (fstat(mb->fd, &st) < 0 ||
	    dprintf(fd, MBOX_LOCK_TAG " %ld %lld\n", (long)getpid(), (long long)st.st_size) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int mbox_lock(struct mbox *mb, const char *path, int wait_secs)
{
	struct stat st;
	int e;

	memset(mb, 0, sizeof *mb);
	mb->fd = -1;
	if (strlen(path) >= sizeof mb->path || strlen(path) + 5 >= sizeof mb->lock)
		return errno = ENAMETOOLONG, -1;
	strcpy(mb->path, path);
	snprintf(mb->lock, sizeof mb->lock, "%s.lock", path);
	mb->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (mb->fd < 0)
		return -1;
	/* A hard link to someone else's file must not get our mail. */
	if (fstat(mb->fd, &st) < 0) {
		e = errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		e = S_ISDIR(st.st_mode) ? EISDIR : EPERM;
		goto fail;
	}
	if (fcntl_lock(mb->fd, wait_secs) < 0 || dot_lock(mb, wait_secs) < 0) {
		e = errno;
		goto fail;
	}
	if (fstat(mb->fd, &st) < 0) {
		e = errno;
		goto fail;
	}
	mb->orig = st.st_size;
	return 0;
fail:
	mbox_unlock(mb);
	return errno = e, -1;
}

size_t mbox_from_line(char *buf, size_t cap, const char *sender, time_t t)
{
	char date[64];
	struct tm tm;
	size_t o;

	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
	o = snprintf(buf, cap, "From %.*s", AUTH_NAME_MAX, *sender ? sender : "MAILER-DAEMON");
	if (o >= cap)
		o = cap - 1;
	for (size_t i = 5; i < o; i++)
		if ((unsigned char)buf[i] <= ' ' || buf[i] == 0x7f)
			buf[i] = '_';
	o += snprintf(buf + o, cap - o, " %s\n", date);
	return o < cap ? o : cap - 1;
}

/* Output through a buffer, remembering the first error. */
struct out {
	int    fd;
	char   buf[IO_BUFSIZE];
	size_t len;
	int    err;
	char   last;                /* last byte written, for the final LF */
};

static void out_flush(struct out *o)
{
	size_t off = 0;

	while (o->err == 0 && off < o->len) {
		ssize_t w = write(o->fd, o->buf + off, o->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			o->err = w < 0 ? errno : EIO;
			break;
		}
		off += w;
	}
	o->len = 0;
}

static void out_put(struct out *o, const char *p, size_t n)
{
	if (n == 0)
		return;
	o->last = p[n - 1];
	while (n > 0) {
		size_t k = sizeof o->buf - o->len;
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, p, k);
		o->len += k;
		p += k;
		n -= k;
		if (o->len == sizeof o->buf)
			out_flush(o);
	}
}

/* The mboxrd quoter: at each line start, '>'* then "From " gets a '>'.
 * Kept as a state so lines may be split across pieces. */
struct quote {
	int    bol;                 /* at the start of a line */
	size_t gt;                  /* '>' seen at this line start */
	size_t k;                   /* bytes of "From " matched after them */
};

static void quote_pending(struct out *o, struct quote *q)
{
	for (size_t i = 0; i < q->gt; i++)
		out_put(o, ">", 1);
	out_put(o, "From ", q->k);
	q->gt = q->k = 0;
}

static void quote_piece(struct out *o, struct quote *q, const char *p, size_t n)
{
	static const char from[] = "From ";

	while (n > 0) {
		if (!q->bol) {
			const char *nl = memchr(p, '\n', n);
			size_t k = nl ? (size_t)(nl - p) + 1 : n;
			out_put(o, p, k);
			p += k;
			n -= k;
			q->bol = nl != NULL;
			continue;
		}
		if (q->k == 0 && *p == '>') {
			q->gt++;
		} else if (*p == from[q->k]) {
			if (++q->k == sizeof from - 1) {
				out_put(o, ">", 1);
				quote_pending(o, q);
				q->bol = 0;
			}
		} else {
			quote_pending(o, q);
			out_put(o, p, 1);
			q->bol = *p == '\n';
		}
		p++;
		n--;
	}
}

/* Bytes needed so the previous message ends with a blank line. */
static const char *separator(int fd, off_t size)
{
	char tail[2];

	if (size == 0)
		return "";
	if (size == 1) {
		if (pread(fd, tail + 1, 1, 0) != 1)
			return "\n\n";
		return tail[1] == '\n' ? "\n" : "\n\n";
	}
	if (pread(fd, tail, 2, size - 2) != 2 || tail[1] != '\n')
		return "\n\n";
	return tail[0] == '\n' ? "" : "\n";
}

int mbox_append(struct mbox *mb, const char *from_line, const struct iovec *iov, int n)
{
	struct out *o = malloc(sizeof *o);
	struct quote q = { 1, 0, 0 };
	const char *sep;
	int e;

	if (o == NULL)
		return -1;
	o->fd = mb->fd;
	o->len = 0;
	o->err = 0;
	o->last = '\n';
	sep = separator(mb->fd, mb->orig);
	out_put(o, sep, strlen(sep));
	out_put(o, from_line, strlen(from_line));
	for (int i = 0; i < n; i++)
		quote_piece(o, &q, iov[i].iov_base, iov[i].iov_len);
	quote_pending(o, &q);
	if (o->last != '\n')
		out_put(o, "\n", 1);
	out_put(o, "\n", 1);
	out_flush(o);
	e = o->err;
	free(o);
	if (e == 0 && fsync(mb->fd) < 0)
		e = errno;
	if (e != 0) {
		/* Never leave half a message: cut back to where we started. */
		if (ftruncate(mb->fd, mb->orig) == 0)
			fsync(mb->fd);
		return errno = e, -1;
	}
	return 0;
}

void mbox_unlock(struct mbox *mb)
{
	if (mb->dotlocked)
		unlink(mb->lock);
	mb->dotlocked = 0;
	if (mb->fd >= 0)
		close(mb->fd);
	mb->fd = -1;
}
