/* fuzz_quota — libFuzzer harness for the Maildir++ quota (lib/quota.c):
 * the user-writable "maildirsize" file (a limit line "NNNS,MMMC", then
 * "bytes count" lines, negative or huge), Dovecot quota rules from a
 * passwd-file's extra fields (quota_parse_rule), --quota's argument
 * (quota_parse_option) and the ",S=" size of Maildir file names.
 *
 * The input is up to four parts separated by NUL bytes: the maildirsize of
 * a Maildir under /tmp (emptied per input), a rule, an option, and up to
 * two file names ("/" between them) made in its cur/ (a recount reads
 * their ",S=").  quota_get (with the option's limits as the default, and
 * without), quota_get_user (the rule's limits), quota_refresh and
 * quota_note run on it.
 *
 * Asserted (UBSan catches any signed overflow): an option that parses is
 * its number times its unit, exactly; a rule that does not set a limit
 * leaves the quota alone; quota_get's result says whether a limit
 * applies and its usage is never negative; a second quota_get after the
 * file was written again gives the same; quota_exceeded agrees with the
 * limits (nothing to add: over only if already over; adding more never
 * makes it fit; exactly when the sum, not wrapped around, is over). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quota.h"
#include "split.h"

const char *const progname = "fuzz_quota";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

#define ROOT "/tmp/fuzz_quota.md"

static void write_file(const char *path, const char *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n))
		abort();
	close(fd);
}

/* The option's value the long way: digits, a unit, ",count"; -1 if not. */
static int ref_option(const char *s, unsigned __int128 *bytes, unsigned __int128 *count)
{
	unsigned __int128 v = 0, mult = 1;
	const char *p = s;

	*count = 0;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((v = v * 10 + (unsigned)(*p - '0')) > UINT64_MAX)
			return -1;
	switch (*p) {
	case 'K': case 'k': mult = 1024; p++; break;
	case 'M': case 'm': mult = 1024 * 1024; p++; break;
	case 'G': case 'g': mult = 1024 * 1024 * 1024; p++; break;
	}
	*bytes = v * mult;
	if (*bytes > UINT64_MAX)
		return -1;
	if (*p == ',') {
		const char *d = ++p;

		for (v = 0; *p >= '0' && *p <= '9'; p++)
			if ((v = v * 10 + (unsigned)(*p - '0')) > UINT64_MAX)
				return -1;
		if (p == d)
			return -1;
		*count = v;
	}
	return *p == '\0' ? 0 : -1;
}

static void check_exceeded(const struct quota *q)
{
	uint64_t b = q->bytes > 0 ? (uint64_t)q->bytes : 0, c = q->count > 0 ? (uint64_t)q->count : 0;
	static const uint64_t adds[] = { 0, 1, 4096, UINT64_MAX / 2, UINT64_MAX - 1, UINT64_MAX };

	CHECK(quota_exceeded(q, 0, 0) ==
	    ((q->max_bytes && b > q->max_bytes) || (q->max_count && c > q->max_count)));
	for (size_t i = 1; i < sizeof adds / sizeof adds[0]; i++) {
		/* more never fits where less did not */
		if (quota_exceeded(q, adds[i - 1], 0))
			CHECK(quota_exceeded(q, adds[i], 0));
		if (quota_exceeded(q, 0, adds[i - 1]))
			CHECK(quota_exceeded(q, 0, adds[i]));
	}
	/* exactly: the sum, without wrapping around, over a limit */
	for (size_t i = 0; i < sizeof adds / sizeof adds[0]; i++) {
		unsigned __int128 sb = (unsigned __int128)b + adds[i], sc = (unsigned __int128)c + adds[i];

		CHECK(quota_exceeded(q, adds[i], 0) ==
		    ((q->max_bytes && sb > q->max_bytes) || (q->max_count && c > q->max_count)));
		CHECK(quota_exceeded(q, 0, adds[i]) ==
		    ((q->max_bytes && b > q->max_bytes) || (q->max_count && sc > q->max_count)));
	}
	if (!q->max_bytes && !q->max_count)
		CHECK(!quota_exceeded(q, UINT64_MAX, UINT64_MAX));
}

