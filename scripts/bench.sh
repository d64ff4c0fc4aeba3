#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: every benchmark in bench/, each printing its table and RESULT
# lines.  First the native one on this host, bench/clear_page
# (CLEAR_BENCH_ARGS: its options, see clear_page_bench -h), then those in
# the test guest: BENCH_MEM (guest RAM, 4G), BENCH_MIB (memory measured,
# 1024), HUGETLB_BENCH_MIB (hugetlb preallocation sizes, 256,1024),
# PREZERO_BENCH_MIB (the same for the pre-zeroed pool, 256,1024),
# DEFER_BENCH_MIB (deferred VFIO map sizes; default 64,256,1024 and most
# of the guest's free RAM), DEFER_BENCH_RUNS (3; a 1 GiB anonymous map
# takes about 9 s under TCG), BALLOON_BENCH_MIB (balloon sizes; default
# 256 and 3/4 of the guest's MemTotal), BALLOON_BENCH_RUNS (rounds, 3),
# BENCH_RUNS (repetitions, 5).  Then the hardware estimate for the
# pre-zeroed pool from both (bench/prezero_estimate.awk).  Last, the
# nested start-time benchmark and its plot (scripts/nested-bench.sh:
# NESTED_BENCH_MIB, NESTED_BENCH_BACKING, NESTED_BENCH_RUNS).  Fails if
# any part fails.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}

"$TOP/scripts/prepare.sh"

read -r -a clear_args <<< "${CLEAR_BENCH_ARGS:-}"
rc=0
"$BUILD/bench-native/clear_page_bench" "${clear_args[@]}" |
	tee "$BUILD/bench-native.out" || rc=$?
[ "$rc" = 0 ] || echo "bench: clear_page_bench failed ($rc)" >&2

# In the guest: the VM-start baseline, preallocation from the hugetlb pool
# (HUGETLB_BENCH_MIB sizes), and the pre-zeroed pool against the same pool
# with prezero=0 (PREZERO_BENCH_MIB sizes), all with 6.12's huge page
# clearing in the fault path.
python3 "$TOP/scripts/vm.py" --logdir "$BUILD/bench-vm" --share "" \
	--mem "${BENCH_MEM:-4G}" --append "clear_huge_page=page" -- \
	sh -c "rc=0
		/bench/vfio_map_bench -m ${BENCH_MIB:-1024} -r ${BENCH_RUNS:-5} || rc=1
		echo
		/bench/hugetlb_populate_bench -m ${HUGETLB_BENCH_MIB:-256,1024} \
			-r ${BENCH_RUNS:-5} || rc=1
		echo
		/bench/prezero_bench -m ${PREZERO_BENCH_MIB:-256,1024} \
			-r ${BENCH_RUNS:-5} || rc=1
		echo
		/bench/vfio_defer_bench -r ${DEFER_BENCH_RUNS:-3} \
			${DEFER_BENCH_MIB:+-m $DEFER_BENCH_MIB} || rc=1
		echo
		/bench/vfio_pin_swap.sh -r ${BENCH_RUNS:-5} \
			/bench/stock-vfio_iommu_type1.ko || rc=1
		echo
		/bench/balloon_bench -r ${BALLOON_BENCH_RUNS:-3} \
			${BALLOON_BENCH_MIB:+-m $BALLOON_BENCH_MIB} || rc=1
		exit \$rc" || rc=$?

echo
awk -f "$TOP/bench/prezero_estimate.awk" "$BUILD/bench-native.out" \
	"$BUILD/bench-vm/output.log" || rc=1

# A VM with a passthrough device started by the patched QEMU inside the
# test guest: stock against fastboot, per memory size; plotted.
echo
"$TOP/scripts/nested-bench.sh" || rc=1
exit "$rc"
