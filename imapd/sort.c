/* sort.c — SORT (RFC 5256, with SORT=DISPLAY of RFC 5957) and THREAD
 * (ORDEREDSUBJECT and REFERENCES, RFC 5256) and their UID forms.
 *
 * The messages the search criteria select get their sort keys once (one
 * look at each file for the header keys, none when the header cache of
 * hcache.c has its fields from an earlier command), then are sorted with the
 * sequence number as the last key, so the order is total and stable. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "err.h"
#include "header.h"
#include "imapd.h"
#include "rfc2047.h"

#define SORT_KEYS_MAX 16        /* keys in one SORT program: each is used once */
#define THREAD_DEPTH_MAX 1000   /* a reference chain deeper than this is cut: the tree is
                                 * walked recursively, and each link looks up the chain */

enum skind {
	SK_ARRIVAL, SK_CC, SK_DATE, SK_FROM, SK_SIZE, SK_SUBJECT, SK_TO, SK_DISPLAYFROM,
	SK_DISPLAYTO
};

static const struct { const char *name; enum skind kind; } sort_keys[] = {
	{ "ARRIVAL", SK_ARRIVAL }, { "CC", SK_CC }, { "DATE", SK_DATE }, { "FROM", SK_FROM },
	{ "SIZE", SK_SIZE }, { "SUBJECT", SK_SUBJECT }, { "TO", SK_TO },
	{ "DISPLAYFROM", SK_DISPLAYFROM }, { "DISPLAYTO", SK_DISPLAYTO },
};

struct skey_use {
	enum skind kind;
	int reverse;
};

/* What a message is sorted or threaded by. */
struct item {
	size_t   idx;           /* into the folder's view */
	time_t   sent, arrival;
	uint64_t size;
	char    *text[SK_DISPLAYTO + 1];   /* string keys, upper-cased (i;ascii-casemap) */
	char    *msgid, *refs;  /* REFERENCES: Message-ID, References / In-Reply-To */
	int      reply;         /* the subject had a "Re:", "Fwd:" or "(fwd)" */
};

/* ---- keys ---- */

static void upcase(char *p)
{
	for (; *p; p++)
		*p = (char)toupper((unsigned char)*p);
}

/* The unfolded, RFC 2047 decoded value of field name ("" if absent). */
static char *field_text(const char *hdr, size_t hlen, const char *name, int decode)
{
	struct buf raw = { 0 }, dec = { 0 };

	hdr_get(hdr, hlen, name, &raw);
	if (!decode)
		return raw.p ? buf_take(&raw) : xstrdup("");
	rfc2047_decode(raw.p ? raw.p : "", raw.len, &dec);
	buf_free(&raw);
	return dec.p ? buf_take(&dec) : xstrdup("");
}

/* FROM/TO/CC: the mailbox (local part) of the first address, or the name
 * of a group that comes first, as ENVELOPE gives it.  DISPLAY*: the
 * decoded display name, or else the address "local@domain" (RFC 5957). */
static char *address_key(const char *hdr, size_t hlen, const char *name, int display)
{
	struct buf raw = { 0 }, b = { 0 };
	struct addr_list l = { 0 };

	if (hdr_get(hdr, hlen, name, &raw))
		addr_parse(raw.p, raw.len, &l);
	if (l.n > 0) {
		const struct addr *a = &l.v[0];

		if (a->kind == ADDR_GROUP)
			buf_adds(&b, a->name ? a->name : "");
		else if (display && a->name && *a->name)
			rfc2047_decode(a->name, strlen(a->name), &b);
		else if (display)
			addr_spec(a, &b);
		else
			buf_adds(&b, a->local ? a->local : "");
	}
	addr_list_free(&l);
	buf_free(&raw);
	return b.p ? buf_take(&b) : xstrdup("");
}

/* Remove from the end of s every "(fwd)" and white space (RFC 5256 2.1,
 * step 2); return whether a "(fwd)" was removed. */
static int strip_trailer(char *s)
{
	size_t n = strlen(s);
	int fwd = 0;

	for (;;) {
		while (n > 0 && s[n - 1] == ' ')
			n--;
		if (n >= 5 && strncasecmp(s + n - 5, "(FWD)", 5) == 0)
			n -= 5, fwd = 1;
		else
			break;
	}
	s[n] = '\0';
	return fwd;
}

