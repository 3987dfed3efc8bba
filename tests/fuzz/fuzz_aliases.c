/* fuzz_aliases — libFuzzer harness for lib/aliases.c: aliases(5) tables,
 * a user's ~/.forward and :include: files (an unprivileged user writes the
 * last two; a root-started smtpd or maildeliver reads them).
 *
 * The input is up to four parts separated by NUL bytes: an aliases table
 * (parsed as root's), a .forward, an :include: file written to
 * INC_PATH (so a member ":include:/tmp/fuzz_aliases.inc" reads it, itself
 * included), and a name to expand.  Each table entry (the first 64), the
 * name and the .forward (as user bob, uid 1000, with the table and
 * without it, as maildeliver reads it) are expanded; alias_name,
 * alias_owner and alias_lookup are called on the names.
 *
 * Asserted: every expansion ends (libFuzzer's timeout) with a known code,
 * at most ALIAS_TARGETS_MAX members and no two alike; no address member
 * holds a control byte or DEL, no command or file a CR, LF or is empty
 * past its "|"; a command or file member of root's table runs as nobody,
 * of the .forward as bob (never root); a command's text is in the input
 * after a "|" and a file's is in the input; a .forward's members come
 * from the .forward or the include file; every entry is found by its name
 * in upper case (lookups ignore case), entries are sorted and lower-case. */
#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases.h"
#include "split.h"

const char *const progname = "fuzz_aliases";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

#define INC_PATH "/tmp/fuzz_aliases.inc"
#define FWD_PATH "/tmp/fuzz_aliases.fwd"
#define BOB_UID  1000

static int local_domain(const void *ctx, const char *domain)
{
	(void)ctx;
	return strcasecmp(domain, "example.org") == 0;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || fchmod(fd, 0600) < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n))
		abort();
	close(fd);
}

/* Whether t (n bytes) occurs in the haystack h[0..hn). */
static int occurs(const uint8_t *h, size_t hn, const char *t)
{
	return memmem(h, hn, t, strlen(t)) != NULL;
}

/* Whether prefix and the first word of t occur together in h[0..hn). */
static int occurs_word(const uint8_t *h, size_t hn, const char *prefix, const char *t)
{
	size_t k = strlen(prefix), w = strcspn(t, " \t");
	char *x = malloc(k + w + 1);
	int r;

	memcpy(x, prefix, k);
	memcpy(x + k, t, w);
	x[k + w] = '\0';
	r = occurs(h, hn, x);
	free(x);
	return r;
}

static void check_set(int rc, const struct alias_set *s, uid_t runas, const uint8_t *src,
    size_t srcn)
{
	CHECK(rc == ALIAS_OK || rc == ALIAS_NONE || rc == ALIAS_LOOP || rc == ALIAS_DEEP ||
	    rc == ALIAS_INCLUDE || rc == ALIAS_MANY || rc == ALIAS_SYNTAX);
	if (rc != ALIAS_OK) {
		CHECK(s->n == 0 || rc == ALIAS_NONE);
		return;
	}
	CHECK(s->n <= ALIAS_TARGETS_MAX);
	for (size_t i = 0; i < s->n; i++) {
		const struct alias_target *t = &s->v[i];

		CHECK(t->text != NULL);
		switch (t->kind) {
		case AK_LOCAL:
		case AK_REMOTE:
			CHECK(t->text[0] != '\0');
			for (const char *p = t->text; *p; p++)
				CHECK((unsigned char)*p >= ' ' && *p != 0x7f);
			break;
		case AK_PIPE:
		case AK_FILE:
			CHECK(strpbrk(t->text, "\r\n") == NULL);
			CHECK(t->uid != 0 && t->gid != 0 && t->uid == runas);
			/* its first word as written (continuation lines are joined) */
			if (t->kind == AK_FILE)
				CHECK(t->text[0] == '/' && occurs_word(src, srcn, "", t->text));
			else
				CHECK(occurs_word(src, srcn, "|", t->text));
			break;
		default:
			CHECK(0);
		}
		for (size_t j = 0; j < i && s->n < 2000; j++)
			CHECK(s->v[j].kind != t->kind || strcasecmp(s->v[j].text, t->text) != 0 ||
			    strcmp(s->v[j].owner ? s->v[j].owner : "", t->owner ? t->owner : "") != 0);
	}
}

