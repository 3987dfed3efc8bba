/* rfc2047.h — MIME encoded-words in header fields (RFC 2047). */
#ifndef ML_RFC2047_H
#define ML_RFC2047_H

#include <stddef.h>

#include "buf.h"

/* Append to out the UTF-8 text of the header value in[0..n): encoded-words
 * (B and Q, any charset iconv knows, RFC 2231 "*lang" suffix allowed) are
 * decoded, white space between two adjacent encoded-words is dropped
 * (RFC 2047 6.2), everything else is copied (8-bit bytes are taken as
 * UTF-8 when valid, else replaced).  Return the number of malformed
 * encoded-words seen (they are copied as they are). */
int rfc2047_decode(const char *in, size_t n, struct buf *out);

/* Append to out in[0..n) (text in charset cs) as encoded-words of the Q
 * (enc 'Q') or B (enc 'B') form, each at most 75 characters, never
 * splitting a UTF-8 character, separated by fold (e.g. "\r\n " or " "). */
void rfc2047_encode(const char *cs, int enc, const char *in, size_t n,
    const char *fold, struct buf *out);

/* Whether in[0..n) needs encoding in a header: 8-bit or control bytes, or
 * something that looks like an encoded-word. */
int rfc2047_needed(const char *in, size_t n);

#endif
