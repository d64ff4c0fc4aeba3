#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the patched QEMU 10.0.2 (qemu-system-x86_64 only) that the nested
# scenario runs in L1: Debian's DFSG orig tarball, plus patches/qemu/series.
#
#   build/qemu/dl/        qemu_10.0.2+ds.orig.tar.xz, fetched with apt-get
#                         source through a private apt configuration whose one
#                         deb-src entry is derived from the machine's
#                         bookworm-backports entry; checked against the
#                         Sources index and the SHA-256 pinned below
#   build/qemu/apt/       that apt configuration, its lists and cache
#   build/qemu/pristine/  the unpacked tarball, never modified
#   build/qemu/stage/     pristine (hard links) + series + the DFSG repack
#                         placeholders, remade when the series changed
#   build/qemu/src/       the tree QEMU is built from; updated from stage/ by
#                         content, so only changed files get new mtimes and
#                         ninja rebuilds only what depends on them
#   build/qemu/obj/       the meson/ninja build directory; the output is
#                         build/qemu/obj/qemu-system-x86_64
#   build/qemu/*.log      download, patch, configure and build logs
#
# The repack lacks the firmware blobs: the 12 edk2 *.fd.bz2 files that
# pc-bios/meson.build names are created as empty bzip2 files (x86 with
# SeaBIOS uses none of them) and --disable-install-blobs skips the rest; at
# run time, -L /usr/share/seabios -L /usr/share/qemu supplies the firmware.
#
# --l0 builds, from the same tarball, the QEMU that runs the nested
# boots' L1 (L0 in their terms; test machinery, not the product): TCG and
# virtfs instead of KVM and slirp, and the test-only fixes to QEMU's TCG
# SVM emulation in scripts/qemu-l0/series (testing.rst, "Interrupts after
# VMRUN").  Its directories are build/qemu-l0/{pristine,stage,src,obj};
# dl/ and apt/ stay shared in build/qemu/.
#
# Usage: build-qemu.sh [--fetch-only | --l0]
# Environment: BUILD (default: <repo>/build), JOBS (default: nproc),
# QEMU_TARBALL (use this orig tarball instead of downloading; checked the
# same way), QEMU_SERIES_DIR (directory with series and the patches, default
# <repo>/patches/qemu; an empty or missing series means pristine QEMU).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
JOBS=${JOBS:-$(nproc)}
DL=$BUILD/qemu

UPSTREAM=10.0.2
ORIG=qemu_$UPSTREAM+ds.orig.tar.xz
ORIG_SHA256=0901da33844a331bf8b3602b9c1fbd178e60b737c8e3ade678255bd090c9b9f1
SUITE=bookworm-backports
# Bump when the way stage/ is made changes, so that src/ is remade.
RECIPE=1
# configure's arguments: the accelerator and backends go after the first
# two, the rest is common.
ARGS_HEAD=(--target-list=x86_64-softmmu --without-default-features)
ARGS_TAIL=(--disable-docs --python=/usr/bin/python3 --disable-install-blobs
	   --disable-download)

log() { echo "build-qemu: $*"; }
die() { echo "build-qemu: error: $*" >&2; exit 1; }

# Run a command with its output in a log; on failure show the log's end.
run_logged() {
	local logf=$1
	shift
	if ! "$@" > "$logf" 2>&1; then
		echo "build-qemu: last 30 lines of $logf:" >&2
		tail -n 30 "$logf" >&2
		die "failed: $*"
	fi
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

fetch_only=0
l0=0
case "${1:-}" in
'') ;;
--fetch-only) fetch_only=1 ;;
--l0) l0=1 ;;
*) die "usage: $0 [--fetch-only | --l0]" ;;
esac
if [ "$l0" = 1 ]; then
	QB=$BUILD/qemu-l0
	SERIES_DIR=${QEMU_SERIES_DIR:-$TOP/scripts/qemu-l0}
	CONFIGURE_ARGS=("${ARGS_HEAD[@]}" --enable-tcg --enable-attr --enable-virtfs
			"${ARGS_TAIL[@]}")
else
	QB=$DL
	SERIES_DIR=${QEMU_SERIES_DIR:-$TOP/patches/qemu}
	CONFIGURE_ARGS=("${ARGS_HEAD[@]}" --enable-kvm --enable-slirp "${ARGS_TAIL[@]}")
fi

