#!/usr/bin/env bats
# smtpd's local delivery to a mailbox over its quota: RFC 3463's X.2.2
# "mailbox full" with RFC 5321's storage codes, 452 4.2.2 for now and
# 552 5.2.2 with --quota-bounce, per recipient in LMTP; in-process and
# through --mda maildeliver.  The quota is the recipient's own rule in the
# passwd-file (Dovecot's userdb_quota_rule).  Clients: Python's smtplib
# over loopback, and swaks.

load helpers
load smtpd-common

PORT_BASE=33900

setup() {
	smtpd_setup
	# bob may hold one message, alice has no limit
	sed -i 's|^bob:.*|&userdb_quota_rule=*:messages=1|' users
	export W
}

teardown() {
	stop_all || true
	no_sanitizer_report "$W/smtpd.log"
}

# Run Python with PORT and a function lmtp_or_smtp(); the script on stdin.
py() {
	cat > client.py <<-'EOF_'
	import os, smtplib
	PORT = int(os.environ["PORT"])
	MSG = b"From: a@example.net\r\nSubject: q\r\n\r\nhello\r\n"
	def count(user):
	    d = os.path.join(os.environ["W"], "home", user, "Maildir", "new")
	    return len(os.listdir(d)) if os.path.isdir(d) else 0
	def lmtp_data(s, rcpts):
	    """One LMTP transaction: the reply of each recipient after DATA."""
	    assert s.mail("a@example.net")[0] == 250
	    for r in rcpts:
	        assert s.rcpt(r)[0] == 250, r
	    assert s.docmd("DATA")[0] == 354
	    s.send(MSG + b".\r\n")
	    return [s.getreply() for _ in rcpts]
	EOF_
	cat client.py - > run.py
	PORT=$PORT run "$PY" run.py
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "smtpd-quota: SMTP to a full mailbox is 452 4.2.2, 552 5.2.2 with --quota-bounce (in-process)" {
	start_smtpd
	export PORT
	py <<-'EOF_'
	s = smtplib.SMTP("127.0.0.1", PORT)
	s.ehlo("client.example")
	s.sendmail("a@example.net", ["bob@example.org"], MSG)
	assert count("bob") == 1
	try:
	    s.sendmail("a@example.net", ["bob@example.org"], MSG)
	    raise AssertionError("accepted over quota")
	except smtplib.SMTPDataError as e:
	    assert e.smtp_code == 452, e
	    assert e.smtp_error.startswith(b"4.2.2 <bob@example.org>: mailbox full"), e
	assert count("bob") == 1
	# the others still get their mail
	s.sendmail("a@example.net", ["alice@example.net"], MSG)
	assert count("alice") == 1
	s.quit()
	EOF_
	stop_all || true
	start_smtpd --quota-bounce
	run swaks --server 127.0.0.1 --port "$PORT" --helo client.example \
		--from a@example.net --to bob@example.org --body x
	echo "$output"
	assert_line --regexp '^<\*\* +552 5\.2\.2 <bob@example.org>: mailbox full$'
	[ "$(nmsg "$NEW")" = 1 ]
}

@test "smtpd-quota: LMTP says mailbox full for that recipient only; --mda maildeliver the same" {
	start_smtpd --lmtp
	export PORT
	py <<-'EOF_'
	s = smtplib.LMTP("127.0.0.1", PORT)
	s.ehlo_or_helo_if_needed()
	r = lmtp_data(s, ["bob@example.org", "alice@example.net"])
	assert [c for c, t in r] == [250, 250], r
	r = lmtp_data(s, ["bob@example.org", "alice@example.net"])
	assert r[0][0] == 452 and r[0][1].startswith(b"4.2.2 <bob@example.org>: mailbox full"), r
	assert r[1][0] == 250, r
	assert count("bob") == 1 and count("alice") == 2
	s.quit()
	EOF_
	stop_all || true
	# an external MDA: maildeliver's exit 75 and its words make the same reply
	start_smtpd --lmtp --mda "$BIN/maildeliver"
	py <<-'EOF_'
	s = smtplib.LMTP("127.0.0.1", PORT)
	s.ehlo_or_helo_if_needed()
	r = lmtp_data(s, ["alice@example.net", "bob@example.org"])
	assert r[0][0] == 250 and r[1][0] == 452, r
	assert r[1][1].startswith(b"4.2.2 <bob@example.org>: mailbox full"), r
	s.quit()
	EOF_
	stop_all || true
	start_smtpd --lmtp --mda "$BIN/maildeliver" --quota-bounce
	py <<-'EOF_'
	s = smtplib.LMTP("127.0.0.1", PORT)
	s.ehlo_or_helo_if_needed()
	r = lmtp_data(s, ["bob@example.org", "alice@example.net"])
	assert r[0][0] == 552 and r[0][1].startswith(b"5.2.2 <bob@example.org>: mailbox full"), r
	assert r[1][0] == 250, r
	assert count("bob") == 1 and count("alice") == 4
	s.quit()
	EOF_
}
