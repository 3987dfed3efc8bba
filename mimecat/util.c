/* util.c — input mapping and helpers shared by mimecat's modes. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "charset.h"
#include "err.h"
#include "filter.h"
#include "header.h"
#include "limits.h"
#include "mimecat.h"
#include "rfc2047.h"

#define MC_TEXT_MAX (32 * 1024 * 1024)  /* text decoded for a person to read */

/* Copy fd (a pipe) into an unlinked temporary file, so that even a huge
 * message is mapped, not held in memory.  Return the new fd or -1. */
static int spool(int fd, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	char path[4096], *blk = xmalloc(IO_BUFSIZE);
	int t;
	ssize_t n;

	snprintf(path, sizeof path, "%s/mimecat.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if ((t = mkstemp(path)) < 0) {
		warn_("%s", path);
		free(blk);
		return -1;
	}
	unlink(path);
	while ((n = read(fd, blk, IO_BUFSIZE)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write_all(t, blk, (size_t)n) < 0) {
			warn_("%s %s", n < 0 ? "read" : "write spool for", name);
			close(t);
			free(blk);
			return -1;
		}
	}
	free(blk);
	return t;
}

int mc_load(struct mc *mc, const char *path)
{
	struct stat st;
	int fd = STDIN_FILENO, own = 0;

	mc->name = "stdin";
	if (path && strcmp(path, "-") != 0) {
		if ((fd = open(path, O_RDONLY)) < 0) {
			warn_("%s", path);
			return -1;
		}
		mc->name = path;
		own = 1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int t = spool(fd, mc->name);

		if (own)
			close(fd);
		if (t < 0)
			return -1;
		fd = t;
		own = 1;
		if (fstat(fd, &st) < 0) {
			warn_("%s", mc->name);
			close(fd);
			return -1;
		}
	}
	mc->len = (size_t)st.st_size;
	mc->base = "";
	if (mc->len > 0) {
		void *p = mmap(NULL, mc->len, PROT_READ, MAP_PRIVATE, fd, 0);

		if (p == MAP_FAILED) {
			warn_("mmap %s", mc->name);
			if (own)
				close(fd);
			return -1;
		}
		madvise(p, mc->len, MADV_SEQUENTIAL);
		mc->base = p;
	}
	if (own)
		close(fd);
	mime_parse(mc->base, mc->len, &mc->m);
	return 0;
}

void mc_unload(struct mc *mc)
{
	mime_free(&mc->m);
	if (mc->len > 0)
		munmap((void *)mc->base, mc->len);
}

void mc_warn(const struct mc *mc)
{
	size_t shown = 0;

	for (size_t i = 0; i < mc->m.ndefects; i++) {
		const struct mime_defect *d = &mc->m.defects[i];

		/* the noisy ones are for -c */
		if (d->code == MD_LONGLINE || d->code == MD_8BITHDR || d->code == MD_DUPFIELD ||
		    d->code == MD_BADFIELD || d->code == MD_BADBOUNDARY || d->code == MD_NUL)
			continue;
		if (shown++ == MC_WARN_MAX)
			break;
		warnx_("warning: %s: line %zu: %s", mc->name, d->line, mime_defect_text(d->code));
	}
}

const struct mime_part *mc_find(const struct mc *mc, const char *sec)
{
	struct mime_range r;

	if (mime_section(mc->m.root, sec, &r) != SECT_OK || r.spec != SPEC_BODY || *r.rest)
		return NULL;
	return r.part;
}

static int add_capped(void *arg, const char *s, size_t n)
{
	struct buf *b = arg;

	if (b->len + n > MC_TEXT_MAX) {
		buf_add(b, s, MC_TEXT_MAX - b->len);
		return 1;
	}
	buf_add(b, s, n);
	return 0;
}

size_t mc_decode(const struct mime_part *p, struct buf *out)
{
	size_t start = out->len;

	buf_add(out, "", 0);
	mime_decode(p, add_capped, out, NULL);
	return out->len - start;
}

