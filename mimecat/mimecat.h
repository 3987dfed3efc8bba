/* mimecat.h — the modes of mimecat, each one function over a parsed message. */
#ifndef MIMECAT_H
#define MIMECAT_H

#include <stdio.h>

#include "buf.h"
#include "mime.h"

struct pgp_result;

#define MC_WARN_MAX      10      /* parser warnings printed on stderr */
#define MC_NAME_MAX      200     /* bytes of a saved file name (NAME_MAX is 255) */
#define MC_UNIQUE_MAX    1000    /* "name-N.ext" tries before giving up */
#define MC_EXPLAIN_LINES 8       /* body lines shown by -e before eliding */
#define MC_PREVIEW_BYTES 240     /* decoded bytes previewed by -e */
#define MC_SHOW_COLS     160     /* -e truncates longer lines */
#define MC_LEGACY_CHARSET "windows-1252"  /* raw 8-bit header bytes that are not UTF-8 */
#define MC_META_SCAN     1024    /* bytes of HTML searched for a <meta> charset */
#define MC_ATT_MAX       1000    /* attachments listed by the reading view */
#define MC_ROUTE_MAX     1000    /* --route: hops shown (the newest); smtpd's hop limit is 100 */
#define MC_ROUTE_CELL    256     /* --route: bytes of one table cell */

/* One run: the input and what the options asked for. */
struct mc {
	const char *name;       /* input name for messages ("stdin") */
	const char *base;       /* the message, mapped */
	size_t len;
	struct mime_msg m;
	FILE *out;
	int utf8;               /* -p: convert text to UTF-8 */
	int all;                /* -x: every part, -H: every part's header */
	const char *section;    /* -p SECTION, or NULL */
	const char *dir;        /* -x directory */
	const char *cafile;     /* --verify: trusted CAs besides the system's */
	int several;            /* one of several files: --verify names it */
	int decrypt;            /* --decrypt with key and cert */
	const char *key, *cert;
	char *plain;            /* the decrypted message, or NULL */
	struct pgp_result *pgp_dec;  /* signatures gpg checked while decrypting, or NULL */
	const char *orig_base;  /* the mapping, while plain is shown */
	size_t orig_len;
};

/* Map the file at path (NULL or "-": stdin, copied to an unlinked temporary
 * file first when it is not a regular file).  Return 0 or -1 after a
 * message on stderr. */
int mc_load(struct mc *mc, const char *path);
void mc_unload(struct mc *mc);

/* Print the parser's defects on stderr as warnings (at most MC_WARN_MAX). */
void mc_warn(const struct mc *mc);

/* The modes; each returns the exit status. */
int mc_view(struct mc *mc);
int mc_tree(struct mc *mc);
int mc_part(struct mc *mc);
int mc_headers(struct mc *mc);
int mc_extract(struct mc *mc);
int mc_explain(struct mc *mc);
int mc_check(struct mc *mc);
int mc_imap(struct mc *mc);
int mc_route(struct mc *mc);
int mc_verify(struct mc *mc);    /* verify.c: 0 all good, 1 one bad, 2 none */
/* The same lines under a "[-- S/MIME signature --]" heading, for the
 * reading view and -t; nothing when the message is not S/MIME signed. */
void mc_verify_note(struct mc *mc);
/* decrypt.c: replace the loaded message by the one it holds encrypted; 0,
 * or -1 after a message.  mc_decrypt_done goes back before mc_unload. */
int mc_decrypt(struct mc *mc);
void mc_decrypt_done(struct mc *mc);

/* Shared helpers (util.c). */
/* The part named by the IMAP section numbers sec, or NULL. */
const struct mime_part *mc_find(const struct mc *mc, const char *sec);
/* Decode p's body into out (whole, in memory: for text shown to a person). */
size_t mc_decode(const struct mime_part *p, struct buf *out);
/* Append p's decoded text as UTF-8 (from its charset; text/html rendered). */
void mc_text(const struct mime_part *p, int render_html, struct buf *out);
/* Render HTML h[0..n) (UTF-8) as plain text into out. */
void mc_html_to_text(const char *h, size_t n, struct buf *out);
/* Write s[0..n) to f with terminal controls (ESC, CR, ...) made visible. */
void mc_put_safe(FILE *f, const char *s, size_t n);
/* The same for a one-line name: line ends and tabs shown as ^J, ^I. */
void mc_put_name(FILE *f, const char *s);
/* Append the decoded (RFC 2047, RFC 2231) value of header field f. */
struct hdr_field;
void mc_field_value(const struct hdr_field *f, struct buf *out);
/* The Content-Type or -Disposition field f of p as -H shows it (parameters
 * decoded); 0 if f is another field. */
int mc_mime_field(const struct mime_part *p, const struct hdr_field *f, struct buf *out);
/* Size of p's body once transfer-decoded. */
size_t mc_decoded_size(const struct mime_part *p);
/* "12 B", "3.4 KiB" ... */
const char *mc_size(size_t n, char *tmp, size_t cap);

#endif
