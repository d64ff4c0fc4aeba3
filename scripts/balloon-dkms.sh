#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Assemble the DKMS source tree of virtio_balloon_2m, and optionally
# install it with DKMS.  The tree is what dkms/virtio-balloon-2m/ holds
# (dkms.conf, Kbuild, modprobe.d/) plus the driver, drivers/virtio/
# virtio_balloon_2m*; it builds from a kernel's headers alone:
#
#   make -C /lib/modules/<release>/build M=<tree> modules
#
#   scripts/balloon-dkms.sh [--out DIR]
#       assemble into DIR (default: build/dkms/virtio-balloon-2m-<version>);
#       an earlier tree there is replaced
#   scripts/balloon-dkms.sh --install [--kernel RELEASE] [--modprobe-conf]
#       as root: assemble into /usr/src/virtio-balloon-2m-<version>, then
#       dkms add and dkms install for RELEASE (default: the running kernel);
#       --modprobe-conf also installs modprobe.d/virtio_balloon_2m.conf as
#       /etc/modprobe.d/virtio_balloon_2m.conf (blacklist virtio_balloon,
#       softdep vfio_pci pre: virtio_balloon_2m); run update-initramfs -u
#       after it
#
# Prints the tree's path last.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
PKG=$TOP/dkms/virtio-balloon-2m

die() { echo "balloon-dkms: error: $*" >&2; exit 1; }

OUT=
INSTALL=0
KREL=
CONF=0
while [ $# -gt 0 ]; do
	case $1 in
	--out) OUT=${2:?}; shift ;;
	--install) INSTALL=1 ;;
	--kernel) KREL=${2:?}; shift ;;
	--modprobe-conf) CONF=1 ;;
	*) die "unknown argument: $1 (usage: $0 [--out DIR] | --install [--kernel RELEASE] [--modprobe-conf])" ;;
	esac
	shift
done

name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"$/\1/p' "$PKG/dkms.conf")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$PKG/dkms.conf")
if [ -z "$name" ] || [ -z "$ver" ]; then
	die "no PACKAGE_NAME or PACKAGE_VERSION in $PKG/dkms.conf"
fi
if [ "$INSTALL" = 1 ]; then
	[ -z "$OUT" ] || die "--install assembles into /usr/src/$name-$ver; no --out with it"
	[ "$(id -u)" = 0 ] || die "--install must run as root"
	command -v dkms >/dev/null || die "dkms is not installed (apt-get install dkms)"
	OUT=/usr/src/$name-$ver
else
	if [ -n "$KREL" ] || [ "$CONF" = 1 ]; then
		die "--kernel and --modprobe-conf go with --install"
	fi
	OUT=${OUT:-$BUILD/dkms/$name-$ver}
fi

shopt -s nullglob
srcs=("$TOP"/drivers/virtio/virtio_balloon_2m*.[ch])
shopt -u nullglob
[ -f "$TOP/drivers/virtio/virtio_balloon_2m.c" ] ||
	die "$TOP/drivers/virtio/virtio_balloon_2m.c missing"

# A fresh tree each time: no stale objects or files from an older driver.
rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp/drivers/virtio" "$OUT.tmp/modprobe.d"
install -m 0644 "$PKG/dkms.conf" "$PKG/Kbuild" "$OUT.tmp/"
install -m 0644 "$PKG"/modprobe.d/*.conf "$OUT.tmp/modprobe.d/"
install -m 0644 "${srcs[@]}" "$OUT.tmp/drivers/virtio/"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"

if [ "$INSTALL" = 1 ]; then
	KREL=${KREL:-$(uname -r)}
	# An earlier add of this version was built from the tree just
	# replaced: remove it, and rebuild for every kernel it was installed
	# for ("name/version, release, arch: installed").
	kernels=("$KREL")
	if [ -n "$(dkms status -m "$name" -v "$ver")" ]; then
		mapfile -t -O 1 kernels < <(dkms status -m "$name" -v "$ver" |
			sed -n 's|^[^,]*, \([^,]*\), [^:]*: installed.*|\1|p' |
			grep -vxF "$KREL" || true)
		dkms remove -m "$name" -v "$ver" --all
	fi
	dkms add -m "$name" -v "$ver"
	for k in "${kernels[@]}"; do
		dkms install -m "$name" -v "$ver" -k "$k"
	done
	if [ "$CONF" = 1 ]; then
		install -m 0644 "$OUT/modprobe.d/virtio_balloon_2m.conf" /etc/modprobe.d/
		echo "balloon-dkms: installed /etc/modprobe.d/virtio_balloon_2m.conf;" \
		     "run update-initramfs -u" >&2
	fi
fi
echo "$OUT"
