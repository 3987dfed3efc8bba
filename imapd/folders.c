/* folders.c — commands on mailboxes: SELECT EXAMINE CREATE DELETE RENAME
 * SUBSCRIBE UNSUBSCRIBE LIST LSUB STATUS APPEND CHECK CLOSE UNSELECT
 * EXPUNGE, and the helpers for mailbox names, flag lists and sets.
 *
 * The hierarchy delimiter is "." (Maildir++).  Names stay in modified
 * UTF-7 on disk, as Dovecot keeps them, so both servers share a Maildir. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "b64.h"
#include "err.h"
#include "header.h"
#include "imapd.h"

#define LIST_NAMES_MAX 10000    /* folders listed at most (each is a directory) */

struct special { const char *name, *attr; };
static const struct special specials[] = SPECIAL_FOLDERS;

/* ---- helpers shared by the commands ---- */

int mailbox_arg(struct session *s, const char *tag, const struct imap_arg *a, char *name,
    char *path)
{
	if (!arg_astring(a) || strlen(a->s) != a->len) {
		reply(s, tag, "BAD Mailbox name expected");
		return -1;
	}
	snprintf(name, STORE_NAME_MAX + 8, "%s", strcasecmp(a->s, "INBOX") == 0 ? "INBOX" : a->s);
	if (!store_name_ok(name) || store_path(s->root, name, path, STORE_PATH_MAX) < 0) {
		reply(s, tag, "NO [CANNOT] Invalid mailbox name");
		return -1;
	}
	return 0;
}

int parse_flags(const struct imap_arg *a, unsigned *flags, const char *path, int create)
{
	static const struct { const char *name; unsigned bit; } names[] = {
		{ "\\Seen", FL_SEEN }, { "\\Answered", FL_ANSWERED }, { "\\Flagged", FL_FLAGGED },
		{ "\\Deleted", FL_DELETED }, { "\\Draft", FL_DRAFT },
	};
	const struct imap_arg *v = a->type == ARG_LIST ? a->kids : a;
	size_t n = a->type == ARG_LIST ? a->nkids : 1;

	*flags = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k;

		if (v[i].type != ARG_ATOM)
			return -1;
		for (k = 0; k < sizeof names / sizeof *names; k++)
			if (strcasecmp(v[i].s, names[k].name) == 0)
				break;
		if (k < sizeof names / sizeof *names) {
			*flags |= names[k].bit;
		} else if (v[i].s[0] == '\\') {
			return -1;      /* \Recent, or an unknown system flag */
		} else {
			int kw = store_keyword(path, v[i].s, create);
			if (kw >= 0)
				*flags |= FL_KW(kw);
		}
	}
	return 0;
}

/* ---- SELECT / EXAMINE ---- */

static void deselect(struct session *s)
{
	if (s->state == ST_SELECTED) {
		store_close(&s->sel);
		s->state = ST_AUTH;
	}
	searchres_set(s, NULL, 0);      /* "$" is empty in a new folder (RFC 5182 2.1) */
}

/* SELECT's QRESYNC parameters (RFC 7162 3.2.5): what the client knew. */
struct qresync {
	int      on, condstore;
	uint32_t uidvalidity;
	uint64_t modseq;
	struct seqset known;    /* known-uids, or none (n == 0): all */
};

/* "(CONDSTORE)" or "(QRESYNC (uidvalidity modseq [known-uids
 * [(seqs uids)]]))"; -1 if malformed.  The sequence match data only lets a
 * server narrow its answer: it is checked, not used. */
static int select_params(struct session *s, const struct imap_arg *a, struct qresync *q)
{
	memset(q, 0, sizeof *q);
	if (a->type != ARG_LIST)
		return -1;
	for (size_t i = 0; i < a->nkids; i++) {
		const struct imap_arg *k = &a->kids[i], *p;
		int64_t v;
		struct seqset tmp;

		if (arg_is(k, "CONDSTORE")) {
			q->condstore = 1;
			continue;
		}
		if (!arg_is(k, "QRESYNC") || !s->qresync || q->on || i + 1 >= a->nkids)
			return -1;
		p = &a->kids[++i];
		if (p->type != ARG_LIST || p->nkids < 2 || p->nkids > 4 ||
		    (v = arg_modseq(&p->kids[0], 0)) < 0 || v > UINT32_MAX ||
		    (q->uidvalidity = (uint32_t)v, (v = arg_modseq(&p->kids[1], 0)) < 0))
			return -1;
		q->on = 1;
		q->modseq = (uint64_t)v;
		if (p->nkids >= 3 && (p->kids[2].type != ARG_ATOM || seqset_parse(p->kids[2].s, &q->known) < 0))
			return -1;
		if (p->nkids == 4) {
			const struct imap_arg *m = &p->kids[3];

			if (m->type != ARG_LIST || m->nkids != 2 || m->kids[0].type != ARG_ATOM ||
			    m->kids[1].type != ARG_ATOM || seqset_parse(m->kids[0].s, &tmp) < 0)
				return -1;
			seqset_free(&tmp);
			if (seqset_parse(m->kids[1].s, &tmp) < 0)
				return -1;
			seqset_free(&tmp);
		}
	}
	return 0;
}

/* QRESYNC's answer: the UIDs vanished and the messages changed since the
 * client's MODSEQ, if its UIDVALIDITY is still the folder's. */
static void select_resync(struct session *s, const struct qresync *q)
{
	const struct seqset *known = q->known.n ? &q->known : NULL;
	uint32_t max = s->sel.uidnext > 1 ? s->sel.uidnext - 1 : 0;
	struct buf b = { 0 };

	if (q->uidvalidity != s->sel.uidvalidity)
		return;
	store_load(&s->sel);
	send_vanished(s, q->modseq, known);
	for (size_t i = 0; i < s->sel.n; i++) {
		const struct msg *m = &s->sel.m[i];

		if (m->modseq <= q->modseq || m->gone || (known && !seqset_has(known, m->uid, max)))
			continue;
		b.len = 0;
		buf_printf(&b, "* %zu FETCH (UID %u FLAGS ", i + 1, m->uid);
		flags_text(&s->sel, shown_flags(s, m->flags), &b);
		buf_printf(&b, " MODSEQ (%llu))\r\n", (unsigned long long)m->modseq);
		conn_write(&s->conn, b.p, b.len);
	}
	buf_free(&b);
}

static void list_selected(struct session *s, const char *name);