/* RFC 3676 4: a format=flowed text as a reader shows it.  A line ending
 * in a space (not the "-- " signature line) flows into the next line of
 * the same quote depth; the stuffed space after the quote marks goes; with
 * delsp=yes the trailing space goes too (4.2).  Quoted paragraphs keep
 * their ">" marks, one space after them. */
static void unflow(const char *s, size_t n, int delsp, struct buf *out)
{
	int open = 0, depth = 0;        /* a flowed paragraph in progress */

	for (size_t i = 0; i < n;) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - s) : n, next = nl ? e + 1 : n, b = i;
		int q = 0, flowed;

		if (e > i && s[e - 1] == '\r')
			e--;
		while (b < e && s[b] == '>')
			b++, q++;
		if (b < e && s[b] == ' ')
			b++;                    /* space-stuffing (4.4) */
		if (open && q != depth) {       /* quote depth changed (4.5) */
			buf_addc(out, '\n');
			open = 0;
		}
		if (!open && q) {
			for (int k = 0; k < q; k++)
				buf_addc(out, '>');
			buf_addc(out, ' ');
		}
		flowed = e > b && s[e - 1] == ' ' && !(e - b == 3 && memcmp(s + b, "-- ", 3) == 0);
		buf_add(out, s + b, e - b - (flowed && delsp));
		if (flowed) {
			open = 1;
			depth = q;
		} else {
			if (nl)
				buf_addc(out, '\n');
			open = 0;
		}
		i = next;
	}
	if (open)
		buf_addc(out, '\n');
}

/* An HTML body sent without a charset parameter: the charset its first
 * bytes name in a <meta> tag (as browsers prescan them), copied to cs. */
static int meta_charset(const char *s, size_t n, char *cs, size_t cap)
{
	static const char key[] = "charset=";

	if (n > MC_META_SCAN)
		n = MC_META_SCAN;
	for (size_t i = 0; i + sizeof key - 1 < n; i++) {
		size_t j = i + sizeof key - 1, k = 0;

		if (strncasecmp(s + i, key, sizeof key - 1) != 0)
			continue;
		if (j < n && (s[j] == '"' || s[j] == '\''))
			j++;
		while (j < n && k + 1 < cap && (isalnum((unsigned char)s[j]) ||
		    strchr("-_.:", s[j]) != NULL))
			cs[k++] = s[j++];
		cs[k] = '\0';
		return k > 0;
	}
	return 0;
}

void mc_text(const struct mime_part *p, int render_html, struct buf *out)
{
	struct buf raw = { 0 }, u = { 0 };
	const char *fmt = mime_param_raw(p->params, p->nparams, "format");
	const char *delsp = mime_param_raw(p->params, p->nparams, "delsp");

	char meta[CHARSET_NAME_MAX + 1];

	mc_decode(p, &raw);
	if (p->charset == NULL && strcmp(p->subtype, "html") == 0 &&
	    meta_charset(raw.p ? raw.p : "", raw.len, meta, sizeof meta))
		charset_to_utf8(meta, raw.p, raw.len, &u);
	else
		charset_to_utf8(p->charset ? p->charset : "us-ascii", raw.p, raw.len, &u);

	if (render_html && strcmp(p->subtype, "html") == 0)
		mc_html_to_text(u.p ? u.p : "", u.len, out);
	else if (render_html && strcmp(p->subtype, "plain") == 0 && fmt && strcasecmp(fmt, "flowed") == 0)
		unflow(u.p ? u.p : "", u.len, delsp && strcasecmp(delsp, "yes") == 0, out);
	else
		buf_add(out, u.p ? u.p : "", u.len);
	buf_free(&raw);
	buf_free(&u);
}

/* Length of the UTF-8 sequence at s (lead byte >= 0x80), 0 if invalid. */
static size_t utf8_len(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];
	size_t k = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 :
	    c >= 0xf0 && c <= 0xf4 ? 4 : 0;

	return k && k <= n && utf8_valid(s, k) ? k : 0;
}

