#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build virtio_balloon_2m.ko out of tree the way its DKMS package does
# (scripts/balloon-dkms.sh assembles the tree; make -C <headers> M=<tree>),
# with W=1, and print one TAP line: ok when it builds without a compiler or
# modpost warning and its vermagic is the kernel's.
#
#   scripts/check-balloon-build.sh [--series SERIES | --kdir DIR]
#                                  [--out DIR] [--number N]
#
#   --series  Debian's headers of that kernel series (default 6.1: Debian
#             12's own kernel), the newest linux-headers-<SERIES>.*-amd64
#             apt's lists offer, with its -common part and linux-kbuild,
#             downloaded with apt-get download and unpacked once into
#             build/debian/<version>/ (as scripts/check-dropin.sh does)
#   --kdir    a kernel build directory or headers instead (nothing fetched)
#   --out     where the tree is assembled and built (default
#             build/balloon-build/<release>); the module is
#             <out>/drivers/virtio/virtio_balloon_2m.ko
#   --number  the TAP line's number (default 1)
#
# scripts/check-dropin.sh runs it for Debian's 6.1 and 6.12 headers (make
# check).  Exit status: 0 ok, 1 not ok (the reason follows the TAP line as
# '#' lines; the build log is <out>.log).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}

SERIES=6.1
KDIR=
OUT=
NUM=1
while [ $# -gt 0 ]; do
	case $1 in
	--series) SERIES=${2:?}; shift ;;
	--kdir) KDIR=${2:?}; shift ;;
	--out) OUT=${2:?}; shift ;;
	--number) NUM=${2:?}; shift ;;
	*) echo "check-balloon-build: unknown argument: $1" >&2; exit 2 ;;
	esac
	shift
done

what="Debian's $SERIES headers"
# notok REASON...: the TAP line, the reason as diagnostics, exit 1.
notok() {
	echo "not ok $NUM balloon: virtio_balloon_2m.ko builds against $what, W=1, no warnings"
	printf '# %s\n' "$@"
	exit 1
}

# Debian's newest linux-headers-<SERIES>.*-amd64, with what it depends on
# for building: linux-headers-<abi>-common and linux-kbuild-*.
fetch_debian_headers() {
	local re p v deps common kbuild deb root kver
	re="^linux-headers-${SERIES//./\\.}\\.[0-9.]+(-[0-9]+|\\+[a-z0-9]+)-amd64\$"
	p=
	v=
	while read -r p; do
		v=$(apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
		if [ -n "$v" ] && [ "$v" != "(none)" ]; then break; fi
		v=
	done < <(apt-cache pkgnames "linux-headers-$SERIES." 2>/dev/null | grep -E "$re" | sort -rV)
	[ -n "$v" ] || notok "no linux-headers-$SERIES.*-amd64 in apt's lists (apt-get update?)"
	deb=$BUILD/debian/$v
	root=$deb/root
	what="Debian's ${p#linux-headers-} headers ($v)"
	# check-dropin.sh's unpacked tree of the same version holds them too.
	for stamp in headers.stamp unpacked.stamp; do
		if [ -f "$deb/$stamp" ]; then
			kver=$(cat "$deb/$stamp")
			KDIR=$root/usr/src/linux-headers-$kver
			return
		fi
	done
	deps=$(apt-cache show "$p=$v" | sed -n 's/^Depends: //p' | head -n 1 | tr ',' '\n')
	common=$(echo "$deps" | grep -o 'linux-headers-[^ ]*-common' | head -n 1 || true)
	kbuild=$(echo "$deps" | grep -o 'linux-kbuild-[^ ]*' | head -n 1 || true)
	if [ -z "$common" ] || [ -z "$kbuild" ]; then
		notok "$p=$v: no -common or linux-kbuild package among its Depends: $deps"
	fi
	echo "# downloading $p $common $kbuild ($v) into $deb/debs" >&2
	mkdir -p "$deb/debs"
	rm -f "$deb"/debs/*.deb
	(cd "$deb/debs" &&
	 apt-get download -q -o APT::Sandbox::User=root \
		"$p=$v" "$common=$v" "$kbuild=$v" >> "$deb/download.log" 2>&1) ||
		notok "apt-get download $p $common $kbuild ($v) failed: see $deb/download.log"
	rm -rf "$root"
	mkdir -p "$root"
	for d in "$deb"/debs/*.deb; do
		dpkg-deb -x "$d" "$root"
	done
	kver=${p#linux-headers-}
	KDIR=$root/usr/src/linux-headers-$kver
	# The headers' Makefile includes the common part by its installed
	# path, /usr/src/...; point it at the unpacked one.
	sed -i "s|^include /usr/src/|include $root/usr/src/|" "$KDIR/Makefile"
	echo "$kver" > "$deb/headers.stamp"
}

if [ -z "$KDIR" ]; then
	fetch_debian_headers
fi
# The release modules get in their vermagic (Debian 6.1's
# include/config/kernel.release says 6.1.N, not 6.1.0-N-amd64).
rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
	"$KDIR/include/generated/utsrelease.h" 2>/dev/null || true)
[ -n "$rel" ] || notok "$KDIR is not a prepared kernel build directory or headers"
case $what in "Debian's $SERIES headers") what="$rel's headers" ;; esac
OUT=${OUT:-$BUILD/balloon-build/$rel}
LOG=$OUT.log

"$TOP/scripts/balloon-dkms.sh" --out "$OUT" > /dev/null ||
	notok "scripts/balloon-dkms.sh --out $OUT failed"
if ! nice make -C "$KDIR" M="$OUT" W=1 modules > "$LOG" 2>&1; then
	mapfile -t last < <(tail -n 20 "$LOG")
	notok "build failed ($LOG):" "${last[@]}"
fi
mapfile -t warn < <(grep -E 'warning:|WARNING|error:' "$LOG" || true)
[ ${#warn[@]} = 0 ] || notok "warnings ($LOG):" "${warn[@]}"
ko=$OUT/drivers/virtio/virtio_balloon_2m.ko
magic=$(modinfo -F vermagic "$ko" 2>/dev/null || true)
case $magic in
"$rel "*) ;;
*) notok "vermagic '$magic' is not $rel's" ;;
esac
echo "ok $NUM balloon: virtio_balloon_2m.ko builds against $what, W=1, no warnings"
if grep -qs VB2M_COMPAT_FIND_VQS_CALLBACKS "$OUT/drivers/virtio/.virtio_balloon_2m.o.cmd"; then
	echo "# virtio_find_vqs(): callbacks[] and names[] (VB2M_COMPAT_FIND_VQS_CALLBACKS)"
else
	echo "# virtio_find_vqs(): struct virtqueue_info[]"
fi
echo "# $ko: vermagic $magic"
