#!/usr/bin/env bash
# scripts/bench.sh: the issue-8 performance budget measured on the real
# binary against a separate emulator process (on the same machine, so the
# emulator's CPU competes with opsdeck's: the Go benchmarks measure each
# side alone, see the README's Performance table).
#
#   scripts/bench.sh                     # 1,000,000 jobs (several minutes)
#   N=100000 scripts/bench.sh            # quick check
#   INCR=0 scripts/bench.sh              # skip the incremental sync (it waits for new jobs)
#
# Environment:
#   N          jobs the emulator serves (default 1000000)
#   WORK       working directory (default: a new one under ${TMPDIR:-/tmp}, removed at the end)
#   KEEP=1     keep WORK (the cache) afterwards
#   INCR       new jobs to wait for before the incremental sync (default 1000;
#              the emulator's live mode adds 5 a second, so 1000 is ~200 s; 0 skips)
#   PORT       emulator port (default 18089)
#   BIN        an opsdeck binary to measure instead of building one (e.g. an older build)
#
# Steps: build the binary; start `opsdeck emulator --scale N --live`; time
# `opsdeck sync --sources jobs` into an empty cache (rows/s); wait until
# INCR new jobs exist and time a second (incremental) sync; time
# `opsdeck query jobs --filter 'state eq "ERRORED"' -o jsonl` (rows/s and
# peak RSS with /usr/bin/time -v); print a summary table. Each step runs
# once: the machine is shared, so the table also prints the load average.
set -euo pipefail

N=${N:-1000000}
INCR=${INCR:-1000}
PORT=${PORT:-18089}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z "${WORK:-}" ]]; then
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/opsdeck-bench.XXXXXX")
	[[ "${KEEP:-0}" == 1 ]] || trap 'cleanup; rm -rf "$WORK"' EXIT
else
	mkdir -p "$WORK"
	trap cleanup EXIT
fi
EMU_PID=""
cleanup() {
	if [[ -n "$EMU_PID" ]] && kill -0 "$EMU_PID" 2>/dev/null; then
		kill "$EMU_PID" 2>/dev/null || true
		wait "$EMU_PID" 2>/dev/null || true
	fi
}

CACHE=$WORK/bench.db
TIME=/usr/bin/time
[[ -x $TIME ]] || { echo "bench.sh needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }

# A private config and data home: no user profile or cache is touched.
export XDG_CONFIG_HOME=$WORK/config XDG_DATA_HOME=$WORK/data
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"

load() { cut -d' ' -f1-3 /proc/loadavg; }
# field NAME FILE: a value from /usr/bin/time -v output.
field() { grep -F "$1" "$2" | head -1 | sed 's/.*: //'; }
# secs "h:mm:ss" or "m:ss.cc" -> seconds
secs() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }' <<<"$1"; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "n/a" }'; }
# cpu_of PID: user+system CPU seconds the process has used so far.
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
jobs_in_cache() { sqlite3 "file:$CACHE?mode=ro" 'SELECT count(*) FROM jobs' 2>/dev/null || echo 0; }

if [[ -z "${BIN:-}" ]]; then
	BIN=$WORK/opsdeck
	echo "== build ($(load))"
	(cd "$ROOT" && go build -o "$BIN" .)
fi

echo "== emulator: $N jobs, live mode ($(load))"
TOKEN=bench-$RANDOM$RANDOM
"$BIN" emulator --scale "$N" --addr "127.0.0.1:$PORT" --token "$TOKEN" --live >"$WORK/emulator.out" 2>"$WORK/emulator.err" &
EMU_PID=$!
for _ in $(seq 1 600); do
	grep -q VEZA_URL "$WORK/emulator.out" 2>/dev/null && break
	kill -0 "$EMU_PID" 2>/dev/null || { cat "$WORK/emulator.err" >&2; exit 1; }
	sleep 0.1
done
export VEZA_URL="http://127.0.0.1:$PORT" VEZA_TOKEN=$TOKEN

