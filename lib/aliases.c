/* aliases.c — read an aliases(5) table and expand a name (see aliases.h).
 *
 * Design note.  The table is parsed once into (name, members) pairs sorted
 * by name, so a list of thousands of members, each looked up in turn, costs
 * n log n and not n times the file.  Expansion walks members depth first,
 * keeping the names on the current path (a name met again on it is a loop,
 * reported rather than silently dropped) and the uid/gid that a command or
 * file member will run with: the owner of the file that holds the member. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases.h"
#include "buf.h"
#include "err.h"
#include "limits.h"

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static int entry_cmp(const void *x, const void *y)
{
	return strcmp(((const struct alias_entry *)x)->name, ((const struct alias_entry *)y)->name);
}

/* One logical line "name: members" (continuations already joined). */
static void add_entry(struct aliases *a, const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n), *v, *e = line + n, *ne;

	if (colon == NULL)
		return;         /* not an entry: ignored, as Postfix's postalias warns and goes on */
	for (ne = colon; ne > line && isspace((unsigned char)ne[-1]); ne--)
		;
	if (ne == line)
		return;
	for (v = colon + 1; v < e && isspace((unsigned char)*v); v++)
		;
	while (e > v && isspace((unsigned char)e[-1]))
		e--;
	a->v = xrealloc(a->v, (a->n + 1) * sizeof *a->v);
	a->v[a->n].name = xstrndup(line, (size_t)(ne - line));
	lower(a->v[a->n].name);
	a->v[a->n].value = xstrndup(v, (size_t)(e - v));
	a->n++;
}

void aliases_parse(const char *text, size_t len, uid_t uid, gid_t gid, struct aliases *a)
{
	struct buf cur = { 0 };
	const char *p = text, *end = text + len;

	memset(a, 0, sizeof *a);
	a->uid = uid;
	a->gid = gid;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t k = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (k > 0 && p[k - 1] == '\r')
			k--;
		if (k > 0 && (*p == ' ' || *p == '\t')) {
			if (cur.len > 0) {              /* continuation */
				buf_addc(&cur, ' ');
				buf_add(&cur, p, k);
			}
		} else if (k > 0 && *p != '#') {
			if (cur.len > 0)
				add_entry(a, cur.p, cur.len);
			cur.len = 0;
			buf_add(&cur, p, k);
		} else if (k == 0 && cur.len > 0) {     /* an empty line ends an entry */
			add_entry(a, cur.p, cur.len);
			cur.len = 0;
		}
		p = nl ? nl + 1 : end;
	}
	if (cur.len > 0)
		add_entry(a, cur.p, cur.len);
	buf_free(&cur);
	if (a->n > 1)           /* an empty table has no array: qsort(NULL) is undefined */
		qsort(a->v, a->n, sizeof *a->v, entry_cmp);
}

/* Read a file the expansion may trust: a regular file no one but its
 * owner may write, at most ALIAS_FILE_MAX bytes. */
static int read_trusted(const char *path, struct buf *b, struct stat *st, char *err, size_t cap)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	ssize_t r;

	if (fd < 0 || fstat(fd, st) < 0) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode) || (st->st_mode & (S_IWGRP | S_IWOTH)) ||
	    st->st_size > ALIAS_FILE_MAX) {
		snprintf(err, cap, "%s: not a regular file writable by its owner only, "
		    "under %ld bytes", path, ALIAS_FILE_MAX);
		close(fd);
		return -1;
	}
	while ((r = read(fd, buf_reserve(b, IO_BUFSIZE), IO_BUFSIZE)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || b->len + (size_t)r > (size_t)ALIAS_FILE_MAX) {
			snprintf(err, cap, "%s: %s", path, r < 0 ? strerror(errno) : "too big");
			close(fd);
			return -1;
		}
		buf_commit(b, (size_t)r);
	}
	close(fd);
	return 0;
}

int aliases_load(const char *path, struct aliases *a, char *err, size_t cap)
{
	struct buf b = { 0 };
	struct stat st;

	memset(a, 0, sizeof *a);
	if (read_trusted(path, &b, &st, err, cap) < 0) {
		buf_free(&b);
		return -1;
	}
	aliases_parse(b.p ? b.p : "", b.len, st.st_uid, st.st_gid, a);
	buf_free(&b);
	return 0;
}

void aliases_free(struct aliases *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].name);
		free(a->v[i].value);
	}
	free(a->v);
	memset(a, 0, sizeof *a);
}

const char *alias_lookup(const struct aliases *a, const char *name)
{
	char key[256];
	struct alias_entry k = { .name = key }, *e;

	if (a->n == 0 || strlen(name) >= sizeof key)
		return NULL;    /* (bsearch of an empty table's NULL array is undefined) */
	snprintf(key, sizeof key, "%s", name);
	lower(key);
	e = bsearch(&k, a->v, a->n, sizeof *a->v, entry_cmp);
	return e ? e->value : NULL;
}

