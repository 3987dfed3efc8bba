/* Unit tests of lib/mime.c and lib/mime_imap.c (and the RFC 2047 decoder
 * they use): boundaries, offsets and line counts, defaults, RFC 2231
 * parameters, limits, section numbers, BODYSTRUCTURE, ENVELOPE, and every
 * prefix and many mutations of a message (the parser sees a whole buffer,
 * so a byte split is a truncation: each must give a consistent tree). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "mime.h"
#include "rfc2047.h"

const char *const progname = "test_mime";

static const char nested[] =
    "From: a@example.org\n"
    "Subject: test\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
    "\n"
    "preamble\n"
    "--outer\n"
    "Content-Type: text/plain; charset=ISO-8859-1\n"
    "\n"
    "one\n"
    "two\n"
    "--outer\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "Content-Type: multipart/alternative; boundary=in\n"
    "\n"
    "--in\n"
    "\n"
    "plain\n"
    "--in\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>html</p>\n"
    "--in--\n"
    "--outer--\n"
    "epilogue\n";

/* Every invariant a tree must keep, whatever the input. */
static void check_tree(const struct mime_msg *m)
{
	size_t n = 0;

	ck_assert_ptr_nonnull(m->root);
	for (const struct mime_part *p = m->root; p; p = p->order) {
		ck_assert_uint_le(p->off, p->body_off);
		ck_assert_uint_le(p->body_off, p->end);
		ck_assert_uint_le(p->end, m->len);
		ck_assert_ptr_nonnull(p->type);
		ck_assert_ptr_nonnull(p->subtype);
		ck_assert_uint_le(p->depth, MIME_DEPTH_MAX);
		ck_assert_uint_ge(p->body_wire, p->end - p->body_off);
		ck_assert_uint_ge(p->hdr_wire, p->body_off - p->off);
		ck_assert_uint_le(p->hdr_wire, 2 * (p->body_off - p->off));
		ck_assert_uint_le(p->body_lines, p->end - p->body_off);
		if (p->parent) {
			ck_assert_uint_ge(p->off, p->parent->body_off);
			ck_assert_uint_le(p->end, p->parent->end);
		}
		if (p->next)
			ck_assert_uint_le(p->end, p->next->off);
		n++;
	}
	ck_assert_uint_eq(n, m->nparts);
	ck_assert_uint_le(n, MIME_PARTS_MAX);
}

static const char *body(const struct mime_part *p, char *tmp, size_t cap)
{
	size_t n = p->end - p->body_off;

	ck_assert_uint_lt(n, cap);
	memcpy(tmp, p->base + p->body_off, n);
	tmp[n] = '\0';
	return tmp;
}

START_TEST(structure)
{
	struct mime_msg m;
	const struct mime_part *r, *t, *msg, *inner, *a1, *a2;
	char tmp[256];

	mime_parse(nested, strlen(nested), &m);
	check_tree(&m);
	ck_assert_uint_eq(m.nparts, 6);
	ck_assert_uint_eq(m.ndefects, 0);
	r = m.root;
	ck_assert_str_eq(r->type, "multipart");
	ck_assert_str_eq(r->boundary, "outer");
	ck_assert_uint_eq(r->nchild, 2);
	t = r->child;
	ck_assert_str_eq(t->charset, "iso-8859-1");
	ck_assert_str_eq(body(t, tmp, sizeof tmp), "one\ntwo");
	ck_assert_uint_eq(t->body_lines, 1);
	ck_assert_uint_eq(t->body_wire, 8);             /* "one\r\ntwo" */
	ck_assert_uint_eq(t->hdr_wire, strlen("Content-Type: text/plain; charset=ISO-8859-1\r\n\r\n"));
	ck_assert_uint_eq(r->hdr_wire, r->body_off + 4);   /* 4 header lines, LF each */
	msg = t->next;
	ck_assert(mime_is_message(msg));
	inner = msg->child;
	ck_assert(inner->flags & MP_MESSAGE);
	ck_assert(mime_is_multipart(inner));
	a1 = inner->child;
	a2 = a1->next;
	ck_assert(a1->flags & MP_DEFTYPE);
	ck_assert_str_eq(a1->type, "text");
	ck_assert_str_eq(a1->charset, "us-ascii");
	ck_assert_str_eq(body(a1, tmp, sizeof tmp), "plain");
	ck_assert_str_eq(body(a2, tmp, sizeof tmp), "<p>html</p>");
	/* the close delimiter's line end stays in the message (as Dovecot) */
	ck_assert_uint_eq(msg->end, inner->end);
	ck_assert(nested[msg->end - 1] == '\n');
	ck_assert_str_eq(nested + r->epilogue_off, "epilogue\n");
	ck_assert_uint_eq(r->preamble_end - r->body_off, strlen("preamble"));
	mime_free(&m);
}
END_TEST

