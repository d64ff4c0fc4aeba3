#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Pack the initramfs of L2, the innermost VM of the nested scenario: static
# busybox with its applet links, scripts/l2-init.sh as /init and the static
# DMA check /bin/l2_edu_dma (built by scripts/nested-payload.sh, which runs
# this script).  No /dev/console node: the kernel's built-in initramfs has
# one, and /init mounts devtmpfs.
#
#   build/nested/l2-initramfs/          the tree
#   build/nested/l2-initramfs.cpio.gz   the archive
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
NESTED=$BUILD/nested
ROOT=$NESTED/l2-initramfs
OUT=$NESTED/l2-initramfs.cpio.gz
DMA=$NESTED/l2_edu_dma

die() { echo "mkinitramfs-l2: error: $*" >&2; exit 1; }
[ -x "$DMA" ] || die "no $DMA (scripts/nested-payload.sh builds it)"
if readelf -l /bin/busybox | grep -q INTERP; then
	die "/bin/busybox is not static (install busybox-static)"
fi
if readelf -l "$DMA" | grep -q INTERP; then
	die "$DMA is not static"
fi

rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,proc,sys,dev}
cp /bin/busybox "$ROOT/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$ROOT/bin/$applet" ] || ln -s busybox "$ROOT/bin/$applet"
done
install -m 0755 "$TOP/scripts/l2-init.sh" "$ROOT/init"
install -m 0755 "$DMA" "$ROOT/bin/l2_edu_dma"

(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "mkinitramfs-l2: $OUT ($(du -h "$OUT" | cut -f1))"
