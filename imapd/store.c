/* store.c — Maildir++ storage with persistent UIDs (see store.h).
 *
 * A scan, under the folder's lock, reads the UID list, reads cur/ and new/,
 * gives the next UIDs to files the list does not know (in file name order,
 * which is delivery order for Maildir names), drops names that vanished,
 * and replaces the list if anything changed.  A session then merges that
 * snapshot into its own view and tells the client what changed.  Nothing
 * is scanned when the mtimes of cur/, new/ and the list are what they were
 * at the last scan, so NOOP and IDLE polls cost three stat calls. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "durable.h"
#include "err.h"
#include "parse.h"
#include "quota.h"
#include "store.h"

#define UIDLIST_MAGIC "maillab-uidlist 1"
#define STORE_MMAP_MIN (256 * 1024)    /* smaller messages are read, larger mapped */
#define STORE_PREALLOC_MAX (1u << 22)  /* entries allocated ahead from a list's count */
#define STORE_RACY_NS 2000000000LL      /* trust directory mtimes only this long after a change */

struct ent {
	uint32_t uid;
	unsigned flags;
	int      in_new, found;
	char    *base, *name, *extra;
	uint64_t wsize;
	time_t   date;
	uint64_t modseq;
};

struct list {
	uint32_t uidvalidity, uidnext, recent_from;
	long long cur_ns, new_ns;       /* mtimes of cur/ and new/ when the names were read */
	long long scan_ns;              /* when that was */
	struct store_summary sum;
	uint32_t claimed_from;  /* first UID \Recent for the scanning session */
	struct ent *e;
	size_t   n, cap;
	int      changed;
	uint64_t highest;       /* HIGHESTMODSEQ (RFC 7162) */
	uint64_t floor;         /* expunges up to this MODSEQ may be forgotten */
	uint64_t next;          /* the MODSEQ this scan gives the changes it finds */
	int      bumped;        /* this scan found a change and used next */
	struct vanished *van;   /* expunges remembered, by ascending MODSEQ */
	size_t   nvan, vcap;
};

static void list_free(struct list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].base);
		free(l->e[i].name);
		free(l->e[i].extra);
	}
	free(l->e);
	free(l->van);
	memset(l, 0, sizeof *l);
}

static void van_add(struct list *l, uint32_t uid, uint64_t modseq)
{
	if (l->nvan == l->vcap) {
		l->vcap = l->vcap ? l->vcap * 2 : 64;
		l->van = xrealloc(l->van, l->vcap * sizeof *l->van);
	}
	l->van[l->nvan].uid = uid;
	l->van[l->nvan++].modseq = modseq;
}

/* Forget the oldest expunges beyond STORE_VANISHED_MAX: the floor rises to
 * the last MODSEQ forgotten, below which QRESYNC answers as if anything
 * not in the folder may have vanished. */
static void van_trim(struct list *l)
{
	size_t drop;

	if (l->nvan <= STORE_VANISHED_MAX)
		return;
	drop = l->nvan - STORE_VANISHED_MAX;
	if (l->van[drop - 1].modseq > l->floor)
		l->floor = l->van[drop - 1].modseq;
	memmove(l->van, l->van + drop, STORE_VANISHED_MAX * sizeof *l->van);
	l->nvan = STORE_VANISHED_MAX;
}

static struct ent *list_add(struct list *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->e = xrealloc(l->e, l->cap * sizeof *l->e);
	}
	memset(&l->e[l->n], 0, sizeof *l->e);
	l->e[l->n].wsize = SIZE_UNKNOWN;
	return &l->e[l->n++];
}

void sync_report_free(struct sync_report *r)
{
	free(r->expunged);
	free(r->expunged_uid);
	free(r->changed);
	free(r->touched);
	memset(r, 0, sizeof *r);
}

void store_flag_letters(unsigned flags, char *out)
{
	if (flags & FL_DRAFT)
		*out++ = 'D';
	if (flags & FL_FLAGGED)
		*out++ = 'F';
	if (flags & FL_ANSWERED)
		*out++ = 'R';
	if (flags & FL_SEEN)
		*out++ = 'S';
	if (flags & FL_DELETED)
		*out++ = 'T';
	for (int i = 0; i < KW_MAX; i++)
		if (flags & FL_KW(i))
			*out++ = (char)('a' + i);
	*out = '\0';
}

/* ---- names and paths ---- */

int store_name_ok(const char *name)
{
	struct buf b = { 0 };
	size_t n = strlen(name);
	int ok;

	if (n == 0 || n > STORE_NAME_MAX || strchr(name, '/') || name[0] == '.' ||
	    name[n - 1] == '.' || strstr(name, "..") || strpbrk(name, "~*%"))
		return 0;
	ok = mutf7_decode(name, &b) == 0;
	buf_free(&b);
	return ok;
}

int store_path(const char *root, const char *name, char *path, size_t cap)
{
	int k;

	if (strcasecmp(name, "INBOX") == 0)
		k = snprintf(path, cap, "%s", root);
	else
		k = snprintf(path, cap, "%s/.%s", root, name);
	return k < 0 || (size_t)k >= cap ? -1 : 0;
}

