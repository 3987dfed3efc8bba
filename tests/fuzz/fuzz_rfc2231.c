/* fuzz_rfc2231 — libFuzzer harness for MIME parameters (lib/mime.c):
 * RFC 2045 quoted strings and tokens (param_value, parse_params), RFC 2231
 * continuations "name*0*=", "name*1=" and extended values
 * "charset'lang'%XX" (param_2231, mime_param_get), and the RFC 2047
 * encoded-words mailers put in file names (decoded by mime_param_get),
 * reached as a message's header reaches them.
 *
 * The input is cut at its first LF: the text before it follows
 * "Content-Type: application/octet-stream;", the rest follows
 * "Content-Disposition: attachment;" (CR and LF in either become spaces,
 * so each stays one field).  The message is built in a buffer of exactly
 * its length, without a final newline or a NUL after it, so a quoted
 * string left open at the end reads up to the end and no further (ASan
 * watches).
 * Asserted: every decoded value (the part's filename, and mime_param_get
 * of filename, name, title and charset) is NUL-free, valid UTF-8 and at
 * most 9 times the input's size; the raw values hold no NUL; the
 * continuations are joined the same whatever the order of the parameters
 * (when no section number is given twice: then the first one wins, as in
 * RFC 2231's silence, and the order matters).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "charset.h"
#include "mime.h"
#include "err.h"
#include "limits.h"

const char *const progname = "fuzz_rfc2231";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

static size_t limit;

static void check_value(const char *p, size_t len)
{
	CHECK(p != NULL || len == 0);
	if (p == NULL)
		return;
	CHECK(strlen(p) == len);                /* NUL-free, terminated */
	CHECK(utf8_valid(p, len));
	CHECK(len <= limit);
}

/* mime_param_get(v, n, name) into out (reset first); 1 if found. */
static int get(const struct mime_param *v, size_t n, const char *name, struct buf *out)
{
	int found;

	buf_reset(out);
	found = mime_param_get(v, n, name, out);
	if (found)
		check_value(out->p ? out->p : "", out->len);
	else
		CHECK(out->len == 0);
	return found;
}

/* A key for each parameter that name's lookup may use: -2 the plain
 * "name", N for "name*N" or "name*N*" ("name*": 0), -1 for the others.
 * Whether two parameters share a key (then the first one wins, and the
 * order of the list matters).  Conservative: "name*01" counts as 1. */
static int has_duplicate(const struct mime_param *v, size_t n, const char *name)
{
	size_t nlen = strlen(name);
	long key[MIME_PARAMS_MAX];

	for (size_t i = 0; i < n; i++) {
		const char *s = v[i].name;

		key[i] = -1;
		if (strncasecmp(s, name, nlen) != 0)
			continue;
		s += nlen;
		if (*s == '\0') {
			key[i] = -2;
		} else if (*s == '*') {
			long k = 0;

			for (s++; isdigit((unsigned char)*s) && k < 1000; s++)
				k = k * 10 + (*s - '0');
			key[i] = k;
		}
		for (size_t j = 0; j < i; j++)
			if (key[i] != -1 && key[j] == key[i])
				return 1;
	}
	return 0;
}

/* The same value with the parameters reversed, and rotated by one. */
static void check_order(const struct mime_param *v, size_t n, const char *name, const struct buf *want,
    int found)
{
	struct mime_param w[MIME_PARAMS_MAX];
	struct buf got = { 0 };

	if (n < 2 || has_duplicate(v, n, name))
		return;
	for (size_t i = 0; i < n; i++)
		w[i] = v[n - 1 - i];
	CHECK(get(w, n, name, &got) == found);
	CHECK(got.len == want->len && memcmp(got.p ? got.p : "", want->p ? want->p : "", got.len) == 0);
	for (size_t i = 0; i < n; i++)
		w[i] = v[(i + 1) % n];
	CHECK(get(w, n, name, &got) == found);
	CHECK(got.len == want->len && memcmp(got.p ? got.p : "", want->p ? want->p : "", got.len) == 0);
	buf_free(&got);
}

static void check_params(const struct mime_param *v, size_t n, const char *const *names)
{
	struct buf out = { 0 };

	CHECK(n <= MIME_PARAMS_MAX);
	for (size_t i = 0; i < n; i++) {
		/* a name may be "" when a NUL byte starts it: C strings */
		CHECK(v[i].name != NULL && v[i].value != NULL);
		CHECK(strlen(v[i].value) <= limit);
	}
	for (; *names; names++) {
		int found = get(v, n, *names, &out);

		check_order(v, n, *names, &out, found);
	}
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char ct[] = "Content-Type: application/octet-stream;";
	static const char cd[] = "\nContent-Disposition: attachment;";
	static const char *const names[] = { "filename", "name", "title", "charset", NULL };
	const uint8_t *lf = memchr(data, '\n', size);
	size_t a = lf ? (size_t)(lf - data) : size, b = lf ? size - a - 1 : 0, len, k = 0;
	struct mime_msg m;
	char *msg;

	/* a byte can become 3 of UTF-8 (U+FFFD, or windows-1252), and raw
	 * 8-bit inside an encoded-word twice so (read as windows-1252, then
	 * as the word's charset: mojibake, but bounded) */
	limit = 9 * size + 16;
	len = sizeof ct - 1 + a + (lf ? sizeof cd - 1 + b : 0);
	msg = xmalloc(len ? len : 1);
	memcpy(msg, ct, sizeof ct - 1);
	k = sizeof ct - 1;
	for (size_t i = 0; i < a; i++)
		msg[k++] = data[i] == '\r' || data[i] == '\n' ? ' ' : (char)data[i];
	if (lf) {
		memcpy(msg + k, cd, sizeof cd - 1);
		k += sizeof cd - 1;
		for (size_t i = a + 1; i < size; i++)
			msg[k++] = data[i] == '\r' || data[i] == '\n' ? ' ' : (char)data[i];
	}
	CHECK(k == len);

	mime_parse(msg, len, &m);
	CHECK(m.root != NULL);
	if (m.root->filename)
		check_value(m.root->filename, strlen(m.root->filename));
	if (m.root->charset)
		CHECK(strlen(m.root->charset) <= CHARSET_NAME_MAX);
	check_params(m.root->params, m.root->nparams, names);
	check_params(m.root->dparams, m.root->ndparams, names);
	mime_free(&m);
	free(msg);
	return 0;
}
