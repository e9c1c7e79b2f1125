#!/usr/bin/env bash
# The hippocampus in a process of its own (`engram serve hippocampus`) over loopback tcp:
#  1. a short Split-MNIST run gives results identical to the all-threads run;
#  2. the same with CURVE on, and a driver with a key the module does not allow is refused (the
#     driver exits 1 naming the module, the module counts the refused peer);
#  3. kill -9 of the module process makes the driver exit 1 naming the module within 10 s;
#  4. snapshots move between one process and two: a run snapshotted with a remote hippocampus
#     and resumed in one process, and the reverse, both equal the run never interrupted;
#  5. bad placement and bind settings are refused with clear messages (exit 2 / 1).
# Every module binds an ephemeral port (tcp://127.0.0.1:*), so the test can run in parallel.
# Usage: serve_hippocampus.sh ENGRAM_BINARY SOURCE_DIR
set -euo pipefail
engram=$1
src=$2
source "$src/tests/integration/serve_lib.sh"
serve_setup
script="$src/tests/integration/serve_learn.lua"
small=(--set tasks=2 --set iterations=30 --set batch=32 --set replay=32 --set hidden=64)

# --- 1. threads vs a process over loopback tcp ---
"$engram" run "$script" "${small[@]}" --set out="$work/threads.json" >/dev/null
start_server hippocampus plain
"$engram" run "$script" "${small[@]}" --set placement="$endpoint" --set out="$work/process.json" \
  >/dev/null
same "$work/threads.json" "$work/process.json" "a hippocampus in another process changed the results"
grep -q '"codes_stored": [1-9]' "$work/process.json" || fail "the remote hippocampus stored nothing"
echo "1. identical results with the hippocampus in another process ($endpoint)"

# --- 4. snapshots: two processes -> one, one -> two ---
"$engram" run "$script" "${small[@]}" --set placement="$endpoint" --set stop_after=1 \
  --set snapshot="$work/remote.snap" >/dev/null
"$engram" run "$script" "${small[@]}" --resume "$work/remote.snap" --set out="$work/r2l.json" >/dev/null
same "$work/threads.json" "$work/r2l.json" "a snapshot with a remote hippocampus resumed in one process differs"
"$engram" run "$script" "${small[@]}" --set stop_after=1 --set snapshot="$work/local.snap" >/dev/null
"$engram" run "$script" "${small[@]}" --resume "$work/local.snap" --set placement="$endpoint" \
  --set out="$work/l2r.json" >/dev/null
same "$work/threads.json" "$work/l2r.json" "a one-process snapshot resumed with a remote hippocampus differs"
"$engram" inspect "$work/remote.snap" | grep -q "codes per task:" || fail "inspect of the remote snapshot"
kill -TERM "$server_pid"
wait "$server_pid" || fail "engram serve did not exit 0 on SIGTERM"
grep -q "^hippocampus served: messages in [1-9]" "$work/plain.out" || fail "serve printed no counters"
# The module restarted (a new process, another port): resuming from the last snapshot goes on.
start_server hippocampus restarted
"$engram" run "$script" "${small[@]}" --resume "$work/remote.snap" --set placement="$endpoint" \
  --set out="$work/restarted.json" >/dev/null
same "$work/threads.json" "$work/restarted.json" "resuming with a restarted module differs"
kill -TERM "$server_pid"
wait "$server_pid" || true
echo "4. snapshots move between one process and two, and resume with a restarted module"

# --- 2. CURVE: the right keys give the same results; a wrong client key is refused ---
start_curve_server hippocampus
"$engram" run "$script" "${small[@]}" --set placement="$endpoint" --set server_key="$server_key" \
  --set client_secret="$(read_key secret "$work/client.keys")" --set out="$work/curve.json" >/dev/null
same "$work/threads.json" "$work/curve.json" "CURVE changed the results"
start=$(date +%s.%N)
if "$engram" run "$script" "${small[@]}" --set placement="$endpoint" --set server_key="$server_key" \
  --set client_secret="$(read_key secret "$work/intruder.keys")" >/dev/null 2>"$work/intruder.err"; then
  fail "a driver with a key the module does not allow was served"