static void check_got(int rc, const struct quota *q)
{
	if (rc < 0)
		return;
	CHECK(rc == (q->max_bytes || q->max_count ? 1 : 0));
	if (rc == 1)
		CHECK(q->bytes >= 0 && q->count >= 0);
	check_exceeded(q);
}

static void make_names(const char *names)
{
	char path[600];
	const char *p = names;

	for (int i = 0; i < 2 && *p; i++) {
		size_t n = strcspn(p, "/");

		if (n > 0 && n < 200 && !(p[0] == '.')) {
			snprintf(path, sizeof path, ROOT "/cur/%.*s", (int)n, p);
			write_file(path, "x", 1);
		}
		p += n;
		if (*p == '/')
			p++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[4];
	size_t len[4];
	char *rule, *opt, *names;
	struct quota def, q, q2, r;
	unsigned __int128 rb, rc128;
	int rc, orc;

	fuzz_split(data, size, part, len, 4);
	rule = strndup((const char *)part[1], len[1]);
	opt = strndup((const char *)part[2], len[2]);
	names = strndup((const char *)part[3], len[3]);

	/* --quota's argument */
	orc = quota_parse_option(opt, &def);
	CHECK((orc == 0) == (ref_option(opt, &rb, &rc128) == 0));
	if (orc == 0)
		CHECK(def.max_bytes == (uint64_t)rb && def.max_count == (uint64_t)rc128);
	else
		memset(&def, 0, sizeof def);

	/* the passwd-file's rule */
	memset(&r, 0xa5, sizeof r);
	q = r;
	rc = quota_parse_rule(rule, &r);
	CHECK(rc == -1 || rc == 0 || rc == 1);
	if (rc != 1)
		CHECK(memcmp(&q, &r, sizeof q) == 0);
	else
		CHECK(r.bytes == q.bytes && r.count == q.count);

	/* the Maildir and its maildirsize */
	mkdir(ROOT, 0700);
	mkdir(ROOT "/cur", 0700);
	mkdir(ROOT "/new", 0700);
	mkdir(ROOT "/tmp", 0700);
	make_names(names);
	write_file(ROOT "/" QUOTA_FILE, (const char *)part[0], len[0]);
	rc = quota_get(ROOT, NULL, &q);
	check_got(rc, &q);
	rc = quota_get(ROOT, &def, &q);
	check_got(rc, &q);
	if (rc == 1 && (def.max_bytes || def.max_count)) {
		/* the file was written again if it had to be: the same now */
		CHECK(quota_get(ROOT, &def, &q2) == 1);
		CHECK(q2.max_bytes == q.max_bytes && q2.max_count == q.max_count);
		CHECK(q2.bytes == q.bytes && q2.count == q.count);
	}
	if (quota_note(ROOT, 1000, 1) == 0 && rc == 1)
		check_got(quota_get(ROOT, &def, &q2), &q2);
	if (quota_parse_rule(rule, &(struct quota){ 0 }) == 1) {
		struct quota lim = { 0 };

		quota_parse_rule(rule, &lim);
		write_file(ROOT "/" QUOTA_FILE, (const char *)part[0], len[0]);
		rc = quota_get_user(ROOT, &lim, &q);
		check_got(rc, &q);
		if (rc == 1)
			CHECK(q.max_bytes == lim.max_bytes && q.max_count == lim.max_count);
	}
	(void)quota_refresh(ROOT);
	(void)quota_file_size(names, 0);
	/* emptied for the next input */
	{
		char path[600];
		const char *p = names;

		for (int i = 0; i < 2 && *p; i++) {
			size_t n = strcspn(p, "/");

			snprintf(path, sizeof path, ROOT "/cur/%.*s", (int)(n < 200 ? n : 0), p);
			if (n > 0 && n < 200)
				unlink(path);
			p += n;
			if (*p == '/')
				p++;
		}
	}
	free(rule);
	free(opt);
	free(names);
	return 0;
}
