/* message.c — the message as it goes on the wire.
 *
 * A message is read whole, its line ends made CRLF, and checked before any
 * connection is made: a NUL byte, a bare CR (the stuff of SMTP smuggling)
 * or a line over 998 characters (RFC 5322 2.1.1) is refused up front
 * rather than half-sent. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "err.h"
#include "limits.h"
#include "qp.h"
#include "send.h"

int read_all(int fd, struct buf *out, char *err, size_t cap)
{
	for (;;) {
		char *d = buf_reserve(out, IO_BUFSIZE);
		ssize_t r = read(fd, d, IO_BUFSIZE);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, cap, "read: %s", strerror(errno));
			return -1;
		}
		if (r == 0)
			break;
		buf_commit(out, (size_t)r);
		if (out->len > SEND_MSG_MAX) {
			snprintf(err, cap, "message larger than %lu bytes", SEND_MSG_MAX);
			return -1;
		}
	}
	buf_adds(out, "");
	return 0;
}

int has_8bit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

/* Find where the header section ends (after the empty line), or len. */
static size_t header_end(const char *p, size_t len)
{
	if (len >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;
	for (size_t i = 0; i + 3 < len; i++)
		if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
			return i + 4;
	return len;
}

/* Whether p[0..n) holds nothing but line ends: a lone dot followed by
 * nothing else is the ordinary end of a typed message. */
static int only_line_ends(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != '\n' && p[i] != '\r')
			return 0;
	return 1;
}

int msg_from_bytes(const char *raw, size_t n, int ignore_dots, struct message *m,
    char *err, size_t cap)
{
	struct buf b = { 0 };
	size_t line = 1;

	memset(m, 0, sizeof *m);
	for (size_t i = 0; i < n; line++) {
		const char *lf = memchr(raw + i, '\n', n - i);
		size_t e = lf ? (size_t)(lf - raw) : n, k = e - i;

		if (k > 0 && raw[e - 1] == '\r' && lf)
			k--;
		if (memchr(raw + i, '\0', k)) {
			snprintf(err, cap, "line %zu: NUL byte in message", line);
			goto bad;
		}
		if (memchr(raw + i, '\r', k)) {
			snprintf(err, cap, "line %zu: bare CR in message", line);
			goto bad;
		}
		if (k > RFC5322_LINE_MAX) {
			snprintf(err, cap, "line %zu: longer than %d characters (RFC 5322 2.1.1)",
			    line, RFC5322_LINE_MAX);
			goto bad;
		}
		if (!ignore_dots && k == 1 && raw[i] == '.') {
			if (!only_line_ends(raw + e, n - e)) {
				snprintf(err, cap, "line %zu: a line with a single dot ends the "
				    "message before the end of input (-i sends it all)", line);
				goto bad;
			}
			break;
		}
		buf_add(&b, raw + i, k);
		buf_add(&b, "\r\n", 2);
		i = lf ? e + 1 : n;
	}
	buf_adds(&b, "");
	m->len = b.len;
	m->p = buf_take(&b);
	m->hdrlen = header_end(m->p, m->len);
	m->eightbit = has_8bit(m->p, m->len);
	m->utf8hdr = has_8bit(m->p, m->hdrlen);
	return 0;
bad:
	buf_free(&b);
	return -1;
}

void msg_free(struct message *m)
{
	free(m->p);
	memset(m, 0, sizeof *m);
}

void msg_stuff(const struct message *m, struct buf *out)
{
	const char *p = m->p, *end = m->p + m->len;

	buf_reserve(out, m->len + m->len / 64 + 8);
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t k = lf ? (size_t)(lf - p) + 1 : (size_t)(end - p);

		if (*p == '.')
			buf_addc(out, '.');
		buf_add(out, p, k);
		p += k;
	}
	buf_add(out, ".\r\n", 3);
}

int addr_ok(const char *s)
{
	int inq = 0;
	size_t n = strlen(s);

	if (n > SMTP_PATH_MAX - 2)
		return 0;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < ' ' || c == 0x7f || c == '<' || c == '>')
			return 0;
		if (c == '"')
			inq = !inq;
		else if (c == '\\' && inq && p[1])
			p++;
		else if (c == ' ' && !inq)
			return 0;
	}
	return !inq;
}

/* ---- -t: recipients from the header (RFC 5322 3.6.3) ---- */

int addr_split(const char *s, size_t n, char ***list, size_t *cnt)
{
	struct addr_list l = { 0 };
	int errors = addr_parse(s, n, &l), k = 0;

	for (size_t i = 0; i < l.n; i++) {
		struct buf b = { 0 };

		if (l.v[i].kind != ADDR_MAILBOX || l.v[i].local == NULL)
			continue;
		addr_spec(&l.v[i], &b);
		*list = xrealloc(*list, (*cnt + 1) * sizeof **list);
		(*list)[(*cnt)++] = buf_take(&b);
		k++;
	}
	addr_list_free(&l);
	/* a list that parsed with errors and gave nothing is unusable */
	return errors && k == 0 ? -1 : k;
}

