#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build what L1 needs to start L2 in the nested scenario, as an initramfs
# part that the kernel unpacks over the normal test initramfs:
#
#   /opt/l2/bin/qemu-system-x86_64   the patched QEMU (stripped copy of
#                                    build/qemu/obj/qemu-system-x86_64, or
#                                    of $QEMU_BIN)
#   /opt/l2/lib/                     its shared libraries and ld-linux
#   /opt/l2/qemu                     wrapper running it with those
#   /opt/l2/share/                   bios-256k.bin, linuxboot_dma.bin,
#                                    kvmvapic.bin (QEMU's -L)
#   /opt/l2/bzImage                  L2's kernel: the test kernel, or
#                                    $L2_KERNEL (scripts/nested-bench.sh
#                                    passes the guest kernel, built by
#                                    build-kernel.sh --guest)
#   /opt/l2/initramfs.cpio.gz        L2's initramfs (scripts/mkinitramfs-l2.sh)
#
# The static DMA check l2_edu_dma is compiled here first.  Outputs:
#   build/nested/payload.cpio.gz       the part above
#   build/nested/l1-initramfs.cpio.gz  build/initramfs.cpio.gz + payload,
#                                      L1's initrd (scripts/vm.py --initrd);
#                                      $L1_INITRAMFS + payload into $L1_OUT
#                                      when they are set
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
NESTED=$BUILD/nested
QEMU_BIN=${QEMU_BIN:-$BUILD/qemu/obj/qemu-system-x86_64}
KERNEL=${L2_KERNEL:-$BUILD/obj/arch/x86/boot/bzImage}
L1_INITRAMFS=${L1_INITRAMFS:-$BUILD/initramfs.cpio.gz}
L1_OUT=${L1_OUT:-$NESTED/l1-initramfs.cpio.gz}
SELFTESTS=$TOP/tools/testing/selftests/fastboot
DMA_SRCS=("$SELFTESTS/l2_edu_dma.c" "$SELFTESTS/lib/edu.c" "$SELFTESTS/lib/sysfs.c")
FIRMWARE=(/usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin
	  /usr/share/qemu/kvmvapic.bin)
TREE=$NESTED/payload
L2=$TREE/opt/l2

die() { echo "nested-payload: error: $*" >&2; exit 1; }
size() { du -h "$1" | cut -f1; }
[ -x "$QEMU_BIN" ] || die "no QEMU binary $QEMU_BIN (scripts/build-qemu.sh, or set QEMU_BIN)"
[ -f "$KERNEL" ] || die "no kernel $KERNEL (make kernel)"
[ -f "$L1_INITRAMFS" ] || die "no $L1_INITRAMFS (scripts/mkinitramfs.sh)"
for fw in "${FIRMWARE[@]}"; do
	[ -f "$fw" ] || die "no $fw (install seabios and qemu-system-data)"
done
mkdir -p "$NESTED"

# The DMA check, static (L2's initramfs has no libraries); only if a
# source is newer than the binary.
dma=$NESTED/l2_edu_dma
rebuild=
for src in "${DMA_SRCS[@]}" "$SELFTESTS"/lib/edu.h "$SELFTESTS"/lib/sysfs.h; do
	[ "$src" -nt "$dma" ] && rebuild=1
done
if [ -n "$rebuild" ] || [ ! -x "$dma" ]; then
	gcc -O2 -Wall -Wextra -static -s -I"$SELFTESTS/lib" -o "$dma.tmp" "${DMA_SRCS[@]}"
	mv "$dma.tmp" "$dma"
fi
"$TOP/scripts/mkinitramfs-l2.sh"

rm -rf "$TREE"
mkdir -p "$L2"/{bin,lib,share}
strip -o "$L2/bin/qemu-system-x86_64" "$QEMU_BIN"
# Every library ldd resolves, and the dynamic loader, flat in lib/.
libs=$(ldd "$QEMU_BIN" | grep -o '/[^ ]*' | sort -u)
[ -n "$libs" ] || die "ldd found no libraries for $QEMU_BIN"
for lib in $libs; do
	cp -L "$lib" "$L2/lib/$(basename "$lib")"
done
[ -f "$L2/lib/ld-linux-x86-64.so.2" ] || die "ldd listed no ld-linux-x86-64.so.2"
cat > "$L2/qemu" <<'EOF'
#!/bin/sh
exec /opt/l2/lib/ld-linux-x86-64.so.2 --library-path /opt/l2/lib /opt/l2/bin/qemu-system-x86_64 "$@"
EOF
chmod 0755 "$L2/qemu"
cp "${FIRMWARE[@]}" "$L2/share/"
cp "$KERNEL" "$L2/bzImage"
cp "$NESTED/l2-initramfs.cpio.gz" "$L2/initramfs.cpio.gz"

(cd "$TREE" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 > "$NESTED/payload.cpio.gz.tmp"
mv "$NESTED/payload.cpio.gz.tmp" "$NESTED/payload.cpio.gz"
cat "$L1_INITRAMFS" "$NESTED/payload.cpio.gz" > "$L1_OUT.tmp"
mv "$L1_OUT.tmp" "$L1_OUT"

echo "nested-payload: qemu $(size "$L2/bin/qemu-system-x86_64") ($QEMU_BIN)," \
	"libs $(size "$L2/lib") ($(find "$L2/lib" -type f | wc -l) files)," \
	"L2 kernel $(size "$L2/bzImage"), L2 initramfs $(size "$L2/initramfs.cpio.gz")"
echo "nested-payload: $NESTED/payload.cpio.gz ($(size "$NESTED/payload.cpio.gz"))"
echo "nested-payload: $L1_OUT ($(size "$L1_OUT"))"
