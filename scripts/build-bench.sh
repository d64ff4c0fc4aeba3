#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the guest-side benchmarks (bench/) against the test kernel's uapi
# headers, output build/bench/; and the native (host) clear_page benchmark
# (bench/clear_page/) from mm/clear_page_sse.c and the kernel tree's
# clear_page_64.S, output build/bench-native/.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
[ -d "$BUILD/obj/usr/include" ] ||
	make -s -C "$BUILD/linux" O="$BUILD/obj" headers
mkdir -p "$BUILD/bench"
make -s -C "$TOP/bench" OUTPUT="$BUILD/bench" \
	KHDR_INCLUDES="-isystem $BUILD/obj/usr/include"
mkdir -p "$BUILD/bench-native"
make -s -C "$TOP/bench/clear_page" OUTPUT="$BUILD/bench-native" BUILD="$BUILD"
