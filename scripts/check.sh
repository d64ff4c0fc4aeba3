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

"$TOP/scripts/prepare.sh"

rc=0
python3 "$TOP/scripts/vm.py" --logdir "$LOGDIR" --share "$TOP" \
	${VM_ARGS:-} -- sh scripts/guest-check.sh || rc=$?

fail=()
case $rc in
0|1) ;;
124) fail=(--fail "guest timed out (see $LOGDIR/console.log)") ;;
125) fail=(--fail "kernel splat in $LOGDIR/console.log") ;;
*)   fail=(--fail "guest exited with status $rc (see $LOGDIR/console.log)") ;;
esac
python3 "$TOP/scripts/tap_summary.py" "$LOGDIR/output.log" "${fail[@]}"
