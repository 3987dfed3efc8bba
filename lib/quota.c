/* quota.c — the Maildir++ quota file (quota.h).  Written to by imapd (APPEND,
 * COPY, MOVE, EXPUNGE) and maildeliver, read by imapd's GETQUOTA; appends
 * are single write(2)s with O_APPEND so concurrent writers do not mix lines. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quota.h"

#define QUOTA_LINE_MAX  64      /* "-18446744073709551615 -4294967295\n" fits */

/* A number with an optional K, M or G (1024-based) suffix; -1 if malformed. */
static int parse_size(const char *p, const char **end, uint64_t *v)
{
	uint64_t n = 0;
	const char *s = p;

	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (n > UINT64_MAX / 10 || n * 10 > UINT64_MAX - d)
			return -1;      /* exact: the largest values are numbers too */
		n = n * 10 + d;
	}
	if (p == s)
		return -1;
	*v = n;
	*end = p;
	return 0;
}

int quota_parse_option(const char *arg, struct quota *def)
{
	const char *p;
	uint64_t mult = 1;

	memset(def, 0, sizeof *def);
	if (parse_size(arg, &p, &def->max_bytes) < 0)
		return -1;
	switch (*p) {
	case 'K': case 'k': mult = 1024; p++; break;
	case 'M': case 'm': mult = 1024 * 1024; p++; break;
	case 'G': case 'g': mult = 1024 * 1024 * 1024; p++; break;
	}
	if (def->max_bytes > UINT64_MAX / mult)
		return -1;
	def->max_bytes *= mult;
	if (*p == ',' && (parse_size(p + 1, &p, &def->max_count) < 0))
		return -1;
	return *p == '\0' ? 0 : -1;
}

/* A rule's size: digits and a unit (none: unit bytes each); -1 if
 * malformed or too large. */
static int parse_rule_size(const char *p, uint64_t unit, uint64_t *v)
{
	const char *e;

	if (parse_size(p, &e, v) < 0)
		return -1;
	switch (*e) {
	case '\0': break;
	case 'B': case 'b': unit = 1; e++; break;
	case 'K': case 'k': unit = (uint64_t)1 << 10; e++; break;
	case 'M': case 'm': unit = (uint64_t)1 << 20; e++; break;
	case 'G': case 'g': unit = (uint64_t)1 << 30; e++; break;
	case 'T': case 't': unit = (uint64_t)1 << 40; e++; break;
	default: return -1;
	}
	if (*e != '\0' || *v > UINT64_MAX / unit)
		return -1;
	*v *= unit;
	return 0;
}

int quota_parse_rule(const char *rule, struct quota *q)
{
	char buf[QUOTA_RULE_MAX + 1], *save = NULL, *lim;
	struct quota r = *q;
	int any = 0, backend = 0;

	if (strlen(rule) > QUOTA_RULE_MAX || strncmp(rule, "*:", 2) != 0)
		return strchr(rule, ':') != NULL && strlen(rule) <= QUOTA_RULE_MAX ? 0 : -1;
	memcpy(buf, rule + 2, strlen(rule + 2) + 1);
	for (lim = strtok_r(buf, ":", &save); lim != NULL; lim = strtok_r(NULL, ":", &save)) {
		if (strcmp(lim, "ignore") == 0)
			return 0;
		if (strncmp(lim, "storage=", 8) == 0) {
			if (parse_rule_size(lim + 8, 1024, &r.max_bytes) < 0)
				return -1;
		} else if (strncmp(lim, "bytes=", 6) == 0) {
			if (parse_rule_size(lim + 6, 1, &r.max_bytes) < 0)
				return -1;
		} else if (strncmp(lim, "messages=", 9) == 0) {
			const char *e;

			if (parse_size(lim + 9, &e, &r.max_count) < 0 || *e != '\0')
				return -1;
		} else if (strncmp(lim, "backend=", 8) == 0) {
			backend = 1;    /* the backend's own words: none here */
			continue;
		} else {
			return -1;
		}
		any = 1;
	}
	if (!any)
		return backend ? 0 : -1;
	*q = r;
	return 1;
}

