/* maildrop.c — Maildir and mbox maildrops for pop3d (see maildrop.h).
 *
 * Design note.  Nothing on disk changes before maildrop_commit: a dropped
 * connection leaves the maildrop exactly as it was (RFC 1939 6).
 *
 * Maildir: one session at a time holds an fcntl lock on MAILDROP_LOCK in
 * the Maildir (released by the kernel if we die, so no stale locks).  The
 * unique id is the base name (before ':'), which never changes when a file
 * moves from new/ to cur/ or gets flags.  The CRLF size comes from a ",W="
 * field of the name (Dovecot's convention for the wire size), else from
 * the size cache MAILDROP_SIZES, else it is counted once and cached.  (",S="
 * is the file's size, with the line ends it was stored with, so it is not
 * the wire size of a file stored with LF.)
 *
 * mbox: locked with fcntl and a dot-lock for the whole session, read once
 * through mmap.  A message starts at a "From " line at the start of the
 * file or after an empty line; mboxrd quoting (">From ", ">>From "...)
 * loses one '>' on the way out.  UPDATE compacts the file in place, moving
 * kept messages down, and truncates it only once every copy has succeeded;
 * the file keeps its inode, so a delivery waiting on our lock never
 * appends to an unlinked file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "err.h"
#include "maildrop.h"
#include "mbox.h"

#define EMIT_BUF   (16 * 1024)
#define COPY_BUF   (64 * 1024)

/* ---------- CRLF output with dot-stuffing ---------- */

struct emit {
	maildrop_sink sink;
	void  *arg;
	int    err;
	size_t n;
	char   buf[EMIT_BUF];
};

static void emit_flush(struct emit *e)
{
	if (e->n > 0 && !e->err && e->sink(e->arg, e->buf, e->n) < 0)
		e->err = 1;
	e->n = 0;
}

static void emit_put(struct emit *e, const void *p, size_t n)
{
	if (n > sizeof e->buf - e->n) {
		emit_flush(e);
		if (n >= sizeof e->buf) {
			if (!e->err && e->sink(e->arg, p, n) < 0)
				e->err = 1;
			return;
		}
	}
	memcpy(e->buf + e->n, p, n);
	e->n += n;
}

/* ">From ", ">>From ": an mboxrd-quoted From_ line. */
static int quoted_from(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len && s[i] == '>')
		i++;
	return i > 0 && len - i >= 5 && memcmp(s + i, "From ", 5) == 0;
}

/* The one transformation behind RETR, TOP and the sizes: every line ends
 * in CRLF (bare LF or a missing last line end become CRLF), a line
 * starting with '.' gets another '.' when stuffing (RFC 1939 3), mboxrd
 * quoting is undone when unquote is set. */
static void emit_text(struct emit *e, const unsigned char *p, size_t n, long lines,
    int stuff, int unquote)
{
	size_t i = 0;
	int body = 0;

	while (i < n && !e->err) {
		/* TOP: stop before looking for the end of a line not sent */
		if (body && lines >= 0 && lines-- == 0)
			break;
		const unsigned char *lf = memchr(p + i, '\n', n - i);
		size_t end = lf ? (size_t)(lf - p) : n, next = lf ? end + 1 : n;
		const unsigned char *s = p + i;
		size_t len;

		if (lf && end > i && p[end - 1] == '\r')
			end--;
		len = end - i;
		if (len == 0)
			body = 1;
		if (unquote && quoted_from(s, len)) {
			s++;
			len--;
		}
		if (stuff && len > 0 && s[0] == '.')
			emit_put(e, ".", 1);
		emit_put(e, s, len);
		emit_put(e, "\r\n", 2);
		i = next;
	}
	emit_flush(e);
}

off_t maildrop_crlf_size(const unsigned char *p, size_t n)
{
	off_t size = (off_t)n;
	const unsigned char *q = p, *end = p + n;

	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		if (q == p || q[-1] != '\r')
			size++;
		q++;
	}
	if (n > 0 && p[n - 1] != '\n')
		size += 2;
	return size;
}

