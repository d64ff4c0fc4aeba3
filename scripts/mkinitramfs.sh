#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Pack the test initramfs: busybox (static), scripts/guest-init.sh as /init,
# the kernel modules, the installed kselftests, the benchmarks (bench/) and
# the shared libraries they link against (the guest has no other root file system).
#
#   build/initramfs/          the tree
#   build/initramfs.cpio.gz   the archive scripts/vm.py boots
#
#   scripts/mkinitramfs.sh [--guest]
#
# --guest packs the modules of the guest kernel (build-kernel.sh --guest)
# instead, as build/initramfs-guest/ and build/initramfs-guest.cpio.gz.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
ROOT=$BUILD/initramfs
MODULES=$BUILD/modules

die() { echo "mkinitramfs: error: $*" >&2; exit 1; }
case ${1:-} in
--guest)
	ROOT=$BUILD/initramfs-guest
	MODULES=$BUILD/modules-guest
	;;
"") ;;
*) die "usage: $0 [--guest]" ;;
esac
OUT=$ROOT.cpio.gz
[ -d "$MODULES/lib/modules" ] || die "no modules in $MODULES (make kernel)"
[ -d "$BUILD/selftests" ] || die "no selftests in $BUILD/selftests (make selftests)"

rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,sbin,etc,proc,sys,dev,tmp,root,lib,lib64,usr/bin,usr/sbin}
cp /bin/busybox "$ROOT/bin/busybox"
if readelf -l /bin/busybox | grep -q INTERP; then
	die "/bin/busybox is not static (install busybox-static)"
fi
install -m 0755 "$TOP/scripts/guest-init.sh" "$ROOT/init"
cp -a "$MODULES/lib/modules" "$ROOT/lib/"
cp -a "$BUILD/selftests" "$ROOT/selftests"
if [ -d "$BUILD/bench" ]; then
	cp -a "$BUILD/bench" "$ROOT/bench"
	# The stock vfio_iommu_type1.ko is built against the test kernel
	# (build-bench.sh): the guest kernel would refuse it (vermagic).
	[ "$MODULES" = "$BUILD/modules" ] ||
		rm -f "$ROOT/bench/stock-vfio_iommu_type1.ko"
fi
# Host tools upstream's test scripts need where busybox differs: bash
# (mm/run_vmtests.sh), coreutils' timeout (kselftest/runner.sh passes
# --foreground) and tr (character classes), procps' ps and pgrep, psmisc's
# killall --wait (mm/charge_reserved_hugetlb.sh).
for tool in /bin/bash /usr/bin/timeout /usr/bin/tr /usr/bin/ps /usr/bin/pgrep \
	    /usr/bin/killall; do
	cp "$tool" "$ROOT/usr/bin/"
done
ln -s ../usr/bin/bash "$ROOT/bin/bash"
echo "root:x:0:0:root:/root:/bin/sh" > "$ROOT/etc/passwd"
echo "root:x:0:" > "$ROOT/etc/group"

# Shared libraries of every dynamic executable, at the same paths.
find "$ROOT/selftests" "$ROOT/usr/bin" $([ -d "$ROOT/bench" ] && echo "$ROOT/bench") \
	-type f -perm -u+x -print0 |
	{ xargs -0 -r ldd 2>/dev/null || true; } |
	grep -o '/[^ ]*\.so[^ ]*' | sort -u |
	while read -r lib; do
		mkdir -p "$ROOT$(dirname "$lib")"
		cp -L "$lib" "$ROOT$lib"
	done

(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "mkinitramfs: $OUT ($(du -h "$OUT" | cut -f1))"
