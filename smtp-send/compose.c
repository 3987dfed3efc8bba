/* compose.c — build a MIME message from options (RFC 5322, RFC 2045-2049).
 *
 * The shape follows what the options ask for:
 *   text only               text/plain
 *   --html                  multipart/alternative (text/plain, text/html)
 *   --attach                multipart/mixed (the above, then each file)
 * Each part gets the lightest encoding that keeps it intact: 7bit for short
 * ASCII lines, quoted-printable for other text, base64 for everything else.
 * Header text outside ASCII becomes RFC 2047 encoded-words; file names use
 * RFC 2231 parameters. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "b64.h"
#include "charset.h"
#include "err.h"
#include "limits.h"
#include "qp.h"
#include "rfc2047.h"
#include "send.h"

#define PARAM_LINE_MAX 60       /* a short quoted parameter, name included */
#define HEADER_LINE_WANT 78     /* RFC 5322 2.1.1: lines SHOULD stay within 78 */

static const struct {
	const char *ext, *type;
} mime_types[] = {
	{ "txt", "text/plain" },        { "text", "text/plain" },
	{ "md", "text/markdown" },      { "csv", "text/csv" },
	{ "html", "text/html" },        { "htm", "text/html" },
	{ "css", "text/css" },          { "ics", "text/calendar" },
	{ "xml", "application/xml" },   { "json", "application/json" },
	{ "pdf", "application/pdf" },   { "zip", "application/zip" },
	{ "gz", "application/gzip" },   { "tar", "application/x-tar" },
	{ "doc", "application/msword" },
	{ "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
	{ "odt", "application/vnd.oasis.opendocument.text" },
	{ "png", "image/png" },         { "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },       { "gif", "image/gif" },
	{ "svg", "image/svg+xml" },     { "webp", "image/webp" },
	{ "mp3", "audio/mpeg" },        { "ogg", "audio/ogg" },
	{ "wav", "audio/wav" },         { "mp4", "video/mp4" },
	{ "c", "text/x-c" },            { "h", "text/x-c" },
	{ "sh", "application/x-sh" },   { "asc", "application/pgp-signature" },
};

const char *mime_type_of(const char *path)
{
	const char *base = strrchr(path, '/'), *dot;

	base = base ? base + 1 : path;
	if ((dot = strrchr(base, '.')) == NULL || dot == base)
		return "application/octet-stream";
	for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++)
		if (strcasecmp(dot + 1, mime_types[i].ext) == 0)
			return mime_types[i].type;
	return "application/octet-stream";
}

void rfc5322_date(time_t t, char *out, size_t cap)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mons[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(out, cap, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday],
	    tm.tm_mday, mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

/* RFC 2045 5.1 tspecials and token characters. */
static int is_attr_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && !strchr("()<>@,;:\\\"/[]?=*'%", c);
}

/* RFC 2231 3 and 4: name*=utf-8''%E2%82%AC..., or when that is too long
 * for a line, name*0*=utf-8''...; name*1*=... (never splitting a %XX). */
static void param_2231(struct buf *out, const char *name, const char *value)
{
	/* "\tNAME*NN*=utf-8''PIECE;" within HEADER_LINE_WANT */
	size_t room = HEADER_LINE_WANT - strlen(name) - sizeof "\t*NN*=utf-8'';" + 1;
	size_t piece = 0, start = 0, k;
	struct buf e = { 0 };

	buf_adds(&e, "");
	for (const char *p = value; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (is_attr_char(c))
			buf_addc(&e, (char)c);
		else
			buf_printf(&e, "%%%02X", c);
	}
	if (e.len <= room) {
		buf_printf(out, ";\r\n\t%s*=utf-8''%s", name, e.p);
		buf_free(&e);
		return;
	}
	while (start < e.len) {
		k = e.len - start > room ? room : e.len - start;
		if (start + k < e.len) {
			if (e.p[start + k - 1] == '%')
				k -= 1;
			else if (e.p[start + k - 2] == '%')
				k -= 2;
		}
		buf_printf(out, ";\r\n\t%s*%zu*=%s%.*s", name, piece, piece == 0 ? "utf-8''" : "",
		    (int)k, e.p + start);
		piece++;
		start += k;
	}
	buf_free(&e);
}

void mime_param(struct buf *out, const char *name, const char *value)
{
	size_t n = strlen(value);
	int plain = !has_8bit(value, n) && n + strlen(name) <= PARAM_LINE_MAX;

	for (size_t i = 0; plain && i < n; i++)
		if ((unsigned char)value[i] < ' ' || value[i] == 0x7f)
			plain = 0;
	if (!plain) {
		param_2231(out, name, value);
		return;
	}
	buf_printf(out, ";\r\n\t%s=\"", name);
	for (size_t i = 0; i < n; i++) {
		if (value[i] == '"' || value[i] == '\\')
			buf_addc(out, '\\');
		buf_addc(out, value[i]);
	}
	buf_addc(out, '"');
}

/* Append an unstructured header field, encoded when it needs to be. */
static void field_text(struct buf *out, const char *name, const char *v)
{
	size_t n = strlen(v);

	buf_printf(out, "%s: ", name);
	if (rfc2047_needed(v, n)) {
		size_t eb = 0;

		for (size_t i = 0; i < n; i++)
			eb += (unsigned char)v[i] >= 0x80;
		/* Q reads better for mostly-ASCII text, B is shorter otherwise */
		rfc2047_encode("UTF-8", eb * 3 > n ? 'B' : 'Q', v, n, "\r\n ", out);
	} else {
		buf_adds(out, v);
	}
	buf_adds(out, "\r\n");
}

/* Append a display name as an RFC 5322 phrase: atoms as they are, a
 * quoted-string when specials appear, encoded-words for 8-bit text. */
static void phrase(struct buf *out, const char *s, size_t n)
{
	int special = 0;

	if (rfc2047_needed(s, n)) {
		rfc2047_encode("UTF-8", 'Q', s, n, " ", out);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (strchr("()<>[]:;@\\,.\"", s[i]))
			special = 1;
	if (!special) {
		buf_add(out, s, n);
		return;
	}
	buf_addc(out, '"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_addc(out, '\\');
		buf_addc(out, s[i]);
	}
	buf_addc(out, '"');
}

/* An address field given by the user ("Zoë <z@x>, b@c"): encode each
 * display name that needs it, keep the rest. */
static void field_addr(struct buf *out, const char *name, const char *v)
{
	buf_printf(out, "%s: ", name);
	while (*v) {
		size_t n = strcspn(v, ",");
		const char *lt = memchr(v, '<', n);

		if (lt && !memchr(v, '"', n)) {
			const char *s = v, *e = lt;

			while (s < e && (*s == ' ' || *s == '\t'))
				s++;
			while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (e > s) {
				phrase(out, s, (size_t)(e - s));
				buf_addc(out, ' ');
			}
			buf_add(out, lt, n - (size_t)(lt - v));
		} else {
			buf_add(out, v, n);
		}
		v += n;
		if (*v == ',') {
			buf_adds(out, ",");
			v++;
		}
	}
	buf_adds(out, "\r\n");
}

static int is_addr_field(const char *name, size_t n)
{
	static const char *const f[] = { "From", "To", "Cc", "Bcc", "Reply-To", "Sender" };

	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		if (strlen(f[i]) == n && strncasecmp(name, f[i], n) == 0)
			return 1;
	return 0;
}

/* Check "Name: value" (RFC 5322 2.2: printable ASCII name without ':'; no
 * line breaks in the value — header injection); return the name length. */
static size_t header_ok(const char *h)
{
	size_t n = strcspn(h, ":");

	if (h[n] != ':' || n == 0 || n > 76)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (h[i] <= ' ' || h[i] >= 0x7f)
			return 0;
	if (strpbrk(h, "\r\n"))
		return 0;
	return n;
}

/* Whether the user gave a field of this name with --header. */
static int user_has(const struct compose *c, const char *name)
{
	size_t k = strlen(name);

	for (size_t i = 0; i < c->nheaders; i++)
		if (strncasecmp(c->headers[i], name, k) == 0 && c->headers[i][k] == ':')
			return 1;
	return 0;
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static int top_headers(const struct compose *c, struct buf *out, char *err, size_t cap)
{
	char date[64];

	for (size_t i = 0; i < c->nheaders; i++) {
		size_t n = header_ok(c->headers[i]);

		if (n == 0) {
			snprintf(err, cap, "bad header (want \"Name: value\" on one line): %s",
			    c->headers[i]);
			return -1;
		}
	}
	if (!user_has(c, "Date")) {
		rfc5322_date(c->now, date, sizeof date);
		buf_printf(out, "Date: %s\r\n", date);
	}
	if (!user_has(c, "From")) {
		buf_adds(out, "From: ");
		if (c->name && *c->name) {
			phrase(out, c->name, strlen(c->name));
			buf_printf(out, " <%s>\r\n", c->from);
		} else {
			buf_printf(out, "%s\r\n", c->from);
		}
	}
	if (!user_has(c, "To") && c->nto > 0) {
		buf_adds(out, "To: ");
		for (size_t i = 0; i < c->nto; i++)
			buf_printf(out, "%s%s", i ? ",\r\n " : "", c->to[i]);
		buf_adds(out, "\r\n");
	}
	if (c->subject && !user_has(c, "Subject"))
		field_text(out, "Subject", c->subject);
	if (!user_has(c, "Message-ID"))
		buf_printf(out, "Message-ID: <%llx.%llx@%s>\r\n", (unsigned long long)c->now,
		    c->rnd, c->domain);
	for (size_t i = 0; i < c->nheaders; i++) {
		const char *h = c->headers[i];
		size_t n = header_ok(h);
		char *name = xstrndup(h, n);

		if (is_addr_field(h, n))
			field_addr(out, name, skip_ws(h + n + 1));
		else
			field_text(out, name, skip_ws(h + n + 1));
		free(name);
	}
	buf_adds(out, "MIME-Version: 1.0\r\n");
	return 0;
}

/* Text with LF or CRLF line ends made CRLF, ending with a line end. */
static void crlf_text(struct buf *out, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			buf_addc(out, '\r');
		buf_addc(out, p[i]);
	}
	if (n > 0 && p[n - 1] != '\n')
		buf_adds(out, "\r\n");
}

/* Whether data can go as 7bit: ASCII, no NUL, no bare CR, short lines. */
static int is_7bit(const char *p, size_t n)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\n') {
			col = 0;
			continue;
		}
		if (c == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		if (c >= 0x80 || c == 0 || c == '\r' || ++col > RFC5322_LINE_MAX)
			return 0;
	}
	return 1;
}

