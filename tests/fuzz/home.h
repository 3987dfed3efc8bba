/* home.h — the home of a whole-session harness (pop3, imapsession,
 * smtpsession): a private directory, in /dev/shm when there is one (the
 * servers fsync what they write, and on a disk that is most of a run's
 * time), removed whole when the fuzzer exits, holding a passwd-file
 * "users" with alice (password "secret", the uid and gid given, home the
 * directory); tmpl gets the mailbox template "maildir:DIR/Maildir". */
#ifndef MAILLAB_FUZZ_HOME_H
#define MAILLAB_FUZZ_HOME_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_home_dir[64];

static int fuzz_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void fuzz_home_cleanup(void)
{
	(void)nftw(fuzz_home_dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void fuzz_home(const char *name, unsigned uid, unsigned gid, char *dir, size_t dcap,
    char *users, size_t ucap, char *tmpl, size_t tcap)
{
	FILE *f;

	snprintf(fuzz_home_dir, sizeof fuzz_home_dir, "/dev/shm/%s.XXXXXX", name);
	if (mkdtemp(fuzz_home_dir) == NULL) {
		snprintf(fuzz_home_dir, sizeof fuzz_home_dir, "/tmp/%s.XXXXXX", name);
		if (mkdtemp(fuzz_home_dir) == NULL)
			abort();
	}
	atexit(fuzz_home_cleanup);
	snprintf(dir, dcap, "%s", fuzz_home_dir);
	snprintf(users, ucap, "%s/users", dir);
	if ((f = fopen(users, "w")) == NULL)
		abort();
	fprintf(f, "alice:{PLAIN}secret:%u:%u::%s::\n", uid, gid, dir);
	if (fclose(f) != 0)
		abort();
	snprintf(tmpl, tcap, "maildir:%s/Maildir", dir);
}

#endif