static int count_sink(void *arg, const void *p, size_t n)
{
	(void)p;
	*(off_t *)arg += (off_t)n;
	return 0;
}

static off_t mbox_size(const unsigned char *p, size_t n)
{
	off_t size = 0;
	struct emit *e = xcalloc(1, sizeof *e);

	e->sink = count_sink;
	e->arg = &size;
	emit_text(e, p, n, -1, 0, 1);
	free(e);
	return size;
}

/* ---------- Maildir ---------- */

static int msg_cmp(const void *a, const void *b)
{
	const struct msg *x = a, *y = b;
	const char *bx = strchr(x->name, '/') + 1, *by = strchr(y->name, '/') + 1;
	unsigned long long tx = strtoull(bx, NULL, 10), ty = strtoull(by, NULL, 10);

	if (tx != ty)
		return tx < ty ? -1 : 1;
	return strcmp(x->uid, y->uid);
}

static void hex_md5(const void *p, size_t n, char out[33])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dn = 0;

	EVP_Digest(p, n, d, &dn, EVP_md5(), NULL);
	for (unsigned i = 0; i < dn && i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The unique id of a Maildir file: its base name when that is a valid
 * RFC 1939 unique-id, else a digest of it. */
static void maildir_uid(const char *base, size_t blen, char *uid)
{
	int ok = blen > 0 && blen <= MAILDROP_UID_MAX;

	for (size_t i = 0; ok && i < blen; i++)
		ok = base[i] >= 0x21 && base[i] <= 0x7e;
	if (ok) {
		memcpy(uid, base, blen);
		uid[blen] = '\0';
	} else {
		hex_md5(base, blen, uid);
	}
}

/* ",W=1234" in the base name: the CRLF size, as Dovecot writes it. */
static off_t name_wsize(const char *base, size_t blen)
{
	for (size_t i = 0; i + 3 < blen; i++)
		if (base[i] == ',' && base[i + 1] == 'W' && base[i + 2] == '=') {
			char *end;
			long long v = strtoll(base + i + 3, &end, 10);

			if (end > base + i + 3 && v >= 0 && (end == base + blen || *end == ','))
				return (off_t)v;
		}
	return -1;
}

/* Map a message file; *p is NULL for an empty file.  Return fd or -1.
 * O_NONBLOCK (here and in read_file): a FIFO put in a message's place
 * must not hang the session in open(); fstat then refuses it. */
static int map_file(const char *path, unsigned char **p, size_t *n)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	*p = NULL;
	*n = 0;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	if (st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (m == MAP_FAILED) {
			close(fd);
			return -1;
		}
		*p = m;
		*n = (size_t)st.st_size;
	}
	return fd;
}

static void unmap_file(int fd, unsigned char *p, size_t n)
{
	if (p)
		munmap(p, n);
	close(fd);
}

static int maildir_count(struct maildrop *md, struct msg *m)
{
	char path[sizeof md->path + 512];
	unsigned char *p;
	size_t n;
	int fd;

	snprintf(path, sizeof path, "%s/%s", md->path, m->name);
	if ((fd = map_file(path, &p, &n)) < 0)
		return -1;
	m->size = maildrop_crlf_size(p, n);
	unmap_file(fd, p, n);
	return 0;
}

/* The size cache: "uid size" lines sorted by uid.  A Maildir message
 * never changes once delivered, so a size counted once stays right, and
 * a login need not read every file again. */
struct size_ent {
	const char *uid;
	off_t size;
};

static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct size_ent *)a)->uid, ((const struct size_ent *)b)->uid);
}

static struct size_ent *cache_load(const struct maildrop *md, char **text, size_t *n)
{
	char path[sizeof md->path + 32];
	unsigned char *p;
	size_t len, cap = 0;
	struct size_ent *e = NULL;
	int fd;

