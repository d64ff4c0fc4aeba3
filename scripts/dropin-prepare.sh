#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Write the build directory of the VFIO type1 drop-in: fastboot's
# vfio_iommu_type1.ko, built out of tree against a distribution's Linux 6.12
# (its headers package, or any prepared 6.12 build directory), so that a
# host whose distribution builds vfio_iommu_type1 as a module can adopt it
# without a new kernel.  dkms.conf runs this as its PRE_BUILD step.
#
# From the distribution's own 6.12 source (the linux-source tarball, or an
# extracted tree) it takes drivers/vfio/{vfio_iommu_type1.c,vfio.h,Makefile}
# and include/uapi/linux/vfio.h, copies the overlay's drivers/vfio/*.[ch]
# over them, and applies, in series order, only the sections of
# patches/series that touch those files (renames included; every other
# path is left out, vfio ones with a warning).  The module's objects are
# the vfio_iommu_type1-y / -objs lines of the patched drivers/vfio/Makefile
# (none: the single vfio_iommu_type1.o).  The result is self-contained:
#
#   make -C <headers or kernel build dir> M=<out> modules
#
# --stock writes the distribution's vfio_iommu_type1 unchanged (no patches,
# no overlay): the before-side module of benchmarks, built the same way.
#
# drivers/vfio/vfio.h is vendored from the same source: it must match the
# running vfio.ko, which the drop-in does not replace.  The patched uapi
# header (include/uapi/linux/vfio.h in <out>) is found before the kernel's
# because Kbuild puts NOSTDINC_FLAGS before LINUXINCLUDE.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	cat <<EOF
usage: $0 [--stock] [--source TARBALL|DIR] [--out DIR] [--kdir DIR [--build]] [--repo DIR] [--force]

  --source PATH  the distribution's Linux 6.12 source: the linux-source
                 tarball or an extracted tree
                 (default: /usr/src/linux-source-6.12.tar.xz)
  --out DIR      build directory to write (default: <repo>/build/dropin,
                 <repo>/build/dropin-stock with --stock); remade each time
  --stock        the source's vfio_iommu_type1 unchanged (before-side module)
  --kdir DIR     the kernel build or headers directory the module is for:
                 refuse if its release is not the source's 6.12.N
  --repo DIR     fastboot tree with patches/ and drivers/vfio/
                 (default: $TOP)
  --build        then build it: make -C KDIR M=OUT modules (without module
                 BTF if KDIR wants it and pahole, package dwarves, is missing)
  --force        go on when --kdir's release differs from the source's
EOF
	exit 2
}

log() { echo "dropin-prepare: $*"; }
warn() { echo "dropin-prepare: warning: $*" >&2; }
die() { echo "dropin-prepare: error: $*" >&2; exit 1; }

SOURCE=/usr/src/linux-source-6.12.tar.xz
OUT=
STOCK=0
KDIR=
REPO=$TOP
FORCE=0
BUILD_IT=0
while [ $# -gt 0 ]; do
	case $1 in
	--source) SOURCE=${2:?}; shift ;;
	--out) OUT=${2:?}; shift ;;
	--stock) STOCK=1 ;;
	--kdir) KDIR=${2:?}; shift ;;
	--repo) REPO=${2:?}; shift ;;
	--force) FORCE=1 ;;
	--build) BUILD_IT=1 ;;
	-h|--help) usage ;;
	*) echo "dropin-prepare: unknown argument: $1" >&2; usage ;;
	esac
	shift
done
REPO=$(cd "$REPO" && pwd)
[ "$BUILD_IT" = 0 ] || [ -n "$KDIR" ] || die "--build needs --kdir"
if [ -z "$OUT" ]; then
	OUT=$REPO/build/dropin
	[ "$STOCK" = 0 ] || OUT=$REPO/build/dropin-stock
fi
variant=patched
[ "$STOCK" = 0 ] || variant=stock

# The files of the distribution's tree the drop-in is made from.
CARRIED="drivers/vfio/vfio_iommu_type1.c drivers/vfio/vfio.h drivers/vfio/Makefile
	 include/uapi/linux/vfio.h"

