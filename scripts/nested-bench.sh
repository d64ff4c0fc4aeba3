#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The nested start-time benchmark and its plot.  Builds what is missing
# (the test kernel and initramfs, the guest kernel and its initramfs, the
# patched QEMU, the nested payload),
# boots the guest kernel as L1 with the payload (/opt/l2), KVM (kvm_amd)
# and edu bound to vfio-pci, runs bench/nested_start_bench there (L2
# started by the patched QEMU, stock against fastboot, per memory size and
# backing), and plots start time against guest memory with gnuplot
# (bench/e2e_start_plot.gp).
#
#   scripts/nested-bench.sh [--doc]
#
# NESTED_BENCH_MIB      L2 sizes in MiB (256,1024,4096,8192)
# NESTED_BENCH_BACKING  anon,hugetlb (both)
# NESTED_BENCH_RUNS     runs per point, medians (1)
# NESTED_BENCH_TIMEOUT  seconds before L1 is killed (7200)
# NESTED_BENCH_ARGS     more options for nested_start_bench (e.g. -q)
#
# L1 gets the largest size + 2 GiB (at least 4 GiB) and 2 vCPUs.  Output:
# build/bench-nested/ (build.log, stock/ and fastboot/ with each L1 boot's
# output.log and console.log, output.log = the fastboot boot's table,
# e2e-start-<backing>.dat, e2e-start.png); --doc also copies the PNG to
# Documentation/fastboot/e2e-start.png.  Prints the PNG's path last.
# Fails if the benchmark failed or no point was measured.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
LOGDIR=$BUILD/bench-nested
MIB=${NESTED_BENCH_MIB:-256,1024,4096,8192}
BACKING=${NESTED_BENCH_BACKING:-anon,hugetlb}
RUNS=${NESTED_BENCH_RUNS:-1}
TIMEOUT=${NESTED_BENCH_TIMEOUT:-7200}
DOC_PNG=$TOP/Documentation/fastboot/e2e-start.png
read -r -a ARGS <<< "${NESTED_BENCH_ARGS:-}"

die() { echo "nested-bench: error: $*" >&2; exit 1; }

doc=0
case ${1:-} in
--doc) doc=1 ;;
"") ;;
*) die "usage: $0 [--doc]" ;;
esac
[[ $MIB =~ ^[0-9]+(,[0-9]+)*$ ]] || die "NESTED_BENCH_MIB=$MIB: not a list of MiB"
[[ $BACKING =~ ^(anon|hugetlb)(,(anon|hugetlb))?$ ]] ||
	die "NESTED_BENCH_BACKING=$BACKING: anon, hugetlb or both"
[[ $RUNS =~ ^[0-9]+$ ]] || die "NESTED_BENCH_RUNS=$RUNS: not a number"

mkdir -p "$LOGDIR"
rm -f "$LOGDIR"/e2e-start*.dat "$LOGDIR/e2e-start.png" "$LOGDIR/build.log"
# The build steps' output goes to a log: this script's output is the table.
# L1 and L2 run the guest kernel: the test kernel's configuration without
# its debugging options (lockdep, DEBUG_VM), as production hosts and guests
# run; the same L1 kernel for stock and fastboot.  Its initramfs has its
# own modules, plus the payload.
GUEST_KERNEL=$BUILD/obj-guest/arch/x86/boot/bzImage
export L2_KERNEL=$GUEST_KERNEL
export L1_INITRAMFS=$BUILD/initramfs-guest.cpio.gz
export L1_OUT=$BUILD/nested/l1-guest-initramfs.cpio.gz
for step in prepare.sh "build-kernel.sh --guest" "mkinitramfs.sh --guest" build-qemu.sh \
	    "build-qemu.sh --l0" nested-payload.sh; do
	# shellcheck disable=SC2086 # a step may carry an option
	if ! "$TOP"/scripts/$step >> "$LOGDIR/build.log" 2>&1; then
		tail -n 30 "$LOGDIR/build.log" >&2
		die "scripts/$step failed, see $LOGDIR/build.log"
	fi
done

# L1: the largest L2 (all of it pinned, or all in the hugetlb pool) + 2 GiB.
largest=$(tr ',' '\n' <<< "$MIB" | sort -n | tail -n 1)
mem=$((largest + 2048))
[ "$mem" -ge 4096 ] || mem=4096

