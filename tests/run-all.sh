#!/bin/sh
# Everything CI checks, from a fresh Debian 12 to a verdict:
#   1. installs what is missing (Debian packages),
#   2. builds with warnings as errors and runs `make check`,
#   3. builds again with ASan+UBSan and runs `make check` again,
#   4. builds the libFuzzer targets with clang and runs each for a while,
#   5. runs the benchmarks' one command (tests/bench/all.sh) in smoke mode (a
#      few seconds each: they must not rot; the figures are reported, not
#      judged),
#   6. prints "N passed, N failed".
# FUZZ_SECONDS sets how long each fuzz target runs (default 60).
# For a quick loop while coding, `make check` in a build directory is enough.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
fuzz_seconds=${FUZZ_SECONDS:-60}

./contrib/install-deps.sh test || exit 1
autoreconf -fi >/dev/null 2>&1 || { echo "autoreconf failed"; autoreconf -fi; exit 1; }

passed=0
failed=0
skipped=0

# Adds the counts from an automake test-suite summary to the totals.
tally() {
	log=$1
	p=$(sed -n 's/^# PASS: *//p' "$log" | tail -n 1)
	f=$(sed -n 's/^# FAIL: *//p' "$log" | tail -n 1)
	e=$(sed -n 's/^# ERROR: *//p' "$log" | tail -n 1)
	x=$(sed -n 's/^# XPASS: *//p' "$log" | tail -n 1)
	s=$(sed -n 's/^# SKIP: *//p' "$log" | tail -n 1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${e:-0} + ${x:-0}))
	skipped=$((skipped + ${s:-0}))
	if [ -z "$p" ]; then
		echo "no test summary in $log: counting the run as failed"
		failed=$((failed + 1))
	fi
}

# run_suite NAME CONFIGURE-ARGS...
run_suite() {
	name=$1
	shift
	dir="$top/_build/$name"
	rm -rf "$dir"
	mkdir -p "$dir"
	echo "== $name: configure $*"
	if ! (cd "$dir" && "$top/configure" --enable-werror "$@" >configure.out 2>&1); then
		cat "$dir/configure.out"
		failed=$((failed + 1))
		return
	fi
	echo "== $name: make"
	if ! (cd "$dir" && make -j"$jobs" >make.out 2>&1); then
		tail -n 60 "$dir/make.out"
		failed=$((failed + 1))
		return
	fi
	echo "== $name: make check"
	(cd "$dir" && make -j"$jobs" check >check.out 2>&1)
	grep -E '^(PASS|FAIL|ERROR|SKIP|XPASS|XFAIL):' "$dir/check.out" | grep -vE '^PASS:' || true
	grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' "$dir/check.out" | tr '\n' ' '
	echo
	if grep -qE '^(FAIL|ERROR|XPASS):' "$dir/check.out"; then
		# Show each failed test's own log.
		for t in $(sed -nE 's/^(FAIL|ERROR|XPASS): ([^ ]+).*/\2/p' "$dir/check.out" | sort -u); do
			for f in "$dir/$t.log" "$dir/${t%.sh}.log"; do
				[ -f "$f" ] && { echo "---- $f"; tail -n 80 "$f"; break; }
			done
		done
	fi
	tally "$dir/check.out"
}

run_suite plain
run_suite sanitizers --enable-sanitizers

# Fuzzing: every target for a bounded time on a copy of its seed corpus.
if command -v clang >/dev/null; then
	dir="$top/_build/fuzz"
	rm -rf "$dir"
	mkdir -p "$dir"
	echo "== fuzz: configure CC=clang --enable-fuzzing"
	if (cd "$dir" && "$top/configure" CC=clang --enable-fuzzing >configure.out 2>&1 &&
		make -j"$jobs" libnacreproto.a >make.out 2>&1); then
		for src in "$top"/tests/fuzz/fuzz_*.c; do
			t=$(basename "$src" .c)
			corpus="$dir/corpus-$t"
			cp -r "$top/tests/fuzz/corpus/$t" "$corpus"
			if (cd "$dir" && make "tests/fuzz/$t" >>make.out 2>&1) &&
				LSAN_OPTIONS="suppressions=$top/tests/fuzz/lsan.supp:print_suppressions=0" \
					"$dir/tests/fuzz/$t" -max_total_time="$fuzz_seconds" -timeout=10 \
					-rss_limit_mb=2048 "$corpus" >"$dir/$t.out" 2>&1; then
				echo "PASS: fuzz $t ($(grep -o 'Done [0-9]* runs' "$dir/$t.out" | tail -n 1))"
				passed=$((passed + 1))
			else
				echo "FAIL: fuzz $t"
				tail -n 40 "$dir/$t.out" 2>/dev/null || tail -n 40 "$dir/make.out"
				failed=$((failed + 1))
			fi
		done
	else
		tail -n 40 "$dir/configure.out" "$dir/make.out" 2>/dev/null
		failed=$((failed + 1))
	fi
else
	echo "clang not installed: fuzzing skipped"
	skipped=$((skipped + 1))
fi

# Benchmarks, smoke mode, through the one command README.md gives: each
# installs its peers, runs one short round and ends "sanity: N passed, N
# failed"; all.sh reports each as PASS, SKIP (it cannot run here) or FAIL,
# then judges the targets from the short results (a report, not a test).
out="$top/_build/bench-all.out"
echo "== bench smoke: tests/bench/all.sh"
SMOKE=1 NACRE="$top/_build/plain/nacre" OUT_DIR="$top/_build/bench-results" \
	timeout 2700 "$top/tests/bench/all.sh" >"$out" 2>&1 </dev/null
rc=$?
for b in direct chains rtt workers; do
	line=$(grep -E "^(PASS|SKIP|FAIL): bench $b " "$out" | tail -n 1)
	case $line in
	PASS:*) passed=$((passed + 1)) ;;
	SKIP:*) skipped=$((skipped + 1)) ;;
	*)
		line=${line:-"FAIL: bench $b (no verdict; all.sh exit $rc)"}
		failed=$((failed + 1))
		;;
	esac
	echo "$line"
done
sed -n '/^== the benchmark issue/,$p' "$out"
[ "$rc" -eq 0 ] || { echo "all.sh exit $rc:"; tail -n 40 "$out"; }

echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
