/* route.c — --route: the Received: chain of a message read hop by hop,
 * oldest first, as a table.
 *
 * Each MTA on the way put its trace field on top (RFC 5321 4.4), so the
 * fields are read bottom up.  A field is a list of clauses, "from X",
 * "by Y", "via", "with", "id", "for", each keyword followed by one word
 * and any comments, then ";" and the date.  Real MTAs put much of what a
 * reader wants in comments: the client's address ("(name [192.0.2.1])"),
 * the TLS version and cipher (Postfix's "(using TLSv1.3 with cipher ...)",
 * Sendmail's "(version=TLSv1.3 cipher=...)", Exim's "(TLS1.3) tls CIPHER",
 * Gmail's "(Google Transport Security)"), the authenticated user
 * (Postfix's "(Authenticated sender: alice)", Sendmail's "(authenticated
 * bits=0)") and the software ("(Postfix)", "(amavisd-new, port 10024)",
 * "(Exim 4.96)"); the "with" keyword tells TLS and AUTH too (RFC 3848:
 * ESMTPS, ESMTPSA).  Nothing in a field is trusted: a field we cannot read
 * is shown as far as it goes, and every byte printed is made safe. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "header.h"
#include "mimecat.h"

enum { C_FROM, C_BY, C_VIA, C_WITH, C_ID, C_FOR, C_TIME, C_DELAY, C_SEC, NCOL };

static const char *const col_name[NCOL] = {
	"from", "by", "via", "with", "id", "for", "time", "delay", "TLS/auth"
};

/* The clause keywords of RFC 5321 4.4, in column order. */
static const char *const keyword[] = { "from", "by", "via", "with", "id", "for" };
#define NKEY (sizeof keyword / sizeof *keyword)

struct hop {
	char col[NCOL][MC_ROUTE_CELL];
	char tls[MC_ROUTE_CELL], auth[MC_ROUTE_CELL];
	int dated;                      /* the date parsed */
	long long utc;                  /* seconds since 1970, UTC */
	int zone;                       /* the field's own offset, minutes */
};

/* Append text to a cell, separated by one space, cut at the cell's size,
 * control bytes made '?' so that columns stay aligned and safe. */
static void cell_add(char *cell, const char *text, size_t n)
{
	size_t len = strlen(cell);

	if (len > 0 && len + 1 < MC_ROUTE_CELL && n > 0)
		cell[len++] = ' ';
	for (size_t i = 0; i < n && len + 1 < MC_ROUTE_CELL; i++) {
		unsigned char c = (unsigned char)text[i];

		cell[len++] = c == '\t' ? ' ' : (c < ' ' || c == 0x7f) ? '?' : (char)c;
	}
	cell[len] = '\0';
}

/* ---- tokens ---- */

enum tok { T_END, T_WORD, T_COMMENT };

/* The next token of s at *p: a word (an <angle-addr> is one word) or a
 * comment (nested parentheses and backslash escapes, RFC 5322 3.2.2),
 * returned without its outer parentheses.  *start, *len: its text. */
static enum tok next_token(const char *s, size_t *p, const char **start, size_t *len)
{
	size_t i = *p;

	while (s[i] == ' ' || s[i] == '\t')
		i++;
	if (s[i] == '\0')
		return *p = i, T_END;
	if (s[i] == '(') {
		int depth = 1;
		size_t b = ++i;

		for (; s[i] && depth > 0; i++) {
			if (s[i] == '\\' && s[i + 1])
				i++;
			else if (s[i] == '(')
				depth++;
			else if (s[i] == ')')
				depth--;
		}
		*start = s + b;
		*len = i - b - (depth == 0);
		*p = i;
		return T_COMMENT;
	}
	*start = s + i;
	if (s[i] == '<') {
		while (s[i] && s[i] != '>')
			i++;
		if (s[i])
			i++;
	} else {
		while (s[i] && s[i] != ' ' && s[i] != '\t' && s[i] != '(')
			i++;
	}
	*len = (size_t)(s + i - *start);
	*p = i;
	return T_WORD;
}

