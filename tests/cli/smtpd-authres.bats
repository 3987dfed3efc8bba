#!/usr/bin/env bats
# smtpd --authres / --authres-policy / --dkim-sign: SPF at MAIL FROM, DKIM,
# DMARC and ARC after DATA, over -l on loopback with swaks as the client
# and a dnsmasq zone (tests/lib/dns.bash) publishing the policies.
PORT_BASE=35000
load helpers
load smtpd-common
load ../lib/dns

setup_file() {
	export DNS_PIDFILE="$BATS_FILE_TMPDIR/dns.pids"
	local c="$BATS_FILE_TMPDIR/dns.conf"
	DNS_PORT=$(free_port)
	export DNS_PORT
	cd "$BATS_FILE_TMPDIR"
	mailauth keygen -k good.pem --data > good.txt
	chmod 644 good.pem      # smtpd started as root reads it before it drops to mail
	dns_conf_new "$c" test
	dns_add_txt "$c" good.test "v=spf1 ip4:127.0.0.1 -all"
	dns_add_txt "$c" _dmarc.good.test "v=DMARC1; p=reject"
	dns_add_txt "$c" sel._domainkey.good.test "$(cat good.txt)"
	dns_add_txt "$c" forged.test "v=spf1 ip4:192.0.2.1 -all"
	dns_add_txt "$c" _dmarc.forged.test "v=DMARC1; p=reject"
	dns_add_txt "$c" quar.test "v=spf1 ?all"
	dns_add_txt "$c" _dmarc.quar.test "v=DMARC1; p=quarantine"
	dns_add_txt "$c" _dmarc.rej.test "v=DMARC1; p=reject"
	dns_start "$c" "$DNS_PORT"
}

teardown_file() {
	dns_stop
}

setup() {
	smtpd_setup
	cp "$BATS_FILE_TMPDIR/good.pem" .
}

teardown() {
	stop_all
	no_sanitizer_report "$W/smtpd.log"
}

# send FROM HEADER-FROM [swaks options...]: one message to bob
send() {
	local from=$1 hfrom=$2
	shift 2
	swaks --server "127.0.0.1:$PORT" --from "$from" --to bob@example.org \
		--header "From: $hfrom" --header "Subject: authres" --body "hello" "$@"
}

@test "smtpd --authres: Authentication-Results with spf, dkim, dmarc and arc; nothing refused" {
	start_smtpd --authres --dns "127.0.0.1:$DNS_PORT"
	run send a@forged.test a@forged.test
	assert_output --partial "<-  250 2.0.0 <bob@example.org> Ok: delivered"
	f=$(ls "$NEW"/*)
	grep -q "^Authentication-Results: mx.example.org;$" "$f"
	grep -q $'^\tspf=fail smtp.mailfrom=a@forged.test;' "$f"
	grep -q $'^\tdkim=none;' "$f"
	grep -q $'^\tdmarc=fail (p=reject dis=reject) header.from=forged.test;' "$f"
	grep -q $'^\tarc=none' "$f"
	# mimecat's reader view shows the verdict of the topmost field
	run mimecat "$f"
	assert_line "Authentication: spf=fail dkim=none dmarc=fail arc=none (by mx.example.org)"
}

@test "smtpd --authres-policy: SPF -all refused at MAIL FROM with 5.7.23" {
	start_smtpd --authres-policy --dns "127.0.0.1:$DNS_PORT"
	run send a@forged.test a@forged.test
	assert_output --partial "<** 550 5.7.23 SPF: forged.test does not allow 127.0.0.1 to send its mail"
	[ "$(nmsg "$NEW")" = 0 ]
	run send a@good.test a@good.test
	assert_output --partial "<-  250 2.0.0 <bob@example.org> Ok: delivered"
	grep -q $'^\tspf=pass smtp.mailfrom=a@good.test;' "$NEW"/*
	grep -q $'dmarc=pass (p=reject dis=none) header.from=good.test' "$NEW"/*
}

@test "smtpd --authres-policy: DMARC p=reject refused after DATA (5.7.26), p=quarantine filed into Junk" {
	start_smtpd --authres-policy --dns "127.0.0.1:$DNS_PORT"
	run send a@good.test boss@rej.test
	assert_output --partial "<** 550 5.7.26 DMARC: rej.test asks to reject mail that fails SPF and DKIM"
	[ "$(nmsg "$NEW")" = 0 ]
	run send a@quar.test a@quar.test
	assert_output --partial "Ok: delivered"
	[ "$(nmsg "$NEW")" = 0 ]
	[ "$(nmsg home/bob/Maildir/.Junk/new)" = 1 ]
	grep -q "^X-Spam-Flag: YES" home/bob/Maildir/.Junk/new/*
	grep -q "dmarc=fail (p=quarantine dis=quarantine) header.from=quar.test" home/bob/Maildir/.Junk/new/*
	# a message signed by good.test passes DMARC whatever the envelope says
	printf 'From: a@good.test\r\nTo: bob@example.org\r\nSubject: signed\r\n\r\nhello\r\n' |
		mailauth sign -d good.test -s sel -k good.pem > signed.eml
	run swaks --server "127.0.0.1:$PORT" --from a@quar.test --to bob@example.org --data signed.eml
	assert_output --partial "Ok: delivered"
	grep -q $'^\tdkim=pass header.d=good.test header.s=sel' "$NEW"/*
	grep -q "dmarc=pass" "$NEW"/*
}

@test "smtpd --dkim-sign: mail from an authenticated user is signed; mailauth and dkimpy verify it" {
	start_smtpd --authres --dkim-sign good.test:sel:good.pem --dns "127.0.0.1:$DNS_PORT"
	run send bob@good.test bob@good.test --auth PLAIN --auth-user bob --auth-password secret
	assert_output --partial "Ok: delivered"
	f=$(ls "$NEW"/*)
	grep -q "^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=good.test;" "$f"
	! grep -q "^Authentication-Results" "$f"       # our own users' mail is not checked
	run mailauth verify --dns "127.0.0.1:$DNS_PORT" "$f"
	assert_output --partial "dkim=pass header.d=good.test header.s=sel"
	echo "sel._domainkey.good.test $(cat "$BATS_FILE_TMPDIR/good.txt")" > records
	run "$PY" "$ROOT/tests/lib/dkimpy.py" verify records "$f"
	assert_output "$f pass"
	run smtpd --dkim-sign good.test:sel
	assert_failure 64
	run smtpd --dkim-sign good.test:sel:/nonexistent
	assert_failure 66
}
