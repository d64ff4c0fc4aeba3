#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: install what is missing, build the kernel, the selftests and
# the initramfs, boot the guest, run every test in it, and print the TAP
# followed by one closing line 'N passed, N failed, N skipped'.
# Non-zero exit on any failed test, a timeout, a guest that died, or a
# kernel splat in the console log.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
LOGDIR=$BUILD/check
export PYTHONDONTWRITEBYTECODE=1

"$TOP/scripts/prepare.sh"

# The harness's own unit tests (TAP counting, the command archive, splats).
mkdir -p "$LOGDIR"
fail=()
python3 -m unittest discover -s "$TOP/scripts/tests" > "$LOGDIR/harness-tests.log" 2>&1 ||
	fail=(--fail "harness unit tests (see $LOGDIR/harness-tests.log)")

# Every boot gets a 1 GiB pool page, so that gigantic faults are tested,
# and a log buffer that holds the whole boot (clear_page_test reads it).
BOOT_APPEND="hugepagesz=1G hugepages=1 log_buf_len=1M ${VM_APPEND:-}"
BOOT_MEM=${VM_MEM:-4G}

# One boot per value of clear_page= / clear_huge_page= (invalid ones
# included), each running the test that checks the choice and that huge
# pages cleared by it read zero.  The main boot below runs with the
# defaults (auto).
CLEAR_PAGE_BOOTS=(
	"clear_page=orig clear_huge_page=page"
	"clear_page=rep clear_huge_page=rep"
	"clear_page=erms clear_huge_page=erms"
	"clear_page=movnti clear_huge_page=movnti"
	"clear_page=clzero clear_huge_page=clzero"
	"clear_page=auto clear_huge_page=movntdq"
	"clear_huge_page=avx2"
	"clear_huge_page=avx512"
	"clear_page=bogus clear_huge_page=bogus"
	"clear_page= clear_huge_page="
)

outputs=()
consoles=()
# vm.py options for the next boot only.
VMOPTS=()

# boot NAME APPEND CMD...: one guest run; its result is judged here.
boot() {
	local name=$1 append=$2 dir=$LOGDIR/$1 rc=0
	shift 2
	mkdir -p "$dir"
	rm -f "$dir/output.log"
	echo "# check: boot $name: ${VMOPTS[*]} $append" >&2
	python3 "$TOP/scripts/vm.py" --logdir "$dir" --share "$TOP" \
		--mem "$BOOT_MEM" --append "$BOOT_APPEND $append" \
		"${VMOPTS[@]}" ${VM_ARGS:-} -- "$@" || rc=$?
	VMOPTS=()
	case $rc in
	0) ;;
	1) fail+=(--fail-if-clean "$name: guest checks exited 1 (see $dir/output.log)") ;;
	124) fail+=(--fail "$name: guest timed out (see $dir/console.log)") ;;
	125) fail+=(--fail "$name: kernel splat in $dir/console.log") ;;
	*)   fail+=(--fail "$name: guest exited with status $rc (see $dir/console.log)") ;;
	esac
	outputs+=("$dir/output.log")
	consoles+=(--ktap "$dir/console.log")
}

boot main "" sh scripts/guest-check.sh
# The same with every hugetlb pool pre-zeroed from boot (hugetlb_prezero=1):
# our tests, and upstream's hugetlb selftests, must pass either way.
boot prezero "hugetlb_prezero=1" sh scripts/guest-check.sh
i=0
for append in "${CLEAR_PAGE_BOOTS[@]}"; do
	i=$((i + 1))
	boot "clear-page-$i" "$append" \
		/selftests/run_kselftest.sh -t fastboot:clear_page_test
done

