/* canon.h — DKIM canonicalisation of header fields and bodies (RFC 6376
 * 3.4), shared by DKIM signing and verifying and by ARC.
 *
 * Input may use CRLF or bare LF line ends (a Maildir file has LF); the
 * output always has CRLF, the form the hashes are taken over. */
#ifndef ML_CANON_H
#define ML_CANON_H

#include <stddef.h>
#include "buf.h"

enum canon { CANON_SIMPLE = 0, CANON_RELAXED = 1 };

/* Parse "simple", "relaxed", "H/B" or "H" (body then simple, RFC 6376
 * 3.5 c=) into *h and *b.  Returns 0, or -1 for anything else. */
int canon_parse(const char *s, enum canon *h, enum canon *b);
/* "simple" or "relaxed". */
const char *canon_name(enum canon c);

/* Append to out the field raw[0..n) (name, colon, value and its line
 * ends, as hdr_next's raw) canonicalised by c, ending with CRLF. */
void canon_header(const char *raw, size_t n, enum canon c, struct buf *out);

/* Append to out the body p[0..n) canonicalised by c: every line ended by
 * CRLF, trailing empty lines removed; simple turns an empty body into one
 * CRLF, relaxed also removes white space at line ends and shrinks each
 * run of it to one space (3.4.3, 3.4.4 and erratum 1384). */
void canon_body(const char *p, size_t n, enum canon c, struct buf *out);

#endif
