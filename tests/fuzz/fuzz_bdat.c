/* fuzz_bdat — libFuzzer harness for smtpd's BDAT argument parser
 * (bdat_args in smtpd/data.c, included whole: it is static) and the
 * CRLF-to-LF conversion of BDAT data.
 *
 * Asserted: "n" or "n LAST" is accepted only when it starts with a digit
 * and holds nothing else, and the size read is the decimal value, or the
 * largest value when it does not fit (smtpd then refuses it at once, over
 * --max-size); crlf_to_lf drops exactly the CRs a LF follows.
 * FUZZ_EXTRA: smtpd/addr.c smtpd/authres.c smtpd/defer.c smtpd/deliver.c smtpd/dsn.c smtpd/expand.c smtpd/handoff.c smtpd/log.c smtpd/policy.c smtpd/privsep.c smtpd/session.c */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/data.c"

const char *const progname = "fuzz_bdat";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[SMTP_CMD_MAX + 1];
	unsigned long long n, want = 0;
	int last, over = 0;
	size_t k = size < sizeof in - 1 ? size : sizeof in - 1, d = 0;
	struct buf b = { 0 };

	memcpy(in, data, k);
	in[k] = '\0';
	if (bdat_args(in, &n, &last) == 0) {
		CHECK(in[0] >= '0' && in[0] <= '9');
		for (; in[d] >= '0' && in[d] <= '9'; d++) {
			unsigned digit = (unsigned)(in[d] - '0');

			/* exactly past ULLONG_MAX, where strtoull gives ULLONG_MAX
			 * (18446744073709551612 is not over; the first test here
			 * said it was) */
			if (want > ULLONG_MAX / 10 || (want == ULLONG_MAX / 10 && digit > ULLONG_MAX % 10))
				over = 1;
			want = want * 10 + digit;
		}
		CHECK(over ? n == ULLONG_MAX : n == want);
		CHECK(last ? strcasecmp(in + d, " LAST") == 0 : in[d] == '\0');
	}
	buf_add(&b, data, size);
	crlf_to_lf(&b);
	CHECK(b.len <= size);
	/* the same as dropping each CR that a LF follows, in one pass */
	for (size_t i = 0, o = 0; i < size; i++) {
		if (data[i] == '\r' && i + 1 < size && data[i + 1] == '\n')
			continue;
		CHECK(o < b.len && (unsigned char)b.p[o] == data[i]);
		o++;
	}
	buf_free(&b);
	return 0;
}
