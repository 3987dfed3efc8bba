/* conn.h — buffered line I/O on a pair of file descriptors, plain or TLS.
 *
 * Every server and client (smtpd, pop3d, imapd, smtp-send) talks through a
 * struct conn, and cannot tell whether TLS is on.  It strips line ends on
 * input and writes CRLF on output, rejects over-long lines (skipping the
 * rest), flushes pending output before every blocking read, times every
 * read, drops buffered plaintext when TLS starts, and prints the -v
 * transcript with secrets masked. */
#ifndef ML_CONN_H
#define ML_CONN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <openssl/ssl.h>

#include "limits.h"

enum conn_rc { CONN_OK, CONN_EOF, CONN_TOOLONG, CONN_TIMEOUT, CONN_ERR };
enum conn_eol { CONN_EOL_NONE, CONN_EOL_LF, CONN_EOL_CRLF };

/* Which side we are, for the transcript: a server prints what it reads as
 * "C: " and what it writes as "S: "; a client the other way round. */
enum conn_side { CONN_SERVER, CONN_CLIENT };

/* A masker gets a line about to be printed in the transcript and returns
 * how many leading bytes may be shown; the rest is printed as "****".
 * Return len to show the whole line. */
typedef size_t (*conn_masker)(const char *line, size_t len, int incoming);

struct conn_z;                  /* DEFLATE state (conn.c), NULL: off */

struct conn {
	int      rfd, wfd;
	SSL     *ssl;               /* NULL while plain */
	int      timeout;           /* seconds per read, and for a whole line; 0: none */
	long long line_until;       /* CLOCK_MONOTONIC ms the line being read must end by, 0: none */
	long long until;            /* ms the session (or its current phase) ends at, 0: none */
	enum conn_side side;
	FILE    *log;               /* transcript, NULL: none */
	conn_masker mask;
	int      mask_next_in;      /* mask the next line read, whole */
	enum conn_eol last_eol;     /* how the last line read ended */
	int      eof;
	unsigned char in[CONN_BUFSIZE];
	size_t   ipos, ilen;        /* unread input is in[ipos..ilen) */
	unsigned char out[CONN_BUFSIZE];
	size_t   olen;
	unsigned long long nread, nwritten;   /* bytes, for logs */
	char     errbuf[256];       /* last TLS or system error, for messages */
	struct conn_z *z;           /* COMPRESS=DEFLATE (RFC 4978) once on, NULL: off */
};

/* Initialise c over rfd/wfd (the same fd for a socket; stdin/stdout under
 * inetd; two pipes for a child).  The fds stay the caller's. */
void conn_init(struct conn *c, int rfd, int wfd, enum conn_side side);
/* Turn on the transcript (to f, normally stderr), with an optional masker. */
void conn_set_log(struct conn *c, FILE *f, conn_masker mask);
/* Seconds a read may wait for data before CONN_TIMEOUT; 0: forever.  On a
 * socket it also sets SO_RCVTIMEO/SO_SNDTIMEO, so a write to a peer that
 * stopped reading and a TLS record or handshake left half-sent fail too. */
void conn_set_timeout(struct conn *c, int secs);
/* A deadline for everything from now on (reads, writes, the TLS
 * handshake): secs from now, 0 to remove it.  Past it every wait fails
 * with CONN_TIMEOUT, so a client trickling bytes cannot stretch the phase
 * (before login, for one).  conn_getline also gives each whole line the
 * timeout of conn_set_timeout, not only each read. */
void conn_set_deadline(struct conn *c, int secs);

/* Read one line into buf, NUL-terminated with its line end stripped.  cap
 * counts the line end, as RFC 5321's limits do: with cap 512 a command of
 * 510 characters plus CRLF fits.  CONN_TOOLONG: the line did not fit; the rest of it has
 * been read and dropped.  CONN_EOF also for a last line with no line end
 * when nothing at all was read; such a line is returned with
 * conn_eol() == CONN_EOL_NONE. */
enum conn_rc conn_getline(struct conn *c, char *buf, size_t cap, size_t *len);
/* How the last line returned by conn_getline/conn_getchunk ended. */
enum conn_eol conn_last_eol(const struct conn *c);
/* Read up to and including the next LF, or cap bytes if no LF comes first
 * (line end kept; buf not NUL-terminated).  For message data: a caller sees
 * every byte, and the exact line ends. */
enum conn_rc conn_getchunk(struct conn *c, char *buf, size_t cap, size_t *len);
/* Read exactly n bytes (IMAP literals, BDAT chunks). */
enum conn_rc conn_read(struct conn *c, void *buf, size_t n);
/* Bytes already buffered and not yet read (pipelined input). */
size_t conn_pending(const struct conn *c);
/* Drop buffered input (before STARTTLS: RFC 3207 5, RFC 2595 3.1). */
void conn_discard(struct conn *c);

/* Queue text; conn_printf adds nothing, callers write "\r\n" themselves.
 * Return 0, or -1 on a write error.  Output is flushed before every read
 * and by conn_flush. */
int conn_write(struct conn *c, const void *p, size_t n);
int conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int conn_vprintf(struct conn *c, const char *fmt, va_list ap);
int conn_flush(struct conn *c);
/* Mask the next line read in the transcript (a SASL response). */
void conn_mask_next(struct conn *c);
/* Print a note in the transcript ("* TLS started ..."). */
void conn_note(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Start TLS on the connection with ctx.  Server side accepts, client side
 * connects with SNI/host name check for host (NULL: none).  Buffered
 * plaintext input is dropped first.  Return 0, or -1 (reason in errbuf). */
int conn_starttls(struct conn *c, SSL_CTX *ctx, const char *host);
/* Whether TLS is on, and "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"
 * style text for Received: lines (empty when plain). */
int conn_is_tls(const struct conn *c);
void conn_tls_info(const struct conn *c, char *buf, size_t cap);
/* Turn on raw DEFLATE (RFC 1951, as RFC 4978 COMPRESS=DEFLATE uses it)
 * both ways, above TLS if TLS is on: pending output is flushed first (the
 * reply that starts it goes out plain), input already buffered is taken as
 * compressed.  Every flush ends with a sync flush, so no reply waits in the
 * compressor; input inflates into the conn's own buffer, so a bomb meets
 * the callers' line and literal limits, not memory.  Return 0, or -1
 * (reason in errbuf). */
int conn_compress(struct conn *c);
int conn_is_compressed(const struct conn *c);
/* Whether input is buffered anywhere (read, TLS or compressed): a caller
 * that polls the fd itself (IDLE) asks this first. */
int conn_input_buffered(const struct conn *c);
/* Shut TLS down (if on), free its and DEFLATE's state; the fds stay open. */
void conn_close(struct conn *c);

#endif
