#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: build what is missing, boot the patched kernel and print the
# table of what a VM's start costs (bench/vfio_map_bench), with RESULT
# lines.  DEMO_MEM (guest RAM, 2G) and DEMO_MIB (memory measured, 256).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}

"$TOP/scripts/prepare.sh"
exec python3 "$TOP/scripts/vm.py" --logdir "$BUILD/demo" --share "" \
	--mem "${DEMO_MEM:-2G}" -- /bench/vfio_map_bench -m "${DEMO_MIB:-256}" -r 3