void cmd_select(struct session *s, struct imap_cmd *c)
{
	char name[STORE_NAME_MAX + 8], path[STORE_PATH_MAX];
	int examine = strcmp(c->name, "EXAMINE") == 0;
	struct store_summary sum;
	struct qresync q;

	if (c->nargs < 1 || c->nargs > 2) {
		reply(s, c->tag, "BAD %s needs a mailbox name", c->name);
		return;
	}
	if (c->nargs == 2 && select_params(s, &c->args[1], &q) < 0) {
		seqset_free(&q.known);
		reply(s, c->tag, "BAD Invalid %s parameters", c->name);
		return;
	}
	if (c->nargs == 1)
		memset(&q, 0, sizeof q);
	if (mailbox_arg(s, c->tag, &c->args[0], name, path) < 0) {
		seqset_free(&q.known);
		return;
	}
	if (s->state == ST_SELECTED) {
		deselect(s);
		untagged(s, "OK [CLOSED] Previous mailbox closed.");
	}
	if (store_open(&s->sel, path, name, examine) < 0) {
		int e = errno;

		store_close(&s->sel);
		if (store_exists(path))         /* its UID list cannot be written: a full disk */
			reply(s, c->tag, "NO [SERVERBUG] Cannot open %s: %s", name, strerror(e));
		else
			reply(s, c->tag, "NO [NONEXISTENT] Mailbox doesn't exist: %s", name);
		seqset_free(&q.known);
		return;
	}
	s->state = ST_SELECTED;
	if (q.condstore)
		s->condstore = 1;       /* SELECT (CONDSTORE) enables it (RFC 7162 3.1.8) */
	store_summary(&s->sel, &sum);
	announce_flags(s, 1);
	untagged(s, "%u EXISTS", sum.messages);
	/* IMAP4rev2 has neither RECENT nor [UNSEEN], and names the mailbox
	 * in a LIST response (RFC 9051 6.3.2) */
	if (!s->rev2)
		untagged(s, "%u RECENT", sum.recent);
	if (sum.first_unseen && !s->rev2)
		untagged(s, "OK [UNSEEN %u] First unseen.", sum.first_unseen);
	untagged(s, "OK [UIDVALIDITY %u] UIDs valid", s->sel.uidvalidity);
	untagged(s, "OK [UIDNEXT %u] Predicted next UID", s->sel.uidnext);
	if (s->rev2)
		list_selected(s, name);
	if (s->condstore)
		untagged(s, "OK [HIGHESTMODSEQ %llu] Highest", (unsigned long long)s->sel.highestmodseq);
	if (q.on)
		select_resync(s, &q);
	seqset_free(&q.known);
	reply(s, c->tag, "OK [%s] %s completed.", examine ? "READ-ONLY" : "READ-WRITE",
	    examine ? "Examine" : "Select");
}

/* ---- CREATE / DELETE / RENAME ---- */

int folders_init(const char *root)
{
	char p[STORE_PATH_MAX];
	FILE *f;

	if (store_make_maildir(root, 0) < 0)
		return -1;
	snprintf(p, sizeof p, "%s/%s", root, STORE_SUBSCRIPTIONS);
	f = fopen(p, "w");
	for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) {
		snprintf(p, sizeof p, "%s/.%s", root, specials[i].name);
		if (store_make_maildir(p, 1) < 0)
			break;
		if (f)
			fprintf(f, "%s\n", specials[i].name);
	}
	if (f)
		fclose(f);
	return 0;
}

void cmd_create(struct session *s, struct imap_cmd *c)
{
	char name[STORE_NAME_MAX + 8], path[STORE_PATH_MAX];

	if (c->nargs != 1 || !arg_astring(&c->args[0])) {
		reply(s, c->tag, "BAD CREATE needs a mailbox name");
		return;
	}
	/* "foo." asks for foo, to be a parent (RFC 3501 6.3.3) */
	if (c->args[0].len > 1 && c->args[0].s[c->args[0].len - 1] == '.')
		c->args[0].s[--c->args[0].len] = '\0';
	if (mailbox_arg(s, c->tag, &c->args[0], name, path) < 0)
		return;
	if (store_exists(path)) {
		reply(s, c->tag, "NO [ALREADYEXISTS] Mailbox already exists");
		return;
	}
	if (store_make_maildir(path, 1) < 0) {
		reply(s, c->tag, "NO [SERVERBUG] Cannot create mailbox: %s", strerror(errno));
		return;
	}
	reply(s, c->tag, "OK Create completed.");
}

/* Remove a Maildir folder: its subdirectories' files, then itself. */
static int remove_tree(const char *path, int depth)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int rc = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char p[STORE_PATH_MAX + 300];
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", path, e->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && depth > 0)
			rc |= remove_tree(p, depth - 1);
		else if (unlink(p) < 0)
			rc = -1;
	}
	closedir(d);
	return rmdir(path) < 0 ? -1 : rc;
}

