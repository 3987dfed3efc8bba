/* queue.c — the mail spool (see queue.h for the on-disk format).
 *
 * Durability follows the Maildir discipline: nothing becomes visible to a
 * runner until its envelope is renamed into env/, and everything is
 * fsync'ed (files first, then the directories holding the new names)
 * before the caller is told it is safe. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/limits.h>   /* PATH_MAX: lib/limits.h hides glibc's <limits.h> under -iquote lib */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "filter.h"
#include "durable.h"
#include "queue.h"

static const char *const state_names[] = { "pending", "done", "failed" };

void queue_env_init(struct queue_env *e, const char *from, time_t now)
{
	memset(e, 0, sizeof *e);
	e->version = QUEUE_VERSION;
	if (from != NULL)
		snprintf(e->from, sizeof e->from, "%s", from);
	e->created = e->next = now;
}

int queue_env_add(struct queue_env *e, const char *addr)
{
	struct queue_rcpt *r;

	if (addr == NULL || *addr == '\0' || strlen(addr) > QUEUE_ADDR_MAX) {
		errno = EINVAL;
		return -1;
	}
	e->rcpt = xrealloc(e->rcpt, (e->nrcpt + 1) * sizeof *e->rcpt);
	r = &e->rcpt[e->nrcpt++];
	memset(r, 0, sizeof *r);
	snprintf(r->addr, sizeof r->addr, "%s", addr);
	r->state = QR_PENDING;
	return 0;
}

int queue_env_add_arg(struct queue_env *e, const char *arg)
{
	if (e->nlarg >= QUEUE_LARG_MAX || strlen(arg) >= QUEUE_LARG_LEN) {
		errno = E2BIG;
		return -1;
	}
	e->larg = xrealloc(e->larg, (e->nlarg + 1) * sizeof *e->larg);
	e->larg[e->nlarg++] = xstrdup(arg);
	return 0;
}

void queue_env_free(struct queue_env *e)
{
	free(e->rcpt);
	e->rcpt = NULL;
	e->nrcpt = 0;
	for (size_t i = 0; i < e->nlarg; i++)
		free(e->larg[i]);
	free(e->larg);
	e->larg = NULL;
	e->nlarg = 0;
}

/* ---- parsing ---- */

/* Parse "<addr>" at *pp (quote-aware: '>' inside a quoted local part does
 * not close it) into out; advance *pp past the '>'.  0 or -1; -1 too for a
 * control byte or NUL, which queue_env_format never writes (a damaged
 * file: a NUL would cut the address short). */
static int parse_addr(const char **pp, const char *end, char *out, size_t cap)
{
	const char *p = *pp, *start;
	int quoted = 0;

	if (p >= end || *p != '<')
		return -1;
	start = ++p;
	for (; p < end; p++) {
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return -1;
		if (quoted && *p == '\\' && p + 1 < end) {
			if ((unsigned char)*++p < ' ' || *p == 0x7f)
				return -1;
		} else if (*p == '"')
			quoted = !quoted;
		else if (*p == '>' && !quoted)
			break;
	}
	if (p >= end || (size_t)(p - start) >= cap)
		return -1;
	memcpy(out, start, (size_t)(p - start));
	out[p - start] = '\0';
	*pp = p + 1;
	return 0;
}

/* A decimal number filling [p, end) exactly. */
static int parse_num(const char *p, const char *end, long long *v)
{
	long long n = 0;

	if (p >= end)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9' || n > (LLONG_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	*v = n;
	return 0;
}

static int parse_rcpt(const char *p, const char *end, struct queue_env *e)
{
	struct queue_rcpt r;
	size_t i, n;

	memset(&r, 0, sizeof r);
	if (parse_addr(&p, end, r.addr, sizeof r.addr) < 0 || r.addr[0] == '\0')
		return -1;
	if (p >= end || *p++ != ' ')
		return -1;
	for (i = 0; i < 3; i++) {
		n = strlen(state_names[i]);
		if ((size_t)(end - p) >= n && memcmp(p, state_names[i], n) == 0 &&
		    (p + n == end || p[n] == ' '))
			break;
	}
	if (i == 3)
		return -1;
	r.state = (enum queue_state)i;
	p += n;
	if (p < end) {
		p++;
		n = (size_t)(end - p) < QUEUE_TEXT_MAX ? (size_t)(end - p) : QUEUE_TEXT_MAX;
		memcpy(r.text, p, n);
		r.text[n] = '\0';
	}
	e->rcpt = xrealloc(e->rcpt, (e->nrcpt + 1) * sizeof *e->rcpt);
	e->rcpt[e->nrcpt++] = r;
	return 0;
}