/* The limit line "NNNS,MMMC" (items in any order, either missing); -1 if
 * it is not one. */
static int parse_limits(const char *line, struct quota *q)
{
	const char *p = line;

	q->max_bytes = q->max_count = 0;
	while (*p && *p != '\n') {
		uint64_t v;

		if (parse_size(p, &p, &v) < 0)
			return -1;
		if (*p == 'S')
			q->max_bytes = v;
		else if (*p == 'C')
			q->max_count = v;
		else
			return -1;
		p++;
		if (*p == ',')
			p++;
	}
	return 0;
}

uint64_t quota_file_size(const char *name, uint64_t otherwise)
{
	const char *s = strstr(name, ",S=");

	return s && s[3] >= '0' && s[3] <= '9' ? strtoull(s + 3, NULL, 10) : otherwise;
}

/* The size of message file name in dir: its ",S=" field, else stat's. */
static uint64_t message_size(int dfd, const char *name)
{
	const char *s = strstr(name, ",S=");
	struct stat st;

	if (s && s[3] >= '0' && s[3] <= '9')
		return strtoull(s + 3, NULL, 10);
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? (uint64_t)st.st_size : 0;
}

/* Add the messages of folder/sub ("cur" or "new") to q's usage. */
static void count_dir(const char *folder, const char *sub, struct quota *q)
{
	char path[4096];
	DIR *d;
	struct dirent *e;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", folder, sub) >= sizeof path ||
	    (d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		uint64_t n = message_size(dirfd(d), e->d_name);

		/* a ",S=" past int64_t in a name is the user's: the sum saturates */
		if (n > (uint64_t)INT64_MAX || __builtin_add_overflow(q->bytes, (int64_t)n, &q->bytes))
			q->bytes = INT64_MAX;
		if (q->count < INT64_MAX)
			q->count++;
	}
	closedir(d);
}

/* Usage from the folders themselves: the root and every ".folder". */
static int recount(const char *root, struct quota *q)
{
	DIR *d = opendir(root);
	struct dirent *e;
	char path[4096];

	if (d == NULL)
		return -1;
	q->bytes = q->count = 0;
	count_dir(root, "cur", q);
	count_dir(root, "new", q);
	while ((e = readdir(d)) != NULL) {
		/* ".." starts no folder: a folder being deleted is named so */
		if (e->d_name[0] != '.' || e->d_name[1] == '.' || e->d_name[1] == '\0')
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", root, e->d_name) >= sizeof path)
			continue;
		count_dir(path, "cur", q);
		count_dir(path, "new", q);
	}
	closedir(d);
	return 0;
}

/* Write maildirsize again: the limit line and the usage as one change,
 * through a file in tmp/ renamed over the old one. */
static int rewrite(const char *root, const struct quota *q)
{
	char tmp[4096], dst[4096], text[3 * QUOTA_LINE_MAX];
	int fd, n, k = 0;

	if (q->max_bytes)
		k += snprintf(text + k, sizeof text - (size_t)k, "%" PRIu64 "S", q->max_bytes);
	if (q->max_count)
		k += snprintf(text + k, sizeof text - (size_t)k, "%s%" PRIu64 "C", k ? "," : "",
		    q->max_count);
	n = snprintf(text + k, sizeof text - (size_t)k, "\n%" PRId64 " %" PRId64 "\n", q->bytes,
	    q->count);
	if ((size_t)snprintf(tmp, sizeof tmp, "%s/tmp/%s.%ld", root, QUOTA_FILE, (long)getpid()) >=
	    sizeof tmp || (size_t)snprintf(dst, sizeof dst, "%s/%s", root, QUOTA_FILE) >= sizeof dst)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return -1;
	if (write(fd, text, (size_t)(k + n)) != k + n || close(fd) < 0 || rename(tmp, dst) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Read maildirsize: limits into q (1 if there is a limit line), the sum of
 * the changes into q's usage; 2 if the file is too long to trust as it is,
 * 0 if it is missing, -1 on a read error. */
static int read_file(const char *root, struct quota *q)
{
	char path[4096], line[QUOTA_LINE_MAX + 2];
	FILE *f;
	struct stat st;
	int rc = 1, first = 1;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", root, QUOTA_FILE) >= sizeof path)
		return -1;
	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fileno(f), &st) == 0 && st.st_size > QUOTA_FILE_MAX)
		rc = 2;
	while (fgets(line, sizeof line, f) != NULL) {
		long long b, c;

		if (first) {
			first = 0;
			if (parse_limits(line, q) < 0)
				rc = 2;         /* not ours to read: count again */
			continue;
		}
		if (sscanf(line, "%lld %lld", &b, &c) != 2)
			continue;       /* a torn line from a crashed writer */
		/* a sum past int64_t is no usage: count again (the file is the user's) */
		if (__builtin_add_overflow(q->bytes, (int64_t)b, &q->bytes) ||
		    __builtin_add_overflow(q->count, (int64_t)c, &q->count))
			rc = 2;
	}
	fclose(f);
	if (first)
		rc = 2;
	return rc;
}