void cmd_delete(struct session *s, struct imap_cmd *c)
{
	char name[STORE_NAME_MAX + 8], path[STORE_PATH_MAX], trash[STORE_PATH_MAX + 64];

	if (c->nargs != 1) {
		reply(s, c->tag, "BAD DELETE needs a mailbox name");
		return;
	}
	if (mailbox_arg(s, c->tag, &c->args[0], name, path) < 0)
		return;
	if (strcmp(name, "INBOX") == 0) {
		reply(s, c->tag, "NO [CANNOT] INBOX can't be deleted.");
		return;
	}
	if (!store_exists(path)) {
		reply(s, c->tag, "NO [NONEXISTENT] Mailbox doesn't exist: %s", name);
		return;
	}
	if (s->state == ST_SELECTED && strcmp(s->sel.name, name) == 0) {
		deselect(s);
		untagged(s, "OK [CLOSED] Selected mailbox deleted.");
	}
	/* out of sight in one step (a name starting with ".." is no folder),
	 * then removed at leisure */
	snprintf(trash, sizeof trash, "%s/..deleted-%ld-%ld", s->root, (long)getpid(), (long)time(NULL));
	if (rename(path, trash) < 0) {
		reply(s, c->tag, "NO [SERVERBUG] Cannot delete: %s", strerror(errno));
		return;
	}
	remove_tree(trash, 1);
	quota_refresh(s->root);         /* its messages no longer count */
	reply(s, c->tag, "OK Delete completed.");
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every folder name under root (INBOX first), sorted; caller frees. */
static char **folder_names(const char *root, size_t *n)
{
	char **v = xmalloc(sizeof *v);
	size_t cap = 1;
	DIR *d = opendir(root);
	struct dirent *e;

	v[0] = xstrdup("INBOX");
	*n = 1;
	while (d && (e = readdir(d)) != NULL && *n < LIST_NAMES_MAX) {
		char p[STORE_PATH_MAX + 300];

		if (e->d_name[0] != '.' || !store_name_ok(e->d_name + 1))
			continue;
		snprintf(p, sizeof p, "%s/%s", root, e->d_name);
		if (!store_exists(p))
			continue;
		if (*n == cap) {
			cap *= 2;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[(*n)++] = xstrdup(e->d_name + 1);
	}
	if (d)
		closedir(d);
	qsort(v + 1, *n - 1, sizeof *v, cmp_names);
	return v;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int rename_inbox(struct session *s, const char *to)
{
	static const char *const subs[] = { "cur", "new" };

	if (store_make_maildir(to, 1) < 0)
		return -1;
	for (size_t k = 0; k < 2; k++) {
		char p[STORE_PATH_MAX + 8];
		DIR *d;
		struct dirent *e;

		snprintf(p, sizeof p, "%s/%s", s->root, subs[k]);
		if ((d = opendir(p)) == NULL)
			return -1;
		while ((e = readdir(d)) != NULL) {
			char from[STORE_PATH_MAX + 300], dst[STORE_PATH_MAX + 300];

			if (e->d_name[0] == '.')
				continue;
			snprintf(from, sizeof from, "%s/%s", p, e->d_name);
			snprintf(dst, sizeof dst, "%s/%s/%s", to, subs[k], e->d_name);
			rename(from, dst);
		}
		closedir(d);
	}
	return 0;
}

void cmd_rename(struct session *s, struct imap_cmd *c)
{
	char from[STORE_NAME_MAX + 8], fpath[STORE_PATH_MAX];
	char to[STORE_NAME_MAX + 8], tpath[STORE_PATH_MAX];
	size_t n, flen;
	char **names;

	if (c->nargs != 2) {
		reply(s, c->tag, "BAD RENAME needs two mailbox names");
		return;
	}
	if (mailbox_arg(s, c->tag, &c->args[0], from, fpath) < 0 ||
	    mailbox_arg(s, c->tag, &c->args[1], to, tpath) < 0)
		return;
	flen = strlen(from);
	if (store_exists(tpath) || strcmp(to, "INBOX") == 0) {
		reply(s, c->tag, "NO [ALREADYEXISTS] Target mailbox already exists");
		return;
	}
	if (!store_exists(fpath)) {
		reply(s, c->tag, "NO [NONEXISTENT] Mailbox doesn't exist: %s", from);
		return;
	}
	if (strncmp(to, from, flen) == 0 && to[flen] == '.') {
		reply(s, c->tag, "NO [CANNOT] Can't rename a mailbox under itself");
		return;
	}
	if (s->state == ST_SELECTED && strcmp(s->sel.name, from) == 0 && strcmp(from, "INBOX") != 0) {
		deselect(s);
		untagged(s, "OK [CLOSED] Selected mailbox renamed.");
	}
	if (strcmp(from, "INBOX") == 0) {
		/* RFC 3501 6.3.5: INBOX's messages move, INBOX stays, empty */
		if (rename_inbox(s, tpath) < 0)
			reply(s, c->tag, "NO [SERVERBUG] Rename failed: %s", strerror(errno));
		else
			reply(s, c->tag, "OK Rename completed.");
		return;
	}
	names = folder_names(s->root, &n);
	if (rename(fpath, tpath) < 0) {
		free_names(names, n);
		reply(s, c->tag, "NO [SERVERBUG] Rename failed: %s", strerror(errno));
		return;
	}
	for (size_t i = 1; i < n; i++) {   /* the inferiors go along */
		char a[STORE_PATH_MAX + 300], b[STORE_PATH_MAX + 600];

		if (strncmp(names[i], from, flen) != 0 || names[i][flen] != '.')
			continue;
		snprintf(a, sizeof a, "%s/.%s", s->root, names[i]);
		snprintf(b, sizeof b, "%s/.%s%s", s->root, to, names[i] + flen);
		rename(a, b);
	}
	free_names(names, n);
	reply(s, c->tag, "OK Rename completed.");
}

/* ---- subscriptions ---- */

static char **read_subs(const char *root, size_t *n)
{
	char p[STORE_PATH_MAX + 32], *line = NULL;
	size_t cap = 0, vcap = 0;
	ssize_t k;
	char **v = NULL;
	FILE *f;

	*n = 0;
	snprintf(p, sizeof p, "%s/%s", root, STORE_SUBSCRIPTIONS);
	if ((f = fopen(p, "r")) == NULL)
		return NULL;
	while ((k = getline(&line, &cap, f)) > 0 && *n < LIST_NAMES_MAX) {
		while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r'))
			line[--k] = '\0';
		/* Dovecot 2.3's "V\t2" header and its tab-separated levels */
		if (k == 0 || strncmp(line, "V\t", 2) == 0)
			continue;
		for (char *t = line; *t; t++)
			if (*t == '\t')
				*t = '.';
		if (*n == vcap) {
			vcap = vcap ? vcap * 2 : 16;
			v = xrealloc(v, vcap * sizeof *v);
		}
		v[(*n)++] = xstrdup(line);
	}
	free(line);
	fclose(f);
	return v;
}

static int write_subs(const char *root, char **v, size_t n)
{
	char p[STORE_PATH_MAX + 32], t[STORE_PATH_MAX + 64];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", root, STORE_SUBSCRIPTIONS);
	snprintf(t, sizeof t, "%s.tmp.%ld", p, (long)getpid());
	if ((f = fopen(t, "w")) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (v[i])
			fprintf(f, "%s\n", v[i]);
	if (fclose(f) != 0 || rename(t, p) < 0) {
		unlink(t);
		return -1;
	}
	return 0;
}

void cmd_subscribe(struct session *s, struct imap_cmd *c)
{
	char name[STORE_NAME_MAX + 8], path[STORE_PATH_MAX];
	int sub = strcmp(c->name, "SUBSCRIBE") == 0, found = 0;
	size_t n;
	char **v;

	if (c->nargs != 1) {
		reply(s, c->tag, "BAD %s needs a mailbox name", c->name);
		return;
	}
	if (mailbox_arg(s, c->tag, &c->args[0], name, path) < 0)
		return;
	if (sub && !store_exists(path)) {
		reply(s, c->tag, "NO [NONEXISTENT] Mailbox doesn't exist: %s", name);
		return;
	}
	v = read_subs(s->root, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0) {
			found = 1;
			if (!sub) {
				free(v[i]);
				v[i] = NULL;
			}
		}
	if (sub && !found) {
		v = xrealloc(v, (n + 1) * sizeof *v);
		v[n++] = xstrdup(name);
	}
	int rc = (sub && found) ? 0 : write_subs(s->root, v, n);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	if (rc < 0)
		reply(s, c->tag, "NO [SERVERBUG] Cannot write subscriptions: %s", strerror(errno));
	else
		reply(s, c->tag, "OK %s completed.", sub ? "Subscribe" : "Unsubscribe");
}

/* ---- LIST / LSUB ---- */

/* RFC 3501 6.3.8: '*' matches anything, '%' anything but the delimiter.
 * Dynamic programming over the name, O(pattern x name): a backtracking
 * matcher takes exponential time on "*a*a*a*a...b", a cheap attack. */
static int wild_match(const char *p, const char *n)
{
	size_t len = strlen(n);
	char *cur = xcalloc(len + 1, 1), *next = xcalloc(len + 1, 1);
	int ok;

	cur[0] = 1;
	for (; *p; p++) {
		for (size_t j = 0; j <= len; j++) {
			if (*p == '*')
				next[j] = cur[j] || (j > 0 && next[j - 1]);
			else if (*p == '%')
				next[j] = cur[j] || (j > 0 && next[j - 1] && n[j - 1] != '.');
			else
				next[j] = j > 0 && cur[j - 1] && n[j - 1] == *p;
		}
		char *t = cur;
		cur = next;
		next = t;
	}
	ok = cur[len];
	free(cur);
	free(next);
	return ok;
}

/* INBOX matches in any case (RFC 3501 5.1): compare with it upper-cased. */
static int name_match(const char *pattern, const char *name)
{
	char p[2 * STORE_NAME_MAX + 16];

	snprintf(p, sizeof p, "%s", pattern);
	if (strncasecmp(p, "INBOX", 5) == 0 && (p[5] == '\0' || p[5] == '.'))
		memcpy(p, "INBOX", 5);
	return wild_match(p, name);
}

static const char *special_use(const char *name)
{
	for (size_t i = 0; i < sizeof specials / sizeof *specials; i++)
		if (strcmp(name, specials[i].name) == 0)
			return specials[i].attr;
	return NULL;
}

static int in_list(char **v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] && strcmp(v[i], name) == 0)
			return 1;
	return 0;
}

static int has_children(char **v, size_t n, const char *name)
{
	size_t k = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (v[i] && strncmp(v[i], name, k) == 0 && v[i][k] == '.')
			return 1;
	return 0;
}

static int status_items_ok(const struct imap_arg *items, int rev2);
static int send_status(struct session *s, const char *name, const char *path,
    const struct imap_arg *items);

struct listing {
	const char *cmd;        /* "LIST" or "LSUB" */
	char **names, **subs;
	size_t nnames, nsubs;
	char **pats;            /* reference + pattern, each */
	size_t npats;
	int extended;           /* RFC 5258 syntax: selection or return options, patterns list */
	int only_subscribed, only_special, show_subscribed, recursive;
	int rev2;               /* the session's IMAP4rev2: STATUS SIZE and DELETED */
	const struct imap_arg *status;  /* RETURN (STATUS (...)), RFC 5819; or NULL */
};

static int any_match(const struct listing *l, const char *name)
{
	for (size_t i = 0; i < l->npats; i++)
		if (name_match(l->pats[i], name))
			return 1;
	return 0;
}

/* RECURSIVEMATCH (RFC 5258 3.5): name has a subscribed descendant that no
 * pattern matches, so the client learns of it through name's CHILDINFO. */
static int childinfo(const struct listing *l, const char *name)
{
	size_t k = strlen(name);

	if (!l->recursive)
		return 0;
	for (size_t i = 0; i < l->nsubs; i++)
		if (l->subs[i] && strncmp(l->subs[i], name, k) == 0 && l->subs[i][k] == '.' &&
		    !any_match(l, l->subs[i]))
			return 1;
	return 0;
}

static void list_one(struct session *s, const struct listing *l, const char *name, int exists)
{
	struct buf attrs = { 0 };
	const char *su = special_use(name);
	int subscribed = in_list(l->subs, l->nsubs, name), info = childinfo(l, name);
	int lsub = strcmp(l->cmd, "LSUB") == 0;

	if ((l->only_subscribed && !subscribed && !info) || (l->only_special && !su))
		return;
	if (!exists)
		buf_adds(&attrs, !lsub && l->extended && subscribed ? "\\NonExistent" : "\\Noselect");
	if (!lsub) {
		buf_printf(&attrs, "%s%s", attrs.len ? " " : "",
		    has_children(l->names, l->nnames, name) ? "\\HasChildren" : "\\HasNoChildren");
		if (su)
			buf_printf(&attrs, " %s", su);
		if (l->show_subscribed && subscribed)
			buf_adds(&attrs, " \\Subscribed");
	}
	struct buf line = { 0 };
	buf_printf(&line, "* %s (%s) \".\" ", l->cmd, attrs.p ? attrs.p : "");
	imap_string(&line, name, strlen(name));
	if (info)
		buf_adds(&line, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	buf_adds(&line, "\r\n");
	conn_write(&s->conn, line.p, line.len);
	buf_free(&line);
	buf_free(&attrs);
	if (l->status && exists) {
		char path[STORE_PATH_MAX];

		if (store_path(s->root, name, path, sizeof path) == 0)
			send_status(s, name, path, l->status);
	}
}

/* "* LIST (attributes) "." name" for the folder SELECT just opened. */
static void list_selected(struct session *s, const char *name)
{
	char *pat = xstrdup(name);
	struct listing l = { .cmd = "LIST", .pats = &pat, .npats = 1 };

	l.names = folder_names(s->root, &l.nnames);
	list_one(s, &l, name, 1);
	free_names(l.names, l.nnames);
	free(pat);
}

/* List every name of v matching a pattern, and the missing parents that
 * match one (as \Noselect: RFC 3501 6.3.8, "foo/bar" without "foo").  LSUB
 * gives an unsubscribed parent only in place of a child the pattern does
 * not reach ("%" and "foo/bar" subscribed: RFC 3501 6.3.9); with "*" the
 * child itself is listed, and its parent, not subscribed, is not. */
static void done_add(char ***done, size_t *n, const char *name)
{
	*done = xrealloc(*done, (*n + 1) * sizeof **done);
	(*done)[(*n)++] = xstrdup(name);
}

static void list_names(struct session *s, struct listing *l, char **v, size_t n, char ***done,
    size_t *ndone)
{
	int lsub = strcmp(l->cmd, "LSUB") == 0;

	for (size_t i = 0; i < n; i++) {
		char parent[STORE_NAME_MAX + 8];
		int match = any_match(l, v[i]);

		if (in_list(*done, *ndone, v[i]))
			continue;
		if (!(lsub && match)) {
			/* missing parents first, outermost first, so a client
			 * building its folder tree meets each parent before its
			 * children */
			snprintf(parent, sizeof parent, "%s", v[i]);
			for (char *dot = strchr(parent, '.'); dot; dot = strchr(dot + 1, '.')) {
				*dot = '\0';
				if (!in_list(v, n, parent) && (lsub || !in_list(l->names, l->nnames, parent)) &&
				    !in_list(*done, *ndone, parent) && any_match(l, parent)) {
					done_add(done, ndone, parent);
					list_one(s, l, parent, 0);
				}
				*dot = '.';
			}
		}
		if (match) {
			done_add(done, ndone, v[i]);
			list_one(s, l, v[i], in_list(l->names, l->nnames, v[i]));
		}
	}
}

/* The options of RFC 5258 (selection) and RFC 5258, 5819, 6154 (return);
 * -1 for one we do not know. */
static int list_options(const struct imap_arg *a, struct listing *l, int selection)
{
	int base = 0;

	if (a->type != ARG_LIST)
		return -1;
	for (size_t i = 0; i < a->nkids; i++) {
		const struct imap_arg *o = &a->kids[i];

		if (o->type != ARG_ATOM) {
			return -1;
		} else if (arg_is(o, "SUBSCRIBED")) {
			l->show_subscribed = 1;
			l->only_subscribed |= selection;
			base = 1;
		} else if (arg_is(o, "SPECIAL-USE")) {
			l->only_special |= selection;
			base = 1;
		} else if (selection && arg_is(o, "RECURSIVEMATCH")) {
			l->recursive = 1;
		} else if (selection && arg_is(o, "REMOTE")) {
			continue;       /* no remote mailboxes here */
		} else if (!selection && arg_is(o, "CHILDREN")) {
			continue;       /* \HasChildren / \HasNoChildren are always given */
		} else if (!selection && arg_is(o, "STATUS") && i + 1 < a->nkids &&
		    status_items_ok(&a->kids[i + 1], l->rev2)) {
			l->status = &a->kids[++i];
		} else {
			return -1;
		}
	}
	/* RECURSIVEMATCH needs an option it can recurse on (RFC 5258 3) */
	return selection && l->recursive && !base ? -1 : 0;
}

void cmd_list(struct session *s, struct imap_cmd *c)
{
	struct listing l = { .cmd = c->name, .rev2 = s->rev2 };
	const struct imap_arg *a = c->args, *ref, *pats;
	size_t na = c->nargs, ndone = 0;
	int lsub = strcmp(c->name, "LSUB") == 0;
	char **done = NULL;

	/* RFC 5258: LIST [(selection)] ref pattern(s) [RETURN (options)] */
	if (!lsub && na > 0 && a[0].type == ARG_LIST) {
		if (list_options(&a[0], &l, 1) < 0)
			goto bad;
		l.extended = 1;
		a++, na--;
	}
	if (!lsub && na == 4 && arg_is(&a[2], "RETURN")) {
		if (list_options(&a[3], &l, 0) < 0)
			goto bad;
		l.extended = 1;
		na = 2;
	}
	if (na != 2 || !arg_astring(&a[0]) || (!arg_astring(&a[1]) && (lsub || a[1].type != ARG_LIST)))
		goto bad;
	ref = &a[0];
	pats = &a[1];
	l.extended |= pats->type == ARG_LIST;
	if (pats->type != ARG_LIST && pats->len == 0 && !lsub) {
		/* the delimiter and root of the hierarchy (RFC 3501 6.3.8) */
		untagged(s, "LIST (\\Noselect) \".\" \"\"");
		reply(s, c->tag, "OK List completed.");
		return;
	}
	for (size_t i = 0; i < (pats->type == ARG_LIST ? pats->nkids : 1); i++) {
		const struct imap_arg *p = pats->type == ARG_LIST ? &pats->kids[i] : pats;
		char full[2 * STORE_NAME_MAX + 16];

		if (!arg_astring(p)) {
			free_names(l.pats, l.npats);
			goto bad;
		}
		snprintf(full, sizeof full, "%s%s", ref->s, p->s);
		l.pats = xrealloc(l.pats, (l.npats + 1) * sizeof *l.pats);
		l.pats[l.npats++] = xstrdup(full);
	}
	l.names = folder_names(s->root, &l.nnames);
	l.subs = read_subs(s->root, &l.nsubs);
	if (lsub) {
		list_names(s, &l, l.subs, l.nsubs, &done, &ndone);
	} else {
		list_names(s, &l, l.names, l.nnames, &done, &ndone);
		if (l.only_subscribed)  /* subscribed names of folders that are gone */
			list_names(s, &l, l.subs, l.nsubs, &done, &ndone);
	}
	free_names(done, ndone);
	free_names(l.pats, l.npats);
	free_names(l.names, l.nnames);
	free_names(l.subs, l.nsubs);
	reply(s, c->tag, "OK %s completed.", lsub ? "Lsub" : "List");
	return;
bad:
	reply(s, c->tag, "BAD %s needs a reference and a mailbox pattern", c->name);
}

/* ---- STATUS ---- */

/* DELETED and DELETED-STORAGE: RFC 9208 5.1, 5.2 require them of a server
 * that announces QUOTA=RES-MESSAGE and QUOTA=RES-STORAGE, as imapd does */
static const char *const status_items[] = { "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY",
	"UNSEEN", "HIGHESTMODSEQ", "DELETED", "DELETED-STORAGE" };
/* IMAP4rev2's (RFC 9051 6.3.11), only once it is enabled */
static const char *const status_items_rev2[] = { "SIZE" };
/* the items that need the folder's messages read */
static const char *const status_items_sizes[] = { "SIZE", "DELETED", "DELETED-STORAGE" };

static int item_in(const struct imap_arg *a, const char *const *v, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (arg_is(a, v[k]))
			return 1;
	return 0;
}

/* Whether one of the list items is in v[0..n). */
static int item_in_list(const struct imap_arg *items, const char *const *v, size_t n)
{
	for (size_t i = 0; i < items->nkids; i++)
		if (item_in(&items->kids[i], v, n))
			return 1;
	return 0;
}

/* Whether items is a non-empty list of STATUS items we know. */
static int status_items_ok(const struct imap_arg *items, int rev2)
{
	if (items->type != ARG_LIST || items->nkids == 0)
		return 0;
	for (size_t i = 0; i < items->nkids; i++)
		if (!item_in(&items->kids[i], status_items, sizeof status_items / sizeof *status_items) &&
		    !(rev2 && item_in(&items->kids[i], status_items_rev2,
		    sizeof status_items_rev2 / sizeof *status_items_rev2)))
			return 0;
	return 1;
}

/* STATUS SIZE, DELETED and DELETED-STORAGE: the octets of the folder's
 * messages, how many have \Deleted, and the KiB an EXPUNGE would give back
 * to the quota (stored sizes, as quota.c counts them; RFC 9208 4.2), from a
 * read-only view of it (no \Recent claimed). */
static void size_deleted(const char *path, const char *name, uint64_t *size, uint64_t *deleted,
    uint64_t *deleted_kib)
{
	struct folder *f = xcalloc(1, sizeof *f);
	uint64_t bytes = 0;

	*size = *deleted = 0;
	if (store_open(f, path, name, 1) == 0 && store_load(f) == 0)
		for (size_t i = 0; i < f->n; i++) {
			uint64_t w;

			if (f->m[i].gone)
				continue;
			*size += w = store_wsize(f, &f->m[i]);
			if (f->m[i].flags & FL_DELETED) {
				(*deleted)++;
				bytes += quota_file_size(f->m[i].base, w);
			}
		}
	store_close(f);
	free(f);
	*deleted_kib = (bytes + 1023) / 1024;
}

/* Send "* STATUS name (items...)" for the folder at path; -1 if it is not
 * a folder. */
static int send_status(struct session *s, const char *name, const char *path,
    const struct imap_arg *items)
{
	struct store_status st;
	struct buf b = { 0 }, line = { 0 };
	uint64_t size = 0, deleted = 0, deleted_kib = 0;

	if (store_status(path, &st, NULL, 0, NULL) < 0)
		return -1;
	if (item_in_list(items, status_items_sizes,
	    sizeof status_items_sizes / sizeof *status_items_sizes))
		size_deleted(path, name, &size, &deleted, &deleted_kib);
	/* \Recent belongs to the session that claimed it: for the folder this
	 * session has selected, count what SELECT and the syncs announced. */
	if (s->state == ST_SELECTED && strcmp(s->sel.path, path) == 0) {
		if (s->sel.lazy)
			st.recent = s->sel.sum.recent;
		else {
			st.recent = 0;
			for (size_t i = 0; i < s->sel.n; i++)
				if ((s->sel.m[i].flags & FL_RECENT) && !s->sel.m[i].gone)
					st.recent++;
		}
	}
	for (size_t i = 0; i < items->nkids; i++) {
		const struct imap_arg *it = &items->kids[i];
		uint64_t v = arg_is(it, "MESSAGES") ? st.messages : arg_is(it, "RECENT") ? st.recent :
		    arg_is(it, "UIDNEXT") ? st.uidnext : arg_is(it, "UIDVALIDITY") ? st.uidvalidity :
		    arg_is(it, "HIGHESTMODSEQ") ? st.highestmodseq : arg_is(it, "SIZE") ? size :
		    arg_is(it, "DELETED") ? deleted : arg_is(it, "DELETED-STORAGE") ? deleted_kib :
		    st.unseen;

		/* STATUS (HIGHESTMODSEQ) enables CONDSTORE (RFC 7162 3.1.8) */
		if (arg_is(it, "HIGHESTMODSEQ"))
			condstore_enable(s);
		buf_printf(&b, "%s%s %llu", i ? " " : "", it->s, (unsigned long long)v);
	}
	for (char *p = b.p; p && *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	buf_adds(&line, "* STATUS ");
	imap_string(&line, name, strlen(name));
	buf_printf(&line, " (%s)\r\n", b.p);
	conn_write(&s->conn, line.p, line.len);
	buf_free(&line);
	buf_free(&b);
	return 0;
}

void cmd_status(struct session *s, struct imap_cmd *c)
{
	char name[STORE_NAME_MAX + 8], path[STORE_PATH_MAX];

	if (c->nargs != 2 || c->args[1].type != ARG_LIST || c->args[1].nkids == 0) {
		reply(s, c->tag, "BAD STATUS needs a mailbox name and a list of items");
		return;
	}
	if (mailbox_arg(s, c->tag, &c->args[0], name, path) < 0)
		return;
	if (!status_items_ok(&c->args[1], s->rev2)) {
		reply(s, c->tag, "BAD Unknown STATUS item");
		return;
	}
	if (send_status(s, name, path, &c->args[1]) < 0) {
		reply(s, c->tag, "NO [NONEXISTENT] Mailbox doesn't exist: %s", name);
		return;
	}
	reply(s, c->tag, "OK Status completed.");
}

/* ---- APPEND ---- */

/* "dd-Mon-yyyy hh:mm:ss +zzzz" (RFC 3501 9 date-time; the day may be one
 * digit, or a space and one digit) into *t; -1 if malformed or not a real
 * time ("31-Feb", "25:61:61", zone "+9959").  The epoch itself is a date
 * like any other. */
static int parse_date_time(const char *s, time_t *t)
{
	struct tm tm = { 0 };
	const char *p = s;
	int day, mon, year, hh, mm, ss, zh, zm, sign;

	if (*p == ' ')
		p++;
	if ((day = imap_digits(&p, 1, 2, NULL)) < 0 || *p++ != '-' || (mon = imap_month(p)) == 0)
		return -1;
	p += 3;
	if (*p++ != '-' || (year = imap_digits(&p, 4, 4, NULL)) < 0 || *p++ != ' ' ||
	    (hh = imap_digits(&p, 2, 2, NULL)) < 0 || *p++ != ':' || (mm = imap_digits(&p, 2, 2, NULL)) < 0 ||
	    *p++ != ':' || (ss = imap_digits(&p, 2, 2, NULL)) < 0 || *p++ != ' ' || (*p != '+' && *p != '-'))
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if ((zh = imap_digits(&p, 2, 2, NULL)) < 0 || (zm = imap_digits(&p, 2, 2, NULL)) < 0 || *p != '\0')
		return -1;
	tm.tm_mon = mon - 1;
	if (!imap_day_ok(year, mon, day) || hh > 23 || mm > 59 || ss > 60 || zh > 23 || zm > 59)
		return -1;
	tm.tm_mday = day;
	tm.tm_year = year - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	*t = timegm(&tm) - sign * (zh * 3600 + zm * 60);
	return 0;
}

/* A message APPENDed as a literal8 with NULs in it, not multipart: its
 * body goes into base64, as Dovecot does, so that BODY[] can still send it
 * (no NUL may go in a literal) and BINARY[] gives the bytes back (RFC 3516
 * 4.2).  A multipart one is kept as it came.  Return the new text in *out
 * (caller frees), or 0 to keep a as it is. */
static int binary_to_base64(const struct imap_arg *a, struct buf *out)
{
	size_t hlen = hdr_length(a->s, a->len, NULL);
	struct hdr_iter it;
	struct hdr_field f;
	struct b64_enc e;

	if (a->literal != 2 || memchr(a->s, '\0', a->len) == NULL)
		return 0;
	hdr_iter_init(&it, a->s, hlen);
	while (hdr_next(&it, &f))
		if (f.name && hdr_is(&f, "Content-Type")) {
			struct buf v = { 0 };
			hdr_unfold(f.value, f.vallen, 0, &v);
			int multi = v.p && strncasecmp(v.p, "multipart/", 10) == 0;
			buf_free(&v);
			if (multi)
				return 0;
		}
	hdr_iter_init(&it, a->s, hlen);
	while (hdr_next(&it, &f))
		if (!(f.name && hdr_is(&f, "Content-Transfer-Encoding")) && f.name)
			buf_add(out, f.raw, f.rawlen);
	buf_adds(out, "Content-Transfer-Encoding: base64\r\n\r\n");
	b64_enc_init(&e, 76, 1);
	size_t room = b64_enc_bound(&e, a->len - hlen) + 8;
	char *enc = xmalloc(room);
	size_t k = b64_enc_update(&e, a->s + hlen, a->len - hlen, enc);
	k += b64_enc_final(&e, enc + k);
	buf_add(out, enc, k);
	free(enc);
	return 1;
}

static int all_known(const uint32_t *uids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (uids[i] == 0)
			return 0;
	return 1;
}

/* One message of APPEND: [flags] [date-time] message, from a[*i]; its
 * flags and date (STORE_DATE_NOW without one) out.  -1 (BAD sent) if not. */
static int append_args(struct session *s, const char *tag, const struct imap_arg *a, size_t n,
    size_t *i, const char *path, unsigned *flags, time_t *date)
{
	*flags = 0;
	*date = STORE_DATE_NOW;
	if (*i < n && a[*i].type == ARG_LIST) {
		if (parse_flags(&a[*i], flags, path, 1) < 0) {
			reply(s, tag, "BAD Invalid flags");
			return -1;
		}
		(*i)++;
	}
	/* a date-time is quoted; a message is a literal (RFC 3501 9) */
	if (*i + 1 < n && a[*i].type == ARG_STRING && !a[*i].literal) {
		if (parse_date_time(a[*i].s, date) < 0) {
			reply(s, tag, "BAD Invalid date-time");
			return -1;
		}
		(*i)++;
	}
	if (*i + 1 < n && arg_is(&a[*i], "CATENATE") && a[*i + 1].type == ARG_LIST) {
		const struct imap_arg *l = &a[++*i];       /* RFC 4469: (TEXT lit / URL "url")... */

		for (size_t k = 0; k < l->nkids; k += 2)
			if (k + 1 >= l->nkids || l->kids[k + 1].type != ARG_STRING ||
			    !(arg_is(&l->kids[k], "TEXT") || arg_is(&l->kids[k], "URL"))) {
				reply(s, tag, "BAD Invalid CATENATE list");
				return -1;
			}
		if (l->nkids == 0) {
			reply(s, tag, "BAD Empty CATENATE list");
			return -1;
		}
		return 0;
	}
	if (*i >= n || a[*i].type != ARG_STRING) {
		reply(s, tag, "BAD APPEND arguments");
		return -1;
	}
	return 0;
}

/* The message of a CATENATE list: its TEXT parts and the parts its URLs
 * name, one after the other, into out.  -1 with *bad the URL that names
 * nothing here. */
static int catenate(struct session *s, const struct imap_arg *l, struct buf *out, const char **bad)
{
	for (size_t k = 0; k + 1 < l->nkids; k += 2) {
		const struct imap_arg *v = &l->kids[k + 1];

		if (arg_is(&l->kids[k], "TEXT")) {
			buf_add(out, v->s, v->len);
		} else if (urlauth_catenate_url(s, v->s, out) < 0) {
			*bad = v->s;
			return -1;
		}
	}
	return 0;
}

/* The URL a client sent, as BADURL may carry it (RFC 4469 6, url-resp-text:
 * no CR, LF or "]"): those bytes, controls, spaces and 8-bit ones are sent
 * %-escaped (RFC 3986 2.1), as a literal's URL may hold any. */
static char *url_resp_text(const char *url)
{
	struct buf b = { 0 };

	for (const unsigned char *p = (const unsigned char *)url; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == ']')
			buf_printf(&b, "%%%02X", *p);
		else
			buf_addc(&b, (char)*p);
	buf_addc(&b, '\0');
	return b.p;
}

/* APPEND, with several messages in one command (MULTIAPPEND, RFC 3502):
 * all are saved or none. */
void cmd_append(struct session *s, struct imap_cmd *c)
{
	char name[STORE_NAME_MAX + 8], path[STORE_PATH_MAX];
	struct store_status st;
	char **bases = NULL;
	unsigned *fl = NULL;
	uint32_t *uids = NULL;
	size_t nb = 0, i = 1;
	int err = 0;
	char *badurl_text = NULL;
	uint64_t quota_bytes = 0;

	if (c->nargs < 2 || (c->args[c->nargs - 1].type != ARG_STRING &&
	    c->args[c->nargs - 1].type != ARG_LIST)) {
		reply(s, c->tag, "BAD APPEND needs a mailbox name and a message");
		return;
	}
	if (mailbox_arg(s, c->tag, &c->args[0], name, path) < 0)
		return;
	/* every message is checked before the first is saved */
	for (size_t k = 1; k < c->nargs; k++, nb++) {
		unsigned flags;
		time_t date;

		if (append_args(s, c->tag, c->args, c->nargs, &k, path, &flags, &date) < 0)
			return;
		if (c->args[k].type == ARG_STRING && c->args[k].len == 0) {
			reply(s, c->tag, "NO Can't save a zero byte message.");
			return;
		}
		if (c->args[k].type == ARG_STRING)
			quota_bytes += quota_stored_size(c->args[k].s, c->args[k].len);
	}
	if (!store_exists(path)) {
		reply(s, c->tag, "NO [TRYCREATE] Mailbox doesn't exist: %s", name);
		return;
	}
	/* RFC 9208 4.3: refused before any is saved, by their stored sizes
	 * (a CATENATE message is not known yet: it counts as a message only) */
	if (quota_over(s, quota_bytes, nb)) {
		reply(s, c->tag, QUOTA_OVER_TEXT);
		return;
	}
	bases = xcalloc(nb, sizeof *bases);
	fl = xcalloc(nb, sizeof *fl);
	uids = xcalloc(nb, sizeof *uids);
	for (size_t k = 0; k < nb && !err; k++, i++) {
		time_t date;
		struct buf conv = { 0 };
		const char *badurl = NULL;

		append_args(s, c->tag, c->args, c->nargs, &i, path, &fl[k], &date);
		if (c->args[i].type == ARG_LIST) {
			if (catenate(s, &c->args[i], &conv, &badurl) < 0) {
				badurl_text = url_resp_text(badurl);
				err = -1;
			} else if (conv.len == 0) {
				err = -2;
			} else {
				bases[k] = store_deliver(path, conv.p, conv.len, fl[k], date);
			}
		} else if (binary_to_base64(&c->args[i], &conv))
			bases[k] = store_deliver(path, conv.p, conv.len, fl[k], date);
		else
			bases[k] = store_deliver(path, c->args[i].s, c->args[i].len, fl[k], date);
		if (bases[k] == NULL && err == 0)
			err = errno ? errno : EIO;
		else if (bases[k] != NULL && nb > 1)    /* UIDs in the order of the messages */
			store_status(path, &st, &bases[k], 1, &uids[k]);
		buf_free(&conv);
	}
	if (!err)
		quota_saved(s, bases, nb);
	if (err) {
		for (size_t k = 0; k < nb; k++)
			if (bases[k])
				store_discard(path, bases[k], fl[k]);
		if (err == -1)
			reply(s, c->tag, "NO [BADURL %s] The URL names no message here.", badurl_text);
		else if (err == -2)
			reply(s, c->tag, "NO Can't save a zero byte message.");
		else
			reply(s, c->tag, "NO [SERVERBUG] Cannot save the message: %s", strerror(err));
	} else if (store_status(path, &st, bases, nb, uids) < 0 || !all_known(uids, nb)) {
		reply(s, c->tag, "OK Append completed.");
	} else {
		struct buf set = { 0 };

		number_set(uids, nb, &set);
		reply(s, c->tag, "OK [APPENDUID %u %s] Append completed.", st.uidvalidity, set.p);
		buf_free(&set);
	}
	for (size_t k = 0; k < nb; k++)
		free(bases[k]);
	free(bases);
	free(fl);
	free(uids);
	free(badurl_text);
}

/* ---- CHECK / CLOSE / UNSELECT / EXPUNGE ---- */

void cmd_check(struct session *s, struct imap_cmd *c)
{
	reply(s, c->tag, "OK Check completed.");
}

static void expunge_deleted(struct session *s, const struct seqset *uids)
{
	for (size_t i = 0; i < s->sel.n; i++) {
		struct msg *m = &s->sel.m[i];

		if ((m->flags & FL_DELETED) && !m->gone &&
		    (uids == NULL || seqset_has(uids, m->uid, s->sel.n ? s->sel.m[s->sel.n - 1].uid : 0)))
			store_unlink(&s->sel, m);
	}
}

void cmd_close(struct session *s, struct imap_cmd *c)
{
	if (c->nargs) {
		reply(s, c->tag, "BAD %s takes no arguments", c->name);
		return;
	}
	/* CLOSE expunges silently (RFC 3501 6.4.2); UNSELECT does not (RFC 3691) */
	if (strcmp(c->name, "CLOSE") == 0 && !s->sel.readonly)
		expunge_deleted(s, NULL);
	deselect(s);
	reply(s, c->tag, "OK %s completed.", strcmp(c->name, "CLOSE") == 0 ? "Close" : "Unselect");
}

void cmd_expunge(struct session *s, struct imap_cmd *c)
{
	struct seqset set;

	if (c->nargs != (size_t)(s->uid ? 1 : 0) || (s->uid && c->args[0].type != ARG_ATOM)) {
		reply(s, c->tag, "BAD %sEXPUNGE arguments", s->uid ? "UID " : "");
		return;
	}
	if (s->sel.readonly) {
		reply(s, c->tag, "NO [READ-ONLY] Mailbox is read-only.");
		return;
	}
	if (s->uid && arg_is(&c->args[0], "$")) {
		/* the saved search result (RFC 5182), as a UID set; empty: none */
		struct buf u = { 0 };

		number_set(s->saved, s->nsaved, &u);
		if (s->nsaved > 0 && seqset_parse(u.p, &set) == 0) {
			expunge_deleted(s, &set);
			seqset_free(&set);
		}
		buf_free(&u);
	} else if (s->uid) {
		if (seqset_parse(c->args[0].s, &set) < 0) {
			reply(s, c->tag, "BAD Invalid UID set");
			return;
		}
		expunge_deleted(s, &set);
		seqset_free(&set);
	} else {
		expunge_deleted(s, NULL);
	}
	if (s->condstore) {
		/* the HIGHESTMODSEQ after the expunge (RFC 7162 3.2.10) */
		send_updates(s, 1);
		reply(s, c->tag, "OK [HIGHESTMODSEQ %llu] Expunge completed.",
		    (unsigned long long)s->sel.highestmodseq);
		return;
	}
	reply(s, c->tag, "OK Expunge completed.");
}

/* ---- for NOTIFY (notify.c) ---- */

char **folders_names(const char *root, size_t *n)
{
	return folder_names(root, n);
}

char **folders_subscribed(const char *root, size_t *n)
{
	return read_subs(root, n);
}