static void put_safe(FILE *f, const char *s, size_t n, int lines)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t k;

		/* a message must not drive the terminal: ESC, CR, BS, C1
		 * controls and invalid UTF-8 are shown, not sent */
		if ((c < ' ' && !(lines && (c == '\n' || c == '\t'))) || c == 0x7f) {
			if (lines && c == '\r' && i + 1 < n && s[i + 1] == '\n')
				continue;
			fprintf(f, "^%c", c == 0x7f ? '?' : c + '@');
		} else if (c < 0x80) {
			putc(c, f);
		} else if ((k = utf8_len(s + i, n - i)) == 0) {
			fprintf(f, "\\x%02x", c);
		} else if (k == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0) {
			i++;            /* C1 controls (U+0080..U+009F) dropped */
		} else {
			fwrite(s + i, 1, k, f);
			i += k - 1;
		}
	}
}

void mc_put_safe(FILE *f, const char *s, size_t n)
{
	put_safe(f, s, n, 1);
}

void mc_put_name(FILE *f, const char *s)
{
	put_safe(f, s, strlen(s), 0);
}

/* Base name of an RFC 2231 parameter name ("name*0*" -> 4). */
static size_t param_base(const char *name)
{
	const char *star = strchr(name, '*');

	return star ? (size_t)(star - name) : strlen(name);
}

/* "type/subtype; a=b" or "attachment; filename=..." with parameters decoded. */
static void params_value(const char *head, const struct mime_param *v, size_t n, struct buf *out)
{
	buf_adds(out, head);
	for (size_t i = 0; i < n; i++) {
		size_t bl = param_base(v[i].name), j;
		char *name;

		for (j = 0; j < i; j++)
			if (param_base(v[j].name) == bl && strncasecmp(v[j].name, v[i].name, bl) == 0)
				break;
		if (j < i)
			continue;
		name = xstrndup(v[i].name, bl);
		buf_printf(out, "; %s=\"", name);
		mime_param_get(v, n, name, out);
		buf_addc(out, '"');
		free(name);
	}
}

void mc_field_value(const struct hdr_field *f, struct buf *out)
{
	struct buf u = { 0 }, w = { 0 };

	hdr_unfold(f->value, f->vallen, 0, &u);
	if (!utf8_valid(u.p, u.len)) {
		/* raw 8-bit legacy mail: the charset most such mail is in */
		charset_to_utf8(MC_LEGACY_CHARSET, u.p, u.len, &w);
		rfc2047_decode(w.p, w.len, out);
	} else {
		rfc2047_decode(u.p, u.len, out);
	}
	buf_free(&u);
	buf_free(&w);
}

int mc_mime_field(const struct mime_part *p, const struct hdr_field *f, struct buf *out)
{
	struct buf head = { 0 };

	if (hdr_is(f, "Content-Type") && !(p->flags & (MP_DEFTYPE | MP_BADTYPE))) {
		buf_printf(&head, "%s/%s", p->type, p->subtype);
		params_value(head.p, p->params, p->nparams, out);
	} else if (hdr_is(f, "Content-Disposition") && p->disposition) {
		params_value(p->disposition, p->dparams, p->ndparams, out);
	} else {
		return 0;
	}
	buf_free(&head);
	return 1;
}

const char *mc_size(size_t n, char *tmp, size_t cap)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double d = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(tmp, cap, "%zu B", n);
		return tmp;
	}
	while (d >= 1024 && u < 3) {
		d /= 1024;
		u++;
	}
	snprintf(tmp, cap, "%.1f %s", d, unit[u]);
	return tmp;
}

static int count(void *arg, const char *s, size_t n)
{
	(void)s;
	*(size_t *)arg += n;
	return 0;
}

size_t mc_decoded_size(const struct mime_part *p)
{
	size_t n = 0;

	mime_decode(p, count, &n, NULL);
	return n;
}
