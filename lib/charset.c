/* charset.c — charset conversion to UTF-8 with iconv (see charset.h). */
#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

#include "charset.h"
#include "limits.h"

static const char replacement[] = "\xef\xbf\xbd";   /* U+FFFD */

int charset_is_utf8(const char *cs)
{
	return strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0 ||
	    strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "ascii") == 0;
}

static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned c = s[0];
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

int utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		if ((k = utf8_seq(p + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

/* Copy UTF-8 (or ASCII) input, replacing invalid sequences. */
static int copy_utf8(const char *in, size_t n, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, k;
	int replaced = 0;

	while (i < n) {
		if ((k = utf8_seq(p + i, n - i)) == 0) {
			buf_adds(out, replacement);
			replaced = 1;
			i++;
			continue;
		}
		buf_add(out, p + i, k);
		i += k;
	}
	return replaced;
}

/* Names mailers put in charset= that iconv does not know, and labels whose
 * text is in practice written in a superset (as the WHATWG Encoding
 * standard reads them: Outlook's "iso-8859-1" holds Windows quotes, its
 * "gb2312" GBK, "ks_c_5601-1987" is CP949, "-i"/"-e" are bidi variants). */
static const struct { const char *label, *name; } charset_alias[] = {
	{ "iso-8859-1", "CP1252" }, { "latin1", "CP1252" }, { "iso_8859-1", "CP1252" },
	{ "iso-8859-9", "CP1254" }, { "iso-8859-11", "CP874" }, { "tis-620", "CP874" },
	{ "ks_c_5601-1987", "CP949" }, { "ks_c_5601-1989", "CP949" }, { "ks_c_5601", "CP949" },
	{ "euc-kr", "CP949" }, { "x-windows-949", "CP949" }, { "windows-949", "CP949" },
	{ "gb2312", "GB18030" }, { "gbk", "GB18030" }, { "x-gbk", "GB18030" },
	{ "cp936", "GB18030" }, { "gb_2312-80", "GB18030" }, { "csgb2312", "GB18030" },
	{ "x-euc-cn", "GB18030" }, { "big5", "BIG5-HKSCS" }, { "x-x-big5", "BIG5-HKSCS" },
	{ "shift_jis", "CP932" }, { "shift-jis", "CP932" }, { "x-sjis", "CP932" },
	{ "sjis", "CP932" }, { "ms_kanji", "CP932" }, { "windows-31j", "CP932" },
	{ "x-euc-jp", "EUC-JP" }, { "x-euc-tw", "EUC-TW" },
	{ "iso-8859-6-i", "ISO-8859-6" }, { "iso-8859-6-e", "ISO-8859-6" },
	{ "iso-8859-8-i", "ISO-8859-8" }, { "iso-8859-8-e", "ISO-8859-8" },
	{ "x-mac-roman", "MACINTOSH" }, { "x-mac-cyrillic", "MAC-CYRILLIC" },
	{ "x-mac-ce", "MAC-CENTRALEUROPE" }, { "x-user-defined", "CP1252" },
	{ "unicode-1-1-utf-7", "UTF-7" }, { "x-unicode-2-0-utf-7", "UTF-7" },
};

int charset_to_utf8(const char *cs, const char *in, size_t n, struct buf *out)
{
	iconv_t cd;
	char *ip = (char *)in;
	size_t il = n, start;
	int replaced = 0;

	if (charset_is_utf8(cs) || strlen(cs) > CHARSET_NAME_MAX)
		return charset_is_utf8(cs) ? copy_utf8(in, n, out) : (copy_utf8(in, n, out), -1);
	for (size_t i = 0; i < sizeof charset_alias / sizeof charset_alias[0]; i++)
		if (strcasecmp(cs, charset_alias[i].label) == 0) {
			cs = charset_alias[i].name;
			break;
		}
	cd = iconv_open("UTF-8", cs);
	if (cd == (iconv_t)-1) {
		copy_utf8(in, n, out);
		return -1;
	}
	start = out->len;
	while (il > 0) {
		size_t room = il * 4 + 16, ol = room;
		char *op = buf_reserve(out, room);
		size_t r = iconv(cd, &ip, &il, &op, &ol);

		buf_commit(out, room - ol);
		if (r == (size_t)-1 && errno != E2BIG) {
			/* EILSEQ or EINVAL (truncated): replace one byte, go on */
			buf_adds(out, replacement);
			replaced = 1;
			ip++;
			il--;
			iconv(cd, NULL, NULL, NULL, NULL);
		}
	}
	iconv_close(cd);
	/* glibc passes UTF-8 to UTF-8 through unchecked (F5 BF BC 97, past
	 * U+10FFFF, comes out as it went in) under any name that is not one
	 * of charset_is_utf8's ("UTF8//", "ISO-10646/UTF8/", "utf-8\x86":
	 * glibc drops the bytes it does not use in a name): check what came
	 * out, as the contract above promises valid UTF-8. */
	if (out->len > start && !utf8_valid(out->p + start, out->len - start)) {
		struct buf t = { 0 };

		copy_utf8(out->p + start, out->len - start, &t);
		out->len = start;
		buf_add(out, t.p, t.len);
		buf_free(&t);
		replaced = 1;
	}
	return replaced;
}
