/* conn.c — line I/O over plain or TLS file descriptors (see conn.h).
 *
 * Reads go through fill(), the one place that blocks: it flushes pending
 * output first (so a reply is never stuck behind a read, and pipelining
 * works), waits with poll() for at most c->timeout seconds, and reads into
 * the input buffer through OpenSSL when TLS is on. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include "buf.h"
#include "conn.h"
#include "err.h"
#include "tls.h"

/* RFC 4978 COMPRESS=DEFLATE: raw DEFLATE streams (no zlib header), one
 * each way for the rest of the connection. */
struct conn_z {
	z_stream in, out;
	unsigned char raw[CONN_BUFSIZE];   /* compressed input not yet inflated */
	unsigned char zout[CONN_BUFSIZE];  /* compressed output on its way out */
	int in_full;                       /* the last inflate filled the buffer: zlib may hold more */
};

#define DEFLATE_WBITS   (-15)   /* negative: raw DEFLATE, RFC 4978 3; 32 KiB window */
#define DEFLATE_MEMLEVEL 8      /* zlib's default: about 256 KiB per deflater */

void conn_init(struct conn *c, int rfd, int wfd, enum conn_side side)
{
	memset(c, 0, sizeof *c);
	c->rfd = rfd;
	c->wfd = wfd;
	c->side = side;
}

void conn_set_log(struct conn *c, FILE *f, conn_masker mask)
{
	c->log = f;
	c->mask = mask;
}

void conn_set_timeout(struct conn *c, int secs)
{
	struct timeval tv = { .tv_sec = secs > 0 ? secs : 0 };

	c->timeout = secs;
	/* poll() bounds the wait for the first byte, but a blocking read()
	 * inside SSL_read/SSL_accept waiting for the rest of a TLS record, and
	 * a blocking write() to a peer that stopped reading, would wait for
	 * ever: the socket timeouts make them fail with EAGAIN, which we
	 * treat as WANT_READ/WANT_WRITE and then time out through poll().
	 * (Not a socket, as a pipe: setsockopt fails and nothing changes.) */
	setsockopt(c->rfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c->wfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void conn_set_deadline(struct conn *c, int secs)
{
	c->until = secs > 0 ? now_ms() + secs * 1000LL : 0;
}

void conn_mask_next(struct conn *c)
{
	c->mask_next_in = 1;
}

void conn_note(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->log == NULL)
		return;
	fputs("* ", c->log);
	va_start(ap, fmt);
	vfprintf(c->log, fmt, ap);
	va_end(ap);
	fputc('\n', c->log);
	fflush(c->log);
}

/* One transcript line; p[0..n) has no line end. */
/* One transcript line, written with one write(2) when the log has a file
 * descriptor: under -l every session shares one unbuffered stderr, and a
 * write per byte would interleave their lines. */
static void trace(struct conn *c, int incoming, const char *p, size_t n)
{
	struct buf line = { 0 };
	size_t show = n;
	int fd;

	if (c->log == NULL)
		return;
	buf_adds(&line, (incoming == (c->side == CONN_SERVER)) ? "C: " : "S: ");
	if (incoming && c->mask_next_in) {
		show = 0;
		c->mask_next_in = 0;
	} else if (c->mask) {
		show = c->mask(p, n, incoming);
	}
	if (show > n)
		show = n;
	for (size_t i = 0; i < show; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch < ' ' && ch != '\t')
			buf_printf(&line, "\\x%02x", ch);
		else
			buf_addc(&line, ch);
	}
	if (show < n)
		buf_adds(&line, "****");
	buf_addc(&line, '\n');
	fflush(c->log);
	if ((fd = fileno(c->log)) >= 0) {
		for (size_t off = 0; off < line.len; ) {
			ssize_t k = write(fd, line.p + off, line.len - off);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;  /* a transcript we cannot write is not the session's failure */
			off += (size_t)k;
		}
	} else {
		fwrite(line.p, 1, line.len, c->log);
		fflush(c->log);
	}
	buf_free(&line);
}

static void trace_out(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		const char *lf = memchr(p, '\n', n);
		size_t k = lf ? (size_t)(lf - p) : n;
		size_t t = k;

		if (t > 0 && p[t - 1] == '\r')
			t--;
		trace(c, 0, p, t);
		if (lf == NULL)
			break;
		p += k + 1;
		n -= k + 1;
	}
}