	*n = 0;
	*text = NULL;
	snprintf(path, sizeof path, "%s/%s", md->path, MAILDROP_SIZES);
	if ((fd = map_file(path, &p, &len)) < 0)
		return NULL;
	if (p == NULL || len > MAILDROP_SIZES_MAX) {
		unmap_file(fd, p, len);
		return NULL;
	}
	*text = xmalloc(len + 1);
	memcpy(*text, p, len);
	(*text)[len] = '\0';
	unmap_file(fd, p, len);
	for (char *line = *text, *next; *line; line = next) {
		char *sp, *end;
		long long v;

		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		if ((sp = strchr(line, ' ')) == NULL)
			continue;
		*sp = '\0';
		v = strtoll(sp + 1, &end, 10);
		if (*end != '\0' || v < 0 || end == sp + 1)
			continue;
		if (*n == cap)
			e = xrealloc(e, (cap = cap ? 2 * cap : 256) * sizeof *e);
		e[(*n)++] = (struct size_ent){ line, (off_t)v };
	}
	qsort(e, *n, sizeof *e, ent_cmp);
	return e;
}

/* Write the sizes of the messages we list, through a temporary file
 * (we hold the maildrop lock, so no other session writes it). */
static void cache_save(const struct maildrop *md)
{
	char path[sizeof md->path + 32], tmpf[sizeof md->path + 48];
	size_t k = 0;
	struct size_ent *e = xmalloc((md->n + 1) * sizeof *e);
	FILE *f;

	for (size_t i = 0; i < md->n; i++)
		e[k++] = (struct size_ent){ md->m[i].uid, md->m[i].size };
	qsort(e, k, sizeof *e, ent_cmp);
	snprintf(path, sizeof path, "%s/%s", md->path, MAILDROP_SIZES);
	snprintf(tmpf, sizeof tmpf, "%s.%ld", path, (long)getpid());
	if ((f = fopen(tmpf, "wx")) != NULL) {
		for (size_t i = 0; i < k; i++)
			fprintf(f, "%s %lld\n", e[i].uid, (long long)e[i].size);
		if (fclose(f) != 0 || rename(tmpf, path) != 0)
			unlink(tmpf);
	}
	free(e);
}

/* Fill the sizes the names did not give: from the cache, else counted. */
static void maildir_sizes(struct maildrop *md)
{
	char *text;
	size_t nc, k = 0;
	struct size_ent *cache = cache_load(md, &text, &nc);
	int dirty = 0;

	for (size_t i = 0; i < md->n; i++) {
		struct msg *m = &md->m[i];

		if (m->size < 0) {
			struct size_ent key = { m->uid, 0 }, *hit;

			hit = nc ? bsearch(&key, cache, nc, sizeof *cache, ent_cmp) : NULL;
			if (hit)
				m->size = hit->size;
			else if (maildir_count(md, m) == 0)
				dirty = 1;
			else {
				free(m->name);  /* vanished meanwhile, or not a file */
				continue;
			}
		}
		md->m[k++] = *m;
	}
	md->n = k;
	if (dirty || (nc != k && md->lockfd >= 0))
		cache_save(md);
	free(cache);
	free(text);
}

