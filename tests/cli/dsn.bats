#!/usr/bin/env bats
# DSN (RFC 3461, 3464): smtpd's NOTIFY, RET, ENVID and ORCPT, stored in the
# queue envelope; smtp-send passing them on, "relayed" and failure reports
# parsed with Python's email; a private Postfix as the peer on both sides.

load helpers
load smtpd-common

setup() {
	smtpd_setup
	mkdir -p q && chmod 777 q
	PLAIN=$(printf '\0bob\0secret' | base64)
}

teardown() {
	stop_all
	[ ! -f "$W/pf/main.cf" ] || postfix -c "$W/pf" stop >/dev/null 2>&1 || true
	no_sanitizer_report "$W/smtpd.log"
}

# postfix_dsn PFPORT SMTPDPORT: a private Postfix on 127.0.0.1:PFPORT (no
# chroot) that sends all mail to smtpd on SMTPDPORT.  Needs root.
postfix_dsn() {
	local pf=$W/pf p
	mkdir -p "$pf/queue" "$pf/data"
	p=$pf
	while [ "$p" != / ]; do chmod o+x "$p"; p=$(dirname "$p"); done
	chown postfix "$pf/data"
	cat > "$pf/main.cf" <<-EOF2
	compatibility_level = 3.6
	queue_directory = $pf/queue
	data_directory = $pf/data
	mail_owner = postfix
	setgid_group = postdrop
	myhostname = relay.test
	mydestination =
	inet_interfaces = loopback-only
	inet_protocols = ipv4
	mynetworks = 127.0.0.0/8
	smtpd_relay_restrictions = permit_mynetworks reject
	relayhost = [127.0.0.1]:$2
	alias_maps =
	alias_database =
	local_recipient_maps =
	biff = no
	maillog_file = $pf/maillog
	maillog_file_prefixes = $pf
	EOF2
	awk -v port="$1" '
		/^smtp +inet/ { print "127.0.0.1:" port " inet n - n - - smtpd"; next }
		/^[a-z0-9.:-]+ +(inet|unix|unix-dgram|fifo|pass) / && NF >= 8 { $5 = "n" }
		{ print }' /etc/postfix/master.cf > "$pf/master.cf"
	postfix -c "$pf" check >/dev/null 2>&1 || true
	postfix -c "$pf" start >"$pf/start.log" 2>&1 || { cat "$pf/start.log"; return 1; }
	wait_port "$1" 20
}

# exim_dsn EXIMPORT SMTPDPORT: a private Exim (the Debian binary unpacked by
# tests/deps.sh: exim4 conflicts with postfix) on 127.0.0.1:EXIMPORT that
# offers DSN, relays everything to smtpd on SMTPDPORT, and fails the
# addresses of remote.example itself (a bounce of its own).  Needs root.
EXIM=/opt/maillab/exim4/usr/sbin/exim4
exim_dsn() {
	local ex=$W/ex
	mkdir -p "$ex/spool" "$ex/log"
	chown Debian-exim: "$ex/spool" "$ex/log"
	cat > "$ex/exim.conf" <<-EOF2
	exim_path = $EXIM
	spool_directory = $ex/spool
	log_file_path = $ex/log/%slog
	primary_hostname = exim.test
	local_interfaces = <; 127.0.0.1
	daemon_smtp_ports = $1
	dsn_advertise_hosts = *
	host_lookup =
	rfc1413_hosts =
	acl_smtp_rcpt = check_rcpt
	begin acl
	check_rcpt:
	  accept hosts = 127.0.0.1
	  deny
	begin routers
	fail_remote:
	  driver = redirect
	  domains = remote.example
	  allow_fail
	  data = :fail: no such user here
	smarthost:
	  driver = manualroute
	  route_list = * 127.0.0.1 byname
	  self = send
	  transport = to_smtpd
	  no_more
	begin transports
	to_smtpd:
	  driver = smtp
	  port = $2
	  allow_localhost
	begin retry
	* * F,1m,10s
	begin rewrite
	EOF2
	chmod 644 "$ex/exim.conf"
	start_bg "$EXIM" -C "$ex/exim.conf" -bdf -q1s
	wait_port "$1" 20
}

