#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: every benchmark in bench/, each printing its table and RESULT
# lines.  First the native one on this host, bench/clear_page
# (CLEAR_BENCH_ARGS: its options, see clear_page_bench -h), then those in
# the test guest: BENCH_MEM (guest RAM, 4G), BENCH_MIB (memory measured,
# 1024), BENCH_RUNS (repetitions, 5).  Fails if either part fails.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}

"$TOP/scripts/prepare.sh"

read -r -a clear_args <<< "${CLEAR_BENCH_ARGS:-}"
rc=0
"$BUILD/bench-native/clear_page_bench" "${clear_args[@]}" || rc=$?
[ "$rc" = 0 ] || echo "bench: clear_page_bench failed ($rc)" >&2

python3 "$TOP/scripts/vm.py" --logdir "$BUILD/bench-vm" --share "" \
	--mem "${BENCH_MEM:-4G}" --append "clear_huge_page=page" -- \
	/bench/vfio_map_bench -m "${BENCH_MIB:-1024}" -r "${BENCH_RUNS:-5}"
exit "$rc"