/* Whether the field at p (a line start) is named name. */
static int field_is(const char *p, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && strncasecmp(p, name, k) == 0 && p[k] == ':';
}

/* Length of the field starting at p, with its continuation lines. */
static size_t field_len(const char *p, const char *end)
{
	const char *q = p;

	do {
		const char *lf = memchr(q, '\n', (size_t)(end - q));

		q = lf ? lf + 1 : end;
	} while (q < end && (*q == ' ' || *q == '\t'));
	return (size_t)(q - p);
}

int msg_header_rcpts(struct message *m, char ***list, size_t *n, char *err, size_t cap)
{
	static const char *const fields[] = { "To", "Cc", "Bcc" };
	size_t pos = 0, hend = m->hdrlen;
	int total = 0;

	while (pos < hend && !(m->p[pos] == '\r' && m->p[pos + 1] == '\n')) {
		size_t fl = field_len(m->p + pos, m->p + hend);
		int which = -1;

		for (int i = 0; i < 3; i++)
			if (field_is(m->p + pos, fl, fields[i]))
				which = i;
		if (which >= 0) {
			size_t nl = strlen(fields[which]) + 1;
			int r = addr_split(m->p + pos + nl, fl - nl, list, n);

			if (r < 0) {
				snprintf(err, cap, "cannot parse the %s: field", fields[which]);
				return -1;
			}
			total += r;
		}
		if (which == 2) {       /* Bcc: never sent (RFC 5322 3.6.3) */
			memmove(m->p + pos, m->p + pos + fl, m->len - pos - fl + 1);
			m->len -= fl;
			hend -= fl;
			m->hdrlen -= fl;
			continue;
		}
		pos += fl;
	}
	return total;
}

/* Value of the field at p (length fl, with its line ends) without leading
 * white space and with folding, into out (at most cap - 1 bytes). */
static void field_value(const char *p, size_t fl, size_t nl, char *out, size_t cap)
{
	size_t k = 0;

	for (size_t i = nl; i < fl && k + 1 < cap; i++)
		if (p[i] != '\r' && p[i] != '\n' && !(k == 0 && (p[i] == ' ' || p[i] == '\t')))
			out[k++] = p[i];
	out[k] = '\0';
}

int msg_downgrade(const struct message *m, struct message *out)
{
	size_t pos = 0, hend = m->hdrlen;
	int ctype = 0, mimever = 0;
	struct buf b = { 0 };
	struct qp_enc e;
	char v[256];

	memset(out, 0, sizeof *out);
	if (m->utf8hdr || hend >= m->len || hend < 2)
		return -1;
	for (pos = 0; pos < hend && !(m->p[pos] == '\r' && m->p[pos + 1] == '\n'); ) {
		size_t fl = field_len(m->p + pos, m->p + hend);

		if (field_is(m->p + pos, fl, "Content-Type")) {
			field_value(m->p + pos, fl, 13, v, sizeof v);
			if (strncasecmp(v, "text/", 5) != 0)
				return -1;      /* multipart, message, binary types: not ours to rewrite */
			ctype = 1;
		} else if (field_is(m->p + pos, fl, "Content-Transfer-Encoding")) {
			field_value(m->p + pos, fl, 26, v, sizeof v);
			if (strncasecmp(v, "8bit", 4) != 0 && strncasecmp(v, "7bit", 4) != 0)
				return -1;
		} else if (field_is(m->p + pos, fl, "MIME-Version")) {
			mimever = 1;
		}
		pos += fl;
	}
	if (!ctype)
		return -1;              /* no charset: the bytes' meaning is unknown */
	for (pos = 0; pos < hend && !(m->p[pos] == '\r' && m->p[pos + 1] == '\n'); ) {
		size_t fl = field_len(m->p + pos, m->p + hend);

		if (!field_is(m->p + pos, fl, "Content-Transfer-Encoding"))
			buf_add(&b, m->p + pos, fl);
		pos += fl;
	}
	if (!mimever)
		buf_adds(&b, "MIME-Version: 1.0\r\n");
	buf_adds(&b, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	qp_enc_init(&e, 0, 1);
	{
		size_t n = m->len - hend, k;
		char *o = buf_reserve(&b, qp_enc_bound(n) + 8);

		k = qp_enc_update(&e, m->p + hend, n, o);
		k += qp_enc_final(&e, o + k);
		buf_commit(&b, k);
	}
	if (b.len < 2 || b.p[b.len - 1] != '\n')
		buf_add(&b, "\r\n", 2);
	out->hdrlen = header_end(b.p, b.len);
	out->len = b.len;
	buf_adds(&b, "");
	out->p = buf_take(&b);
	out->eightbit = has_8bit(out->p, out->len);
	return 0;
}