static void check_name(const struct aliases *a, const char *name, const uint8_t *all, size_t n)
{
	struct alias_set s;
	char err[512], nm[256], up[300], addr[600];
	int rc;

	err[0] = '\0';
	rc = alias_expand(a, name, local_domain, NULL, &s, err, sizeof err);
	/* table members run as nobody; an included file owned by root keeps that */
	check_set(rc, &s, ALIAS_NOBODY, all, n);
	CHECK(rc == ALIAS_OK || rc == ALIAS_NONE || err[0] != '\0');
	alias_set_free(&s);
	if (strlen(name) < sizeof up) {
		size_t k;

		for (k = 0; name[k]; k++)
			up[k] = (char)toupper((unsigned char)name[k]);
		up[k] = '\0';
		CHECK((alias_lookup(a, name) == NULL) == (alias_lookup(a, up) == NULL));
	}
	snprintf(addr, sizeof addr, "%s+ext@example.org", name);
	if (alias_name(a, addr, nm, sizeof nm))
		CHECK(alias_lookup(a, nm) != NULL);
	if (alias_owner(a, name, nm, sizeof nm)) {
		CHECK(strncmp(nm, "owner-", 6) == 0 && alias_lookup(a, nm) != NULL);
		for (const char *p = nm; *p; p++)
			CHECK(!isupper((unsigned char)*p));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[4];
	size_t len[4];
	struct aliases a;
	struct alias_set s;
	char err[512], *name;
	int rc;

	fuzz_split(data, size, part, len, 4);
	aliases_parse((const char *)part[0], len[0], 0, 0, &a);
	for (size_t i = 0; i < a.n; i++) {
		CHECK(a.v[i].name[0] != '\0');
		for (const char *p = a.v[i].name; *p; p++)
			CHECK(!isupper((unsigned char)*p));
		if (i > 0)
			CHECK(strcmp(a.v[i - 1].name, a.v[i].name) <= 0);
		if (strlen(a.v[i].name) < 256)
			CHECK(alias_lookup(&a, a.v[i].name) != NULL);
	}
	write_file(INC_PATH, part[2], len[2]);
	write_file(FWD_PATH, part[1], len[1]);
	for (size_t i = 0; i < a.n && i < 64; i++)
		check_name(&a, a.v[i].name, data, size);
	name = strndup((const char *)part[3], len[3]);
	check_name(&a, name, data, size);
	free(name);

	/* the .forward: with the table (smtpd) and without (maildeliver) */
	for (int with = 0; with < 2; with++) {
		err[0] = '\0';
		rc = alias_forward(with ? &a : NULL, FWD_PATH, "bob", BOB_UID, BOB_UID, local_domain,
		    NULL, &s, err, sizeof err);
		/* the file's members run as bob; the table's (reached by name) as nobody */
		if (!with) {
			check_set(rc, &s, BOB_UID, data, size);
			for (size_t i = 0; i < s.n; i++)
				if (s.v[i].kind == AK_PIPE || s.v[i].kind == AK_FILE)
					CHECK(occurs_word(part[1], len[1], "", s.v[i].text) ||
					    occurs_word(part[2], len[2], "", s.v[i].text));
		} else {
			CHECK(rc == ALIAS_OK || rc == ALIAS_NONE || rc == ALIAS_LOOP ||
			    rc == ALIAS_DEEP || rc == ALIAS_INCLUDE || rc == ALIAS_MANY || rc == ALIAS_SYNTAX);
			for (size_t i = 0; i < s.n; i++)
				CHECK(s.v[i].uid != 0 && s.v[i].gid != 0);
		}
		alias_set_free(&s);
	}
	aliases_free(&a);
	return 0;
}