static void set_err(struct conn *c, const char *what)
{
	snprintf(c->errbuf, sizeof c->errbuf, "%s: %s", what, strerror(errno));
}

/* How long the next wait may last, in ms (-1: for ever): c->timeout, cut
 * to the line's and the session's deadlines; 0 once one has passed. */
static int wait_ms(const struct conn *c)
{
	long long ms = c->timeout > 0 ? c->timeout * 1000LL : -1, now = 0, left;
	const long long ends[2] = { c->line_until, c->until };

	for (int i = 0; i < 2; i++) {
		if (ends[i] == 0)
			continue;
		if (now == 0)
			now = now_ms();
		left = ends[i] > now ? ends[i] - now : 0;
		if (ms < 0 || left < ms)
			ms = left;
	}
	return (int)ms;
}

/* Wait until fd is ready for events, at most c->timeout seconds and not
 * past a deadline. */
static enum conn_rc wait_fd(struct conn *c, int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&p, 1, wait_ms(c));
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		snprintf(c->errbuf, sizeof c->errbuf, "timed out");
		return CONN_TIMEOUT;
	}
	if (r < 0) {
		set_err(c, "poll");
		return CONN_ERR;
	}
	return CONN_OK;
}

static enum conn_rc ssl_wait(struct conn *c, int r)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return wait_fd(c, c->rfd, POLLIN);
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(c, c->wfd, POLLOUT);
	case SSL_ERROR_ZERO_RETURN:
		return CONN_EOF;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {    /* peer closed without close_notify */
			/* A peer that closes with our data unread (TLS 1.3
			 * session tickets) makes its kernel send a reset:
			 * the session is over all the same. */
			if (errno == 0 || r == 0 || errno == ECONNRESET)
				return CONN_EOF;
			set_err(c, "TLS");
			return CONN_ERR;
		}
		/* fall through */
	default:
		tls_error(c->errbuf, sizeof c->errbuf);
		return CONN_ERR;
	}
}

static enum conn_rc raw_write(struct conn *c, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w;

		if (c->ssl) {
			ERR_clear_error();
			int r = SSL_write(c->ssl, p, (int)(n > INT_MAX ? INT32_MAX : n));
			if (r <= 0) {
				enum conn_rc rc = ssl_wait(c, r);
				if (rc != CONN_OK)
					return rc == CONN_EOF ? CONN_ERR : rc;
				continue;
			}
			w = r;
		} else {
			w = write(c->wfd, p, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN) {
				enum conn_rc rc = wait_fd(c, c->wfd, POLLOUT);
				if (rc != CONN_OK)
					return rc;
				continue;
			}
			if (w < 0) {
				set_err(c, "write");
				return CONN_ERR;
			}
		}
		p += w;
		n -= (size_t)w;
		c->nwritten += (unsigned long long)w;
	}
	return CONN_OK;
}

/* Write p[0..n) through the compressor when it is on, ending with a sync
 * flush: what was written so far can be inflated whole by the peer, so no
 * reply waits in the compressor (RFC 4978 4). */
static enum conn_rc send_out(struct conn *c, const unsigned char *p, size_t n)
{
	struct conn_z *z = c->z;

	if (z == NULL)
		return raw_write(c, p, n);
	z->out.next_in = (unsigned char *)p;
	z->out.avail_in = (uInt)n;
	do {
		enum conn_rc rc;
		int r;

		z->out.next_out = z->zout;
		z->out.avail_out = sizeof z->zout;
		r = deflate(&z->out, Z_SYNC_FLUSH);
		if (r != Z_OK && r != Z_BUF_ERROR) {
			snprintf(c->errbuf, sizeof c->errbuf, "deflate: %s", z->out.msg ? z->out.msg : "error");
			return CONN_ERR;
		}
		if ((rc = raw_write(c, z->zout, sizeof z->zout - z->out.avail_out)) != CONN_OK)
			return rc;
	} while (z->out.avail_out == 0);
	return CONN_OK;
}

int conn_flush(struct conn *c)
{
	enum conn_rc rc;

	if (c->olen == 0)
		return 0;
	rc = send_out(c, c->out, c->olen);
	c->olen = 0;
	return rc == CONN_OK ? 0 : -1;
}