# The balloon at boot: QEMU starts with a target of 3/4 of the RAM already
# set and deflate-on-oom=on; virtio_balloon_2m (built in) must reach it in
# its probe, before /init and before a passthrough driver probes (edu bound
# to vfio-pci by /init: fastboot.vfio_ids; initcall_debug logs each probe's
# duration).  Then balloon_boot_test (that, and the OOM notifier with both
# drivers) and balloon_test with deflate-on-oom (MemTotal stays), through
# the kselftest runner, so that they count as "selftests: fastboot: ...".
case $BOOT_MEM in
*[Gg]) mem_mib=$((${BOOT_MEM%[Gg]} * 1024)) ;;
*[Mm]) mem_mib=${BOOT_MEM%[Mm]} ;;
*) mem_mib=$BOOT_MEM ;;
esac
VMOPTS=(--balloon-target "$((mem_mib * 3 / 4))M" --balloon-opts deflate-on-oom=on)
# shellcheck disable=SC2016 # expanded by the guest's shell
boot balloon-boot "initcall_debug fastboot.vfio_ids=1234:11e8" \
	sh -c 'BASE_DIR=/selftests; cd "$BASE_DIR" && . ./kselftest/runner.sh &&
	       cd fastboot && run_many balloon_boot_test balloon_test'

# The nested scenario: L1 (this kernel, with /opt/l2 from
# scripts/nested-payload.sh in its initramfs, KVM through kvm_amd, edu
# bound to vfio-pci at boot) starts L2 with the patched QEMU (make qemu)
# and edu passed through.  nested_test through the kselftest runner, then
# a two-size start-time benchmark whose exit status counts as one result.
# L1 runs in the QEMU that build-qemu.sh --l0 builds: QEMU 10.0.2 with
# fixes to its TCG x86 emulation, without which L1 now and then faults
# right after VMRUN, L2 takes an interrupt it had masked, or L1 loses one
# (testing.rst, "Interrupts after VMRUN").
echo "# check: building QEMU (L1's and L0's) and the nested payload" >&2
rc=0
{ "$TOP/scripts/build-qemu.sh" && "$TOP/scripts/build-qemu.sh" --l0 &&
  "$TOP/scripts/nested-payload.sh"; } > "$LOGDIR/nested-build.log" 2>&1 || rc=$?
if [ "$rc" = 0 ]; then
	VMOPTS=(--l0 --mem "${NESTED_MEM:-6G}" --timeout "${NESTED_TIMEOUT:-5400}"
		--initrd "$BUILD/nested/l1-initramfs.cpio.gz")
	# shellcheck disable=SC2016 # expanded by the guest's shell
	boot nested "fastboot.vfio_ids=1234:11e8" \
		sh -c 'modprobe kvm_amd; rc=0
		       BASE_DIR=/selftests; cd "$BASE_DIR" && . ./kselftest/runner.sh &&
		       cd fastboot && kselftest_override_timeout=3600 run_many nested_test || rc=1
		       if /bench/nested_start_bench -m 256,1024 -b anon -r 1; then
			       echo "ok 2 nested: nested_start_bench -m 256,1024 -b anon"
		       else
			       echo "not ok 2 nested: nested_start_bench -m 256,1024 -b anon"; rc=1
		       fi
		       exit $rc'
else
	fail+=(--fail "nested: building QEMU or the payload failed (see $LOGDIR/nested-build.log)")
fi

# The drop-in: Debian's stock 6.12 kernel with our vfio_iommu_type1.ko
# (scripts/dropin-prepare.sh against Debian's headers) runs the VFIO tests.
echo "# check: boot dropin: Debian's stock kernel" >&2
rc=0
"$TOP/scripts/check-dropin.sh" > "$LOGDIR/dropin.log" 2>&1 || rc=$?
case $rc in
0) ;;
1) fail+=(--fail-if-clean "dropin: see $LOGDIR/dropin.log") ;;
*) fail+=(--fail "dropin: nothing booted (see $LOGDIR/dropin.log)") ;;
esac
# The drop-in run's TAP: host-side checks (virtio_balloon_2m built against
# Debian's 6.1 and 6.12 headers, the modprobe.d snippet), the drop-in boot,
# and the balloon boot with the module.
outputs+=("$BUILD/dropin-check/host-patched/output.log"
	  "$BUILD/dropin-check/vm-patched/output.log"
	  "$BUILD/dropin-check/vm-patched-balloon-boot/output.log")

# Our own tests must run here, not skip: the machine has every device.
python3 "$TOP/scripts/tap_summary.py" --no-skip "selftests: fastboot:" \
	"${consoles[@]}" "${outputs[@]}" "${fail[@]}"