int store_exists(const char *path)
{
	char p[STORE_PATH_MAX + 8];
	struct stat st;

	snprintf(p, sizeof p, "%s/cur", path);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int store_make_maildir(const char *path, int marker)
{
	static const char *const sub[] = { "", "/cur", "/new", "/tmp" };
	char p[STORE_PATH_MAX + 16];

	for (size_t i = 0; i < sizeof sub / sizeof *sub; i++) {
		snprintf(p, sizeof p, "%s%s", path, sub[i]);
		if (mkdir_durable(p, 0700) < 0)
			return -1;
	}
	if (marker) {
		int fd;

		snprintf(p, sizeof p, "%s/maildirfolder", path);
		if ((fd = open(p, O_WRONLY | O_CREAT, 0600)) >= 0)
			close(fd);
	}
	return 0;
}

/* ---- file names ---- */

/* Split a file name "base:2,FLAGS" into its parts. */
static void parse_name(const char *name, char **base, unsigned *flags, char **extra)
{
	const char *colon = strchr(name, ':');
	char ex[64] = "";
	size_t ne = 0;

	*base = colon ? xstrndup(name, (size_t)(colon - name)) : xstrdup(name);
	*flags = 0;
	if (colon && strncmp(colon, ":2,", 3) == 0) {
		for (const char *p = colon + 3; *p; p++) {
			switch (*p) {
			case 'D': *flags |= FL_DRAFT; break;
			case 'F': *flags |= FL_FLAGGED; break;
			case 'R': *flags |= FL_ANSWERED; break;
			case 'S': *flags |= FL_SEEN; break;
			case 'T': *flags |= FL_DELETED; break;
			default:
				if (*p >= 'a' && *p <= 'z') {
					*flags |= FL_KW(*p - 'a');
					break;
				}
				if (ne + 1 < sizeof ex && !strchr(ex, *p) && *p > ' ' && *p < 0x7f)
					ex[ne++] = *p;
				ex[ne] = '\0';
			}
		}
	}
	ex[ne] = '\0';
	*extra = ne ? xstrdup(ex) : NULL;
}

static int cmpchar(const void *a, const void *b)
{
	return *(const char *)a - *(const char *)b;
}

/* "base:2,FLAGS" with the letters in ASCII order, as Maildir asks. */
static char *make_name(const char *base, unsigned flags, const char *extra)
{
	char letters[128];
	size_t n;

	store_flag_letters(flags, letters);
	n = strlen(letters);
	if (extra && n + strlen(extra) < sizeof letters) {
		strcpy(letters + n, extra);
		n += strlen(extra);
	}
	qsort(letters, n, 1, cmpchar);
	struct buf b = { 0 };
	buf_printf(&b, "%s:2,%s", base, letters);
	return buf_take(&b);
}

/* A size field of a Dovecot-style base name: tag ",W=" (the wire size,
 * CRLF line ends) or ",S=" (the file size); SIZE_UNKNOWN without one. */
static uint64_t name_size(const char *base, const char *tag)
{
	const char *w = strstr(base, tag);
	char *end;
	unsigned long long v;

	if (w == NULL)
		return SIZE_UNKNOWN;
	v = strtoull(w + 3, &end, 10);
	return end == w + 3 ? SIZE_UNKNOWN : (uint64_t)v;
}

/* ---- keywords ---- */

static int keyword_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > KW_NAME_MAX || name[0] == '\\')
		return 0;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || strchr("(){%*\"\\]", *p))
			return 0;
	return 1;
}

static void read_keywords(const char *path, char *kw[KW_MAX])
{
	char p[STORE_PATH_MAX + 32], line[KW_NAME_MAX + 16];
	FILE *f;

	for (int i = 0; i < KW_MAX; i++)
		kw[i] = NULL;
	snprintf(p, sizeof p, "%s/%s", path, STORE_KEYWORDS);
	if ((f = fopen(p, "r")) == NULL)
		return;
	while (fgets(line, sizeof line, f)) {
		char name[KW_NAME_MAX + 1];
		int i;

		if (sscanf(line, "%d %64s", &i, name) == 2 && i >= 0 && i < KW_MAX && kw[i] == NULL &&
		    keyword_ok(name))
			kw[i] = xstrdup(name);
	}
	fclose(f);
}

static void free_keywords(char *kw[KW_MAX])
{
	for (int i = 0; i < KW_MAX; i++) {
		free(kw[i]);
		kw[i] = NULL;
	}
}

static int write_keywords(const char *path, char *kw[KW_MAX])
{
	char p[STORE_PATH_MAX + 32], t[STORE_PATH_MAX + 64];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", path, STORE_KEYWORDS);
	snprintf(t, sizeof t, "%s.tmp.%ld", p, (long)getpid());
	if ((f = fopen(t, "w")) == NULL)
		return -1;
	for (int i = 0; i < KW_MAX; i++)
		if (kw[i])
			fprintf(f, "%d %s\n", i, kw[i]);
	if (file_sync(f) < 0) {
		fclose(f);
		unlink(t);
		return -1;
	}
	/* The letters a-z in file names mean these names: lost, they would
	 * mean nothing after a power loss. */
	if (fclose(f) != 0 || rename(t, p) != 0 || dir_sync(path) < 0) {
		unlink(t);
		return -1;
	}
	return 0;
}

int store_keyword(const char *path, const char *name, int create)
{
	char p[STORE_PATH_MAX + 32], *kw[KW_MAX];
	int lock = -1, found = -1, free_slot = -1;

	if (!keyword_ok(name))
		return -1;
	if (create) {
		snprintf(p, sizeof p, "%s/%s", path, STORE_LOCK);
		if ((lock = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) >= 0)
			flock(lock, LOCK_EX);
	}
	read_keywords(path, kw);
	for (int i = 0; i < KW_MAX && found < 0; i++) {
		if (kw[i] && strcasecmp(kw[i], name) == 0)
			found = i;
		else if (!kw[i] && free_slot < 0)
			free_slot = i;
	}
	if (found < 0 && create && free_slot >= 0) {
		kw[free_slot] = xstrdup(name);
		if (write_keywords(path, kw) == 0)
			found = free_slot;
	}
	free_keywords(kw);
	if (lock >= 0)
		close(lock);
	return found;
}

unsigned store_keywords_load(struct folder *f)
{
	unsigned n = 0;

	free_keywords(f->kw);
	read_keywords(f->path, f->kw);
	for (int i = 0; i < KW_MAX; i++)
		n += f->kw[i] != NULL;
	return n;
}

/* ---- the UID list ---- */

