#!/bin/sh
# Build and run every libFuzzer harness tests/fuzz/fuzz_NAME.c for a bounded
# time each (make fuzz calls this).  Each harness is linked with lib/ (built
# here with the fuzzer's instrumentation) and with the extra sources listed
# on a "FUZZ_EXTRA: file.c ..." line of the harness, if any.  The corpus
# grows in tests/fuzz/corpus-NAME/ (gitignored), seeded from
# tests/fuzz/seeds/NAME/, tests/fuzz/regress/NAME/ (inputs that once
# crashed) and, for mime, tests/corpus/mime/; a dictionary
# tests/fuzz/NAME.dict is used when present.
#
#   FUZZ_SECS=60     seconds per harness        FUZZ_ONLY=mime   one harness
#   FUZZ_BUILD=build-fuzz                       FUZZ_JOBS=1      parallel workers
#   FUZZ_PLATEAU=0   stop a harness once its edge coverage (libFuzzer's cov:)
#                    has not grown for this many seconds nor for the second
#                    half of the run so far (saturation; FUZZ_SECS stays the
#                    upper bound)
# With FUZZ_JOBS=N above 1, libFuzzer's fork mode runs N workers that share
# one corpus and one coverage count, the parent's "cov:", which only grows
# (so the plateau rule holds as with one worker; what it counts is not one
# worker's count: tests/fuzz/README.md); timeouts and running out of memory
# stay findings, as with one worker.  Fork mode's cov: over-counts (it
# starts from the loaded inputs' features, then counts again each edge a
# new input touches), so it grows for hours and the plateau rule cannot be
# read from it: for a harness that needs both cores to saturate, use
# FUZZ_HELPERS=K instead (with FUZZ_JOBS=1): K more processes of the same
# harness fuzz the same corpus directory beside the watched one, each with
# its own log ($FUZZ_BUILD/fuzz_NAME.helperK.log); the watched process
# reloads what they add (libFuzzer's -reload), so its cov:, one process's
# edge count, takes in their finds; they stop when it stops, and a crash
# of theirs is a finding too.  The executions in campaign.tsv are then the
# sum of all the processes'.
# FUZZ_ARGS="-print_pcs=1": more libFuzzer options for the fuzzing processes
# (that one logs each newly covered place in the code, function and line, so
# that a campaign shows where its late coverage is found).
# FUZZ_SAVE=1: after a harness's run, the inputs of its corpus that add
# coverage to seeds/NAME and regress/NAME (libFuzzer's -merge=1) become
# tests/fuzz/saved/NAME, committed, so that the next campaign, on another
# machine, starts where this one stopped; saved/NAME seeds every run and is
# replayed by FUZZ_REPLAY.
# Each run appends a line to $FUZZ_BUILD/campaign.tsv: harness, seconds,
# executions, cov, ft, corpus inputs, seconds into the run of the last cov
# gain, and how it ended (time, plateau, crash).
# FUZZ_REPLAY=1: no fuzzing; each harness is built and run once on every
# input of seeds/NAME and regress/NAME (make check's fuzz-regress: the
# harnesses still build against today's code, and no past finding is back).
# Exit 0 if no harness found a crash, 1 otherwise (crash files are kept in
# tests/fuzz/crash-NAME-*).
set -u
cd "$(dirname "$0")/../.." || exit 1
secs=${FUZZ_SECS:-60}
build=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-1}
plateau=${FUZZ_PLATEAU:-0}
helpers=${FUZZ_HELPERS:-0}
replay=${FUZZ_REPLAY:-0}
cc=${FUZZ_CC:-clang}
san="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
cflags="-g -O1 -std=c11 -Wno-include-next-absolute-path -D_GNU_SOURCE -DMAILLAB_VERSION=\"fuzz\" -iquote lib"
libs="-lssl -lcrypto -lsodium -lz -lresolv -lcrypt"

