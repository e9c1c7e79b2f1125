#!/usr/bin/env bash
# The association and the neocortex in processes of their own (`engram serve association|
# neocortex`) over loopback tcp; their links to other modules travel back through the driver:
#  1. a short Split-MNIST run gives results identical to the all-threads run with (a) the
#     neocortex served, (b) the association served, (c) all three modules served, each by its
#     own process;
#  2. a snapshot of the all-served layout resumes in one process with the same continuation,
#     and a one-process snapshot resumes with all three served;
#  3. CURVE on for a served association: the right keys give the same results; a driver with a
#     key the module does not allow is refused, naming the module;
#  4. kill -9 of a served association makes the driver exit 1 naming "association" within 10 s.
# Every module binds an ephemeral port (tcp://127.0.0.1:*), so the test can run in parallel.
# Usage: serve_modules.sh ENGRAM_BINARY SOURCE_DIR
set -euo pipefail
engram=$1
src=$2
source "$src/tests/integration/serve_lib.sh"
serve_setup
script="$src/tests/integration/serve_learn.lua"
small=(--set tasks=2 --set iterations=30 --set batch=32 --set replay=32 --set hidden=64)

"$engram" run "$script" "${small[@]}" --set out="$work/threads.json" >/dev/null
grep -q '"codes_stored": [1-9]' "$work/threads.json" || fail "the all-threads run stored nothing"

# --- 1. (a) the neocortex served, (b) the association served, (c) all three ---
start_server neocortex neocortex
neocortex=$endpoint
neocortex_pid=$server_pid
start_server association association
association=$endpoint
association_pid=$server_pid
start_server hippocampus hippocampus
hippocampus=$endpoint
"$engram" run "$script" "${small[@]}" --set neocortex_at="$neocortex" --set out="$work/a.json" >/dev/null
same "$work/threads.json" "$work/a.json" "a served neocortex changed the results"
echo "1a. identical results with the neocortex in another process"
"$engram" run "$script" "${small[@]}" --set association_at="$association" --set out="$work/b.json" \
  >/dev/null
same "$work/threads.json" "$work/b.json" "a served association changed the results"
echo "1b. identical results with the association in another process"
all=(--set placement="$hippocampus" --set association_at="$association" --set neocortex_at="$neocortex")
"$engram" run "$script" "${small[@]}" "${all[@]}" --set out="$work/c.json" >/dev/null
same "$work/threads.json" "$work/c.json" "three served modules changed the results"
grep -q "adopted a driver's state" "$work/association.err" || fail "the association adopted nothing"
grep -q "adopted a driver's state" "$work/neocortex.err" || fail "the neocortex adopted nothing"
echo "1c. identical results with all three modules in other processes"

# --- 2. snapshots: all served -> one process, one process -> all served ---
"$engram" run "$script" "${small[@]}" "${all[@]}" --set stop_after=1 --set snapshot="$work/served.snap" \
  >/dev/null
"$engram" run "$script" "${small[@]}" --resume "$work/served.snap" --set out="$work/s2l.json" >/dev/null
same "$work/threads.json" "$work/s2l.json" "a snapshot of served modules resumed in one process differs"
"$engram" run "$script" "${small[@]}" --set stop_after=1 --set snapshot="$work/local.snap" >/dev/null
"$engram" run "$script" "${small[@]}" --resume "$work/local.snap" "${all[@]}" --set out="$work/l2s.json" \
  >/dev/null
same "$work/threads.json" "$work/l2s.json" "a one-process snapshot resumed with served modules differs"
echo "2. snapshots move between one process and four"
kill -TERM "$neocortex_pid"
wait "$neocortex_pid" || fail "engram serve neocortex did not exit 0 on SIGTERM"
grep -q "^neocortex served: messages in [1-9]" "$work/neocortex.out" || fail "serve printed no counters"

# --- 3. CURVE on the association's link ---
start_curve_server association
"$engram" run "$script" "${small[@]}" --set association_at="$endpoint" --set server_key="$server_key" \
  --set client_secret="$(read_key secret "$work/client.keys")" --set out="$work/curve.json" >/dev/null
same "$work/threads.json" "$work/curve.json" "CURVE on the association's link changed the results"
if "$engram" run "$script" "${small[@]}" --set association_at="$endpoint" --set server_key="$server_key" \
  --set client_secret="$(read_key secret "$work/intruder.keys")" --set timeout_ms=1500 \
  >/dev/null 2>"$work/intruder.err"; then
  fail "a driver with a key the association does not allow was served"
fi
grep -q "association" "$work/intruder.err" || fail "the refusal does not name the module: $(cat "$work/intruder.err")"
grep -qi "CURVE key" "$work/intruder.err" || fail "the refusal does not say why: $(cat "$work/intruder.err")"
kill -TERM "$server_pid"
wait "$server_pid" || true
grep -q "refused peers [1-9]" "$work/curve.out" || fail "serve's counters lack the refused peer"
echo "3. CURVE: same results with the association served; a wrong key refused and counted"

# --- 4. kill -9 of the served association: the driver exits 1 naming it within 10 s ---
"$engram" run "$script" --set tasks=2 --set iterations=100000 --set batch=32 --set replay=32 \
  --set hidden=64 --set association_at="$association" >"$work/long.out" 2>"$work/long.err" &
driver=$!
adoptions=$(grep -c "adopted a driver's state" "$work/association.err")
for _ in $(seq 300); do
  (($(grep -c "adopted a driver's state" "$work/association.err") > adoptions)) && break
  sleep 0.1
done
sleep 1  # learning by now
kill_served association "$association_pid" "$driver" "$work/long.err"
echo "4. kill -9: driver exit 1 in ${took} s: $(grep -o "lost module.*" "$work/long.err" | head -1)"
echo "serve_modules: all checks passed"