/* The DSN lines: "ret", "envid", and "dsn" for the last recipient. */
static int parse_dsn(const char *k, size_t klen, const char *v, const char *end,
    struct queue_env *e)
{
	char val[DSN_ORCPT_MAX + 64], dec[DSN_ORCPT_MAX + 1];  /* a "dsn" line: words and ORCPT */
	size_t n = (size_t)(end - v);

	if (n >= sizeof val)
		return -1;
	memcpy(val, v, n);
	val[n] = '\0';
	if (klen == 3 && memcmp(k, "ret", 3) == 0)
		return (e->ret = dsn_ret_parse(val)) < 0 ? -1 : 0;
	if (klen == 5) {        /* envid */
		if (n >= sizeof e->envid || dsn_xtext_decode(val, dec, DSN_ENVID_MAX + 1) < 0)
			return -1;
		memcpy(e->envid, val, n + 1);
		return 0;
	}
	if (e->nrcpt == 0)
		return -1;
	for (char *w = strtok(val, " "); w; w = strtok(NULL, " ")) {
		struct queue_rcpt *r = &e->rcpt[e->nrcpt - 1];

		if (strncmp(w, "notify=", 7) == 0) {
			if ((r->notify = dsn_notify_parse(w + 7)) < 0)
				return -1;
		} else if (strncmp(w, "orcpt=", 6) == 0) {
			if (dsn_orcpt_ok(w + 6) < 0)
				return -1;
			snprintf(r->orcpt, sizeof r->orcpt, "%s", w + 6);
		} else if (strcmp(w, "warned") == 0) {
			r->warned = 1;
		} else if (strcmp(w, "delivered") == 0) {
			r->delivered = 1;
		} else if (strcmp(w, "expanded") == 0) {
			r->expanded = 1;
		}
	}
	return 0;
}

/* A "local-arg XTEXT" line: one argument of smtpd's, xtext-decoded
 * (RFC 3461 4: "+XX" for '+', '=', blanks and 8-bit bytes; a control
 * byte is refused).  No value: the empty argument. */
static int parse_larg(const char *v, const char *end, struct queue_env *e)
{
	char dec[QUEUE_LARG_LEN];
	size_t n = 0;

	for (; v < end; v++) {
		int c = (unsigned char)*v;

		if (c == '+') {
			unsigned int x;

			if (end - v < 3 || !isxdigit((unsigned char)v[1]) ||
			    !isxdigit((unsigned char)v[2]) || sscanf(v + 1, "%2x", &x) != 1)
				return -1;
			c = (int)x;
			v += 2;
		}
		if (c < ' ' || c == 0x7f || n + 1 >= sizeof dec)
			return -1;
		dec[n++] = (char)c;
	}
	dec[n] = '\0';
	return queue_env_add_arg(e, dec);
}

