/* err.h — messages on stderr as "prog: what: why", and exits.
 *
 * Each program defines   const char *const progname = "b64";
 * in its main.c; the name is a constant, never taken from argv[0]. */
#ifndef ML_ERR_H
#define ML_ERR_H

#include <stddef.h>
#include <stdio.h>
#include <stdnoreturn.h>

extern const char *const progname;

/* Print "prog: <fmt>\n" on stderr. */
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "prog: <fmt>: strerror(errno)\n" on stderr. */
void warn_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* warnx_ then exit(code). */
noreturn void diex(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* warn_ then exit(code). */
noreturn void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Allocation that cannot fail: on exhaustion print and exit EX_TEMPFAIL
 * (a mail system retries later).  Free with free(). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* The -v reasoning of a checker: "tag: <fmt>\n" on f; nothing when f is NULL. */
void tracef(FILE *f, const char *tag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Print the standard --version text on stdout. */
void print_version(void);

#endif