# 0. Dependencies: everything missing at once, with the way to get it.
missing=()
for c in apt-get:apt tar:tar xz:xz-utils bzip2:bzip2 patch:patch rsync:rsync \
	 sha256sum:coreutils pkg-config:pkg-config ninja:ninja-build cc:build-essential; do
	command -v "${c%%:*}" >/dev/null || missing+=("${c%%:*} (${c#*:})")
done
if [ "$fetch_only" = 0 ]; then
	[ -x /usr/bin/python3 ] || missing+=("/usr/bin/python3 (python3)")
	if ! /usr/bin/python3 -c 'import sys, mesonbuild.coredata as c
v = tuple(int(x) for x in c.version.split(".")[:2])
sys.exit(v < (1, 5))' 2>/dev/null; then
		missing+=("meson >= 1.5 for /usr/bin/python3 (meson, bookworm-backports)")
	fi
	/usr/bin/python3 -c 'import pycotap' 2>/dev/null ||
		missing+=("pycotap for /usr/bin/python3 (python3-pycotap, bookworm-backports)")
	/usr/bin/python3 -c 'import ensurepip' 2>/dev/null ||
		missing+=("ensurepip for /usr/bin/python3 (python3-venv)")
	if command -v pkg-config >/dev/null; then
		pkg-config --atleast-version=2.66 glib-2.0 ||
			missing+=("glib-2.0 >= 2.66 (libglib2.0-dev)")
		pkg-config --exists slirp || missing+=("slirp (libslirp-dev)")
		pkg-config --exists zlib || missing+=("zlib (zlib1g-dev)")
	fi
	[ -f /usr/include/libfdt.h ] || missing+=("libfdt.h (libfdt-dev)")
fi
if [ ${#missing[@]} -gt 0 ]; then
	for m in "${missing[@]}"; do echo "build-qemu: missing: $m" >&2; done
	die "install the dependencies first: make deps (scripts/install-deps.sh, as root)"
fi

mkdir -p "$DL/dl" "$QB"

# 1. The orig tarball.
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

APT_DIR=$DL/apt
APT_OPTS=(-o "Dir::Etc::SourceList=$APT_DIR/sources.list"
	  -o "Dir::Etc::SourceParts=$APT_DIR/sources.list.d"
	  -o "Dir::State::Lists=$APT_DIR/lists"
	  -o "Dir::Cache=$APT_DIR/cache"
	  -o "APT::Default-Release=$SUITE")

# URI and keyring of the machine's bookworm-backports entry, as "uri|key".
mirror_of_backports() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v suite="$SUITE" 'BEGIN { RS = ""; FS = "\n" }
		{
			uri = ""; suites = ""; key = ""; types = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^Types:/)     { types = " " $i " " }
				if ($i ~ /^URIs:/)      { uri = $i; sub(/^URIs:[ \t]*/, "", uri); sub(/[ \t].*/, "", uri) }
				if ($i ~ /^Suites:/)    { suites = " " $i " " }
				if ($i ~ /^Signed-By:/) { key = $i; sub(/^Signed-By:[ \t]*/, "", key) }
			}
			if (uri != "" && types ~ / deb(-src)? / && suites ~ " " suite " ") {
				print uri "|" key; exit
			}
		}' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v suite="$SUITE" '$1 == "deb" || $1 == "deb-src" {
			key = ""; i = 2
			if ($i ~ /^\[/) {	# [ options ], up to the word ending in ]
				for (; i <= NF; i++) {
					if ($i ~ /signed-by=/) {
						key = $i; sub(/.*signed-by=/, "", key); sub(/\].*/, "", key)
					}
					if ($i ~ /\]$/) { i++; break }
				}
			}
			if ($(i + 1) == suite) { print $i "|" key; exit }
		}' "$f"
	done
}

# The orig tarball's SHA-256 and the package version, from the Sources index.
index_entry() {
	local f
	for f in "$APT_DIR"/lists/*_source_Sources*; do
		[ -f "$f" ] || continue
		/usr/lib/apt/apt-helper cat-file "$f"
	done | awk -v orig="$ORIG" 'BEGIN { RS = ""; FS = "\n" }
	$1 == "Package: qemu" {
		ver = ""; sha = ""; in_sha = 0
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^Version:/) { ver = $i; sub(/^Version:[ \t]*/, "", ver) }
			if ($i ~ /^[A-Za-z0-9-]+:/) in_sha = ($i ~ /^Checksums-Sha256:/)
			else if (in_sha) {
				n = split($i, w, " ")
				if (n == 3 && w[3] == orig) sha = w[1]
			}
		}
		if (sha != "") { print sha, ver; exit }
	}'
}