int conn_write(struct conn *c, const void *p, size_t n)
{
	const unsigned char *s = p;

	if (c->log)
		trace_out(c, p, n);
	if (n >= sizeof c->out) {
		if (conn_flush(c) < 0)
			return -1;
		return send_out(c, s, n) == CONN_OK ? 0 : -1;
	}
	if (c->olen + n > sizeof c->out && conn_flush(c) < 0)
		return -1;
	memcpy(c->out + c->olen, s, n);
	c->olen += n;
	return 0;
}

int conn_vprintf(struct conn *c, const char *fmt, va_list ap)
{
	char small[1024];
	va_list aq;
	int n, r;

	va_copy(aq, ap);
	n = vsnprintf(small, sizeof small, fmt, aq);
	va_end(aq);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof small)
		return conn_write(c, small, (size_t)n);
	char *big = xmalloc((size_t)n + 1);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	r = conn_write(c, big, (size_t)n);
	free(big);
	return r;
}

int conn_printf(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = conn_vprintf(c, fmt, ap);
	va_end(ap);
	return r;
}

/* Read what the peer sent (through TLS when on) into p[0..cap), at least
 * one byte. */
static enum conn_rc raw_read(struct conn *c, unsigned char *p, size_t cap, size_t *got)
{
	for (;;) {
		ssize_t r;
		enum conn_rc rc;

		if (c->ssl) {
			ERR_clear_error();
			if (SSL_pending(c->ssl) == 0 && (rc = wait_fd(c, c->rfd, POLLIN)) != CONN_OK)
				return rc;
			int k = SSL_read(c->ssl, p, (int)cap);
			if (k <= 0) {
				rc = ssl_wait(c, k);
				if (rc == CONN_OK)
					continue;
				if (rc == CONN_EOF)
					c->eof = 1;
				return rc;
			}
			r = k;
		} else {
			if ((rc = wait_fd(c, c->rfd, POLLIN)) != CONN_OK)
				return rc;
			r = read(c->rfd, p, cap);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r < 0) {
				set_err(c, "read");
				return CONN_ERR;
			}
			if (r == 0) {
				c->eof = 1;
				return CONN_EOF;
			}
		}
		*got = (size_t)r;
		c->nread += (unsigned long long)r;
		return CONN_OK;
	}
}

/* Inflate into the input buffer's free room, reading compressed bytes as
 * needed.  The output is bounded by that room: a few bytes that inflate
 * to gigabytes arrive 16 KiB at a time and meet the caller's limits. */
static enum conn_rc inflate_in(struct conn *c)
{
	struct conn_z *z = c->z;

	for (;;) {
		size_t room = sizeof c->in - c->ilen, got, n;
		enum conn_rc rc;
		int r;

		if (z->in.avail_in == 0 && !z->in_full) {
			if ((rc = raw_read(c, z->raw, sizeof z->raw, &n)) != CONN_OK)
				return rc;
			z->in.next_in = z->raw;
			z->in.avail_in = (uInt)n;
		}
		z->in.next_out = c->in + c->ilen;
		z->in.avail_out = (uInt)room;
		r = inflate(&z->in, Z_SYNC_FLUSH);
		got = room - z->in.avail_out;
		z->in_full = z->in.avail_out == 0;
		c->ilen += got;
		if (r == Z_STREAM_END) {        /* a final block: nothing may follow */
			c->eof = 1;
			return got > 0 ? CONN_OK : CONN_EOF;
		}
		if (r != Z_OK && r != Z_BUF_ERROR) {
			snprintf(c->errbuf, sizeof c->errbuf, "inflate: %s", z->in.msg ? z->in.msg : "error");
			return CONN_ERR;
		}
		if (got > 0)
			return CONN_OK;
	}
}

/* Read more input into the buffer (which must have room). */
static enum conn_rc fill(struct conn *c)
{
	size_t got;
	enum conn_rc rc;

