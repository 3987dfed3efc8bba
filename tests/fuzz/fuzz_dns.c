/* fuzz_dns — libFuzzer harness for lib/dns.c's answer parser and its
 * dig-style printer, the two places hostile DNS answers reach.
 *
 * The first input byte picks the question type (MX, A, AAAA, TXT, CNAME,
 * SOA); the rest is the answer message, parsed as the reply to a query for
 * the name in its own question (so records match and the CNAME chain and
 * record paths run), or "example.org", and printed as -v prints it.  Build (tests/fuzz/run.sh does):
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -iquote lib \
 *     tests/fuzz/fuzz_dns.c lib/dns.c lib/buf.c lib/err.c -lresolv */
#include <arpa/nameser.h>
#include <resolv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dns.h"

const char *const progname = "fuzz_dns";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = { ns_t_mx, ns_t_a, ns_t_aaaa, ns_t_txt, ns_t_cname, ns_t_soa };
	static FILE *sink;
	struct dns_answer a;
	char qname[NS_MAXDNAME] = "example.org";
	int rcode, cend, type;

	if (size < 1)
		return 0;
	type = types[data[0] % (sizeof types / sizeof types[0])];
	if (!sink && !(sink = fopen("/dev/null", "w")))
		abort();
	if (size > 13 && dn_expand(data + 1, data + size, data + 13, qname, sizeof qname) < 0)
		snprintf(qname, sizeof qname, "example.org");
	(void)dns_parse_answer(data + 1, size - 1, qname, type, &a, &rcode, &cend);
	for (size_t i = 0; i < a.n; i++)
		if (!a.text[i])
			abort();
	dns_answer_free(&a);
	dns_print_msg(sink, data + 1, size - 1);
	return 0;
}
