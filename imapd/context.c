/* context.c — updating searches: SEARCH and SORT with RETURN (UPDATE) and
 * CANCELUPDATE (RFC 5267 4.3, CONTEXT=SEARCH and CONTEXT=SORT).
 *
 * Each updating search keeps its compiled criteria and its result as UIDs.
 * The session keeps one picture of the view as the client knows it (UID
 * and flags of each message, taken after every batch of untagged updates).
 * After the next sync or command, only the messages that are new or whose
 * flags differ from that picture are matched again (the other keys look at
 * what never changes: headers, text, dates, sizes), unless the criteria
 * name sequence numbers or UID sets, whose meaning moves with the view.
 *
 * Changes go out as "* ESEARCH (TAG "t") [UID] ADDTO (pos set)" and
 * REMOVEFROM.  A SEARCH result has no order: its position is 0.  A SORT
 * result gives each message's place in the sorted result.  A message
 * expunged is removed before its EXPUNGE response, with the sequence number
 * the client still knows it by. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "imapd.h"
#include "limits.h"

struct live {
	char    *tag;
	int      uid;           /* UID SEARCH/SORT: changes named by UID */
	struct search_key *key;
	struct sort_program *sort;   /* NULL: a SEARCH, its result in UID order */
	uint32_t *res;          /* UIDs of the result, in its order */
	size_t   nres;
};

struct context {
	struct live live[IMAP_UPDATES_MAX];
	size_t   n;
	uint32_t *uid;          /* the view as the client knows it */
	unsigned *flags;
	size_t   nview;
};

static void live_free(struct live *l)
{
	free(l->tag);
	search_key_free(l->key);
	sort_program_free(l->sort);
	free(l->res);
	memset(l, 0, sizeof *l);
}