int quota_get(const char *root, const struct quota *def, struct quota *q)
{
	int rc;

	memset(q, 0, sizeof *q);
	if ((rc = read_file(root, q)) < 0)
		return -1;
	/* no file and no limit: no quota, and no need to count a big Maildir */
	if (rc == 0 && (def == NULL || (def->max_bytes == 0 && def->max_count == 0)))
		return 0;
	if (rc != 1 || q->bytes < 0 || q->count < 0) {
		if (rc != 1 && def != NULL && q->max_bytes == 0 && q->max_count == 0) {
			q->max_bytes = def->max_bytes;
			q->max_count = def->max_count;
		}
		if (recount(root, q) < 0)
			return -1;
		if (q->max_bytes || q->max_count)
			rewrite(root, q);       /* a failed cache is recounted next time */
	}
	if (q->max_bytes == 0 && q->max_count == 0 && def != NULL) {
		q->max_bytes = def->max_bytes;
		q->max_count = def->max_count;
	}
	return q->max_bytes || q->max_count ? 1 : 0;
}

int quota_get_user(const char *root, const struct quota *rule, struct quota *q)
{
	int rc;

	memset(q, 0, sizeof *q);
	if (rule->max_bytes == 0 && rule->max_count == 0)
		return 0;
	if ((rc = read_file(root, q)) < 0)
		return -1;
	if (rc != 1 || q->bytes < 0 || q->count < 0 || q->max_bytes != rule->max_bytes ||
	    q->max_count != rule->max_count) {
		/* a sound file under another limit line keeps its usage */
		int sound = rc == 1 && q->bytes >= 0 && q->count >= 0;

		q->max_bytes = rule->max_bytes;
		q->max_count = rule->max_count;
		if (!sound && recount(root, q) < 0)
			return -1;
		rewrite(root, q);       /* a failed cache is recounted next time */
	}
	return 1;
}

int quota_refresh(const char *root)
{
	struct quota q;

	memset(&q, 0, sizeof q);
	if (read_file(root, &q) <= 0 || (q.max_bytes == 0 && q.max_count == 0))
		return 0;
	return recount(root, &q) < 0 ? -1 : rewrite(root, &q);
}

int quota_exceeded(const struct quota *q, uint64_t bytes, uint64_t count)
{
	uint64_t b = q->bytes > 0 ? (uint64_t)q->bytes : 0, c = q->count > 0 ? (uint64_t)q->count : 0;

	/* b + bytes could wrap around: compare what is left instead */
	return (q->max_bytes && (b > q->max_bytes || bytes > q->max_bytes - b)) ||
	    (q->max_count && (c > q->max_count || count > q->max_count - c));
}

int quota_note(const char *root, int64_t bytes, int64_t count)
{
	char path[4096], line[QUOTA_LINE_MAX];
	int fd, n;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", root, QUOTA_FILE) >= sizeof path)
		return -1;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	n = snprintf(line, sizeof line, "%" PRId64 " %" PRId64 "\n", bytes, count);
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int quota_root_of(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t n = strlen(path);

	if (slash && slash[1] == '.' && slash[2] != '\0')
		n = (size_t)(slash - path);
	if (n + 1 > cap)
		return -1;
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}