echo "== initial sync ($(load))"
LOAD_SYNC=$(load)
EMU_CPU0=$(cpu_of "$EMU_PID")
$TIME -v "$BIN" sync --cache "$CACHE" --sources jobs --plain 2>"$WORK/sync1.err" >/dev/null ||
	{ tail -20 "$WORK/sync1.err" >&2; exit 1; }
SYNC_S=$(secs "$(field 'Elapsed (wall clock)' "$WORK/sync1.err")")
SYNC_RSS=$(field 'Maximum resident set size' "$WORK/sync1.err")
SYNC_CPU=$(awk -v u="$(field 'User time' "$WORK/sync1.err")" -v s="$(field 'System time' "$WORK/sync1.err")" 'BEGIN { print u + s }')
LOAD_SYNC="$LOAD_SYNC → $(load)"
EMU_CPU=$(awk -v a="$EMU_CPU0" -v b="$(cpu_of "$EMU_PID")" 'BEGIN { printf "%.1f", b - a }')
ROWS1=$(jobs_in_cache)
grep -E '^jobs: (done|.*building indexes)' "$WORK/sync1.err" || true
echo "   $ROWS1 jobs in ${SYNC_S}s"

INCR_S="skipped" INCR_NEW=0 LOAD_INCR=""
if [[ "$INCR" -gt 0 ]]; then
	# Live mode adds 5 jobs a second after the emulator's start; wait until
	# INCR more exist than the cache holds (the sync itself took a while).
	wait_s=$(awk -v n="$INCR" 'BEGIN { printf "%d", n / 5 + 1 }')
	echo "== waiting ${wait_s}s for $INCR new jobs ($(load))"
	sleep "$wait_s"
	LOAD_INCR=$(load)
	$TIME -v "$BIN" sync --cache "$CACHE" --sources jobs --plain 2>"$WORK/sync2.err" >/dev/null ||
		{ tail -20 "$WORK/sync2.err" >&2; exit 1; }
	INCR_S=$(secs "$(field 'Elapsed (wall clock)' "$WORK/sync2.err")")
	LOAD_INCR="$LOAD_INCR → $(load)"
	ROWS2=$(jobs_in_cache)
	INCR_NEW=$((ROWS2 - ROWS1))
	grep -E '^jobs: done' "$WORK/sync2.err" || true
	echo "   $INCR_NEW new jobs in ${INCR_S}s"
fi
cleanup

echo "== query jsonl ($(load))"
LOAD_QUERY=$(load)
$TIME -v "$BIN" query jobs --cache "$CACHE" --filter 'state eq "ERRORED"' -o jsonl 2>"$WORK/query.err" | wc -l >"$WORK/query.count"
QROWS=$(tr -d ' ' <"$WORK/query.count")
Q_S=$(secs "$(field 'Elapsed (wall clock)' "$WORK/query.err")")
Q_RSS=$(field 'Maximum resident set size' "$WORK/query.err")
LOAD_QUERY="$LOAD_QUERY → $(load)"

echo
echo "| measure | result | goal | load (1/5/15 min, start → end) |"
echo "|---|---|---|---|"
echo "| initial sync, $ROWS1 jobs with payloads, emulator process → cache | $(rate "$ROWS1" "$SYNC_S") rows/s (${SYNC_S} s; opsdeck CPU ${SYNC_CPU} s = $(rate "$ROWS1" "$SYNC_CPU") rows/cpu-s; peak RSS $((SYNC_RSS / 1024)) MB; emulator CPU ${EMU_CPU} s) | ≥ 25k rows/s | $LOAD_SYNC |"
if [[ "$INCR" -gt 0 ]]; then
	echo "| incremental sync after $INCR_NEW new jobs | ${INCR_S} s | < 1 s | $LOAD_INCR |"
fi
echo "| query jobs --filter 'state eq \"ERRORED\"' -o jsonl, $QROWS rows | $(rate "$QROWS" "$Q_S") rows/s (${Q_S} s), peak RSS $((Q_RSS / 1024)) MB | ≥ 100k rows/s, constant memory | $LOAD_QUERY |"
if [[ "${KEEP:-0}" == 1 ]]; then
	echo
	echo "cache kept: $CACHE"
fi
