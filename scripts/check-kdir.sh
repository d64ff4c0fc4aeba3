#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Check that KDIR is a prepared Linux 6.12 tree that out-of-tree fastboot
# modules can be built against, and say what is missing if it is not.
set -euo pipefail
KDIR=${1:?usage: check-kdir.sh KDIR}

die() { echo "fastboot: KDIR=$KDIR: $*" >&2; exit 1; }
[ -d "$KDIR" ] || die "no such directory (run 'make kernel', or pass KDIR=/path/to/linux-6.12)"
[ -f "$KDIR/include/config/kernel.release" ] ||
	die "not a prepared kernel tree: run 'make modules_prepare' there (or 'make kernel' here)"
rel=$(cat "$KDIR/include/config/kernel.release")
case $rel in
6.12|6.12.*|6.12-*) ;;
*) die "kernel $rel; fastboot targets Linux 6.12" ;;
esac
[ -f "$KDIR/Module.symvers" ] ||
	echo "fastboot: warning: $KDIR/Module.symvers missing; modpost cannot check symbol versions" >&2
exit 0
