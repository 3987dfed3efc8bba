/* fuzz_smtp — libFuzzer harness for smtpd's address parsing (smtpd/addr.c):
 * the RFC 5321 path of every MAIL FROM and RCPT TO, and CIDR lists.
 *
 * The first input byte picks SMTPUTF8 (bit 0) and the null path (bit 1);
 * the rest, cut at the first NUL, is the argument after "FROM:"/"TO:".
 * Asserted: an accepted path fits SMTP_PATH_MAX, holds no control byte
 * (RFC 5321 qtextSMTP/quoted-pairSMTP: a CR or TAB must never reach
 * Return-Path: or the log), no 8-bit byte without SMTPUTF8, and has its
 * domain after its last '@'; what follows the path starts after '>'.
 * FUZZ_EXTRA: smtpd/addr.c */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/smtpd.h"

const char *const progname = "fuzz_smtp";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[SMTP_CMD_MAX + 1], out[SMTP_PATH_MAX + 1], *p = in;
	struct cidr c;
	int utf8, null_ok;
	size_t n;

	if (size < 1)
		return 0;
	utf8 = data[0] & 1;
	null_ok = (data[0] >> 1) & 1;
	n = size - 1 < sizeof in - 1 ? size - 1 : sizeof in - 1;
	memcpy(in, data + 1, n);
	in[n] = '\0';
	if (parse_path(&p, out, sizeof out, utf8, null_ok) == NULL) {
		size_t len = strlen(out);

		CHECK(len <= SMTP_PATH_MAX);
		CHECK(p > in && p <= in + strlen(in));
		CHECK(null_ok || len > 0);
		for (size_t i = 0; i < len; i++) {
			unsigned char ch = (unsigned char)out[i];

			CHECK(ch >= ' ' && ch != 0x7f);
			CHECK(utf8 || ch < 0x80);
		}
		(void)addr_domain(out);
		(void)has_8bit(out);
	}
	if (cidr_parse(in, &c) == 0) {
		CHECK(c.family == 2 || c.family == 10);        /* AF_INET, AF_INET6 */
		CHECK(c.bits >= 0 && c.bits <= (c.family == 2 ? 32 : 128));
		(void)cidr_match(&c, 1, "192.0.2.1");
		(void)cidr_match(&c, 1, "2001:db8::1");
	}
	return 0;
}