/* A subj-blob "[...]" followed by white space at p: its length, or 0. */
static size_t blob_len(const char *p)
{
	size_t n = 1;

	if (*p != '[')
		return 0;
	while (p[n] && p[n] != '[' && p[n] != ']')
		n++;
	if (p[n] != ']')
		return 0;
	n++;
	while (p[n] == ' ')
		n++;
	return n;
}

/* A subj-leader at p: (blob)* ("RE" / "FW" / "FWD") [blob] ":" and white
 * space; its length, or 0. */
static size_t leader_len(const char *p)
{
	static const char *const refwd[] = { "RE", "FWD", "FW" };
	size_t n = 0, k;

	while ((k = blob_len(p + n)) > 0)
		n += k;
	for (size_t i = 0; i < 3; i++) {
		size_t len = strlen(refwd[i]), m = n + len;

		if (strncasecmp(p + n, refwd[i], len) != 0)
			continue;
		while (p[m] == ' ')
			m++;
		m += blob_len(p + m);
		if (p[m] != ':')
			continue;
		m++;
		while (p[m] == ' ')
			m++;
		return m;
	}
	return 0;
}

/* The base subject of RFC 5256 2.1, upper-cased; *reply set when a leader
 * or trailer was removed (a reply or a forward, for REFERENCES). */
static char *base_subject(const char *hdr, size_t hlen, int *reply)
{
	char *s = field_text(hdr, hlen, "Subject", 1), *d = s;
	int any = 0;

	/* step 1: runs of white space become one space */
	for (const char *p = s; *p; p++) {
		if (*p == '\t' || *p == '\r' || *p == '\n' || *p == ' ') {
			if (d > s && d[-1] == ' ')
				continue;
			*d++ = ' ';
		} else {
			*d++ = *p;
		}
	}
	*d = '\0';
	for (;;) {
		any |= strip_trailer(s);
		for (;;) {         /* steps 3 to 5 */
			size_t k = leader_len(s), b;

			if (k == 0 && (b = blob_len(s)) > 0 && s[b] != '\0')
				k = b;          /* a blob alone goes if something is left */
			else if (k > 0)
				any = 1;
			if (k == 0)
				break;
			memmove(s, s + k, strlen(s + k) + 1);
		}
		size_t n = strlen(s);   /* step 6: "[fwd: ... ]" */
		if (n >= 6 && strncasecmp(s, "[FWD:", 5) == 0 && s[n - 1] == ']') {
			s[n - 1] = '\0';
			memmove(s, s + 5, n - 5);
			while (*s == ' ')
				memmove(s, s + 1, strlen(s));
			any = 1;
			continue;
		}
		break;
	}
	while (*s == ' ')
		memmove(s, s + 1, strlen(s));
	upcase(s);
	if (reply)
		*reply = any;
	return s;
}

/* The time of a Date: field into *t; -1 if it cannot be read. */
static int parse_sent(const char *v, time_t *t)
{
	struct sent_date d;
	struct tm tm = { 0 };

	if (imap_sent_date(v, &d) < 0)
		return -1;
	tm.tm_year = d.year - 1900;
	tm.tm_mon = d.month - 1;
	tm.tm_mday = d.day;
	tm.tm_hour = d.hh;
	tm.tm_min = d.mm;
	tm.tm_sec = d.ss;
	*t = timegm(&tm) - (time_t)d.zone * 60;
	return 0;
}

/* Fill it for message idx: the keys wanted in want (bits of 1 << SK_*),
 * with refs the REFERENCES threading fields too. */