/* Whether data is text we may send as quoted-printable UTF-8. */
static int is_text(const char *p, size_t n)
{
	if (memchr(p, '\0', n))
		return 0;
	return utf8_valid(p, n);
}

static void body_b64(struct buf *out, const char *p, size_t n)
{
	struct b64_enc e;
	char *d;

	b64_enc_init(&e, MIME_LINE_MAX, 1);
	d = buf_reserve(out, b64_enc_bound(&e, n) + 8);
	size_t k = b64_enc_update(&e, p, n, d);

	k += b64_enc_final(&e, d + k);
	buf_commit(out, k);
}

static void body_qp(struct buf *out, const char *p, size_t n)
{
	struct qp_enc e;
	char *d;
	size_t k;

	qp_enc_init(&e, 0, 1);
	d = buf_reserve(out, qp_enc_bound(n) + 8);
	k = qp_enc_update(&e, p, n, d);
	k += qp_enc_final(&e, d + k);
	buf_commit(out, k);
	if (k > 0 && out->p[out->len - 1] != '\n')
		buf_adds(out, "\r\n");
}

/* One leaf part: Content-Type (text gets a charset), encoding, body. */
static void leaf(struct buf *out, const char *type, const char *p, size_t n,
    const char *filename)
{
	int text = strncmp(type, "text/", 5) == 0;
	const char *cte;

	if (text && is_7bit(p, n))
		cte = "7bit";
	else if (text && is_text(p, n))
		cte = "quoted-printable";
	else
		cte = "base64";
	buf_printf(out, "Content-Type: %s", type);
	if (text && strcmp(cte, "base64") != 0)
		buf_printf(out, "; charset=%s", strcmp(cte, "7bit") == 0 ? "us-ascii" : "utf-8");
	if (filename)
		mime_param(out, "name", filename);
	buf_printf(out, "\r\nContent-Transfer-Encoding: %s\r\n", cte);
	if (filename) {
		buf_adds(out, "Content-Disposition: attachment");
		mime_param(out, "filename", filename);
		buf_adds(out, "\r\n");
	}
	buf_adds(out, "\r\n");
	if (strcmp(cte, "7bit") == 0)
		crlf_text(out, p, n);
	else if (strcmp(cte, "quoted-printable") == 0)
		body_qp(out, p, n);
	else
		body_b64(out, p, n);
}

