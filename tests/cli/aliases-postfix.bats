#!/usr/bin/env bats
# Postfix's local(8) as the oracle of --aliases: one aliases file, written
# for Postfix, used unchanged by a private Postfix instance (alias_maps,
# system accounts, mboxes in its own mail_spool_directory) and by smtpd
# (system accounts, --mailbox mbox:DIR/%u); the same messages must reach
# the same mailboxes, commands and files, with the same envelope sender.

load helpers

PORT_BASE=33900

setup() {
	[ "$(id -u)" = 0 ] || skip "a private Postfix needs root, and so do deliveries to system accounts"
	command -v postfix >/dev/null && id postfix >/dev/null 2>&1 || skip "Postfix is not installed"
	W=$BATS_TEST_TMPDIR
	chmod 755 "$W"
	local d=$W
	while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
}

teardown() {
	[ ! -f "$W/pf/etc/main.cf" ] || postfix -c "$W/pf/etc" stop >/dev/null 2>&1 || true
	stop_all
	no_sanitizer_report "$W/smtpd.log"
}

# The table as an administrator writes /etc/aliases: root's; its commands
# and files run as nobody in both (Postfix's default_privs).  OUT is where
# commands and files write (each MTA gets its own).
table() {
	cat <<-EOF
	# written for Postfix
	Prenom.Nom: daemon
	staff:  daemon, bin,
	        "|cat > OUT/pipe.\$(date +%s%N)", OUT/staff.mbox
	owner-staff: sys
	team: staff, bin, sys
	inc: :include:$W/members
	EOF
}

postfix_start() {
	local pf=$W/pf port=$1
	mkdir -p "$pf/etc" "$pf/spool" "$pf/data" "$W/pfbox" "$W/pfout"
	chown postfix "$pf/data"
	chmod 1777 "$W/pfbox" "$W/pfout"
	table | sed "s|OUT|$W/pfout|g" > "$pf/aliases"
	postalias -c /dev/null "$pf/aliases" 2>/dev/null || { touch "$pf/etc/main.cf"; postalias -c "$pf/etc" "$pf/aliases"; }
	cat > "$pf/etc/main.cf" <<-EOF
	compatibility_level = 3.6
	queue_directory = $pf/spool
	data_directory = $pf/data
	maillog_file = $pf/maillog
	maillog_file_prefixes = $W
	myhostname = mx.pf.test
	mydomain = pf.test
	myorigin = pf.test
	mydestination = pf.test
	inet_interfaces = 127.0.0.1
	inet_protocols = ipv4
	mynetworks = 127.0.0.0/8
	alias_maps = hash:$pf/aliases
	alias_database = hash:$pf/aliases
	mail_spool_directory = $W/pfbox
	smtputf8_enable = no
	biff = no
	EOF
	postalias -c "$pf/etc" "$pf/aliases"
	awk -v port="$port" '/^#/ || /^[ \t]/ || NF < 8 { print; next }
	    { if ($1 == "smtp" && $2 == "inet") $1 = "127.0.0.1:" port; $5 = "n"; print }' \
	    /etc/postfix/master.cf > "$pf/etc/master.cf"
	postfix -c "$pf/etc" start >/dev/null 2>&1
	wait_port "$port" 20
}

# Wait (at most 20 s) until Postfix has delivered or bounced everything.
postfix_drained() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ -z "$(find "$W/pf/spool/active" "$W/pf/spool/incoming" "$W/pf/spool/deferred" -type f 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}

# who DIR: one line per message in each mbox of DIR, "user [sender] subject",
# sorted (the order of deliveries is each MTA's own).
who() {
	local f
	for f in "$1"/*; do
		[ -f "$f" ] || continue
		awk -v u="$(basename "$f")" '/^From /{s = $2} /^Subject:/{print u, "[" s "]", $2}' "$f"
	done | sort
}

@test "the same Postfix aliases file: same mailboxes, commands, files and list sender as Postfix's local(8)" {
	local pp op
	echo bin > "$W/members"
	chmod 644 "$W/members"
	pp=$(free_port)
	postfix_start "$pp"
	mkdir -p "$W/ours" "$W/ourout"
	chmod 1777 "$W/ours" "$W/ourout"
	table | sed "s|OUT|$W/ourout|g" > "$W/aliases"
	op=$(free_port)
	start_bg smtpd -l "127.0.0.1:$op" --hostname mx.pf.test --domains pf.test --aliases "$W/aliases" \
		--mailbox "mbox:$W/ours/%u" --smtp-send '' 2>"$W/smtpd.log"
	wait_port "$op"
	for r in Prenom.Nom staff team inc; do
		for p in "$pp" "$op"; do
			printf 'Subject: %s\n\nto %s\n' "$r" "$r" | smtp-send -s "127.0.0.1:$p" -f ann@example.net "$r@pf.test"
		done
	done
	postfix_drained || { cat "$W/pf/maillog"; false; }
	run who "$W/ours"
	ours=$output
	run who "$W/pfbox"
	echo "Postfix: $output"
	echo "ours:    $ours"
	assert_output "$ours"
	assert_line "bin [owner-staff@pf.test] team"
	assert_line "bin [ann@example.net] team"
	[ "$(ls "$W/pfout" | grep -c '^pipe')" = "$(ls "$W/ourout" | grep -c '^pipe')" ]
	[ "$(stat -c %U "$W/ourout/staff.mbox")" = "$(stat -c %U "$W/pfout/staff.mbox")" ]
	[ "$(grep -c '^From owner-staff@pf.test ' "$W/ourout/staff.mbox")" = 2 ]
	[ "$(grep -c '^From owner-staff@pf.test ' "$W/pfout/staff.mbox")" = 2 ]
}