/* One "key value" line [p, end) into e; *why on error. */
static int parse_line(const char *p, const char *end, struct queue_env *e, int lineno,
    const char **why)
{
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	size_t klen = sp ? (size_t)(sp - p) : (size_t)(end - p);
	const char *v = sp ? sp + 1 : end;
	long long num;

#define KEY(k) (klen == sizeof k - 1 && memcmp(p, k, klen) == 0)
	if (lineno == 0) {
		if (!KEY("version") || parse_num(v, end, &num) < 0 || num != QUEUE_VERSION)
			return *why = "not a version 1 envelope", -1;
		e->version = (int)num;
	} else if (KEY("from")) {
		if (parse_addr(&v, end, e->from, sizeof e->from) < 0 || v != end)
			return *why = "bad from line", -1;
	} else if (KEY("created") || KEY("attempts") || KEY("next")) {
		if (parse_num(v, end, &num) < 0 || num > INT_MAX)
			return *why = "bad number", -1;
		if (KEY("created"))
			e->created = (time_t)num;
		else if (KEY("next"))
			e->next = (time_t)num;
		else
			e->attempts = (int)num;
	} else if (KEY("rcpt")) {
		if (parse_rcpt(v, end, e) < 0)
			return *why = "bad rcpt line", -1;
	} else if (KEY("ret") || KEY("envid") || KEY("dsn")) {
		if (parse_dsn(p, klen, v, end, e) < 0)
			return *why = "bad DSN line", -1;
	} else if (KEY("local")) {
		if (e->nrcpt == 0 || v != end)
			return *why = "bad local line", -1;
		e->rcpt[e->nrcpt - 1].local = 1;
	} else if (KEY("local-arg")) {
		if (parse_larg(v, end, e) < 0)
			return *why = "bad local-arg line", -1;
	}
	/* Unknown keys: a later version's field; ignore. */
#undef KEY
	return 0;
}

int queue_env_parse(const char *p, size_t n, struct queue_env *e, const char **why)
{
	const char *end = p + n, *nl;
	int lineno = 0;

	memset(e, 0, sizeof *e);
	*why = "empty envelope";
	for (; p < end; p = nl + 1, lineno++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return *why = "last line not terminated", errno = EINVAL, -1;
		if (parse_line(p, nl, e, lineno, why) < 0)
			return errno = EINVAL, -1;
	}
	if (lineno == 0)
		return errno = EINVAL, -1;
	if (e->nrcpt == 0)
		return *why = "no recipient", errno = EINVAL, -1;
	return 0;
}

/* ---- formatting ---- */

static int has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return 1;
	return 0;
}

int queue_env_format(const struct queue_env *e, struct buf *out)
{
	if (has_ctl(e->from))
		return errno = EINVAL, -1;
	buf_printf(out, "version %d\nfrom <%s>\ncreated %lld\nattempts %d\nnext %lld\n",
	    QUEUE_VERSION, e->from, (long long)e->created, e->attempts, (long long)e->next);
	if (e->ret != DSN_RET_NONE)
		buf_printf(out, "ret %s\n", dsn_ret_name(e->ret));
	if (e->envid[0] != '\0') {
		if (has_ctl(e->envid) || strchr(e->envid, ' ') != NULL)
			return errno = EINVAL, -1;
		buf_printf(out, "envid %s\n", e->envid);
	}
	for (size_t i = 0; i < e->nlarg; i++) {
		if (has_ctl(e->larg[i]))
			return errno = EINVAL, -1;
		buf_adds(out, "local-arg");
		if (e->larg[i][0] != '\0')
			buf_addc(out, ' ');
		for (const char *a = e->larg[i]; *a; a++) {
			unsigned char c = (unsigned char)*a;

			if (c > ' ' && c < 0x7f && c != '+' && c != '=')
				buf_addc(out, (char)c);
			else
				buf_printf(out, "+%02X", c);
		}
		buf_addc(out, '\n');
	}
	for (size_t i = 0; i < e->nrcpt; i++) {
		const struct queue_rcpt *r = &e->rcpt[i];

		if (has_ctl(r->addr) || r->addr[0] == '\0' || (unsigned)r->state > QR_FAILED)
			return errno = EINVAL, -1;
		buf_printf(out, "rcpt <%s> %s", r->addr, state_names[r->state]);
		if (r->text[0] != '\0') {
			buf_addc(out, ' ');
			for (const char *t = r->text; *t; t++)
				buf_addc(out, ((unsigned char)*t < ' ' || *t == 0x7f) ? ' ' : *t);
		}
		buf_addc(out, '\n');
		if (r->notify != 0 || r->orcpt[0] != '\0' || r->warned || r->delivered || r->expanded) {
			char nb[64];

			if (has_ctl(r->orcpt) || strchr(r->orcpt, ' ') != NULL)
				return errno = EINVAL, -1;
			dsn_notify_format(r->notify, nb, sizeof nb);
			buf_printf(out, "dsn%s%s%s%s%s%s%s\n", nb[0] ? " notify=" : "", nb,
			    r->orcpt[0] ? " orcpt=" : "", r->orcpt, r->warned ? " warned" : "",
			    r->delivered ? " delivered" : "", r->expanded ? " expanded" : "");
		}
		if (r->local)
			buf_adds(out, "local\n");
	}
	return 0;
}

