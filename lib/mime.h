/* mime.h — MIME structure of a message in memory (RFC 2045, 2046, 2231),
 * and what IMAP builds from it (RFC 3501: BODYSTRUCTURE, ENVELOPE, sections).
 *
 * The caller maps the message (it may be gigabytes) and keeps the mapping
 * for the lifetime of the tree; mime_parse never copies a body.  It makes
 * one struct mime_part per part in one pass over the bytes, so memory grows
 * with the number of parts (at most MIME_PARTS_MAX) and the size of their
 * MIME header fields (each kept to MIME_FIELD_MAX), never with the body
 * size; a part nested deeper than MIME_DEPTH_MAX is kept as a leaf.  Every
 * offset is a byte offset into the caller's buffer.
 *
 * Line ends.  The buffer may use CRLF (as on the wire) or bare LF (as
 * stored in Maildir or mbox).  Lengths here are of the bytes as stored.
 * IMAP counts octets as sent on the wire, where every line ends in CRLF:
 * for those, use the *_wire fields and functions, which add one octet per
 * bare LF (an LF not preceded by CR); an imapd sending stored bytes must
 * send each bare LF as CRLF (mime_wire_copy).  Line counts count LFs.
 *
 * Tree.  A multipart part has its body parts as children.  A message/rfc822
 * (or message/global) part has exactly one child: the encapsulated message,
 * a part like the root (its header is the message header).  IMAP section
 * numbers (RFC 3501 6.4.5) are computed from this by mime_section: part N of
 * a message is the Nth child of its multipart body, or the message itself
 * when its body is not multipart. */
#ifndef ML_MIME_H
#define ML_MIME_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

