#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Test the VFIO type1 drop-in on a distribution's STOCK kernel: download
# Debian's linux-image, linux-headers and linux-kbuild of the 6.12 version
# the repository's linux-source-6.12 is (apt-get download, cached in
# build/debian/), build the drop-in (scripts/dropin-prepare.sh) against
# those headers, pack an initramfs from the test one (build/initramfs:
# busybox, selftests) with Debian's modules for that kernel and the drop-in
# in lib/modules/<release>/updates/dkms/ (depmod), boot Debian's own
# vmlinuz under QEMU (scripts/vm.py) and run scripts/guest-dropin.sh in it:
# it proves the loaded vfio_iommu_type1 is the drop-in, then runs the
# fastboot VFIO selftests.  Prints the TAP and 'N passed, N failed,
# N skipped' last.  Exit status: 0 all passed; 1 a check or test failed,
# or the guest did not finish (build/dropin-check/vm-<variant>/output.log
# holds the guest's TAP); 2 nothing was booted: the download, the drop-in's
# build against the headers, or the initramfs failed.
#
#   scripts/check-dropin.sh [--stock] [--version DEBIAN-VERSION]
#
#   --stock     test the stock variant (dropin-prepare.sh --stock)
#   --version   Debian version of linux-image-6.12.* to test (default: the
#               installed linux-source-6.12's, which the series is made
#               for); another one also downloads its linux-source-6.12
#
# Needs build/initramfs (scripts/prepare.sh, make initramfs), kmod, and
# bookworm-backports enabled (scripts/install-deps.sh) for 6.12.95.
# Environment: BUILD, VM_MEM (2G), VM_TIMEOUT, VM_ARGS (extra vm.py options).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
CHK=$BUILD/dropin-check
TARBALL=/usr/src/linux-source-6.12.tar.xz
export PYTHONDONTWRITEBYTECODE=1

log() { echo "# check-dropin: $*" >&2; }
die() { echo "check-dropin: error: $*" >&2; exit 2; }

STOCK=0
DEBVER=
while [ $# -gt 0 ]; do
	case $1 in
	--stock) STOCK=1 ;;
	--version) DEBVER=${2:?}; shift ;;
	*) die "unknown argument: $1 (usage: $0 [--stock] [--version DEBIAN-VERSION])" ;;
	esac
	shift
done
variant=patched
[ "$STOCK" = 0 ] || variant=stock
# The guest's TAP; emptied first, so that a failure before the boot leaves
# no stale results behind.
LOGDIR=$CHK/vm-$variant
mkdir -p "$LOGDIR"
: > "$LOGDIR/output.log"

[ "$(dpkg --print-architecture)" = amd64 ] || die "Debian amd64 only"
[ -d "$BUILD/initramfs/selftests" ] ||
	die "no test initramfs in $BUILD/initramfs (scripts/prepare.sh, or make initramfs)"
for t in apt-get dpkg-deb depmod modprobe modinfo rsync cpio gzip python3; do
	command -v "$t" >/dev/null || die "$t missing (scripts/install-deps.sh)"
done

# 1. Which Debian kernel: the version of the installed linux-source-6.12
#    (the tree the series is made for), unless asked for another.
installed=$(dpkg-query -W -f '${Version}' linux-source-6.12 2>/dev/null || true)
if [ -z "$DEBVER" ]; then
	if [ -z "$installed" ] || [ ! -f "$TARBALL" ]; then
		die "linux-source-6.12 is not installed (scripts/install-deps.sh)"
	fi
	DEBVER=$installed
	candidate=$(apt-cache policy linux-source-6.12 2>/dev/null |
		    sed -n 's/^ *Candidate: *//p')
	if [ -n "$candidate" ] && [ "$candidate" != "$installed" ]; then
		log "note: linux-source-6.12 $candidate is the apt candidate; testing $installed," \
		    "the installed one the series is made for (--version $candidate for the other)"
	fi
fi
DEB=$BUILD/debian/$DEBVER
ROOT=$DEB/root
mkdir -p "$DEB/debs"

apt_download() {
	(cd "$DEB/debs" &&
	 apt-get download -q -o APT::Sandbox::User=root "$@" >> "$DEB/download.log" 2>&1) ||
		die "apt-get download $* failed (see $DEB/download.log; is the suite that has" \
		    "$DEBVER enabled? scripts/install-deps.sh enables bookworm-backports)"
}