static void load_item(struct session *s, struct item *it, size_t idx, unsigned want, int refs)
{
	struct msg *m = &s->sel.m[idx];
	struct hview hv;
	const char *d;
	size_t hlen;

	memset(it, 0, sizeof *it);
	it->idx = idx;
	it->arrival = store_date(&s->sel, m);
	it->sent = it->arrival;
	if (want & (1u << SK_SIZE))
		it->size = store_wsize(&s->sel, m);
	if (!(want & ~((1u << SK_SIZE) | (1u << SK_ARRIVAL))) && !refs)
		return;
	/* every field read below is one the header cache keeps */
	if (store_headers(&s->sel, m, s->o->header_cache, &hv) == 0)
		d = hv.p, hlen = hv.len;
	else
		d = "", hlen = 0;
	if (want & (1u << SK_DATE)) {
		struct buf v = { 0 };
		time_t t;

		if (hdr_get(d, hlen, "Date", &v) && parse_sent(v.p, &t) == 0)
			it->sent = t;
		buf_free(&v);
	}
	if (want & (1u << SK_SUBJECT))
		it->text[SK_SUBJECT] = base_subject(d, hlen, &it->reply);
	static const struct { enum skind kind; const char *field; int display; } addrs[] = {
		{ SK_FROM, "From", 0 }, { SK_TO, "To", 0 }, { SK_CC, "Cc", 0 },
		{ SK_DISPLAYFROM, "From", 1 }, { SK_DISPLAYTO, "To", 1 },
	};
	for (size_t i = 0; i < sizeof addrs / sizeof *addrs; i++)
		if (want & (1u << addrs[i].kind)) {
			it->text[addrs[i].kind] = address_key(d, hlen, addrs[i].field, addrs[i].display);
			upcase(it->text[addrs[i].kind]);
		}
	if (refs) {
		it->msgid = field_text(d, hlen, "Message-ID", 0);
		it->refs = field_text(d, hlen, "References", 0);
		if (*it->refs == '\0') {
			free(it->refs);
			it->refs = field_text(d, hlen, "In-Reply-To", 0);
		}
	}
	store_headers_done(&hv);
}

static void free_items(struct item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k <= SK_DISPLAYTO; k++)
			free(v[i].text[k]);
		free(v[i].msgid);
		free(v[i].refs);
	}
	free(v);
}

/* ---- a table of strings to numbers, for grouping by base subject ---- */

struct strtab {
	const char **key;
	size_t *val;
	size_t mask;
};

