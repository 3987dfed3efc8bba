/* durable.h — making names and bytes survive a power loss, not only a kill.
 *
 * A write(2) or a rename(2) reaches the page cache; fsync(2) of a file makes
 * its bytes durable, and a new, renamed or removed name is durable only once
 * the directory holding it is fsync'ed (fsync(2), Notes).  tests/crash/
 * crashcheck replays the system calls of each delivery path against that
 * rule. */
#ifndef MAILLAB_DURABLE_H
#define MAILLAB_DURABLE_H

#include <stdio.h>
#include <sys/types.h>

/* fsync the directory DIR (its entries: names made, renamed, removed). */
int dir_sync(const char *dir);

/* fsync the directory that holds PATH. */
int parent_sync(const char *path);

/* mkdir(PATH, MODE); when it made the directory, fsync its parent so the
 * new name survives.  An existing directory is success, as with mkdir -p. */
int mkdir_durable(const char *path, mode_t mode);

/* Flush F and fsync its file before it is closed and renamed into place:
 * a rename that survives must not name an empty file.  -1 on error. */
int file_sync(FILE *f);

#endif
