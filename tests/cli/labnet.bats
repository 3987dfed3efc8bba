#!/usr/bin/env bats
# labs/net/labnet: the lab network of network namespaces, its DNS (nsd)
# and its isolation.  The namespaces get a prefix and a state directory of
# their own, so that a lab network a student has up is left alone.

load helpers

LABNET="$ROOT/labs/net/labnet"

setup_file() {
	export MAILLAB_NET_PREFIX=mlt$$ MAILLAB_NET_STATE=/run/maillab-net-test$$
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# Skip unless this machine lets us build namespaces and run nsd.
need_netns() {
	[ "$(id -u)" = 0 ] || skip "labnet needs root (network namespaces); the non-root message is tested apart"
	command -v nsd >/dev/null || skip "nsd is not installed (tests/deps.sh, group test)"
	local p=mltprobe$$
	ip netns add "$p" 2>/dev/null || skip "ip netns is not permitted here (a container without CAP_SYS_ADMIN?)"
	ip netns del "$p"
}

teardown() {
	local l
	stop_all
	if [ "$(id -u)" = 0 ]; then "$LABNET" down >/dev/null 2>&1 || true; fi
	for l in "$BATS_TEST_TMPDIR"/*.log; do
		no_sanitizer_report "$l"
	done
}

# Nothing of ours left: no namespace, no /etc/netns entry, no state, no nsd.
nothing_left() {
	[ -z "$(ip netns list | grep "^$MAILLAB_NET_PREFIX-")" ]
	[ -z "$(ls -d /etc/netns/"$MAILLAB_NET_PREFIX"-* 2>/dev/null)" ]
	[ ! -e "$MAILLAB_NET_STATE" ]
	[ -z "$(pgrep -f "nsd -c $MAILLAB_NET_STATE/")" ]
}

@test "labnet --help, usage, and the non-root message" {
	run "$LABNET" --help
	assert_success
	assert_output --partial "usage: labnet up | down"
	run "$LABNET" bogus
	assert_failure 64
	run "$LABNET" hosts
	assert_success
	[ "${#lines[@]}" -ge 7 ]
	if [ "$(id -u)" = 0 ]; then
		command -v setpriv >/dev/null || skip "setpriv missing"
		run setpriv --reuid=65534 --regid=65534 --clear-groups "$LABNET" up
	else
		run "$LABNET" up
	fi
	assert_failure 77
	assert_output --partial "needs root"
	assert_output --partial "127.0.0.x"
}

@test "labnet up: DNS MX from a host, host names, SMTP between two hosts over v4 and v6, no route out, down" {
	need_netns
	links_before=$(ip -o link | wc -l)
	addrs_before=$(ip -o addr | sort)
	routes_before=$(ip route; ip -6 route)
	run "$LABNET" up
	assert_success
	assert_output --partial "up: 8 hosts"
	# the root namespace has no new interface, address or route
	[ "$(ip -o link | wc -l)" = "$links_before" ]
	[ "$(ip -o addr | sort)" = "$addrs_before" ]
	[ "$(ip route; ip -6 route)" = "$routes_before" ]
	# DNS: the course-style zone, asked from the sender's machine, both
	# through its resolv.conf and naming the server
	run "$LABNET" exec mua mxlookup --no-shuffle imag.test
	assert_success
	assert_line --regexp '^40 ms2?\.imag\.test$'
	assert_line '80 ms-ext.imag.test'
	[ "${#lines[@]}" = 3 ]
	run "$LABNET" exec mua mxlookup --dns 192.0.2.53 -a alpha.test
	assert_success
	assert_output "10 smtp.alpha.test 198.51.100.25 2001:db8:100::25"
	run "$LABNET" exec store dig +short -x 203.0.113.10 @192.0.2.53
	assert_output "ms.imag.test."
	run "$LABNET" exec ms hostname
	assert_output "ms.imag.test"
	# an SMTP server on ms, a client on the sender's machine routing by MX
	start_bg "$LABNET" exec ms smtpd -l 203.0.113.10:25 -l '[2001:db8:113::10]:25' \
		--hostname ms.imag.test --domains imag.test
	for i in $(seq 100); do
		"$LABNET" exec mua bash -c 'exec 3<>/dev/tcp/203.0.113.10/25' 2>/dev/null && break
		sleep 0.1
	done
	run "$LABNET" exec mua bash -c 'exec 3<>/dev/tcp/203.0.113.10/25; head -1 <&3'
	assert_output --partial "220 ms.imag.test ESMTP"
	run "$LABNET" exec mua bash -c 'exec 3<>/dev/tcp/2001:db8:113::10/25; head -1 <&3'
	assert_output --partial "220 ms.imag.test ESMTP"
	run "$LABNET" exec mua smtp-send -v --quit-after rcpt -f alice@alpha.test nobody@imag.test <<< $'Subject: t\n\nx'
	assert_output --partial "* connected to ms"
	assert_output --partial "C: EHLO pc.alpha.test"
	# no route out, in either family, from any host
	for h in mua ms dns; do
		run "$LABNET" exec "$h" ip route get 8.8.8.8
		assert_failure
		assert_output --partial "unreachable"
		run "$LABNET" exec "$h" ip -6 route get 2001:4860:4860::8888
		assert_failure
	done
	run "$LABNET" exec mua ip route show default
	assert_output ""
	run "$LABNET" status
	assert_success
	assert_output --partial "nsd -c"
	run "$LABNET" down
	assert_success
	nothing_left
}

@test "labnet down after a crash: state lost, nsd killed, namespaces still removed" {
	need_netns
	"$LABNET" up >/dev/null
	start_bg "$LABNET" exec store sleep 600
	kill -9 "$(cat "$MAILLAB_NET_STATE/nsd/nsd.pid")"
	rm -rf "$MAILLAB_NET_STATE"
	run "$LABNET" status
	assert_output --partial "state lost"
	run "$LABNET" down
	assert_success
	nothing_left
	# and up again works from there
	run "$LABNET" up
	assert_success
	run "$LABNET" up
	assert_output --partial "already up"
	"$LABNET" down
	nothing_left
}

# wait_in HOST ADDR PORT: until something listens there, seen from HOST.
wait_in() {
	local i
	for ((i = 0; i < 100; i++)); do
		"$LABNET" exec "$1" bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "nothing listens on $2:$3 seen from $1" >&2
	return 1
}

@test "labnet: a message crosses the lab (submission, MX routing, equal-preference sibling) and mimecat --route reads it" {
	need_netns
	W=$BATS_TEST_TMPDIR
	IDS=$(id -u mail):$(id -g mail)
	mkdir -p home/marie qs qm qm2
	chmod 777 qs qm qm2
	printf 'alice@alpha.test:{PLAIN}secret:%s::%s/home/alice::\nmarie@imag.test:{PLAIN}x:%s::%s/home/marie::\n' \
		"$IDS" "$W" "$IDS" "$W" > users
	chmod 644 users
	echo secret > pw
	fix_perms "$IDS"
	"$LABNET" up >/dev/null
	# the mail store, the two MX (relaying to it), alpha.test's MTA
	start_bg "$LABNET" exec store smtpd -l 203.0.113.20:25 --hostname mailhost.imag.test \
		--domains imag.test --users "$W/users" 2>"$W/store.log"
	for m in ms:203.0.113.10:qm ms2:203.0.113.11:qm2; do
		IFS=: read -r h a q <<< "$m"
		start_bg "$LABNET" exec "$h" smtpd -l "$a:25" --hostname "$h.imag.test" --domains none.invalid \
			--relay-from 198.51.100.0/24 --queue "$W/$q" --smtp-send "$BIN/smtp-send -s 203.0.113.20" \
			2>"$W/$h.log"
	done
	start_bg "$LABNET" exec smtp smtpd -l 198.51.100.25:587 --submission --hostname smtp.alpha.test \
		--domains alpha.test --users "$W/users" --plaintext-auth --queue "$W/qs" 2>"$W/smtp.log"
	wait_in mua 203.0.113.20 25
	wait_in mua 203.0.113.10 25
	wait_in mua 203.0.113.11 25
	wait_in mua 198.51.100.25 587
	send() {
		"$LABNET" exec mua smtp-send -s smtp.alpha.test:587 --auth alice@alpha.test --password-file "$W/pw" \
			--plaintext-auth -f alice@alpha.test marie@imag.test <<< "Subject: $1"$'\n\nhello'
	}
	arrived() {
		for ((i = 0; i < 300; i++)); do
			[ "$(find home/marie/Maildir/new -type f 2>/dev/null | wc -l)" = "$1" ] && return 0
			sleep 0.1
		done
		return 1
	}
	run send one
	assert_success
	arrived 1
	run mimecat --route home/marie/Maildir/new/*
	assert_success
	[ "${#lines[@]}" -ge 4 ]
	assert_line --index 1 --regexp '^1 +pc\.alpha\.test \((pc\.alpha\.test|unknown) \[198\.51\.100\.10\]\) +smtp\.alpha\.test \(maillab smtpd\) +- +ESMTPA '
	assert_line --index 2 --regexp '^2 +smtp\.alpha\.test \((smtp\.alpha\.test|unknown) \[198\.51\.100\.25\]\) +ms2?\.imag\.test \(maillab smtpd\) +- +ESMTP '
	assert_line --index 3 --regexp '^3 +ms2?\.imag\.test \((ms2?\.imag\.test|unknown) \[203\.0\.113\.1[01]\]\) +mailhost\.imag\.test \(maillab smtpd\) +- +ESMTP '
	assert_line --index 1 --partial "auth alice@alpha.test"
	# the first MX chosen is stopped: its equal-preference sibling takes the mail
	first=$(sed -n 's/^2 .* \(ms2\{0,1\}\)\.imag\.test (maillab smtpd).*/\1/p' <<< "$output")
	[ -n "$first" ]
	for p in $(ip netns pids "$MAILLAB_NET_PREFIX-$first"); do kill "$p"; done
	run send two
	assert_success
	arrived 2
	last=$(ls -t home/marie/Maildir/new/* | head -1)
	other=ms2; [ "$first" = ms2 ] && other=ms
	run mimecat --route "$last"
	assert_line --index 2 --regexp "^2 .* $other\.imag\.test \(maillab smtpd\)"
	"$LABNET" down >/dev/null
	nothing_left
}