START_TEST(boundaries)
{
	/* prefix boundaries, trailing white space, CRLF, text that starts
	 * like a boundary, and a close delimiter with padding */
	const char *s =
	    "Content-Type: multipart/mixed; boundary=ab\r\n\r\n"
	    "--ab  \r\n\r\nA\r\n--abc\r\n--ab\r\n"
	    "Content-Type: multipart/mixed; boundary=\"ab-inner\"\r\n\r\n"
	    "--ab-inner\r\n\r\nB\r\n--ab-inner-- \t\r\n--ab--\r\n";
	struct mime_msg m;
	const struct mime_part *p;
	char tmp[64];
	int textdefect = 0, prefix = 0;

	mime_parse(s, strlen(s), &m);
	check_tree(&m);
	p = m.root->child;
	ck_assert_str_eq(body(p, tmp, sizeof tmp), "A\r\n--abc");
	p = p->next;
	ck_assert(mime_is_multipart(p));
	ck_assert_str_eq(body(p->child, tmp, sizeof tmp), "B");
	ck_assert(!(m.root->flags & MP_NOEND));
	ck_assert(!(p->flags & MP_NOEND));
	for (size_t i = 0; i < m.ndefects; i++) {
		textdefect |= m.defects[i].code == MD_BOUNDARYTEXT;
		prefix |= m.defects[i].code == MD_NESTEDBOUNDARY;
	}
	ck_assert(textdefect);
	ck_assert(prefix);
	mime_free(&m);
}
END_TEST

START_TEST(missing_close)
{
	const char *s = "Content-Type: multipart/mixed; boundary=x\n\n--x\n\nA\n--x\n"
	    "Content-Type: multipart/mixed; boundary=y\n\n--y\n\nB\n--x\n\nC\n";
	struct mime_msg m;
	const struct mime_part *p;
	char tmp[64];
	int noend = 0;

	mime_parse(s, strlen(s), &m);
	check_tree(&m);
	ck_assert_uint_eq(m.root->nchild, 3);
	p = m.root->child->next;
	ck_assert(p->flags & MP_NOEND);         /* y ended by an outer boundary */
	ck_assert_str_eq(body(p->child, tmp, sizeof tmp), "B");
	ck_assert_str_eq(body(p->next, tmp, sizeof tmp), "C\n");   /* to the end, as Dovecot */
	ck_assert(m.root->flags & MP_NOEND);
	for (size_t i = 0; i < m.ndefects; i++)
		noend += m.defects[i].code == MD_NOEND;
	ck_assert_int_eq(noend, 2);
	mime_free(&m);
}
END_TEST

START_TEST(no_parts)
{
	const char *a = "Content-Type: multipart/mixed\n\nno boundary parameter\n";
	const char *b = "Content-Type: multipart/mixed; boundary=zz\n\nboundary never used\n";
	struct mime_msg m;

	mime_parse(a, strlen(a), &m);
	check_tree(&m);
	ck_assert_uint_eq(m.nparts, 1);
	ck_assert(m.root->flags & MP_NOPARTS);
	ck_assert(!mime_is_multipart(m.root));
	mime_free(&m);
	mime_parse(b, strlen(b), &m);
	check_tree(&m);
	ck_assert_uint_eq(m.nparts, 1);
	ck_assert(m.root->flags & MP_NOPARTS);
	mime_free(&m);
}
END_TEST

START_TEST(defaults)
{
	const char *s = "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: x\n\nhi\n"
	    "--d\nContent-Type: text/plain\n\nt\n--d\nContent-Type: garbage\n\nbad\n--d--\n";
	struct mime_msg m;
	const struct mime_part *p;

	mime_parse(s, strlen(s), &m);
	check_tree(&m);
	p = m.root->child;
	ck_assert_str_eq(p->type, "message");           /* RFC 2046 5.1.5 */
	ck_assert(mime_is_message(p));
	ck_assert_str_eq(p->child->type, "text");
	p = p->next;
	ck_assert_str_eq(p->subtype, "plain");
	p = p->next;
	ck_assert(p->flags & MP_BADTYPE);               /* RFC 2045 5.2 */
	ck_assert_str_eq(p->type, "text");
	ck_assert_str_eq(p->charset, "us-ascii");
	mime_free(&m);
}
END_TEST

START_TEST(fields)
{
	const char *s =
	    "Content-Type: Text/HTML (a comment) ; Charset = \"UTF-8\" ; format=flowed\n"
	    "Content-Transfer-Encoding: Quoted-Printable\n"
	    "Content-ID: <id@x>\n"
	    "Content-Description: a description\n"
	    "Content-Disposition: Attachment; filename=\"a \\\"b\\\".html\"; size=3\n"
	    "Content-Language: en, fr\n"
	    "Content-Location: http://example.org/x\n"
	    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
	    "Content-Type: text/plain\n"
	    "\n=41\n";
	struct mime_msg m;
	const struct mime_part *p;
	int dup = 0;

	mime_parse(s, strlen(s), &m);
	p = m.root;
	ck_assert_str_eq(p->type, "text");
	ck_assert_str_eq(p->subtype, "html");
	ck_assert_str_eq(p->charset, "utf-8");
	ck_assert_int_eq(p->enc, ENC_QP);
	ck_assert_str_eq(p->enc_name, "Quoted-Printable");
	ck_assert_str_eq(p->id, "<id@x>");
	ck_assert_str_eq(p->description, "a description");
	ck_assert_str_eq(p->disposition, "attachment");
	ck_assert_str_eq(p->filename, "a \"b\".html");
	ck_assert_str_eq(p->language, "en, fr");
	ck_assert_str_eq(p->md5, "Q2hlY2sgSW50ZWdyaXR5IQ==");
	ck_assert_str_eq(mime_param_raw(p->params, p->nparams, "FORMAT"), "flowed");
	for (size_t i = 0; i < m.ndefects; i++)
		dup += m.defects[i].code == MD_DUPFIELD;
	ck_assert_int_eq(dup, 1);
	mime_free(&m);
}
END_TEST

static void param_is(const char *params, const char *name, const char *want)
{
	char s[1024];
	struct mime_msg m;
	struct buf b = { 0 };
	int found;

	snprintf(s, sizeof s, "Content-Type: application/octet-stream; %s\n\n", params);
	mime_parse(s, strlen(s), &m);
	found = mime_param_get(m.root->params, m.root->nparams, name, &b);
	if (want == NULL) {
		ck_assert_int_eq(found, 0);
	} else {
		ck_assert_int_eq(found, 1);
		ck_assert_str_eq(b.p, want);
		ck_assert_uint_eq(b.len, strlen(want));         /* no NUL inside */
	}
	buf_free(&b);
	mime_free(&m);
}

START_TEST(rfc2231)
{
	/* RFC 2231 3, 4, 4.1 examples */
	param_is("URL*0=\"ftp://\"; URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"",
	    "url", "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar");
	param_is("title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A", "title",
	    "This is ***fun***");
	param_is("title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20;"
	    " title*2=\"isn't it!\"", "title", "This is even more ***fun*** isn't it!");
	/* charsets, order, gaps, RFC 2047 in a plain value */
	param_is("name*=iso-8859-1''%E9t%E9.txt", "name", "\xc3\xa9t\xc3\xa9.txt");
	param_is("name*1=b; name*0=a; name*2=c", "name", "abc");
	param_is("name*0=a; name*2=c", "name", "a");
	param_is("name=\"=?utf-8?q?na=C3=AFve?=\"", "name", "na\xc3\xafve");
	param_is("name*=utf-8''%E2%82%AC; name=plain", "name", "\xe2\x82\xac");
	param_is("name*=unknown-cs''%FF", "name", "\xef\xbf\xbd");
	/* raw 8-bit: UTF-8 as it is, else windows-1252 (legacy mailers) */
	param_is("name=\"na\xefve\"", "name", "na\xc3\xafve");
	param_is("name=\"na\xc3\xafve\"", "name", "na\xc3\xafve");
	param_is("name=\"\x80\"", "name", "\xe2\x82\xac");
	param_is("name*0*=utf-8''%; name*1=%zz", "name", "%%zz");
	param_is("other=1", "name", NULL);
	param_is("name*00=a", "name", NULL);
	param_is("name*99999999999999999999=a", "name", NULL);
	/* a decoded NUL (RFC 2231 %00, RFC 2047 =00, UTF-16 zero) is U+FFFD,
	 * so no use of the value as a C string cuts it short (fuzz_rfc2231) */
	param_is("name*=utf-8''evil.exe%00.txt", "name", "evil.exe\xef\xbf\xbd.txt");
	param_is("name*0*=utf-8''a%00; name*1=b", "name", "a\xef\xbf\xbd" "b");
	param_is("name=\"=?utf-8?q?a=00b?=\"", "name", "a\xef\xbf\xbd" "b");
	param_is("name*=utf-16be''%00%00%00A", "name", "\xef\xbf\xbd" "A");
	/* a UTF-8 alias iconv passes through unchecked: still valid UTF-8 out */
	param_is("name*=ISO-10646/UTF8/''a%F5%BF%BC%97", "name",
	    "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}
END_TEST

START_TEST(rfc2047_words)
{
	static const struct { const char *in, *out; } t[] = {   /* RFC 2047 8 */
		{ "(=?ISO-8859-1?Q?a?=)", "(a)" },
		{ "(=?ISO-8859-1?Q?a?= b)", "(a b)" },
		{ "(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)" },
		{ "(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)" },
		{ "(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)" },
		{ "(=?ISO-8859-1?Q?a_b?=)", "(a b)" },
		{ "(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)" },
		{ "=?utf-8?B?w6k=?=", "\xc3\xa9" },
		{ "=?utf-8*fr?Q?=C3=A9?=", "\xc3\xa9" },
		{ "=?bogus", "=?bogus" },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct buf b = { 0 };

		rfc2047_decode(t[i].in, strlen(t[i].in), &b);
		ck_assert_str_eq(b.p, t[i].out);
		buf_free(&b);
	}
}
END_TEST

static int collect(void *arg, const char *s, size_t n)
{
	buf_add(arg, s, n);
	return 0;
}

/* A base64 body far over the decoder's block size decodes as one piece. */
START_TEST(decode_blocks)
{
	size_t n = 300 * 1024 + 7;
	unsigned char *raw = malloc(n);
	struct b64_enc e;
	struct buf msg = { 0 }, out = { 0 };
	char *enc;
	size_t k;
	struct mime_msg m;
	size_t errors = 9;

	for (size_t i = 0; i < n; i++)
		raw[i] = (unsigned char)(i * 7 + i / 251);
	b64_enc_init(&e, 76, 0);
	enc = malloc(b64_enc_bound(&e, n) + 8);
	k = b64_enc_update(&e, raw, n, enc);
	k += b64_enc_final(&e, enc + k);
	buf_adds(&msg, "Content-Transfer-Encoding: base64\n\n");
	buf_add(&msg, enc, k);
	mime_parse(msg.p, msg.len, &m);
	ck_assert_int_eq(mime_decode(m.root, collect, &out, &errors), 0);
	ck_assert_uint_eq(errors, 0);
	ck_assert_uint_eq(out.len, n);
	ck_assert(memcmp(out.p, raw, n) == 0);
	mime_free(&m);
	buf_free(&msg);
	buf_free(&out);
	free(enc);
	free(raw);
}
END_TEST

START_TEST(decode_qp_and_bad)
{
	const char *s = "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 =\nsoft\n--b\n"
	    "Content-Transfer-Encoding: base64\n\naGVs!!bG8=\n--b--\n";
	struct mime_msg m;
	struct buf out = { 0 };
	size_t errors;

	mime_parse(s, strlen(s), &m);
	mime_decode(m.root->child, collect, &out, &errors);
	ck_assert_str_eq(out.p, "caf\xc3\xa9 soft");
	out.len = 0;
	mime_decode(m.root->child->next, collect, &out, &errors);
	ck_assert_str_eq(out.p, "hello");              /* lenient, as RFC 2045 6.8 asks */
	buf_free(&out);
	mime_free(&m);
}
END_TEST

START_TEST(decode_base64_pad_and_uu)
{
	/* base64 ends at "=" (RFC 2045 6.8); x-uuencode from "begin" to "end",
	 * a line that lost its trailing blanks read as zeros; no "begin": raw */
	const char *s = "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Transfer-Encoding: base64\n\naGk=\n-- \nfooter\n--b\n"
	    "Content-Transfer-Encoding: x-uuencode\n\njunk\nbegin 644 f\n#86)C\n#80``\n#80\n`\nend\n--b\n"
	    "Content-Transfer-Encoding: X-UUE\n\nno begin line\n--b--\n";
	struct mime_msg m;
	struct buf out = { 0 };
	size_t errors;

	mime_parse(s, strlen(s), &m);
	mime_decode(m.root->child, collect, &out, &errors);
	ck_assert_str_eq(out.p, "hi");
	out.len = 0;
	mime_decode(m.root->child->next, collect, &out, &errors);
	ck_assert_uint_eq(out.len, 9);
	ck_assert_int_eq(memcmp(out.p, "abca\0\0a\0\0", 9), 0);
	ck_assert_uint_eq(errors, 0);
	out.len = 0;
	mime_decode(m.root->child->next->next, collect, &out, &errors);
	ck_assert_int_eq(memcmp(out.p, "no begin line", 13), 0);
	buf_free(&out);
	mime_free(&m);
}
END_TEST

START_TEST(sections)
{
	struct mime_msg m;
	struct mime_range r;
	struct buf b = { 0 };
	static const struct { const char *sec; int rc; const char *start; } t[] = {
		{ "", SECT_OK, "From: a@" },
		{ "HEADER", SECT_OK, "From: a@" },
		{ "TEXT", SECT_OK, "preamble" },
		{ "1", SECT_OK, "one\ntwo" },
		{ "1.MIME", SECT_OK, "Content-Type: text/plain" },
		{ "2", SECT_OK, "Subject: inner" },
		{ "2.HEADER", SECT_OK, "Subject: inner" },
		{ "2.TEXT", SECT_OK, "--in\n" },
		{ "2.1", SECT_OK, "plain" },
		{ "2.2", SECT_OK, "<p>html</p>" },
		{ "2.2.MIME", SECT_OK, "Content-Type: text/html" },
		{ "2.header.fields (Subject)", SECT_OK, "Subject: inner" },
		{ "1.HEADER", SECT_NONE, NULL },        /* part 1 is not a message */
		{ "3", SECT_NONE, NULL },
		{ "2.3", SECT_NONE, NULL },
		{ "1.1", SECT_NONE, NULL },
		{ "0", SECT_BAD, NULL },
		{ "01", SECT_BAD, NULL },
		{ "MIME", SECT_BAD, NULL },
		{ "1.", SECT_BAD, NULL },
		{ "1.FOO", SECT_BAD, NULL },
		{ "1x", SECT_BAD, NULL },
		{ "99999999999999999999", SECT_BAD, NULL },
	};

	mime_parse(nested, strlen(nested), &m);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int rc = mime_section(m.root, t[i].sec, &r);

		ck_assert_msg(rc == t[i].rc, "section %s: %d", t[i].sec, rc);
		if (t[i].start)
			ck_assert_msg(strncmp(nested + r.off, t[i].start, strlen(t[i].start)) == 0 &&
			    r.off + r.len <= m.len, "section %s", t[i].sec);
	}
	ck_assert_int_eq(mime_section(m.root, "2.HEADER.FIELDS.NOT (A)", &r), SECT_OK);
	ck_assert_int_eq(r.spec, SPEC_FIELDS_NOT);
	ck_assert_str_eq(r.rest, " (A)");
	/* every part's own name leads back to it */
	for (const struct mime_part *p = m.root; p; p = p->order) {
		b.len = 0;
		mime_section_name(p, &b);
		if (b.len == 0 || mime_is_multipart(p))
			continue;
		ck_assert_int_eq(mime_section(m.root, b.p, &r), SECT_OK);
		ck_assert_ptr_eq(r.part, p);
	}
	buf_free(&b);
	mime_free(&m);
}
END_TEST

START_TEST(single_part_sections)
{
	const char *s = "Subject: x\n\nbody\n";
	struct mime_msg m;
	struct mime_range r;
	struct buf b = { 0 };

	mime_parse(s, strlen(s), &m);
	ck_assert_int_eq(mime_section(m.root, "1", &r), SECT_OK);   /* RFC 3501 6.4.5 */
	ck_assert_uint_eq(r.off, 12);
	ck_assert_uint_eq(r.len, 5);
	ck_assert_int_eq(mime_section(m.root, "2", &r), SECT_NONE);
	mime_section_name(m.root, &b);
	ck_assert_str_eq(b.p, "1");
	buf_free(&b);
	mime_free(&m);
}
END_TEST

START_TEST(bodystructure)
{
	const char *s = "From: \"A B\" <a@b.c>\nSubject: hi\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=x\n\n--x\n\nline1\nline2\n\n--x\n"
	    "Content-Type: application/pdf; name*0*=utf-8''%E2%82%AC; name*1=\" x.pdf\"\n"
	    "Content-Disposition: attachment; filename=r.pdf\nContent-Transfer-Encoding: BASE64\n"
	    "Content-Language: en, fr\n\nAAAA\n--x--\n";
	struct mime_msg m;
	struct buf b = { 0 };

	mime_parse(s, strlen(s), &m);
	mime_bodystructure(m.root, 1, &b);
	ck_assert_str_eq(b.p,
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 2 NIL NIL NIL NIL)"
	    "(\"application\" \"pdf\" (\"name*\" \"utf-8''%E2%82%AC%20x.pdf\") NIL NIL \"BASE64\" 4 NIL "
	    "(\"attachment\" (\"filename\" \"r.pdf\")) (\"en\" \"fr\") NIL) \"mixed\" (\"boundary\" \"x\") NIL NIL NIL)");
	b.len = 0;
	mime_bodystructure(m.root, 0, &b);
	ck_assert_str_eq(b.p,
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 2)"
	    "(\"application\" \"pdf\" (\"name*\" \"utf-8''%E2%82%AC%20x.pdf\") NIL NIL \"BASE64\" 4) \"mixed\")");
	b.len = 0;
	mime_envelope(m.root, &b);
	ck_assert_str_eq(b.p, "(NIL \"hi\" ((\"A B\" NIL \"a\" \"b.c\")) ((\"A B\" NIL \"a\" \"b.c\")) "
	    "((\"A B\" NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL)");
	buf_free(&b);
	mime_free(&m);
}
END_TEST

START_TEST(nstrings)
{
	struct buf b = { 0 };

	mime_nstring(NULL, &b);
	mime_nstring("a\"b\\c", &b);
	mime_nstring_n("caf\xc3\xa9", 5, &b);
	mime_nstring_n("x\0y", 3, &b);
	ck_assert_str_eq(b.p, "NIL\"a\\\"b\\\\c\"{5}\r\ncaf\xc3\xa9\"xy\"");
	buf_free(&b);
}
END_TEST

START_TEST(wire)
{
	struct buf b = { 0 };

	ck_assert_uint_eq(mime_wire_len("a\nb\r\nc\n", 7), 9);
	ck_assert_uint_eq(mime_wire_len("\n", 1), 2);
	ck_assert_uint_eq(mime_wire_len("", 0), 0);
	mime_wire_copy("a\nb\r\n\nc", 7, &b);
	ck_assert_str_eq(b.p, "a\r\nb\r\n\r\nc");
	buf_free(&b);
}
END_TEST

START_TEST(deep_nesting)
{
	struct buf s = { 0 };
	struct mime_msg m;
	int deep = 0;

	for (int i = 0; i < 1000; i++)
		buf_printf(&s, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	buf_adds(&s, "\ninnermost\n");
	for (int i = 999; i >= 0; i--)
		buf_printf(&s, "--b%d--\n", i);
	mime_parse(s.p, s.len, &m);
	check_tree(&m);
	ck_assert_uint_le(m.nparts, MIME_DEPTH_MAX + 1);
	for (size_t i = 0; i < m.ndefects; i++)
		deep |= m.defects[i].code == MD_DEEP;
	ck_assert(deep);
	mime_free(&m);

	/* message/rfc822 nesting too */
	s.len = 0;
	for (int i = 0; i < 1000; i++)
		buf_adds(&s, "Content-Type: message/rfc822\n\n");
	buf_adds(&s, "\nbody\n");
	mime_parse(s.p, s.len, &m);
	check_tree(&m);
	ck_assert_uint_le(m.nparts, MIME_DEPTH_MAX + 1);
	mime_free(&m);
	buf_free(&s);
}
END_TEST

START_TEST(many_parts)
{
	struct buf s = { 0 };
	struct mime_msg m;

	buf_adds(&s, "Content-Type: multipart/mixed; boundary=b\n\n");
	for (int i = 0; i < MIME_PARTS_MAX + 500; i++)
		buf_adds(&s, "--b\n\nx\n");
	buf_adds(&s, "--b--\n");
	mime_parse(s.p, s.len, &m);
	check_tree(&m);
	ck_assert_uint_eq(m.nparts, MIME_PARTS_MAX);
	ck_assert_uint_gt(m.ndefects_total, 0);
	mime_free(&m);
	buf_free(&s);
}
END_TEST

/* Every truncation and many random mutations of a message keep the tree
 * consistent, and the IMAP writers and section lookups stay in bounds. */
START_TEST(prefixes_and_mutations)
{
	size_t n = strlen(nested);
	char *c = malloc(n + 1);
	static const char bytes[] = "-\n\r:;=\"\\ ab";

	for (size_t k = 0; k <= n; k++) {
		struct mime_msg m;
		struct buf b = { 0 };
		struct mime_range r;

		memcpy(c, nested, k);
		mime_parse(c, k, &m);
		check_tree(&m);
		mime_bodystructure(m.root, 1, &b);
		mime_envelope(m.root, &b);
		mime_section(m.root, "2.1", &r);
		buf_free(&b);
		mime_free(&m);
	}
	srand(11);
	for (int t = 0; t < 3000; t++) {
		struct mime_msg m;
		struct buf b = { 0 };

		memcpy(c, nested, n);
		for (int j = 0; j < 1 + t % 5; j++)
			c[rand() % (int)n] = bytes[rand() % (int)(sizeof bytes - 1)];
		mime_parse(c, n, &m);
		check_tree(&m);
		mime_bodystructure(m.root, 1, &b);
		buf_free(&b);
		mime_free(&m);
	}
	free(c);
}
END_TEST

START_TEST(from_line_and_empty)
{
	const char *s = "From sender@x Mon Nov 23 10:00:00 2026\nSubject: s\n\nb\n";
	struct mime_msg m;

	mime_parse(s, strlen(s), &m);
	ck_assert_uint_eq(m.root->off, 39);
	ck_assert_uint_eq(m.root->line, 2);
	mime_free(&m);
	mime_parse("From : obs@x\n\nb\n", 15, &m);           /* a field, not an mbox line */
	ck_assert_uint_eq(m.root->off, 0);
	ck_assert_uint_eq(m.root->body_off, 14);
	mime_free(&m);
	mime_parse("", 0, &m);
	check_tree(&m);
	ck_assert_uint_eq(m.nparts, 1);
	mime_free(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mime");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, structure);
	tcase_add_test(tc, boundaries);
	tcase_add_test(tc, missing_close);
	tcase_add_test(tc, no_parts);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, fields);
	tcase_add_test(tc, rfc2231);
	tcase_add_test(tc, rfc2047_words);
	tcase_add_test(tc, decode_blocks);
	tcase_add_test(tc, decode_qp_and_bad);
	tcase_add_test(tc, decode_base64_pad_and_uu);
	tcase_add_test(tc, sections);
	tcase_add_test(tc, single_part_sections);
	tcase_add_test(tc, bodystructure);
	tcase_add_test(tc, nstrings);
	tcase_add_test(tc, wire);
	tcase_add_test(tc, deep_nesting);
	tcase_add_test(tc, many_parts);
	tcase_add_test(tc, prefixes_and_mutations);
	tcase_add_test(tc, from_line_and_empty);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