/* Where the date starts: after the last ';' outside comments and <>. */
static size_t date_split(const char *s)
{
	size_t semi = 0;
	int depth = 0, angle = 0;

	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '\\' && depth > 0 && s[i + 1])
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && depth > 0)
			depth--;
		else if (depth == 0 && s[i] == '<')
			angle = 1;
		else if (depth == 0 && s[i] == '>')
			angle = 0;
		else if (depth == 0 && !angle && s[i] == ';')
			semi = i + 1;
	}
	return semi;
}

/* ---- what the comments say ---- */

static const char *find_ci(const char *s, size_t n, const char *what)
{
	size_t w = strlen(what);

	for (size_t i = 0; i + w <= n; i++)
		if (strncasecmp(s + i, what, w) == 0)
			return s + i;
	return NULL;
}

/* The word at p (up to a blank, ',' or ')'), into cell. */
static void add_word_at(char *cell, const char *p, const char *end)
{
	size_t n = 0;

	while (p + n < end && p[n] != ' ' && p[n] != ',' && p[n] != ')' && p[n] != '\t')
		n++;
	cell_add(cell, p, n);
}

/* A comment about TLS: keep its version and cipher in h->tls. */
static int tls_comment(struct hop *h, const char *c, size_t n)
{
	const char *v, *end = c + n;

	/* Postfix: "(No client certificate requested)", "(Client CN ...)" */
	if (find_ci(c, n, "client certificate") != NULL || find_ci(c, n, "Client CN") != NULL)
		return 1;
	if (find_ci(c, n, "Transport Security") != NULL) {   /* Gmail */
		cell_add(h->tls, c, n);
		return 1;
	}
	if ((v = find_ci(c, n, "using TLS")) == NULL && (v = find_ci(c, n, "using SSL")) == NULL &&
	    (v = find_ci(c, n, "version=")) == NULL && !(n >= 3 && strncasecmp(c, "TLS", 3) == 0))
		return 0;
	if (v == NULL)
		v = c;                  /* Exim: "(TLS1.3)" */
	else if (strncasecmp(v, "using ", 6) == 0)
		v += 6;
	else
		v += 8;                 /* "version=" */
	add_word_at(h->tls, v, end);
	if ((v = find_ci(c, n, "cipher=")) != NULL)
		add_word_at(h->tls, v + 7, end);
	else if ((v = find_ci(c, n, "with cipher ")) != NULL)
		add_word_at(h->tls, v + 12, end);
	return 1;
}

static int auth_comment(struct hop *h, const char *c, size_t n)
{
	static const char sender[] = "Authenticated sender:";
	const char *v;

	if ((v = find_ci(c, n, sender)) != NULL) {      /* Postfix */
		v += sizeof sender - 1;
		while (v < c + n && *v == ' ')
			v++;
		add_word_at(h->auth, v, c + n);
		return 1;
	}
	if (n >= 13 && strncasecmp(c, "authenticated", 13) == 0) {   /* Sendmail */
		cell_add(h->auth, "yes", 3);
		return 1;
	}
	return 0;
}

/* ---- one field ---- */

static int keyword_of(const char *w, size_t n)
{
	for (size_t k = 0; k < NKEY; k++)
		if (strlen(keyword[k]) == n && strncasecmp(w, keyword[k], n) == 0)
			return (int)k;
	return -1;
}

/* The clauses of s[0..n) into h: each keyword's word goes to its column,
 * comments that tell TLS or AUTH to h->tls/auth, the others after the
 * word they follow (those after with/id/for name the receiving software
 * and go with "by").  Exim's "with esmtps tls CIPHER" gives the cipher. */