static long long ns_of(struct timespec t)
{
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The list: a header, then "UID [N] [Wsize] [Tdate] [Mmodseq] :file-name"
 * lines in ascending UID order (N: the file is in new/), then "-UID MODSEQ"
 * lines, the expunges remembered for QRESYNC, by ascending MODSEQ.  The
 * header also holds the mtimes of cur/ and new/ when the names were last
 * read and when that was, and a summary (messages, unseen, first unseen,
 * \Recent, in new/) so that SELECT of an unchanged folder needs only the
 * header; then " H<highestmodseq> E<floor>" (RFC 7162).  A list written
 * before mod-sequences has neither: its HIGHESTMODSEQ and every MODSEQ are
 * 1, and an older imapd skips the new fields and the "-" lines. */
static int read_header(FILE *f, struct list *l)
{
	char *line = NULL;
	size_t cap = 0;
	int ok = getline(&line, &cap, f) > 0 && strncmp(line, UIDLIST_MAGIC, strlen(UIDLIST_MAGIC)) == 0 &&
	    getline(&line, &cap, f) > 0 &&
	    sscanf(line, "V%u N%u R%u C%lld D%lld S%lld M%u U%u F%u Q%u X%u", &l->uidvalidity,
	    &l->uidnext, &l->recent_from, &l->cur_ns, &l->new_ns, &l->scan_ns, &l->sum.messages,
	    &l->sum.unseen, &l->sum.first_unseen, &l->sum.recent, &l->sum.in_new) == 11;
	const char *h = ok ? strstr(line, " H") : NULL;

	l->highest = 1;
	l->floor = 0;
	if (h && sscanf(h, " H%" SCNu64 " E%" SCNu64, &l->highest, &l->floor) < 1)
		l->highest = 1;
	if (l->highest == 0 || l->highest > INT64_MAX)   /* RFC 7162: 1 to 2^63 - 1 */
		l->highest = 1;
	if (l->floor > l->highest)
		l->floor = l->highest;
	free(line);
	return ok ? 0 : -1;
}

static void read_entries(FILE *f, struct list *l)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t k;
	uint32_t last = 0;

	while ((k = getline(&line, &cap, f)) > 0) {
		char *q, *colon;
		struct ent *e;
		unsigned long uid = strtoul(line, &q, 10);

		if (line[k - 1] == '\n')
			line[--k] = '\0';
		if (line[0] == '-') {
			uint32_t vu;
			uint64_t vm;

			/* an expunge: ascending MODSEQs, at most the highest */
			if (sscanf(line, "-%" SCNu32 " %" SCNu64, &vu, &vm) == 2 && vu > 0 &&
			    vu < l->uidnext && vm > 0 && vm <= l->highest &&
			    (l->nvan == 0 || vm >= l->van[l->nvan - 1].modseq) && l->nvan < STORE_VANISHED_MAX)
				van_add(l, vu, vm);
			continue;
		}
		/* A name is one path step: with the header's mtimes current the
		 * names are used without reading cur/ and new/, so a '/' in a
		 * forged list would reach files outside the folder. */
		if ((colon = strstr(q, " :")) == NULL || colon[2] == '\0' || strchr(colon + 2, '/') ||
		    uid == 0 || uid <= last || uid >= l->uidnext)
			continue;       /* damaged line: the file gets a new UID */
		e = list_add(l);
		e->uid = (uint32_t)(last = (uint32_t)uid);
		e->modseq = 1;
		e->name = xstrdup(colon + 2);
		*colon = '\0';
		for (char *t = strtok(q, " "); t; t = strtok(NULL, " ")) {
			if (t[0] == 'W')
				e->wsize = strtoull(t + 1, NULL, 10);
			else if (t[0] == 'T')
				e->date = (time_t)strtoll(t + 1, NULL, 10);
			else if (t[0] == 'N')
				e->in_new = 1;
			else if (t[0] == 'M') {
				uint64_t v = strtoull(t + 1, NULL, 10);

				e->modseq = v >= 1 && v <= l->highest ? v : l->highest;
			}
		}
		parse_name(e->name, &e->base, &e->flags, &e->extra);
	}
	free(line);
}

static int read_uidlist(const char *path, struct list *l)
{
	char p[STORE_PATH_MAX + 32];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", path, STORE_UIDLIST);
	if ((f = fopen(p, "r")) == NULL)
		return errno == ENOENT ? 0 : -1;
	if (read_header(f, l) < 0)
		l->uidvalidity = 0;     /* unreadable: start again with a new UIDVALIDITY */
	else
		read_entries(f, l);
	fclose(f);
	return 0;
}

static void summarise(struct list *l)
{
	memset(&l->sum, 0, sizeof l->sum);
	l->sum.messages = (uint32_t)l->n;
	for (size_t i = 0; i < l->n; i++) {
		const struct ent *e = &l->e[i];

		if (!(e->flags & FL_SEEN) && l->sum.unseen++ == 0)
			l->sum.first_unseen = (uint32_t)i + 1;
		l->sum.recent += e->uid >= l->recent_from;
		l->sum.in_new += e->in_new;
	}
}

static int write_uidlist(const char *path, const struct list *l)
{
	char p[STORE_PATH_MAX + 32], t[STORE_PATH_MAX + 64];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", path, STORE_UIDLIST);
	snprintf(t, sizeof t, "%s/%s.tmp.%ld", path, STORE_UIDLIST, (long)getpid());
	if ((f = fopen(t, "w")) == NULL)
		return -1;
	summarise((struct list *)l);
	fprintf(f, "%s\nV%u N%u R%u C%lld D%lld S%lld M%u U%u F%u Q%u X%u H%" PRIu64 " E%" PRIu64 "\n",
	    UIDLIST_MAGIC, l->uidvalidity, l->uidnext, l->recent_from, l->cur_ns, l->new_ns,
	    l->scan_ns, l->sum.messages, l->sum.unseen, l->sum.first_unseen, l->sum.recent,
	    l->sum.in_new, l->highest, l->floor);
	for (size_t i = 0; i < l->n; i++) {
		const struct ent *e = &l->e[i];

		fprintf(f, "%u", e->uid);
		if (e->in_new)
			fputs(" N", f);
		if (e->wsize != SIZE_UNKNOWN && name_size(e->base, ",W=") != e->wsize)
			fprintf(f, " W%llu", (unsigned long long)e->wsize);
		if (e->date)
			fprintf(f, " T%lld", (long long)e->date);
		if (e->modseq > 1)
			fprintf(f, " M%" PRIu64, e->modseq);
		fprintf(f, " :%s\n", e->name);
	}
	for (size_t i = 0; i < l->nvan; i++)
		fprintf(f, "-%" PRIu32 " %" PRIu64 "\n", l->van[i].uid, l->van[i].modseq);
	/* The list must be on disk before any UID in it is told to a client:
	 * an older list surviving a power loss would give those UIDs again
	 * under the same UIDVALIDITY (RFC 3501 2.3.1.1).  File, then name. */
	if (file_sync(f) < 0) {
		fclose(f);
		unlink(t);
		return -1;
	}
	if (fclose(f) != 0 || rename(t, p) != 0 || dir_sync(path) < 0) {
		unlink(t);
		return -1;
	}
	return 0;
}

/* ---- a hash of base names, for matching directory entries to the list ---- */

struct index {
	size_t *slot;           /* entry index + 1, 0: empty */
	size_t  mask;
};

