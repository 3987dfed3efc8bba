/* authres.c — result keywords (see authres.h). */
#include <ctype.h>
#include <string.h>

#include "authres.h"

const char *ar_name(enum ar_result r)
{
	static const char *const names[] = {
		[AR_NONE] = "none", [AR_PASS] = "pass", [AR_FAIL] = "fail",
		[AR_SOFTFAIL] = "softfail", [AR_NEUTRAL] = "neutral", [AR_POLICY] = "policy",
		[AR_TEMPERROR] = "temperror", [AR_PERMERROR] = "permerror",
	};

	if ((unsigned)r < sizeof names / sizeof names[0] && names[r])
		return names[r];
	return "none";
}

/* Skip white space and (nested) comments, with their quoted-pairs (RFC
 * 5322 CFWS). */
static const char *skip_cfws(const char *p, const char *end)
{
	int depth = 0;

	for (; p < end; p++) {
		if (depth && *p == '\\' && p + 1 < end)
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (!depth && !isspace((unsigned char)*p))
			break;
	}
	return p;
}

/* Whether c may be in "method[/version]=result" (NUL is not). */
static int method_char(char c)
{
	return c != '\0' && (isalnum((unsigned char)c) || strchr("-_/=.", c) != NULL);
}

void ar_summary(const char *v, size_t n, struct buf *out)
{
	const char *end = v + n, *p = skip_cfws(v, end), *id = p;
	size_t idlen, start = out->len;
	int quoted = 0, depth = 0;

	while (p < end && *p != ';' && !isspace((unsigned char)*p) && *p != '(')
		p++;
	idlen = (size_t)(p - id);
	/* each resinfo: ";" method ["/" version] "=" result ...; a ";" in a
	 * comment or a quoted string (a sender's local part) starts none */
	for (; p < end; p++) {
		const char *m;

		if (quoted || depth) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (quoted && *p == '"')
				quoted = 0;
			else if (depth && *p == '(')
				depth++;
			else if (depth && *p == ')')
				depth--;
			continue;
		}
		if (*p == '"')
			quoted = 1;
		else if (*p == '(')
			depth = 1;
		if (*p != ';')
			continue;
		m = skip_cfws(p + 1, end);
		p = m;
		while (p < end && method_char(*p))
			p++;
		if (p > m && memchr(m, '=', (size_t)(p - m)))
			buf_printf(out, "%s%.*s", out->len > start ? " " : "", (int)(p - m), m);
		p--;
	}
	if (out->len == start)
		buf_adds(out, "none");
	buf_printf(out, " (by %.*s)", (int)idlen, id);
}