static size_t hash_str(const char *s)
{
	size_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void strtab_init(struct strtab *t, size_t n)
{
	t->mask = 1;
	while (t->mask < 2 * n + 16)
		t->mask <<= 1;
	t->key = xcalloc(t->mask, sizeof *t->key);
	t->val = xcalloc(t->mask, sizeof *t->val);
	t->mask--;
}

/* The slot of key: t->key[slot] is NULL if it is not in the table yet. */
static size_t strtab_slot(const struct strtab *t, const char *key)
{
	size_t h = hash_str(key) & t->mask;

	while (t->key[h] && strcmp(t->key[h], key) != 0)
		h = (h + 1) & t->mask;
	return h;
}

static void strtab_free(struct strtab *t)
{
	free(t->key);
	free(t->val);
}

/* ---- SORT ---- */

struct program {
	struct skey_use k[SORT_KEYS_MAX];
	size_t n;
};

static int compare_key(const struct item *a, const struct item *b, enum skind k)
{
	switch (k) {
	case SK_ARRIVAL: return a->arrival < b->arrival ? -1 : a->arrival > b->arrival;
	case SK_DATE: return a->sent < b->sent ? -1 : a->sent > b->sent;
	case SK_SIZE: return a->size < b->size ? -1 : a->size > b->size;
	default: return strcmp(a->text[k], b->text[k]);
	}
}

static int compare_items(const void *x, const void *y, void *ctx)
{
	const struct program *p = ctx;
	const struct item *a = x, *b = y;

	for (size_t i = 0; i < p->n; i++) {
		int c = compare_key(a, b, p->k[i].kind);

		if (c != 0)
			return p->k[i].reverse ? -c : c;
	}
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int parse_program(const struct imap_arg *a, struct program *p)
{
	int reverse = 0;

	p->n = 0;
	if (a->type != ARG_LIST || a->nkids == 0)
		return -1;
	for (size_t i = 0; i < a->nkids; i++) {
		size_t k;

		if (arg_is(&a->kids[i], "REVERSE")) {
			reverse = 1;
			continue;
		}
		for (k = 0; k < sizeof sort_keys / sizeof *sort_keys; k++)
			if (arg_is(&a->kids[i], sort_keys[k].name))
				break;
		if (k == sizeof sort_keys / sizeof *sort_keys || p->n == SORT_KEYS_MAX)
			return -1;
		p->k[p->n].kind = sort_keys[k].kind;
		p->k[p->n++].reverse = reverse;
		reverse = 0;
	}
	return reverse ? -1 : 0;
}

/* The criteria after the charset: SORT/THREAD's common part.  Return the
 * matching indexes, or -1 with the reply sent. */
static int select_messages(struct session *s, struct imap_cmd *c, size_t first, size_t **hits,
    size_t *n)
{
	if (c->nargs < first + 2) {
		reply(s, c->tag, "BAD %s needs a charset and search criteria", c->name);
		return -1;
	}
	if (search_charset(s, c->tag, &c->args[first], c->args + first + 1,
	    c->nargs - first - 1) < 0)
		return -1;
	if (search_run(s, c->args + first + 1, c->nargs - first - 1, hits, n) < 0) {
		reply(s, c->tag, "BAD Invalid search criteria");
		return -1;
	}
	return 0;
}

static uint32_t number_of(const struct session *s, size_t idx)
{
	return s->uid ? s->sel.m[idx].uid : (uint32_t)idx + 1;
}

struct sort_program {
	struct program p;
};

void sort_program_free(struct sort_program *p)
{
	free(p);
}

void sort_indexes(struct session *s, const struct sort_program *sp, size_t *idx, size_t n)
{
	struct item *v = xcalloc(n ? n : 1, sizeof *v);
	unsigned want = 0;

	for (size_t i = 0; i < sp->p.n; i++)
		want |= 1u << sp->p.k[i].kind;
	for (size_t i = 0; i < n; i++)
		load_item(s, &v[i], idx[i], want, 0);
	qsort_r(v, n, sizeof *v, compare_items, (void *)&sp->p);
	for (size_t i = 0; i < n; i++)
		idx[i] = v[i].idx;
	free_items(v, n);
}

static void sort_reply(struct session *s, const char *tag, const struct retopts *r,
    const size_t *idx, size_t n)
{
	uint32_t *num = xcalloc(n ? n : 1, sizeof *num);
	struct buf out = { 0 };

	for (size_t i = 0; i < n; i++)
		num[i] = number_of(s, idx[i]);
	if (r->ret) {
		esearch_reply(s, tag, r, num, n);
	} else {
		buf_adds(&out, "* SORT");
		for (size_t i = 0; i < n; i++)
			buf_printf(&out, " %u", num[i]);
		buf_adds(&out, "\r\n");
		conn_write(&s->conn, out.p, out.len);
		buf_free(&out);
	}
	free(num);
}

void cmd_sort(struct session *s, struct imap_cmd *c)
{
	struct sort_program *sp = xcalloc(1, sizeof *sp);
	struct search_key *k = NULL;
	struct retopts r = { 0 };
	size_t first = 0, *hits = NULL, n = 0;

	if (c->nargs >= 2 && arg_is(&c->args[0], "RETURN")) {       /* ESORT, RFC 5267 */
		if (search_return_options(&c->args[1], &r) < 0) {
			reply(s, c->tag, "BAD Invalid SORT RETURN options");
			goto done;
		}
		first = 2;
	}
	if (c->nargs < first + 1 || parse_program(&c->args[first], &sp->p) < 0) {
		reply(s, c->tag, "BAD Invalid SORT program");
		goto done;
	}
	if ((r.ret & RET_UPDATE) && context_has(s, c->tag)) {
		reply(s, c->tag, "BAD An updating search has this tag already");
		goto done;
	}
	if (c->nargs < first + 3) {
		reply(s, c->tag, "BAD %s needs a charset and search criteria", c->name);
		goto done;
	}
	if (search_charset(s, c->tag, &c->args[first + 1], c->args + first + 2,
	    c->nargs - first - 2) < 0)
		goto done;
	if ((k = search_compile(c->args + first + 2, c->nargs - first - 2)) == NULL) {
		reply(s, c->tag, "BAD Invalid search criteria");
		goto done;
	}
	hits = xcalloc(s->sel.n ? s->sel.n : 1, sizeof *hits);
	for (size_t i = 0; i < s->sel.n; i++)
		if (search_match(s, k, i))
			hits[n++] = i;
	sort_indexes(s, sp, hits, n);
	sort_reply(s, c->tag, &r, hits, n);
	if ((r.ret & RET_UPDATE) && context_add(s, c->tag, k, sp, hits, n) == 0) {
		k = NULL;       /* the context's now */
		sp = NULL;
	}
	reply(s, c->tag, "OK Sort completed.");
done:
	search_key_free(k);
	sort_program_free(sp);
	free(hits);
}

/* ---- THREAD ---- */

/* A thread tree: nodes with their first child and next sibling; msg is
 * the index into the items, or -1 for a dummy (a message only referred to). */
struct node {
	long   msg;
	size_t child, next, parent;     /* node numbers + 1; 0: none */
	time_t date;            /* the date the thread sorts by */
	size_t seq;
	char  *id;
};

/* "(a b (c)(d))": a node with one child continues the same list; with
 * several, each child is a list of its own (RFC 5256 4). */
static void print_thread(const struct session *s, const struct item *it, const struct node *nd,
    size_t k, struct buf *out, int open)
{
	if (open)
		buf_addc(out, '(');
	for (;;) {
		const struct node *x = &nd[k - 1];

		if (x->msg >= 0)
			buf_printf(out, "%s%u", out->p[out->len - 1] == '(' ? "" : " ",
			    number_of(s, it[x->msg].idx));
		if (x->child == 0)
			break;
		if (nd[x->child - 1].next == 0) {
			k = x->child;
			continue;
		}
		if (x->msg >= 0)
			buf_addc(out, ' ');
		for (size_t c = x->child; c; c = nd[c - 1].next)
			print_thread(s, it, nd, c, out, 1);
		break;
	}
	if (open)
		buf_addc(out, ')');
}

static int cmp_sent(const void *x, const void *y)
{
	const struct item *a = x, *b = y;

	if (a->sent != b->sent)
		return a->sent < b->sent ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* ORDEREDSUBJECT: messages grouped by base subject, each group in sent
 * order under its first message, the groups in the order of their first. */
static void thread_subject(const struct session *s, struct item *v, size_t n, struct buf *out)
{
	struct node *nd = xcalloc(n ? n : 1, sizeof *nd);
	size_t *first = xcalloc(n ? n : 1, sizeof *first), nfirst = 0;
	size_t *last = xcalloc(n ? n : 1, sizeof *last);        /* last child of each root */
	struct strtab t;

	qsort(v, n, sizeof *v, cmp_sent);
	strtab_init(&t, n);
	for (size_t i = 0; i < n; i++) {
		size_t h = strtab_slot(&t, v[i].text[SK_SUBJECT]), root;

		nd[i].msg = (long)i;
		if (t.key[h] == NULL) {
			t.key[h] = v[i].text[SK_SUBJECT];
			t.val[h] = i + 1;
			first[nfirst++] = i + 1;
			continue;
		}
		root = t.val[h];        /* append as the last child of the root */
		if (last[root - 1])
			nd[last[root - 1] - 1].next = i + 1;
		else
			nd[root - 1].child = i + 1;
		last[root - 1] = i + 1;
	}
	for (size_t k = 0; k < nfirst; k++)
		print_thread(s, v, nd, first[k], out, 1);
	strtab_free(&t);
	free(last);
	free(first);
	free(nd);
}

/* ---- THREAD=REFERENCES (RFC 5256 4, after Jamie Zawinski's algorithm) ---- */

struct forest {
	struct node *nd;
	size_t n, cap;
	size_t *slot;           /* hash of message IDs: node number, 0 empty */
	size_t mask;
};

static size_t new_node(struct forest *f, long msg)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->nd = xrealloc(f->nd, f->cap * sizeof *f->nd);
	}
	memset(&f->nd[f->n], 0, sizeof *f->nd);
	f->nd[f->n].msg = msg;
	return ++f->n;
}

/* The node of message ID id, made (as a dummy) if unknown; *made tells. */
static size_t id_node(struct forest *f, const char *id, int *made)
{
	size_t h = hash_str(id) & f->mask;

	*made = 0;
	for (; f->slot[h]; h = (h + 1) & f->mask)
		if (strcmp(f->nd[f->slot[h] - 1].id, id) == 0)
			return f->slot[h];
	size_t k = new_node(f, -1);
	f->nd[k - 1].id = xstrdup(id);
	f->slot[h] = k;
	*made = 1;
	return k;
}

/* The next "<...>" message ID of *p (advanced past it), in buf; 0 at the end. */
static int next_id(const char **p, char *buf, size_t cap)
{
	const char *lt, *gt;

	while ((lt = strchr(*p, '<')) != NULL) {
		if ((gt = strchr(lt + 1, '>')) == NULL)
			return 0;
		*p = gt + 1;
		size_t n = (size_t)(gt - lt + 1);
		if (n > 2 && n < cap && memchr(lt + 1, '<', n - 2) == NULL && memchr(lt, '@', n) != NULL) {
			memcpy(buf, lt, n);
			buf[n] = '\0';
			return 1;
		}
	}
	return 0;
}

/* Whether a is b or one of its ancestors, or b is too deep to take a
 * child (a link under it is refused either way). */
static int is_ancestor(const struct forest *f, size_t a, size_t b)
{
	size_t depth = 0;

	for (size_t k = b; k; k = f->nd[k - 1].parent)
		if (k == a || ++depth > THREAD_DEPTH_MAX)
			return 1;
	return 0;
}

static void unlink_node(struct forest *f, size_t k)
{
	size_t p = f->nd[k - 1].parent;

	if (p == 0)
		return;
	size_t *link = &f->nd[p - 1].child;
	while (*link && *link != k)
		link = &f->nd[*link - 1].next;
	if (*link)
		*link = f->nd[k - 1].next;
	f->nd[k - 1].next = 0;
	f->nd[k - 1].parent = 0;
}

/* Make k the last child of p (0: a root). */
static void link_node(struct forest *f, size_t p, size_t k)
{
	unlink_node(f, k);
	f->nd[k - 1].parent = p;
	if (p == 0)
		return;
	size_t *link = &f->nd[p - 1].child;
	while (*link)
		link = &f->nd[*link - 1].next;
	*link = k;
}

/* The date and sequence a node sorts by: its message's, or for a dummy
 * its first child's (children are sorted first). */
static void node_key(struct forest *f, const struct item *v, size_t k)
{
	struct node *x = &f->nd[k - 1];

	if (x->msg >= 0) {
		x->date = v[x->msg].sent;
		x->seq = v[x->msg].idx;
	} else if (x->child) {
		x->date = f->nd[x->child - 1].date;
		x->seq = f->nd[x->child - 1].seq;
	}
}

static int cmp_nodes_r(const void *x, const void *y, void *ctx)
{
	const struct forest *f = ctx;
	const struct node *a = &f->nd[*(const size_t *)x - 1], *b = &f->nd[*(const size_t *)y - 1];

	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sort the children of p (0: the roots, listed in roots) by date, deepest
 * first, so that a dummy sorts by its earliest child. */
static void sort_children(struct forest *f, const struct item *v, size_t p, size_t **roots,
    size_t *nroots)
{
	size_t *kids = NULL, n = 0, cap = 0;

	for (size_t c = p ? f->nd[p - 1].child : (*nroots ? (*roots)[0] : 0), i = 0; c;
	    c = p ? f->nd[c - 1].next : (++i < *nroots ? (*roots)[i] : 0)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			kids = xrealloc(kids, cap * sizeof *kids);
		}
		kids[n++] = c;
	}
	for (size_t i = 0; i < n; i++) {
		sort_children(f, v, kids[i], roots, nroots);
		node_key(f, v, kids[i]);
	}
	if (n > 1)
		qsort_r(kids, n, sizeof *kids, cmp_nodes_r, f);
	if (p == 0) {
		free(*roots);
		*roots = kids;
		*nroots = n;
		return;
	}
	f->nd[p - 1].child = n ? kids[0] : 0;
	for (size_t i = 0; i < n; i++)
		f->nd[kids[i] - 1].next = i + 1 < n ? kids[i + 1] : 0;
	free(kids);
}

/* Step 4: dummies without children go; a dummy's children move up to its
 * place, except several children to the root level.  Rewrites the list
 * of the children of p (0: the roots, in *roots). */
static void prune(struct forest *f, size_t p, size_t **roots, size_t *nroots)
{
	size_t *kids = NULL, n = 0, cap = 0, *out = NULL, nout = 0;

	for (size_t c = p ? f->nd[p - 1].child : (*nroots ? (*roots)[0] : 0), i = 0; c;
	    c = p ? f->nd[c - 1].next : (++i < *nroots ? (*roots)[i] : 0)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			kids = xrealloc(kids, cap * sizeof *kids);
		}
		kids[n++] = c;
	}
	for (size_t i = 0; i < n; i++)
		prune(f, kids[i], roots, nroots);
	out = xcalloc(n + 1, sizeof *out);
	for (size_t i = 0; i < n; i++) {
		struct node *x = &f->nd[kids[i] - 1];
		size_t nkids = 0;

		for (size_t c = x->child; c; c = f->nd[c - 1].next)
			nkids++;
		if (x->msg >= 0 || (p == 0 && nkids > 1)) {
			out[nout++] = kids[i];
			continue;
		}
		if (nkids == 0)
			continue;
		out = xrealloc(out, (nout + nkids + (n - i)) * sizeof *out);
		for (size_t c = x->child; c; c = f->nd[c - 1].next)
			out[nout++] = c;
	}
	if (p == 0) {
		free(*roots);
		*roots = out;
		*nroots = nout;
		for (size_t i = 0; i < nout; i++) {
			f->nd[out[i] - 1].parent = 0;
			f->nd[out[i] - 1].next = 0;
		}
	} else {
		f->nd[p - 1].child = nout ? out[0] : 0;
		for (size_t i = 0; i < nout; i++) {
			f->nd[out[i] - 1].parent = p;
			f->nd[out[i] - 1].next = i + 1 < nout ? out[i + 1] : 0;
		}
		free(out);
	}
	free(kids);
}

