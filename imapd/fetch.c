/* fetch.c — FETCH, STORE, COPY and MOVE (and their UID forms).
 *
 * Sizes and offsets are wire octets: messages are stored with LF line
 * ends and every bare LF goes out as CRLF, so a partial fetch <o.n> cuts
 * the CRLF form.  Each response is built in memory and written whole. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "err.h"
#include "header.h"
#include "imapd.h"
#include "mime.h"

#define FETCH_FIELDS_MAX 100    /* names in one HEADER.FIELDS list */

/* ---- sequence sets ---- */

struct idx_range { size_t from, to; };   /* indexes [from, to) of f->m */

static int cmp_range(const void *a, const void *b)
{
	const struct idx_range *x = a, *y = b;

	return x->from < y->from ? -1 : x->from > y->from;
}

/* The first index whose UID is at least uid (f->n if none). */
static size_t uid_lower_bound(const struct folder *f, uint64_t uid)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (f->m[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* "$" (RFC 5182): the messages of the saved search result still in the
 * view, ascending as the UIDs are. */
static int resolve_saved(struct session *s, size_t **idx, size_t *n)
{
	*idx = xcalloc(s->nsaved ? s->nsaved : 1, sizeof **idx);
	*n = 0;
	for (size_t i = 0; i < s->nsaved; i++) {
		size_t k = uid_lower_bound(&s->sel, s->saved[i]);

		if (k < s->sel.n && s->sel.m[k].uid == s->saved[i])
			(*idx)[(*n)++] = k;
	}
	return 0;
}

/* The ranges of the set are turned into index ranges, sorted and merged
 * before any index is listed: each message is named once, in ascending
 * order, however often the set repeats it ("1,1,1", or "1:*" a thousand
 * times), and the list never outgrows the folder. */
int resolve_set(struct session *s, const struct imap_arg *a, size_t **idx, size_t *n)
{
	struct folder *f = &s->sel;
	struct seqset set;
	struct idx_range *rg;
	size_t nr = 0, total = 0, end = 0;
	uint32_t max = s->uid ? (f->n ? f->m[f->n - 1].uid : 0) : (uint32_t)f->n;

	*idx = NULL;
	*n = 0;
	if (arg_is(a, "$"))
		return resolve_saved(s, idx, n);
	if (a->type != ARG_ATOM || seqset_parse(a->s, &set) < 0)
		return -1;
	rg = xcalloc(set.n ? set.n : 1, sizeof *rg);
	for (size_t i = 0; i < set.n; i++) {
		uint32_t lo, hi;

		seqset_range(&set, i, max, &lo, &hi);
		if (!s->uid && (hi > max || lo == 0)) {
			seqset_free(&set);
			free(rg);
			return -1;      /* RFC 3501 9: a number past the end is invalid */
		}
		if (s->uid) {
			rg[nr].from = uid_lower_bound(f, lo);
			rg[nr].to = uid_lower_bound(f, (uint64_t)hi + 1);
		} else {
			rg[nr].from = lo - 1;
			rg[nr].to = hi;
		}
		if (rg[nr].from < rg[nr].to)
			nr++;
	}
	seqset_free(&set);
	qsort(rg, nr, sizeof *rg, cmp_range);
	for (size_t i = 0; i < nr; i++) {       /* count what the merged ranges add */
		size_t from = rg[i].from > end ? rg[i].from : end;

		if (rg[i].to > from) {
			total += rg[i].to - from;
			end = rg[i].to;
		}
	}
	if (total > 0)
		*idx = xcalloc(total, sizeof **idx);
	end = 0;
	for (size_t i = 0; i < nr; i++)
		for (size_t k = rg[i].from > end ? rg[i].from : end; k < rg[i].to; k++) {
			(*idx)[(*n)++] = k;
			end = k + 1;
		}
	free(rg);
	return 0;
}

/* ---- FETCH items ---- */

enum fkind {
	FI_FLAGS, FI_INTERNALDATE, FI_SIZE, FI_ENVELOPE, FI_BODY, FI_BODYSTRUCTURE, FI_UID,
	FI_RFC822, FI_RFC822_HEADER, FI_RFC822_TEXT, FI_SECTION, FI_BINARY, FI_BINARY_SIZE,
	FI_MODSEQ
};

struct fitem {
	enum fkind kind;
	int   peek;
	char *section;          /* FI_SECTION, FI_BINARY*: text between [ and ] */
	int   partial;
	uint64_t poff, plen;
};

struct fetch {
	struct fitem *v;
	size_t n;
	int need_msg, sets_seen, has_flags, has_uid, has_modseq;
};

static void fetch_free(struct fetch *fe)
{
	for (size_t i = 0; i < fe->n; i++)
		free(fe->v[i].section);
	free(fe->v);
}

static struct fitem *add_item(struct fetch *fe, enum fkind k)
{
	fe->v = xrealloc(fe->v, (fe->n + 1) * sizeof *fe->v);
	memset(&fe->v[fe->n], 0, sizeof *fe->v);
	fe->v[fe->n].kind = k;
	return &fe->v[fe->n++];
}

/* Whether sect is a section spec mime_section accepts. */
static int section_ok(const char *sect)
{
	static const char probe[] = "Subject: x\n\nx\n";
	struct mime_msg m;
	struct mime_range r;
	int rc;

	mime_parse(probe, sizeof probe - 1, &m);
	rc = mime_section(m.root, sect, &r);
	mime_free(&m);
	return rc != SECT_BAD;
}

/* BINARY's section: part numbers only, "" or "1.2" (RFC 3516 4.1). */
static int binary_section_ok(const char *sect)
{
	for (const char *p = sect; *p; p++)
		if (!(isdigit((unsigned char)*p) || (*p == '.' && p > sect && p[1] != '\0' &&
		    p[1] != '.')) || (*p == '0' && (p == sect || p[-1] == '.')))
			return 0;
	return 1;
}

/* BODY[...]<o.n> / BODY.PEEK[...]<o.n>, and the BINARY forms of kind k */
static int parse_section(struct fetch *fe, const char *s, int peek, enum fkind k)
{
	const char *open = strchr(s, '['), *close = strrchr(s, ']');
	struct fitem *it;

	if (open == NULL || close == NULL || close < open)
		return -1;
	it = add_item(fe, k);
	it->peek = peek;
	it->section = xstrndup(open + 1, (size_t)(close - open - 1));
	if (k == FI_SECTION ? !section_ok(it->section) : !binary_section_ok(it->section))
		return -1;
	if (k == FI_BINARY_SIZE && close[1] != '\0')
		return -1;
	if (close[1] == '<') {
		const char *q = close + 2;
		int64_t o, n;

		if ((o = imap_number32(&q, 0)) < 0 || *q++ != '.' ||
		    (n = imap_number32(&q, 0)) <= 0 || *q != '>' || q[1] != '\0')
			return -1;
		it->partial = 1;
		it->poff = o;
		it->plen = n;
	} else if (close[1] != '\0') {
		return -1;
	}
	fe->need_msg = 1;
	fe->sets_seen |= !peek;
	return 0;
}

static int parse_item(struct fetch *fe, const struct imap_arg *a)
{
	static const struct { const char *name; enum fkind kind; int msg; } simple[] = {
		{ "FLAGS", FI_FLAGS, 0 }, { "INTERNALDATE", FI_INTERNALDATE, 0 },
		{ "RFC822.SIZE", FI_SIZE, 0 }, { "ENVELOPE", FI_ENVELOPE, 1 },
		{ "BODY", FI_BODY, 1 }, { "BODYSTRUCTURE", FI_BODYSTRUCTURE, 1 },
		{ "UID", FI_UID, 0 }, { "RFC822", FI_RFC822, 1 },
		{ "RFC822.HEADER", FI_RFC822_HEADER, 1 }, { "RFC822.TEXT", FI_RFC822_TEXT, 1 },
		{ "MODSEQ", FI_MODSEQ, 0 },
	};

	if (a->type != ARG_ATOM)
		return -1;
	for (size_t i = 0; i < sizeof simple / sizeof *simple; i++)
		if (strcasecmp(a->s, simple[i].name) == 0) {
			add_item(fe, simple[i].kind);
			fe->need_msg |= simple[i].msg;
			fe->sets_seen |= simple[i].kind == FI_RFC822 || simple[i].kind == FI_RFC822_TEXT;
			fe->has_flags |= simple[i].kind == FI_FLAGS;
			fe->has_uid |= simple[i].kind == FI_UID;
			fe->has_modseq |= simple[i].kind == FI_MODSEQ;
			return 0;
		}
	if (strncasecmp(a->s, "BODY.PEEK[", 10) == 0)
		return parse_section(fe, a->s, 1, FI_SECTION);
	if (strncasecmp(a->s, "BODY[", 5) == 0)
		return parse_section(fe, a->s, 0, FI_SECTION);
	if (strncasecmp(a->s, "BINARY.PEEK[", 12) == 0)
		return parse_section(fe, a->s, 1, FI_BINARY);
	if (strncasecmp(a->s, "BINARY[", 7) == 0)
		return parse_section(fe, a->s, 0, FI_BINARY);
	if (strncasecmp(a->s, "BINARY.SIZE[", 12) == 0)
		return parse_section(fe, a->s, 1, FI_BINARY_SIZE);
	return -1;
}

static int parse_fetch(struct fetch *fe, const struct imap_arg *a)
{
	static const struct { const char *macro; const char *const items[5]; } macros[] = {
		{ "ALL", { "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", NULL } },
		{ "FAST", { "FLAGS", "INTERNALDATE", "RFC822.SIZE", NULL } },
		{ "FULL", { "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY" } },
	};

	memset(fe, 0, sizeof *fe);
	if (a->type == ARG_ATOM)
		for (size_t m = 0; m < sizeof macros / sizeof *macros; m++)
			if (arg_is(a, macros[m].macro)) {
				for (size_t i = 0; i < 5 && macros[m].items[i]; i++) {
					struct imap_arg x = { .type = ARG_ATOM, .s = (char *)macros[m].items[i] };
					parse_item(fe, &x);
				}
				return 0;
			}
	if (a->type != ARG_LIST)
		return parse_item(fe, a);
	if (a->nkids == 0)
		return -1;
	for (size_t i = 0; i < a->nkids; i++)
		if (parse_item(fe, &a->kids[i]) < 0)
			return -1;
	return 0;
}

/* ---- building a response ---- */

static void date_time(time_t t, struct buf *out)
{
	struct tm tm;
	char s[64];
	long off;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	strftime(s, sizeof s, "%d-%b-%Y %H:%M:%S", &tm);
	buf_printf(out, "\"%s %c%02ld%02ld\"", s, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

/* A message being fetched: its bytes, its header length, and its MIME
 * tree, parsed only when an item needs more than header and body. */
struct mdata {
	const char *p;
	size_t len, hlen;
	int parsed;
	struct mime_msg mm;
};

static const struct mime_part *mroot(struct mdata *md)
{
	if (!md->parsed) {
		mime_parse(md->p, md->len, &md->mm);
		md->parsed = 1;
	}
	return md->mm.root;
}

/* Append the wire form of stored bytes p[0..n), cut to <off.len>, as a
 * literal. */
static void literal_part(const char *p, size_t n, const struct fitem *it, struct buf *out)
{
	size_t wlen = mime_wire_len(p, n);

	if (it == NULL || !it->partial) {
		buf_printf(out, "{%zu}\r\n", wlen);
		mime_wire_copy(p, n, out);
		return;
	}
	struct buf w = { 0 };
	size_t from, len;

	mime_wire_copy(p, n, &w);
	from = it->poff < w.len ? (size_t)it->poff : w.len;
	len = w.len - from < it->plen ? w.len - from : (size_t)it->plen;
	buf_printf(out, "{%zu}\r\n", len);
	buf_add(out, w.p ? w.p + from : "", len);
	buf_free(&w);
}

/* The names of "HEADER.FIELDS (A B)": rest is " (A B)". */
static size_t field_names(const char *rest, char **names, size_t max)
{
	size_t n = 0;
	const char *p = rest;

	while (*p && n < max) {
		while (*p == ' ' || *p == '(' || *p == ')' || *p == '"')
			p++;
		const char *s = p;
		while (*p && *p != ' ' && *p != ')' && *p != '"')
			p++;
		if (p > s)
			names[n++] = xstrndup(s, (size_t)(p - s));
	}
	return n;
}

static void fields(const char *hdr, size_t hlen, const char *rest, int exclude,
    const struct fitem *it, struct buf *out)
{
	char *names[FETCH_FIELDS_MAX] = { 0 };
	size_t n = field_names(rest ? rest : "", names, FETCH_FIELDS_MAX);
	struct buf h = { 0 };

	hdr_filter(hdr, hlen, (const char *const *)names, n, exclude, &h);
	literal_part(h.p ? h.p : "", h.len, it, out);
	buf_free(&h);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
}

static void section_data(struct mdata *md, const struct fitem *it, struct buf *out)
{
	const char *sect = it->section;
	struct mime_range r;

	/* the top-level forms need no MIME parse: the header length will do */
	if (sect[0] == '\0') {
		literal_part(md->p, md->len, it, out);
		return;
	}
	if (strcasecmp(sect, "HEADER") == 0 || strcasecmp(sect, "TEXT") == 0) {
		int text = sect[0] == 't' || sect[0] == 'T';
		literal_part(md->p + (text ? md->hlen : 0), text ? md->len - md->hlen : md->hlen, it, out);
		return;
	}
	if (strncasecmp(sect, "HEADER.FIELDS.NOT", 17) == 0 && (sect[17] == ' ' || sect[17] == '(')) {
		fields(md->p, md->hlen, sect + 17, 1, it, out);
		return;
	}
	if (strncasecmp(sect, "HEADER.FIELDS", 13) == 0 && (sect[13] == ' ' || sect[13] == '(')) {
		fields(md->p, md->hlen, sect + 13, 0, it, out);
		return;
	}
	if (mime_section(mroot(md), sect, &r) != SECT_OK) {
		buf_adds(out, "\"\"");
		return;
	}
	if (r.spec == SPEC_FIELDS || r.spec == SPEC_FIELDS_NOT)
		fields(md->p + r.off, r.len, r.rest, r.spec == SPEC_FIELDS_NOT, it, out);
	else
		literal_part(md->p + r.off, r.len, it, out);
}

static int collect_bytes(void *arg, const char *p, size_t n)
{
	buf_add(arg, p, n);
	return 0;
}

int fetch_decoded_body(const struct mime_part *p, struct buf *out)
{
	struct buf raw = { 0 };

	if (p->enc == ENC_7BIT || p->enc == ENC_8BIT || p->enc == ENC_BINARY) {
		mime_wire_copy(p->base + p->body_off, p->end - p->body_off, out);
		return 0;
	}
	if (p->enc != ENC_QP && p->enc != ENC_BASE64)
		return -1;
	mime_decode(p, collect_bytes, &raw, NULL);
	if (p->enc == ENC_QP)
		mime_wire_copy(raw.p ? raw.p : "", raw.len, out);
	else
		buf_add(out, raw.p ? raw.p : "", raw.len);
	buf_free(&raw);
	return 0;
}

/* The content of BINARY[sect] in out: a leaf's body decoded as
 * fetch_decoded_body gives it; the whole message, or a multipart or
 * message part, as BODY[] gives it.  -1 for a part in an encoding we
 * cannot undo. */
static int binary_data(struct mdata *md, const char *sect, struct buf *out)
{
	struct mime_range r;

	if (sect[0] == '\0') {
		mime_wire_copy(md->p, md->len, out);
		return 0;
	}
	if (mime_section(mroot(md), sect, &r) != SECT_OK)
		return 0;
	if (mime_is_multipart(r.part) || mime_is_message(r.part)) {
		mime_wire_copy(md->p + r.off, r.len, out);
		return 0;
	}
	return fetch_decoded_body(r.part, out);
}

/* BINARY[sect]<o> literal8-or-literal / BINARY.SIZE[sect] n */
static void binary_item(struct mdata *md, const struct fitem *it, struct buf *out)
{
	struct buf d = { 0 };
	size_t from = 0, len;

	binary_data(md, it->section, &d);
	len = d.len;
	if (it->kind == FI_BINARY_SIZE) {
		buf_printf(out, "BINARY.SIZE[%s] %zu", it->section, len);
		buf_free(&d);
		return;
	}
	buf_printf(out, "BINARY[%s]", it->section);
	if (it->partial) {
		buf_printf(out, "<%llu>", (unsigned long long)it->poff);
		from = it->poff < d.len ? (size_t)it->poff : d.len;
		len = d.len - from < it->plen ? d.len - from : (size_t)it->plen;
	}
	buf_printf(out, " %s{%zu}\r\n", d.p && memchr(d.p + from, '\0', len) ? "~" : "", len);
	buf_add(out, d.p ? d.p + from : "", len);
	buf_free(&d);
}

/* The label of a section item in the response: BODY[sect]<origin>. */
static void section_label(const struct fitem *it, struct buf *out)
{
	const char *p = it->section;

	/* part numbers and keywords in capitals, as servers send them and many
	 * parsers compare them; the header field list as the client wrote it */
	buf_adds(out, "BODY[");
	for (; *p && *p != '('; p++) {
		char ch = *p;

		buf_addc(out, ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
	}
	buf_printf(out, "%s]", p);
	if (it->partial)
		buf_printf(out, "<%llu>", (unsigned long long)it->poff);
}

static void fetch_item(struct session *s, struct msg *m, struct mdata *md,
    const struct fitem *it, struct buf *out)
{
	switch (it->kind) {
	case FI_FLAGS:
		buf_adds(out, "FLAGS ");
		flags_text(&s->sel, shown_flags(s, m->flags), out);
		break;
	case FI_INTERNALDATE:
		buf_adds(out, "INTERNALDATE ");
		date_time(store_date(&s->sel, m), out);
		break;
	case FI_SIZE:
		buf_printf(out, "RFC822.SIZE %llu", (unsigned long long)store_wsize(&s->sel, m));
		break;
	case FI_UID:
		buf_printf(out, "UID %u", m->uid);
		break;
	case FI_MODSEQ:
		buf_printf(out, "MODSEQ (%" PRIu64 ")", m->modseq);
		break;
	case FI_ENVELOPE:
		buf_adds(out, "ENVELOPE ");
		mime_envelope(mroot(md), out);
		break;
	case FI_BODY:
	case FI_BODYSTRUCTURE:
		buf_adds(out, it->kind == FI_BODY ? "BODY " : "BODYSTRUCTURE ");
		mime_bodystructure(mroot(md), it->kind == FI_BODYSTRUCTURE, out);
		break;
	case FI_RFC822:
		buf_adds(out, "RFC822 ");
		literal_part(md->p, md->len, NULL, out);
		break;
	case FI_RFC822_HEADER:
		buf_adds(out, "RFC822.HEADER ");
		literal_part(md->p, md->hlen, NULL, out);
		break;
	case FI_RFC822_TEXT:
		buf_adds(out, "RFC822.TEXT ");
		literal_part(md->p + md->hlen, md->len - md->hlen, NULL, out);
		break;
	case FI_SECTION:
		section_label(it, out);
		buf_addc(out, ' ');
		section_data(md, it, out);
		break;
	case FI_BINARY:
	case FI_BINARY_SIZE:
		binary_item(md, it, out);
		break;
	}
}

/* One "* n FETCH (...)" response; -1 if the message is gone.  seen: 1 if
 * the caller has just set \Seen on it for this FETCH, 0 if not, -1 to
 * set it here if the items ask for it. */
static int fetch_one(struct session *s, size_t i, const struct fetch *fe, struct buf *out,
    int seen)
{
	struct msg *m = &s->sel.m[i];
	struct mdata md = { 0 };
	int seen_now = seen > 0;

	if (m->gone)
		return -1;
	if (fe->need_msg) {
		if (store_map(&s->sel, m, &md.p, &md.len) < 0)
			return -1;
		md.hlen = hdr_length(md.p, md.len, NULL);
	}
	if (seen < 0 && fe->sets_seen && !s->sel.readonly && !(m->flags & FL_SEEN))
		seen_now = store_change_flags(&s->sel, m, FL_SEEN, 0) == 0;
	out->len = 0;
	buf_printf(out, "* %zu FETCH (", i + 1);
	/* QRESYNC: every FETCH response carries the UID (RFC 7162 3.2.4) */
	if ((s->uid || s->qresync) && !fe->has_uid)
		buf_printf(out, "UID %u ", m->uid);
	for (size_t k = 0; k < fe->n; k++) {
		if (k)
			buf_addc(out, ' ');
		fetch_item(s, m, &md, &fe->v[k], out);
	}
	if (seen_now && !fe->has_flags) {
		buf_adds(out, " FLAGS ");
		flags_text(&s->sel, shown_flags(s, m->flags), out);
	}
	/* with CONDSTORE, flags go with their MODSEQ (RFC 7162 3.1.4) */
	if (s->condstore && !fe->has_modseq && (fe->has_flags || seen_now))
		buf_printf(out, " MODSEQ (%" PRIu64 ")", m->modseq);
	buf_adds(out, ")\r\n");
	if (md.parsed)
		mime_free(&md.mm);
	if (fe->need_msg)
		store_unmap(md.p, md.len);
	conn_write(&s->conn, out->p, out->len);
	return 0;
}

/* FETCH's modifiers (RFC 7162 3.1.4.1, 3.2.6): "(CHANGEDSINCE n
 * [VANISHED])"; *since: n, or -1 without one; -1 if malformed. */
static int fetch_modifiers(struct session *s, const struct imap_arg *a, int64_t *since,
    int *vanished)
{
	*since = -1;
	*vanished = 0;
	if (a->type != ARG_LIST || a->nkids == 0)
		return -1;
	for (size_t i = 0; i < a->nkids; i++) {
		if (arg_is(&a->kids[i], "CHANGEDSINCE") && *since < 0 && i + 1 < a->nkids) {
			if ((*since = arg_modseq(&a->kids[++i], 0)) < 0)
				return -1;
		} else if (arg_is(&a->kids[i], "VANISHED") && !*vanished) {
			*vanished = 1;
		} else {
			return -1;
		}
	}
	/* VANISHED: UID FETCH with CHANGEDSINCE, QRESYNC enabled */
	return *vanished && (*since < 0 || !s->uid || !s->qresync) ? -1 : 0;
}

/* Rescan the folder so that this session's changes get their MODSEQs,
 * telling the client what else it found (no expunge: the sequence
 * numbers stay).  The messages own[0..nown) are the ones this command
 * changed: their new MODSEQ goes in the command's own answer, so it is
 * not told a second time as a MODSEQ that moved under unchanged flags. */
static void store_modseqs(struct session *s, const size_t *own, size_t nown)
{
	struct sync_report r;

	if (store_sync(&s->sel, 0, 1, &r) != 0)
		return;
	if (nown > 0 && r.ntouched > 0) {
		unsigned char *mine = xcalloc(s->sel.n, 1);
		size_t k = 0;

		for (size_t i = 0; i < nown; i++)
			if (own[i] < s->sel.n)
				mine[own[i]] = 1;
		for (size_t i = 0; i < r.ntouched; i++)
			if (r.touched[i] >= s->sel.n || !mine[r.touched[i]])
				r.touched[k++] = r.touched[i];
		r.ntouched = k;
		free(mine);
	}
	report_updates(s, &r);
	sync_report_free(&r);
}

/* FETCH with CONDSTORE: \Seen set first on the messages whose items set
 * it, and one rescan for their new MODSEQs (RFC 7162 3.1.4: the FETCH
 * response gives the MODSEQ of the change).  seen[i]: set for idx[i]. */
static void fetch_seen_first(struct session *s, const size_t *idx, size_t n, int64_t since,
    unsigned char *seen)
{
	size_t *own = xcalloc(n ? n : 1, sizeof *own), nown = 0;

	for (size_t i = 0; i < n; i++) {
		struct msg *m = &s->sel.m[idx[i]];

		if (m->gone || (m->flags & FL_SEEN) || (since >= 0 && m->modseq <= (uint64_t)since))
			continue;
		if (store_change_flags(&s->sel, m, FL_SEEN, 0) == 0) {
			seen[i] = 1;
			own[nown++] = idx[i];
		}
	}
	if (nown > 0)
		store_modseqs(s, own, nown);
	free(own);
}

/* The FETCH responses for idx[0..n) (those with a MODSEQ above since, if
 * since >= 0); with CONDSTORE, \Seen set first where fe sets it.  1 if a
 * message was gone. */
static int fetch_messages(struct session *s, const size_t *idx, size_t n, const struct fetch *fe,
    int64_t since)
{
	struct buf out = { 0 };
	unsigned char *seen = NULL;
	int gone = 0;

	if (s->condstore && fe->sets_seen && !s->sel.readonly) {
		seen = xcalloc(n ? n : 1, 1);
		fetch_seen_first(s, idx, n, since, seen);
	}
	for (size_t i = 0; i < n; i++)
		if (since < 0 || s->sel.m[idx[i]].modseq > (uint64_t)since)
			gone |= fetch_one(s, idx[i], fe, &out, seen ? seen[i] : -1) < 0;
	buf_free(&out);
	free(seen);
	return gone;
}

void cmd_fetch(struct session *s, struct imap_cmd *c)
{
	struct fetch fe;
	size_t *idx, n;
	int gone, vanished = 0;
	int64_t since = -1;

	if (c->nargs < 2 || c->nargs > 3 || parse_fetch(&fe, &c->args[1]) < 0 ||
	    (c->nargs == 3 && fetch_modifiers(s, &c->args[2], &since, &vanished) < 0)) {
		if (c->nargs >= 2 && c->nargs <= 3)
			fetch_free(&fe);
		reply(s, c->tag, "BAD Invalid FETCH arguments");
		return;
	}
	if (fe.has_modseq || since >= 0) {
		condstore_enable(s);
		if (since >= 0 && !fe.has_modseq) {     /* CHANGEDSINCE implies MODSEQ */
			add_item(&fe, FI_MODSEQ);
			fe.has_modseq = 1;
		}
	}
	if (resolve_set(s, &c->args[0], &idx, &n) < 0) {
		fetch_free(&fe);
		reply(s, c->tag, "BAD Invalid sequence set");
		return;
	}
	if (vanished) {
		struct seqset set;

		if (seqset_parse(c->args[0].s, &set) == 0) {
			send_vanished(s, (uint64_t)since, &set);
			seqset_free(&set);
		}
	}
	gone = fetch_messages(s, idx, n, &fe, since);
	free(idx);
	fetch_free(&fe);
	if (gone)       /* RFC 2180 4.1.2's wording, which clients and imaptest know */
		reply(s, c->tag, "NO [EXPUNGEISSUED] Some of the requested messages no longer exist.");
	else
		reply(s, c->tag, "OK Fetch completed.");
}

/* ---- STORE ---- */

/* STORE's modifier "(UNCHANGEDSINCE n)" (RFC 7162 3.1.3) at c->args[1]:
 * *since: n, or -1 without one; -1 if malformed. */
static int store_modifier(const struct imap_cmd *c, int64_t *since)
{
	/* "STORE" alone has no args array at all: no &args[1] before the count */
	const struct imap_arg *a = c->nargs >= 2 ? &c->args[1] : NULL;

	*since = -1;
	if (a == NULL || a->type != ARG_LIST)
		return 0;
	if (a->nkids != 2 || !arg_is(&a->kids[0], "UNCHANGEDSINCE") ||
	    (*since = arg_modseq(&a->kids[1], 1)) < 0)
		return -1;
	return 1;
}

/* One STORE answer: "* n FETCH (FLAGS (...) [UID u] [MODSEQ (m)])", or
 * only the UID and MODSEQ for .SILENT (RFC 7162 3.1.3 wants the MODSEQ). */
static void store_answer(struct session *s, size_t i, int silent, struct buf *out)
{
	const struct msg *m = &s->sel.m[i];

	out->len = 0;
	buf_printf(out, "* %zu FETCH (", i + 1);
	if (!silent) {
		buf_adds(out, "FLAGS ");
		flags_text(&s->sel, shown_flags(s, m->flags), out);
	}
	if (s->uid || s->qresync)
		buf_printf(out, "%sUID %u", silent ? "" : " ", m->uid);
	if (s->condstore)
		buf_printf(out, "%sMODSEQ (%" PRIu64 ")", silent && !s->uid && !s->qresync ? "" : " ",
		    m->modseq);
	buf_adds(out, ")\r\n");
	conn_write(&s->conn, out->p, out->len);
}

static void store_run(struct session *s, struct imap_cmd *c, int64_t since)
{
	const char *item;
	int mode, silent;
	unsigned flags = 0;
	size_t *idx, n, *done, ndone = 0;
	uint32_t *modified, nmod = 0;
	int gone = 0;
	struct buf out = { 0 };

	if (c->nargs < 3 || c->args[1].type != ARG_ATOM) {
		reply(s, c->tag, "BAD STORE needs a set, an item and flags");
		return;
	}
	item = c->args[1].s;
	mode = item[0] == '+' ? 1 : item[0] == '-' ? -1 : 0;
	if (mode)
		item++;
	silent = strcasecmp(item, "FLAGS.SILENT") == 0;
	if (!silent && strcasecmp(item, "FLAGS") != 0) {
		reply(s, c->tag, "BAD Unknown STORE item");
		return;
	}
	for (size_t i = 2; i < c->nargs; i++) {
		unsigned f;

		if ((c->nargs > 3 && c->args[i].type == ARG_LIST) ||
		    parse_flags(&c->args[i], &f, s->sel.path, mode >= 0 && !s->sel.readonly) < 0) {
			reply(s, c->tag, "BAD Invalid flags");
			return;
		}
		flags |= f;
	}
	if (s->sel.readonly) {
		reply(s, c->tag, "NO [READ-ONLY] Mailbox is read-only.");
		return;
	}
	if (resolve_set(s, &c->args[0], &idx, &n) < 0) {
		reply(s, c->tag, "BAD Invalid sequence set");
		return;
	}
	announce_flags(s, 0);   /* new keywords are told of before they are used */
	if (since >= 0) {
		condstore_enable(s);
		store_modseqs(s, NULL, 0);      /* the MODSEQs as they are now, to compare */
	}
	done = xcalloc(n ? n : 1, sizeof *done);
	modified = xcalloc(n ? n : 1, sizeof *modified);
	for (size_t k = 0; k < n; k++) {
		struct msg *m = &s->sel.m[idx[k]];
		unsigned keep = m->flags & FL_RECENT;

		/* changed since the client looked: left alone, and named in
		 * [MODIFIED] (RFC 7162 3.1.3) */
		if (since >= 0 && !m->gone && m->modseq > (uint64_t)since) {
			modified[nmod++] = s->uid ? m->uid : (uint32_t)idx[k] + 1;
			continue;
		}
		int rc = m->gone ? -1 :
		    mode > 0 ? store_change_flags(&s->sel, m, flags, 0) :
		    mode < 0 ? store_change_flags(&s->sel, m, 0, flags) :
		    (flags | keep) == m->flags ? 0 : store_set_flags(&s->sel, m, flags | keep);

		if (rc < 0) {
			gone = 1;
			continue;
		}
		done[ndone++] = idx[k];
	}
	/* with CONDSTORE each answer carries the MODSEQ the change was given */
	if (s->condstore && ndone > 0)
		store_modseqs(s, done, ndone);
	for (size_t k = 0; k < ndone; k++)
		if (!silent || s->condstore)
			store_answer(s, done[k], silent, &out);
	buf_free(&out);
	free(idx);
	free(done);
	if (nmod > 0) {
		struct buf set = { 0 };

		number_set(modified, nmod, &set);
		reply(s, c->tag, "OK [MODIFIED %s] Conditional STORE failed", set.p);
		buf_free(&set);
	} else if (gone) {      /* RFC 2180 4.2.1 */
		reply(s, c->tag, "NO [EXPUNGEISSUED] Some of the messages have been deleted.");
	} else {
		reply(s, c->tag, "OK Store completed.");
	}
	free(modified);
}

void cmd_store(struct session *s, struct imap_cmd *c)
{
	int64_t since;
	int mod = store_modifier(c, &since);
	struct imap_arg a;

	if (mod < 0) {
		reply(s, c->tag, "BAD Invalid STORE modifier");
		return;
	}
	if (mod == 0) {
		store_run(s, c, -1);
		return;
	}
	/* the modifier goes last, out of sight, and back after (freed with c) */
	a = c->args[1];
	memmove(c->args + 1, c->args + 2, (c->nargs - 2) * sizeof *c->args);
	c->args[c->nargs - 1] = a;
	c->nargs--;
	store_run(s, c, since);
	c->nargs++;
}

/* ---- COPY / MOVE ---- */

/* The flags of a copy into the folder at path: keywords numbered there. */
static unsigned copy_flags(struct session *s, unsigned flags, const char *path)
{
	unsigned out = flags & ~(FL_KEYWORDS | FL_RECENT);

	for (int i = 0; i < KW_MAX; i++) {
		int k;

		if ((flags & FL_KW(i)) && s->sel.kw[i] && (k = store_keyword(path, s->sel.kw[i], 1)) >= 0)
			out |= FL_KW(k);
	}
	return out;
}

/* Whether copies of the messages idx[0..n) would go over quota. */
static int copy_over_quota(struct session *s, const size_t *idx, size_t n)
{
	uint64_t bytes = 0;

	for (size_t k = 0; k < n; k++) {
		const struct msg *m = &s->sel.m[idx[k]];

		bytes += quota_file_size(m->base, m->wsize != SIZE_UNKNOWN ? m->wsize : 0);
	}
	return quota_over(s, bytes, n);
}

void cmd_copy(struct session *s, struct imap_cmd *c)
{
	char name[STORE_NAME_MAX + 8], path[STORE_PATH_MAX];
	int move = strcmp(c->name, "MOVE") == 0;
	size_t *idx, n, done = 0;
	char **bases;
	uint32_t *src, *dst;
	struct store_status st;
	struct buf set = { 0 };

	if (c->nargs != 2) {
		reply(s, c->tag, "BAD %s needs a set and a mailbox", c->name);
		return;
	}
	if (mailbox_arg(s, c->tag, &c->args[1], name, path) < 0)
		return;
	if (move && s->sel.readonly) {
		reply(s, c->tag, "NO [READ-ONLY] Mailbox is read-only.");
		return;
	}
	if (resolve_set(s, &c->args[0], &idx, &n) < 0) {
		reply(s, c->tag, "BAD Invalid sequence set");
		return;
	}
	if (!store_exists(path)) {
		free(idx);
		reply(s, c->tag, "NO [TRYCREATE] Mailbox doesn't exist: %s", name);
		return;
	}
	/* a MOVE within the Maildir leaves the usage as it was (RFC 9208 4.3) */
	if (!move && copy_over_quota(s, idx, n)) {
		free(idx);
		reply(s, c->tag, QUOTA_OVER_TEXT);
		return;
	}
	bases = xcalloc(n + 1, sizeof *bases);
	src = xcalloc(n + 1, sizeof *src);
	dst = xcalloc(n + 1, sizeof *dst);
	for (; done < n; done++) {
		struct msg *m = &s->sel.m[idx[done]];

		src[done] = m->uid;
		if ((bases[done] = store_copy(&s->sel, m, path, copy_flags(s, m->flags, path))) == NULL)
			break;
	}
	if (done < n) {
		reply(s, c->tag, "NO [SERVERBUG] %s failed: %s", c->name, strerror(errno));
		goto out;
	}
	quota_saved(s, bases, n);
	if (n > 0 && store_status(path, &st, bases, n, dst) == 0) {
		buf_printf(&set, "COPYUID %u ", st.uidvalidity);
		number_set(src, n, &set);
		buf_addc(&set, ' ');
		number_set(dst, n, &set);
	}
	if (move) {
		if (set.p)
			untagged(s, "OK [%s] Moved UIDs.", set.p);
		for (size_t k = 0; k < n; k++)
			store_unlink(&s->sel, &s->sel.m[idx[k]]);
		reply(s, c->tag, "OK Move completed.");
	} else if (set.p) {
		reply(s, c->tag, "OK [%s] Copy completed.", set.p);
	} else {
		reply(s, c->tag, "OK Copy completed.");
	}
out:
	for (size_t k = 0; k < n; k++)
		free(bases[k]);
	free(bases);
	free(src);
	free(dst);
	free(idx);
	buf_free(&set);
}

/* ---- IMAP URLs for CATENATE (RFC 4469, RFC 5092) ---- */

/* Undo the %XX escapes of s[0..n) into out (cap bytes); -1 if malformed. */
static int url_unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (k + 1 >= cap)
			return -1;
		if (s[i] != '%') {
			out[k++] = s[i];
			continue;
		}
		if (i + 2 >= n || sscanf(s + i + 1, "%2x", &v) != 1 || !isxdigit((unsigned char)s[i + 1]) ||
		    !isxdigit((unsigned char)s[i + 2]) || v == 0)
			return -1;
		out[k++] = (char)v;
		i += 2;
	}
	out[k] = '\0';
	return 0;
}

/* The value of ";KEY=value" starting at *p (case-insensitive key), up to
 * the next '/', unescaped into out; *p moves past it.  -1 if not there. */
static int url_field(const char **p, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	const char *v, *end;

	if (strncasecmp(*p, key, klen) != 0)
		return -1;
	v = *p + klen;
	end = strchr(v, '/');
	if (end == NULL)
		end = v + strlen(v);
	if (url_unescape(v, (size_t)(end - v), out, cap) < 0)
		return -1;
	*p = end;
	return 0;
}

int fetch_url(struct session *s, const char *url, struct buf *out)
{
	char name[STORE_NAME_MAX + 8], path[STORE_PATH_MAX], sect[256] = "", num[32];
	const char *p = url, *slash;
	uint32_t uid, uidvalidity = 0;
	int64_t poff = 0, plen = -1, v;
	struct folder f = { 0 };
	struct mdata md = { 0 };
	struct msg *m = NULL;
	int rc = -1;

	/* "/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]" */
	if (*p++ != '/' || (slash = strstr(p, "/;")) == NULL)
		return -1;
	const char *semi = memchr(p, ';', (size_t)(slash - p));
	if (url_unescape(p, (size_t)((semi ? semi : slash) - p), name, sizeof name) < 0)
		return -1;
	if (semi) {
		const char *q = semi;

		if (url_field(&q, ";UIDVALIDITY=", num, sizeof num) < 0 || q != slash ||
		    (v = imap_number32_span(num, strlen(num), 1)) < 0)
			return -1;
		uidvalidity = (uint32_t)v;
	}
	p = slash + 1;
	if (url_field(&p, ";UID=", num, sizeof num) < 0 ||
	    (v = imap_number32_span(num, strlen(num), 1)) < 0)
		return -1;
	uid = (uint32_t)v;
	if (strncmp(p, "/;", 2) == 0 && strncasecmp(p + 1, ";SECTION=", 9) == 0) {
		p++;
		if (url_field(&p, ";SECTION=", sect, sizeof sect) < 0)
			return -1;
	}
	if (strncmp(p, "/;", 2) == 0 && strncasecmp(p + 1, ";PARTIAL=", 9) == 0) {
		const char *q = num;

		p++;
		if (url_field(&p, ";PARTIAL=", num, sizeof num) < 0 || (poff = imap_number32(&q, 0)) < 0 ||
		    (*q == '.' ? (plen = imap_number32_span(q + 1, strlen(q + 1), 1)) < 0 : *q != '\0'))
			return -1;
	}
	if (*p != '\0')
		return -1;
	if (strcasecmp(name, "INBOX") == 0)
		strcpy(name, "INBOX");
	if (!store_name_ok(name) || store_path(s->root, name, path, sizeof path) < 0 ||
	    !store_exists(path) || store_open(&f, path, name, 1) < 0 || store_load(&f) < 0)
		goto out;
	if (uidvalidity && uidvalidity != f.uidvalidity)
		goto out;
	for (size_t i = 0; i < f.n; i++)
		if (f.m[i].uid == uid)
			m = &f.m[i];
	if (m == NULL || store_map(&f, m, &md.p, &md.len) < 0)
		goto out;
	md.hlen = hdr_length(md.p, md.len, NULL);
	struct buf w = { 0 };
	struct mime_range r;
	if (sect[0] == '\0') {
		mime_wire_copy(md.p, md.len, &w);
		rc = 0;
	} else if (mime_section(mroot(&md), sect, &r) == SECT_OK && r.spec != SPEC_FIELDS &&
	    r.spec != SPEC_FIELDS_NOT) {
		mime_wire_copy(md.p + r.off, r.len, &w);
		rc = 0;
	}
	if (rc == 0) {
		size_t from = (uint64_t)poff < w.len ? (size_t)poff : w.len;
		size_t len = plen < 0 || w.len - from < (uint64_t)plen ? w.len - from : (size_t)plen;

		buf_add(out, w.p ? w.p + from : "", len);
	}
	buf_free(&w);
	if (md.parsed)
		mime_free(&md.mm);
	store_unmap(md.p, md.len);
out:
	store_close(&f);
	return rc;
}

/* ---- for NOTIFY (notify.c): MessageNew's fetch-att ---- */

struct fetch *fetch_compile(const struct imap_arg *a)
{
	struct fetch *fe = xmalloc(sizeof *fe);

	if (parse_fetch(fe, a) < 0 || fe->has_modseq) {
		fetch_compiled_free(fe);
		return NULL;
	}
	return fe;
}

void fetch_compiled_free(struct fetch *fe)
{
	if (fe == NULL)
		return;
	fetch_free(fe);
	free(fe);
}

/* The messages from index from on, as FETCH does them: with CONDSTORE,
 * \Seen first and one rescan, so that each response carries the MODSEQ
 * of its own change (RFC 7162 3.1.4).  That rescan may find more new
 * messages (told by EXISTS): they are fetched in turn. */
void fetch_send_new(struct session *s, const struct fetch *fe, size_t from)
{
	while (from < s->sel.n) {
		size_t n = s->sel.n - from, *idx = xcalloc(n, sizeof *idx);

		for (size_t i = 0; i < n; i++)
			idx[i] = from + i;
		fetch_messages(s, idx, n, fe, -1);
		free(idx);
		from += n;
	}
}
