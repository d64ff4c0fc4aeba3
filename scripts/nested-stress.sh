#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Stress the nested boot: boot L1 as make check's nested boot does (the
# debug test kernel, 6 GiB, edu bound to vfio-pci, kvm_amd) and run
# nested_test and a two-size nested_start_bench PASSES times in that one
# boot, so that a fault of the L0 emulator that shows up once in several
# CI runs shows up in one sitting.  See Documentation/fastboot/testing.rst,
# "Interrupts after VMRUN (nested, QEMU 10)".
#
#   scripts/nested-stress.sh [PASSES]        (default 6)
#
# NESTED_STRESS_L0  the L0 emulator: "l0" (default; build/qemu-l0, made
#                   by scripts/build-qemu.sh --l0, as make check uses) or
#                   "system" (the installed qemu-system-x86_64)
# NESTED_STRESS_LOG log directory (build/nested-stress)
#
# Prints one line per pass and a last line
# "nested-stress: N of PASSES passes, vm.py status S"; exits with vm.py's
# status (0: every pass ran and nothing splatted; 125: a kernel splat,
# see console.log).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
PASSES=${1:-6}
L0=${NESTED_STRESS_L0:-l0}
LOG=${NESTED_STRESS_LOG:-$BUILD/nested-stress}

die() { echo "nested-stress: error: $*" >&2; exit 1; }
[[ $PASSES =~ ^[1-9][0-9]*$ ]] || die "PASSES=$PASSES: not a positive number"

"$TOP/scripts/prepare.sh" > /dev/null
"$TOP/scripts/build-qemu.sh" > /dev/null
"$TOP/scripts/nested-payload.sh" > /dev/null
qemu=()
case $L0 in
l0)
	"$TOP/scripts/build-qemu.sh" --l0 > /dev/null
	qemu=(--l0) ;;
system) ;;
*) die "NESTED_STRESS_L0=$L0: l0 or system" ;;
esac

mkdir -p "$LOG"
rc=0
# shellcheck disable=SC2016 # expanded by the guest's shell
python3 "$TOP/scripts/vm.py" --logdir "$LOG" --share "$TOP" --mem 6G \
	--timeout $((PASSES * 900)) --initrd "$BUILD/nested/l1-initramfs.cpio.gz" \
	--append "hugepagesz=1G hugepages=1 log_buf_len=1M fastboot.vfio_ids=1234:11e8" \
	"${qemu[@]}" -- sh -c '
	modprobe kvm_amd
	cd /selftests/fastboot || exit 1
	i=0
	while [ "$i" -lt '"$PASSES"' ]; do
		i=$((i + 1))
		r=ok
		./nested_test > /tmp/nested_test.log 2>&1 || r="nested_test failed"
		if [ "$r" = ok ]; then
			/bench/nested_start_bench -m 256,1024 -b anon -r 1 \
				> /tmp/bench.log 2>&1 || r="nested_start_bench failed"
		fi
		echo "pass $i: $r"
		if [ "$r" != ok ]; then
			cat /tmp/nested_test.log /tmp/bench.log 2>/dev/null | tail -n 40
			exit 1
		fi
	done' || rc=$?
passed=$(grep -c '^pass [0-9]*: ok' "$LOG/output.log" || true)
echo "nested-stress: $passed of $PASSES passes, vm.py status $rc (logs: $LOG)"
exit "$rc"
