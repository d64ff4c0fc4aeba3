#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building and testing fastboot needs, from Debian's packages.
#
# linux-source-6.12 and QEMU 10 come from bookworm-backports, and so do meson
# (>= 1.5) and pycotap, which building the patched QEMU needs (scripts/
# build-qemu.sh; its other build dependencies are bookworm's).  That suite is
# enabled by reusing the mirror the machine already uses for "bookworm"
# (deb822 .sources or one-line sources.list), so no host name is written here.
set -euo pipefail

SUITE=bookworm-backports
LIST=/etc/apt/sources.list.d/fastboot-backports.sources
STAMP=/var/lib/fastboot-deps.stamp

PKGS_MAIN="build-essential flex bison bc libelf-dev libssl-dev cpio gzip xz-utils
	   busybox-static sparse ccache python3 rsync kmod git dwarves
	   libcap-dev libnuma-dev procps psmisc
	   ninja-build python3-venv pkg-config bzip2 patch libglib2.0-dev
	   libslirp-dev libfdt-dev zlib1g-dev gnuplot-nox"
PKGS_BPO="linux-source-6.12 qemu-system-x86 meson python3-pycotap"

[ "$(id -u)" = 0 ] || { echo "install-deps: must run as root" >&2; exit 1; }

want="$PKGS_MAIN $PKGS_BPO"
# shellcheck disable=SC2086
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] &&
   ! dpkg-query -W -f '${db:Status-Status}\n' $want 2>/dev/null | grep -vqx installed; then
	exit 0
fi

# Find the URI and keyring of the existing bookworm main suite.
mirror_of_bookworm() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'BEGIN { RS = ""; FS = "\n" }
		{
			uri = ""; suites = ""; key = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/)      { uri = $i; sub(/^URIs:[ \t]*/, "", uri); sub(/[ \t].*/, "", uri) }
				if ($i ~ /^Suites:/)    { suites = " " $i " " }
				if ($i ~ /^Signed-By:/) { key = $i; sub(/^Signed-By:[ \t]*/, "", key) }
			}
			if (uri != "" && suites ~ / bookworm /) { print uri "|" key; exit }
		}' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" {
			for (i = 2; i <= NF; i++) if ($i !~ /^\[/) break
			if ($(i + 1) == "bookworm") { print $i "|"; exit }
		}' "$f"
	done
}

# Already enabled?  Only active lines of active source files count.
enabled() {
	grep -qsE "^[^#]*[[:space:]]$SUITE([[:space:]]|\$)" /etc/apt/sources.list \
		/etc/apt/sources.list.d/*.list &&
		return 0
	grep -qsE "^Suites:.*[[:space:]]$SUITE([[:space:]]|\$)" /etc/apt/sources.list.d/*.sources
}

if ! enabled; then
	line=$(mirror_of_bookworm | sed -n 1p)
	uri=${line%%|*}
	key=${line#*|}
	if [ -z "$uri" ]; then
		echo "install-deps: no 'bookworm' suite in the apt sources to derive $SUITE from" >&2
		exit 1
	fi
	{
		echo "Types: deb"
		echo "URIs: $uri"
		echo "Suites: $SUITE"
		echo "Components: main"
		[ -n "$key" ] && echo "Signed-By: $key"
	} > "$LIST"
	echo "install-deps: enabled $SUITE from the existing bookworm mirror"
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh machine may still be running its first unattended upgrade; there
# is no one to answer a configuration-file prompt.
APT=(apt-get -y -qq -o DPkg::Lock::Timeout=600
     -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
"${APT[@]}" update
# shellcheck disable=SC2086
"${APT[@]}" install --no-install-recommends $PKGS_MAIN
# shellcheck disable=SC2086
"${APT[@]}" install --no-install-recommends -t "$SUITE" $PKGS_BPO
echo "$want" > "$STAMP"
