#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the guest-side benchmarks (bench/) against the test kernel's uapi
# headers, output build/bench/ (with bench/vfio_pin_swap.sh); and the
# native (host) clear_page benchmark (bench/clear_page/) from
# mm/clear_page_sse.c and the kernel tree's clear_page_64.S, output
# build/bench-native/.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
[ -d "$BUILD/obj/usr/include" ] ||
	make -s -C "$BUILD/linux" O="$BUILD/obj" headers
mkdir -p "$BUILD/bench"
make -s -C "$TOP/bench" OUTPUT="$BUILD/bench" \
	KHDR_INCLUDES="-isystem $BUILD/obj/usr/include"
# The stock/fastboot vfio_iommu_type1 comparison: its guest side, and
# 6.12's own module built for the test kernel (the before side).
install -m 0755 "$TOP/bench/vfio_pin_swap.sh" "$BUILD/bench/"
"$TOP/scripts/dropin-prepare.sh" --stock --source "$BUILD/pristine" \
	--out "$BUILD/dropin-stock" --kdir "$BUILD/obj" --build > /dev/null
install -m 0644 "$BUILD/dropin-stock/vfio_iommu_type1.ko" \
	"$BUILD/bench/stock-vfio_iommu_type1.ko"
mkdir -p "$BUILD/bench-native"
make -s -C "$TOP/bench/clear_page" OUTPUT="$BUILD/bench-native" BUILD="$BUILD"