static void parse_clauses(struct hop *h, const char *s)
{
	const char *t;
	size_t p = 0, n;
	int cur = C_FROM, want = 0, tls_next = 0;
	enum tok k;

	while ((k = next_token(s, &p, &t, &n)) != T_END) {
		int kw = k == T_WORD && !want ? keyword_of(t, n) : -1;

		if (k == T_COMMENT) {
			if (tls_comment(h, t, n) || auth_comment(h, t, n))
				continue;
			char paren[MC_ROUTE_CELL];

			snprintf(paren, sizeof paren, "(%.*s)", (int)n, t);
			/* Exim's "(envelope-from <a@b>)" is about the sender */
			if (find_ci(t, n, "envelope-from") != NULL)
				cell_add(h->col[C_FROM], paren, strlen(paren));
			else
				cell_add(h->col[cur >= C_WITH ? C_BY : cur], paren, strlen(paren));
		} else if (kw >= 0) {
			cur = kw;
			want = 1;
		} else if (tls_next) {
			cell_add(h->tls, t, n);
			tls_next = 0;
		} else if (cur == C_WITH && !want && n == 3 && strncasecmp(t, "tls", 3) == 0) {
			tls_next = 1;
		} else {
			if (cur == C_FOR && n >= 2 && t[0] == '<' && t[n - 1] == '>')
				t++, n -= 2;
			cell_add(h->col[cur], t, n);
			want = 0;
		}
	}
}

/* "name (name [addr])" says the same name twice: "name [addr]". */
static void tidy_from(char *from)
{
	char *sp = strchr(from, ' ');
	size_t w = sp ? (size_t)(sp - from) : 0;

	if (sp && sp[1] == '(' && strncasecmp(sp + 2, from, w) == 0 && sp[2 + w] == ' ' &&
	    sp[3 + w] == '[') {
		char *close = strchr(sp + 3 + w, ')');

		if (close != NULL) {
			memmove(sp + 1, sp + 3 + w, (size_t)(close - (sp + 3 + w)));
			memmove(sp + 1 + (close - (sp + 3 + w)), close + 1, strlen(close + 1) + 1);
		}
	} else if (sp && sp[1] == '(' && sp[2] == '[') {     /* "name ([addr])" */
		char *close = strchr(sp + 2, ')');

		if (close != NULL && close[-1] == ']') {
			memmove(sp + 1, sp + 2, (size_t)(close - (sp + 2)));
			memmove(sp + 1 + (close - (sp + 2)), close + 1, strlen(close + 1) + 1);
		}
	}
}

/* RFC 3848: ESMTPS/ESMTPSA/LMTPS... say TLS, ESMTPA/ESMTPSA... say AUTH. */
static void protocol_says(struct hop *h)
{
	const char *w = h->col[C_WITH];
	size_t n = strcspn(w, " ");
	int base = 0;

	if (n >= 5 && strncasecmp(w, "ESMTP", 5) == 0)
		base = 5;
	else if (n >= 4 && (strncasecmp(w, "LMTP", 4) == 0 || strncasecmp(w, "SMTP", 4) == 0))
		base = 4;
	else if (n >= 8 && strncasecmp(w, "UTF8SMTP", 8) == 0)
		base = 8;
	else if (n >= 8 && strncasecmp(w, "UTF8LMTP", 8) == 0)
		base = 8;
	if (base == 0 || n > (size_t)base + 2)
		return;
	if (strncasecmp(w + base, "S", 1) == 0 && h->tls[0] == '\0')
		cell_add(h->tls, "TLS", 3);
	if (n > (size_t)base && toupper((unsigned char)w[n - 1]) == 'A' && h->auth[0] == '\0')
		cell_add(h->auth, "yes", 3);
}

static void security_cell(struct hop *h)
{
	char *c = h->col[C_SEC];

	if (h->tls[0])
		cell_add(c, h->tls, strlen(h->tls));
	if (h->auth[0]) {
		cell_add(c, h->tls[0] ? "+ auth" : "auth", h->tls[0] ? 6 : 4);
		cell_add(c, h->auth, strlen(h->auth));
	}
}

/* ---- dates (RFC 5322 3.3, with the obsolete zones of 4.3) ---- */