/* Index of uid in the ascending v[0..n), or -1. */
static long find_uid(const uint32_t *v, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] == uid)
			return (long)mid;
		if (v[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static long view_index(const struct folder *f, uint32_t uid)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->m[mid].uid == uid)
			return (long)mid;
		if (f->m[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void snapshot(struct session *s)
{
	struct context *c = s->ctx;

	c->uid = xrealloc(c->uid, (s->sel.n ? s->sel.n : 1) * sizeof *c->uid);
	c->flags = xrealloc(c->flags, (s->sel.n ? s->sel.n : 1) * sizeof *c->flags);
	for (size_t i = 0; i < s->sel.n; i++) {
		c->uid[i] = s->sel.m[i].uid;
		c->flags[i] = s->sel.m[i].flags;
	}
	c->nview = s->sel.n;
}

/* "* ESEARCH (TAG "t") [UID] what (pos set)" */
static void send_change(struct session *s, const struct live *l, const char *what, size_t pos,
    const uint32_t *v, size_t n)
{
	struct buf out = { 0 };

	if (n == 0)
		return;
	buf_adds(&out, "* ESEARCH (TAG ");
	imap_string(&out, l->tag, strlen(l->tag));
	buf_printf(&out, ")%s %s (%zu ", l->uid ? " UID" : "", what, pos);
	number_set(v, n, &out);
	buf_adds(&out, ")\r\n");
	conn_write(&s->conn, out.p, out.len);
	buf_free(&out);
}

/* The number the client knows message uid by: its UID, or its sequence
 * number in the view (before, the picture the client has). */
static uint32_t number(const struct session *s, const struct live *l, uint32_t uid, int before)
{
	long i = before ? find_uid(s->ctx->uid, s->ctx->nview, uid) : view_index(&s->sel, uid);

	return l->uid ? uid : (uint32_t)(i + 1);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Take out of l's result the messages of leaving[0..nleaving) (ascending
 * UIDs), or with leaving NULL those gone from the view, announcing them
 * (numbered as the client knew them before the sync, or as it knows them
 * now). */
static void remove_where(struct session *s, struct live *l, const uint32_t *leaving,
    size_t nleaving, int before)
{
	uint32_t *gone = xcalloc(l->nres ? l->nres : 1, sizeof *gone);
	size_t ngone = 0, k = 0;

	for (size_t i = 0; i < l->nres; i++) {
		int drop = leaving ? bsearch(&l->res[i], leaving, nleaving, sizeof *leaving, cmp_u32) != NULL
		    : view_index(&s->sel, l->res[i]) < 0;

		if (!drop) {
			l->res[k++] = l->res[i];
			continue;
		}
		if (l->sort)    /* its place in the result as the client has it now */
			send_change(s, l, "REMOVEFROM", k + 1, &(uint32_t){ number(s, l, l->res[i], before) }, 1);
		else
			gone[ngone++] = number(s, l, l->res[i], before);
	}
	l->nres = k;
	send_change(s, l, "REMOVEFROM", 0, gone, ngone);
	free(gone);
}

void context_expunging(struct session *s)
{
	if (s->ctx == NULL)
		return;
	for (size_t i = 0; i < s->ctx->n; i++)
		remove_where(s, &s->ctx->live[i], NULL, 0, 1);
}

/* Whether the view's membership (or, with flags, any flag) changed since
 * the picture. */
static int view_moved(const struct session *s, int flags)
{
	if (s->ctx->nview != s->sel.n)
		return 1;
	for (size_t i = 0; i < s->sel.n; i++)
		if (s->ctx->uid[i] != s->sel.m[i].uid || (flags && s->ctx->flags[i] != s->sel.m[i].flags))
			return 1;
	return 0;
}

/* Whether message i of the view may have changed how it matches. */
static int touched(const struct session *s, size_t i, int all)
{
	long j = find_uid(s->ctx->uid, s->ctx->nview, s->sel.m[i].uid);

	return all || j < 0 || s->ctx->flags[j] != s->sel.m[i].flags;
}

/* A SORT's new members take their places: the whole result is sorted
 * again (keys never change, so members already there keep their order). */
static void add_sorted(struct session *s, struct live *l, const uint32_t *add, size_t nadd)
{
	size_t n = l->nres + nadd, *idx = xcalloc(n ? n : 1, sizeof *idx);
	size_t k = 0;

	for (size_t i = 0; i < l->nres; i++)
		idx[k++] = (size_t)view_index(&s->sel, l->res[i]);
	for (size_t i = 0; i < nadd; i++)
		idx[k++] = (size_t)view_index(&s->sel, add[i]);
	sort_indexes(s, l->sort, idx, n);
	l->res = xrealloc(l->res, (n ? n : 1) * sizeof *l->res);
	for (size_t i = 0; i < n; i++) {
		uint32_t uid = s->sel.m[idx[i]].uid;

		l->res[i] = uid;
		if (bsearch(&uid, add, nadd, sizeof *add, cmp_u32) != NULL)
			send_change(s, l, "ADDTO", i + 1, &(uint32_t){ number(s, l, uid, 0) }, 1);
	}
	l->nres = n;
	free(idx);
}

static void add_unsorted(struct session *s, struct live *l, const uint32_t *add, size_t nadd)
{
	uint32_t *num = xcalloc(nadd ? nadd : 1, sizeof *num);

	l->res = xrealloc(l->res, (l->nres + nadd ? l->nres + nadd : 1) * sizeof *l->res);
	memcpy(l->res + l->nres, add, nadd * sizeof *add);
	l->nres += nadd;
	qsort(l->res, l->nres, sizeof *l->res, cmp_u32);
	for (size_t i = 0; i < nadd; i++)
		num[i] = number(s, l, add[i], 0);
	send_change(s, l, "ADDTO", 0, num, nadd);
	free(num);
}

static void refresh_one(struct session *s, struct live *l, int all)
{
	uint32_t *add = xcalloc(s->sel.n ? s->sel.n : 1, sizeof *add);
	uint32_t *out = xcalloc(s->sel.n ? s->sel.n : 1, sizeof *out);
	uint32_t *members;      /* the result by UID, to look messages up in */
	size_t nadd = 0, nout = 0;

	remove_where(s, l, NULL, 0, 1);     /* gone without an EXPUNGE seen here */
	members = l->res;
	if (l->sort) {
		members = xcalloc(l->nres ? l->nres : 1, sizeof *members);
		memcpy(members, l->res, l->nres * sizeof *members);
		qsort(members, l->nres, sizeof *members, cmp_u32);
	}
	for (size_t i = 0; i < s->sel.n; i++) {
		uint32_t uid = s->sel.m[i].uid;
		int was, is;

		if (!touched(s, i, all))
			continue;
		was = find_uid(members, l->nres, uid) >= 0;
		is = !s->sel.m[i].gone && search_match(s, l->key, i);
		if (is && !was)
			add[nadd++] = uid;
		else if (was && !is)
			out[nout++] = uid;
	}
	if (members != l->res)
		free(members);
	if (nout > 0)
		remove_where(s, l, out, nout, 0);       /* out: ascending, as the view */
	if (nadd > 0 && l->sort)
		add_sorted(s, l, add, nadd);
	else if (nadd > 0)
		add_unsorted(s, l, add, nadd);
	free(add);
	free(out);
}

void context_refresh(struct session *s)
{
	int all;

	if (s->ctx == NULL || s->ctx->n == 0 || !view_moved(s, 1))
		return;         /* the common case: nothing new since the last command */
	all = view_moved(s, 0);
	for (size_t i = 0; i < s->ctx->n; i++)
		refresh_one(s, &s->ctx->live[i], all && search_key_volatile(s->ctx->live[i].key));
	snapshot(s);
}

static long find_tag(const struct context *c, const char *tag)
{
	for (size_t i = 0; c && i < c->n; i++)
		if (strcmp(c->live[i].tag, tag) == 0)
			return (long)i;
	return -1;
}

static void drop_live(struct context *c, size_t i)
{
	live_free(&c->live[i]);
	c->live[i] = c->live[--c->n];
	memset(&c->live[c->n], 0, sizeof c->live[c->n]);
}

int context_has(const struct session *s, const char *tag)
{
	return find_tag(s->ctx, tag) >= 0;
}

int context_add(struct session *s, const char *tag, struct search_key *k, struct sort_program *p,
    const size_t *hits, size_t n)
{
	struct live *l;

	if (s->ctx == NULL)
		s->ctx = xcalloc(1, sizeof *s->ctx);
	if (s->ctx->n >= IMAP_UPDATES_MAX) {
		/* the result stands; only its updates are refused (RFC 5267 4.3.1) */
		struct buf b = { 0 };

		imap_string(&b, tag, strlen(tag));
		buf_addc(&b, '\0');
		untagged(s, "NO [NOUPDATE %s] Too many updating searches; CANCELUPDATE one first", b.p);
		buf_free(&b);
		return -1;
	}
	context_refresh(s);     /* the others catch up with the view the result is of */
	l = &s->ctx->live[s->ctx->n++];
	l->tag = xstrdup(tag);
	l->uid = s->uid;
	l->key = k;
	l->sort = p;
	l->res = xcalloc(n ? n : 1, sizeof *l->res);
	for (size_t i = 0; i < n; i++)
		l->res[i] = s->sel.m[hits[i]].uid;
	l->nres = n;
	snapshot(s);
	return 0;
}

void context_clear(struct session *s)
{
	if (s->ctx == NULL)
		return;
	while (s->ctx->n > 0)
		drop_live(s->ctx, s->ctx->n - 1);
	free(s->ctx->uid);
	free(s->ctx->flags);
	free(s->ctx);
	s->ctx = NULL;
}

void cmd_cancelupdate(struct session *s, struct imap_cmd *c)
{
	if (c->nargs == 0) {
		reply(s, c->tag, "BAD CANCELUPDATE needs the tags of updating searches");
		return;
	}
	for (size_t i = 0; i < c->nargs; i++) {
		const struct imap_arg *a = &c->args[i];

		if (arg_astring(a) && find_tag(s->ctx, a->s) >= 0)
			continue;
		/* named back only if it can be a tag: a literal may hold a CRLF,
		 * which would end this reply and begin one the client wrote */
		if (arg_astring(a) && imap_is_tag(a->s, a->len))
			reply(s, c->tag, "BAD No updating search with tag %s", a->s);
		else
			reply(s, c->tag, "BAD No updating search with that tag");
		return;
	}
	for (size_t i = 0; i < c->nargs; i++) {
		long k = find_tag(s->ctx, c->args[i].s);

		if (k >= 0)
			drop_live(s->ctx, (size_t)k);
	}
	reply(s, c->tag, "OK Updates canceled.");
}
