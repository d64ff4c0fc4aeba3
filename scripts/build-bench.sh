#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the guest-side benchmarks (bench/) against the test kernel's uapi
# headers.  Output: build/bench/.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
[ -d "$BUILD/obj/usr/include" ] ||
	make -s -C "$BUILD/linux" O="$BUILD/obj" headers
mkdir -p "$BUILD/bench"
make -s -C "$TOP/bench" OUTPUT="$BUILD/bench" \
	KHDR_INCLUDES="-isystem $BUILD/obj/usr/include"
