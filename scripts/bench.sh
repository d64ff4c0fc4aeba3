#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: every benchmark in bench/, in the test guest, each printing
# its table and RESULT lines.  BENCH_MEM (guest RAM, 4G), BENCH_MIB (memory
# measured, 1024), BENCH_RUNS (repetitions, 5).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}

"$TOP/scripts/prepare.sh"
exec python3 "$TOP/scripts/vm.py" --logdir "$BUILD/bench-vm" --share "" \
	--mem "${BENCH_MEM:-4G}" -- \
	/bench/vfio_map_bench -m "${BENCH_MIB:-1024}" -r "${BENCH_RUNS:-5}"
