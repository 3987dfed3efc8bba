/* rfc2047.c — encoded-words: decoding for readers, encoding for composers. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "charset.h"
#include "err.h"
#include "limits.h"
#include "rfc2047.h"

static const char hexdig[] = "0123456789ABCDEF";

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parse one encoded-word at s[0..n): "=?cs?e?text?=".  On success return its
 * length, append its decoded bytes to raw and put its charset name in
 * charset; return 0 if s does not start a well-formed encoded-word. */
static size_t decode_word(const char *s, size_t n, char charset[CHARSET_NAME_MAX + 1],
    struct buf *raw)
{
	const char *cs, *q1, *q2, *end;
	size_t cslen;
	int enc;

	if (n < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	cs = s + 2;
	if ((q1 = memchr(cs, '?', n - 2)) == NULL || q1 + 3 >= s + n || q1[2] != '?')
		return 0;
	enc = q1[1];
	if (enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q')
		return 0;
	q2 = q1 + 3;
	for (end = q2; end + 1 < s + n; end++) {
		if (end[0] == '?' && end[1] == '=')
			break;
		if (end[0] == ' ' || end[0] == '\t' || end[0] == '\r' || end[0] == '\n')
			return 0;
	}
	if (end + 1 >= s + n)
		return 0;
	cslen = (size_t)(q1 - cs);
	if (memchr(cs, '*', cslen))   /* RFC 2231 5: charset*language */
		cslen = (size_t)((const char *)memchr(cs, '*', cslen) - cs);
	if (cslen == 0 || cslen > CHARSET_NAME_MAX)
		return 0;
	memcpy(charset, cs, cslen);
	charset[cslen] = '\0';

	if (enc == 'B' || enc == 'b') {
		size_t tl = (size_t)(end - q2);
		unsigned char *tmp = xmalloc(tl / 4 * 3 + 4);
		struct b64_dec d;
		ssize_t k, f;

		b64_dec_init(&d, 1);   /* lenient: missing padding is common */
		k = b64_dec_update(&d, q2, tl, tmp);
		f = b64_dec_final(&d, tmp + k);
		buf_add(raw, tmp, (size_t)(k + f));
		free(tmp);
	} else {
		for (const char *p = q2; p < end; p++) {
			if (*p == '_') {
				buf_addc(raw, ' ');
			} else if (*p == '=' && p + 2 < end && hexval(p[1]) >= 0 &&
			    hexval(p[2]) >= 0) {
				buf_addc(raw, hexval(p[1]) << 4 | hexval(p[2]));
				p += 2;
			} else {
				buf_addc(raw, *p);
			}
		}
	}
	return (size_t)(end + 2 - s);
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int word_start(const char *in, size_t n, size_t i)
{
	return i + 1 < n && in[i] == '=' && in[i + 1] == '?';
}

/* Convert the bytes of the adjacent encoded-words held in raw. */
static void flush_words(const char *cs, struct buf *raw, struct buf *out)
{
	if (raw->len)
		charset_to_utf8(cs, raw->p, raw->len, out);
	raw->len = 0;
}

int rfc2047_decode(const char *in, size_t n, struct buf *out)
{
	/* The bytes of adjacent encoded-words in one charset are converted
	 * together: senders split a multibyte character across two words
	 * (RFC 2047 5 forbids it, but readers such as Python's email
	 * package join them, and so do we). */
	char cs[CHARSET_NAME_MAX + 1], wcs[CHARSET_NAME_MAX + 1];
	struct buf raw = { 0 }, wraw = { 0 };
	size_t i = 0;
	int bad = 0, prev_word = 0;

	buf_reserve(out, 0);
	cs[0] = '\0';
	while (i < n) {
		size_t j = i, k;

		while (j < n && is_ws(in[j]))
			j++;
		if (word_start(in, n, j)) {
			wraw.len = 0;
			if ((k = decode_word(in + j, n - j, wcs, &wraw)) > 0) {
				if (!prev_word || strcasecmp(cs, wcs) != 0)
					flush_words(cs, &raw, out);
				if (!prev_word)         /* RFC 2047 6.2: drop space between words */
					buf_add(out, in + i, j - i);
				buf_add(&raw, wraw.p ? wraw.p : "", wraw.len);
				memcpy(cs, wcs, sizeof cs);
				prev_word = 1;
				i = j + k;
				continue;
			}
			bad++;
		}
		flush_words(cs, &raw, out);
		buf_add(out, in + i, j - i);
		k = j;
		if (k < n)
			k++;
		while (k < n && !is_ws(in[k]) && !word_start(in, n, k))
			k++;
		charset_to_utf8("UTF-8", in + j, k - j, out);
		prev_word = 0;
		i = k;
	}
	flush_words(cs, &raw, out);
	buf_free(&raw);
	buf_free(&wraw);
	buf_reserve(out, 0);
	out->p[out->len] = '\0';
	return bad;
}

int rfc2047_needed(const char *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x7f || (c < ' ' && c != '\t'))
			return 1;
		if (c == '=' && i + 1 < n && in[i + 1] == '?')
			return 1;
	}
	return 0;
}

/* Q-safe in any header position (RFC 2047 5 (3)). */
static int q_plain(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

/* Length of the character starting at s (UTF-8 aware when cs is UTF-8). */
static size_t char_len(int utf8, const unsigned char *s, size_t n)
{
	size_t k = 1;

	if (!utf8 || s[0] < 0xc0)
		return 1;
	while (k < n && k < 4 && (s[k] & 0xc0) == 0x80)
		k++;
	return k;
}

void rfc2047_encode(const char *cs, int enc, const char *in, size_t n,
    const char *fold, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t overhead = strlen(cs) + 7;       /* =?cs?Q?...?= */
	size_t room = RFC2047_WORD_MAX > overhead + 4 ? RFC2047_WORD_MAX - overhead : 4;
	int utf8 = charset_is_utf8(cs), b = (enc == 'B' || enc == 'b');
	size_t i = 0;

	while (i < n) {
		size_t used = 0, start = i;

		if (i > 0)
			buf_adds(out, fold);
		buf_printf(out, "=?%s?%c?", cs, b ? 'B' : 'Q');
		while (i < n) {
			size_t k = char_len(utf8, s + i, n - i), w = 0;

			if (b) {
				w = (i + k - start + 2) / 3 * 4;
				if (w > room && i > start)
					break;
				i += k;
				continue;
			}
			for (size_t j = 0; j < k; j++)
				w += (q_plain(s[i + j]) || s[i + j] == ' ') ? 1 : 3;
			if (used + w > room && used > 0)
				break;
			for (size_t j = 0; j < k; j++) {
				unsigned char c = s[i + j];

				if (c == ' ')
					buf_addc(out, '_');
				else if (q_plain(c))
					buf_addc(out, c);
				else
					buf_printf(out, "=%c%c", hexdig[c >> 4], hexdig[c & 15]);
			}
			used += w;
			i += k;
		}
		if (b) {
			char *t = xmalloc((i - start + 2) / 3 * 4 + 1);

			b64_encode(s + start, i - start, t);
			buf_adds(out, t);
			free(t);
		}
		buf_adds(out, "?=");
	}
}
