/* fuzz_pop3 — libFuzzer harness for whole POP3 sessions (pop3d/session.c):
 * the input is everything a client sends, read by pop3d's command loop
 * from the greeting to QUIT or the end of the input, with a passwd-file
 * (alice, password "secret", APOP too) and a small Maildir of three
 * messages made again before every input (a QUIT after DELE removes
 * files).  Any command reachable before and after login is reached, with
 * RETR, TOP, DELE, RSET, UIDL, LIST and QUIT's update on real files.
 *
 * The session runs in-process as with privilege separation off
 * (login_session with no helper), reading the input from a memfd and
 * writing to another, so each input is bounded by its own length (at most
 * POP3_CMDS_MAX commands, no wait: EOF ends it).  session.c is included
 * whole (its session functions are static), with sleep() made a no-op so a
 * failed login does not stall the fuzzer; a fuzz-only trick.
 * Asserted: the output starts with the "+OK" greeting, every line of it
 * ends in CRLF (no bare LF: the message bodies are converted) and fits
 * 512 octets (RFC 2449 4), and it is not larger than the input could ask
 * for.
 * FUZZ_EXTRA: pop3d/maildrop.c */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned fuzz_sleep(unsigned secs)
{
	(void)secs;
	return 0;
}
#define sleep(s) fuzz_sleep(s)

#include "../../pop3d/session.c"
#include "home.h"

const char *const progname = "fuzz_pop3";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

static char dir[64], users[96], tmpl[128];

static void put(const char *sub, const char *name, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof p, "%s/Maildir/%s/%s", dir, sub, name);
	if ((f = fopen(p, "w")) == NULL || fputs(text, f) == EOF || fclose(f) != 0)
		abort();
}

static void setup(void)
{
	char p[256];

	fuzz_home("fuzz_pop3", (unsigned)getuid(), (unsigned)getgid(), dir, sizeof dir, users,
	    sizeof users, tmpl, sizeof tmpl);
	snprintf(p, sizeof p, "%s/Maildir", dir);
	mkdir(p, 0700);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/Maildir/%s", dir, i == 0 ? "cur" : i == 1 ? "new" : "tmp");
		mkdir(p, 0700);
	}
}

/* The three messages, whatever the last session did to them. */
static void refill(void)
{
	char p[256];
	DIR *d;
	struct dirent *e;

	for (int i = 0; i < 2; i++) {
		const char *sub = i ? "new" : "cur";

		snprintf(p, sizeof p, "%s/Maildir/%s", dir, sub);
		if ((d = opendir(p)) == NULL)
			abort();
		while ((e = readdir(d)) != NULL) {
			char f[512];

			if (e->d_name[0] == '.')
				continue;
			snprintf(f, sizeof f, "%s/%s", p, e->d_name);
			unlink(f);
		}
		closedir(d);
	}
	put("cur", "1733480000.M1P1.mx,S=60:2,S",
	    "From: bob@example.org\nSubject: one\n\nHello.\n.dot line\n");
	put("cur", "1733480100.M2P2.mx:2,",
	    "From: carol@example.org\nSubject: two\n\nLine 1\nLine 2\nLine 3\n\n.\n..\nend");
	put("new", "1733480200.M3P3.mx",
	    "Subject: three\n\n");
}

static void check_output(const char *o, size_t n)
{
	size_t i = 0;

	CHECK(n >= 5 && strncmp(o, "+OK ", 4) == 0);
	while (i < n) {
		const char *lf = memchr(o + i, '\n', n - i);
		size_t len;

		CHECK(lf != NULL);                      /* every line ends */
		len = (size_t)(lf - (o + i));
		CHECK(len >= 1 && o[i + len - 1] == '\r');
		/* the messages' lines are short: a longer line is a reply
		 * past RFC 2449's 512 octets */
		CHECK(len + 1 <= POP3_REPLY_MAX);
		i += len + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int in = -1, out = -1;
	static struct pop3d_cfg cfg;
	static struct peer peer;
	struct session_arg sa = { &cfg, &peer };
	struct stat st;
	char *o;

	if (in < 0) {
		setup();
		if ((in = memfd_create("fuzz_pop3_in", 0)) < 0 || (out = memfd_create("fuzz_pop3_out", 0)) < 0)
			abort();
		cfg.hostname = "pop.example.org";
		cfg.users = users;
		cfg.mailbox = tmpl;
		cfg.plaintext_auth = PLAIN_ALWAYS;
		peer.loopback = 1;
		cfg.idle_secs = 30;
	}
	refill();
	if (ftruncate(in, 0) < 0 || ftruncate(out, 0) < 0 || pwrite(in, data, size, 0) != (ssize_t)size ||
	    lseek(in, 0, SEEK_SET) != 0 || lseek(out, 0, SEEK_SET) != 0)
		abort();
	(void)login_session(in, out, NULL, &sa);
	if (fstat(out, &st) < 0)
		abort();
	/* a few KB per command at most: the messages are small */
	CHECK((size_t)st.st_size <= 512 + (size + 1) * 2048);
	o = xmalloc((size_t)st.st_size + 1);
	if (pread(out, o, (size_t)st.st_size, 0) != st.st_size)
		abort();
	check_output(o, (size_t)st.st_size);
	free(o);
	return 0;
}
