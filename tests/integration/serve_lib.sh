# Helpers shared by the scripts that start `engram serve` processes (tests/integration/serve_*.sh,
# tests/bench/bench_remote_hippocampus.sh, tests/bench/bench_served_modules.sh), sourced after
# `set -euo pipefail` and after setting $engram:   source "$src/tests/integration/serve_lib.sh"

# serve_setup: makes $work (a temporary directory) and $servers (the pids of the servers
# started); when the script exits, every server still listed is killed and $work removed.
serve_setup() {
  work=$(mktemp -d)
  servers=()
  trap serve_cleanup EXIT
}
serve_cleanup() {
  for pid in "${servers[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}

# fail MESSAGE...: ends the script with "FAIL: MESSAGE".
fail() {
  echo "FAIL: $*"
  exit 1
}

# start_server MODULE NAME [ARGS...]: starts `engram serve MODULE` on a free loopback port
# (further arguments go to engram serve), its output in $work/NAME.out and $work/NAME.err; sets
# $endpoint (as it printed it) and $server_pid. Fails the script when the server exits or does
# not report its endpoint within 20 s.
start_server() {
  local module=$1 name=$2
  shift 2
  : >"$work/$name.out"  # sed may look before the background process opens it
  "$engram" serve "$module" --bind 'tcp://127.0.0.1:*' "$@" >"$work/$name.out" 2>"$work/$name.err" &
  server_pid=$!
  servers+=("$server_pid")
  for _ in $(seq 200); do
    endpoint=$(sed -n "s/^serving $module on \([^ ]*\) .*/\1/p" "$work/$name.out")
    [[ -n "$endpoint" ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || fail "engram serve $module exited: $(cat "$work/$name.err")"
    sleep 0.1
  done
  fail "engram serve $module did not report its endpoint"
}

# read_key NAME FILE: the key printed as "NAME KEY" by `engram keygen` into FILE.
read_key() { sed -n "s/^$1 //p" "$2"; }

# start_curve_server MODULE: makes three key pairs ($work/{server,client,intruder}.keys) and a
# $work/serve.json that allows only the client's key, then starts `engram serve MODULE` with it
# as the server "curve" (start_server) and checks it says CURVE is on; sets $server_key (the
# server's public key) besides $endpoint and $server_pid.
start_curve_server() {
  local module=$1
  "$engram" keygen >"$work/server.keys"
  "$engram" keygen >"$work/client.keys"
  "$engram" keygen >"$work/intruder.keys"
  cat >"$work/serve.json" <<JSON
{"curve": {"server_secret_key": "$(read_key secret "$work/server.keys")",
           "allowed_client_keys": ["$(read_key public "$work/client.keys")"]}}
JSON
  start_server "$module" curve --config "$work/serve.json"
  grep -q "(CURVE on)" "$work/curve.out" || fail "CURVE is not on"
  server_key=$(read_key public "$work/server.keys")
}

# stop_servers: stops every server started (SIGTERM: each prints its counters) and waits for them.
stop_servers() {
  for pid in "${servers[@]}"; do
    kill -TERM "$pid"
    wait "$pid"
  done
  servers=()
}

# values RESULTS_JSON: the results of a run (tests/integration/serve_learn.lua) without its
# wall-clock and layout-dependent figures, one value a line.
values() {
  /usr/bin/python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r.pop("seconds", None)
r.pop("hippocampus_bytes", None)  # counted only where the hippocampus is a thread
r.pop("module_bytes", None)  # counted over the modules that are threads
print(json.dumps(r, sort_keys=True, indent=0))
PY
}

# same A.json B.json MESSAGE: fails with MESSAGE (and the difference) unless the two runs'
# values are identical.
same() {
  values "$1" >"$work/a.txt"
  values "$2" >"$work/b.txt"
  if ! cmp -s "$work/a.txt" "$work/b.txt"; then
    diff "$work/a.txt" "$work/b.txt" || true
    fail "$3"
  fi
}

# kill_served MODULE SERVER_PID DRIVER_PID DRIVER_ERR: kills a served module (SIGKILL) while a
# driver learns with it, and fails the script unless the driver exits 1 within 10 s with an
# error naming the module (in DRIVER_ERR); sets $took, the seconds it took.
kill_served() {
  local module=$1 server=$2 driver=$3 err=$4 rc=0 killed
  kill -0 "$driver" 2>/dev/null || fail "the driver ended early: $(cat "$err")"
  kill -9 "$server"
  killed=$(date +%s.%N)
  for _ in $(seq 150); do
    kill -0 "$driver" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$driver" 2>/dev/null; then
    kill -9 "$driver"
    fail "the driver still runs 15 s after the $module died"
  fi
  wait "$driver" || rc=$?
  took=$(echo "$(date +%s.%N) - $killed" | bc)
  [[ $rc -eq 1 ]] || fail "the driver exited $rc, expected 1: $(cat "$err")"
  grep -q "module '$module'" "$err" || fail "the error does not name the $module: $(cat "$err")"
  (($(echo "$took < 10" | bc))) || fail "the driver took $took s to notice"
}
