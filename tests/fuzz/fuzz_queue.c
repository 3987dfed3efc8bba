/* fuzz_queue — libFuzzer harness for the queue envelope (lib/queue.c), the
 * file smtpd writes and smtp-send --queue reads back: a damaged or hostile
 * env/ file must be refused, never misread.
 *
 * Asserted: an envelope that parses has at least one recipient, each
 * non-empty and within QUEUE_ADDR_MAX; when it formats again, the text
 * parses to the same envelope, and formats to the same text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "queue.h"

const char *const progname = "fuzz_queue";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_env e, f;
	struct buf t1 = { 0 }, t2 = { 0 };
	const char *why;

	memset(&e, 0, sizeof e);
	memset(&f, 0, sizeof f);
	if (queue_env_parse((const char *)data, size, &e, &why) == 0) {
		CHECK(e.nrcpt > 0);
		for (size_t i = 0; i < e.nrcpt; i++)
			CHECK(e.rcpt[i].addr[0] != '\0' && strlen(e.rcpt[i].addr) <= QUEUE_ADDR_MAX);
		if (queue_env_format(&e, &t1) == 0) {
			CHECK(queue_env_parse(t1.p, t1.len, &f, &why) == 0);
			CHECK(f.nrcpt == e.nrcpt && strcmp(f.from, e.from) == 0);
			for (size_t i = 0; i < e.nrcpt; i++)
				CHECK(strcmp(f.rcpt[i].addr, e.rcpt[i].addr) == 0 &&
				    f.rcpt[i].state == e.rcpt[i].state);
			CHECK(queue_env_format(&f, &t2) == 0);
			CHECK(t1.len == t2.len && memcmp(t1.p, t2.p, t1.len) == 0);
		}
	}
	queue_env_free(&e);
	queue_env_free(&f);
	buf_free(&t1);
	buf_free(&t2);
	return 0;
}