static int maildir_scan(struct maildrop *md, const char *sub, size_t *cap)
{
	char dir[sizeof md->path + 8];
	struct dirent *d;
	DIR *dp;

	snprintf(dir, sizeof dir, "%s/%s", md->path, sub);
	if ((dp = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((d = readdir(dp)) != NULL && md->n < MAILDROP_MSGS_MAX) {
		const char *colon;
		size_t blen;
		struct msg *m;

		if (d->d_name[0] == '.' || (d->d_type != DT_REG && d->d_type != DT_UNKNOWN))
			continue;
		if (md->n == *cap) {
			*cap = *cap ? 2 * *cap : 64;
			md->m = xrealloc(md->m, *cap * sizeof *md->m);
		}
		m = memset(&md->m[md->n], 0, sizeof *m);
		colon = strchr(d->d_name, ':');
		blen = colon ? (size_t)(colon - d->d_name) : strlen(d->d_name);
		m->name = xmalloc(strlen(sub) + strlen(d->d_name) + 2);
		sprintf(m->name, "%s/%s", sub, d->d_name);
		maildir_uid(d->d_name, blen, m->uid);
		m->size = name_wsize(d->d_name, blen);    /* -1: from the cache or counted */
		m->wname = m->size >= 0;
		md->n++;
	}
	closedir(dp);
	return 0;
}

static enum maildrop_rc maildir_lock(struct maildrop *md, const char **why)
{
	char path[sizeof md->path + 32];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	snprintf(path, sizeof path, "%s/%s", md->path, MAILDROP_LOCK);
	md->lockfd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (md->lockfd < 0 && errno == ENOENT) {
		/* No Maildir yet: an empty maildrop (maildeliver makes it). */
		return MD_OK;
	}
	if (md->lockfd < 0) {
		*why = "cannot create the lock file";
		return MD_ERR;
	}
	if (fcntl(md->lockfd, F_SETLK, &fl) < 0) {
		if (errno == EAGAIN || errno == EACCES)
			return MD_INUSE;
		*why = "cannot lock the maildrop";
		return MD_ERR;
	}
	return MD_OK;
}

static enum maildrop_rc maildir_open(struct maildrop *md, const char **why)
{
	enum maildrop_rc rc = maildir_lock(md, why);
	size_t cap = 0;

	if (rc != MD_OK)
		return rc;
	if (maildir_scan(md, "new", &cap) < 0 || maildir_scan(md, "cur", &cap) < 0) {
		*why = "cannot read the Maildir";
		return MD_ERR;
	}
	if (md->n > 0)
		qsort(md->m, md->n, sizeof *md->m, msg_cmp);
	/* A base name in both new/ and cur/ would give one id twice. */
	for (size_t i = 1; i < md->n; i++)
		if (strcmp(md->m[i].uid, md->m[i - 1].uid) == 0)
			hex_md5(md->m[i].name, strlen(md->m[i].name), md->m[i].uid);
	maildir_sizes(md);
	return MD_OK;
}

/* Another program (a MUA) may have renamed the file since we listed it:
 * find it again in cur/ by its base name.  0 found, 1 not there, -1 when
 * cur/ cannot be read. */
static int maildir_refind(struct maildrop *md, struct msg *m)
{
	const char *base = strchr(m->name, '/') + 1;
	size_t blen = strcspn(base, ":");
	char dir[sizeof md->path + 8];
	struct dirent *d;
	DIR *dp;
	int found = 0;

	snprintf(dir, sizeof dir, "%s/cur", md->path);
	if ((dp = opendir(dir)) == NULL)
		return -1;
	while (!found && (d = readdir(dp)) != NULL)
		if (strncmp(d->d_name, base, blen) == 0 && d->d_name[blen] == ':') {
			char *name = xmalloc(strlen(d->d_name) + 5);

			sprintf(name, "cur/%s", d->d_name);
			free(m->name);
			m->name = name;
			found = 1;
		}
	closedir(dp);
	return found ? 0 : 1;
}

/* Read a whole file into md->rbuf (kept for the session: read() into a
 * warm buffer costs less than mapping each message).  0 or -1. */
static int read_file(struct maildrop *md, const char *path, size_t *n)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	if ((size_t)st.st_size + 1 > md->rcap) {
		md->rcap = (size_t)st.st_size + 1;
		md->rbuf = xrealloc(md->rbuf, md->rcap);
	}
	for (;;) {
		ssize_t r = read(fd, md->rbuf + got, md->rcap - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got == md->rcap) {      /* the file grew: it is not a delivered message */
			md->rcap *= 2;
			md->rbuf = xrealloc(md->rbuf, md->rcap);
		}
	}
	close(fd);
	*n = got;
	return 0;
}

static int maildir_read(struct maildrop *md, struct msg *m, size_t *n)
{
	char path[sizeof md->path + 512];
	int rc;

	snprintf(path, sizeof path, "%s/%s", md->path, m->name);
	if ((rc = read_file(md, path, n)) < 0 && errno == ENOENT && maildir_refind(md, m) == 0) {
		snprintf(path, sizeof path, "%s/%s", md->path, m->name);
		rc = read_file(md, path, n);
	}
	return rc;
}

/* The same as a mapping (for TOP, which reads only the header and a few
 * lines: a client listing headers of big messages must not read them
 * whole).  Return the fd (see unmap_file) or -1. */
static int maildir_map(struct maildrop *md, struct msg *m, unsigned char **p, size_t *n)
{
	char path[sizeof md->path + 512];
	int fd;

	snprintf(path, sizeof path, "%s/%s", md->path, m->name);
	if ((fd = map_file(path, p, n)) < 0 && errno == ENOENT && maildir_refind(md, m) == 0) {
		snprintf(path, sizeof path, "%s/%s", md->path, m->name);
		fd = map_file(path, p, n);
	}
	return fd;
}

/* The name a kept message gets at UPDATE: in cur/ with ":2,FLAGS", and
 * 'S' added (in ASCII order, as the Maildir spec asks) when it was read. */
static char *maildir_newname(const struct msg *m)
{
	const char *base = strchr(m->name, '/') + 1, *info = strstr(base, ":2,");
	size_t blen = strcspn(base, ":");
	char flags[64] = "";
	size_t k = 0;
	char *out;

	if (info)
		for (const char *f = info + 3; *f && k + 2 < sizeof flags; f++)
			flags[k++] = *f;
	flags[k] = '\0';
	if (m->seen && strchr(flags, 'S') == NULL) {
		size_t at = 0;

		while (at < k && flags[at] < 'S')
			at++;
		memmove(flags + at + 1, flags + at, k - at + 1);
		flags[at] = 'S';
	}
	out = xmalloc(blen + strlen(flags) + 8);
	sprintf(out, "cur/%.*s:2,%s", (int)blen, base, flags);
	return out;
}

/* Remove a deleted message, wherever a MUA has moved it.  One that
 * another client (imapd, a MUA) already removed is gone, as DELE asked. */
static int maildir_remove(struct maildrop *md, struct msg *m)
{
	char path[sizeof md->path + 512];
	int r;

	snprintf(path, sizeof path, "%s/%s", md->path, m->name);
	if (unlink(path) == 0)
		return 0;
	if (errno != ENOENT || (r = maildir_refind(md, m)) < 0)
		return -1;
	if (r == 1)
		return 0;
	snprintf(path, sizeof path, "%s/%s", md->path, m->name);
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

static int maildir_commit(struct maildrop *md)
{
	char from[sizeof md->path + 512], to[sizeof md->path + 512];
	int failed = 0;

	for (size_t i = 0; i < md->n; i++) {
		struct msg *m = &md->m[i];

		if (m->deleted) {
			if (maildir_remove(md, m) < 0)
				failed++;
			continue;
		}
		snprintf(from, sizeof from, "%s/%s", md->path, m->name);
		char *name = maildir_newname(m);

		if (strcmp(name, m->name) != 0) {
			snprintf(to, sizeof to, "%s/%s", md->path, name);
			if (rename(from, to) == 0) {
				free(m->name);
				m->name = name;
				continue;
			}
		}
		free(name);
	}
	return failed;
}

/* ---------- mbox ---------- */

/* path.lock, holding "pop3d PID" so that the lock of a session that was
 * killed is known for what it is (lib/mbox.c reads it the same way). */
static int mbox_dotlock(struct maildrop *md, const char **why)
{
	char path[sizeof md->path + 8];

	snprintf(path, sizeof path, "%s.lock", md->path);
	for (int tries = 0; ; tries++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		int r;

		if (fd >= 0) {
			md->dotlocked = 1;
			dprintf(fd, "pop3d %ld\n", (long)getpid());
			close(fd);
			return MD_OK;
		}
		if (errno == EACCES || errno == EROFS || errno == EPERM)
			return MD_OK;   /* no dot-locks here (/var/mail without group mail): fcntl must do */
		if (errno != EEXIST) {
			*why = "cannot create the dot-lock";
			return MD_ERR;
		}
		/* We hold the fcntl lock: a dot-lock whose owner is dead (or
		 * that is stale) is left over, and a dead maildeliver's partial
		 * message is cut off with it. */
		if ((r = mbox_lock_recover(md->lockfd, path)) < 0) {
			*why = "cannot remove a stale dot-lock";
			return MD_ERR;
		}
		if (r == 1)
			continue;
		if (tries + 1 >= MBOX_DOTLOCK_TRIES)
			return MD_INUSE;
		sleep(1);
	}
}

/* Whether a From_ line starts at q: at the start of the file or after an
 * empty line.  Sets *sep to where the separating empty line starts. */
static int mbox_from_at(const unsigned char *p, size_t q, size_t n, size_t *sep)
{
	if (n - q < 5 || memcmp(p + q, "From ", 5) != 0)
		return 0;
	if (q == 0) {
		*sep = 0;
		return 1;
	}
	if (q >= 2 && p[q - 1] == '\n' && p[q - 2] == '\n') {
		*sep = q - 1;
		return 1;
	}
	if (q >= 3 && p[q - 1] == '\n' && p[q - 2] == '\r' && p[q - 3] == '\n') {
		*sep = q - 2;
		return 1;
	}
	return 0;
}

/* Header fields that MUAs add or rewrite in an mbox when they quit (mail,
 * s-nail, mutt, neomutt: read/answered state, their own counts and ids). */
static int mua_rewrites(const unsigned char *p, size_t n)
{
	static const char *const names[] = { "Status", "X-Status", "X-Keywords", "X-UID",
	    "X-IMAP", "X-IMAPbase", "Content-Length", "Lines", "X-Label",
	    "X-Mozilla-Status", "X-Mozilla-Status2", "X-Mozilla-Keys" };

	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		size_t k = strlen(names[i]);

		if (n > k && p[k] == ':' && strncasecmp((const char *)p, names[i], k) == 0)
			return 1;
	}
	return 0;
}

/* The UIDL of the mbox message [from, end) (From_ line included): an MD5
 * of everything but the header fields MUAs rewrite (mua_rewrites), so
 * that it stays the same when a MUA marks the message read (RFC 1939 7). */
static void mbox_uid(const unsigned char *p, size_t from, size_t end, char out[33])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dn = 0;
	size_t q = from;
	int skip = 0;

	EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
	while (q < end) {
		const unsigned char *lf = memchr(p + q, '\n', end - q);
		size_t next = lf ? (size_t)(lf - p) + 1 : end;

		if (q > from) {
			if (p[q] == '\n' || (p[q] == '\r' && q + 1 < end && p[q + 1] == '\n'))
				break;  /* the empty line: the body follows */
			if (p[q] != ' ' && p[q] != '\t')
				skip = mua_rewrites(p + q, next - q);
		}
		if (!skip)
			EVP_DigestUpdate(ctx, p + q, next - q);
		q = next;
	}
	EVP_DigestUpdate(ctx, p + q, end - q);
	EVP_DigestFinal_ex(ctx, d, &dn);
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < dn && i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void mbox_add(struct maildrop *md, size_t *cap, size_t from, size_t end)
{
	const unsigned char *p = md->map;
	const unsigned char *lf = memchr(p + from, '\n', end - from);
	size_t off = lf ? (size_t)(lf - p) + 1 : end;
	struct msg *m;

	if (md->n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		md->m = xrealloc(md->m, *cap * sizeof *md->m);
	}
	m = memset(&md->m[md->n++], 0, sizeof *m);
	m->from_off = (off_t)from;
	m->off = (off_t)off;
	m->len = (off_t)(end - off);
	m->size = mbox_size(p + off, end - off);
	mbox_uid(p, from, end, m->uid);
}

static int uidp_cmp(const void *a, const void *b)
{
	const struct msg *x = *(const struct msg *const *)a, *y = *(const struct msg *const *)b;
	int c = strcmp(x->uid, y->uid);

	return c ? c : (x < y ? -1 : x > y);
}

/* Two identical messages (same From_ line too) would share an id: the
 * later copies get "-N", N their message number. */
static void mbox_unique_ids(struct maildrop *md)
{
	struct msg **v;

	if (md->n < 2)
		return;
	v = xmalloc(md->n * sizeof *v);
	for (size_t i = 0; i < md->n; i++)
		v[i] = &md->m[i];
	qsort(v, md->n, sizeof *v, uidp_cmp);
	for (size_t i = md->n - 1; i > 0; i--)
		if (strncmp(v[i]->uid, v[i - 1]->uid, 32) == 0)
			snprintf(v[i]->uid + 32, MAILDROP_UID_MAX - 31, "-%zu", (size_t)(v[i] - md->m) + 1);
	free(v);
}

static void mbox_parse(struct maildrop *md)
{
	const unsigned char *p = md->map;
	size_t n = md->maplen, cap = 0, start = 0, q = 0, sep;

	while (q < n) {
		const unsigned char *lf = memchr(p + q, '\n', n - q);
		size_t next = lf ? (size_t)(lf - p) + 1 : n;

		if (q > start && mbox_from_at(p, q, n, &sep))
			mbox_add(md, &cap, start, sep), start = q;
		q = next;
	}
	if (n > 0) {
		size_t end = n;

		/* the empty line a writer puts after the last message */
		if (end >= 2 && p[end - 1] == '\n' && p[end - 2] == '\n')
			end--;
		else if (end >= 3 && p[end - 1] == '\n' && p[end - 2] == '\r' && p[end - 3] == '\n')
			end -= 2;
		mbox_add(md, &cap, start, end);
	}
	mbox_unique_ids(md);
}

static enum maildrop_rc mbox_open(struct maildrop *md, const char **why)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	enum maildrop_rc rc;
	struct stat st;

	md->lockfd = open(md->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (md->lockfd < 0 && errno == ENOENT)
		return MD_OK;
	if (md->lockfd < 0) {
		*why = "cannot open the mbox";
		return MD_ERR;
	}
	if (fcntl(md->lockfd, F_SETLK, &fl) < 0)
		return errno == EAGAIN || errno == EACCES ? MD_INUSE : (*why = "cannot lock the mbox", MD_ERR);
	if ((rc = mbox_dotlock(md, why)) != MD_OK)
		return rc;
	if (fstat(md->lockfd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*why = "the mbox is not a regular file";
		return MD_ERR;
	}
	if (st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, md->lockfd, 0);

		if (m == MAP_FAILED) {
			*why = "cannot map the mbox";
			return MD_ERR;
		}
		md->map = m;
		md->maplen = (size_t)st.st_size;
		if (md->maplen < 5 || memcmp(md->map, "From ", 5) != 0) {
			*why = "not an mbox file (no From_ line first)";
			return MD_ERR;
		}
	}
	mbox_parse(md);
	return MD_OK;
}

/* Copy len bytes from src to dst (dst <= src) inside the file, forwards. */
static int copy_down(int fd, off_t dst, off_t src, off_t len, char *buf)
{
	while (len > 0) {
		size_t k = len < COPY_BUF ? (size_t)len : COPY_BUF;
		ssize_t r = pread(fd, buf, k, src);

		if (r <= 0 || pwrite(fd, buf, (size_t)r, dst) != r)
			return -1;
		src += r;
		dst += r;
		len -= r;
	}
	return 0;
}

static int mbox_commit(struct maildrop *md, const char **why)
{
	struct stat st;
	size_t first = 0;
	off_t dst;
	char *buf;
	int rc = 0;

	while (first < md->n && !md->m[first].deleted)
		first++;
	if (first == md->n)
		return 0;
	if (fstat(md->lockfd, &st) < 0) {
		*why = "cannot stat the mbox";
		return -1;
	}
	buf = xmalloc(COPY_BUF);
	dst = md->m[first].from_off;
	for (size_t i = first; i < md->n && rc == 0; i++) {
		off_t end = i + 1 < md->n ? md->m[i + 1].from_off : (off_t)md->maplen;

		if (md->m[i].deleted)
			continue;
		rc = copy_down(md->lockfd, dst, md->m[i].from_off, end - md->m[i].from_off, buf);
		dst += end - md->m[i].from_off;
	}
	/* mail appended since we read the file (by a writer ignoring locks) */
	if (rc == 0 && st.st_size > (off_t)md->maplen) {
		rc = copy_down(md->lockfd, dst, (off_t)md->maplen, st.st_size - (off_t)md->maplen, buf);
		dst += st.st_size - (off_t)md->maplen;
	}
	free(buf);
	if (rc == 0 && (ftruncate(md->lockfd, dst) < 0 || fsync(md->lockfd) < 0))
		rc = -1;
	if (rc < 0)
		*why = "cannot rewrite the mbox";
	return rc;
}

/* ---------- common ---------- */

enum maildrop_rc maildrop_open(struct maildrop *md, const char *path,
    enum mailbox_kind kind, const char **why)
{
	memset(md, 0, sizeof *md);
	md->kind = kind;
	md->lockfd = -1;
	*why = "";
	if (strlen(path) >= sizeof md->path) {
		*why = "maildrop path too long";
		return MD_ERR;
	}
	strcpy(md->path, path);
	return kind == MB_MBOX ? mbox_open(md, why) : maildir_open(md, why);
}

static int send_buf(struct emit *e, const unsigned char *p, size_t n, long lines,
    int stuff, int unquote)
{
	emit_text(e, p, n, lines, stuff, unquote);
	return e->err ? -1 : 0;
}

int maildrop_send(struct maildrop *md, size_t i, long lines, int stuff,
    maildrop_sink sink, void *arg)
{
	struct emit *e;
	size_t n;
	int fd, rc;

	if (i >= md->n)
		return -1;
	e = xmalloc(sizeof *e);
	e->sink = sink;
	e->arg = arg;
	e->err = 0;
	e->n = 0;
	if (md->kind == MB_MBOX) {
		rc = send_buf(e, md->map + md->m[i].off, (size_t)md->m[i].len, lines, stuff, 1);
	} else if (lines >= 0) {
		unsigned char *p;

		if ((fd = maildir_map(md, &md->m[i], &p, &n)) < 0) {
			rc = -1;
		} else {
			rc = send_buf(e, p, n, lines, stuff, 0);
			unmap_file(fd, p, n);
		}
	} else if ((fd = maildir_read(md, &md->m[i], &n)) < 0) {
		rc = -1;
	} else {
		/* ",W=" is the size with LF made CRLF (Dovecot's, imapd's
		 * RFC822.SIZE); the wire form also ends an unterminated last
		 * line. */
		if (md->m[i].wname && n > 0 && md->rbuf[n - 1] != '\n') {
			md->m[i].size = maildrop_crlf_size(md->rbuf, n);
			md->m[i].wname = 0;
		}
		rc = send_buf(e, md->rbuf, n, lines, stuff, 0);
	}
	free(e);
	return rc;
}

int maildrop_commit(struct maildrop *md, const char **why)
{
	*why = "";
	if (md->lockfd < 0)
		return 0;
	if (md->kind == MB_MBOX)
		return mbox_commit(md, why);
	return maildir_commit(md);
}

void maildrop_close(struct maildrop *md)
{
	char path[sizeof md->path + 8];

	if (md->map)
		munmap(md->map, md->maplen);
	if (md->dotlocked) {
		snprintf(path, sizeof path, "%s.lock", md->path);
		unlink(path);
	}
	if (md->lockfd >= 0)
		close(md->lockfd);
	for (size_t i = 0; i < md->n; i++)
		free(md->m[i].name);
	free(md->m);
	free(md->rbuf);
	md->rbuf = NULL;
	md->rcap = 0;
	md->m = NULL;
	md->n = 0;
	md->map = NULL;
	md->lockfd = -1;
	md->dotlocked = 0;
}
