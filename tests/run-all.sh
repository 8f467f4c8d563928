#!/bin/sh
# Everything CI checks, from a fresh Debian 12 to a verdict:
#   1. installs what is missing (Debian packages),
#   2. builds with warnings as errors and runs `make check`,
#   3. builds again with ASan+UBSan and runs `make check` again,
#   4. builds the libFuzzer targets with clang and runs each for a while,
#   5. runs each benchmark in its smoke mode (a few seconds: it must not rot;
#      its figures are not judged here),
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

# Benchmarks, smoke mode: each installs its peers, runs one short round and
# ends "sanity: N passed, N failed"; exit 77 means it cannot run here.
nacre_bin="$top/_build/plain/nacre"
for b in direct chains rtt; do
	out="$top/_build/bench-$b.out"
	echo "== bench smoke: $b"
	SMOKE=1 NACRE="$nacre_bin" timeout 900 "$top/tests/bench/$b.sh" >"$out" 2>&1 </dev/null
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "PASS: bench $b ($(grep '^sanity:' "$out" | tail -n 1))"
		passed=$((passed + 1))
	elif [ "$rc" -eq 77 ]; then
		echo "SKIP: bench $b ($(tail -n 1 "$out"))"
		skipped=$((skipped + 1))
	else
		echo "FAIL: bench $b (exit $rc)"
		tail -n 40 "$out"
		failed=$((failed + 1))
	fi
done

echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
