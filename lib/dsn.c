/* dsn.c — RFC 3461 parameter syntax (see dsn.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dsn.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;      /* RFC 3461 4: hexchar is "+" and two UPPER-case digits */
}

int dsn_xtext_decode(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	for (; *s; s++) {
		int c = (unsigned char)*s;

		if (c < '!' || c > '~' || c == '=')
			return -1;
		if (c == '+') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

			if (lo < 0)
				return -1;
			c = hi * 16 + lo;
			s += 2;
			/* the text goes into report fields: no controls, no 8-bit */
			if (c < ' ' || c > '~')
				return -1;
		}
		if (n + 1 >= cap)
			return -1;
		out[n++] = (char)c;
	}
	if (cap == 0)
		return -1;
	out[n] = '\0';
	return (int)n;
}

int dsn_xtext_encode(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int plain = c >= '!' && c <= '~' && c != '+' && c != '=';

		if (n + (plain ? 1 : 3) >= cap)
			return -1;
		if (plain)
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, cap - n, "+%02X", c);
	}
	if (cap == 0)
		return -1;
	out[n] = '\0';
	return 0;
}

static const char *const notify_names[] = { "NEVER", "SUCCESS", "FAILURE", "DELAY" };

int dsn_notify_parse(const char *v)
{
	int bits = 0;

	if (*v == '\0')
		return -1;
	while (*v) {
		size_t n = strcspn(v, ","), i;

		for (i = 0; i < 4; i++)
			if (n == strlen(notify_names[i]) && strncasecmp(v, notify_names[i], n) == 0)
				break;
		if (i == 4 || (bits & (1 << i)))
			return -1;      /* unknown, or given twice */
		bits |= 1 << i;
		v += n;
		if (*v == ',' && *++v == '\0')
			return -1;
	}
	if ((bits & DSN_NEVER) && bits != DSN_NEVER)
		return -1;      /* RFC 3461 4.1: NEVER stands alone */
	return bits;
}

void dsn_notify_format(int bits, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; i < 4; i++)
		if (bits & (1 << i))
			n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "",
			    notify_names[i]);
}

int dsn_ret_parse(const char *v)
{
	if (strcasecmp(v, "FULL") == 0)
		return DSN_RET_FULL;
	if (strcasecmp(v, "HDRS") == 0)
		return DSN_RET_HDRS;
	return -1;
}

const char *dsn_ret_name(int ret)
{
	return ret == DSN_RET_FULL ? "FULL" : ret == DSN_RET_HDRS ? "HDRS" : "";
}

int dsn_orcpt_ok(const char *v)
{
	char dec[DSN_ORCPT_MAX + 1];
	size_t n = strcspn(v, ";");

	/* addr-type is an atom (RFC 3461 4.2); the value must be there */
	if (n == 0 || v[n] != ';' || v[n + 1] == '\0' || strlen(v) > DSN_ORCPT_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (v[i] <= ' ' || v[i] > '~' || strchr("()<>[]:;@\\,.\"", v[i]) != NULL)
			return -1;
	return dsn_xtext_decode(v + n + 1, dec, sizeof dec) < 0 ? -1 : 0;
}

int dsn_wanted(int notify, int kind)
{
	if (notify == 0)
		return kind == DSN_FAILURE;
	return (notify & kind) != 0;
}
