/* durable.c — fsync helpers for names and bytes (durable.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"

int dir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc, e;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

int parent_sync(const char *path)
{
	char p[PATH_MAX];
	char *slash;
	size_t n = strlen(path);

	if (n >= sizeof p)
		return errno = ENAMETOOLONG, -1;
	memcpy(p, path, n + 1);
	while (n > 1 && p[n - 1] == '/')        /* "a/b/" names b */
		p[--n] = '\0';
	if ((slash = strrchr(p, '/')) == NULL)
		return dir_sync(".");
	if (slash == p)
		return dir_sync("/");
	*slash = '\0';
	return dir_sync(p);
}

int mkdir_durable(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0)
		return errno == EEXIST ? 0 : -1;
	return parent_sync(path);
}

int file_sync(FILE *f)
{
	return fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
}