	if (c->eof)
		return CONN_EOF;
	if (conn_flush(c) < 0)
		return CONN_ERR;
	if (c->ipos == c->ilen)
		c->ipos = c->ilen = 0;
	if (c->ipos > 0 && c->ilen == sizeof c->in) {
		memmove(c->in, c->in + c->ipos, c->ilen - c->ipos);
		c->ilen -= c->ipos;
		c->ipos = 0;
	}
	if (c->z)
		return inflate_in(c);
	if ((rc = raw_read(c, c->in + c->ilen, sizeof c->in - c->ilen, &got)) != CONN_OK)
		return rc;
	c->ilen += got;
	return CONN_OK;
}

enum conn_rc conn_getchunk(struct conn *c, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;

	*len = 0;
	c->last_eol = CONN_EOL_NONE;
	while (n < cap) {
		if (c->ipos == c->ilen) {
			enum conn_rc rc = fill(c);

			if (rc != CONN_OK) {
				*len = n;
				return (rc == CONN_EOF && n > 0) ? CONN_OK : rc;
			}
		}
		size_t avail = c->ilen - c->ipos, want = cap - n;
		const unsigned char *p = c->in + c->ipos;
		const unsigned char *lf = memchr(p, '\n', avail < want ? avail : want);
		size_t k = lf ? (size_t)(lf - p) + 1 : (avail < want ? avail : want);

		memcpy(buf + n, p, k);
		c->ipos += k;
		n += k;
		if (lf) {
			c->last_eol = (n >= 2 && buf[n - 2] == '\r') ? CONN_EOL_CRLF : CONN_EOL_LF;
			break;
		}
	}
	*len = n;
	return CONN_OK;
}

/* conn_getline, within whatever deadline is set. */
static enum conn_rc getline_within(struct conn *c, char *buf, size_t cap, size_t *len)
{
	size_t n = 0, k;
	enum conn_rc rc;

	/* the line end counts in cap, as in RFC 5321's limits; the NUL goes
	 * where the line end was */
	rc = conn_getchunk(c, buf, cap, &k);
	if (rc != CONN_OK)
		return rc;
	n = k;
	if (c->last_eol == CONN_EOL_NONE && !c->eof) {
		/* Too long: skip the rest of the line (popa3d does the same). */
		char skip[512];

		do
			rc = conn_getchunk(c, skip, sizeof skip, &k);
		while (rc == CONN_OK && c->last_eol == CONN_EOL_NONE && k > 0 && !c->eof);
		buf[0] = '\0';
		trace(c, 1, "<line too long>", 15);
		return rc == CONN_OK || rc == CONN_EOF ? CONN_TOOLONG : rc;
	}
	if (c->last_eol == CONN_EOL_CRLF)
		n -= 2;
	else if (c->last_eol == CONN_EOL_LF)
		n -= 1;
	else if (n == cap)      /* last line, no line end, no room for the NUL */
		return CONN_TOOLONG;
	buf[n] = '\0';
	*len = n;
	trace(c, 1, buf, n);
	return CONN_OK;
}

enum conn_rc conn_getline(struct conn *c, char *buf, size_t cap, size_t *len)
{
	enum conn_rc rc;

	*len = 0;
	if (cap < 2)
		return CONN_ERR;
	/* The whole line, not each read, within the timeout: one byte every
	 * few seconds must not hold the session (a per-read timer allows it). */
	c->line_until = c->timeout > 0 ? now_ms() + c->timeout * 1000LL : 0;
	rc = getline_within(c, buf, cap, len);
	c->line_until = 0;
	return rc;
}

enum conn_eol conn_last_eol(const struct conn *c)
{
	return c->last_eol;
}

enum conn_rc conn_read(struct conn *c, void *buf, size_t n)
{
	unsigned char *d = buf;

	while (n > 0) {
		if (c->ipos == c->ilen) {
			enum conn_rc rc = fill(c);
			if (rc != CONN_OK)
				return rc;
		}
		size_t k = c->ilen - c->ipos;
		if (k > n)
			k = n;
		memcpy(d, c->in + c->ipos, k);
		c->ipos += k;
		d += k;
		n -= k;
	}
	return CONN_OK;
}

size_t conn_pending(const struct conn *c)
{
	return c->ilen - c->ipos;
}

void conn_discard(struct conn *c)
{
	if (c->ilen > c->ipos)
		conn_note(c, "dropped %zu bytes of pipelined plaintext", c->ilen - c->ipos);
	c->ipos = c->ilen = 0;
}

