#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: build what is missing and print, with RESULT lines:
#  1. huge page clearing on this machine's CPU, 6.12's way against
#     fastboot's clear_huge_page=auto (bench/clear_page, native: the
#     kernel's own clearing code, measured side by side in one run);
#  2. what a VM's start costs in the patched kernel under QEMU
#     (bench/vfio_map_bench);
#  3. preallocating hugetlb memory from a pre-zeroed pool against the same
#     pool with prezero=0, in that guest (bench/prezero_bench), and the
#     estimate for this CPU (bench/prezero_estimate.awk);
#  4. mapping guest memory for a passthrough device: a synchronous
#     VFIO_IOMMU_MAP_DMA against VFIO_DMA_MAP_FLAG_DEFER and the background
#     workers (bench/vfio_defer_bench), and 6.12's vfio_iommu_type1.ko
#     against ours for synchronous pinning (bench/vfio_pin_swap.sh);
#  5. resizing the guest with the balloon: 6.12's virtio_balloon against
#     virtio_balloon_2m, moved between them in the same guest
#     (bench/balloon_bench);
#  6. starting a VM with a passthrough device, nested: the patched QEMU
#     in the test guest with the fastboot properties off and on, start
#     time per memory size, and its plot (scripts/nested-bench.sh).
# DEMO_MEM (guest RAM, 2G), DEMO_MIB (memory measured in the guest, 256),
# DEMO_PREZERO_MIB (hugetlb preallocation sizes, 256,1024),
# DEMO_CLEAR_MIB (buffer for the clearing figures, 1024: far larger than
# the last-level cache), DEMO_DEFER_MIB (deferred map sizes, 64,1024),
# DEMO_BALLOON_MIB (balloon sizes, 128,1024), DEMO_NESTED_MIB (nested
# VM sizes, 256,1024,4096,8192), DEMO_NESTED_BACKING (anon,hugetlb).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}

"$TOP/scripts/prepare.sh"

echo "== Clearing huge pages on this CPU: 6.12 against clear_huge_page=auto"
out=$("$BUILD/bench-native/clear_page_bench" -s "${DEMO_CLEAR_MIB:-1024}" -r 3)
echo "$out" | grep -E '^(cpu|l3):|^calibrate '
# The figures, from the benchmark's RESULT lines.
echo "$out" | awk '
/^auto = / { pick = $3; sub(/;$/, "", pick) }
/^RESULT / { r[$2] = $3 }
function row(what, before, after, unit, better,	gain) {
	if (!(before in r) || !(after in r))
		return
	gain = r[after] / r[before]
	if (better == "down")
		gain = r[before] / r[after]
	printf "%-34s %14s %18s %8.2fx\n", what, r[before] " " unit,
	       r[after] " " unit, gain
}
END {
	printf "%-34s %14s %18s %9s\n", "", "6.12", "fastboot (" pick ")", "gain"
	row("2 MiB folio, one CPU", "clear_2m_612_gbps", "clear_2m_auto_gbps", "GB/s", "up")
	row("1 GiB page, one CPU", "clear_1g_612_gbps", "clear_1g_auto_gbps", "GB/s", "up")
	row("2 MiB folios, all CPUs", "clear_all_2m_612_gbps", "clear_all_2m_auto_gbps", "GB/s", "up")
	row("cache-resident working set after", "pollution_612", "pollution_auto", "x", "down")
	print "  (the last row: how much slower a 1 MiB working set runs right after"
	print "   clearing 64 MiB, against the same walk without clearing in between)"
}'
echo "$out" | grep -E '^RESULT (clear_huge_2m_|clear_2m_(612|auto)_gbps|clear_1g_(612|auto)_gbps|pollution_(612|auto) )'
echo "$out" > "$BUILD/demo-native.out"

echo
echo "== A VM's start in the patched kernel (QEMU TCG guest)"
# Booted with 6.12's huge page clearing, so that this stays the baseline
# the VFIO parts are measured against: under TCG, "rep stosb" is emulated
# a byte at a time and would flatter the extent routines far beyond what
# the hardware figures above show.
python3 "$TOP/scripts/vm.py" --logdir "$BUILD/demo" --share "" \
	--mem "${DEMO_MEM:-2G}" --append "clear_huge_page=page" -- \
	sh -c "/bench/vfio_map_bench -m ${DEMO_MIB:-256} -r 3 || exit 1
		echo
		echo '== Preallocating hugetlb memory: prezero=0 against a pre-zeroed pool (same guest)'
		/bench/prezero_bench -m ${DEMO_PREZERO_MIB:-256,1024} -r 1 || exit 1
		echo
		echo '== Mapping guest RAM for a passthrough device: MAP_DMA against VFIO_DMA_MAP_FLAG_DEFER (same guest)'
		/bench/vfio_defer_bench -m ${DEMO_DEFER_MIB:-64,1024} -r 1 -b anon || exit 1
		echo
		echo '== Synchronous pinning of 2 MiB huge pages: 6.12 vfio_iommu_type1.ko against ours (same guest)'
		/bench/vfio_pin_swap.sh -r 1 -n 3 -m 256 /bench/stock-vfio_iommu_type1.ko || exit 1
		echo
		echo '== Resizing the guest with the balloon: 6.12 virtio_balloon against virtio_balloon_2m (same guest)'
		/bench/balloon_bench -q -r 2 -m ${DEMO_BALLOON_MIB:-128,1024}"

# What the pre-zeroed pool would save on this machine's CPU.
echo
awk -f "$TOP/bench/prezero_estimate.awk" "$BUILD/demo-native.out" \
	"$BUILD/demo/output.log"

# What the VMM side adds: the start of a VM with edu passed through, stock
# QEMU against fastboot, in a guest of the production-config kernel
# (nested KVM; scripts/nested-bench.sh builds it).
echo
NESTED_BENCH_MIB=${DEMO_NESTED_MIB:-256,1024,4096,8192} \
NESTED_BENCH_BACKING=${DEMO_NESTED_BACKING:-anon,hugetlb} \
NESTED_BENCH_RUNS=1 NESTED_BENCH_ARGS=-q \
	"$TOP/scripts/nested-bench.sh"