fi
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
grep -q "hippocampus" "$work/intruder.err" || fail "the refusal does not name the module: $(cat "$work/intruder.err")"
grep -qi "CURVE key" "$work/intruder.err" || fail "the refusal does not say why: $(cat "$work/intruder.err")"
for _ in $(seq 20); do grep -q "refused" "$work/curve.err" && break; sleep 0.1; done
grep -q "refused [0-9]* peer" "$work/curve.err" || fail "the module did not count the refused peer: $(cat "$work/curve.err")"
# Without CURVE at the driver, the handshake fails too.
if "$engram" run "$script" "${small[@]}" --set placement="$endpoint" >/dev/null 2>"$work/plain.err"; then
  fail "a driver without CURVE was served by a CURVE module"
fi
grep -q "hippocampus" "$work/plain.err" || fail "no module named: $(cat "$work/plain.err")"
kill -TERM "$server_pid"
wait "$server_pid" || true
grep -q "refused peers [1-9]" "$work/curve.out" || fail "serve's counters lack the refused peers"
echo "2. CURVE: same results; a wrong key refused in ${elapsed} s and counted"

# --- 3. kill -9 of the module process: the driver exits 1 naming it within 10 s ---
start_server hippocampus victim
"$engram" run "$script" --set tasks=2 --set iterations=100000 --set batch=32 --set replay=32 \
  --set hidden=64 --set placement="$endpoint" >"$work/long.out" 2>"$work/long.err" &
driver=$!
for _ in $(seq 300); do grep -q "adopted a driver's state" "$work/victim.err" && break; sleep 0.1; done
grep -q "adopted a driver's state" "$work/victim.err" || fail "the driver never reached the module"
sleep 1  # learning by now
kill_served hippocampus "$server_pid" "$driver" "$work/long.err"
echo "3. kill -9: driver exit 1 in ${took} s: $(grep -o "lost module.*" "$work/long.err" | head -1)"

# --- 5. refused settings ---
expect_refused() {  # expected exit code, a word of the message, the command...
  local code=$1 word=$2
  shift 2
  local rc=0
  "$@" >/dev/null 2>"$work/refused.err" || rc=$?
  [[ $rc -eq $code ]] || fail "'$*' exited $rc, expected $code: $(cat "$work/refused.err")"
  grep -q -- "$word" "$work/refused.err" || fail "'$*' did not say '$word': $(cat "$work/refused.err")"
}
expect_refused 2 "refusing to serve it unencrypted" "$engram" serve hippocampus --bind tcp://0.0.0.0:5799
expect_refused 2 "refusing to serve it unencrypted" "$engram" serve hippocampus --bind 'tcp://*:5799'
expect_refused 2 "unknown module" "$engram" serve cortex
expect_refused 2 "port" "$engram" serve hippocampus --bind tcp://127.0.0.1:99999
expect_refused 2 "inproc" "$engram" serve hippocampus --bind inproc://x
expect_refused 1 "leaves this machine" "$engram" run "$script" "${small[@]}" --set placement=tcp://10.1.2.3:5701
cat >"$work/place_association.lua" <<'LUA'
engram.runtime { dataset = engram.dataset("mnist"), tasks = 1,
                 placement = { association = "tcp://10.1.2.3:5701" } }
LUA
expect_refused 1 "runtime.placement.association" "$engram" run "$work/place_association.lua"
expect_refused 1 "expected tcp://HOST:PORT" "$engram" run "$script" "${small[@]}" --set placement=hippo:5701
# Nobody serves there: the driver gives up within the heartbeat timeout, naming the module.
start=$(date +%s.%N)
expect_refused 1 "module 'hippocampus'" "$engram" run "$script" "${small[@]}" \
  --set placement=tcp://127.0.0.1:9 --set timeout_ms=1500
echo "5. bad settings refused; an absent module noticed in $(echo "$(date +%s.%N) - $start" | bc) s"
echo "serve_hippocampus: all checks passed"