# Two L1 boots, because the clearing routine is chosen at boot: stock
# (6.12's choice on this CPU, clear_page=erms clear_huge_page=page; QEMU
# without fastboot properties), then fastboot (clear_page=auto; one
# background mapping worker at nice 19, so that L1's other vCPU stays with
# L2).  L0 preallocates L1's RAM (-mem-prealloc) as a host's RAM exists
# before its VMs: otherwise the first L2 to touch an L1 page pays L0's
# first touch, which depends on the order of the runs.  The fastboot
# boot reads the stock boot's PLOT lines (-S) and prints the whole table;
# it also starts each L2 without its passthrough device (-n, "nopass"): the
# guest's own boot, the floor under the fastboot curve.  And with
# x-defer-map-hold=off (-H, "nohold"): the workers start with the guest
# instead of when the fence is released, so the gain of holding them is
# measured side by side.
echo "== Nested start: stock against fastboot, L2 in a ${mem} MiB L1 (L2: $MIB MiB, $BACKING)"
rc=0
run_l1() {
	local name=$1 append=$2 cmd=$3

	mkdir -p "$LOGDIR/$name"
	python3 "$TOP/scripts/vm.py" --l0 --logdir "$LOGDIR/$name" --share "$LOGDIR" \
		--mem "${mem}M" --smp 2 --timeout "$TIMEOUT" \
		--qemu-arg=-mem-prealloc \
		--kernel "$GUEST_KERNEL" --initrd "$L1_OUT" \
		--append "fastboot.vfio_ids=1234:11e8 $append" -- sh -c "$cmd"
}
echo "-- L1 boot 1: stock (clear_page=erms clear_huge_page=page)"
run_l1 stock "clear_page=erms clear_huge_page=page" \
	"modprobe kvm_amd && /bench/nested_start_bench -d stock -m $MIB -b $BACKING -r $RUNS ${ARGS[*]}" ||
	rc=$?
echo "-- L1 boot 2: fastboot (clear_page=auto, defer_workers=1 at nice 19)"
if [ "$rc" = 0 ]; then
	run_l1 fastboot "vfio_iommu_type1.defer_workers=1" \
		"modprobe kvm_amd && modprobe vfio_iommu_type1 &&
		 echo 19 > /sys/devices/virtual/workqueue/vfio_defer_map/nice &&
		 /bench/nested_start_bench -d fastboot -n -H -S /host/stock/output.log -m $MIB -b $BACKING -r $RUNS ${ARGS[*]}" ||
		rc=$?
fi
[ "$rc" = 0 ] || echo "nested-bench: the benchmark failed ($rc), see $LOGDIR/" >&2
cp "$LOGDIR/fastboot/output.log" "$LOGDIR/output.log" 2>/dev/null || true

# PLOT <backing> <MiB> <stock_s> <fastboot_s> [<nopass_s>] -> one data file
# per backing, "MiB stock_s fastboot_s nopass_s" ("?": not measured).
backings=()
for b in anon hugetlb; do
	awk -v b="$b" '$1 == "PLOT" && $2 == b { print $3, $4, $5, ($6 == "" ? "?" : $6) }' \
		"$LOGDIR/output.log" > "$LOGDIR/e2e-start-$b.dat"
	if [ -s "$LOGDIR/e2e-start-$b.dat" ]; then
		backings+=("$b")
	else
		rm -f "$LOGDIR/e2e-start-$b.dat"
	fi
done
[ "${#backings[@]}" -gt 0 ] || die "no PLOT lines in $LOGDIR/output.log"

subtitle="L2 under KVM in a TCG guest (nested), edu via vfio-pci; median of $RUNS run(s), $(date +%Y-%m-%d)"
gnuplot -e "dir='$LOGDIR'; backings='${backings[*]}'; subtitle='$subtitle'" \
	"$TOP/bench/e2e_start_plot.gp"
png=$LOGDIR/e2e-start.png
if [ "$doc" = 1 ]; then
	cp "$png" "$DOC_PNG"
	echo "nested-bench: copied to $DOC_PNG"
fi
echo "nested-bench: plot $png"
exit "$rc"
