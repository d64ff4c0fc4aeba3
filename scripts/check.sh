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

rc=0
rm -f "$LOGDIR/output.log"
python3 "$TOP/scripts/vm.py" --logdir "$LOGDIR" --share "$TOP" \
	${VM_ARGS:-} -- sh scripts/guest-check.sh || rc=$?

case $rc in
0) ;;
1) fail+=(--fail-if-clean "guest checks exited 1 (see $LOGDIR/output.log)") ;;
124) fail+=(--fail "guest timed out (see $LOGDIR/console.log)") ;;
125) fail+=(--fail "kernel splat in $LOGDIR/console.log") ;;
*)   fail+=(--fail "guest exited with status $rc (see $LOGDIR/console.log)") ;;
esac
# Our own tests must run here, not skip: the machine has every device.
python3 "$TOP/scripts/tap_summary.py" --no-skip "selftests: fastboot:" \
	"$LOGDIR/output.log" "${fail[@]}"