int alias_owner(const struct aliases *a, const char *name, char *out, size_t cap)
{
	char o[300];

	snprintf(o, sizeof o, "owner-%s", name);
	if (strncasecmp(name, "owner-", 6) == 0 || alias_lookup(a, o) == NULL)
		return 0;
	snprintf(out, cap, "%s", o);
	lower(out);
	return 1;
}

/* ---- expansion ---- */

struct walk {
	const struct aliases *a;
	alias_local_fn is_local;
	const void *ctx;
	struct alias_set *out;
	const char *path[ALIAS_DEPTH_MAX + 1];  /* names being expanded */
	char owner[ALIAS_DEPTH_MAX + 1][300];   /* each level's list owner, or "" */
	int depth;
	int includes;                           /* :include: files nested now */
	size_t walked, read;                    /* members walked, files included so far */
	char *err;
	size_t cap;
};

static int walk_members(struct walk *w, const char *value, uid_t uid, gid_t gid);

static int add_target(struct walk *w, enum alias_kind k, const char *text, uid_t uid, gid_t gid)
{
	struct alias_set *o = w->out;

	if (o->n >= ALIAS_TARGETS_MAX) {
		snprintf(w->err, w->cap, "%s: more than %d members", w->path[0], ALIAS_TARGETS_MAX);
		return ALIAS_MANY;
	}
	if (o->n % 64 == 0)
		o->v = xrealloc(o->v, (o->n + 64) * sizeof *o->v);
	o->v[o->n].kind = k;
	o->v[o->n].text = xstrdup(text);
	o->v[o->n].owner = w->owner[w->depth - 1][0] ? xstrdup(w->owner[w->depth - 1]) : NULL;
	/* a root-owned table's commands run as nobody (Postfix's default_privs) */
	o->v[o->n].uid = uid == 0 ? ALIAS_NOBODY : uid;
	o->v[o->n].gid = uid == 0 ? ALIAS_NOBODY : gid;
	o->n++;
	return 0;
}

/* :include:path — its members run with its owner's ids; it must belong to
 * root or to the owner of the file naming it (else a user could make
 * another's commands his own), unless that file is root's. */
static int walk_include(struct walk *w, const char *path, uid_t uid, gid_t gid)
{
	struct buf b = { 0 };
	struct stat st;
	int rc;

	if (path[0] != '/') {
		snprintf(w->err, w->cap, ":include:%s: not an absolute path", path);
		return ALIAS_INCLUDE;
	}
	/* a file including itself (a user's own, from a .forward) must end too */
	if (w->includes >= ALIAS_DEPTH_MAX) {
		snprintf(w->err, w->cap, ":include:%s: files included deeper than %d", path,
		    ALIAS_DEPTH_MAX);
		return ALIAS_DEEP;
	}
	if (++w->read > ALIAS_INCLUDES_MAX) {
		snprintf(w->err, w->cap, ":include:%s: more than %d files in one expansion", path,
		    ALIAS_INCLUDES_MAX);
		return ALIAS_MANY;
	}
	if (read_trusted(path, &b, &st, w->err, w->cap) < 0) {
		buf_free(&b);
		return ALIAS_INCLUDE;
	}
	if (st.st_uid != 0 && st.st_uid != uid && uid != 0) {
		snprintf(w->err, w->cap, ":include:%s: owned by uid %lu, not by uid %lu or root",
		    path, (unsigned long)st.st_uid, (unsigned long)uid);
		buf_free(&b);
		return ALIAS_INCLUDE;
	}
	if (st.st_uid != 0)
		uid = st.st_uid, gid = st.st_gid;
	buf_adds(&b, "");
	for (char *p = b.p; *p; p++)                    /* one member a line, or several */
		if (*p == '\r')
			*p = '\n';
	w->includes++;
	rc = walk_members(w, b.p, uid, gid);
	w->includes--;
	buf_free(&b);
	return rc;
}

