/* filter.c — block I/O loop shared by b64 and qp (see filter.h).
 * read(2)/write(2) on large blocks: no stdio in the data path. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "filter.h"
#include "limits.h"

int write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int filter_run(int fd, const char *name, filter_fn fn, void *state, size_t (*bound)(size_t))
{
	char *in = xmalloc(IO_BUFSIZE);
	char *out = xmalloc(bound(IO_BUFSIZE));
	int rc = 0;

	for (;;) {
		ssize_t r = read(fd, in, IO_BUFSIZE), k;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			warn_("read %s", name);
			rc = -1;
			break;
		}
		if ((k = fn(state, in, (size_t)r, out)) < 0) {
			rc = -1;
			break;
		}
		if (write_all(STDOUT_FILENO, out, (size_t)k) < 0) {
			warn_("write stdout");
			rc = -1;
			break;
		}
		if (r == 0)
			break;
	}
	free(in);
	free(out);
	return rc;
}
