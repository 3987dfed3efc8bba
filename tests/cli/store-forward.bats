#!/usr/bin/env bats
# Issue 15, items 4 and 5: per-recipient store and forward for local
# delivery, and local bounces.  With --queue, an SMTP transaction where one
# local recipient's delivery fails temporarily gets 250 once the message is
# on disk; that recipient alone is queued ("local" in the envelope) and the
# queue runner hands it back to smtpd --lmtp; the others get one copy,
# never two.  A report to a sender in smtpd's local domains is delivered
# by smtpd, never routed by MX.  Clients: Python's smtplib and swaks.

load helpers
load smtpd-common

setup() {
	smtpd_setup
	mkdir -p q home/alice/Maildir/tmp home/alice/Maildir/new home/alice/Maildir/cur
	chmod 777 q
	fix_perms "$IDS"
	ANEW=$W/home/alice/Maildir/new
	# "temporarily unwritable": the delivery gets EACCES, a temporary failure
	chmod 0 home/alice/Maildir
	cat > client.py <<-'EOF2'
	import smtplib, sys
	port = int(sys.argv[1])
	msg = "From: x@sender.example\r\nTo: bob@example.org, alice@example.net\r\nSubject: sf\r\n\r\nstore and forward\r\n"
	with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
	    try:
	        refused = s.sendmail("x@sender.example", ["bob@example.org", "alice@example.net"], msg)
	        print("sent", sorted(refused))
	    except smtplib.SMTPDataError as e:
	        print("data error", e.smtp_code)
	EOF2
}

teardown() {
	stop_all
	if [ -n "${SYSUSERS:-}" ]; then
		for u in $SYSUSERS; do userdel "$u" 2>/dev/null || true; done
	fi
	no_sanitizer_report "$W/smtpd.log"
}