/* An address member: a local one naming an alias is expanded, else kept. */
static int walk_addr(struct walk *w, const char *m, uid_t uid, gid_t gid)
{
	char local[256];
	const char *at = strrchr(m, '@'), *v;
	size_t ll = at ? (size_t)(at - m) : strlen(m);
	int rc;

	if (m[0] == '\\')                       /* \user: the mailbox itself, no expansion */
		return m[1] ? add_target(w, AK_LOCAL, m + 1, uid, gid) : 0;     /* "\": no one */
	if ((at != NULL && !w->is_local(w->ctx, at + 1)) || ll == 0 || ll >= sizeof local)
		return add_target(w, AK_REMOTE, m, uid, gid);
	memcpy(local, m, ll);
	local[ll] = '\0';
	lower(local);
	if (strcmp(local, w->path[w->depth - 1]) == 0 || w->a == NULL ||
	    (v = alias_lookup(w->a, local)) == NULL) {
		char *full = xstrdup(m);
		int added;

		memcpy(full, local, ll);        /* the user as written, local part folded */
		added = add_target(w, AK_LOCAL, full, uid, gid);
		free(full);
		return added;
	}
	for (int i = 0; i < w->depth; i++)
		if (strcmp(w->path[i], local) == 0) {
			snprintf(w->err, w->cap, "alias loop: %s comes back through %s", local,
			    w->path[w->depth - 1]);
			return ALIAS_LOOP;
		}
	if (w->depth >= ALIAS_DEPTH_MAX) {
		snprintf(w->err, w->cap, "%s: aliases nested deeper than %d", w->path[0],
		    ALIAS_DEPTH_MAX);
		return ALIAS_DEEP;
	}
	w->path[w->depth] = local;
	/* a nested list's members go with its own owner, else the outer one */
	if (!alias_owner(w->a, local, w->owner[w->depth], sizeof w->owner[w->depth]))
		memcpy(w->owner[w->depth], w->owner[w->depth - 1], sizeof w->owner[w->depth]);
	w->depth++;
	rc = walk_members(w, v, w->a->uid, w->a->gid);
	w->depth--;
	return rc;
}

/* Whether member m may not be used: a command or a file with a CR or LF,
 * anything else (an address, an :include: path) with any control byte or
 * DEL.  A table line keeps a CR inside it; a .forward or :include: file
 * splits at CR, but a TAB or an ESC would reach the queue's envelope, the
 * log and the relay's RCPT TO. */
static int bad_member(const char *m)
{
	if (*m == '|' || *m == '/')
		return strpbrk(m, "\r\n") != NULL;
	for (; *m; m++)
		if ((unsigned char)*m < ' ' || *m == 0x7f)
			return 1;
	return 0;
}

/* One member, white space trimmed, outer quotes removed. */
static int walk_one(struct walk *w, char *m, uid_t uid, gid_t gid)
{
	size_t n;

	while (isspace((unsigned char)*m))
		m++;
	n = strlen(m);
	while (n > 0 && isspace((unsigned char)m[n - 1]))
		m[--n] = '\0';
	if (n >= 2 && m[0] == '"' && m[n - 1] == '"' && (m[1] == '|' || m[1] == '/')) {
		m[n - 1] = '\0';
		m++;
	}
	if (*m == '\0')
		return 0;
	if (bad_member(m)) {
		snprintf(w->err, w->cap, "%s: a member holds a control character", w->path[0]);
		return ALIAS_SYNTAX;
	}
	if (++w->walked > ALIAS_TARGETS_MAX) {
		snprintf(w->err, w->cap, "%s: more than %d members walked", w->path[0],
		    ALIAS_TARGETS_MAX);
		return ALIAS_MANY;
	}
	if (*m == '|')
		return add_target(w, AK_PIPE, m + 1, uid, gid);
	if (*m == '/')
		return add_target(w, AK_FILE, m, uid, gid);
	if (strncasecmp(m, ":include:", 9) == 0)
		return walk_include(w, m + 9, uid, gid);
	return walk_addr(w, m, uid, gid);
}

/* Split members at commas outside double quotes, and at every line end
 * (a .forward or :include: file): a quote left open on one line does not
 * make the next ones part of its command. */
static int walk_members(struct walk *w, const char *value, uid_t uid, gid_t gid)
{
	char *copy = xstrdup(value), *s = copy;
	int q = 0, rc = 0;

	for (char *p = copy; rc == 0; p++) {
		if (*p == '"')
			q = !q;
		else if (*p == '\\' && p[1] != '\0' && p[1] != '\n')
			p++;
		else if ((*p == ',' && !q) || *p == '\n' || *p == '\0') {
			int last = *p == '\0';

			*p = '\0';
			rc = walk_one(w, s, uid, gid);
			if (last)
				break;
			s = p + 1;
			q = 0;
		}
	}
	free(copy);
	return rc;
}

static int target_cmp(const void *x, const void *y)
{
	const struct alias_target *a = x, *b = y;

	int c = a->kind != b->kind ? (int)a->kind - (int)b->kind : strcasecmp(a->text, b->text);

	return c != 0 ? c : strcmp(a->owner ? a->owner : "", b->owner ? b->owner : "");
}

/* Drop duplicates from o, keeping the first of each in table order: the
 * sorted copy finds equals in log n, a flag per sorted slot says one was
 * kept already. */
