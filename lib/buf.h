/* buf.h — a growable byte buffer, always NUL-terminated. */
#ifndef ML_BUF_H
#define ML_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char  *p;       /* NULL until the first add; free with buf_free */
	size_t len;
	size_t cap;
};

/* Append n bytes / one byte / a C string / printf text.  Never fail (xrealloc). */
void buf_add(struct buf *b, const void *s, size_t n);
void buf_addc(struct buf *b, int c);
void buf_adds(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Make room for n more bytes and return where they go; then buf_commit(n). */
char *buf_reserve(struct buf *b, size_t n);
void buf_commit(struct buf *b, size_t n);
/* Hand the string to the caller (who frees it) and reset b. */
char *buf_take(struct buf *b);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif
