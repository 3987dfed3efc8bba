/* fuzz_imapsession — libFuzzer harness for whole imapd sessions
 * (imapd/session.c, included whole; the rest of imapd linked): the input
 * is everything a client sends, read by imapd's command loop from the
 * greeting to LOGOUT or the end of the input, so what runs after the
 * parser is reached: the command table and every command behind it
 * (SELECT/EXAMINE with CONDSTORE and QRESYNC, FETCH with partials and
 * BINARY, SEARCH/ESEARCH with dates, SORT, THREAD, STORE, COPY, MOVE,
 * EXPUNGE and their UID forms, APPEND with a date-time, literals and
 * CATENATE, CREATE, RENAME, DELETE, LIST, LSUB, STATUS, ENABLE, ID,
 * NAMESPACE, quotas, NOTIFY, IDLE, GENURLAUTH/URLFETCH/RESETKEY, COMPRESS,
 * AUTHENTICATE and LOGIN).
 *
 * The first input byte picks options; the rest is the client's bytes.
 *   bit 0: the session starts with "a LOGIN alice secret" (most inputs then
 *          reach the authenticated state at once; without it the fuzzer
 *          must log in itself, or not);
 *   bit 1: and with "b SELECT INBOX" (the selected state);
 *   bit 2: the harness sends "z COMPRESS DEFLATE" after those and deflates
 *          the rest of the input itself, as a client would (RFC 4978); the
 *          output after "z OK" is inflated again before it is checked.
 * These are bytes put before the client's, not a hook: the session is the
 * product's own.
 *
 * A passwd-file (alice, password "secret") and a Maildir++ (INBOX with a
 * plain message, a multipart one with an attachment and RFC 2047 headers,
 * a threaded reply, one in new/, flags and a keyword; a subfolder Work with
 * one message; a subscription; UIDVALIDITY 4000000000 for INBOX and
 * 4000000100 for Work, so that SELECT … (QRESYNC …) and an URL's
 * ;UIDVALIDITY= can match; a fixed URLAUTH key for INBOX, so that an input
 * can carry a valid token) are made again before every input in a
 * private temporary directory, and everything a session created (folders,
 * appended messages, URLAUTH keys) is removed.
 *
 * The session runs in-process as with privilege separation off
 * (login_session with no helper), reading the input from a memfd and
 * writing to another, so it is bounded by the input (EOF ends it; IDLE
 * polls a memfd, which is always readable, and then reads the EOF).
 * Fuzz-only tricks, both in this file: sleep() is a no-op (a failed login
 * waits) and server_become() too (the fuzzer runs as root and alice has the
 * fuzzer's ids; imapd refuses uid 0, and switching ids would change the
 * fuzzer's own).
 *
 * Asserted: the output starts with the "* OK" greeting; every line ends in
 * CRLF, literals "{n}" counted and skipped (their bytes may be anything);
 * every line is untagged "* ", a continuation "+ ", or a tagged reply
 * "tag OK|NO|BAD" for a tag that starts a line of the input; no stretch of
 * a line outside literals is longer than the input could ask for; the
 * whole output is bounded by input size times mailbox size. After a
 * "* BYE" at most one tagged reply follows (RFC 3501 7.1.5).  After the
 * session, every folder is consistent: tmp/ empty, every name in cur/ has
 * its ":2," flags in strict ASCII order, and the maillab-uidlist has its
 * header and ascending UIDs below its UIDNEXT.
 * FUZZ_EXTRA: imapd/context.c imapd/fetch.c imapd/folders.c imapd/hcache.c imapd/notify.c imapd/parse.c imapd/quota.c imapd/search.c imapd/sort.c imapd/store.c imapd/urlauth.c */

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static unsigned fuzz_sleep(unsigned secs)
{
	(void)secs;
	return 0;
}
#define sleep(s) fuzz_sleep(s)
#define server_become(u, g) fuzz_become(u, g)

#include "../../imapd/session.c"
#include "home.h"

#undef server_become
int fuzz_become(uid_t uid, gid_t gid)
{
	(void)uid;
	(void)gid;
	return 0;
}

const char *const progname = "fuzz_imapsession";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

#define OPT_LOGIN    1
#define OPT_SELECT   2
#define OPT_COMPRESS 4

static char dir[64], users[96], tmpl[128], md[128];
static size_t mailbox_bytes;

static void put(const char *sub, const char *name, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s/%s", md, sub, name);
	if ((f = fopen(p, "w")) == NULL || fputs(text, f) == EOF || fclose(f) != 0)
		abort();
	mailbox_bytes += strlen(text);
}

static void mk(const char *sub)
{
	char p[512];

	snprintf(p, sizeof p, "%s%s%s", md, *sub ? "/" : "", sub);
	if (mkdir(p, 0700) < 0)
		abort();
}

static void setup(void)
{
	fuzz_home("fuzz_imapsession", (unsigned)getuid(), (unsigned)getgid(), dir, sizeof dir, users,
	    sizeof users, tmpl, sizeof tmpl);
	snprintf(md, sizeof md, "%s/Maildir", dir);
}

/* The Maildir, whatever the last session did to it. */
static void refill(void)
{
	(void)nftw(md, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	mailbox_bytes = 0;
	mk("");
	mk("cur"), mk("new"), mk("tmp");
	mk(".Work"), mk(".Work/cur"), mk(".Work/new"), mk(".Work/tmp");
	/* UIDVALIDITY from these rather than the clock (imapd takes the
	 * larger), so that an input can name the right one: INBOX 4000000000,
	 * Work 4000000100, a folder the session creates 4000000001 and on */
	put("", STORE_UIDVALIDITY, "3999999999\n");
	put(".Work", STORE_UIDVALIDITY, "4000000099\n");
	/* and INBOX's URLAUTH key (bytes 0..31), so that an input can hold a
	 * token URLFETCH verifies (imapd/urlauth.c's file format) */
	put("", "maillab-urlauth-keys",
	    "4000000000 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f INBOX\n");
	put("", "subscriptions", "INBOX\nWork\n");
	put("", "dovecot-keywords", "0 $Important\n");
	put("cur", "1733480000.M1P1.mx,S=120:2,S",
	    "From: Bob <bob@example.org>\nTo: alice@example.org\n"
	    "Subject: =?UTF-8?Q?R=C3=A9union?= lundi\nDate: Fri, 06 Dec 2024 10:00:00 +0100\n"
	    "Message-ID: <one@example.org>\n\nBonjour,\n\nla r\xc3\xa9union est lundi.\n");
	put("cur", "1733480100.M2P2.mx:2,FSa",
	    "From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>\nTo: alice@example.org\n"
	    "Cc: carol@example.net\nSubject: =?UTF-8?B?UGnDqGNlIGpvaW50ZQ==?=\n"
	    "Date: Sat, 07 Dec 2024 09:30:00 +0000\nMessage-ID: <two@example.org>\n"
	    "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n"
	    "preamble\n--XX\nContent-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n\nVoici le fichier =C3=A0 lire.=\n\nFin.\n"
	    "--XX\nContent-Type: application/pdf; name=\"=?UTF-8?Q?r=C3=A9sum=C3=A9.pdf?=\"\n"
	    "Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\n"
	    "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoK\n"
	    "--XX\nContent-Type: message/rfc822\n\nFrom: x@example.com\nSubject: inner\n\nInner body.\n"
	    "--XX--\nepilogue\n");
	put("cur", "1733480200.M3P3.mx:2,",
	    "From: carol@example.net\nTo: bob@example.org\nSubject: Re: =?UTF-8?Q?R=C3=A9union?= lundi\n"
	    "Date: Sun, 08 Dec 2024 23:59:59 -0800\nMessage-ID: <three@example.net>\n"
	    "In-Reply-To: <one@example.org>\nReferences: <one@example.org>\n\n> Bonjour\nOui.\n");
	put("new", "1733480300.M4P4.mx",
	    "From: dave@example.com\nSubject: nouveau\nDate: Mon, 09 Dec 2024 08:00:00 +0000\n"
	    "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
	    "Caf\xe9.\n.\n..\n");
	put(".Work/cur", "1733480400.M5P5.mx:2,RS",
	    "From: boss@example.com\nSubject: rapport\n\nLe rapport.\n");
}

/* ---- the output ---- */

static int tag_sent(const char *in, size_t n, const char *tag, size_t len)
{
	/* the tag is the line's first word (a line of a tag alone gets a BAD) */
	for (size_t i = 0; i + len <= n; i++)
		if ((i == 0 || in[i - 1] == '\n') && memcmp(in + i, tag, len) == 0 &&
		    (i + len == n || strchr(" \r\n", in[i + len]) != NULL))
			return 1;
	return 0;
}

/* The lines from o, each CRLF-ended, literals skipped; lines tagged with a
 * tag the input in (what the session read) sent. */
static void check_lines(const char *o, size_t n, const char *in, size_t nin, size_t seg_max)
{
	size_t i = 0;
	int bye = 0;

	while (i < n) {
		size_t start = i, seg = i;

		/* after BYE the server closes: at most the tagged reply of the
		 * command that ended it follows (RFC 3501 7.1.5) */
		CHECK(bye < 2);

		for (;;) {
			const char *lf = memchr(o + i, '\n', n - i);
			size_t len;
			unsigned long long lit;
			const char *b;

			CHECK(lf != NULL);
			len = (size_t)(lf - (o + i));
			CHECK(len >= 1 && o[i + len - 1] == '\r');
			CHECK((size_t)(lf - (o + seg)) <= seg_max);
			/* a literal: "{n}" CRLF and n bytes, then the line goes on */
			if (len >= 3 && o[i + len - 2] == '}' && (b = memrchr(o + i, '{', len)) != NULL &&
			    sscanf(b, "{%llu}\r", &lit) == 1 && b + 1 + strspn(b + 1, "0123456789") == o + i + len - 2) {
				i += len + 1;
				CHECK(lit <= n - i);
				i += (size_t)lit;
				seg = i;
				continue;
			}
			i += len + 1;
			break;
		}
		const char *l = o + start;
		if (bye)
			bye++;
		if (l[0] == '*' || l[0] == '+') {
			CHECK(l[1] == ' ');
			CHECK(bye == 0);
			if (strncmp(l, "* BYE ", 6) == 0)
				bye = 1;
			continue;
		}
		const char *sp = memchr(l, ' ', i - start);
		CHECK(sp != NULL && sp > l);
		CHECK(tag_sent(in, nin, l, (size_t)(sp - l)));
		CHECK(strncmp(sp, " OK", 3) == 0 || strncmp(sp, " NO", 3) == 0 || strncmp(sp, " BAD", 4) == 0);
	}
}

/* ---- the Maildir afterwards ---- */

static void check_folder(const char *path)
{
	char p[PATH_MAX];
	DIR *d;
	struct dirent *e;
	FILE *f;

	snprintf(p, sizeof p, "%s/tmp", path);
	if ((d = opendir(p)) != NULL) {
		while ((e = readdir(d)) != NULL)
			CHECK(e->d_name[0] == '.');     /* no file left half-written */
		closedir(d);
	}
	snprintf(p, sizeof p, "%s/cur", path);
	if ((d = opendir(p)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			const char *c;

			if (e->d_name[0] == '.')
				continue;
			c = strstr(e->d_name, ":2,");
			CHECK(c != NULL && c > e->d_name && strchr(c + 3, ':') == NULL);
			for (c += 3; *c; c++)
				CHECK(c[1] == '\0' || (unsigned char)c[0] < (unsigned char)c[1]);
		}
		closedir(d);
	}
	snprintf(p, sizeof p, "%s/%s", path, STORE_UIDLIST);
	if ((f = fopen(p, "r")) != NULL) {
		char *line = NULL;
		size_t cap = 0;
		unsigned v, next;
		unsigned long last = 0;

		CHECK(getline(&line, &cap, f) > 0 && strncmp(line, "maillab-uidlist 1", 17) == 0);
		CHECK(getline(&line, &cap, f) > 0 && sscanf(line, "V%u N%u", &v, &next) == 2);
		CHECK(v != 0 && next != 0);
		while (getline(&line, &cap, f) > 0) {
			char *end;
			unsigned long uid;

			if (line[0] == '-')
				continue;
			uid = strtoul(line, &end, 10);
			CHECK(end != line && uid > last && uid < next);
			CHECK(strstr(end, " :") != NULL);
			last = uid;
		}
		free(line);
		fclose(f);
	}
}

static void check_maildir(void)
{
	DIR *d;
	struct dirent *e;

	check_folder(md);
	if ((d = opendir(md)) == NULL)
		return;         /* a session may not have had one */
	while ((e = readdir(d)) != NULL) {
		char p[PATH_MAX];
		struct stat st;

		if (e->d_name[0] != '.' || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", md, e->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && strncmp(e->d_name, "..", 2) != 0)
			check_folder(p);
	}
	closedir(d);
}

/* ---- COMPRESS: the client's side of RFC 4978 ---- */

static void deflate_into(const uint8_t *p, size_t n, struct buf *out)
{
	z_stream z = { 0 };
	unsigned char chunk[16384];
	int rc;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_in = (unsigned char *)(uintptr_t)p;
	z.avail_in = (uInt)n;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof chunk;
		rc = deflate(&z, Z_SYNC_FLUSH);
		buf_add(out, (char *)chunk, sizeof chunk - z.avail_out);
	} while (rc == Z_OK && z.avail_out == 0);
	deflateEnd(&z);
}

/* The server's compressed bytes back to text; what cannot be inflated is
 * a failure (the server deflates all it sends). */
static void inflate_into(const char *p, size_t n, struct buf *out)
{
	z_stream z = { 0 };
	unsigned char chunk[16384];
	int rc = Z_OK;

	if (inflateInit2(&z, -15) != Z_OK)
		abort();
	z.next_in = (unsigned char *)(uintptr_t)p;
	z.avail_in = (uInt)n;
	while (z.avail_in > 0 || rc == Z_OK) {
		z.next_out = chunk;
		z.avail_out = sizeof chunk;
		rc = inflate(&z, Z_SYNC_FLUSH);
		CHECK(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR);
		buf_add(out, (char *)chunk, sizeof chunk - z.avail_out);
		if (rc != Z_OK || (z.avail_in == 0 && z.avail_out != 0))
			break;
	}
	inflateEnd(&z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int in = -1, out = -1;
	static struct imapd_opts cfg;
	static struct peer peer;
	struct buf input = { 0 }, text = { 0 };
	struct session_arg sa = { &cfg, &peer };
	unsigned opt;
	struct stat st;
	char *o;
	size_t n, z = 0;

	if (size == 0)
		return 0;
	if (in < 0) {
		setup();
		if ((in = memfd_create("fuzz_imapsession_in", 0)) < 0 ||
		    (out = memfd_create("fuzz_imapsession_out", 0)) < 0)
			abort();
		cfg.hostname = "imap.example.org";
		cfg.users = users;
		cfg.mailbox = tmpl;
		cfg.plaintext_auth = PLAIN_ALWAYS;
		cfg.header_cache = 1024 * 1024;
		/* a quota, as a deployment has: a folder copied into itself doubles
		 * at each COPY (RFC 3501 allows it), and only a quota bounds that
		 * (fifteen doublings of the Maildir took longer than libFuzzer's
		 * 20 s; imapd answers NO [OVERQUOTA] past the limit) */
		cfg.quota.max_count = 5000;
		cfg.submit_user = "submit";
		peer.loopback = 1;
	}
	opt = data[0];
	data++, size--;
	/* what the client sends, in clear (the tags) and on the wire */
	if (opt & (OPT_LOGIN | OPT_SELECT))
		buf_adds(&text, "a LOGIN alice secret\r\n");
	if (opt & OPT_SELECT)
		buf_adds(&text, "b SELECT INBOX\r\n");
	if (opt & OPT_COMPRESS) {
		if (!(opt & (OPT_LOGIN | OPT_SELECT)))
			buf_adds(&text, "a LOGIN alice secret\r\n");
		buf_adds(&text, "z COMPRESS DEFLATE\r\n");
		buf_add(&input, text.p, text.len);
		deflate_into(data, size, &input);
	} else {
		buf_add(&input, text.p, text.len);
		buf_add(&input, (const char *)data, size);
	}
	buf_add(&text, (const char *)data, size);

	refill();
	if (ftruncate(in, 0) < 0 || ftruncate(out, 0) < 0 ||
	    pwrite(in, input.p, input.len, 0) != (ssize_t)input.len ||
	    lseek(in, 0, SEEK_SET) != 0 || lseek(out, 0, SEEK_SET) != 0)
		abort();
	(void)login_session(in, out, NULL, &sa);
	if (fstat(out, &st) < 0)
		abort();
	n = (size_t)st.st_size;
	o = xmalloc(n + 1);
	if (pread(out, o, n, 0) != (ssize_t)n)
		abort();
	o[n] = '\0';
	CHECK(n >= 5 && strncmp(o, "* OK ", 5) == 0);
	if (getenv("FUZZ_IMAPSESSION_SHOW") != NULL)    /* to see a finding's session */
		fwrite(o, 1, n, stderr);
	if (opt & OPT_COMPRESS) {
		const char *ok = memmem(o, n, "\r\nz OK ", 7);

		if (ok != NULL && (ok = memchr(ok + 2, '\n', n - (size_t)(ok + 2 - o))) != NULL) {
			struct buf plain = { 0 };

			z = (size_t)(ok + 1 - o);
			buf_add(&plain, o, z);
			inflate_into(o + z, n - z, &plain);
			free(o);
			n = plain.len;
			o = plain.p;
			if (getenv("FUZZ_IMAPSESSION_SHOW") != NULL)
				fwrite(o, 1, n, stderr);
		}
	}
	/* Each command's answer is its own text (bounded by the command) and
	 * at most the mailbox once per byte of the command (FETCH 1:* BODY[]
	 * repeated); APPEND and CATENATE can grow the mailbox by the input. */
	CHECK(n <= 4096 + (text.len + 1) * (mailbox_bytes + 2 * text.len + 4096) * 4);
	check_lines(o, n, text.p, text.len, 8192 + 64 * text.len);
	check_maildir();
	free(o);
	buf_free(&input);
	buf_free(&text);
	return 0;
}
