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
# fastboot VFIO selftests.
#
# The same boot tests virtio_balloon_2m as a distribution installs it: the
# module is built from its DKMS tree (scripts/balloon-dkms.sh) against the
# same 6.12 headers, installed in updates/dkms next to the drop-in, and
# balloon_test runs both its variants (Debian's virtio_balloon, which
# guest-init.sh's modprobe binds at boot, and virtio_balloon_2m, to which
# the test moves the device).  Host-side, the module is also built against
# Debian 12's own 6.1 headers (scripts/check-balloon-build.sh) and the
# shipped modprobe.d snippet is checked.  A second, short boot installs
# that snippet (blacklist virtio_balloon, softdep vfio_pci pre:
# virtio_balloon_2m), starts with a balloon target of 3/4 of the RAM
# already set and deflate-on-oom=on (vm.py --balloon-target,
# --balloon-opts), has /init load vfio-pci with edu's ids
# (fastboot.vfio_ids) and runs balloon_boot_test: virtio_balloon_2m, loaded
# by the softdep inside /init's modprobe vfio_pci, takes the device and
# reaches the target before vfio-pci's probe of edu starts; and the OOM
# notifier with both drivers.
#
# Prints the TAP and 'N passed, N failed, N skipped' last.  Exit status: 0
# all passed; 1 a check or test failed, or a guest did not finish (the TAP
# is in build/dropin-check/: host-<variant>/output.log for the host-side
# checks, vm-<variant>/output.log and vm-<variant>-balloon-boot/output.log
# for the two guests); 2 nothing was booted: the download, the drop-in's
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
# The TAP of the host-side checks and of both guests; emptied first, so
# that a failure before the boots leaves no stale results behind.
LOGDIR=$CHK/vm-$variant
BOOTDIR=$CHK/vm-$variant-balloon-boot
HOSTDIR=$CHK/host-$variant
mkdir -p "$LOGDIR" "$BOOTDIR" "$HOSTDIR"
: > "$LOGDIR/output.log"
: > "$BOOTDIR/output.log"
: > "$HOSTDIR/output.log"

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

# 3b. virtio_balloon_2m, from its DKMS tree and from headers alone: against
#     Debian 12's own 6.1 (newest in apt's lists; built only) and against
#     this 6.12 (booted below), W=1.  One TAP line each; a module that does
#     not build is a failed test, and the boots go on without it.
HOSTLOG=$HOSTDIR/output.log
{
	echo "TAP version 13"
	echo "1..3"
} > "$HOSTLOG"
log "building virtio_balloon_2m against Debian's 6.1 headers and $kver's"
"$TOP/scripts/check-balloon-build.sh" --series 6.1 --out "$CHK/balloon-6.1" \
	--number 1 >> "$HOSTLOG" || true
"$TOP/scripts/check-balloon-build.sh" --kdir "$HDR" --out "$CHK/balloon-$kver" \
	--number 2 >> "$HOSTLOG" || true
grep -v '^TAP\|^1\.\.' "$HOSTLOG" >&2
bko=$CHK/balloon-$kver/drivers/virtio/virtio_balloon_2m.ko
grep -q '^ok 2 ' "$HOSTLOG" || rm -f "$bko"

# 4. The initramfs: the test one (busybox, selftests, host tools), with
#    Debian's modules instead of the test kernel's, kmod's modprobe (Debian's
#    modules are xz-compressed; it also follows softdeps), the drop-in and
#    virtio_balloon_2m.
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
# vfio_iommu_type1 included: the drop-in must win over it; and whatever
# virtio_balloon_2m needs, none on Debian's 6.12).
bdeps=
if [ -f "$bko" ]; then
	bdeps=$(modinfo -F depends "$bko" | tr ',' ' ')
fi
# shellcheck disable=SC2086
modprobe -S "$kver" -d "$ROOT" --show-depends --ignore-install \
	-a vfio_pci vfio_iommu_type1 virtio_balloon $bdeps |
	awk '$1 == "insmod" { print $2 }' | sort -u |
	while read -r f; do
		rel=${f#"$ROOT"/lib/modules/"$kver"/}
		mkdir -p "$M/$(dirname "$rel")"
		cp "$f" "$M/$rel"
	done
[ -n "$(ls "$M"/kernel/drivers/vfio/vfio_iommu_type1.ko* 2>/dev/null)" ] ||
	die "Debian's vfio_iommu_type1 is not among $kver's modules"
# As DKMS installs them (STRIP defaults to yes): without debug info.
strip --strip-debug -o "$M/updates/dkms/vfio_iommu_type1.ko" "$ko"
if [ -f "$bko" ]; then
	strip --strip-debug -o "$M/updates/dkms/virtio_balloon_2m.ko" "$bko"
fi
depmod -b "$IRD" "$kver"
resolved=$(modprobe -S "$kver" -d "$IRD" --show-depends vfio_iommu_type1 | tail -n 1)
case $resolved in
*/updates/dkms/vfio_iommu_type1.ko*) ;;
*) die "depmod does not prefer the drop-in: modprobe would load $resolved" ;;
esac

