/* fuzz_authres — libFuzzer harness for the readers of Authentication-Results
 * fields that fuzz_mailauth does not reach: lib/authres.c's ar_summary
 * (mimecat's one-line verdict of the topmost field) and ar_name, and
 * mailauth's arrival_results (mailauth/mailauth.c, included whole), which
 * takes our own field's results from a message into the ARC-Authentication-
 * Results it seals.  (The ARC header sets themselves are fuzz_mailauth's.)
 *
 * The input is an Authentication-Results value for ar_summary, and the
 * whole input is also read as a message by arrival_results with the
 * authserv-id "mx.example.org".
 *
 * Asserted: ar_summary ends with " (by ID)", ID the value's first word;
 * its items are exactly the "method=result" words that follow a ";" which
 * is outside comments (nested, with quoted-pairs) and quoted strings, as a
 * reference walk here finds them: a ";" in a comment or in a quoted
 * property value starts no result; ar_name gives a keyword for every value;
 * arrival_results gives text of the message, or none. */
#include <ctype.h>
#include <stdint.h>

#include "../../mailauth/mailauth.c"

const char *const progname = "fuzz_authres";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

static int method_char(char c)
{
	return c != '\0' && (isalnum((unsigned char)c) || strchr("-_/=.", c) != NULL);
}

/* Past white space and comments (nested, with quoted-pairs). */
static size_t ref_cfws(const char *v, size_t i, size_t n)
{
	int depth = 0;

	for (; i < n; i++) {
		if (depth && v[i] == '\\')
			i++;
		else if (v[i] == '(')
			depth++;
		else if (v[i] == ')' && depth > 0)
			depth--;
		else if (!depth && !isspace((unsigned char)v[i]))
			break;
	}
	return i < n ? i : n;
}

/* The summary as RFC 8601's grammar gives it, into out. */
static void reference(const char *v, size_t n, struct buf *out)
{
	size_t i = ref_cfws(v, 0, n), id = i, idlen;
	int depth = 0, q = 0;

	while (i < n && v[i] != ';' && !isspace((unsigned char)v[i]) && v[i] != '(')
		i++;
	idlen = i - id;
	for (; i < n; i++) {
		char c = v[i];

		if (q) {
			if (c == '\\')
				i++;
			else if (c == '"')
				q = 0;
		} else if (depth) {
			if (c == '\\')
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '"') {
			q = 1;
		} else if (c == '(') {
			depth = 1;
		} else if (c == ';') {
			size_t m = ref_cfws(v, i + 1, n), e = m;

			while (e < n && method_char(v[e]))
				e++;
			if (e > m && memchr(v + m, '=', e - m))
				buf_printf(out, "%s%.*s", out->len ? " " : "", (int)(e - m), v + m);
			i = e - 1;
		}
	}
	if (out->len == 0)
		buf_adds(out, "none");
	buf_printf(out, " (by %.*s)", (int)idlen, v + id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf s = { 0 }, r = { 0 }, msg = { 0 }, res = { 0 };

	for (int k = -1; k < 10; k++)
		CHECK(ar_name((enum ar_result)k)[0] != '\0');
	ar_summary((const char *)data, size, &s);
	reference((const char *)data, size, &r);
	if (s.len != r.len || memcmp(s.p, r.p, s.len) != 0) {
		fprintf(stderr, "summary:   %.*s\nreference: %.*s\n", (int)s.len, s.p, (int)r.len, r.p);
		CHECK(0);
	}
	buf_add(&msg, data, size);
	if (arrival_results(&msg, "mx.example.org", &res)) {
		CHECK(res.len > 0 && res.len < size);
		CHECK(memmem(data, size, res.p, res.len) != NULL);
	}
	buf_free(&s);
	buf_free(&r);
	buf_free(&msg);
	buf_free(&res);
	return 0;
}
