#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Bring the test guest up to date: dependencies (when root), the kernel,
# the selftests, the benchmarks and the initramfs.  Every step is
# incremental; check.sh, demo.sh and bench.sh start with this.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" = 0 ]; then
	"$TOP/scripts/install-deps.sh"
fi
"$TOP/scripts/build-kernel.sh"
"$TOP/scripts/build-selftests.sh"
"$TOP/scripts/build-bench.sh"
"$TOP/scripts/mkinitramfs.sh"
