#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build and install the kselftests the test guest runs, from the patched
# tree (so our overlay's tools/testing/selftests/fastboot is built exactly as
# upstream would build it): fastboot, and upstream's mm (for its hugetlb
# tests).  Output: build/selftests/ with run_kselftest.sh.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
JOBS=${JOBS:-$(nproc)}
TARGETS=${SELFTEST_TARGETS:-fastboot mm}

[ -d "$BUILD/linux" ] || { echo "build-selftests: no tree (make kernel)" >&2; exit 1; }
make -s -C "$BUILD/linux" O="$BUILD/obj" headers
rm -rf "$BUILD/selftests"
# Upstream's mm tests warn with gcc 12; keep that out of the way unless
# the build fails.
log=$BUILD/selftests-build.log
if ! make -s -C "$BUILD/linux/tools/testing/selftests" O="$BUILD/obj" -j"$JOBS" \
	TARGETS="$TARGETS" KSFT_INSTALL_PATH="$BUILD/selftests" install > "$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "build-selftests: failed, see $log" >&2
	exit 1
fi
# kselftest's install carries on past a target that failed to build.
# TEST_GEN_PROGS may continue over several lines (backslash at the end).
# TEST_GEN_PROGS_EXTENDED (built, run only by the boots that need them) too.
progs=$(sed -n '/^TEST_GEN_PROGS\(_EXTENDED\)\? :=/{:a;/\\$/{N;ba};s/^TEST_GEN_PROGS\(_EXTENDED\)\? :=//;s/\\\n//g;p}' \
	"$TOP/tools/testing/selftests/fastboot/Makefile")
for p in $progs; do
	if [ ! -x "$BUILD/selftests/fastboot/$p" ]; then
		grep -E 'error|warning' "$log" | head -n 20 >&2
		echo "build-selftests: fastboot/$p was not built, see $log" >&2
		exit 1
	fi
done
echo "build-selftests: $BUILD/selftests ($TARGETS; compiler output in $log)"