[ "$helpers" -gt 0 ] && [ "$jobs" -gt 1 ] && { echo "fuzz: FUZZ_HELPERS needs FUZZ_JOBS=1" >&2; exit 1; }
command -v "$cc" >/dev/null 2>&1 || { echo "fuzz: $cc not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
mkdir -p "$build/lib" || exit 1

# lib/ once, instrumented, as an archive (only what a harness uses is linked)
objs=""
for c in lib/*.c; do
	o="$build/lib/$(basename "$c" .c).o"
	if [ ! -f "$o" ] || [ "$c" -nt "$o" ] || [ -n "$(find lib -name '*.h' -newer "$o" 2>/dev/null | head -1)" ]; then
		$cc $cflags $san -c -o "$o" "$c" || exit 1
	fi
	objs="$objs $o"
done
rm -f "$build/libfuzz.a"
ar rcs "$build/libfuzz.a" $objs || exit 1

# One fuzzing process of the harness at hand ($bin, $dict, $corpus, $seeds)
# in the background: its log $1, the rest its extra options.  It runs in a
# process group of its own, so that the plateau stop reaches fork mode's
# workers too (its parent waits for them in system(), which ignores SIGINT).
fuzz_proc() {
	flog=$1; shift
	setsid "$bin" $dict -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
		"$@" ${FUZZ_ARGS:-} -print_final_stats=1 \
		-artifact_prefix="tests/fuzz/crash-$name-" "$corpus" $seeds \
		> "$flog" 2>&1 &
}

failed=0 ran=0
for h in tests/fuzz/fuzz_*.c; do
	[ -e "$h" ] || continue
	name=$(basename "$h" .c); name=${name#fuzz_}
	[ -n "${FUZZ_ONLY:-}" ] && [ "$FUZZ_ONLY" != "$name" ] && continue
	extra=$(sed -n 's/^.*FUZZ_EXTRA:[[:space:]]*//p' "$h" | head -1 | sed 's,[[:space:]]*\*/.*$,,')
	bin="$build/fuzz_$name"
	echo "== fuzz_$name: build"
	$cc $cflags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-o "$bin" "$h" $extra "$build/libfuzz.a" $libs || { failed=1; ran=$((ran + 1)); continue; }
	if [ "$replay" = 1 ]; then
		extra_seeds=""
		[ "$name" = mime ] && extra_seeds="tests/corpus/mime"
		files=$(find "tests/fuzz/seeds/$name" "tests/fuzz/regress/$name" "tests/fuzz/saved/$name" \
			$extra_seeds -type f \
			2>/dev/null | sort)
		log="$build/fuzz_$name.replay.log"
		# a harness with no seed runs 2,000 inputs of its own (fixed seed)
		if [ -n "$files" ]; then set -- $files; what="$# inputs replayed"
		else set -- -runs=2000 -seed=1; what="2,000 generated inputs run"; fi
		if ! "$bin" -timeout=20 -rss_limit_mb=2048 "$@" > "$log" 2>&1; then
			echo "fuzz_$name: FAILED (see $log)"
			grep -E "ERROR|SUMMARY|Running: " "$log" | tail -5
			failed=1
		else
			echo "fuzz_$name: ok, $what"
		fi
		ran=$((ran + 1))
		continue
	fi
	corpus="tests/fuzz/corpus-$name"
	mkdir -p "$corpus"
	seeds=""
	[ -d "tests/fuzz/seeds/$name" ] && seeds="tests/fuzz/seeds/$name"
	# past findings, kept as regression cases (tests/fuzz/regress/NAME/)
	[ -d "tests/fuzz/regress/$name" ] && seeds="$seeds tests/fuzz/regress/$name"
	# what an earlier campaign saved (FUZZ_SAVE)
	[ -d "tests/fuzz/saved/$name" ] && seeds="$seeds tests/fuzz/saved/$name"
	[ "$name" = mime ] && seeds="$seeds tests/corpus/mime"
	dict=""
	par=""
	[ "$jobs" -gt 1 ] && par="-fork=$jobs -ignore_timeouts=0 -ignore_ooms=0"
	[ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
	echo "== fuzz_$name: ${secs}s"
	start=$(date +%s)
	log="$build/fuzz_$name.log"
	fuzz_proc "$log" $par
	pid=$!
	hpids="" i=1
	while [ "$i" -le "$helpers" ]; do
		fuzz_proc "$build/fuzz_$name.helper$i.log"
		hpids="$hpids $!"
		i=$((i + 1))
	done
	# Watch the coverage: libFuzzer's status lines say "cov: N"; note when
	# it last grew and, with FUZZ_PLATEAU, stop the run once it is flat.
	best=0 gain=0 how=time
	while kill -0 $pid 2>/dev/null; do
		sleep 5
		cov=$(grep -o 'cov: [0-9]*' "$log" 2>/dev/null | tail -1 | cut -d' ' -f2)
		now=$(date +%s)
		if [ -n "$cov" ] && [ "$cov" -gt "$best" ]; then best=$cov gain=$((now - start)); fi
		if [ "$plateau" -gt 0 ] && [ $((now - start - gain)) -ge "$plateau" ] &&
		   [ $((now - start - gain)) -ge "$gain" ] &&
		   [ "$best" -gt 0 ]; then
			how=plateau
			kill -TERM -$pid 2>/dev/null
			break
		fi
	done
	wait $pid
	rc=$?
	# the helpers stop with the watched process; 72 is their exit on SIGTERM
	i=1
	for hp in $hpids; do
		kill -TERM -$hp 2>/dev/null
		wait $hp
		hrc=$?
		hlog="$build/fuzz_$name.helper$i.log"
		if [ $hrc -ne 0 ] && [ $hrc -ne 72 ]; then
			echo "fuzz_$name: helper $i FAILED (see $hlog)"
			grep -E "ERROR|SUMMARY|Test unit written" "$hlog" | head -5
			failed=1
		fi
		i=$((i + 1))
	done
	# 72 is libFuzzer's exit on SIGTERM: the plateau stop, not a finding
	# (fork mode's parent then leaves its work directory behind)
	if [ "$how" = plateau ]; then
		[ $rc -eq 72 ] && rc=0
		rm -rf "${TMPDIR:-/tmp}/libFuzzerTemp.FuzzWithFork$pid.dir"
	fi
	end=$(date +%s)
	# (fork mode's parent runs no input itself: its "#N:" lines count every worker's)
	if [ "$jobs" -gt 1 ]; then execs=""
	else execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1); fi
	[ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
	i=1
	while [ "$i" -le "$helpers" ]; do
		n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz_$name.helper$i.log" | tail -1)
		[ -n "$n" ] && [ -n "$execs" ] && execs=$((execs + n))
		i=$((i + 1))
	done
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	[ $rc -ne 0 ] && how=crash
	# A timeout that does not happen again is the machine's doing (the run
	# was stopped or starved), not the input's: replay it to be sure.
	if [ $rc -ne 0 ] && grep -q "ERROR: libFuzzer: timeout" "$log"; then
		unit=$(sed -n 's/^.*Test unit written to //p' "$log" | tail -1)
		if [ -f "$unit" ] && timeout 20 "$bin" "$unit" > /dev/null 2>&1; then
			echo "fuzz_$name: the timeout of $unit did not happen again (the run was held up): not a finding"
			rm -f "$unit"
			rc=0 how=held-up
		fi
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "fuzz_$name" $((end - start)) "${execs:-?}" \
		"$best" "${ft:-?}" "$(ls "$corpus" | wc -l)" "$gain" "$how" >> "$build/campaign.tsv"
	if [ $rc -ne 0 ]; then
		echo "fuzz_$name: FAILED after $((end - start))s (see $log)"
		grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -5
		failed=1
	else
		echo "fuzz_$name: ok, $((end - start))s ($how), ${execs:-?} runs, cov $best (last gain at ${gain}s), corpus $(ls "$corpus" | wc -l) inputs"
	fi
	if [ $rc -eq 0 ] && [ "${FUZZ_SAVE:-0}" = 1 ]; then
		# the seeds and past findings go first, under a prefix, as what is
		# already covered; what the merge adds to them is what is saved
		m="$build/merge-$name"
		rm -rf "$m" "tests/fuzz/saved/$name.new"
		mkdir -p "$m" "tests/fuzz/saved/$name.new" || exit 1
		for f in $(find "tests/fuzz/seeds/$name" "tests/fuzz/regress/$name" -type f 2>/dev/null); do
			cp "$f" "$m/seed-$(basename "$f")"
		done
		if "$bin" -merge=1 -timeout=20 -rss_limit_mb=2048 "$m" "$corpus" \
			$([ -d "tests/fuzz/saved/$name" ] && echo "tests/fuzz/saved/$name") > "$build/fuzz_$name.merge.log" 2>&1; then
			find "$m" -type f ! -name 'seed-*' -exec mv {} "tests/fuzz/saved/$name.new/" \;
			rm -rf "tests/fuzz/saved/$name" "$m"
			mv "tests/fuzz/saved/$name.new" "tests/fuzz/saved/$name"
			echo "fuzz_$name: saved $(ls "tests/fuzz/saved/$name" | wc -l) inputs in tests/fuzz/saved/$name"
		else
			echo "fuzz_$name: the merge failed (see $build/fuzz_$name.merge.log); saved/$name kept"
			rm -rf "tests/fuzz/saved/$name.new"
			failed=1
		fi
	fi
	ran=$((ran + 1))
done
[ $ran -gt 0 ] || { echo "fuzz: no harness" >&2; exit 1; }
exit $failed
