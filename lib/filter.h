/* filter.h — the read-transform-write loop of the codec filters. */
#ifndef ML_FILTER_H
#define ML_FILTER_H

#include <stddef.h>
#include <sys/types.h>

/* Transform in[0..n) into out (room: the bound given to filter_run);
 * return the bytes written, or -1 to stop with an error already printed. */
typedef ssize_t (*filter_fn)(void *state, const char *in, size_t n, char *out);

/* Feed fd through fn in IO_BUFSIZE blocks, writing the result to stdout;
 * bound(n) is the most output fn makes of n input bytes.  fn is called a
 * last time with n == 0 at end of input.  Return 0, or -1 after printing
 * "prog: name: why" for a read or write error. */
int filter_run(int fd, const char *name, filter_fn fn, void *state, size_t (*bound)(size_t));

/* Write all of p[0..n) to fd; 0 or -1. */
int write_all(int fd, const void *p, size_t n);

#endif