static int read_file(const char *path, struct buf *b, char *err, size_t cap)
{
	int fd = open(path, O_RDONLY);
	char e2[200];

	if (fd < 0) {
		snprintf(err, cap, "attachment %s: %s", path, strerror(errno));
		return -1;
	}
	if (read_all(fd, b, e2, sizeof e2) < 0) {
		snprintf(err, cap, "attachment %s: %s", path, e2);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* The text part, or the text/html alternative pair. */
static void text_parts(const struct compose *c, struct buf *out, const char *bnd)
{
	const char *body = c->body ? c->body : "";
	size_t blen = c->body ? c->bodylen : 0;

	if (c->html == NULL) {
		leaf(out, "text/plain", body, blen, NULL);
		return;
	}
	if (c->body == NULL) {
		leaf(out, "text/html", c->html, c->htmllen, NULL);
		return;
	}
	buf_printf(out, "Content-Type: multipart/alternative;\r\n\tboundary=\"%s\"\r\n\r\n", bnd);
	buf_printf(out, "--%s\r\n", bnd);
	leaf(out, "text/plain", body, blen, NULL);
	buf_printf(out, "\r\n--%s\r\n", bnd);
	leaf(out, "text/html", c->html, c->htmllen, NULL);
	buf_printf(out, "\r\n--%s--\r\n", bnd);
}

int compose_build(const struct compose *c, struct buf *out, char *err, size_t cap)
{
	/* "=_" cannot occur in base64 or quoted-printable output; the random
	 * part makes a clash with a 7bit part practically impossible */
	char alt[64], mix[64];

	snprintf(alt, sizeof alt, "=_alt_%016llx", c->rnd * 2654435761ULL);
	snprintf(mix, sizeof mix, "=_mix_%016llx", c->rnd ^ 0x9e3779b97f4a7c15ULL);
	if (c->subject && !utf8_valid(c->subject, strlen(c->subject))) {
		snprintf(err, cap, "subject is not valid UTF-8");
		return -1;
	}
	if (top_headers(c, out, err, cap) < 0)
		return -1;
	if (c->nattach == 0) {
		text_parts(c, out, alt);
		return 0;
	}
	buf_printf(out, "Content-Type: multipart/mixed;\r\n\tboundary=\"%s\"\r\n\r\n"
	    "This is a multi-part message in MIME format.\r\n", mix);
	buf_printf(out, "--%s\r\n", mix);
	text_parts(c, out, alt);
	for (size_t i = 0; i < c->nattach; i++) {
		struct buf f = { 0 };
		const char *base = strrchr(c->attach[i], '/');

		if (read_file(c->attach[i], &f, err, cap) < 0) {
			buf_free(&f);
			return -1;
		}
		buf_printf(out, "\r\n--%s\r\n", mix);
		leaf(out, mime_type_of(c->attach[i]), f.p ? f.p : "", f.len,
		    base ? base + 1 : c->attach[i]);
		buf_free(&f);
	}
	buf_printf(out, "\r\n--%s--\r\n", mix);
	return 0;
}
