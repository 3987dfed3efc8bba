/* charset.h — conversion of text in a named charset to UTF-8 (iconv). */
#ifndef ML_CHARSET_H
#define ML_CHARSET_H

#include <stddef.h>

#include "buf.h"

/* Append in[0..n), in charset cs, to out as UTF-8.  Bytes that cannot be
 * converted become U+FFFD.  Return 0, 1 if some bytes were replaced, or -1
 * if the charset is unknown (then the bytes are appended with every 8-bit
 * byte replaced by U+FFFD, so out is always valid UTF-8). */
int charset_to_utf8(const char *cs, const char *in, size_t n, struct buf *out);

/* Whether cs names UTF-8 or US-ASCII (no conversion needed). */
int charset_is_utf8(const char *cs);

/* Whether s[0..n) is valid UTF-8. */
int utf8_valid(const char *s, size_t n);

#endif
