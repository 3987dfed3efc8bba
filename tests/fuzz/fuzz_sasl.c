/* fuzz_sasl — libFuzzer harness for the server side of SASL (lib/sasl.c):
 * PLAIN, LOGIN and CRAM-MD5 responses, base64 straight from the client,
 * checked against a small passwd-file.
 *
 * The first byte picks the mechanism and whether the first line is an
 * initial response; the rest is split into lines at LF, fed in turn while
 * the exchange continues.  Asserted: SASL_OK only for the credentials in
 * the file (bob/secret), and every challenge is NUL-terminated within its
 * buffer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sasl.h"

const char *const progname = "fuzz_sasl";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

static const char *users_file(void)
{
	static char path[64];
	FILE *f;

	if (path[0] != '\0')
		return path;
	snprintf(path, sizeof path, "/tmp/fuzz_sasl_users.%ld", (long)getpid());
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fputs("bob:{PLAIN}secret:1000:1000::/nonexistent::\n"
	    "alice@example.org:{PLAIN}pw:1000:1000::/nonexistent::\n", f);
	fclose(f);
	return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const mechs[] = { "PLAIN", "LOGIN", "CRAM-MD5", "plain", "XOAUTH" };
	char buf[SASL_LINE_MAX + 1], challenge[SASL_LINE_MAX + 1];
	struct sasl s;
	struct user u;
	enum sasl_rc rc;
	size_t off = 1;
	int first = 1;

	if (size < 1)
		return 0;
	memset(&s, 0, sizeof s);
	/* one line at a time, LF-separated, each at most SASL_LINE_MAX */
#define NEXT_LINE() do { \
		size_t k = 0; \
		while (off < size && data[off] != '\n' && k < SASL_LINE_MAX) \
			buf[k++] = (char)data[off++]; \
		while (off < size && data[off] != '\n') off++; \
		off++; \
		buf[k] = '\0'; \
	} while (0)
	challenge[sizeof challenge - 1] = '\0';
	if (data[0] & 8) {
		NEXT_LINE();
		rc = sasl_start(&s, users_file(), mechs[data[0] % 5], buf, "mx.example.org",
		    challenge, sizeof challenge - 1, &u);
	} else {
		rc = sasl_start(&s, users_file(), mechs[data[0] % 5], NULL, "mx.example.org",
		    challenge, sizeof challenge - 1, &u);
	}
	while (rc == SASL_CONTINUE && off < size && first++ < 8) {
		CHECK(memchr(challenge, '\0', sizeof challenge) != NULL);
		NEXT_LINE();
		rc = sasl_step(&s, buf, challenge, sizeof challenge - 1, &u);
	}
	if (rc == SASL_OK)
		CHECK(strcmp(u.name, "bob") == 0 || strcmp(u.name, "alice@example.org") == 0);
	return 0;
}
