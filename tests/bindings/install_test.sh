#!/bin/sh
# Installs engram into a temporary prefix, then builds examples/host_app.c against the
# installed package twice, with CMake's find_package(engram) and with pkg-config, and runs both
# builds: a short control loop that must learn (accuracy >= 0.75 in its last second: above the 0.5 of a learner that forgot task 0).
#   install_test.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/engram-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
test -f "$prefix/include/engram.h"
test -f "$prefix/lib/cmake/engram/engramConfig.cmake"

echo "== find_package(engram)"
cmake -S "$src/examples" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
"$work/cmake/host_app" --hz 200 --seconds 6 --min-accuracy 0.75 --snapshot "$work/app.engram"
test -s "$work/app.engram"

echo "== pkg-config engram"
pcdir=$(dirname "$(find "$prefix" -name engram.pc)")
export PKG_CONFIG_PATH=$pcdir
libdir=$(pkg-config --variable=libdir engram)
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror -o "$work/host_app_pc" "$src/examples/host_app.c" \
  $(pkg-config --cflags --libs engram) -Wl,-rpath,"$libdir"
"$work/host_app_pc" --hz 200 --seconds 6 --min-accuracy 0.75