#define MIME_DEPTH_MAX  100     /* nesting (multipart + message); deeper is a leaf
                                 * (Dovecot's default limit of nested parts) */
#define MIME_PARTS_MAX  10000   /* parts per message; later boundaries are text */
#define MIME_FIELD_MAX  (16 * 1024)  /* bytes of a MIME field value we parse */
#define MIME_PARAMS_MAX 64      /* parameters per field; more are ignored */
#define MIME_DEFECTS_MAX 1000   /* defects recorded; more are only counted */
#define MIME_BOUNDARY_MAX 70    /* RFC 2046 5.1.1: 1 to 70 characters */

/* ENC_UU: "x-uuencode" (not MIME, but old mailers send it; Python and
 * munpack decode it) */
enum mime_enc { ENC_7BIT, ENC_8BIT, ENC_BINARY, ENC_QP, ENC_BASE64, ENC_UU, ENC_UNKNOWN };

/* A parameter as written, for IMAP: name as in the header (may end in "*"
 * or "*0*" under RFC 2231), value with quotes and escapes removed. */
struct mime_param {
	char *name;
	char *value;
};

/* Part flags. */
enum {
	MP_NOEND      = 1 << 0,   /* multipart: no close delimiter before its end */
	MP_NOPARTS    = 1 << 1,   /* multipart without boundary parameter, or whose
	                           * boundary never appears: kept as a leaf */
	MP_DEEP       = 1 << 2,   /* composite past MIME_DEPTH_MAX or MIME_PARTS_MAX: leaf */
	MP_BADTYPE    = 1 << 3,   /* Content-Type unparseable: default used */
	MP_DEFTYPE    = 1 << 4,   /* no Content-Type: default used (text/plain or,
	                           * in multipart/digest, message/rfc822) */
	MP_HDRNOBLANK = 1 << 5,   /* header ended without a blank line */
	MP_MESSAGE    = 1 << 6,   /* this part is a message (root or encapsulated):
	                           * its header is an RFC 5322 header */
};

struct mime_part {
	const char *base;               /* the caller's buffer (all offsets index it) */
	struct mime_part *parent;       /* NULL for the root */
	struct mime_part *child;        /* first child (see "Tree" above) */
	struct mime_part *next;         /* next sibling */
	struct mime_part *order;        /* next part in document order (pre-order) */
	unsigned nchild;
	unsigned depth;                 /* root 0 */
	unsigned flags;

	size_t off;                     /* header start */
	size_t body_off;                /* body start = off + header length (blank line incl.) */
	size_t end;                     /* body end: the CRLF before a boundary is the boundary's */
	size_t line;                    /* 1-based line number of the header start */
	size_t body_line;               /* 1-based line number of the body start */
	size_t hdr_wire, body_wire;     /* sizes in wire octets (bare LF counted as CRLF) */
	size_t body_lines;              /* LFs in the body (IMAP body-fld-lines) */

	/* multipart only: preamble is [body_off, preamble_end), epilogue
	 * [epilogue_off, end) when a close delimiter was seen (else both end) */
	size_t preamble_end, epilogue_off;

	char *type, *subtype;           /* lower case, never NULL (defaults applied) */
	struct mime_param *params;      /* Content-Type parameters */
	size_t nparams;
	char *charset;                  /* lower case, or NULL (also when not a token) */
	char *boundary;                 /* multipart boundary, or NULL */
	enum mime_enc enc;
	char *enc_name;                 /* Content-Transfer-Encoding as written, or NULL */
	char *id, *description, *md5, *language, *location;  /* unfolded, or NULL */
	char *disposition;              /* lower case, or NULL */
	struct mime_param *dparams;     /* Content-Disposition parameters */
	size_t ndparams;
	char *filename;                 /* UTF-8 (RFC 2231 / 2047 decoded) from the
	                                 * disposition's filename, else type's name; or NULL */
};

/* Something wrong with the message, found while parsing. */
struct mime_defect {
	size_t line;                    /* 1-based line number in the buffer */
	int code;                       /* MD_* */
	const struct mime_part *part;
};

enum {
	MD_NOBLANK = 1,     /* header not ended by a blank line */
	MD_BADFIELD,        /* header line that is not a field */
	MD_8BITHDR,         /* 8-bit byte in a header */
	MD_LONGLINE,        /* line over 998 octets */
	MD_NUL,             /* NUL octet */
	MD_BADTYPE,         /* Content-Type syntax */
	MD_NOBOUNDARY,      /* multipart without boundary parameter */
	MD_BADBOUNDARY,     /* boundary too long or with characters outside bchars */
	MD_NOPARTS,         /* multipart whose boundary never appears */
	MD_NOEND,           /* missing close delimiter */
	MD_BADCTE,          /* unknown Content-Transfer-Encoding */
	MD_CTECOMPOSITE,    /* composite type with an encoding other than 7bit/8bit/binary */
	MD_DUPFIELD,        /* a MIME field given twice */
	MD_DEEP,            /* nested past MIME_DEPTH_MAX */
	MD_TOOMANY,         /* more than MIME_PARTS_MAX parts */
	MD_BOUNDARYTEXT,    /* a line starting with a boundary but not one */
	MD_NESTEDBOUNDARY,  /* an inner boundary starts with an outer one */
	MD_CODE_MAX
};

/* The text ("missing close delimiter") and RFC clause ("RFC 2046 5.1.1") of
 * a defect code; static strings. */
const char *mime_defect_text(int code);
const char *mime_defect_rfc(int code);

struct mime_msg {
	const char *base;
	size_t len;
	struct mime_part *root;         /* document order: root, root->order, ... */
	size_t nparts;
	struct mime_defect *defects;
	size_t ndefects;                /* recorded (at most MIME_DEFECTS_MAX) */
	size_t ndefects_total;          /* found */
};

/* Parse the message base[0..len) (which must stay mapped while *m is used)
 * into *m.  A leading mbox "From " line is skipped.  Never fails: broken
 * input gives defects and a best-effort tree.  Free with mime_free. */
void mime_parse(const char *base, size_t len, struct mime_msg *m);
void mime_free(struct mime_msg *m);

/* Whether p is multipart with children / an encapsulated message. */
int mime_is_multipart(const struct mime_part *p);
int mime_is_message(const struct mime_part *p);

/* Raw 8-bit parameter values that are not UTF-8 are read in this charset. */
#define MIME_LEGACY_CHARSET "windows-1252"

/* Look a parameter up (ASCII case-insensitive) in v[0..n) and append its
 * value to out as UTF-8: RFC 2231 continuations joined, charset converted,
 * or RFC 2047 encoded-words (not standard there, but common) decoded; a
 * raw 8-bit value that is not UTF-8 is read as MIME_LEGACY_CHARSET.
 * Return 1 if found, else 0. */
int mime_param_get(const struct mime_param *v, size_t n, const char *name, struct buf *out);
/* The raw value of the parameter named exactly name, or NULL. */
const char *mime_param_raw(const struct mime_param *v, size_t n, const char *name);

/* Decode p's body by its transfer encoding (base64 and quoted-printable
 * leniently, as RFC 2045 asks of readers; anything else as it is) in
 * blocks, calling out(arg, bytes, n) for each; stop if out returns
 * non-zero and return that.  Return 0, or the nonzero value of out.
 * *errors (if not NULL) gets the number of encoding errors seen. */
int mime_decode(const struct mime_part *p, int (*out)(void *, const char *, size_t),
    void *arg, size_t *errors);

/* The section number of p ("1.2.3"; "" for the root) into out. */
void mime_section_name(const struct mime_part *p, struct buf *out);

/* ---- IMAP (RFC 3501) ------------------------------------------------- */

/* Append p's BODYSTRUCTURE (ext != 0: with extension data) or BODY
 * (ext == 0) to out, as RFC 3501 7.4.2 writes it: "(" ... ")".  Strings are
 * quoted, or literals "{n}\r\n..." when they hold 8-bit, CR or LF; absent
 * values are NIL; type, subtype and disposition are lower case, the
 * encoding as written;
 * parameters are sent as written, but RFC 2231 continuations are joined
 * into one "name*" and a text part without charset gets "charset"
 * "us-ascii" (both as Dovecot does); sizes are wire octets, lines LF
 * counts.  A multipart without parts is sent as text/plain with its
 * parameters, an unopened message/rfc822 as application/octet-stream. */
void mime_bodystructure(const struct mime_part *p, int ext, struct buf *out);

/* Append the ENVELOPE of message part msg (the root, or the child of a
 * message/rfc822 part) to out (RFC 3501 7.4.2).  Date, Subject, In-Reply-To
 * and Message-ID are unfolded as written; a missing Sender or Reply-To is
 * From; an address without a domain gets host "MISSING_DOMAIN" (Dovecot's
 * choice: a NIL host would read as a group marker). */
void mime_envelope(const struct mime_part *msg, struct buf *out);

/* Append s (or NIL for NULL) as an IMAP nstring. */
void mime_nstring(const char *s, struct buf *out);
void mime_nstring_n(const char *s, size_t n, struct buf *out);

enum mime_spec {
	SPEC_BODY,          /* "" or "1.2": the part's body ("" : whole message) */
	SPEC_HEADER,        /* "HEADER", "1.2.HEADER" */
	SPEC_FIELDS,        /* "HEADER.FIELDS": range is the header; use hdr_filter */
	SPEC_FIELDS_NOT,    /* "HEADER.FIELDS.NOT" */
	SPEC_TEXT,          /* "TEXT", "1.2.TEXT" */
	SPEC_MIME           /* "1.2.MIME": the part's own MIME header */
};

struct mime_range {
	const struct mime_part *part;   /* the part named by the numbers (root if none) */
	enum mime_spec spec;
	size_t off, len;                /* bytes as stored; wire: mime_wire_len */
	const char *rest;               /* in the section text, just past what was parsed
	                                 * (for SPEC_FIELDS*: the " (name ...)" list) */
};

enum { SECT_OK = 0, SECT_NONE = 1, SECT_BAD = -1 };

/* Resolve the section text of BODY[section] (RFC 3501 6.4.5), e.g. "",
 * "1.2", "2.HEADER", "3.MIME", "HEADER.FIELDS (From)", against root.
 * Part numbers follow the message structure: a message/rfc822 part N has
 * sub-parts N.1...; HEADER and TEXT after numbers need a message/rfc822
 * part; MIME needs numbers.  Return SECT_OK with *r filled, SECT_NONE when
 * the syntax is right but there is no such part (IMAP sends an empty
 * string), SECT_BAD on a syntax error.  Keywords are case-insensitive; the
 * text may go on after the keyword (r->rest). */
int mime_section(const struct mime_part *root, const char *section, struct mime_range *r);

/* Octets of p[0..n) on the wire: n plus the number of bare LFs. */
size_t mime_wire_len(const char *p, size_t n);
/* Append p[0..n) to out with every bare LF written as CRLF. */
void mime_wire_copy(const char *p, size_t n, struct buf *out);

#endif
