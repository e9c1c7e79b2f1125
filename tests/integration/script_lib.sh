# Helpers shared by the integration scripts (tests/integration/*.sh), sourced after
# `set -euo pipefail`:   source "$(dirname "$0")/script_lib.sh"

# script_setup ENGRAM SOURCE_DIR: sets $engram and $src, makes $work (a temporary directory
# removed when the script exits) and enters it.
script_setup() {
  engram=$1
  src=$2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cd "$work"
}

# expect_refused WHAT PATTERN ARGS...: runs `$engram ARGS...` and ends the script with an error
# unless it fails with PATTERN (a grep pattern) in its standard error. WHAT names the bad input in
# the message ("an unknown method").
expect_refused() {
  local what=$1 pattern=$2
  shift 2
  if "$engram" "$@" 2>"$work/refused.txt"; then
    echo "$what was accepted: engram $*" >&2
    exit 1
  fi
  if ! grep -q -- "$pattern" "$work/refused.txt"; then
    echo "$what was refused without saying '$pattern':" >&2
    cat "$work/refused.txt" >&2
    exit 1
  fi
}

# png_height FILE: prints the height of a PNG image (from its IHDR chunk); fails when FILE does
# not start with the PNG signature.
png_height() {
  if [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" != "89504e470d0a1a0a" ]; then
    echo "$1 is not a PNG file" >&2
    return 1
  fi
  od -An -tu1 -j 20 -N 4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'
}