# 2. Download and unpack once per version.
if [ ! -f "$DEB/unpacked.stamp" ]; then
	upstream=${DEBVER%%-*}
	# linux-image-<upstream>+<abi>-amd64 (not -unsigned, not -dbg) of exactly DEBVER.
	image=
	for p in $(apt-cache pkgnames "linux-image-$upstream+" | sort); do
		[[ $p =~ ^linux-image-${upstream//./\\.}\+[a-z0-9]+-amd64$ ]] || continue
		if apt-cache show "$p=$DEBVER" >/dev/null 2>&1; then image=$p; break; fi
	done
	[ -n "$image" ] || die "no linux-image-$upstream+*-amd64 of version $DEBVER in apt's lists (apt-get update?)"
	kver=${image#linux-image-}
	abi=${kver%-amd64}
	log "downloading Debian's $kver ($DEBVER) into $DEB/debs"
	rm -f "$DEB"/debs/*.deb
	apt_download "$image=$DEBVER" "linux-headers-$kver=$DEBVER" \
		"linux-headers-$abi-common=$DEBVER" "linux-kbuild-$abi=$DEBVER"
	if [ "$DEBVER" != "$installed" ]; then
		apt_download "linux-source-6.12=$DEBVER"
	fi
	log "unpacking"
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	for d in "$DEB"/debs/*.deb; do
		case $d in */linux-source-*) continue ;; esac
		dpkg-deb -x "$d" "$ROOT"
	done
	if [ "$DEBVER" != "$installed" ]; then
		dpkg-deb --fsys-tarfile "$DEB"/debs/linux-source-6.12_*.deb |
			tar -xO ./usr/src/linux-source-6.12.tar.xz > "$DEB/linux-source-6.12.tar.xz"
	fi
	# The headers' Makefile includes the common part by its installed
	# path, /usr/src/...; point it at the unpacked one.
	sed -i "s|^include /usr/src/|include $ROOT/usr/src/|" \
		"$ROOT/usr/src/linux-headers-$kver/Makefile"
	# Debian's images ship no modules.dep: made here, for the closure below.
	depmod -b "$ROOT" "$kver"
	echo "$kver" > "$DEB/unpacked.stamp"
fi
kver=$(cat "$DEB/unpacked.stamp")
HDR=$ROOT/usr/src/linux-headers-$kver
VMLINUZ=$ROOT/boot/vmlinuz-$kver
if [ ! -f "$VMLINUZ" ] || [ ! -f "$HDR/Module.symvers" ]; then
	die "$DEB is incomplete: rm -r $DEB"
fi

# 3. The drop-in, from the matching source: the unpacked pristine tree if
#    it is this tarball's, else the tarball itself.
if [ "$DEBVER" = "$installed" ]; then
	src=$TARBALL
	if [ -d "$BUILD/pristine" ] &&
	   [ "$(cat "$BUILD/pristine.stamp" 2>/dev/null)" = "$(stat -c %Y:%s "$TARBALL")" ]; then
		src=$BUILD/pristine
	fi
else
	src=$DEB/linux-source-6.12.tar.xz
fi
MOD=$CHK/$variant
prep=(--source "$src" --out "$MOD" --kdir "$HDR" --build)
[ "$STOCK" = 0 ] || prep+=(--stock)
log "building the $variant vfio_iommu_type1 against $HDR"
mkdir -p "$CHK"
if ! "$TOP/scripts/dropin-prepare.sh" "${prep[@]}" > "$CHK/build-$variant.log" 2>&1; then
	tail -n 30 "$CHK/build-$variant.log" >&2
	die "the drop-in does not build against Debian's $kver headers (see $CHK/build-$variant.log)"
fi
grep -E '^dropin-prepare|WARNING|warning:' "$CHK/build-$variant.log" >&2 || true
ko=$MOD/vfio_iommu_type1.ko

# Host-side checks: the kernel's vermagic, and the drop-in's own uapi
# header compiled in place of the headers' copy.
want_magic=$(modinfo -F vermagic "$ROOT/lib/modules/$kver/kernel/drivers/vfio/vfio.ko"*)
[ "$(modinfo -F vermagic "$ko")" = "$want_magic" ] ||
	die "vermagic '$(modinfo -F vermagic "$ko")' is not vfio.ko's '$want_magic'"
if grep -l "include/uapi/linux/vfio\.h" "$MOD"/.*.o.cmd | xargs -r grep -L "$MOD/include/uapi/linux/vfio\.h" |
   grep .; then
	die "objects above were compiled with the kernel's include/uapi/linux/vfio.h, not the drop-in's"
fi

# 4. The initramfs: the test one (busybox, selftests, host tools), with
#    Debian's modules instead of the test kernel's, kmod's modprobe (Debian's
#    modules are xz-compressed; it also follows softdeps) and the drop-in.
IRD=$CHK/initramfs-$variant
log "packing $IRD.cpio.gz"
mkdir -p "$IRD"
rsync -a --delete --exclude=/lib/modules/ --exclude=/guest-dropin.sh \
	"$BUILD/initramfs/" "$IRD/"
rm -rf "$IRD/lib/modules"
M=$IRD/lib/modules/$kver
mkdir -p "$M/updates/dkms"
for f in modules.builtin modules.builtin.modinfo modules.order; do
	cp "$ROOT/lib/modules/$kver/$f" "$M/"
done
# What the guest loads, with everything it depends on (Debian's own
# vfio_iommu_type1 included: the drop-in must win over it).
modprobe -S "$kver" -d "$ROOT" --show-depends --ignore-install \
	-a vfio_pci vfio_iommu_type1 virtio_balloon |
	awk '$1 == "insmod" { print $2 }' | sort -u |
	while read -r f; do
		rel=${f#"$ROOT"/lib/modules/"$kver"/}
		mkdir -p "$M/$(dirname "$rel")"
		cp "$f" "$M/$rel"
	done
[ -n "$(ls "$M"/kernel/drivers/vfio/vfio_iommu_type1.ko* 2>/dev/null)" ] ||
	die "Debian's vfio_iommu_type1 is not among $kver's modules"
# As DKMS installs it (STRIP defaults to yes): without debug info.
strip --strip-debug -o "$M/updates/dkms/vfio_iommu_type1.ko" "$ko"
depmod -b "$IRD" "$kver"
resolved=$(modprobe -S "$kver" -d "$IRD" --show-depends vfio_iommu_type1 | tail -n 1)
case $resolved in
*/updates/dkms/vfio_iommu_type1.ko*) ;;
*) die "depmod does not prefer the drop-in: modprobe would load $resolved" ;;
esac
kmod=$(command -v kmod)
cp "$kmod" "$IRD/sbin/kmod"
for t in modprobe insmod rmmod lsmod modinfo depmod; do
	ln -sf kmod "$IRD/sbin/$t"
done
ldd "$kmod" | grep -o '/[^ ]*\.so[^ ]*' | sort -u | while read -r lib; do
	mkdir -p "$IRD$(dirname "$lib")"
	cp -L "$lib" "$IRD$lib"
done
install -m 0755 "$TOP/scripts/guest-dropin.sh" "$IRD/guest-dropin.sh"
(cd "$IRD" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 > "$IRD.cpio.gz.tmp"
mv "$IRD.cpio.gz.tmp" "$IRD.cpio.gz"

# 5. Boot Debian's kernel and run the guest side.
log "booting Debian's stock $kver (TCG) with the $variant drop-in"
rc=0
# shellcheck disable=SC2086
python3 "$TOP/scripts/vm.py" --kernel "$VMLINUZ" --initrd "$IRD.cpio.gz" \
	--logdir "$LOGDIR" --share "" --mem "${VM_MEM:-2G}" ${VM_ARGS:-} \
	-- sh /guest-dropin.sh "$kver" < /dev/null || rc=$?
fail=()
case $rc in
0) ;;
1) fail=(--fail-if-clean "guest checks exited 1 (see $LOGDIR/output.log)") ;;
124) fail=(--fail "guest timed out (see $LOGDIR/console.log)") ;;
125) fail=(--fail "kernel splat in $LOGDIR/console.log") ;;
*) fail=(--fail "guest exited with status $rc (see $LOGDIR/console.log)") ;;
esac
python3 "$TOP/scripts/tap_summary.py" --no-skip "selftests: fastboot:" \
	"$LOGDIR/output.log" "${fail[@]}"
