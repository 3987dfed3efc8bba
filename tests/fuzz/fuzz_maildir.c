/* fuzz_maildir — libFuzzer harness for imapd's Maildir storage parsers
 * (imapd/store.c): the "maillab-uidlist" file (header, "UID [N] [Wsize]
 * [Tdate] [Mmodseq] :name" and "-UID MODSEQ" lines), Maildir file names
 * ("base:2,FLAGS", the ",S=" and ",W=" sizes) and the keywords file ("N
 * name" lines).  A local user can
 * write all three in their own Maildir, so every byte is hostile.
 *
 * The input is cut at its first NUL: before it, the uidlist, read from
 * memory (fmemopen) with read_header and read_entries; after it, the
 * keywords file, written to a temporary folder and read with
 * read_keywords.  store.c's parsers are static, so it is included whole
 * (a fuzz-only trick).  Asserted: the entries read have ascending UIDs
 * below UIDNEXT and a non-empty name with no '/', MODSEQs from 1 to the
 * HIGHESTMODSEQ, expunges remembered by ascending MODSEQ; a name's flags
 * survive make_name -> parse_name, and the name it makes is stable (made again from its own
 * parse, the same string); extra letters are printable, unique, not flag
 * letters, at most 63; a keyword read is valid (keyword_ok) and numbered
 * below KW_MAX.
 * FUZZ_EXTRA: imapd/parse.c imapd/hcache.c */
#include <stdint.h>

#include "../../imapd/store.c"

const char *const progname = "fuzz_maildir";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

static void check_name(const struct ent *e)
{
	char *name1, *name2, *base, *extra;
	unsigned flags;

	CHECK(e->base != NULL && e->name != NULL);
	CHECK(strchr(e->base, ':') == NULL);
	if (e->extra) {
		CHECK(strlen(e->extra) < 64);
		for (const char *p = e->extra; *p; p++) {
			CHECK(*p > ' ' && *p < 0x7f);
			CHECK(strchr("DFRST", *p) == NULL && !(*p >= 'a' && *p <= 'z'));
			CHECK(strchr(p + 1, *p) == NULL);
		}
	}
	(void)name_size(e->base, ",S=");
	(void)name_size(e->base, ",W=");
	name1 = make_name(e->base, e->flags, e->extra);
	parse_name(name1, &base, &flags, &extra);
	CHECK(strcmp(base, e->base) == 0);
	CHECK(flags == e->flags);
	CHECK((extra == NULL) == (e->extra == NULL));
	if (extra)
		CHECK(strlen(extra) == strlen(e->extra));
	name2 = make_name(base, flags, extra);
	CHECK(strcmp(name1, name2) == 0);
	free(name1);
	free(name2);
	free(base);
	free(extra);
}

static void uidlist(const uint8_t *data, size_t size)
{
	struct list l;
	FILE *f;

	memset(&l, 0, sizeof l);
	if (size == 0 || (f = fmemopen((void *)data, size, "r")) == NULL)
		return;
	if (read_header(f, &l) == 0) {
		read_entries(f, &l);
		for (size_t i = 0; i < l.n; i++) {
			CHECK(l.e[i].uid > 0 && l.e[i].uid < l.uidnext);
			CHECK(i == 0 || l.e[i].uid > l.e[i - 1].uid);
			CHECK(l.e[i].name[0] != '\0');
			/* a Maildir name is one path step: with a header whose mtimes
			 * match, the names are trusted without reading cur/ and new/ */
			CHECK(strchr(l.e[i].name, '/') == NULL);
			check_name(&l.e[i]);
			/* RFC 7162: every MODSEQ from 1 to the HIGHESTMODSEQ */
			CHECK(l.e[i].modseq >= 1 && l.e[i].modseq <= l.highest);
		}
		CHECK(l.highest >= 1 && l.highest <= INT64_MAX && l.floor <= l.highest);
		for (size_t i = 0; i < l.nvan; i++) {
			CHECK(l.van[i].uid > 0 && l.van[i].uid < l.uidnext);
			CHECK(l.van[i].modseq >= 1 && l.van[i].modseq <= l.highest);
			CHECK(i == 0 || l.van[i].modseq >= l.van[i - 1].modseq);
		}
		CHECK(l.nvan <= STORE_VANISHED_MAX);
		summarise(&l);
		CHECK(l.sum.messages == l.n && l.sum.unseen <= l.n && l.sum.in_new <= l.n);
	}
	fclose(f);
	list_free(&l);
}

static void keywords(const uint8_t *data, size_t size)
{
	static char dir[64];
	char p[128], *kw[KW_MAX];
	FILE *f;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof dir, "/tmp/fuzz_maildir.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	snprintf(p, sizeof p, "%s/%s", dir, STORE_KEYWORDS);
	if ((f = fopen(p, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	read_keywords(dir, kw);
	for (int i = 0; i < KW_MAX; i++)
		if (kw[i])
			CHECK(keyword_ok(kw[i]));
	free_keywords(kw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t n = nul ? (size_t)(nul - data) : size;

	uidlist(data, n);
	if (nul)
		keywords(nul + 1, size - n - 1);
	return 0;
}
