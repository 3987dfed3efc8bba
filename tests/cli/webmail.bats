#!/usr/bin/env bats
# A webmail in a real browser (issue 18 item 5): Debian's Roundcube, served by
# PHP's built-in web server on a loopback port, in front of imapd and smtpd
# (submission with AUTH), driven in headless Chromium through Selenium by
# tests/webmail/roundcube.py, which checks every page against what imapd
# holds (Python's imaplib).  Screenshots of each step: build/webmail-shots/.
# Roundcube reads its configuration from ROUNDCUBE_CONFIG_DIR, a directory of
# the test's own: /etc/roundcube is never touched.

load helpers
PORT_BASE=45000
RC=/usr/share/roundcube
DOCROOT=/var/lib/roundcube/public_html

setup() {
	for p in php chromium chromedriver sqlite3; do
		command -v "$p" >/dev/null || skip "$p not installed (tests/deps.sh test)"
	done
	[ -f "$RC/index.php" ] && [ -d "$DOCROOT" ] || skip "roundcube-core not installed (tests/deps.sh test)"
	"$PY" -c 'import selenium' 2>/dev/null || skip "python3-selenium not installed (tests/deps.sh test)"
	cd "$BATS_TEST_TMPDIR"
	if [ "$(id -u)" = 0 ]; then IDS=65534:65534; else IDS=$(id -u):$(id -g); fi
	for u in bob alice; do
		mkdir -p "home/$u/Maildir"/{cur,new,tmp} "home/$u/Maildir"/.{Sent,Trash,Drafts}/{cur,new,tmp}
		printf 'Sent\nTrash\nDrafts\n' > "home/$u/Maildir/subscriptions"
	done
	"$PY" "$ROOT/tests/webmail/mkmail.py" home/bob/Maildir
	cat > users <<-EOF2
	bob:{PLAIN}secret:$IDS::$BATS_TEST_TMPDIR/home/bob::
	alice:{PLAIN}alicepw:$IDS::$BATS_TEST_TMPDIR/home/alice::
	EOF2
	fix_perms
}

teardown() {
	stop_all
	no_sanitizer_report "$BATS_TEST_TMPDIR/imapd.log"
	no_sanitizer_report "$BATS_TEST_TMPDIR/smtpd.log"
}

# Roundcube's own configuration, database, temp and log dirs, all in the test dir.
roundcube_config() {
	local d=$BATS_TEST_TMPDIR/rc
	mkdir -p "$d/config" "$d/temp" "$d/logs"
	ln -sf /etc/roundcube/defaults.inc.php /etc/roundcube/mimetypes.php "$d/config/"
	cat > "$d/config/config.inc.php" <<-EOF2
	<?php
	\$config = [];
	\$config['db_dsnw'] = 'sqlite:///$d/roundcube.db?mode=0600';
	\$config['imap_host'] = '127.0.0.1:$IMAP_PORT';
	\$config['smtp_host'] = '127.0.0.1:$SMTP_PORT';
	\$config['smtp_user'] = '%u';
	\$config['smtp_pass'] = '%p';
	\$config['mail_domain'] = 'example.org';
	\$config['des_key'] = 'maillab-webmail-test-key';
	\$config['temp_dir'] = '$d/temp';
	\$config['log_dir'] = '$d/logs';
	\$config['plugins'] = ['filesystem_attachments'];
	\$config['skin'] = 'elastic';
	\$config['language'] = 'en_US';
	\$config['enable_spellcheck'] = false;
	\$config['imap_debug'] = true;
	\$config['smtp_debug'] = true;
	EOF2
	sqlite3 "$d/roundcube.db" < "$RC/SQL/sqlite.initial.sql"
}

@test "Roundcube in headless Chromium: login, sort, threads, attachments, search, flag, Trash, send" {
	IMAP_PORT=$(free_port)
	start_bg imapd -v -l "127.0.0.1:$IMAP_PORT" --users users --auth-delay 0 2>imapd.log
	SMTP_PORT=$(free_port)
	start_bg smtpd -v -l "127.0.0.1:$SMTP_PORT" --submission --users users --domains example.org \
		--hostname mail.example.org 2>smtpd.log
	WEB_PORT=$(free_port)
	roundcube_config
	ROUNDCUBE_CONFIG_DIR=$BATS_TEST_TMPDIR/rc/config start_bg php -S "127.0.0.1:$WEB_PORT" -t "$DOCROOT" >php.log 2>&1
	wait_port "$IMAP_PORT"
	wait_port "$SMTP_PORT"
	wait_port "$WEB_PORT"
	head -c 3000 /dev/urandom > notes.bin
	shots=$ROOT/build/webmail-shots
	rm -rf "$shots"
	run timeout 120 "$PY" "$ROOT/tests/webmail/roundcube.py" --web "http://127.0.0.1:$WEB_PORT/" \
		--imap "$IMAP_PORT" --user bob --password secret \
		--to alice@example.org --to-user alice --to-password alicepw \
		--shots "$shots" --attach notes.bin
	echo "$output" | sed 's/^/# /' >&3
	if [ "$status" -ne 0 ]; then
		echo "--- imapd -v (last 60 lines)"; tail -60 imapd.log
		echo "--- smtpd -v (last 30 lines)"; tail -30 smtpd.log
		echo "--- roundcube errors"; cat rc/logs/errors* 2>/dev/null | tail -30
	fi
	assert_success
	# what Roundcube said over IMAP: not one BAD from imapd
	run grep -E '^S: [A-Za-z0-9]+ BAD' imapd.log
	assert_failure
}