static void dedup(struct alias_set *o)
{
	struct alias_target *sorted;
	unsigned char *kept, *drop;
	size_t k = 0;

	if (o->n < 2)
		return;
	sorted = xrealloc(NULL, o->n * sizeof *sorted);
	kept = xrealloc(NULL, o->n);
	drop = xrealloc(NULL, o->n);
	memset(kept, 0, o->n);
	memset(drop, 0, o->n);
	memcpy(sorted, o->v, o->n * sizeof *sorted);
	qsort(sorted, o->n, sizeof *sorted, target_cmp);
	for (size_t i = 0; i < o->n; i++) {
		struct alias_target *t = &o->v[i];
		struct alias_target *f = bsearch(t, sorted, o->n, sizeof *sorted, target_cmp);

		while (f > sorted && target_cmp(f - 1, t) == 0)
			f--;            /* the first of the equal ones */
		drop[i] = kept[f - sorted];
		kept[f - sorted] = 1;
	}
	/* freed only now: the sorted copy points at the same strings */
	for (size_t i = 0; i < o->n; i++) {
		if (drop[i]) {
			free(o->v[i].text);
			free(o->v[i].owner);
		} else
			o->v[k++] = o->v[i];
	}
	o->n = k;
	free(sorted);
	free(kept);
	free(drop);
}

int alias_expand(const struct aliases *a, const char *name, alias_local_fn is_local,
    const void *ctx, struct alias_set *out, char *err, size_t cap)
{
	struct walk w = { .a = a, .is_local = is_local, .ctx = ctx, .out = out, .err = err,
	    .cap = cap };
	char key[256];
	const char *v;
	int rc;

	memset(out, 0, sizeof *out);
	if (strlen(name) >= sizeof key || (v = alias_lookup(a, name)) == NULL)
		return ALIAS_NONE;
	snprintf(key, sizeof key, "%s", name);
	lower(key);
	w.path[0] = key;
	alias_owner(a, key, w.owner[0], sizeof w.owner[0]);
	w.depth = 1;
	rc = walk_members(&w, v, a->uid, a->gid);
	if (rc != 0) {
		alias_set_free(out);
		return rc;
	}
	dedup(out);
	return ALIAS_OK;
}

void alias_set_free(struct alias_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].text);
		free(s->v[i].owner);
	}
	free(s->v);
	memset(s, 0, sizeof *s);
}

int alias_forward(const struct aliases *a, const char *path, const char *user, uid_t uid,
    gid_t gid, alias_local_fn is_local, const void *ctx, struct alias_set *out, char *err,
    size_t cap)
{
	struct walk w = { .a = a, .is_local = is_local, .ctx = ctx, .out = out, .err = err,
	    .cap = cap };
	struct buf b = { 0 };
	struct stat st;
	char key[256];
	int rc;

	memset(out, 0, sizeof *out);
	if (read_trusted(path, &b, &st, err, cap) < 0) {
		buf_free(&b);
		return errno == ENOENT ? ALIAS_NONE : ALIAS_INCLUDE;
	}
	/* another user's file would run its commands as this user */
	if (st.st_uid != uid && st.st_uid != 0) {
		snprintf(err, cap, "%s: owned by uid %lu, not by %s (uid %lu) or root", path,
		    (unsigned long)st.st_uid, user, (unsigned long)uid);
		buf_free(&b);
		return ALIAS_INCLUDE;
	}
	buf_adds(&b, "");
	for (char *p = b.p, *bol = b.p; *p; p++) {
		if (p == bol && *p == '#')              /* a comment line */
			while (*p && *p != '\n')
				*p++ = ' ';
		if (*p == '\0')                         /* it ended the file */
			break;
		if (*p == '\n' || *p == '\r') {
			*p = '\n';
			bol = p + 1;
		}
	}
	snprintf(key, sizeof key, "%.*s", (int)strcspn(user, "@"), user);
	lower(key);
	w.path[w.depth++] = key;
	rc = walk_members(&w, b.p, uid, gid);      /* owner[0] "": the user's own sender */
	buf_free(&b);
	if (rc != 0) {
		alias_set_free(out);
		return rc;
	}
	dedup(out);
	return out->n > 0 ? ALIAS_OK : ALIAS_NONE;
}

/* The alias name of addr: its local part, or that without +detail, when the
 * table has it; written into name (cap bytes).  1 if found, else 0. */
int alias_name(const struct aliases *a, const char *addr, char *name, size_t cap)
{
	size_t ll = strcspn(addr, "@");
	char *plus;

	if (ll == 0 || ll >= cap)
		return 0;
	memcpy(name, addr, ll);
	name[ll] = '\0';
	if (alias_lookup(a, name) != NULL)
		return 1;
	if ((plus = strchr(name, '+')) != NULL && plus > name) {
		*plus = '\0';
		return alias_lookup(a, name) != NULL;
	}
	return 0;
}