@test "smtpd: DSN offered; RET, ENVID, NOTIFY, ORCPT accepted and stored in the envelope" {
	run sm --queue "$W/q" --smtp-send /bin/true <<< "$(printf "EHLO c\r\nAUTH PLAIN $PLAIN\r\nMAIL FROM:<bob@example.org> RET=HDRS ENVID=QQ+2Bx\r\nRCPT TO:<carol@remote.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Carol+40remote.example\r\nRCPT TO:<dave@remote.example> notify=never\r\nRCPT TO:<erin@remote.example>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n")"
	assert_line "250 DSN"
	assert_line --regexp "^250 2.0.0 Ok: 3 recipients"
	run grep -v "^local-arg " q/env/*
	assert_line "ret HDRS"
	assert_line "envid QQ+2Bx"
	assert_line --index 7 "rcpt <carol@remote.example> pending"
	assert_line --index 8 "dsn notify=SUCCESS,FAILURE orcpt=rfc822;Carol+40remote.example"
	assert_line --index 9 "rcpt <dave@remote.example> pending"
	assert_line --index 10 "dsn notify=NEVER"
	assert_line --index 11 "rcpt <erin@remote.example> pending"
	[ "${#lines[@]}" = 12 ]
}

@test "smtpd: malformed or repeated DSN parameters get 501 5.5.4" {
	run sm --queue "$W/q" --smtp-send /bin/true <<< "$(printf "EHLO c\r\nAUTH PLAIN $PLAIN\r\nMAIL FROM:<a@example.org> RET=FULL RET=HDRS\r\nMAIL FROM:<a@example.org> RET=BODY\r\nMAIL FROM:<a@example.org> ENVID=a+0A\r\nMAIL FROM:<a@example.org> ENVID=a+4a\r\nMAIL FROM:<a@example.org> ENVID=a=b\r\nMAIL FROM:<a@example.org> ENVID=$(printf 'x%.0s' $(seq 101))\r\nMAIL FROM:<a@example.org> ENVID=x ENVID=y\r\nMAIL FROM:<a@example.org> ENVID=ok+2B\r\nRCPT TO:<c@remote.example> NOTIFY=NEVER,SUCCESS\r\nRCPT TO:<c@remote.example> NOTIFY=SUCCESS,SUCCESS\r\nRCPT TO:<c@remote.example> NOTIFY=\r\nRCPT TO:<c@remote.example> NOTIFY=DELAY NOTIFY=DELAY\r\nRCPT TO:<c@remote.example> ORCPT=rfc822\r\nRCPT TO:<c@remote.example> ORCPT=rfc822;a+2\r\nRCPT TO:<c@remote.example> ORCPT=rfc822;\r\nRCPT TO:<c@remote.example> ORCPT=rfc822;a+00b\r\nRCPT TO:<c@remote.example> ORCPT=rf@c;a\r\nRCPT TO:<c@remote.example> ORCPT=rfc822;a ORCPT=rfc822;b\r\nRCPT TO:<c@remote.example> FOO=bar\r\nRCPT TO:<c@remote.example> NOTIFY=delay ORCPT=RFC822;c+40remote.example\r\nQUIT\r\n")"
	assert_line --index 11 "501 5.5.4 Duplicate RET parameter"
	assert_line --index 12 "501 5.5.4 Bad RET parameter: FULL or HDRS"
	for i in 13 14 15 16; do
		assert_line --index $i "501 5.5.4 Bad ENVID parameter: xtext of at most 100 characters"
	done
	assert_line --index 17 "501 5.5.4 Duplicate ENVID parameter"
	assert_line --index 18 "250 2.1.0 Ok"
	for i in 19 20 21; do
		assert_line --index $i "501 5.5.4 Bad NOTIFY parameter: NEVER, or SUCCESS, FAILURE, DELAY"
	done
	assert_line --index 22 "501 5.5.4 Duplicate NOTIFY parameter"
	for i in 23 24 25 26 27; do
		assert_line --index $i "501 5.5.4 Bad ORCPT parameter: addr-type;xtext"
	done
	assert_line --index 28 "501 5.5.4 Duplicate ORCPT parameter"
	assert_line --index 29 "555 5.5.4 Unsupported option: FOO"
	assert_line --index 30 "250 2.1.5 Ok"
}

# fake.py LOG DIR [dsn]: an SMTP server on stdin/stdout (for --pipe) that
# logs every command to LOG and saves each message as DIR/N.eml; it offers
# DSN only with "dsn"; RCPT to <bad...> gets 550, to <slow...> 451.
fake() {
	cat > "$W/fake.py" <<-'PYEOF'
	import os, sys
	log = open(sys.argv[1], "a"); d = sys.argv[2]; dsn = len(sys.argv) > 3
	out = sys.stdout.buffer; inp = sys.stdin.buffer
	def send(s): out.write(s.encode()); out.flush()
	send("220 fake ESMTP\r\n")
	while True:
	    l = inp.readline()
	    if not l: break
	    l = l.rstrip(b"\r\n").decode(); u = l.upper(); log.write(l + "\n"); log.flush()
	    if u.startswith("EHLO"): send("250-fake\r\n" + ("250-DSN\r\n" if dsn else "") + "250 8BITMIME\r\n")
	    elif u.startswith("MAIL"): send("250 2.1.0 ok\r\n")
	    elif u.startswith("RCPT"):
	        send("550 5.1.1 no such user\r\n" if "<bad" in l else "451 4.2.0 try later\r\n" if "<slow" in l else "250 2.1.5 ok\r\n")
	    elif u.startswith("DATA"):
	        send("354 go\r\n"); m = b""
	        while True:
	            x = inp.readline()
	            if x in (b".\r\n", b""): break
	            m += x[1:] if x.startswith(b"..") else x
	        n = len(os.listdir(d)); open("%s/%d.eml" % (d, n), "wb").write(m)
	        send("250 2.0.0 ok\r\n")
	    elif u.startswith("QUIT"): send("221 bye\r\n"); break
	    else: send("250 ok\r\n")
	PYEOF
	mkdir -p "$W/got"
}

# The reports among the messages fake.py got, checked with Python's email:
# report.py DIR prints, per report, the Subject, the per-message fields and
# one line per recipient, and the type of the returned part.
report() {
	cat > "$W/report.py" <<-'PYEOF'
	import email, glob, sys
	for f in sorted(glob.glob(sys.argv[1] + "/*.eml"), key=lambda p: int(p.split("/")[-1][:-4])):
	    m = email.message_from_binary_file(open(f, "rb"))
	    if m.get_content_type() != "multipart/report": continue
	    assert m.get_param("report-type") == "delivery-status"
	    parts = m.get_payload()
	    assert parts[0].get_content_type() == "text/plain"
	    assert parts[1].get_content_type() == "message/delivery-status"
	    ds = parts[1].get_payload()
	    print("report:", m["Subject"], "to", m["To"])
	    print("  mta:", ds[0]["Reporting-MTA"], "envid:", ds[0]["Original-Envelope-Id"], "arrival:", ds[0]["Arrival-Date"] is not None)
	    for r in ds[1:]:
	        print("  rcpt:", r["Original-Recipient"], "|", r["Final-Recipient"], "|", r["Action"], "|", r["Status"], "|", r["Diagnostic-Code"])
	        if r["Remote-MTA"]: print("  remote:", r["Remote-MTA"])
	    ret = parts[2]
	    print("  returned:", ret.get_content_type(), "Subject" in str(ret), "the body text" in str(ret))
	PYEOF
	"$PY" "$W/report.py" "$1"
}

@test "smtp-send: --notify, --ret, --envid, --orcpt to a server with DSN; none to one without; bad values refused" {
	fake
	run smtp-send -f a@example.org --notify success,failure --ret hdrs --envid "id 1+" \
		--orcpt Bob@Example.org --pipe "$PY $W/fake.py $W/log1 $W/got dsn" bob@example.org carol@example.org <<< "Subject: x"
	assert_success
	run cat log1
	assert_line "MAIL FROM:<a@example.org> RET=HDRS ENVID=id+201+2B"
	assert_line "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob@Example.org"
	assert_line "RCPT TO:<carol@example.org> NOTIFY=SUCCESS,FAILURE"
	run smtp-send -f a@example.org --notify never --ret full --envid x --orcpt b@c \
		--pipe "$PY $W/fake.py $W/log2 $W/got" bob@example.org <<< "Subject: x"
	assert_success
	run cat log2
	assert_line "MAIL FROM:<a@example.org>"
	assert_line "RCPT TO:<bob@example.org>"
	for bad in "--notify never,success" "--notify sometimes" "--ret body" "--envid $(printf 'x%.0s' $(seq 101))" "--orcpt a<b"; do
		run smtp-send --dry-run $bad bob@example.org <<< "Subject: x"
		assert_failure 64
	done
}

@test "queue: DSN parameters passed to a hop with DSN; relayed, failed and delayed reports as NOTIFY asks (Python's email)" {
	fake
	run sm --queue "$W/q" --smtp-send /bin/true <<< "$(printf "EHLO c\r\nAUTH PLAIN $PLAIN\r\nMAIL FROM:<bob@example.org> RET=FULL ENVID=env+2B1\r\nRCPT TO:<carol@remote.example> NOTIFY=SUCCESS ORCPT=rfc822;Carol+40Remote.example\r\nRCPT TO:<bad1@remote.example> NOTIFY=NEVER\r\nRCPT TO:<bad2@remote.example> NOTIFY=FAILURE ORCPT=rfc822;B2+40remote.example\r\nRCPT TO:<slow@remote.example> NOTIFY=DELAY,FAILURE\r\nRCPT TO:<slow2@remote.example> NOTIFY=FAILURE\r\nDATA\r\nSubject: dsn test\r\n\r\nthe body text\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2.0.0 Ok: 5 recipients"
	cp -r q q2
	# a next hop with DSN: the parameters go on, no report from us
	run smtp-send --queue "$W/q" --pipe "$PY $W/fake.py $W/log1 $W/got dsn" --helo mx.example.org
	assert_success
	run cat log1
	assert_line "MAIL FROM:<bob@example.org> RET=FULL ENVID=env+2B1"
	assert_line "RCPT TO:<carol@remote.example> NOTIFY=SUCCESS ORCPT=rfc822;Carol+40Remote.example"
	assert_line "RCPT TO:<bad1@remote.example> NOTIFY=NEVER"
	assert_line "RCPT TO:<slow2@remote.example> NOTIFY=FAILURE"
	run report got
	assert_output "report: Undelivered Mail Returned to Sender to <bob@example.org>
  mta: dns; mx.example.org envid: env+1 arrival: True
  rcpt: rfc822; B2@remote.example | rfc822; bad2@remote.example | failed | 5.1.1 | smtp; 550 5.1.1 no such user
  returned: message/rfc822 True True"
	# a next hop without DSN: "relayed" for NOTIFY=SUCCESS; a delay report once
	rm -f got/*
	sed -i "s/^created .*/created $(( $(date +%s) - 120 ))/" q2/env/*
	run smtp-send --queue "$W/q2" --pipe "$PY $W/fake.py $W/log2 $W/got" --helo mx.example.org --delay-warning 1m --retry-now
	assert_success
	run grep -c "NOTIFY\|ENVID" log2
	assert_output 0
	run report got
	assert_output "report: Undelivered Mail Returned to Sender to <bob@example.org>
  mta: dns; mx.example.org envid: env+1 arrival: True
  rcpt: rfc822; B2@remote.example | rfc822; bad2@remote.example | failed | 5.1.1 | smtp; 550 5.1.1 no such user
  returned: message/rfc822 True True
report: Successful Mail Delivery Report to <bob@example.org>
  mta: dns; mx.example.org envid: env+1 arrival: True
  rcpt: rfc822; Carol@Remote.example | rfc822; carol@remote.example | relayed | 2.0.0 | smtp; 250 2.0.0 ok
  returned: message/rfc822 True True
report: Delayed Mail (still being retried) to <bob@example.org>
  mta: dns; mx.example.org envid: env+1 arrival: True
  rcpt: None | rfc822; slow@remote.example | delayed | 4.2.0 | smtp; 451 4.2.0 try later
  returned: message/rfc822 True True"
	grep -q "^dsn notify=FAILURE,DELAY warned$" q2/env/*
	# the next run sends no second delay report
	rm -f got/*
	run smtp-send --queue "$W/q2" --pipe "$PY $W/fake.py $W/log2 $W/got" --delay-warning 1m --retry-now
	[ "$(ls got | wc -l)" = 0 ]
}

@test "Postfix: sends NOTIFY/ORCPT/RET/ENVID to smtpd; smtpd's queue passes them to Postfix, whose failure report (parsed) quotes them" {
	command -v postfix >/dev/null && id postfix >/dev/null 2>&1 || skip "Postfix is not installed"
	[ "$(id -u)" -eq 0 ] || skip "a private Postfix needs root to start its master"
	local pfp i
	start_smtpd -v --queue "$W/q" --smtp-send /bin/true
	pfp=$(free_port)
	postfix_dsn "$pfp" "$PORT"
	# 1. Postfix -> smtpd: the DSN parameters arrive; smtpd offers DSN, so
	# Postfix sends no "relayed" report of its own
	run timeout 20 "$PY" -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
print(s.sendmail("alice@example.net", ["bob@example.org"], b"Subject: via postfix\r\n\r\nhi\r\n",
    mail_options=["RET=HDRS", "ENVID=pf+2Bone"], rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Bob+40example.org"]))
s.quit()' "$pfp"
	assert_success
	for ((i = 0; i < 100; i++)); do [ "$(nmsg "$NEW")" = 1 ] && break; sleep 0.1; done
	[ "$(nmsg "$NEW")" = 1 ]
	run grep -a "C: MAIL FROM\|C: RCPT TO" smtpd.log
	assert_line --regexp "^C: MAIL FROM:<alice@example.net> SIZE=[0-9]+ ENVID=pf\+2Bone RET=HDRS$"
	assert_line "C: RCPT TO:<bob@example.org> ORCPT=rfc822;Bob@example.org NOTIFY=SUCCESS,FAILURE"
	# 2. smtpd -> its queue -> Postfix, which gets 550 for the recipient
	# (smtpd relays for nobody unauthenticated) and reports to alice
	run sm --queue "$W/q" --smtp-send "$BIN/smtp-send -s 127.0.0.1:$pfp" <<< "$(printf "EHLO c\r\nAUTH PLAIN $PLAIN\r\nMAIL FROM:<alice@example.net> RET=HDRS ENVID=our+2Bid\r\nRCPT TO:<carol@remote.example> NOTIFY=FAILURE ORCPT=rfc822;Carol+40Original.example\r\nDATA\r\nSubject: the original\r\n\r\nthe body text\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2.0.0 Ok: queued as"
	# alice gets two reports: smtpd's success report for bob (Postfix asked
	# NOTIFY=SUCCESS and smtpd delivered) and Postfix's failure report
	for ((i = 0; i < 200; i++)); do [ "$(nmsg home/alice/Maildir/new)" -ge 2 ] && break; sleep 0.1; done
	postfix -c "$W/pf" stop >/dev/null 2>&1 || true
	[ "$(nmsg home/alice/Maildir/new)" = 2 ] || { cat "$W/pf/maillog"; false; }
	mkdir got
	i=0; for f in home/alice/Maildir/new/*; do cp "$f" got/$i.eml; i=$((i + 1)); done
	run report got
	assert_line "report: Undelivered Mail Returned to Sender to alice@example.net"
	assert_line --regexp "^  mta: dns; relay.test envid: our\+id arrival: True$"
	assert_line --regexp "^  rcpt: rfc822; ?Carol@Original.example \| rfc822; carol@remote.example \| failed \| 5.7.1 \| smtp; 550 5.7.1"
	assert_line "  returned: text/rfc822-headers True False"
	assert_line "report: Successful Mail Delivery Report to <alice@example.net>"
	assert_line --regexp "^  mta: dns; .* envid: pf\+one arrival: True$"
	assert_line "  rcpt: rfc822; Bob@example.org | rfc822; bob@example.org | delivered | 2.0.0 | smtp; 250 2.0.0 <bob@example.org> Ok: delivered"
	run grep -c "sender delivery status notification" "$W/pf/maillog"
	assert_output 0
}

@test "Exim: sends NOTIFY/ORCPT/RET/ENVID to smtpd; smtpd's queue passes them to Exim, whose failure report (parsed) quotes them" {
	[ -x "$EXIM" ] && id Debian-exim >/dev/null 2>&1 || skip "Exim is not unpacked (tests/deps.sh test)"
	[ "$(id -u)" -eq 0 ] || skip "a private Exim needs root"
	local exp i
	start_smtpd -v --queue "$W/q" --smtp-send /bin/true
	exp=$(free_port)
	exim_dsn "$exp" "$PORT"
	# 1. Exim -> smtpd: the DSN parameters arrive as the client gave them
	run timeout 20 "$PY" -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
print(s.sendmail("alice@example.net", ["bob@example.org"], b"Subject: via exim\r\n\r\nhi\r\n",
    mail_options=["RET=HDRS", "ENVID=ex+2Bone"], rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Bob+40example.org"]))
s.quit()' "$exp"
	assert_success
	for ((i = 0; i < 200; i++)); do [ "$(nmsg "$NEW")" = 1 ] && break; sleep 0.1; done
	[ "$(nmsg "$NEW")" = 1 ]
	run grep -a "C: MAIL FROM\|C: RCPT TO" smtpd.log
	assert_line --regexp "^C: MAIL FROM:<alice@example.net> SIZE=[0-9]+ RET=HDRS ENVID=ex\+2Bone$"
	assert_line "C: RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+40example.org"
	# 2. smtpd -> its queue -> Exim, which fails carol and reports to alice
	# through smtpd; the runner also sends smtpd's success report for bob
	run sm --queue "$W/q" --smtp-send "$BIN/smtp-send -s 127.0.0.1:$exp" <<< "$(printf "EHLO c\r\nAUTH PLAIN $PLAIN\r\nMAIL FROM:<alice@example.net> RET=HDRS ENVID=our+2Bid\r\nRCPT TO:<carol@remote.example> NOTIFY=FAILURE ORCPT=rfc822;Carol+40Original.example\r\nDATA\r\nSubject: the original\r\n\r\nthe body text\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2.0.0 Ok: queued as"
	for ((i = 0; i < 300; i++)); do [ "$(nmsg home/alice/Maildir/new)" -ge 2 ] && break; sleep 0.1; done
	[ "$(nmsg home/alice/Maildir/new)" = 2 ] || { cat "$W/ex/log/mainlog"; false; }
	mkdir got
	i=0; for f in home/alice/Maildir/new/*; do cp "$f" got/$i.eml; i=$((i + 1)); done
	run report got
	# Exim quotes ENVID and ORCPT as it got them (xtext, not decoded) and
	# returns the header only (RET=HDRS)
	assert_line "report: Mail delivery failed: returning message to sender to alice@example.net"
	assert_line --regexp "^  mta: dns; exim.test envid: our\\+2Bid "
	assert_line --regexp "^  rcpt: rfc822; ?Carol\\+40Original.example \\| rfc822; ?carol@remote.example \\| failed \\| 5\\.0\\.0 \\|"
	assert_line "  returned: text/rfc822-headers True False"
	assert_line "report: Successful Mail Delivery Report to <alice@example.net>"
	assert_line --regexp "^  mta: dns; .* envid: ex\+one arrival: True$"
	assert_line "  rcpt: rfc822; Bob@example.org | rfc822; bob@example.org | delivered | 2.0.0 | smtp; 250 2.0.0 <bob@example.org> Ok: delivered"
}

@test "local delivery with NOTIFY=SUCCESS: a success report through the queue; none for FAILURE or NEVER" {
	fake
	run sm --queue "$W/q" --smtp-send /bin/true <<< "$(printf "EHLO c\r\nMAIL FROM:<x@sender.example> RET=HDRS ENVID=loc1\r\nRCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bobby+40example.org\r\nRCPT TO:<alice@example.net> NOTIFY=FAILURE\r\nDATA\r\nSubject: local\r\n\r\nthe body text\r\n.\r\nMAIL FROM:<y@sender.example>\r\nRCPT TO:<bob@example.org> NOTIFY=NEVER\r\nDATA\r\nSubject: again\r\n\r\nx\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2.0.0 Ok: 2 recipients"
	[ "$(nmsg "$NEW")" = 2 ]
	[ "$(nmsg q/env)" = 1 ]
	run grep -v "^local-arg " q/env/*
	assert_line "from <x@sender.example>"
	assert_line --regexp "^rcpt <bob@example.org> done 250 2.0.0"
	assert_line "dsn notify=SUCCESS,FAILURE orcpt=rfc822;Bobby+40example.org delivered"
	[ "${#lines[@]}" = 9 ]
	run smtp-send --queue "$W/q" --pipe "$PY $W/fake.py $W/log $W/got" --helo mx.example.org
	assert_success
	run report got
	assert_output "report: Successful Mail Delivery Report to <x@sender.example>
  mta: dns; mx.example.org envid: loc1 arrival: True
  rcpt: rfc822; Bobby@example.org | rfc822; bob@example.org | delivered | 2.0.0 | smtp; 250 2.0.0 <bob@example.org> Ok: delivered
  returned: text/rfc822-headers True False"
	grep -q "^MAIL FROM:<>" log
	grep -q "^RCPT TO:<x@sender.example>" log
	[ "$(nmsg q/env)" = 0 ]
	[ "$(nmsg q/msg)" = 0 ]
}

@test "NOTIFY=SUCCESS to a list: Action: expanded (RFC 3461 6.2.7.2), members' copies without NOTIFY; to a one-member alias: delivered" {
	fake
	printf 'staff: bob, alice@example.net, carol@remote.example\nowner-staff: bob\nsolo: bob\n' > aliases
	[ "$(id -u)" != 0 ] || chown "$IDS" aliases
	run sm --queue "$W/q" --smtp-send /bin/true --aliases "$W/aliases" <<< "$(printf "EHLO c\r\nMAIL FROM:<x@sender.example> ENVID=lst\r\nRCPT TO:<staff@example.org> NOTIFY=SUCCESS\r\nRCPT TO:<solo@example.org> NOTIFY=SUCCESS\r\nDATA\r\nSubject: list\r\n\r\nthe body text\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2.0.0 Ok: 2 recipients"
	[ "$(nmsg "$NEW")" = 2 ]
	grep -h -A1 "^rcpt <staff@example.org> done" q/env/* | grep -q " delivered expanded$"
	run smtp-send --queue "$W/q" --pipe "$PY $W/fake.py $W/log $W/got dsn" --helo mx.example.org
	assert_success
	run report got
	assert_line "  rcpt: None | rfc822; staff@example.org | expanded | 2.0.0 | smtp; 250 2.0.0 <staff@example.org> Ok: delivered"
	assert_line "  rcpt: None | rfc822; solo@example.org | delivered | 2.0.0 | smtp; 250 2.0.0 <solo@example.org> Ok: delivered"
	# carol's copy (sender owner-staff) went out without the author's NOTIFY
	grep -q "^MAIL FROM:<owner-staff@example.org>" log
	grep -q "^RCPT TO:<carol@remote.example>$" log
}

@test "queue: a failure report from a real next hop names it as Remote-MTA and reaches the sender" {
	local pb i
	pb=$(free_port)
	start_bg smtpd -l "127.0.0.1:$pb" --hostname mx.remote.example --domains remote.example,example.org \
		--users "$W/users" 2>"$W/smtpd.log"
	wait_port "$pb"
	run sm --queue "$W/q" --smtp-send /bin/true <<< "$(printf "EHLO c\r\nAUTH PLAIN $PLAIN\r\nMAIL FROM:<bob@example.org> ENVID=r1\r\nRCPT TO:<nobody@remote.example>\r\nDATA\r\nSubject: far\r\n\r\nthe body text\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2.0.0 Ok: queued as"
	run smtp-send --queue "$W/q" -s "127.0.0.1:$pb" --helo mx.example.org
	for ((i = 0; i < 100; i++)); do [ "$(nmsg "$NEW")" = 1 ] && break; sleep 0.1; done
	mkdir got && cp "$NEW"/* got/0.eml
	run report got
	assert_output "report: Undelivered Mail Returned to Sender to <bob@example.org>
  mta: dns; mx.example.org envid: r1 arrival: True
  rcpt: None | rfc822; nobody@remote.example | failed | 5.1.1 | smtp; 550 5.1.1 <nobody@remote.example>: Recipient address rejected: User unknown
  remote: dns; 127.0.0.1
  returned: text/rfc822-headers True False"
}

@test "sendmail -N -R -V (as Postfix's, for mutt's dsn_notify/dsn_return) become NOTIFY, RET, ENVID" {
	start_smtpd -v
	ln -s "$BIN/smtp-send" sendmail
	printf 'Subject: s\n\nx\n' | MAILLAB_SMTP=127.0.0.1:$PORT ./sendmail -f a@example.org -N success,failure -R hdrs -V e1 bob@example.org
	run grep -a "C: MAIL FROM\|C: RCPT TO" smtpd.log
	assert_line "C: MAIL FROM:<a@example.org> SIZE=17 RET=HDRS ENVID=e1"
	assert_line "C: RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE"
	run ./sendmail -N sometimes bob@example.org < /dev/null
	assert_failure 64
}