/* ---- files ---- */

/* A spool made on the first message must keep its new directories' names
 * through a power loss, or the first 250 would name a lost file. */
static int mkdir_p(const char *path)
{
	return mkdir_durable(path, 0700);
}

int queue_init(const char *dir)
{
	static const char *const sub[] = { "tmp", "msg", "env" };
	char path[PATH_MAX];

	if (mkdir_p(dir) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, sub[i]) >= sizeof path)
			return errno = ENAMETOOLONG, -1;
		if (mkdir_p(path) < 0)
			return -1;
	}
	return 0;
}

void queue_new_id(char *id)
{
	struct timeval tv;
	unsigned int r = 0;

	gettimeofday(&tv, NULL);
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
		r = (unsigned int)tv.tv_usec * 2654435761u ^ (unsigned int)getpid();
	snprintf(id, QUEUE_ID_MAX, "%lld.M%06ldP%ldR%08x", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), r);
}

int queue_id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= QUEUE_ID_MAX || id[0] == '.')
		return 0;
	for (; *id; id++)
		if (*id == '/' || (unsigned char)*id <= ' ' || (unsigned char)*id >= 0x7f)
			return 0;
	return 1;
}

static int path_of(char *out, const char *dir, const char *sub, const char *id, const char *ext)
{
	if (!queue_id_ok(id))
		return errno = EINVAL, -1;
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s/%s%s", dir, sub, id, ext) >= PATH_MAX)
		return errno = ENAMETOOLONG, -1;
	return 0;
}

static int fsync_dir(const char *dir, const char *sub)
{
	char path[PATH_MAX];
	int fd, rc;

	snprintf(path, sizeof path, "%s/%s", dir, sub);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Create path exclusively and write p[0..n) to it, fsync'ed. lock: keep
 * the fd open and flock'ed, returned; else close and return 0. */
static int write_file(const char *path, const void *p, size_t n, int lock)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600), e;

	if (fd < 0)
		return -1;
	if ((lock && flock(fd, LOCK_EX | LOCK_NB) < 0) || write_all(fd, p, n) < 0 ||
	    fsync(fd) < 0) {
		e = errno;
		close(fd);
		unlink(path);
		return errno = e, -1;
	}
	if (lock)
		return fd;
	return close(fd);
}

int queue_enqueue(const char *dir, const struct queue_env *e, const void *msg, size_t len,
    char *id)
{
	char tmsg[PATH_MAX], tenv[PATH_MAX], pmsg[PATH_MAX], penv[PATH_MAX];
	struct buf env = { 0 };
	int err, tries;

	if (e->nrcpt == 0 || queue_env_format(e, &env) < 0) {
		buf_free(&env);
		return errno = EINVAL, -1;
	}
	for (tries = 0;; tries++) {
		queue_new_id(id);
		if (path_of(tmsg, dir, "tmp", id, ".msg") < 0)
			goto fail;
		if (write_file(tmsg, msg, len, 0) == 0)
			break;
		if (errno != EEXIST || tries >= 10)
			goto fail;
	}
	if (path_of(tenv, dir, "tmp", id, ".env") < 0 || path_of(pmsg, dir, "msg", id, "") < 0 ||
	    path_of(penv, dir, "env", id, "") < 0 || write_file(tenv, env.p, env.len, 0) < 0)
		goto fail_msg;
	if (rename(tmsg, pmsg) < 0)
		goto fail_env;
	if (rename(tenv, penv) < 0) {
		err = errno;
		unlink(pmsg);
		unlink(tenv);
		errno = err;
		goto fail;
	}
	buf_free(&env);
	if (fsync_dir(dir, "msg") < 0 || fsync_dir(dir, "env") < 0)
		return -1;   /* committed, but not known durable: the caller must not say 250 */
	return 0;
fail_env:
	err = errno, unlink(tenv), errno = err;
fail_msg:
	err = errno, unlink(tmsg), errno = err;
fail:
	buf_free(&env);
	return -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int queue_list(const char *dir, char ***ids, size_t *n)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dp;

	*ids = NULL;
	*n = 0;
	if ((size_t)snprintf(path, sizeof path, "%s/env", dir) >= sizeof path)
		return errno = ENAMETOOLONG, -1;
	if ((dp = opendir(path)) == NULL)
		return -1;
	while ((d = readdir(dp)) != NULL) {
		if (!queue_id_ok(d->d_name))
			continue;
		*ids = xrealloc(*ids, (*n + 1) * sizeof **ids);
		(*ids)[(*n)++] = xstrdup(d->d_name);
	}
	closedir(dp);
	if (*n > 1)
		qsort(*ids, *n, sizeof **ids, cmp_str);
	return 0;
}

