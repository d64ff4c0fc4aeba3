#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make lint: the review checks a kernel maintainer runs first.
#   - scripts/checkpatch.pl --strict over every patch in patches/series and
#     every overlay source file (C files, headers, Kconfig/Makefile parts)
#   - sparse (C=2) over every overlay object in the patched tree
#   - no compiler output for the fastboot selftests and the benchmarks
# Any error or warning fails.  Needs the tree from 'make kernel'.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
TREE=$BUILD/linux
# sparse and the compiler must see the overlay as it is now.
"$TOP/scripts/build-kernel.sh" >/dev/null

fail=0
CHECKPATCH=("$TREE/scripts/checkpatch.pl" --strict --quiet --no-summary
	    --show-types)

while read -r p _; do
	case "$p" in ''|\#*) continue ;; esac
	if ! (cd "$TREE" && "${CHECKPATCH[@]}" "$TOP/patches/$p"); then
		echo "lint: checkpatch: patches/$p" >&2
		fail=1
	fi
done < "$TOP/patches/series"

# checkpatch -f of one overlay file.  Its CamelCase check cannot know the
# accessors kernel headers generate with macros (PageOffline(),
# __SetPageOffline() from PAGE_TYPE_OPS()): a CAMELCASE finding is dropped
# when upstream 6.12 code outside the overlay calls that name itself.
checkpatch_file() {
	local out
	# (--no-tree leaves checkpatch's include scan for CamelCase without a
	# root: drop its two lines of noise about that.)
	out=$(cd "$TREE" && "${CHECKPATCH[@]}" --no-tree -f "$TOP/$1" \
		2> >(grep -Ev "uninitialized value \\\$root|find: '/include'|find: ‘/include’" >&2)) &&
		return 0
	out=$(printf '%s\n' "$out" | awk -v tree="$BUILD/pristine" '
		function upstream(w) {
			return system("grep -rqwF -- \"" w "\" " tree "/mm " tree "/drivers/virtio") == 0
		}
		BEGIN { RS = ""; ORS = "\n\n" }
		/^CHECK:CAMELCASE: Avoid CamelCase: </ {
			w = $0; sub(/^[^<]*</, "", w); sub(/>.*/, "", w)
			if (upstream(w)) next
		}
		{ print }')
	[ -z "$out" ] && return 0
	printf '%s\n' "$out"
	return 1
}

# The sources git tracks or would track: no build leftovers (a top-level
# 'make' writes drivers/virtio/*.mod.c).
mapfile -t sources < <(cd "$TOP" && git ls-files -co --exclude-standard -- \
	mm drivers tools/testing/selftests/fastboot |
	grep -E '\.[ch]$' | while read -r f; do [ -f "$f" ] && echo "$f"; done | sort)
for f in "${sources[@]}"; do
	if ! checkpatch_file "$f"; then
		echo "lint: checkpatch: $f" >&2
		fail=1
	fi
done

# sparse over the kernel-side overlay objects (mm/, drivers/).
for f in "${sources[@]}"; do
	case "$f" in mm/*.c|drivers/*.c) ;; *) continue ;; esac
	log=$(make -s -C "$TREE" O="$BUILD/obj" C=2 "${f%.c}.o" 2>&1) || fail=1
	if [ -n "$log" ]; then
		echo "$log"
		echo "lint: sparse/compiler: $f" >&2
		fail=1
	fi
done

# No compiler warnings in the selftests and benchmarks either.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -d "$BUILD/obj/usr/include" ] || make -s -C "$TREE" O="$BUILD/obj" headers
for dir in "$TREE/tools/testing/selftests/fastboot" "$TOP/bench" \
	   "$TOP/bench/clear_page"; do
	log=$(make -s -C "$dir" OUTPUT="$tmp" \
		KHDR_INCLUDES="-isystem $BUILD/obj/usr/include" 2>&1) || fail=1
	# lib.mk prints "  CC  name" progress lines; anything else is a finding.
	log=$(echo "$log" | grep -Ev '^  [A-Z]+ +[^ ]+$' || true)
	if [ -n "$log" ]; then
		echo "$log"
		echo "lint: compiler: $dir" >&2
		fail=1
	fi
done

[ "$fail" = 0 ] && echo "lint: checkpatch, sparse and compiler clean (${#sources[@]} sources, $(grep -cv '^#' "$TOP/patches/series") patches)"
exit "$fail"
