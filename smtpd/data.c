/* data.c — message input: DATA and BDAT.
 *
 * DATA ends only at <CR><LF>.<CR><LF>: a "." line counts only when the line
 * before it ended in CRLF and it ends in CRLF itself.  A bare LF or bare CR
 * anywhere in the text (RFC 5321 2.3.8 forbids both) makes us read on to
 * the real end and then refuse the whole message with 550 5.5.2, as
 * Postfix's smtpd_forbid_bare_newline = reject does: whatever a smuggler
 * hid after "<LF>.<LF>" is swallowed as text of a refused message and never
 * runs as commands (see DEVIATIONS.md).  Lines over SMTP_TEXT_MAX and
 * messages over --max-size are read to the end too, then refused, so the
 * session stays in step with the client. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "smtpd.h"

enum { D_BARE = 1, D_LONG = 2, D_BIG = 4 };

/* Take one chunk (a line with its end, or SMTP_TEXT_MAX bytes of a longer
 * one) into s->msg.  *bol: it starts a line; *cr: the previous chunk of
 * an over-long line ended in CR, so a lone "\n" now completes a CRLF.
 * Returns 1 at the end of data. */
static int data_chunk(struct session *s, const char *p, size_t n, enum conn_eol eol, int *bol,
    int *cr, int *flags)
{
	size_t clen = n - (eol == CONN_EOL_CRLF ? 2 : eol == CONN_EOL_LF ? 1 : 0);
	int pending_cr = *cr;

	*cr = 0;
	if (*bol && eol == CONN_EOL_CRLF && clen == 1 && p[0] == '.')
		return 1;
	if (pending_cr && n == 1 && eol == CONN_EOL_LF) {
		eol = CONN_EOL_CRLF;            /* "...\r" + "\n": a CRLF split by the limit */
	} else if (eol == CONN_EOL_NONE) {
		*flags |= D_LONG;
		if (clen > 0 && p[clen - 1] == '\r')
			*cr = 1, clen--;
	} else if (eol == CONN_EOL_LF || pending_cr) {
		*flags |= D_BARE;
	}
	if (memchr(p, '\r', clen) != NULL)
		*flags |= D_BARE;
	if (*bol && clen > 0 && p[0] == '.') {          /* RFC 5321 4.5.2 */
		p++;
		clen--;
	}
	if (s->msg.len + clen + 1 > (size_t)s->cfg->max_size)
		*flags |= D_BIG;
	if (*flags == 0) {
		buf_add(&s->msg, p, clen);
		buf_addc(&s->msg, '\n');
	}
	/* Only CRLF ends a line for the end-of-data test: "<LF>.<CR><LF>"
	 * is not an end. */
	*bol = eol == CONN_EOL_CRLF;
	return 0;
}

int data_read(struct session *s, int *code, char *why, size_t cap)
{
	char chunk[SMTP_TEXT_MAX];
	int bol = 1, cr = 0, flags = 0;
	size_t n;

	buf_reset(&s->msg);
	*code = 0;
	for (;;) {
		enum conn_rc rc = conn_getchunk(&s->conn, chunk, sizeof chunk, &n);

		if (rc == CONN_TIMEOUT)
			reply(s, 421, "4.4.2 %s Error: timeout exceeded", s->cfg->hostname);
		if (rc != CONN_OK || n == 0 || (conn_last_eol(&s->conn) == CONN_EOL_NONE && s->conn.eof))
			return -1;      /* no end of data: nothing is delivered */
		if (data_chunk(s, chunk, n, conn_last_eol(&s->conn), &bol, &cr, &flags))
			break;
	}
	if (flags & D_BIG) {
		*code = 552;
		snprintf(why, cap, "5.3.4 Error: message file too big");
	} else if (flags & D_BARE) {
		*code = 550;
		snprintf(why, cap, "5.5.2 Error: bare <CR> or <LF> in message text (RFC 5321 2.3.8)");
	} else if (flags & D_LONG) {
		*code = 500;
		snprintf(why, cap, "5.5.0 Error: message line longer than %d octets", SMTP_TEXT_MAX);
	}
	return 0;
}

void crlf_to_lf(struct buf *b)
{
	size_t i, o = 0;

	for (i = 0; i < b->len; i++) {
		if (b->p[i] == '\r' && i + 1 < b->len && b->p[i + 1] == '\n')
			continue;
		b->p[o++] = b->p[i];
	}
	b->len = o;
	if (b->p)
		b->p[o] = '\0';
}

/* Read and drop n bytes of a refused chunk. */
static enum conn_rc bdat_skip(struct session *s, unsigned long long n)
{
	char junk[IO_BUFSIZE / 8];
	enum conn_rc rc;

	while (n > 0) {
		size_t k = n < sizeof junk ? (size_t)n : sizeof junk;

		if ((rc = conn_read(&s->conn, junk, k)) != CONN_OK)
			return rc;
		n -= k;
	}
	return CONN_OK;
}

/* "n" or "n LAST"; -1 on bad syntax. */
static int bdat_args(const char *args, unsigned long long *n, int *last)
{
	char *end;

	if (*args < '0' || *args > '9')
		return -1;
	*n = strtoull(args, &end, 10);
	*last = 0;
	if (*end == ' ' && strcasecmp(end + 1, "LAST") == 0)
		*last = 1;
	else if (*end != '\0')
		return -1;
	return 0;
}

void cmd_bdat(struct session *s, char *args)
{
	unsigned long long n;
	enum conn_rc rc;
	int last;

	if (bdat_args(args, &n, &last) < 0) {
		/* We cannot know how many bytes follow: we are out of step. */
		reply(s, 501, "5.5.4 Syntax: BDAT count [LAST]");
		s->quit = 1;
		return;
	}
	if (n > (unsigned long long)s->cfg->max_size) {
		/* A chunk we would never take (BDAT 99999999999999999999 too):
		 * reading it would let the client hold the session for as long
		 * as it likes, so refuse now; we are then out of step. */
		reply(s, 552, "5.3.4 Error: chunk exceeds the message size limit");
		s->quit = 1;
		return;
	}
	conn_set_timeout(&s->conn, s->cfg->data_timeout);
	if (!(s->state & (S_RCPT | S_BDAT))) {
		if ((rc = bdat_skip(s, n)) != CONN_OK)
			goto broken;
		reply(s, 503, "5.5.1 Error: need RCPT command");
		client_error(s);
	} else if (n > (unsigned long long)s->cfg->max_size - s->msg.len) {
		if ((rc = bdat_skip(s, n)) != CONN_OK)
			goto broken;
		reply(s, 552, "5.3.4 Error: message file too big");
		transaction_reset(s);
	} else {
		rc = conn_read(&s->conn, buf_reserve(&s->msg, (size_t)n), (size_t)n);
		if (rc != CONN_OK)
			goto broken;
		buf_commit(&s->msg, (size_t)n);
		set_state(s, S_BDAT);
		if (!last) {
			reply(s, 250, "2.0.0 Ok: %llu octets received", n);
		} else {
			crlf_to_lf(&s->msg);
			deliver_message(s);
			transaction_reset(s);
		}
	}
	conn_set_timeout(&s->conn, s->cfg->cmd_timeout);
	return;
broken:
	if (rc == CONN_TIMEOUT)
		reply(s, 421, "4.4.2 %s Error: timeout exceeded", s->cfg->hostname);
	s->quit = 1;
}