void queue_list_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

int queue_lock(const char *dir, const char *id)
{
	char path[PATH_MAX];
	struct stat a, b;
	int fd, e;

	if (path_of(path, dir, "env", id, "") < 0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		goto fail;
	/* The holder may have replaced or removed env/ID between our open and
	 * our lock: then we locked a stale file. */
	if (fstat(fd, &a) < 0)
		goto fail;
	if (stat(path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		close(fd);
		return errno = ENOENT, -1;
	}
	return fd;
fail:
	e = errno;
	close(fd);
	return errno = e, -1;
}

int queue_read_env(int fd, struct queue_env *e, const char **why)
{
	struct buf b = { 0 };
	off_t off = 0;
	ssize_t k;
	int rc;

	memset(e, 0, sizeof *e);
	for (;;) {
		char *p = buf_reserve(&b, IO_BUFSIZE);

		k = pread(fd, p, IO_BUFSIZE, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			buf_free(&b);
			return *why = "read error", -1;
		}
		if (k == 0)
			break;
		buf_commit(&b, (size_t)k);
		off += k;
		if (b.len > QUEUE_ENV_MAX) {
			buf_free(&b);
			return *why = "envelope too large", errno = EFBIG, -1;
		}
	}
	rc = queue_env_parse(b.p ? b.p : "", b.len, e, why);
	buf_free(&b);
	return rc;
}

int queue_open_msg(const char *dir, const char *id)
{
	char path[PATH_MAX];

	if (path_of(path, dir, "msg", id, "") < 0)
		return -1;
	return open(path, O_RDONLY | O_CLOEXEC);
}

int queue_update_env(const char *dir, const char *id, const struct queue_env *e, int *lockfd)
{
	char tpath[PATH_MAX], path[PATH_MAX];
	struct buf b = { 0 };
	int fd, err;

	if (path_of(tpath, dir, "tmp", id, ".env.new") < 0 || path_of(path, dir, "env", id, "") < 0)
		return -1;
	if (queue_env_format(e, &b) < 0) {
		buf_free(&b);
		return -1;
	}
	unlink(tpath);   /* left over by a crashed update of ours (we hold the lock) */
	fd = write_file(tpath, b.p, b.len, 1);
	buf_free(&b);
	if (fd < 0)
		return -1;
	if (rename(tpath, path) < 0 || fsync_dir(dir, "env") < 0) {
		err = errno;
		unlink(tpath);
		close(fd);
		return errno = err, -1;
	}
	if (*lockfd >= 0)
		close(*lockfd);
	*lockfd = fd;
	return 0;
}

int queue_remove(const char *dir, const char *id, int lockfd)
{
	char penv[PATH_MAX], pmsg[PATH_MAX];
	int rc = 0;

	if (path_of(penv, dir, "env", id, "") < 0 || path_of(pmsg, dir, "msg", id, "") < 0)
		rc = -1;
	/* The envelope's removal is made durable before the message's, so no
	 * power loss can leave an envelope naming a removed message (at worst a
	 * message without its envelope, which nothing delivers). */
	else if (unlink(penv) < 0 || fsync_dir(dir, "env") < 0 ||
	    (unlink(pmsg) < 0 && errno != ENOENT))
		rc = -1;
	if (lockfd >= 0) {
		int e = errno;

		close(lockfd);
		errno = e;
	}
	return rc;
}
