/* limits.h — every protocol and parser limit of maillab, with its reason.
 * Programs may add their own at the top of their main module. */
/* This file shadows <limits.h> for code built with -iquote lib (GCC's own
 * limits.h reaches it through #include_next), so it passes the system's
 * on before adding ours. */
#include_next <limits.h>

#ifndef ML_LIMITS_H
#define ML_LIMITS_H

#define IO_BUFSIZE      (128 * 1024) /* filters read and write in big blocks */
#define CONN_BUFSIZE    (16 * 1024)  /* one TLS record; enough for pipelined commands */

#define MIME_LINE_MAX   76      /* RFC 2045 6.7 (5) and 6.8: encoded lines, without CRLF */
#define MIME_B64_LINE_IN 57     /* input bytes that make one 76-column base64 line */
#define RFC2047_WORD_MAX 75     /* RFC 2047 2: an encoded-word is at most 75 characters */
#define RFC5322_LINE_MAX 998    /* RFC 5322 2.1.1: hard limit, without CRLF */
#define CHARSET_NAME_MAX 64     /* longest charset name we hand to iconv */

#define SMTP_CMD_MAX    512     /* RFC 5321 4.5.3.1.4, incl. CRLF */
#define SMTP_REPLY_MAX  512     /* RFC 5321 4.5.3.1.5, incl. CRLF */
#define SMTP_TEXT_MAX   1000    /* RFC 5321 4.5.3.1.6, incl. CRLF */
#define SMTP_PATH_MAX   256     /* RFC 5321 4.5.3.1.3 */
#define SMTP_RCPT_MAX   100     /* RFC 5321 4.5.3.1.8: the minimum we must take */
#define SMTP_ERRORS_MAX 20      /* bad commands before "421" (Postfix: smtpd_hard_error_limit) */
#define SMTP_CMD_SECS   (5 * 60)   /* RFC 5321 4.5.3.2.7: server timeout 5 minutes */
#define SMTP_DATA_SECS  (10 * 60)  /* RFC 5321 4.5.3.2.6: data block, 3 min client; we wait longer */

#define POP3_CMD_MAX    255     /* RFC 2449 4: 255 octets incl. CRLF */
#define POP3_ARG_MAX    40      /* RFC 1939 3 */
#define POP3_IDLE_SECS  (10 * 60)  /* RFC 1939 3: autologout timer >= 10 minutes */

#define IMAP_LINE_MAX   (64 * 1024)   /* RFC 7162 3: clients must be able to send 8192 */
#define IMAP_IDLE_SECS  (30 * 60)     /* RFC 3501 5.4: autologout >= 30 minutes */
#define IMAP_UPDATES_MAX 5            /* RFC 5267 4.3 UPDATE searches kept: each is re-matched at every folder change */
#define IMAP_HCACHE_MAX  (64 * 1024 * 1024) /* header fields kept per session for SEARCH/SORT/THREAD:
                                           * about 650 bytes a message, 100,000 messages */
#define IMAP_NOTIFY_MAX  100           /* RFC 5465 mailboxes NOTIFY watches: each is a Maildir scan at every poll (1 s in IDLE) */

/* pop3d and imapd: the whole time a client has, from connecting (TLS
 * handshake included) to a successful login.  A person typing USER and
 * PASS by hand needs well under it, a client a second; a connection that
 * never logs in must not hold a process for the 10 or 30 idle minutes
 * (RFC 9051 5.4 puts no limit on the timer before login). */
#define LOGIN_SECS      (3 * 60)

#define AUTH_FAIL_DELAY 2       /* seconds slept after each failed login */
#define AUTH_FAIL_MAX   3       /* failed logins before the server hangs up */

#endif