/* The base subject a root thread goes by: its message's, or a dummy's
 * first child's. */
static const char *subject_of(const struct forest *f, const struct item *v, size_t k)
{
	const struct node *x = &f->nd[k - 1];

	if (x->msg < 0 && x->child)
		x = &f->nd[x->child - 1];
	return x->msg >= 0 ? v[x->msg].text[SK_SUBJECT] : "";
}

static void thread_references(const struct session *s, struct item *v, size_t n, struct buf *out)
{
	struct forest f = { 0 };
	size_t *roots = NULL, nroots = 0;
	char id[1000];
	int made;

	f.mask = 1;
	while (f.mask < 2 * n + 64)
		f.mask <<= 1;
	f.slot = xcalloc(f.mask, sizeof *f.slot);
	f.mask--;
	/* step 1: every message its node, keyed by a Message-ID seen once */
	for (size_t i = 0; i < n; i++) {
		const char *p = v[i].msgid;
		size_t k = 0;

		if (next_id(&p, id, sizeof id)) {
			k = id_node(&f, id, &made);
			if (!made && f.nd[k - 1].msg >= 0)
				k = 0;          /* a duplicate ID: this one goes alone */
			else
				f.nd[k - 1].msg = (long)i;
		}
		if (k == 0)
			k = new_node(&f, (long)i);
		/* 1A: link the references in order, each to the one before */
		const char *r = v[i].refs;
		size_t last = 0;
		while (next_id(&r, id, sizeof id)) {
			size_t ref = id_node(&f, id, &made);

			if (ref == k)
				continue;
			if (last && f.nd[ref - 1].parent == 0 && !is_ancestor(&f, ref, last))
				link_node(&f, last, ref);
			last = ref;
		}
		/* 1B: the message under its last reference; a parent that
		 * someone else's references gave it goes, even when that link
		 * would make a loop (Dovecot does the same) */
		unlink_node(&f, k);
		if (last && !is_ancestor(&f, k, last))
			link_node(&f, last, k);
	}
	/* step 2: the roots */
	for (size_t k = 1; k <= f.n; k++)
		if (f.nd[k - 1].parent == 0) {
			roots = xrealloc(roots, (nroots + 1) * sizeof *roots);
			roots[nroots++] = k;
		}
	prune(&f, 0, &roots, &nroots);
	sort_children(&f, v, 0, &roots, &nroots);
	/* step 6: root threads with the same base subject together */
	struct strtab table;
	strtab_init(&table, nroots);
	for (size_t i = 0; i < nroots; i++) {
		const char *subj = subject_of(&f, v, roots[i]);
		size_t t;

		if (*subj == '\0')
			continue;
		t = strtab_slot(&table, subj);
		if (table.key[t] == NULL) {
			table.key[t] = subj;
			table.val[t] = i;       /* where in roots the thread of the subject is */
			continue;
		}
		const struct node *old = &f.nd[roots[table.val[t]] - 1], *cur = &f.nd[roots[i] - 1];
		if (old->msg >= 0 && (cur->msg < 0 || (v[old->msg].reply && !v[cur->msg].reply)))
			table.val[t] = i;
	}
	for (size_t i = 0; i < nroots; i++) {
		const char *subj = subject_of(&f, v, roots[i]);
		size_t t, cur = roots[i], old;

		if (*subj == '\0')
			continue;
		t = strtab_slot(&table, subj);
		if (table.key[t] == NULL || table.val[t] == i)
			continue;
		old = roots[table.val[t]];
		if (f.nd[old - 1].msg < 0 && f.nd[cur - 1].msg < 0) {
			while (f.nd[cur - 1].child)
				link_node(&f, old, f.nd[cur - 1].child);
		} else if (f.nd[old - 1].msg < 0) {
			link_node(&f, old, cur);
		} else if (f.nd[cur - 1].msg >= 0 && v[f.nd[cur - 1].msg].reply &&
		    !v[f.nd[old - 1].msg].reply) {
			link_node(&f, old, cur);
		} else {
			size_t d = new_node(&f, -1);

			link_node(&f, d, old);
			link_node(&f, d, cur);
			roots[table.val[t]] = d;
		}
		roots[i] = 0;           /* merged: no longer a root */
	}
	size_t keep = 0;
	for (size_t i = 0; i < nroots; i++)
		if (roots[i])
			roots[keep++] = roots[i];
	nroots = keep;
	/* step 7: every set of siblings by date */
	sort_children(&f, v, 0, &roots, &nroots);
	for (size_t i = 0; i < nroots; i++)
		print_thread(s, v, f.nd, roots[i], out, 1);
	for (size_t k = 0; k < f.n; k++)
		free(f.nd[k].id);
	free(f.nd);
	free(f.slot);
	strtab_free(&table);
	free(roots);
}

void cmd_thread(struct session *s, struct imap_cmd *c)
{
	struct item *v;
	size_t *hits, n;
	int refs;
	struct buf out = { 0 };

	if (c->nargs < 1 || (!arg_is(&c->args[0], "ORDEREDSUBJECT") &&
	    !arg_is(&c->args[0], "REFERENCES"))) {
		reply(s, c->tag, "BAD Unknown THREAD algorithm");
		return;
	}
	refs = arg_is(&c->args[0], "REFERENCES");
	if (select_messages(s, c, 1, &hits, &n) < 0)
		return;
	v = xcalloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; i < n; i++)
		load_item(s, &v[i], hits[i], (1u << SK_DATE) | (1u << SK_SUBJECT), refs);
	buf_adds(&out, "* THREAD");
	if (n > 0) {
		buf_addc(&out, ' ');
		if (refs)
			thread_references(s, v, n, &out);
		else
			thread_subject(s, v, n, &out);
	}
	buf_adds(&out, "\r\n");
	conn_write(&s->conn, out.p, out.len);
	buf_free(&out);
	free_items(v, n);
	free(hits);
	reply(s, c->tag, "OK Thread completed.");
}
