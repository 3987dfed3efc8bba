# What smtpd.bats and smtpd-interop.bats share: load with   load smtpd-common
# (after helpers).
#
# Started as root (as in CI), smtpd drops to the user "mail" and so
# delivers as mail: the test homes belong to mail and the passwd-file gives
# mail's ids.  As an ordinary user everything is that user's.
smtpd_setup() {
	cd "$BATS_TEST_TMPDIR"
	W=$BATS_TEST_TMPDIR
	if [ "$(id -u)" = 0 ]; then IDS=$(id -u mail):$(id -g mail); else IDS=$(id -u):$(id -g); fi
	mkdir -p home/bob home/alice
	cat > users <<-EOF2
	bob:{PLAIN}secret:$IDS::$W/home/bob::
	alice@example.net:{PLAIN}alicepw:$IDS::$W/home/alice::
	EOF2
	chmod 644 users
	NEW=$W/home/bob/Maildir/new
	SM=(smtpd --hostname mx.example.org --domains example.org,example.net --users "$W/users")
	fix_perms "$IDS"
}

# smtpd in inetd mode with the dialogue on stdin; CRs dropped from replies.
sm() {
	"${SM[@]}" "$@" | tr -d '\r'
}

nmsg() {
	find "$1" -type f 2>/dev/null | wc -l
}

start_smtpd() {
	PORT=$(free_port)
	start_bg "${SM[@]}" -l "127.0.0.1:$PORT" "$@" 2>"$W/smtpd.log"
	wait_port "$PORT"
}