@test "--queue: one local recipient fails temporarily: 250 for smtplib, one copy each, the other at the next queue run" {
	start_smtpd --queue "$W/q"
	run "$PY" client.py "$PORT"
	assert_output "sent []"
	[ "$(nmsg "$NEW")" = 1 ]
	[ "$(nmsg "$ANEW")" = 0 ]
	# the envelope holds alice alone, marked local, with smtpd's settings
	[ "$(nmsg q/env)" = 1 ]
	run cat q/env/*
	assert_line --regexp "^rcpt <alice@example.net> pending 451 4\.2\.0 "
	assert_line "local"
	assert_line "local-arg example.org,example.net"
	refute_line --partial "bob@"
	# no runner was started for it (it would only fail again now): a
	# plain queue run does the retry
	run smtp-send --queue "$W/q"
	assert_success
	[ "$(nmsg q/env)" = 1 ]
	run grep -c "^attempts 1" q/env/*
	assert_output 1
	chmod 700 home/alice/Maildir
	run smtp-send --queue "$W/q" --retry-now
	assert_success
	[ "$(nmsg "$ANEW")" = 1 ]
	[ "$(nmsg "$NEW")" = 1 ]
	[ "$(nmsg q/env)" = 0 ]
	[ "$(nmsg q/msg)" = 0 ]
	grep -q "^Subject: sf" "$ANEW"/*
	grep -q "^Delivered-To: alice@example.net" "$ANEW"/*
	# another run delivers nothing more
	run smtp-send --queue "$W/q" --retry-now
	[ "$(nmsg "$ANEW")" = 1 ]
	[ "$(nmsg "$NEW")" = 1 ]
}

@test "--queue: the retry is due at once: fixed, a plain queue run (cron's) delivers it (swaks as the client)" {
	start_smtpd --queue "$W/q"
	run swaks --server 127.0.0.1 --port "$PORT" --from x@sender.example \
		--to bob@example.org,alice@example.net --header "Subject: sw" --body "swaks body"
	assert_success
	assert_line --regexp "^<- +250 2\.0\.0 Ok: 2 recipients"
	[ "$(nmsg "$NEW")" = 1 ]
	chmod 700 home/alice/Maildir
	run smtp-send --queue "$W/q"
	assert_success
	[ "$(nmsg "$ANEW")" = 1 ]
	[ "$(nmsg "$NEW")" = 1 ]
	[ "$(nmsg q/env)" = 0 ]
}

@test "without --queue: 451 for the whole message (DEVIATIONS.md); with --lmtp: 451 for that recipient alone, nothing queued" {
	start_smtpd
	run "$PY" client.py "$PORT"
	assert_output "data error 451"
	[ "$(nmsg "$NEW")" = 1 ]
	[ "$(nmsg "$ANEW")" = 0 ]
	run sm --lmtp --queue "$W/q" <<< "$(printf "LHLO c\r\nMAIL FROM:<x@sender.example>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<alice@example.net>\r\nDATA\r\nSubject: l\r\n\r\nx\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2\.0\.0 <bob@example.org> Ok: delivered"
	assert_line --regexp "^451 4\.2\.0 <alice@example.net>: temporary delivery failure"
	[ "$(nmsg q/env)" = 0 ]
}

@test "hostile: a queue whose env/ others may write gets no local delivery (its local-args could name any --mda)" {
	start_smtpd --queue "$W/q"
	run "$PY" client.py "$PORT"
	assert_output "sent []"
	chmod 700 home/alice/Maildir
	chmod 777 q/env
	run smtp-send --queue "$W/q"
	assert_output --partial "writable by others: no local delivery"
	[ "$(nmsg "$ANEW")" = 0 ]
	[ "$(nmsg q/env)" = 1 ]
}

@test "local bounce: a failure report to a sender in a local domain (no MX) is delivered by smtpd, not routed" {
	local pb
	pb=$(free_port)
	# the next hop: knows nobody at [127.0.0.1], so carol gets 550 at RCPT
	printf 'dave:{PLAIN}x:%s::%s::\n' "$IDS" "$W/home/bob" > users2
	start_bg smtpd -l "127.0.0.1:$pb" --hostname peer.example --domains '[127.0.0.1]' \
		--users "$W/users2" 2>"$W/peer.log"
	wait_port "$pb"
	PLAIN=$(printf '\0bob\0secret' | base64)
	run sm --queue "$W/q" --smtp-send /bin/true <<< "$(printf "EHLO c\r\nAUTH PLAIN $PLAIN\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<carol@[127.0.0.1]>\r\nDATA\r\nSubject: to carol\r\n\r\nx\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2\.0\.0 Ok: queued as"
	# a DNS server that does not answer: any MX lookup would fail
	run smtp-send --queue "$W/q" --port "$pb" --dns 127.0.0.1:9 --timeout 5
	assert_success
	[ "$(nmsg q/env)" = 0 ]
	[ "$(nmsg "$NEW")" = 1 ]
	run "$PY" -c '
import email, sys, glob
m = email.message_from_binary_file(open(glob.glob(sys.argv[1] + "/*")[0], "rb"))
print(m["Return-Path"], m.get_content_type(), m.get_param("report-type"))
for part in m.walk():
    if part.get_content_type() == "message/delivery-status":
        for f in part.get_payload()[1:]:
            print(f["Final-Recipient"], f["Action"], f["Status"])' "$NEW"
	assert_line --index 0 "<> multipart/report delivery-status"
	assert_line --index 1 "rfc822; carol@[127.0.0.1] failed 5.1.1"
}

@test "as root (system accounts, or a passwd-file of root's): the queue run hands back to smtpd as root, which delivers as the user; else as the queue owner" {
	[ "$(id -u)" = 0 ] || skip "needs root (useradd, delivery as another user)"
	local a=mlsf$$a b=mlsf$$b
	SYSUSERS="$a $b"
	useradd -M -d "$W/sys/$a" -s /usr/sbin/nologin "$a"
	useradd -M -d "$W/sys/$b" -s /usr/sbin/nologin "$b"
	mkdir -p "$W/sys/$a" "$W/sys/$b/Maildir/tmp" "$W/sys/$b/Maildir/new" "$W/sys/$b/Maildir/cur"
	chown -R "$a:" "$W/sys/$a"
	chown -R "$b:" "$W/sys/$b"
	chmod 755 "$W/sys"
	chmod 0 "$W/sys/$b/Maildir"
	run smtpd --hostname mx.example.org --domains example.org --queue "$W/sq" --smtp-send '' \
		<<< "$(printf "EHLO c\r\nMAIL FROM:<x@sender.example>\r\nRCPT TO:<$a@example.org>\r\nRCPT TO:<$b@example.org>\r\nDATA\r\nSubject: sys\r\n\r\nx\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2\.0\.0 Ok: 2 recipients"
	[ "$(nmsg "$W/sys/$a/Maildir/new")" = 1 ]
	# the queue belongs to mail, smtpd's --user: only safe options recorded
	[ "$(stat -c %U "$W/sq/env")" = mail ]
	chmod 700 "$W/sys/$b/Maildir"
	run smtp-send --queue "$W/sq"
	assert_success
	[ "$(nmsg "$W/sys/$b/Maildir/new")" = 1 ]
	[ "$(stat -c %U "$W/sys/$b/Maildir/new/"*)" = "$b" ]
	[ "$(nmsg "$W/sys/$a/Maildir/new")" = 1 ]
	[ "$(nmsg "$W/sq/env")" = 0 ]
	# with an option that could say where mail goes (--mailbox), the
	# envelope's writer does not get root's rights: smtpd runs as mail
	chmod 0 "$W/sys/$b/Maildir"
	run smtpd --hostname mx.example.org --domains example.org --queue "$W/sq" --smtp-send '' \
		--mailbox 'maildir:%h/Maildir' <<< "$(printf "EHLO c\r\nMAIL FROM:<x@sender.example>\r\nRCPT TO:<$b@example.org>\r\nDATA\r\nSubject: sys2\r\n\r\nx\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2\.0\.0 <$b@example.org> Ok: queued as "
	chmod 700 "$W/sys/$b/Maildir"
	run smtp-send --queue "$W/sq" -v
	assert_output --partial "deferred"
	[ "$(nmsg "$W/sys/$b/Maildir/new")" = 1 ]
	[ "$(nmsg "$W/sq/env")" = 1 ]
	rm -f "$W/sq"/env/* "$W/sq"/msg/*
	# a passwd-file that is root's alone is safe: delivered as b
	printf '%s:x:%s:%s::%s::\n' "$b" "$(id -u "$b")" "$(id -g "$b")" "$W/sys/$b" > "$W/sysusers"
	chmod 644 "$W/sysusers"
	chmod 0 "$W/sys/$b/Maildir"
	run smtpd --hostname mx.example.org --domains example.org --queue "$W/sq" --smtp-send '' \
		--users "$W/sysusers" <<< "$(printf "EHLO c\r\nMAIL FROM:<x@sender.example>\r\nRCPT TO:<$b@example.org>\r\nDATA\r\nSubject: sys3\r\n\r\nx\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2\.0\.0 <$b@example.org> Ok: queued as "
	chmod 700 "$W/sys/$b/Maildir"
	run smtp-send --queue "$W/sq"
	[ "$(nmsg "$W/sys/$b/Maildir/new")" = 2 ]
	[ "$(nmsg "$W/sq/env")" = 0 ]
	# the same file, mail's: its writer could name anyone; smtpd runs as mail
	chown mail "$W/sysusers"
	chmod 0 "$W/sys/$b/Maildir"
	run smtpd --hostname mx.example.org --domains example.org --queue "$W/sq" --smtp-send '' \
		--users "$W/sysusers" <<< "$(printf "EHLO c\r\nMAIL FROM:<x@sender.example>\r\nRCPT TO:<$b@example.org>\r\nDATA\r\nSubject: sys4\r\n\r\nx\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2\.0\.0 <$b@example.org> Ok: queued as "
	chmod 700 "$W/sys/$b/Maildir"
	run smtp-send --queue "$W/sq"
	[ "$(nmsg "$W/sys/$b/Maildir/new")" = 2 ]
	[ "$(nmsg "$W/sq/env")" = 1 ]
}
