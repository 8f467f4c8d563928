#!/usr/bin/env bash
# Every benchmark in one command: direct mode beside microsocks and dante
# (direct.sh), 1 and 3 hops beside shadowsocks-libev and Tor (chains.sh), and
# the time to first byte through 3 hops over 10 ms links (rtt.sh), and 1
# worker against 2 (workers.sh); then the benchmark issue's targets, judged
# from their results (targets.py).
#
#   ROUNDS=3 tests/bench/all.sh      (about 35 minutes on 2 cores)
#   SMOKE=1  tests/bench/all.sh      (about 2 minutes: what CI runs)
#
# NACRE, ROUNDS, SMOKE, OUT_DIR, NO_INSTALL, TOR and every other setting of the
# three scripts pass through to them. Without NACRE one nacre is built, out of
# tree, for all three. Each script's output is shown and kept in
# OUT_DIR/all-STAMP-NAME.out, followed by a line "PASS|SKIP|FAIL: bench NAME";
# the verdicts go to OUT_DIR/targets-STAMP.json.
#
# Exit: 0 if every script passed or skipped (rtt.sh needs root for its network
# namespaces), 1 if one failed, 99 if nacre could not be built. Targets not
# reached do not fail the run: they are reported.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "$here/../.." && pwd)
OUT_DIR=${OUT_DIR:-/tmp/nacre-bench-results}
export OUT_DIR
mkdir -p "$OUT_DIR"
STAMP=$(date +%Y%m%d-%H%M%S)

if [ -z "${NACRE:-}" ]; then
	if [ -x ./nacre ]; then
		NACRE=$(pwd)/nacre
	else
		build=$OUT_DIR/all-$STAMP-build
		mkdir -p "$build"
		echo "building nacre under $build"
		(cd "$top_srcdir" && { [ -x configure ] || autoreconf -fi; }) >"$build.log" 2>&1 &&
			(cd "$build" && "$top_srcdir/configure" && make -j2 nacre) >>"$build.log" 2>&1 ||
			{ tail -n 20 "$build.log"; echo "ERROR: could not build nacre"; exit 99; }
		NACRE=$build/nacre
	fi
fi
export NACRE

failed=0
summaries=()
for b in direct chains rtt workers; do
	out=$OUT_DIR/all-$STAMP-$b.out
	echo "== $b.sh"
	"$here/$b.sh" </dev/null 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	case $rc in
	0) echo "PASS: bench $b ($(grep '^sanity:' "$out" | tail -n 1 || true))" ;;
	77) echo "SKIP: bench $b ($(tail -n 1 "$out"))" ;;
	*)
		echo "FAIL: bench $b (exit $rc)"
		failed=1
		;;
	esac
	json=$(sed -n 's/^summary: *//p' "$out" | tail -n 1)
	[ -n "$json" ] && [ -f "$json" ] && summaries+=("$json")
done

echo
echo "== the benchmark issue's targets (ratios of medians, each within one run)"
if [ "${#summaries[@]}" -gt 0 ]; then
	py=/usr/bin/python3
	[ -x "$py" ] || py=python3
	"$py" "$here/targets.py" --json "$OUT_DIR/targets-$STAMP.json" "${summaries[@]}" ||
		failed=1
	echo "verdicts: $OUT_DIR/targets-$STAMP.json"
else
	echo "no results to judge"
fi
exit $failed
