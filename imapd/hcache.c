/* hcache.c — the header fields SEARCH, SORT and THREAD read, kept in memory
 * for the session.
 *
 * A Maildir message never changes once delivered (only its name does), so
 * the fields a header search or a sort read from a message can be kept and
 * read again without opening its file.  What is kept per message is the
 * block of its fields named in hcache_fields, as stored (folded, in order,
 * every occurrence), ended by a blank line: a header in its own right, so
 * every parser that took the file's header takes it with the same result
 * for those fields.  Entries are keyed by UID (the view is rebuilt by each
 * rescan; UIDs stay), dropped when the message is expunged, and all freed
 * when the folder is closed.  Past the byte limit nothing more is kept:
 * answers stay the same, only slower. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "header.h"
#include "store.h"

/* What one entry costs beyond its bytes: its slot in a table at most half
 * full, malloc's headers of its two blocks. */
#define HCACHE_ENTRY_COST (2 * sizeof(struct hc_ent) + 32)

/* b's bytes in a block of their size (b was grown by doubling). */
static char *take_exact(struct buf *b)
{
	size_t n = b->len;

	return xrealloc(buf_take(b), n ? n : 1);
}

static const char *const hcache_fields[] = {
	"From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "References", "In-Reply-To",
};

struct hc_ent {
	uint32_t uid;           /* 0: free slot */
	uint32_t len, auxlen;
	char    *p;
	char    *aux;           /* what SEARCH derived from p (search.c), NULL: not yet */
};

struct hcache {
	struct hc_ent *slot;    /* open addressing, linear probing */
	size_t   mask, n;
	size_t   bytes;         /* counted against the limit */
};

int hcache_field(const char *name)
{
	return hcache_field_n(name, strlen(name));
}

int hcache_field_n(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof hcache_fields / sizeof *hcache_fields; i++)
		if (strlen(hcache_fields[i]) == n && strncasecmp(name, hcache_fields[i], n) == 0)
			return (int)i + 1;
	return 0;
}

static size_t hc_hash(uint32_t uid, size_t mask)
{
	return (size_t)(uid * 2654435761u) & mask;
}

static struct hc_ent *hc_find(const struct hcache *c, uint32_t uid)
{
	if (c == NULL || c->slot == NULL)
		return NULL;
	for (size_t i = hc_hash(uid, c->mask);; i = (i + 1) & c->mask) {
		if (c->slot[i].uid == uid)
			return &c->slot[i];
		if (c->slot[i].uid == 0)
			return NULL;
	}
}

static void hc_put(struct hcache *c, struct hc_ent e)
{
	size_t i = hc_hash(e.uid, c->mask);

	while (c->slot[i].uid != 0)
		i = (i + 1) & c->mask;
	c->slot[i] = e;
}

/* Room for one more entry, the table at most half full. */
static void hc_grow(struct hcache *c)
{
	struct hc_ent *old = c->slot;
	size_t oldn = old ? c->mask + 1 : 0;

	if (old && (c->n + 1) * 2 <= oldn)
		return;
	size_t n = oldn ? oldn * 2 : 1024;
	c->slot = xcalloc(n, sizeof *c->slot);
	c->mask = n - 1;
	for (size_t i = 0; i < oldn; i++)
		if (old[i].uid != 0)
			hc_put(c, old[i]);
	free(old);
}

void hcache_drop(struct folder *f, uint32_t uid)
{
	struct hcache *c = f->hc;
	struct hc_ent *e = hc_find(c, uid);

	if (e == NULL)
		return;
	c->bytes -= e->len + e->auxlen + HCACHE_ENTRY_COST;
	free(e->p);
	free(e->aux);
	c->n--;
	/* backward-shift deletion: the entries after it in its run move up,
	 * so every probe still stops at the first free slot */
	size_t i = (size_t)(e - c->slot), j = i;
	c->slot[i].uid = 0;
	for (;;) {
		j = (j + 1) & c->mask;
		if (c->slot[j].uid == 0)
			break;
		size_t h = hc_hash(c->slot[j].uid, c->mask);
		/* move j to i when its home h is not cyclically in (i, j] */
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			c->slot[i] = c->slot[j];
			c->slot[j].uid = 0;
			i = j;
		}
	}
}

void hcache_free(struct folder *f)
{
	struct hcache *c = f->hc;

	if (c == NULL)
		return;
	for (size_t i = 0; c->slot && i <= c->mask; i++)
		if (c->slot[i].uid != 0) {
			free(c->slot[i].p);
			free(c->slot[i].aux);
		}
	free(c->slot);
	free(c);
	f->hc = NULL;
}

int store_headers(struct folder *f, struct msg *m, size_t max, struct hview *v)
{
	struct hc_ent *e;
	const char *d;
	size_t len, hlen;

	memset(v, 0, sizeof *v);
	/* a file another session removed is not there for the search either */
	if (m->gone)
		return -1;
	if ((e = hc_find(f->hc, m->uid)) != NULL) {
		v->p = e->p;
		v->len = e->len;
		return 0;
	}
	if (store_map(f, m, &d, &len) < 0)
		return -1;
	hlen = hdr_length(d, len, NULL);
	/* With no cache at all, the whole header, as before there was one (the
	 * tests compare the two) */
	buf_reserve(&v->tmp, hlen + 2);        /* one allocation: the block is at most that */
	if (max == 0)
		buf_add(&v->tmp, d, hlen);
	else
		hdr_filter(d, hlen, hcache_fields, sizeof hcache_fields / sizeof *hcache_fields, 0,
		    &v->tmp);
	store_unmap(d, len);
	v->p = v->tmp.p;
	v->len = v->tmp.len;
	if (f->hc == NULL)
		f->hc = xcalloc(1, sizeof *f->hc);
	struct hcache *c = f->hc;
	if (m->uid == 0 || v->len > UINT32_MAX || c->bytes + v->len + HCACHE_ENTRY_COST > max)
		return 0;       /* full: this one stays the caller's, read again next time */
	hc_grow(c);
	char *p = take_exact(&v->tmp);         /* may move: v->p follows */
	hc_put(c, (struct hc_ent){ m->uid, (uint32_t)v->len, 0, p, NULL });
	v->p = p;
	c->n++;
	c->bytes += v->len + HCACHE_ENTRY_COST;
	return 0;
}

void store_headers_done(struct hview *v)
{
	buf_free(&v->tmp);
	memset(v, 0, sizeof *v);
}

const char *hcache_aux(const struct folder *f, uint32_t uid, size_t *len)
{
	const struct hc_ent *e = hc_find(f->hc, uid);

	if (e == NULL || e->aux == NULL)
		return NULL;
	*len = e->auxlen;
	return e->aux;
}

const char *hcache_set_aux(struct folder *f, uint32_t uid, struct buf *b, size_t max)
{
	struct hc_ent *e = hc_find(f->hc, uid);

	if (e == NULL || b->len > UINT32_MAX || f->hc->bytes - e->auxlen + b->len > max)
		return NULL;
	buf_reserve(b, 0);      /* b->p not NULL, even for nothing */
	f->hc->bytes -= e->auxlen;
	free(e->aux);           /* replaced: the new one holds more */
	e->auxlen = (uint32_t)b->len;
	e->aux = take_exact(b);
	f->hc->bytes += e->auxlen;
	return e->aux;
}