download() {
	local line uri key entry idx_sha ver
	line=$(mirror_of_backports | sed -n 1p)
	uri=${line%%|*}
	key=${line#*|}
	[ -n "$uri" ] || die "no $SUITE entry in the apt sources: run make deps (it enables $SUITE)"
	rm -rf "$APT_DIR"
	mkdir -p "$APT_DIR/sources.list.d" "$APT_DIR/lists/partial" \
		"$APT_DIR/cache/archives/partial"
	: > "$APT_DIR/sources.list"
	{
		echo "Types: deb-src"
		echo "URIs: $uri"
		echo "Suites: $SUITE"
		echo "Components: main"
		if [ -n "$key" ]; then echo "Signed-By: $key"; fi
	} > "$APT_DIR/sources.list.d/qemu-src.sources"
	log "fetching the $SUITE Sources index from $uri"
	run_logged "$DL/download.log" apt-get -q "${APT_OPTS[@]}" update
	entry=$(index_entry)
	[ -n "$entry" ] || die "the $SUITE Sources index has no qemu with $ORIG (QEMU_TARBALL=path to use a copy)"
	idx_sha=${entry%% *}
	ver=${entry#* }
	[ "$idx_sha" = "$ORIG_SHA256" ] ||
		die "the Sources index lists $ORIG with SHA-256 $idx_sha, expected $ORIG_SHA256"
	log "downloading $ORIG (qemu $ver)"
	rm -f "$DL/dl/$ORIG"
	# apt-get source exits 100 here even when the tarball arrived (the .dsc
	# is missing on the mirror): its status is not trusted, the file is.
	(cd "$DL/dl" && apt-get "${APT_OPTS[@]}" source --download-only \
		-t "$SUITE" "qemu=$ver") >> "$DL/download.log" 2>&1 || true
	if [ ! -f "$DL/dl/$ORIG" ]; then
		echo "build-qemu: last 30 lines of $DL/download.log:" >&2
		tail -n 30 "$DL/download.log" >&2
		die "apt-get source did not download $ORIG"
	fi
}

# Check a tarball against the pinned hash and, when an index was fetched,
# against the index.
check_tarball() {
	local sha idx
	sha=$(sha_of "$1")
	[ "$sha" = "$ORIG_SHA256" ] ||
		die "$1: SHA-256 $sha, expected $ORIG_SHA256 (QEMU $UPSTREAM, $ORIG)"
	idx=$(index_entry)
	if [ -n "$idx" ] && [ "${idx%% *}" != "$sha" ]; then
		die "$1: SHA-256 $sha differs from the Sources index's ${idx%% *}"
	fi
}

if [ -n "${QEMU_TARBALL:-}" ]; then
	[ -f "$QEMU_TARBALL" ] || die "QEMU_TARBALL=$QEMU_TARBALL does not exist"
	TARBALL=$(cd "$(dirname "$QEMU_TARBALL")" && pwd)/$(basename "$QEMU_TARBALL")
else
	TARBALL=$DL/dl/$ORIG
	if [ ! -f "$TARBALL" ] || [ "$(sha_of "$TARBALL")" != "$ORIG_SHA256" ]; then
		download
	fi
fi
check_tarball "$TARBALL"
log "$TARBALL: SHA-256 ok"
[ "$fetch_only" = 0 ] || exit 0

# 2. Source tree.  Pristine: once per tarball; a new one rebuilds from scratch.
if [ "$(cat "$QB/pristine.stamp" 2>/dev/null)" != "$ORIG_SHA256" ] ||
   [ ! -d "$QB/pristine" ]; then
	log "unpacking $ORIG"
	rm -rf "$QB/pristine" "$QB/pristine.tmp" "$QB/stage" "$QB/src" "$QB/obj" \
		"$QB/src.stamp"
	mkdir -p "$QB/pristine.tmp"
	tar -C "$QB/pristine.tmp" --strip-components=1 -xf "$TARBALL"
	mv "$QB/pristine.tmp" "$QB/pristine"
	echo "$ORIG_SHA256" > "$QB/pristine.stamp"
fi

# The series' patch names, in order (# comments and blank lines skipped).
series() {
	[ -f "$SERIES_DIR/series" ] || return 0
	sed -e 's/#.*//' "$SERIES_DIR/series" | awk 'NF { print $1 }'
}
patches=()
while read -r p; do
	[ -f "$SERIES_DIR/$p" ] || die "$SERIES_DIR/series names $p, which does not exist"
	patches+=("$p")
done < <(series)

inputs_hash() {
	(
		echo "recipe $RECIPE tarball $ORIG_SHA256"
		for p in ${patches[@]+"${patches[@]}"}; do
			echo "$p $(sha_of "$SERIES_DIR/$p")"
		done
	) | sha256sum | cut -d' ' -f1
}
want=$(inputs_hash)
if [ "$(cat "$QB/src.stamp" 2>/dev/null)" != "$want" ] || [ ! -d "$QB/src" ]; then
	rm -rf "$QB/stage"
	cp -al "$QB/pristine" "$QB/stage"
	: > "$QB/patch.log"
	for p in ${patches[@]+"${patches[@]}"}; do
		# patch(1) writes each file anew, so hard links to pristine/ break.
		echo "== $p" >> "$QB/patch.log"
		if ! patch -d "$QB/stage" -p1 --fuzz=0 -N --batch --no-backup-if-mismatch \
		     -r - < "$SERIES_DIR/$p" >> "$QB/patch.log" 2>&1; then
			echo "build-qemu: last 30 lines of $QB/patch.log:" >&2
			tail -n 30 "$QB/patch.log" >&2
			die "patch $p does not apply to QEMU $UPSTREAM (--fuzz=0)"
		fi
		log "applied $p"
	done
	[ ${#patches[@]} -gt 0 ] || log "no patches in $SERIES_DIR/series: pristine QEMU $UPSTREAM"

	# DFSG repack: empty but valid placeholders for the edk2 images that
	# pc-bios/meson.build names, or meson setup stops.
	fds=$(sed -n '/fds = \[/,/\]/p' "$QB/stage/pc-bios/meson.build" |
	      grep -o "edk2-[a-z0-9_-]*\.fd" || true)
	[ -n "$fds" ] || die "no edk2 list in pc-bios/meson.build: placeholders not made"
	for n in $fds; do
		if [ ! -e "$QB/stage/pc-bios/$n.bz2" ]; then
			bzip2 -c < /dev/null > "$QB/stage/pc-bios/$n.bz2"
		fi
	done

	# Copy by content (never hard links: an edit in src/ must not reach
	# pristine/): a changed file gets a new mtime, the others keep theirs,
	# so the build in obj/ stays incremental.
	mkdir -p "$QB/src"
	rsync -rlpD --checksum --delete "$QB/stage/" "$QB/src/"
	rm -rf "$QB/stage"
	echo "$want" > "$QB/src.stamp"
fi

# 3. Configure, unless obj/ was configured with the same arguments from the
#    same configure script.
cc=cc
if command -v ccache >/dev/null; then cc="ccache cc"; fi
export CCACHE_BASEDIR=$QB
confkey=$(printf '%s\n' "cc=$cc" "${CONFIGURE_ARGS[@]}" "$(sha_of "$QB/src/configure")" |
	  sha256sum | cut -d' ' -f1)
if [ "$(cat "$QB/obj/fastboot-configure.stamp" 2>/dev/null)" != "$confkey" ] ||
   [ ! -f "$QB/obj/build.ninja" ]; then
	rm -rf "$QB/obj"
	mkdir -p "$QB/obj"
	log "configuring"
	t=$(now)
	(cd "$QB/obj" && run_logged "$QB/configure.log" \
		../src/configure --cc="$cc" "${CONFIGURE_ARGS[@]}")
	log "configure: $(elapsed "$t") s"
	echo "$confkey" > "$QB/obj/fastboot-configure.stamp"
fi

# 4. Build only the emulator.
log "building qemu-system-x86_64 (-j$JOBS)"
t=$(now)
run_logged "$QB/build.log" ninja -C "$QB/obj" -j"$JOBS" qemu-system-x86_64
log "build: $(elapsed "$t") s ($(grep -c '^\[' "$QB/build.log" || true) steps)"
"$QB/obj/qemu-system-x86_64" --version | sed -n 1p
log "done: $QB/obj/qemu-system-x86_64"
