/* deliver_msg.c — read the message once and make it what every mailbox stores.
 *
 * Stored form: LF line ends (a CRLF from SMTP becomes LF; a lone CR stays),
 * no leading mbox "From " line (its sender is kept as a default for -f),
 * and no Return-Path: field, since RFC 5321 4.4 makes the delivering MTA
 * the one that adds it. */
#include <ctype.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "deliver.h"

static int slurp(int fd, size_t max, struct buf *b)
{
	for (;;) {
		char *p = buf_reserve(b, IO_BUFSIZE);
		ssize_t n = read(fd, p, IO_BUFSIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			warn_("read message");
			return EX_TEMPFAIL;
		}
		if (n == 0)
			return EX_OK;
		buf_commit(b, n);
		if (b->len > max) {
			warnx_("message larger than %zu bytes: refused", max);
			return EX_DATAERR;
		}
	}
}

/* CRLF -> LF in place; returns the new length. */
static size_t crlf_to_lf(char *p, size_t n)
{
	char *w = memchr(p, '\r', n), *end = p + n;

	if (w == NULL)
		return n;
	for (char *r = w; r < end; r++) {
		if (*r == '\r' && r + 1 < end && r[1] == '\n')
			continue;
		*w++ = *r;
	}
	return w - p;
}

/* Length of the header field starting at p (with its continuation lines),
 * or 0 when p does not start a field "name:". */
static size_t field_len(const char *p, const char *end)
{
	const char *s = p, *nl;

	while (s < end && *s != ':' && *s > ' ' && *s < 0x7f)
		s++;
	if (s == p || s == end || *s != ':')
		return 0;
	for (;;) {
		nl = memchr(s, '\n', end - s);
		if (nl == NULL)
			return end - p;
		s = nl + 1;
		if (s == end || (*s != ' ' && *s != '\t'))
			return s - p;
	}
}

static int field_is(const char *f, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && strncasecmp(f, name, k) == 0 && f[k] == ':';
}

/* The value of a field, without leading and trailing white space. */
static void field_value(const char *f, size_t n, const char **v, size_t *vl)
{
	const char *s = memchr(f, ':', n) + 1, *e = f + n;

	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*v = s;
	*vl = e - s;
}

/* Walk the header: drop Return-Path fields, note X-Spam-Flag: YES, set
 * hdr_len.  The header ends at a blank line or at the first line that is
 * not a field (then the rest is body). */
static void scan_header(struct md_msg *m)
{
	char *p = m->data, *end = m->data + m->len;
	const char *v;
	size_t n, vl;

	while (p < end && *p != '\n' && (n = field_len(p, end)) > 0) {
		if (field_is(p, n, "Return-Path")) {
			memmove(p, p + n, end - p - n);
			end -= n;
			m->len -= n;
			continue;
		}
		if (field_is(p, n, "X-Spam-Flag")) {
			field_value(p, n, &v, &vl);
			if (vl == 3 && strncasecmp(v, "YES", 3) == 0)
				m->spam = 1;
		}
		p += n;
	}
	if (p < end && *p == '\n')
		p++;
	m->hdr_len = p - m->data;
}

static int sender_chars_ok(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] <= ' ' || p[i] == 0x7f || p[i] == '<' || p[i] == '>')
			return 0;
	return 1;
}

/* A leading mbox separator "From SENDER DATE": keep SENDER, drop the line. */
static void strip_from_line(struct md_msg *m)
{
	char *nl, *sp;

	if (m->len < 5 || memcmp(m->data, "From ", 5) != 0)
		return;
	if ((nl = memchr(m->data, '\n', m->len)) == NULL)
		nl = m->data + m->len;
	sp = memchr(m->data + 5, ' ', nl - m->data - 5);
	if (sp == NULL)
		sp = nl;
	/* It goes into Return-Path: <...> and the mbox From_ line: no
	 * control character (a lone CR would start a header line of its own
	 * in some readers), no angle bracket, as for -f and $SENDER. */
	if (sp > m->data + 5 && sp - m->data - 5 <= MD_SENDER_MAX &&
	    sender_chars_ok(m->data + 5, sp - m->data - 5))
		m->from_sender = xstrndup(m->data + 5, sp - m->data - 5);
	if (nl < m->data + m->len)
		nl++;
	memmove(m->data, nl, m->data + m->len - nl);
	m->len -= nl - m->data;
}

/* Take b's bytes as the message m in its stored form. */
static void normalise(struct buf *b, struct md_msg *m)
{
	buf_reserve(b, 1);
	m->data = b->p;
	m->len = crlf_to_lf(b->p, b->len);
	strip_from_line(m);
	scan_header(m);
}

int md_read(int fd, size_t max, struct md_msg *m)
{
	struct buf b = { 0 };
	int rc;

	memset(m, 0, sizeof *m);
	if ((rc = slurp(fd, max, &b)) != EX_OK) {
		buf_free(&b);
		return rc;
	}
	normalise(&b, m);
	return EX_OK;
}

int md_from_mem(const char *p, size_t n, struct md_msg *m)
{
	struct buf b = { 0 };

	memset(m, 0, sizeof *m);
	buf_add(&b, p, n);
	normalise(&b, m);
	return EX_OK;
}

void md_msg_free(struct md_msg *m)
{
	free(m->data);
	free(m->from_sender);
	memset(m, 0, sizeof *m);
}

/* Whether the field f[0..n) is "Delivered-To: addr". */
static int dt_is(const char *f, size_t n, const char *addr)
{
	const char *v;
	size_t vl;

	if (!field_is(f, n, "Delivered-To"))
		return 0;
	field_value(f, n, &v, &vl);
	return vl == strlen(addr) && strncasecmp(v, addr, vl) == 0;
}

int md_dt_find(const char *p, size_t len, const char *addr)
{
	const char *end = p + len;
	int below = 0, found = 0;
	size_t n;

	while (p < end && *p != '\n' && (n = field_len(p, end)) > 0) {
		if (field_is(p, n, "Received"))
			below = 1;
		else if (dt_is(p, n, addr))
			found |= below ? MD_DT_BELOW : MD_DT_HANDED;
		p += n;
	}
	return found;
}

size_t md_dt_drop_handed(const char *p, size_t len, const char *addr, struct buf *out)
{
	const char *end = p + len;
	size_t n, dropped = 0;

	while (p < end && *p != '\n' && (n = field_len(p, end)) > 0) {
		if (field_is(p, n, "Received"))
			break;
		if (dt_is(p, n, addr))
			dropped++;
		else
			buf_add(out, p, n);
		p += n;
	}
	buf_add(out, p, (size_t)(end - p));
	return dropped;
}

int md_delivered_to(const struct md_msg *m, const char *addr)
{
	const char *p = m->data, *end = m->data + m->hdr_len, *v;
	size_t n, vl;

	while (p < end && (n = field_len(p, end)) > 0) {
		if (field_is(p, n, "Delivered-To")) {
			field_value(p, n, &v, &vl);
			if (vl == strlen(addr) && strncasecmp(v, addr, vl) == 0)
				return 1;
		}
		p += n;
	}
	return 0;
}