static size_t hash_str(const char *s)
{
	size_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static void index_build(struct index *ix, const struct list *l)
{
	size_t size = 16;

	while (size < l->n * 2 + 16)
		size *= 2;
	ix->slot = xcalloc(size, sizeof *ix->slot);
	ix->mask = size - 1;
	for (size_t i = 0; i < l->n; i++) {
		size_t h = hash_str(l->e[i].base) & ix->mask;

		while (ix->slot[h])
			h = (h + 1) & ix->mask;
		ix->slot[h] = i + 1;
	}
}

static struct ent *index_find(const struct index *ix, struct list *l, const char *base, size_t blen)
{
	size_t h = 1469598103934665603ull;

	for (size_t i = 0; i < blen; i++)
		h = (h ^ (unsigned char)base[i]) * 1099511628211ull;
	for (h &= ix->mask; ix->slot[h]; h = (h + 1) & ix->mask) {
		struct ent *e = &l->e[ix->slot[h] - 1];

		if (strncmp(e->base, base, blen) == 0 && e->base[blen] == '\0')
			return e;
	}
	return NULL;
}

/* ---- scanning ---- */

struct newfile {
	char *name;
	int   in_new;
};

/* A leading number of a name, and where it ends. */
static unsigned long long lead_num(const char *s, const char **end)
{
	unsigned long long v = 0;

	for (*end = s; **end >= '0' && **end <= '9' && v < 1000000000000000000ULL; (*end)++)
		v = v * 10 + (unsigned long long)(**end - '0');
	return v;
}

/* New files are numbered in the order they came: by the seconds and then
 * the microseconds of their names ("SECS.MUSEC..."), compared as numbers,
 * since writers do not all pad the microseconds ("M99876" came before
 * "M100234"); other names by their bytes. */
static int cmp_newfile(const void *a, const void *b)
{
	const char *x = ((const struct newfile *)a)->name, *y = ((const struct newfile *)b)->name;
	const char *xe, *ye;
	unsigned long long xs = lead_num(x, &xe), ys = lead_num(y, &ye);

	if (xe != x && ye != y) {
		if (xs != ys)
			return xs < ys ? -1 : 1;
		if (xe[0] == '.' && xe[1] == 'M' && ye[0] == '.' && ye[1] == 'M') {
			const char *xu = xe + 2, *yu = ye + 2;
			unsigned long long xm = lead_num(xu, &xe), ym = lead_num(yu, &ye);

			if (xe != xu && ye != yu && xm != ym)
				return xm < ym ? -1 : 1;
		}
	}
	return strcmp(x, y);
}

static int read_dir(const char *path, const char *sub, struct list *l, struct index *ix,
    struct newfile **nf, size_t *nnf, size_t *cap)
{
	char p[STORE_PATH_MAX + 8];
	struct dirent *d;
	DIR *dir;

	snprintf(p, sizeof p, "%s/%s", path, sub);
	if ((dir = opendir(p)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		const char *colon;
		struct ent *e;

		if (d->d_name[0] == '.')
			continue;
		colon = strchr(d->d_name, ':');
		e = index_find(ix, l, d->d_name, colon ? (size_t)(colon - d->d_name) : strlen(d->d_name));
		if (e && !e->found) {
			char *b;

			e->found = 1;
			if (e->in_new == (sub[0] == 'n') && e->name && strcmp(e->name, d->d_name) == 0)
				continue;
			l->changed = 1;
			e->modseq = l->next;    /* renamed: its flags changed */
			l->bumped = 1;
			e->in_new = sub[0] == 'n';
			free(e->name);
			free(e->extra);
			e->name = xstrdup(d->d_name);
			parse_name(d->d_name, &b, &e->flags, &e->extra);
			free(b);
			continue;
		}
		if (e)
			continue;       /* the same base twice: keep the first */
		if (*nnf == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*nf = xrealloc(*nf, *cap * sizeof **nf);
		}
		(*nf)[*nnf].name = xstrdup(d->d_name);
		(*nf)[(*nnf)++].in_new = sub[0] == 'n';
	}
	closedir(dir);
	return 0;
}

/* Move a file from new/ to cur/, adding the ":2," suffix (Maildir: a
 * message the client has seen is no longer new). */
static void move_to_cur(const char *path, struct ent *e)
{
	char from[STORE_PATH_MAX + 300], to[STORE_PATH_MAX + 300];
	char *name = make_name(e->base, e->flags, e->extra);

	snprintf(from, sizeof from, "%s/new/%s", path, e->name);
	snprintf(to, sizeof to, "%s/cur/%s", path, name);
	if (rename(from, to) == 0) {
		free(e->name);
		e->name = name;
		e->in_new = 0;
	} else {
		free(name);
	}
}

static struct msg *view_find(const struct folder *f, uint32_t uid)
{
	size_t lo = 0, hi = f ? f->n : 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (f->m[mid].uid == uid)
			return &f->m[mid];
		if (f->m[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A UIDVALIDITY never used before in this folder, even within the same
 * second: the last one given is kept in its own small file (as Dovecot
 * keeps dovecot-uidvalidity), beside the list it outlives. */
/* Where the last UIDVALIDITY handed out is kept: in the Maildir's root,
 * not in the folder (a folder of Maildir++ holds "maildirfolder" and sits
 * right under the root), so that a folder deleted and created again in
 * the same second still gets a new value (RFC 3501 2.3.1.1). */
static void uidvalidity_file(const char *path, char *p, size_t cap)
{
	char marker[STORE_PATH_MAX + 32];
	const char *slash = strrchr(path, '/');

	snprintf(marker, sizeof marker, "%s/maildirfolder", path);
	if (slash != NULL && slash != path && access(marker, F_OK) == 0)
		snprintf(p, cap, "%.*s/%s", (int)(slash - path), path, STORE_UIDVALIDITY);
	else
		snprintf(p, cap, "%s/%s", path, STORE_UIDVALIDITY);
}

/* A UIDVALIDITY greater than every one given before in this Maildir (the
 * time, or the last one plus one); 0 if it cannot be recorded, since one
 * that is not recorded could be given again. */
static uint32_t new_uidvalidity(const char *path)
{
	char p[STORE_PATH_MAX + 32], t[STORE_PATH_MAX + 64];
	uint32_t uv = (uint32_t)time(NULL), last = 0;
	FILE *f;

	uidvalidity_file(path, p, sizeof p);
	if ((f = fopen(p, "r")) != NULL) {
		if (fscanf(f, "%u", &last) != 1)
			last = 0;
		fclose(f);
	}
	if (last >= uv)
		uv = last + 1;
	if (uv == 0)
		uv = 1;
	snprintf(t, sizeof t, "%s.tmp.%ld", p, (long)getpid());
	if ((f = fopen(t, "w")) == NULL)
		return 0;
	fprintf(f, "%u\n", uv);
	if (file_sync(f) < 0) {
		fclose(f);
		unlink(t);
		return 0;
	}
	if (fclose(f) != 0 || rename(t, p) != 0 || parent_sync(p) < 0) {
		unlink(t);
		return 0;
	}
	return uv;
}

/* Whether the names in the list are those in cur/ and new/: neither
 * directory changed since they were read, and that reading came well
 * after the last change (a change in the same clock tick as the reading
 * would not show in the mtime).  Otherwise record the mtimes now, before
 * reading the directories, so a change during the reading shows later. */
static int names_current(const char *path, struct list *l)
{
	char p[STORE_PATH_MAX + 8];
	struct stat c, n;
	struct timespec now;
	long long cns, nns;

	snprintf(p, sizeof p, "%s/cur", path);
	if (stat(p, &c) < 0)
		return 0;
	snprintf(p, sizeof p, "%s/new", path);
	if (stat(p, &n) < 0)
		return 0;
	cns = ns_of(c.st_mtim);
	nns = ns_of(n.st_mtim);
	if (l->uidvalidity && cns == l->cur_ns && nns == l->new_ns &&
	    l->scan_ns - (cns > nns ? cns : nns) >= STORE_RACY_NS)
		return 1;
	clock_gettime(CLOCK_REALTIME, &now);
	l->cur_ns = cns;
	l->new_ns = nns;
	l->scan_ns = ns_of(now);
	l->changed = 1;
	return 0;
}

/* Scan the Maildir at path into l, under the lock.  claim: take the
 * \Recent messages for this session; cur: move new/ files into cur/;
 * known: a view whose cached sizes and dates go into the list. */
static int scan(const char *path, struct list *l, int claim, int tocur, const struct folder *known)
{
	char p[STORE_PATH_MAX + 32];
	struct newfile *nf = NULL;
	size_t nnf = 0, cap = 0, keep = 0;
	struct index ix;
	int lock, rc = -1, fresh = 0;
	uint32_t first_new = 0;

	memset(l, 0, sizeof *l);
	snprintf(p, sizeof p, "%s/%s", path, STORE_LOCK);
	lock = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock >= 0 && flock(lock, LOCK_EX) < 0) {
		close(lock);
		lock = -1;
	}
	if (read_uidlist(path, l) < 0)
		goto out;
	if (l->uidvalidity == 0) {
		list_free(l);
		if (lock >= 0 && (l->uidvalidity = new_uidvalidity(path)) == 0)
			goto out;       /* e.g. a full disk: no UIDVALIDITY that could change */
		if (l->uidvalidity == 0)
			l->uidvalidity = (uint32_t)time(NULL);  /* read-only: nothing kept anyway */
		l->uidnext = l->recent_from = 1;
		l->highest = 1;
		l->changed = 1;
		fresh = 1;
	}
	l->next = l->highest + 1;
	if (names_current(path, l)) {
		for (size_t i = 0; i < l->n; i++)
			l->e[i].found = 1;
	} else {
		index_build(&ix, l);
		if (read_dir(path, "cur", l, &ix, &nf, &nnf, &cap) < 0 ||
		    read_dir(path, "new", l, &ix, &nf, &nnf, &cap) < 0) {
			free(ix.slot);
			goto out;
		}
		free(ix.slot);
	}
	for (size_t i = 0; i < l->n; i++) {
		struct ent *e = &l->e[i];
		struct msg *m;

		if (!e->found) {
			free(e->base);
			free(e->name);
			free(e->extra);
			van_add(l, e->uid, l->next);
			l->bumped = 1;
			l->changed = 1;
			continue;
		}
		if (known && (m = view_find(known, e->uid)) != NULL) {
			if (e->wsize == SIZE_UNKNOWN && m->wsize != SIZE_UNKNOWN)
				e->wsize = m->wsize, l->changed = 1;
			if (e->date == 0 && m->date != 0)
				e->date = m->date, l->changed = 1;
		}
		l->e[keep++] = *e;
	}
	l->n = keep;
	first_new = l->uidnext;
	if (nnf > 1)
		qsort(nf, nnf, sizeof *nf, cmp_newfile);
	for (size_t i = 0; i < nnf; i++) {
		struct ent *e = list_add(l);

		e->uid = l->uidnext++;
		e->modseq = l->next;
		l->bumped = 1;
		e->found = 1;
		e->in_new = nf[i].in_new;
		e->name = nf[i].name;
		parse_name(e->name, &e->base, &e->flags, &e->extra);
		l->changed = 1;
	}
	free(nf);
	if (l->bumped)
		l->highest = l->next;
	van_trim(l);
	l->claimed_from = l->recent_from;
	if (claim && l->recent_from != l->uidnext) {
		l->recent_from = l->uidnext;
		l->changed = 1;
	}
	if (tocur)
		for (size_t i = 0; i < l->n; i++)
			if (l->e[i].in_new)
				move_to_cur(path, &l->e[i]);
	if (l->changed && lock >= 0 && write_uidlist(path, l) < 0) {
		/* UIDs not written down could be given again to other files
		 * later: the new files wait, unnumbered, for a list that can be
		 * written (a full disk, say); the rest needs no saving. */
		if (fresh)
			goto out;
		for (size_t i = keep; i < l->n; i++) {
			free(l->e[i].base);
			free(l->e[i].name);
			free(l->e[i].extra);
		}
		l->n = keep;
		l->uidnext = first_new;
		if (l->recent_from > first_new)
			l->recent_from = first_new;
		if (l->claimed_from > first_new)
			l->claimed_from = first_new;
	}
	rc = 0;
out:
	if (lock >= 0)
		close(lock);
	if (rc < 0)
		list_free(l);
	return rc;
}

/* ---- the session's view ---- */

static void msg_free(struct msg *m)
{
	free(m->base);
	free(m->name);
	free(m->extra);
}

static void take_ent(struct msg *m, struct ent *e)
{
	m->base = e->base;
	m->name = e->name;
	m->extra = e->extra;
	m->in_new = e->in_new;
	if (m->wsize == SIZE_UNKNOWN)
		m->wsize = e->wsize != SIZE_UNKNOWN ? e->wsize : name_size(e->base, ",W=");
	if (m->date == 0)
		m->date = e->date;
	e->base = e->name = e->extra = NULL;
}

static void stat_times(const char *path, struct timespec *c, struct timespec *n, struct timespec *l)
{
	char p[STORE_PATH_MAX + 32];
	struct stat st;

	snprintf(p, sizeof p, "%s/cur", path);
	*c = stat(p, &st) == 0 ? st.st_mtim : (struct timespec){ 0, 0 };
	snprintf(p, sizeof p, "%s/new", path);
	*n = stat(p, &st) == 0 ? st.st_mtim : (struct timespec){ 0, 0 };
	snprintf(p, sizeof p, "%s/%s", path, STORE_UIDLIST);
	*l = stat(p, &st) == 0 ? st.st_mtim : (struct timespec){ 0, 0 };
}

static int same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static void report_add(uint32_t **v, size_t *n, uint32_t x)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = x;
}

static void report_index(size_t **v, size_t *n, size_t i)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = i;
}

/* Merge the snapshot l into f's view. */
static void merge(struct folder *f, struct list *l, int allow_expunge, struct sync_report *r)
{
	size_t i = 0, j = 0, keep = 0, n0 = f->n;
	uint32_t removed = 0;

	for (; i < f->n; i++) {
		struct msg *m = &f->m[i];

		while (j < l->n && l->e[j].uid < m->uid)
			j++;
		if (j == l->n || l->e[j].uid != m->uid) {
			if (allow_expunge) {
				size_t nx = r->nexpunged;

				report_add(&r->expunged_uid, &nx, m->uid);
				report_add(&r->expunged, &r->nexpunged, (uint32_t)(i + 1 - removed));
				removed++;
				hcache_drop(f, m->uid);
				msg_free(m);
				continue;
			}
			m->gone = 1;
		} else {
			unsigned old = m->flags & ~(unsigned)FL_RECENT;
			uint64_t oldmod = m->modseq;

			msg_free(m);
			m->gone = 0;
			take_ent(m, &l->e[j]);
			m->modseq = l->e[j].modseq;
			if (old != l->e[j].flags) {
				m->flags = l->e[j].flags | (m->flags & FL_RECENT);
				report_index(&r->changed, &r->nchanged, keep);
			} else if (oldmod != m->modseq) {
				/* changed and changed back since we looked: the flags
				 * read the same, but a CONDSTORE client must learn the
				 * new MODSEQ or its view lags the others' */
				report_index(&r->touched, &r->ntouched, keep);
			}
			j++;
		}
		f->m[keep++] = *m;
	}
	f->n = keep;
	uint32_t last = f->n ? f->m[f->n - 1].uid : 0;
	if (f->cap < f->n + l->n) {     /* at most that many new: one allocation, not doublings */
		f->cap = f->n + l->n;
		f->m = xrealloc(f->m, f->cap * sizeof *f->m);
	}
	for (j = 0; j < l->n; j++) {
		struct ent *e = &l->e[j];

		if (e->uid <= last)
			continue;
		if (f->n == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 64;
			f->m = xrealloc(f->m, f->cap * sizeof *f->m);
		}
		struct msg *m = &f->m[f->n++];
		memset(m, 0, sizeof *m);
		m->uid = e->uid;
		m->wsize = SIZE_UNKNOWN;
		m->flags = e->flags;
		m->modseq = e->modseq;
		if (e->uid >= l->claimed_from)
			m->flags |= FL_RECENT;
		take_ent(m, e);
	}
	f->uidvalidity = l->uidvalidity;
	f->uidnext = l->uidnext;
	f->highestmodseq = l->highest;
	free(f->van);
	f->van = l->van;
	f->nvan = l->nvan;
	f->van_floor = l->floor;
	l->van = NULL;
	l->nvan = l->vcap = 0;
	r->exists = f->n + removed != n0;      /* news: EXPUNGE tells its own */
	r->recent = 0;
	for (i = 0; i < f->n; i++)
		if (f->m[i].flags & FL_RECENT)
			r->recent++;
}

int store_sync(struct folder *f, int allow_expunge, int force, struct sync_report *r)
{
	struct timespec c, n, lt;
	struct list l;

	memset(r, 0, sizeof *r);
	stat_times(f->path, &c, &n, &lt);
	if (f->lazy && !force && same_time(c, f->seen_cur) && same_time(n, f->seen_new) &&
	    same_time(lt, f->seen_list))
		return 0;
	store_load(f);
	if (!force && same_time(c, f->seen_cur) && same_time(n, f->seen_new) &&
	    same_time(lt, f->seen_list) && !f->dirty) {
		/* nothing changed; but gone messages may now be announced */
		if (!allow_expunge)
			return 0;
		int any = 0;
		for (size_t i = 0; i < f->n; i++)
			any |= f->m[i].gone;
		if (!any)
			return 0;
	}
	if (scan(f->path, &l, !f->readonly, !f->readonly, f) < 0)
		return -1;
	if (f->uidvalidity && l.uidvalidity != f->uidvalidity) {
		/* the list was lost or rebuilt: the UIDs of the view mean
		 * nothing any more (Dovecot disconnects the same way) */
		list_free(&l);
		errno = ESTALE;
		return -1;
	}
	f->dirty = 0;
	if (f->readonly)
		l.claimed_from = l.recent_from;
	merge(f, &l, allow_expunge, r);
	list_free(&l);
	/* The directories' times from before the scan: a change made while
	 * we read them shows next time.  The list's from after our own write
	 * of it, which is no news. */
	struct timespec after_c, after_n;
	stat_times(f->path, &after_c, &after_n, &f->seen_list);
	f->seen_cur = c;
	f->seen_new = n;
	return 0;
}

/* SELECT of a folder that did not change since its list was written
 * (and, read-write, has nothing to claim or move): read only the header,
 * and keep the list open, so the view loaded later is exactly the one
 * announced, whatever happens to the file meanwhile (it is only ever
 * replaced, never changed in place). */
static int quick_open(struct folder *f)
{
	char p[STORE_PATH_MAX + 32];
	struct list l;
	FILE *fp;

	memset(&l, 0, sizeof l);
	stat_times(f->path, &f->seen_cur, &f->seen_new, &f->seen_list);
	snprintf(p, sizeof p, "%s/%s", f->path, STORE_UIDLIST);
	if ((fp = fopen(p, "r")) == NULL)
		return 0;
	if (read_header(fp, &l) < 0 || !names_current(f->path, &l) ||
	    (!f->readonly && (l.sum.recent > 0 || l.sum.in_new > 0))) {
		fclose(fp);
		memset(&f->seen_cur, 0, sizeof f->seen_cur);
		return 0;
	}
	f->snap = fp;
	f->lazy = 1;
	f->uidvalidity = l.uidvalidity;
	f->uidnext = l.uidnext;
	f->highestmodseq = l.highest;
	f->sum = l.sum;
	if (!f->readonly)
		f->sum.recent = 0;
	return 1;
}

int store_load(struct folder *f)
{
	struct sync_report r = { 0 };
	struct list l;

	if (!f->lazy)
		return 0;
	memset(&l, 0, sizeof l);
	rewind(f->snap);
	if (read_header(f->snap, &l) == 0) {
		/* the header says how many lines follow: room for them at once
		 * (bounded: the file is only a hint) */
		l.cap = l.sum.messages < STORE_PREALLOC_MAX ? l.sum.messages : STORE_PREALLOC_MAX;
		l.e = l.cap ? xmalloc(l.cap * sizeof *l.e) : NULL;
		read_entries(f->snap, &l);
	}
	fclose(f->snap);
	f->snap = NULL;
	f->lazy = 0;
	l.claimed_from = f->readonly ? l.recent_from : l.uidnext;
	merge(f, &l, 1, &r);
	sync_report_free(&r);
	list_free(&l);
	return 0;
}

void store_summary(const struct folder *f, struct store_summary *sum)
{
	if (f->lazy) {
		*sum = f->sum;
		return;
	}
	memset(sum, 0, sizeof *sum);
	sum->messages = (uint32_t)f->n;
	for (size_t i = 0; i < f->n; i++) {
		if (!(f->m[i].flags & FL_SEEN) && sum->unseen++ == 0)
			sum->first_unseen = (uint32_t)i + 1;
		sum->recent += (f->m[i].flags & FL_RECENT) != 0;
	}
}

int store_open(struct folder *f, const char *path, const char *name, int readonly)
{
	struct sync_report r;

	snprintf(f->path, sizeof f->path, "%s", path);
	snprintf(f->name, sizeof f->name, "%s", name);
	f->readonly = readonly;
	if (!store_exists(path)) {
		errno = ENOENT;
		return -1;
	}
	if (quick_open(f))
		return 0;
	if (store_sync(f, 1, 1, &r) < 0)
		return -1;
	sync_report_free(&r);
	return 0;
}

void store_close(struct folder *f)
{
	struct sync_report r;

	if (f->snap) {
		fclose(f->snap);        /* nothing learnt: the view was never loaded */
		f->snap = NULL;
		f->lazy = 0;
	}
	free_keywords(f->kw);
	/* write back sizes and dates learnt in this session */
	if (f->dirty && f->path[0] && store_sync(f, 0, 1, &r) == 0)
		sync_report_free(&r);
	for (size_t i = 0; i < f->n; i++)
		msg_free(&f->m[i]);
	free(f->m);
	free(f->van);
	hcache_free(f);
	memset(f, 0, sizeof *f);
}

/* ---- messages ---- */

static int msg_path(const struct folder *f, const struct msg *m, char *p, size_t cap)
{
	int k = snprintf(p, cap, "%s/%s/%s", f->path, m->in_new ? "new" : "cur", m->name);

	return k < 0 || (size_t)k >= cap ? -1 : 0;
}

/* The file of m was renamed by someone else: find it again by base.  The
 * flags its name now holds go in *disk when disk is not NULL. */
static int relocate_flags(struct folder *f, struct msg *m, unsigned *disk)
{
	static const char *const subs[] = { "cur", "new" };
	size_t blen = strlen(m->base);

	for (size_t s = 0; s < 2; s++) {
		char p[STORE_PATH_MAX + 8];
		struct dirent *d;
		DIR *dir;

		snprintf(p, sizeof p, "%s/%s", f->path, subs[s]);
		if ((dir = opendir(p)) == NULL)
			continue;
		while ((d = readdir(dir)) != NULL) {
			if (strncmp(d->d_name, m->base, blen) != 0 ||
			    (d->d_name[blen] != '\0' && d->d_name[blen] != ':'))
				continue;
			char *b;
			unsigned fl;
			free(m->name);
			free(m->extra);
			m->name = xstrdup(d->d_name);
			parse_name(d->d_name, &b, &fl, &m->extra);
			free(b);
			if (disk != NULL)
				*disk = fl;
			m->in_new = s == 1;
			closedir(dir);
			return 0;
		}
		closedir(dir);
	}
	m->gone = 1;
	return -1;
}

static int relocate(struct folder *f, struct msg *m)
{
	return relocate_flags(f, m, NULL);
}

static int open_msg(struct folder *f, struct msg *m)
{
	char p[STORE_PATH_MAX + 600];
	int fd;

	if (m->gone)
		return -1;
	if (msg_path(f, m, p, sizeof p) == 0 && (fd = open(p, O_RDONLY | O_CLOEXEC)) >= 0)
		return fd;
	if (relocate(f, m) < 0 || msg_path(f, m, p, sizeof p) < 0)
		return -1;
	return open(p, O_RDONLY | O_CLOEXEC);
}

static uint64_t wire_size(const char *d, size_t n)
{
	uint64_t w = n;

	for (const char *p = d, *e = d + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
		if (p == d || p[-1] != '\r')
			w++;
	return w;
}

int store_map(struct folder *f, struct msg *m, const char **data, size_t *len)
{
	struct stat st;
	int fd = open_msg(f, m);
	void *p;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	if (m->date == 0) {
		m->date = st.st_mtime;
		f->dirty = 1;
	}
	*len = (size_t)st.st_size;
	/* a recorded size this file cannot have (edited by hand, a name copied
	 * from another file): count it again, so RFC822.SIZE matches the bytes */
	if (m->wsize != SIZE_UNKNOWN && (m->wsize < *len || m->wsize > 2 * (uint64_t)*len ||
	    (name_size(m->base, ",S=") != SIZE_UNKNOWN && name_size(m->base, ",S=") != *len)))
		m->wsize = SIZE_UNKNOWN;
	if (*len == 0) {
		*data = "";
	} else if (*len < STORE_MMAP_MIN) {
		/* one read beats mmap + page faults + munmap for small mail */
		char *b = xmalloc(*len);
		ssize_t k = pread(fd, b, *len, 0);

		if (k < 0 || (size_t)k != *len) {
			free(b);
			close(fd);
			return -1;
		}
		*data = b;
	} else if ((p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		close(fd);
		return -1;
	} else {
		*data = p;
	}
	close(fd);
	if (m->wsize == SIZE_UNKNOWN) {
		m->wsize = wire_size(*data, *len);
		f->dirty = 1;
	}
	return 0;
}

void store_unmap(const char *data, size_t len)
{
	if (len >= STORE_MMAP_MIN)
		munmap((void *)data, len);
	else if (len > 0)
		free((void *)data);
}

uint64_t store_wsize(struct folder *f, struct msg *m)
{
	const char *d;
	size_t n;

	if (m->wsize == SIZE_UNKNOWN && store_map(f, m, &d, &n) == 0)
		store_unmap(d, n);
	return m->wsize == SIZE_UNKNOWN ? 0 : m->wsize;
}

time_t store_date(struct folder *f, struct msg *m)
{
	struct stat st;
	int fd;

	if (m->date != 0)
		return m->date;
	if ((fd = open_msg(f, m)) < 0)
		return 0;
	if (fstat(fd, &st) == 0) {
		m->date = st.st_mtime;
		f->dirty = 1;
	}
	close(fd);
	return m->date;
}

/* Rename m's file to carry flags (FL_RECENT kept in the session only).
 * With delta, flags are not the result but what to add (add) and remove
 * (del): applied to the flags the file holds now, which another session
 * may have changed since this one last looked (RFC 3501 6.4.6: +FLAGS and
 * -FLAGS touch only the flags they name). */
static int set_flags(struct folder *f, struct msg *m, unsigned flags, int delta, unsigned add,
    unsigned del)
{
	char from[STORE_PATH_MAX + 600], to[STORE_PATH_MAX + 600];
	unsigned cur = m->flags;

	for (int tries = 0; tries < 2; tries++) {
		unsigned want = delta ? ((cur & ~del) | add) : flags;
		char *name = make_name(m->base, want & ~(unsigned)FL_RECENT, m->extra);
		int same;

		if (msg_path(f, m, from, sizeof from) < 0 ||
		    snprintf(to, sizeof to, "%s/cur/%s", f->path, name) >= (int)sizeof to) {
			free(name);
			return -1;
		}
		same = strcmp(from, to) == 0;
		if ((same && access(from, F_OK) == 0) || (!same && rename(from, to) == 0)) {
			free(m->name);
			m->name = name;
			m->in_new = 0;
			m->flags = want;
			return 0;
		}
		free(name);
		if (errno != ENOENT || relocate_flags(f, m, &cur) < 0)
			return -1;
		cur |= m->flags & FL_RECENT;
	}
	return -1;
}

int store_set_flags(struct folder *f, struct msg *m, unsigned flags)
{
	return set_flags(f, m, flags, 0, 0, 0);
}

int store_change_flags(struct folder *f, struct msg *m, unsigned add, unsigned del)
{
	return set_flags(f, m, 0, 1, add, del);
}

/* A message about to go (file p): its size, to take off the Maildir++
 * quota once it is gone (lib/quota.h). */
static uint64_t unlink_size(const struct msg *m, const char *p)
{
	uint64_t size = name_size(m->base, ",S=");
	struct stat st;

	if (size == SIZE_UNKNOWN)
		size = lstat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
	return size;
}

int store_unlink(struct folder *f, struct msg *m)
{
	char p[STORE_PATH_MAX + 600], root[STORE_PATH_MAX];

	for (int tries = 0; tries < 2; tries++) {
		if (msg_path(f, m, p, sizeof p) < 0)
			return -1;
		uint64_t size = unlink_size(m, p);

		if (unlink(p) == 0) {
			/* INBOX is the root itself, whatever its name (~/.maildir) */
			if (strcmp(f->name, "INBOX") == 0)
				quota_note(f->path, -(int64_t)size, -1);
			else if (quota_root_of(f->path, root, sizeof root) == 0)
				quota_note(root, -(int64_t)size, -1);
			return 0;
		}
		if (errno != ENOENT || relocate(f, m) < 0)
			return -1;
	}
	return -1;
}

/* A unique base name: time, microseconds, pid and random bits, host;
 * sizes as Dovecot writes them (S= stored, W= on the wire). */
static char *unique_base(uint64_t size, uint64_t wsize)
{
	char host[256] = "localhost";
	struct timeval tv;
	unsigned rnd = 0;
	struct buf b = { 0 };

	gettimeofday(&tv, NULL);
	gethostname(host, sizeof host - 1);
	for (char *h = host; *h; h++)
		if (*h == '/' || *h == ':' || *h == ',')
			*h = '_';
	if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		rnd = (unsigned)tv.tv_usec;
	buf_printf(&b, "%lld.M%06ldP%ldR%08x.%s,S=%llu,W=%llu", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), rnd, host, (unsigned long long)size,
	    (unsigned long long)wsize);
	return buf_take(&b);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* tmp/base -> cur/base:2,flags, with the date as mtime. */
static char *finish(const char *path, char *base, int fd, unsigned flags, time_t date)
{
	char tmp[STORE_PATH_MAX + 300], cur[STORE_PATH_MAX + 320];
	char *name = make_name(base, flags, NULL);

	if (date != STORE_DATE_NOW) {
		struct timespec ts[2] = { { date, 0 }, { date, 0 } };
		futimens(fd, ts);
	}
	snprintf(tmp, sizeof tmp, "%s/tmp/%s", path, base);
	snprintf(cur, sizeof cur, "%s/cur/%s", path, name);
	free(name);
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, cur) < 0) {
		unlink(tmp);
		free(base);
		return NULL;
	}
	/* APPEND and COPY say OK only once the new name is on disk too */
	snprintf(tmp, sizeof tmp, "%s/cur", path);
	if (dir_sync(tmp) < 0) {
		unlink(cur);
		free(base);
		return NULL;
	}
	return base;
}

int store_discard(const char *path, const char *base, unsigned flags)
{
	char p[STORE_PATH_MAX + 320];
	char *name = make_name(base, flags, NULL);
	int k = snprintf(p, sizeof p, "%s/cur/%s", path, name);

	free(name);
	return k < 0 || (size_t)k >= sizeof p ? -1 : unlink(p);
}

char *store_deliver(const char *path, char *data, size_t n, unsigned flags, time_t date)
{
	char tmp[STORE_PATH_MAX + 300];
	char *base;
	size_t k = 0;
	int fd;

	/* stored with LF line ends, as maildeliver and Dovecot store; in
	 * place, so a 64 MiB message is not held twice */
	for (size_t i = 0; i < n; i++)
		if (!(data[i] == '\r' && i + 1 < n && data[i + 1] == '\n'))
			data[k++] = data[i];
	base = unique_base(k, wire_size(data, k));
	snprintf(tmp, sizeof tmp, "%s/tmp/%s", path, base);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
	    write_all(fd, data, k) < 0) {
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(base);
		return NULL;
	}
	return finish(path, base, fd, flags, date);
}

char *store_copy(struct folder *f, struct msg *m, const char *path, unsigned flags)
{
	char src[STORE_PATH_MAX + 600], tmp[STORE_PATH_MAX + 300];
	const char *d;
	size_t n;
	char *base;
	int fd;

	if (store_map(f, m, &d, &n) < 0)
		return NULL;
	base = unique_base(n, m->wsize);
	snprintf(tmp, sizeof tmp, "%s/tmp/%s", path, base);
	if (msg_path(f, m, src, sizeof src) == 0 && link(src, tmp) == 0 &&
	    (fd = open(tmp, O_RDONLY | O_CLOEXEC)) >= 0) {
		store_unmap(d, n);
		/* a hard link shares the mtime, which is the INTERNALDATE */
		return finish(path, base, fd, flags, STORE_DATE_NOW);
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
	    write_all(fd, d, n) < 0) {
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		store_unmap(d, n);
		free(base);
		return NULL;
	}
	store_unmap(d, n);
	return finish(path, base, fd, flags, store_date(f, m));
}

int store_status(const char *path, struct store_status *st, char *const *bases, size_t nb,
    uint32_t *uids)
{
	struct list l;

	memset(st, 0, sizeof *st);
	if (!store_exists(path)) {
		errno = ENOENT;
		return -1;
	}
	if (scan(path, &l, 0, 0, NULL) < 0)
		return -1;
	st->uidvalidity = l.uidvalidity;
	st->uidnext = l.uidnext;
	st->highestmodseq = l.highest;
	st->messages = (uint32_t)l.n;
	for (size_t i = 0; i < l.n; i++) {
		if (l.e[i].uid >= l.recent_from)
			st->recent++;
		if (!(l.e[i].flags & FL_SEEN))
			st->unseen++;
	}
	/* The copies are listed in the order they were made: each search
	 * starts after the last one found, so copying n messages costs O(n),
	 * not n times the folder (a folder copied into itself again and again
	 * took seconds per COPY at 30,000 messages; found by fuzz_imapsession). */
	size_t from = 0;

	for (size_t k = 0; k < nb; k++) {
		uids[k] = 0;
		for (size_t j = 0; bases[k] && j < l.n; j++) {
			size_t i = (from + j) % l.n;

			if (strcmp(l.e[i].base, bases[k]) == 0) {
				uids[k] = l.e[i].uid;
				from = i + 1;
				break;
			}
		}
	}
	list_free(&l);
	return 0;
}