static long long days_from_civil(long long y, int m, int d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static int zone_minutes(const char *z)
{
	static const struct { const char *name; int hours; } named[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "Z", 0 }, { "EST", -5 }, { "EDT", -4 },
		{ "CST", -6 }, { "CDT", -5 }, { "MST", -7 }, { "MDT", -6 }, { "PST", -8 },
		{ "PDT", -7 },
	};

	if ((z[0] == '+' || z[0] == '-') && strspn(z + 1, "0123456789") >= 4) {
		int v = ((z[1] - '0') * 10 + (z[2] - '0')) * 60 + (z[3] - '0') * 10 + (z[4] - '0');

		return z[0] == '-' ? -v : v;
	}
	for (size_t i = 0; i < sizeof named / sizeof *named; i++)
		if (strcasecmp(z, named[i].name) == 0)
			return named[i].hours * 60;
	return 0;       /* unknown: as "-0000" (RFC 5322 4.3) */
}

static int parse_date(struct hop *h, const char *s)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	char mon[4] = "", zone[8] = "";
	int d, y, hh, mm, ss = 0, m;
	const char *comma = strchr(s, ',');

	if (comma != NULL && comma - s < 12)
		s = comma + 1;
	if (sscanf(s, "%d %3s %d %d:%d:%d %7s", &d, mon, &y, &hh, &mm, &ss, zone) < 7 &&
	    sscanf(s, "%d %3s %d %d:%d %7s", &d, mon, &y, &hh, &mm, zone) < 6)
		return 0;
	const char *mp = strlen(mon) == 3 ? strcasestr(months, mon) : NULL;

	if (mp == NULL || (mp - months) % 3 != 0)
		return 0;
	m = (int)(mp - months) / 3 + 1;
	if (y < 50)
		y += 2000;              /* RFC 5322 4.3: two-digit years */
	else if (y < 1000)
		y += 1900;
	if (d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 || hh < 0 || mm < 0 || ss < 0 ||
	    y > 9999)
		return 0;
	h->zone = zone_minutes(zone);
	h->utc = days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss - h->zone * 60LL;
	snprintf(h->col[C_TIME], MC_ROUTE_CELL, "%04d-%02d-%02d %02d:%02d:%02d %c%02d%02d", y, m, d,
	    hh, mm, ss, h->zone < 0 ? '-' : '+', abs(h->zone) / 60, abs(h->zone) % 60);
	return 1;
}

static void format_delay(char *out, size_t cap, long long secs)
{
	long long a = secs < 0 ? -secs : secs;
	char sign = secs < 0 ? '-' : '+';

	if (a < 60)
		snprintf(out, cap, "%c%llds", sign, a);
	else if (a < 3600)
		snprintf(out, cap, "%c%lldm%02llds", sign, a / 60, a % 60);
	else if (a < 86400)
		snprintf(out, cap, "%c%lldh%02lldm", sign, a / 3600, a % 3600 / 60);
	else
		snprintf(out, cap, "%c%lldd%02lldh", sign, a / 86400, a % 86400 / 3600);
}

/* ---- the whole ---- */

static void read_hop(struct hop *h, const struct hdr_field *f)
{
	struct buf v = { 0 };
	size_t semi;

	memset(h, 0, sizeof *h);
	hdr_unfold(f->value, f->vallen, 0, &v);
	buf_addc(&v, '\0');
	semi = date_split(v.p);
	if (semi > 0) {
		h->dated = parse_date(h, v.p + semi);
		v.p[semi - 1] = '\0';
	}
	if (!h->dated)
		snprintf(h->col[C_TIME], MC_ROUTE_CELL, "?");
	parse_clauses(h, v.p);
	tidy_from(h->col[C_FROM]);
	protocol_says(h);
	security_cell(h);
	buf_free(&v);
}

