/* header.c — header field iteration and unfolding (see header.h). */
#include <string.h>
#include <strings.h>

#include "header.h"

/* Length of the line at p, its LF included (or up to end). */
static size_t line_len(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? (size_t)(nl + 1 - p) : (size_t)(end - p);
}

/* RFC 5322 3.6.8 ftext: printable ASCII but ':'. */
static int ftext(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

enum hdr_line hdr_line_kind(const char *p, size_t n, size_t *namelen)
{
	size_t i = 0, name;

	if (n == 0 || p[0] == '\n' || (p[0] == '\r' && (n == 1 || p[1] == '\n')))
		return HL_BLANK;
	if (p[0] == ' ' || p[0] == '\t')
		return HL_CONT;
	while (i < n && ftext((unsigned char)p[i]))
		i++;
	name = i;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (name == 0 || i >= n || p[i] != ':')
		return HL_OTHER;
	if (namelen)
		*namelen = name;
	return HL_FIELD;
}

size_t hdr_length(const char *p, size_t n, int *flags)
{
	const char *s = p, *end = p + n;

	if (flags)
		*flags = 0;
	while (s < end) {
		size_t k = line_len(s, end);

		switch (hdr_line_kind(s, k, NULL)) {
		case HL_BLANK:
			return (size_t)(s + k - p);
		case HL_OTHER:
			if (flags)
				*flags = HDR_NOBLANK;
			return (size_t)(s - p);
		case HL_CONT:
			if (s == p) {       /* nothing to continue */
				if (flags)
					*flags = HDR_NOBLANK;
				return 0;
			}
			break;
		case HL_FIELD:
			break;
		}
		s += k;
	}
	if (flags)
		*flags = HDR_EOF;
	return n;
}

void hdr_iter_init(struct hdr_iter *it, const char *hdr, size_t len)
{
	it->p = hdr;
	it->end = hdr + len;
}

int hdr_next(struct hdr_iter *it, struct hdr_field *f)
{
	const char *s = it->p;
	size_t k, namelen = 0;
	enum hdr_line kind;

	if (s >= it->end)
		return 0;
	k = line_len(s, it->end);
	kind = hdr_line_kind(s, k, &namelen);
	if (kind == HL_BLANK)
		return 0;
	memset(f, 0, sizeof *f);
	f->raw = s;
	if (kind == HL_FIELD) {
		f->name = s;
		f->namelen = namelen;
		f->value = memchr(s, ':', k) + 1;
	} else {
		f->value = s;
	}
	s += k;
	/* continuation lines belong to the field (not to a stray HL_OTHER line) */
	while (kind == HL_FIELD && s < it->end && (*s == ' ' || *s == '\t'))
		s += line_len(s, it->end);
	f->rawlen = (size_t)(s - f->raw);
	f->vallen = (size_t)(s - f->value);
	if (f->vallen > 0 && f->value[f->vallen - 1] == '\n')
		f->vallen--;
	if (f->vallen > 0 && f->value[f->vallen - 1] == '\r')
		f->vallen--;
	it->p = s;
	return 1;
}

int hdr_is(const struct hdr_field *f, const char *name)
{
	return f->name && strlen(name) == f->namelen && strncasecmp(f->name, name, f->namelen) == 0;
}

int hdr_find(const char *hdr, size_t len, const char *name, struct hdr_field *f)
{
	struct hdr_iter it;

	hdr_iter_init(&it, hdr, len);
	while (hdr_next(&it, f))
		if (hdr_is(f, name))
			return 1;
	return 0;
}

size_t hdr_unfold(const char *v, size_t n, size_t max, struct buf *out)
{
	size_t i = 0, start = out->len, lastnonws;

	while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n'))
		i++;
	buf_reserve(out, 0);
	lastnonws = out->len;
	for (; i < n; i++) {
		char c = v[i];

		if (c == '\r' || c == '\n')
			continue;
		if (max && out->len - start >= max)
			break;
		buf_addc(out, c);
		if (c != ' ' && c != '\t')
			lastnonws = out->len;
	}
	out->len = lastnonws;
	out->p[out->len] = '\0';
	return out->len - start;
}

int hdr_get(const char *hdr, size_t len, const char *name, struct buf *out)
{
	struct hdr_field f;

	if (!hdr_find(hdr, len, name, &f))
		return 0;
	hdr_unfold(f.value, f.vallen, 0, out);
	return 1;
}

static int name_listed(const struct hdr_field *f, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hdr_is(f, names[i]))
			return 1;
	return 0;
}

size_t hdr_filter(const char *hdr, size_t len, const char *const *names, size_t nnames,
    int exclude, struct buf *out)
{
	struct hdr_iter it;
	struct hdr_field f;
	size_t start = out->len;
	int crlf = 0, first = 1;

	hdr_iter_init(&it, hdr, len);
	while (hdr_next(&it, &f)) {
		if (first) {
			const char *nl = memchr(f.raw, '\n', f.rawlen);

			crlf = nl && nl > f.raw && nl[-1] == '\r';
			first = 0;
		}
		if (f.name && name_listed(&f, names, nnames) != exclude) {
			buf_add(out, f.raw, f.rawlen);
			if (f.raw[f.rawlen - 1] != '\n')        /* last field, no line end */
				buf_adds(out, crlf ? "\r\n" : "\n");
		}
	}
	buf_adds(out, crlf ? "\r\n" : "\n");
	return out->len - start;
}
