/* fuzz_passwd — libFuzzer harness for the passwd-file reader (lib/auth.c),
 * Dovecot's user:{SCHEME}secret:uid:gid:gecos:home:shell:extra format,
 * and for auth_name_ok, which every client-given user name goes through.
 *
 * The input is written as the passwd-file and looked up as "bob", as the
 * recipient "bob+box@example.org", and as its own first line (a user name
 * from the client).  Asserted: a found user has a valid name, a
 * NUL-terminated secret and home, and a PLAIN secret is checked without
 * crypt (hashed schemes are not run: their cost is the file's choice). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"

const char *const progname = "fuzz_passwd";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

static void check_user(const struct user *u)
{
	CHECK(memchr(u->name, '\0', sizeof u->name) != NULL);
	CHECK(memchr(u->secret, '\0', sizeof u->secret) != NULL);
	CHECK(memchr(u->home, '\0', sizeof u->home) != NULL);
	if (strncmp(u->secret, "{PLAIN}", 7) == 0)
		(void)auth_verify(u, "secret");
	(void)auth_plain_secret(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	char name[AUTH_NAME_MAX + 2];
	struct user u;
	size_t k = 0;
	FILE *f;

	if (path[0] == '\0')
		snprintf(path, sizeof path, "/tmp/fuzz_passwd.%ld", (long)getpid());
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	if (auth_lookup(path, "bob", &u) > 0)
		check_user(&u);
	if (auth_lookup_rcpt(path, "bob+box@example.org", &u) > 0)
		check_user(&u);
	while (k < size && k < sizeof name - 1 && data[k] != '\n' && data[k] != '\0') {
		name[k] = (char)data[k];
		k++;
	}
	name[k] = '\0';
	if (auth_name_ok(name)) {
		CHECK(strchr(name, '/') == NULL && name[0] != '.' && name[0] != '-');
		if (auth_lookup(path, name, &u) > 0)
			check_user(&u);
	}
	return 0;
}