static void print_row(FILE *f, char (*cells)[MC_ROUTE_CELL], const char *first,
    const size_t *width)
{
	fprintf(f, "%-3s", first);
	for (int c = 0; c < NCOL; c++) {
		const char *t = cells[c][0] ? cells[c] : "-";

		if (c == NCOL - 1)
			fprintf(f, "  %s\n", t);
		else
			fprintf(f, "  %-*s", (int)width[c], t);
	}
}

static void print_table(FILE *f, struct hop *v, size_t n)
{
	size_t width[NCOL];
	char head[NCOL][MC_ROUTE_CELL];

	for (int c = 0; c < NCOL; c++) {
		snprintf(head[c], MC_ROUTE_CELL, "%s", col_name[c]);
		width[c] = strlen(col_name[c]);
		for (size_t i = 0; i < n; i++)
			if (strlen(v[i].col[c]) > width[c])
				width[c] = strlen(v[i].col[c]);
	}
	print_row(f, head, "hop", width);
	for (size_t i = 0; i < n; i++) {
		char no[24];           /* any size_t in decimal */

		snprintf(no, sizeof no, "%zu", i + 1);
		print_row(f, v[i].col, no, width);
	}
}

/* Under the table: the whole transit, and what the author's Date: says. */
static void print_summary(FILE *f, const struct mc *mc, const struct hop *v, size_t n,
    int skew)
{
	const struct mime_part *r = mc->m.root;
	const char *hdr = mc->base + r->off;
	size_t len = r->body_off - r->off;
	struct buf b = { 0 };
	struct hop date;

	if (n > 1 && v[0].dated && v[n - 1].dated) {
		char d[32];

		format_delay(d, sizeof d, v[n - 1].utc - v[0].utc);
		fprintf(f, "\n%zu hops, %s from the first to the last.\n", n, d + (d[0] == '+'));
	}
	if (skew)
		fputs("A negative delay: the clocks of those two hosts disagree.\n", f);
	memset(&date, 0, sizeof date);
	if (hdr_get(hdr, len, "Date", &b)) {
		buf_addc(&b, '\0');
		if (parse_date(&date, b.p) && n > 0 && v[0].dated) {
			char d[32];

			format_delay(d, sizeof d, v[0].utc - date.utc);
			fprintf(f, "Date: %s (the author's clock); the first hop %s after it.\n",
			    date.col[C_TIME], d);
		}
	}
	buf_free(&b);
}

int mc_route(struct mc *mc)
{
	const struct mime_part *r = mc->m.root;
	struct hdr_iter it;
	struct hdr_field fl;
	struct hop *v = NULL;
	size_t total = 0, n, j = 0;
	int skew = 0;

	hdr_iter_init(&it, mc->base + r->off, r->body_off - r->off);
	while (hdr_next(&it, &fl))
		if (fl.name != NULL && hdr_is(&fl, "Received"))
			total++;
	if (total == 0) {
		fputs("no Received: fields: this message has not crossed any MTA\n", mc->out);
		return 0;
	}
	/* a looping message may carry thousands: show the newest ones */
	n = total < MC_ROUTE_MAX ? total : MC_ROUTE_MAX;
	v = xcalloc(n, sizeof *v);
	hdr_iter_init(&it, mc->base + r->off, r->body_off - r->off);
	while (j < n && hdr_next(&it, &fl))     /* top field = newest hop */
		if (fl.name != NULL && hdr_is(&fl, "Received"))
			read_hop(&v[n - 1 - j++], &fl);
	if (total > n)
		fprintf(mc->out, "(%zu older Received: fields not shown)\n", total - n);
	for (size_t i = 1; i < n; i++) {
		if (!v[i].dated || !v[i - 1].dated)
			continue;
		format_delay(v[i].col[C_DELAY], MC_ROUTE_CELL, v[i].utc - v[i - 1].utc);
		skew |= v[i].utc < v[i - 1].utc;
	}
	print_table(mc->out, v, n);
	print_summary(mc->out, mc, v, n, skew);
	free(v);
	return 0;
}
