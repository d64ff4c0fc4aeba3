#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Check that KDIR is a prepared Linux 6.12 tree that out-of-tree fastboot
# modules can be built against, and say what is missing if it is not:
# preparation, version, and which patches of patches/series the tree's
# sources lack (each is tried in reverse; a headers-only tree, such as a
# distribution's linux-headers, cannot be checked and is said to be so).
set -euo pipefail
KDIR=${1:?usage: check-kdir.sh KDIR}
TOP=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "fastboot: KDIR=$KDIR: $*" >&2; exit 1; }
[ -d "$KDIR" ] || die "no such directory (run 'make kernel', or pass KDIR=/path/to/linux-6.12)"

# The sources: KDIR itself, or the tree an O= build directory points to.
src=$KDIR
[ -e "$KDIR/source" ] && src=$(readlink -f "$KDIR/source")
missing=()
unknown=()
while read -r p _; do
	case "$p" in ''|\#*) continue ;; esac
	files=$(sed -n 's|^+++ b/||p' "$TOP/patches/$p")
	for f in $files; do
		[ -f "$src/$f" ] || { unknown+=("$p"); continue 2; }
	done
	patch -R -p1 --dry-run -s -f -d "$src" < "$TOP/patches/$p" >/dev/null 2>&1 ||
		missing+=("$p")
done < "$TOP/patches/series"
if [ ${#missing[@]} -gt 0 ]; then
	echo "fastboot: KDIR=$KDIR lacks these patches of patches/series" \
	     "(modules that need them will not build or load):" >&2
	printf 'fastboot:   %s\n' "${missing[@]}" >&2
fi
if [ ${#unknown[@]} -gt 0 ]; then
	echo "fastboot: KDIR=$KDIR has no sources to check these patches against" \
	     "(headers only?): ${unknown[*]}" >&2
fi

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
