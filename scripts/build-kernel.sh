#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the fastboot test kernel: Debian's linux-source-6.12, plus the
# overlay (new files at their kernel paths), plus patches/series, configured
# from allnoconfig + configs/fastboot-test.config + configs/fastboot-debug.config,
# built out of tree.
#
#   scripts/build-kernel.sh [--guest]
#
# --guest builds the same tree without the debugging fragment in
# build/obj-guest/, modules installed in build/modules-guest/: a kernel
# configured for production, which the nested start-time benchmark
# (scripts/nested-bench.sh) runs as L1 (the host) and as L2 (the guest).
#
#   build/pristine/   the unpacked linux-source tarball, never modified
#   build/stage/      pristine (hard links) + overlay + series, remade per run
#   build/linux/      the source tree the kernel is built from; updated from
#                     stage/ by content, so only changed files get new mtimes
#                     and the build stays incremental
#   build/obj/        kbuild output (O=); build/obj-guest/ with --guest
#   build/modules/    modules_install output; build/modules-guest/ with --guest
#
# Environment: BUILD (default: <repo>/build), JOBS (default: nproc),
# CONFIGS (extra fragments, space separated).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
JOBS=${JOBS:-$(nproc)}
TARBALL=/usr/src/linux-source-6.12.tar.xz
FRAGMENTS="$TOP/configs/fastboot-test.config $TOP/configs/fastboot-debug.config ${CONFIGS:-}"
OBJ=$BUILD/obj
MODULES=$BUILD/modules
OVERLAY_DIRS="mm drivers tools/testing/selftests/fastboot Documentation/admin-guide Documentation/ABI"

log() { echo "build-kernel: $*"; }
die() { echo "build-kernel: error: $*" >&2; exit 1; }

case ${1:-} in
--guest)
	FRAGMENTS="$TOP/configs/fastboot-test.config ${CONFIGS:-}"
	OBJ=$BUILD/obj-guest
	MODULES=$BUILD/modules-guest
	;;
"") ;;
*) die "usage: $0 [--guest]" ;;
esac

[ -f "$TARBALL" ] || die "$TARBALL missing (run scripts/install-deps.sh)"
mkdir -p "$BUILD"

# 1. Pristine source, unpacked once per tarball version.
tarver=$(stat -c %Y:%s "$TARBALL")
if [ "$(cat "$BUILD/pristine.stamp" 2>/dev/null)" != "$tarver" ]; then
	log "unpacking $TARBALL"
	rm -rf "$BUILD/pristine" "$BUILD/pristine.tmp"
	mkdir -p "$BUILD/pristine.tmp"
	tar -C "$BUILD/pristine.tmp" --strip-components=1 -xf "$TARBALL"
	mv "$BUILD/pristine.tmp" "$BUILD/pristine"
	rm -rf "$BUILD/obj" "$BUILD/obj-guest" "$BUILD/linux" "$BUILD/stage.stamp"
	echo "$tarver" > "$BUILD/pristine.stamp"
fi

# Files of the overlay (and patches/), one per line, sorted: in a git
# checkout the ones git tracks or would track (no editor or build leftovers),
# otherwise every file.
overlay_files() {
	local d
	if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
		# shellcheck disable=SC2086
		git -C "$TOP" ls-files -co --exclude-standard -- $OVERLAY_DIRS "$@" |
			while read -r f; do if [ -f "$TOP/$f" ]; then echo "$f"; fi; done | sort
		return
	fi
	for d in $OVERLAY_DIRS "$@"; do
		if [ -d "$TOP/$d" ]; then (cd "$TOP" && find "$d" -type f); fi
	done | sort
}

# 2. Stage: pristine + overlay + patches.  Only redone when an input changed.
inputs_hash() {
	(
		cd "$TOP"
		echo "$tarver"
		overlay_files patches | xargs -r sha1sum
	) | sha1sum | cut -d' ' -f1
}
want=$(inputs_hash)
if [ "$(cat "$BUILD/stage.stamp" 2>/dev/null)" != "$want" ] || [ ! -d "$BUILD/linux" ]; then
	rm -rf "$BUILD/stage"
	cp -al "$BUILD/pristine" "$BUILD/stage"

	# Overlay files replace, never write through, the hard links.
	(
		cd "$TOP"
		overlay_files | while read -r f; do
			mkdir -p "$BUILD/stage/$(dirname "$f")"
			cp --remove-destination "$f" "$BUILD/stage/$f"
		done
	)

	if [ -f "$TOP/patches/series" ]; then
		while read -r p _; do
			case "$p" in ''|\#*) continue ;; esac
			[ -f "$TOP/patches/$p" ] || die "patches/series names $p, which does not exist"
			# patch(1) writes each file anew, so hard links to pristine/ break.
			if ! patch -d "$BUILD/stage" -p1 -s -N --no-backup-if-mismatch \
			     -r - < "$TOP/patches/$p" > "$BUILD/patch.log" 2>&1; then
				cat "$BUILD/patch.log" >&2
				die "patch $p does not apply to linux-source-6.12"
			fi
			log "applied $p"
		done < "$TOP/patches/series"
	fi

	# Copy by content into the build tree: a file whose content changed is
	# written anew (new mtime, so kbuild rebuilds what depends on it, even
	# when it went back to pristine content); the others keep their mtime.
	mkdir -p "$BUILD/linux"
	rsync -rlpD --checksum --delete "$BUILD/stage/" "$BUILD/linux/"
	echo "$want" > "$BUILD/stage.stamp"
fi

# 3. Configure: allnoconfig with the fragments forced in, then verify; again
#    whenever the fragment or the staged tree (a patch may touch Kconfig)
#    changed, so an incremental build is configured like a fresh one.
mkdir -p "$OBJ"
# shellcheck disable=SC2086
cat $FRAGMENTS > "$OBJ/fragment.config"
cat "$OBJ/fragment.config" > "$OBJ/fragment.config.key"
echo "# stage $want" >> "$OBJ/fragment.config.key"
if ! cmp -s "$OBJ/fragment.config.key" "$OBJ/fragment.used" 2>/dev/null ||
   [ ! -f "$OBJ/.config" ]; then
	make -s -C "$BUILD/linux" O="$OBJ" \
		KCONFIG_ALLCONFIG="$OBJ/fragment.config" allnoconfig
	missing=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$OBJ/fragment.config" |
		  while read -r line; do
			grep -qx "$line" "$OBJ/.config" || echo "$line"
		  done)
	[ -z "$missing" ] || die "config symbols did not survive allnoconfig: $missing"
	cp "$OBJ/fragment.config.key" "$OBJ/fragment.used"
fi

# 4. Build.
cc=gcc
if command -v ccache >/dev/null; then
	cc="ccache gcc"
	# kbuild passes absolute source paths: make them relative so that
	# another checkout on this machine hits the same cache entries.
	export CCACHE_BASEDIR=$BUILD
fi
log "building bzImage and modules in $OBJ (-j$JOBS)"
make -s -C "$BUILD/linux" O="$OBJ" -j"$JOBS" CC="$cc" bzImage modules
rm -rf "$MODULES"
make -s -C "$BUILD/linux" O="$OBJ" INSTALL_MOD_PATH="$MODULES" \
	INSTALL_MOD_STRIP=1 modules_install
log "done: $OBJ/arch/x86/boot/bzImage ($(cat "$OBJ/include/config/kernel.release"))"