# The shipped modprobe.d snippet, as modprobe reads it for these modules:
# the balloon's modalias (what udev loads) must resolve to virtio_balloon_2m
# alone (without the snippet it resolves to both drivers, Debian's first),
# and modprobe vfio_pci must load virtio_balloon_2m before vfio-pci.
CONF=$TOP/dkms/virtio-balloon-2m/modprobe.d
NOCONF=$CHK/modprobe.d-empty
mkdir -p "$NOCONF"
BALIAS=virtio:d00000005v00001AF4
# show_insmod CONFDIR MODULE: the modules modprobe would load, in order.
show_insmod() {
	modprobe -C "$1" -S "$kver" -d "$IRD" --show-depends "$2" 2>&1 |
		awk '$1 == "insmod" { n = split($2, p, "/"); print p[n] }'
}
stock_alias=$(show_insmod "$NOCONF" "$BALIAS" | paste -sd ' ')
conf_alias=$(show_insmod "$CONF" "$BALIAS" | paste -sd ' ')
conf_vfio=$(show_insmod "$CONF" vfio_pci | paste -sd ' ')
what="balloon: modprobe.d/virtio_balloon_2m.conf: the balloon's modalias loads virtio_balloon_2m only, and modprobe vfio_pci loads it before vfio-pci"
case $conf_alias:$conf_vfio in
virtio_balloon_2m.ko:*virtio_balloon_2m.ko*vfio-pci.ko*) echo "ok 3 $what" ;;
*) echo "not ok 3 $what" ;;
esac >> "$HOSTLOG"
{
	echo "# without it, modprobe $BALIAS loads: $stock_alias"
	echo "# with it: $conf_alias"
	echo "# with it, modprobe vfio_pci loads: $conf_vfio"
} >> "$HOSTLOG"
tail -n 4 "$HOSTLOG" >&2
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
# pack DIR: DIR.cpio.gz
pack() {
	(cd "$1" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 > "$1.cpio.gz.tmp"
	mv "$1.cpio.gz.tmp" "$1.cpio.gz"
}
pack "$IRD"

# The second boot's: the same with the snippet installed in
# /etc/modprobe.d, as an administrator installs it.
IRD2=$CHK/initramfs-$variant-balloon-boot
rsync -a --delete "$IRD/" "$IRD2/"
mkdir -p "$IRD2/etc/modprobe.d"
install -m 0644 "$CONF/virtio_balloon_2m.conf" "$IRD2/etc/modprobe.d/"
pack "$IRD2"

# 5. Boot Debian's kernel and run the guest side; then the second boot.
fail=()
# boot LOGDIR INITRD VM.PY-ARGS... -- CMD...: one guest; why it failed, if
# it did, goes to fail[].
boot() {
	local dir=$1 initrd=$2 rc=0 name
	name=$(basename "$dir")
	shift 2
	# shellcheck disable=SC2086
	python3 "$TOP/scripts/vm.py" --kernel "$VMLINUZ" --initrd "$initrd" \
		--logdir "$dir" --share "" ${VM_ARGS:-} "$@" < /dev/null || rc=$?
	case $rc in
	0) ;;
	1) fail+=(--fail-if-clean "$name: guest checks exited 1 (see $dir/output.log)") ;;
	124) fail+=(--fail "$name: guest timed out (see $dir/console.log)") ;;
	125) fail+=(--fail "$name: kernel splat in $dir/console.log") ;;
	*) fail+=(--fail "$name: guest exited with status $rc (see $dir/console.log)") ;;
	esac
}
log "booting Debian's stock $kver (TCG) with the $variant drop-in and virtio_balloon_2m"
boot "$LOGDIR" "$IRD.cpio.gz" --mem "${VM_MEM:-2G}" -- sh /guest-dropin.sh "$kver"
# The balloon boot: as check.sh's (a target of 3/4 of the RAM set before
# the guest runs, deflate-on-oom=on, edu bound to vfio-pci by /init, and
# initcall_debug, which logs when its probe ran), with the module.
mem=${VM_MEM:-2G}
case $mem in
*[Gg]) mem_mib=$((${mem%[Gg]} * 1024)) ;;
*[Mm]) mem_mib=${mem%[Mm]} ;;
*) mem_mib=$((mem / 1048576)) ;;
esac
log "booting it again with modprobe.d/virtio_balloon_2m.conf and a balloon target set"
boot "$BOOTDIR" "$IRD2.cpio.gz" --mem "$mem" \
	--append "log_buf_len=1M initcall_debug fastboot.vfio_ids=1234:11e8" \
	--balloon-target "$((mem_mib * 3 / 4))M" --balloon-opts deflate-on-oom=on \
	-- sh /guest-dropin.sh --balloon-boot "$kver"
python3 "$TOP/scripts/tap_summary.py" --no-skip "selftests: fastboot:" \
	"$HOSTLOG" "$LOGDIR/output.log" "$BOOTDIR/output.log" "${fail[@]}"