int conn_starttls(struct conn *c, SSL_CTX *ctx, const char *host)
{
	int r;

	if (conn_flush(c) < 0)
		return -1;
	conn_discard(c);
	if ((c->ssl = SSL_new(ctx)) == NULL) {
		tls_error(c->errbuf, sizeof c->errbuf);
		return -1;
	}
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* OpenSSL 3 calls a TCP close without close_notify an error; for line
	 * protocols it is the end of the session (many clients never send
	 * close_notify), and the commands say where the data ends. */
	SSL_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	SSL_set_rfd(c->ssl, c->rfd);
	SSL_set_wfd(c->ssl, c->wfd);
	if (c->side == CONN_CLIENT && host != NULL) {
		SSL_set_tlsext_host_name(c->ssl, host);
		SSL_set1_host(c->ssl, host);
	}
	for (;;) {
		ERR_clear_error();
		r = c->side == CONN_SERVER ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
		if (r == 1)
			break;
		enum conn_rc rc = ssl_wait(c, r);
		if (rc != CONN_OK) {
			if (rc == CONN_EOF)
				snprintf(c->errbuf, sizeof c->errbuf, "TLS handshake: connection closed");
			/* A failed verification is the cause only when we verify:
			 * with --insecure the result is recorded all the same,
			 * and the real error is the one just set. */
			if (c->side == CONN_CLIENT && (SSL_get_verify_mode(c->ssl) & SSL_VERIFY_PEER) &&
			    SSL_get_verify_result(c->ssl) != X509_V_OK)
				snprintf(c->errbuf, sizeof c->errbuf, "certificate verification failed: %s",
				    X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
			SSL_free(c->ssl);
			c->ssl = NULL;
			return -1;
		}
	}
	if (c->log) {
		char info[160];

		conn_tls_info(c, info, sizeof info);
		conn_note(c, "TLS started: %s", info);
	}
	return 0;
}

int conn_is_tls(const struct conn *c)
{
	return c->ssl != NULL;
}

void conn_tls_info(const struct conn *c, char *buf, size_t cap)
{
	int alg = 0, bits;

	if (c->ssl == NULL) {
		if (cap)
			buf[0] = '\0';
		return;
	}
	bits = SSL_get_cipher_bits(c->ssl, &alg);
	snprintf(buf, cap, "%s with cipher %s (%d/%d bits)", SSL_get_version(c->ssl),
	    SSL_get_cipher_name(c->ssl), bits, alg);
}

int conn_compress(struct conn *c)
{
	struct conn_z *z;
	size_t pend = c->ilen - c->ipos;

	if (c->z) {
		snprintf(c->errbuf, sizeof c->errbuf, "compression already active");
		return -1;
	}
	if (conn_flush(c) < 0)
		return -1;
	z = xcalloc(1, sizeof *z);
	if (inflateInit2(&z->in, DEFLATE_WBITS) != Z_OK) {
		snprintf(c->errbuf, sizeof c->errbuf, "inflateInit2 failed");
		free(z);
		return -1;
	}
	if (deflateInit2(&z->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, DEFLATE_WBITS, DEFLATE_MEMLEVEL,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		snprintf(c->errbuf, sizeof c->errbuf, "deflateInit2 failed");
		inflateEnd(&z->in);
		free(z);
		return -1;
	}
	/* bytes that came after the command that turned compression on are
	 * compressed already (both buffers are CONN_BUFSIZE) */
	memcpy(z->raw, c->in + c->ipos, pend);
	z->in.next_in = z->raw;
	z->in.avail_in = (uInt)pend;
	c->ipos = c->ilen = 0;
	c->z = z;
	conn_note(c, "DEFLATE started");
	return 0;
}

int conn_is_compressed(const struct conn *c)
{
	return c->z != NULL;
}

int conn_input_buffered(const struct conn *c)
{
	return c->ipos < c->ilen || (c->ssl && SSL_pending(c->ssl) > 0) ||
	    (c->z && (c->z->in.avail_in > 0 || c->z->in_full));
}

void conn_close(struct conn *c)
{
	conn_flush(c);
	if (c->z) {
		inflateEnd(&c->z->in);
		deflateEnd(&c->z->out);
		free(c->z);
		c->z = NULL;
	}
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
}
