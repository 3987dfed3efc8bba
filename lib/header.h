/* header.h — RFC 5322 header fields of a message in memory.
 *
 * Nothing here copies the message: fields are (pointer, length) views into
 * the caller's bytes, which may use CRLF or bare LF line ends (a Maildir
 * file has LF; the wire has CRLF).  A header is the lines from the start of
 * a message or MIME part up to and including the first empty line.  A line
 * that is neither a field ("name:" with name in printable ASCII but ':') nor
 * a continuation (starts with space or tab) also ends the header, without
 * being part of it: real mail has parts whose body follows their header
 * with no blank line, and Python's email treats such a line the same way. */
#ifndef ML_HEADER_H
#define ML_HEADER_H

#include <stddef.h>

#include "buf.h"

/* Kind of one header line. */
enum hdr_line {
	HL_FIELD,       /* "Name:" starts a field */
	HL_CONT,        /* starts with SP or HT: continues the field before */
	HL_BLANK,       /* empty line ("\n" or "\r\n"): the header ends after it */
	HL_OTHER        /* anything else: the header ends before it */
};

/* Classify the line p[0..n) (n may include the line end).  For HL_FIELD
 * *namelen (if not NULL) gets the length of the name (white space before
 * the ':' excluded, RFC 5322 4.5.3 obs-optional). */
enum hdr_line hdr_line_kind(const char *p, size_t n, size_t *namelen);

/* Find where the header starting at p[0..n) ends.  Return the header
 * length, blank line included (so the body starts at p + return value);
 * *flags (if not NULL) gets HDR_NOBLANK when an HL_OTHER line ended it, or
 * HDR_EOF when the input ended first (then the return value is n). */
enum { HDR_NOBLANK = 1, HDR_EOF = 2 };
size_t hdr_length(const char *p, size_t n, int *flags);

/* One field: views into the header. value is everything after the ':'
 * up to the end of the last continuation line, line end excluded, still
 * folded.  raw is the whole field with its line end(s).  A line of kind
 * HL_OTHER or a leading continuation is returned with name == NULL. */
struct hdr_field {
	const char *name;
	size_t      namelen;
	const char *value;
	size_t      vallen;
	const char *raw;
	size_t      rawlen;
};

struct hdr_iter {
	const char *p, *end;
};

/* Iterate over the fields of the header hdr[0..len) (len may run past the
 * header: iteration stops at the first blank line). */
void hdr_iter_init(struct hdr_iter *it, const char *hdr, size_t len);
/* Store the next field in *f and return 1, or return 0 at the end. */
int hdr_next(struct hdr_iter *it, struct hdr_field *f);

/* Whether f is named name (ASCII case-insensitive). */
int hdr_is(const struct hdr_field *f, const char *name);

/* Find the first field named name; return 1 and fill *f, or 0. */
int hdr_find(const char *hdr, size_t len, const char *name, struct hdr_field *f);

/* Append to out the value v[0..n) unfolded (RFC 5322 2.2.3: CR and LF
 * removed), with leading and trailing white space dropped; at most max
 * bytes are appended (0: no limit).  Return the bytes appended. */
size_t hdr_unfold(const char *v, size_t n, size_t max, struct buf *out);

/* Append the unfolded value of the first field named name; return 1 if
 * there is one, else 0 (out untouched). */
int hdr_get(const char *hdr, size_t len, const char *name, struct buf *out);

/* For IMAP BODY[HEADER.FIELDS (...)] and .NOT (RFC 3501 6.4.5): append to
 * out, as they are stored, the fields of hdr[0..len) whose name is (or with
 * exclude, is not) one of names[0..nnames), then the blank line that ends a
 * header (with the header's own line end).  Returns the bytes appended. */
size_t hdr_filter(const char *hdr, size_t len, const char *const *names, size_t nnames,
    int exclude, struct buf *out);

#endif
