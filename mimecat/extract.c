/* extract.c — -x: save attachments (with -a, every leaf part) into a
 * directory under safe names: the RFC 2231 / RFC 2047 name decoded, its
 * last path component only, no control characters, no leading dot, never
 * an existing file (O_EXCL; "name-1.ext"...), never through a symlink. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "filter.h"
#include "mimecat.h"

/* A file name extension for a type without a name. */
static const char *extension(const struct mime_part *p)
{
	static const struct { const char *type, *ext; } t[] = {
		{ "text/plain", "txt" }, { "text/html", "html" }, { "text/calendar", "ics" },
		{ "text/csv", "csv" }, { "image/png", "png" }, { "image/jpeg", "jpg" },
		{ "image/gif", "gif" }, { "application/pdf", "pdf" }, { "application/zip", "zip" },
		{ "message/rfc822", "eml" }, { "application/pgp-signature", "asc" },
		{ "application/pkcs7-signature", "p7s" }, { "message/delivery-status", "txt" },
	};
	char full[128];

	snprintf(full, sizeof full, "%s/%s", p->type, p->subtype);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(full, t[i].type) == 0)
			return t[i].ext;
	return strcmp(p->type, "text") == 0 ? "txt" : "bin";
}

/* Make a safe file name for p into out. */
static void safe_name(const struct mime_part *p, struct buf *out)
{
	const char *n = p->filename, *s;
	size_t k;

	if (n) {
		/* the last component of a Unix or DOS path */
		for (s = n; *s; s++)
			if (*s == '/' || *s == '\\')
				n = s + 1;
		while (*n == '.' || *n == ' ' || *n == '-')
			n++;
		for (s = n; *s; s++) {
			unsigned char c = (unsigned char)*s;

			buf_addc(out, c < ' ' || c == 0x7f || c == ':' ? '_' : c);
		}
	}
	if (out->len == 0) {
		struct buf sec = { 0 };

		mime_section_name(p, &sec);
		buf_printf(out, "part-%s.%s", sec.len ? sec.p : "0", extension(p));
		buf_free(&sec);
	}
	/* cut to MC_NAME_MAX bytes, not inside a UTF-8 character */
	if (out->len > MC_NAME_MAX) {
		k = MC_NAME_MAX;
		while (k > 0 && ((unsigned char)out->p[k] & 0xc0) == 0x80)
			k--;
		out->len = k;
		out->p[k] = '\0';
	}
}

/* Open a new file named like name in dir; the name used goes to used. */
static int create(int dirfd, const char *name, struct buf *used)
{
	const char *dot = strrchr(name, '.');
	size_t stem = dot && dot != name ? (size_t)(dot - name) : strlen(name);

	for (int i = 0; i <= MC_UNIQUE_MAX; i++) {
		int fd;

		used->len = 0;
		if (i == 0)
			buf_adds(used, name);
		else
			buf_printf(used, "%.*s-%d%s", (int)stem, name, i, name + stem);
		fd = openat(dirfd, used->p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

static int put(void *arg, const char *s, size_t n)
{
	return write_all(*(int *)arg, s, n);
}

/* A forwarded message attached as a whole is saved whole (.eml). */
static int whole_message(const struct mc *mc, const struct mime_part *p)
{
	return !mc->all && mime_is_message(p) && p->disposition &&
	    strcmp(p->disposition, "attachment") == 0;
}

static int wanted(const struct mc *mc, const struct mime_part *p)
{
	if (whole_message(mc, p))
		return 1;
	if (p->child)
		return 0;
	if (mc->all)
		return 1;
	if (p->disposition && strcmp(p->disposition, "attachment") == 0)
		return 1;
	if (p->filename)
		return 1;
	/* the text of the message is not an attachment */
	return strcmp(p->type, "text") != 0;
}

int mc_extract(struct mc *mc)
{
	int dirfd = open(mc->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (dirfd < 0) {
		warn_("%s", mc->dir);
		return EX_CANTCREAT;
	}
	size_t skip_to = 0;

	for (const struct mime_part *p = mc->m.root; p; p = p->order) {
		struct buf name = { 0 }, used = { 0 }, sec = { 0 };
		size_t size = 0;
		int fd;

		if (p->off < skip_to || !wanted(mc, p))
			continue;
		if (whole_message(mc, p))
			skip_to = p->end;       /* its parts are in the .eml */
		safe_name(p, &name);
		mime_section_name(p, &sec);
		if ((fd = create(dirfd, name.p, &used)) < 0) {
			warn_("%s/%s", mc->dir, name.p);
			rc = EX_CANTCREAT;
		} else {
			if (mime_decode(p, put, &fd, NULL) != 0) {
				warn_("write %s/%s", mc->dir, used.p);
				rc = EX_IOERR;
			}
			size = (size_t)lseek(fd, 0, SEEK_CUR);
			if (close(fd) < 0) {
				warn_("close %s/%s", mc->dir, used.p);
				rc = EX_IOERR;
			}
			fprintf(mc->out, "%-8s %s/", sec.len ? sec.p : "1", mc->dir);
			mc_put_name(mc->out, used.p);
			fprintf(mc->out, " (%zu bytes)\n", size);
		}
		buf_free(&name);
		buf_free(&used);
		buf_free(&sec);
	}
	close(dirfd);
	return rc;
}