# The output directory is removed and rewritten: never one we did not make.
if [ -e "$OUT" ] && [ ! -f "$OUT/DROPIN-INFO" ] &&
   [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then
	die "$OUT exists and is not a drop-in build directory (no DROPIN-INFO); not touching it"
fi
mkdir -p "$(dirname "$OUT")"
OUT=$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")
WORK=$(mktemp -d "$OUT.tmp.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
TREE=$WORK/tree
mkdir -p "$TREE"

# 1. The distribution's files (and its top Makefile, for the version).
if [ -d "$SOURCE" ]; then
	for f in Makefile $CARRIED; do
		[ -f "$SOURCE/$f" ] || die "$SOURCE/$f missing: not a Linux source tree"
		mkdir -p "$TREE/$(dirname "$f")"
		cp "$SOURCE/$f" "$TREE/$f"
	done
elif [ -f "$SOURCE" ]; then
	first=$(tar -tf "$SOURCE" 2>/dev/null | head -n 1 || true)
	prefix=${first%%/*}
	if [ -z "$prefix" ] || [ "$prefix" = "$first" ]; then
		die "$SOURCE: not a tarball of one Linux source directory"
	fi
	members=()
	for f in Makefile $CARRIED; do members+=("$prefix/$f"); done
	log "extracting ${#members[@]} files from $SOURCE"
	tar -xf "$SOURCE" -C "$WORK" --occurrence=1 "${members[@]}" ||
		die "$SOURCE lacks some of: Makefile $CARRIED"
	mv "$WORK/$prefix"/* "$TREE/"
else
	die "$SOURCE: no such tarball or directory (apt-get install linux-source-6.12, or --source)"
fi

mkvar() { sed -n "s/^$1[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p" "$TREE/Makefile" | head -n 1; }
srcver=$(mkvar VERSION).$(mkvar PATCHLEVEL).$(mkvar SUBLEVEL)
case $srcver in
6.12.*) ;;
*) die "$SOURCE is Linux $srcver; the drop-in is made for 6.12" ;;
esac
rm "$TREE/Makefile"

# 2. The kernel it is for must be the same 6.12.N as the source: the
#    module's vfio.h must match the running vfio.ko.
if [ -n "$KDIR" ]; then
	relfile=$KDIR/include/config/kernel.release
	[ -f "$relfile" ] || die "$KDIR: not a prepared kernel build or headers directory (no $relfile)"
	rel=$(cat "$relfile")
	relver=$(echo "$rel" | grep -o '^[0-9]*\.[0-9]*\(\.[0-9]*\)\?')
	case $relver in *.*.*) ;; *) relver=$relver.0 ;; esac
	if [ "$relver" != "$srcver" ]; then
		msg="$KDIR is kernel $rel, but $SOURCE is $srcver: install the distribution's source of the same version (e.g. the linux-source package matching the kernel package)"
		[ "$FORCE" = 1 ] || die "$msg"
		warn "$msg (--force: going on)"
	fi
fi

# filter_patch PATCH PRESENT: the sections of PATCH (git diff format) that
# touch the files listed in PRESENT (modify, rename, delete), or create a
# file at the top of drivers/vfio/.  Other vfio paths are named on stderr:
# the drop-in cannot carry them.
filter_patch() {
	awk -v present="$2" -v pname="$(basename "$1")" '
	BEGIN { while ((getline f < present) > 0) have[f] = 1 }
	function flush(   keep) {
		if (sec == "")
			return
		keep = (a in have) || (isnew && b ~ /^drivers\/vfio\/[^\/]+$/)
		if (keep)
			printf "%s", sec
		else if (a ~ /^(drivers\/vfio\/|include\/(uapi\/)?linux\/vfio)/ ||
			 b ~ /^(drivers\/vfio\/|include\/(uapi\/)?linux\/vfio)/)
			printf "%s: %s\n", pname, (a == b ? a : a " -> " b) > "/dev/stderr"
		sec = ""
	}
	/^diff --git a\/[^ ]+ b\/[^ ]+$/ {
		flush()
		a = substr($3, 3); b = substr($4, 3); isnew = 0
		sec = $0 "\n"
		next
	}
	sec != "" && /^new file mode / { isnew = 1 }
	sec != "" { sec = sec $0 "\n" }
	END { flush() }
	' "$1"
}

# 3. Overlay, then the series (the order scripts/build-kernel.sh uses).
applied=()
if [ "$STOCK" = 0 ]; then
	for f in "$REPO"/drivers/vfio/*.[ch]; do
		[ -f "$f" ] || continue
		cp "$f" "$TREE/drivers/vfio/"
		log "overlay drivers/vfio/$(basename "$f")"
	done
	series=$REPO/patches/series
	if [ -f "$series" ]; then
		while read -r p _; do
			case "$p" in ''|\#*) continue ;; esac
			[ -f "$REPO/patches/$p" ] || die "patches/series names $p, which does not exist"
			(cd "$TREE" && find . -type f | sed 's|^\./||') > "$WORK/present"
			filter_patch "$REPO/patches/$p" "$WORK/present" > "$WORK/filtered" \
				2> "$WORK/left-out"
			while read -r l; do
				warn "not carried by the drop-in (it replaces vfio_iommu_type1.ko only): $l"
				echo "left out: $l" >> "$WORK/notes"
			done < "$WORK/left-out"
			[ -s "$WORK/filtered" ] || continue
			if ! patch -d "$TREE" -p1 -s -N --no-backup-if-mismatch -r - \
			     < "$WORK/filtered" > "$WORK/patch.log" 2>&1; then
				cat "$WORK/patch.log" >&2
				die "the drivers/vfio sections of $p do not apply to $SOURCE ($srcver)"
			fi
			applied+=("$p")
			log "applied the vfio sections of $p"
			if grep -q '^diff --git a/drivers/vfio/vfio\.h ' "$WORK/filtered"; then
				warn "$p changes drivers/vfio/vfio.h: the drop-in must still match the distribution's vfio.ko, which it does not replace"
				echo "warning: $p changes drivers/vfio/vfio.h (shared with vfio.ko)" >> "$WORK/notes"
			fi
		done < "$series"
	fi
fi

# 4. The module's objects, from the (patched) drivers/vfio/Makefile.
mf=$TREE/drivers/vfio/Makefile
[ -f "$mf" ] || die "the series deletes drivers/vfio/Makefile"
# Logical lines: continuations joined.
awk '{ while (sub(/\\$/, "") && (getline nxt) > 0) $0 = $0 " " nxt; print }' "$mf" \
	> "$WORK/Makefile.joined"
grep -Eq '^obj-[^[:space:]]*[[:space:]]*[:+]?=.*[[:space:]=]vfio_iommu_type1\.o([[:space:]]|$)' \
	"$WORK/Makefile.joined" ||
	die "drivers/vfio/Makefile no longer builds vfio_iommu_type1.o"
# Lines that define the module's parts, and per-object flags: copied to Kbuild.
grep -E '^[[:space:]]*vfio_iommu_type1-[^[:space:]]*[[:space:]]*[:+?]?=' \
	"$WORK/Makefile.joined" > "$WORK/kbuild-lines" || true
objs=$(awk '
	/^[[:space:]]*vfio_iommu_type1-(y|objs)[[:space:]]*[:+?]?=/ {
		line = $0
		match(line, /[:+?]?=/)
		op = RLENGTH == 2 ? substr(line, RSTART, 1) : ""
		line = substr(line, RSTART + RLENGTH)
		if (op == "?" && list != "") next
		if (op != "+") list = ""
		list = list " " line
	}
	END { print list }' "$WORK/Makefile.joined" | xargs)
composite=1
if [ -z "$objs" ]; then
	objs=vfio_iommu_type1.o
	composite=0
fi
for o in $objs; do
	grep -E "^[[:space:]]*CFLAGS_(REMOVE_)?${o%.o}\.o[[:space:]]*[:+?]?=" \
		"$WORK/Makefile.joined" >> "$WORK/kbuild-lines" || true
	s=${o%.o}
	[ -f "$TREE/drivers/vfio/$s.c" ] || [ -f "$TREE/drivers/vfio/$s.S" ] ||
		die "vfio_iommu_type1 needs $s.o, but neither the series nor the overlay provides drivers/vfio/$s.c"
done
if [ "$composite" = 1 ] && [ -f "$TREE/drivers/vfio/vfio_iommu_type1.c" ]; then
	die "drivers/vfio/Makefile makes vfio_iommu_type1 of $objs, but drivers/vfio/vfio_iommu_type1.c still exists (a composite module must not have a source of its own name)"
fi

# 5. The build directory.
STAGE=$WORK/out
mkdir -p "$STAGE/include/uapi/linux"
for f in "$TREE"/drivers/vfio/*.[chS]; do
	[ -f "$f" ] && cp "$f" "$STAGE/"
done
cp "$TREE/include/uapi/linux/vfio.h" "$STAGE/include/uapi/linux/vfio.h"

# Identity: which fastboot, which variant, and a hash of what is compiled.
rev=unknown
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
	rev=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)
elif [ -f "$REPO/dkms.conf" ]; then
	rev=$(sed -n 's/^PACKAGE_VERSION="*\([^"]*\)"*/\1/p' "$REPO/dkms.conf")
fi
content=$(cd "$STAGE" && find . -type f | LC_ALL=C sort | xargs sha1sum | sha1sum | cut -c1-12)
ident=$(echo "fastboot-vfio $variant $rev linux-$srcver content:$content" | tr -cd 'A-Za-z0-9 .:+~_-')

cat > "$STAGE/dropin-info.h" <<EOF
/* SPDX-License-Identifier: GPL-2.0 */
/* Generated by scripts/dropin-prepare.sh: marks the module as the drop-in. */
#include <linux/module.h>
MODULE_INFO(fastboot_dropin, "$ident");
EOF

{
	echo "# SPDX-License-Identifier: GPL-2.0"
	echo "#"
	echo "# Generated by scripts/dropin-prepare.sh ($ident)."
	echo "# fastboot's vfio_iommu_type1, out of tree:"
	echo "#   make -C <kernel build or headers dir> M=\$PWD modules"
	echo
	echo "obj-m := vfio_iommu_type1.o"
	if [ -s "$WORK/kbuild-lines" ]; then
		echo
		echo "# From the patched drivers/vfio/Makefile:"
		cat "$WORK/kbuild-lines"
	fi
	cat <<'EOF'

# include/uapi/linux/vfio.h here wins over the kernel's copy: NOSTDINC_FLAGS
# comes before LINUXINCLUDE on the compiler's command line.  (Not ccflags-y:
# it comes after.  Not include/uapi: <linux/vfio.h> must stay the kernel's.)
NOSTDINC_FLAGS += -I$(src)/include

# modinfo's fastboot_dropin field names what was built.
dropin-first := $(firstword $(vfio_iommu_type1-y) $(vfio_iommu_type1-objs) vfio_iommu_type1.o)
CFLAGS_$(dropin-first) += -include $(src)/dropin-info.h
EOF
} > "$STAGE/Kbuild"

cat > "$STAGE/Makefile" <<'EOF'
# SPDX-License-Identifier: GPL-2.0
# Generated by scripts/dropin-prepare.sh.  The build itself is in Kbuild.
KDIR ?= /lib/modules/$(shell uname -r)/build

modules clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $@
EOF

{
	echo "module: vfio_iommu_type1"
	echo "variant: $variant"
	echo "ident: $ident"
	echo "source: $SOURCE (Linux $srcver)"
	echo "objects: $objs"
	echo "patches: ${applied[*]:-none}"
	[ ! -f "$WORK/notes" ] || cat "$WORK/notes"
} > "$STAGE/DROPIN-INFO"

rm -rf "$OUT"
mv "$STAGE" "$OUT"
log "$OUT: vfio_iommu_type1 = $objs ($variant, Linux $srcver, patches: ${applied[*]:-none})"
if [ "$BUILD_IT" = 0 ]; then
	log "build: make -C <kernel build or headers dir> M=$OUT modules"
	exit 0
fi
btf=()
if grep -q '^CONFIG_DEBUG_INFO_BTF_MODULES=y' "$KDIR/.config" 2>/dev/null &&
   ! command -v pahole >/dev/null; then
	warn "pahole missing (package dwarves): building without module BTF"
	btf=(CONFIG_DEBUG_INFO_BTF_MODULES=)
fi
make -C "$KDIR" M="$OUT" -j"$(nproc)" "${btf[@]}" modules ||
	die "vfio_iommu_type1 does not build against $KDIR"
log "built $OUT/vfio_iommu_type1.ko for $(cat "$KDIR/include/config/kernel.release")"
