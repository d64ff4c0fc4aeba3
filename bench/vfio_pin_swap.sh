#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vfio_pin_swap.sh: pinning and IOMMU mapping of populated 2 MiB huge pages
# through a plain VFIO_IOMMU_MAP_DMA / UNMAP_DMA, with 6.12's stock
# vfio_iommu_type1 module and with fastboot's, in one boot of the test guest.
#
#   vfio_pin_swap.sh [-r rounds] [-n runs] [-m MiB] [-b bench] STOCK.ko
#
# Runs "vfio_defer_bench -P" (-n runs, -m MiB, default 3 and 1024) with the
# loaded fastboot module, then swaps in STOCK.ko (rmmod vfio_iommu_type1;
# insmod), runs it again, and so on: fastboot, stock, fastboot, stock ...
# for -r rounds (default 3), so that a noisy machine hits both alike.
# Each invocation gives the median of its runs; the table gives the median
# over the rounds, and the RESULT lines the ratios stock / fastboot (times
# faster):
#
#   RESULT vfio_sync_pin_2m_speedup <x> x      map (pin + IOMMU map)
#   RESULT vfio_sync_unpin_2m_speedup <x> x    unmap (IOMMU unmap + unpin)
#
# Which module is loaded is checked after every swap: fastboot's has the
# defer_workers parameter, the stock one has not.  fastboot's module is
# loaded again (modprobe) on every exit path.  Needs root,
# CONFIG_VFIO_IOMMU_TYPE1=m and no VFIO container open; vfio and vfio-pci
# stay loaded.  STOCK.ko must be built for the running kernel.
set -euo pipefail

MOD=vfio_iommu_type1
SYS=/sys/module/$MOD
rounds=3
runs=3
mib=1024
bench=$(dirname "$0")/vfio_defer_bench

die() {
	echo "vfio_pin_swap: $*" >&2
	exit 1
}

usage() {
	echo "usage: $0 [-r rounds] [-n runs] [-m MiB] [-b vfio_defer_bench] STOCK.ko" >&2
	exit 2
}

while getopts r:n:m:b:h opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	n) runs=$OPTARG ;;
	m) mib=$OPTARG ;;
	b) bench=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 1 ] || usage
stock=$1

[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "-r $rounds: not a positive number"
if ! [[ $runs =~ ^[1-9][0-9]*$ ]] || [ "$runs" -gt 15 ]; then
	die "-n $runs: must be 1 to 15"
fi
if ! [[ $mib =~ ^[1-9][0-9]*$ ]] || [ $((mib % 2)) != 0 ]; then
	die "-m $mib: must be a positive even number of MiB"
fi
[ -f "$stock" ] || die "$stock: no such module file"
[ -r "$stock" ] || die "$stock: not readable"
[ -x "$bench" ] || die "$bench: not executable (-b)"
[ "$(id -u)" = 0 ] || die "must run as root"
if [ $((mib % 1024)) = 0 ]; then
	tag=$((mib / 1024))g
else
	tag=${mib}m
fi

# Which vfio_iommu_type1 is loaded: fastboot, stock or none.
loaded() {
	if [ ! -d "$SYS" ]; then
		echo none
	elif [ -e "$SYS/parameters/defer_workers" ]; then
		echo fastboot
	else
		echo stock
	fi
}

if [ -d "$SYS" ] && [ ! -e "$SYS/initstate" ]; then
	die "$MOD is built in (CONFIG_VFIO_IOMMU_TYPE1=y); swapping needs =m"
fi

unload() {
	[ -d "$SYS" ] || return 0
	rmmod "$MOD" ||
		die "rmmod $MOD failed (refcnt $(cat "$SYS/refcnt" 2>/dev/null)): is a VFIO container still open?"
}

load_fastboot() {
	[ "$(loaded)" = fastboot ] && return 0
	unload
	modprobe "$MOD" || die "modprobe $MOD failed"
	[ "$(loaded)" = fastboot ] ||
		die "modprobe $MOD loaded a module without defer_workers: is fastboot's installed in /lib/modules/$(uname -r)?"
}

load_stock() {
	unload
	insmod "$stock" ||
		die "insmod $stock failed (built for $(uname -r)? see dmesg)"
	[ "$(loaded)" = stock ] ||
		die "$stock has the defer_workers parameter: it is not the stock module"
}

# fastboot's module again, whatever happened.
restore() {
	local rc=$?

	set +e
	trap - EXIT
	if [ "$(loaded)" != fastboot ]; then
		if ! { [ ! -d "$SYS" ] || rmmod "$MOD"; } ||
		   ! modprobe "$MOD" || [ "$(loaded)" != fastboot ]; then
			echo "vfio_pin_swap: could not load fastboot's $MOD again" >&2
			rc=1
		fi
	fi
	exit "$rc"
}
trap restore EXIT
trap 'exit 130' INT TERM HUP

median() {
	printf '%s\n' "$@" | sort -n | awk '
		{ v[NR] = $1 }
		END {
			if (NR % 2)
				print v[(NR + 1) / 2]
			else
				print (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# One invocation with the loaded module ($1: its name): appends to
# ${1}_map and ${1}_unmap and prints a row.
run() {
	local out map unmap

	out=$("$bench" -P -m "$mib" -r "$runs") ||
		die "$bench -P failed with the $1 module"
	map=$(awk -v n="vfio_pin_map_${tag}_ms" \
		'$1 == "RESULT" && $2 == n { print $3 }' <<< "$out")
	unmap=$(awk -v n="vfio_pin_unmap_${tag}_ms" \
		'$1 == "RESULT" && $2 == n { print $3 }' <<< "$out")
	if [ -z "$map" ] || [ -z "$unmap" ]; then
		printf '%s\n' "$out" >&2
		die "no vfio_pin_{map,unmap}_${tag}_ms RESULT lines from $bench -P"
	fi
	eval "${1}_map+=(\"\$map\"); ${1}_unmap+=(\"\$unmap\")"
	printf '%-6s %-9s %10s %10s\n' "$round" "$1" "$map" "$unmap"
}

fastboot_map=() fastboot_unmap=() stock_map=() stock_unmap=()
echo "Plain VFIO_IOMMU_MAP_DMA / UNMAP_DMA of $mib MiB of populated 2 MiB huge pages,"
echo "$MOD fastboot vs stock ($stock), alternating, $rounds rounds (ms, each the median of $runs runs)"
echo
printf '%-6s %-9s %10s %10s\n' round module map unmap
for ((round = 1; round <= rounds; round++)); do
	load_fastboot
	run fastboot
	load_stock
	run stock
done
load_fastboot

sm=$(median "${stock_map[@]}")
su=$(median "${stock_unmap[@]}")
fm=$(median "${fastboot_map[@]}")
fu=$(median "${fastboot_unmap[@]}")
awk -v sm="$sm" -v su="$su" -v fm="$fm" -v fu="$fu" -v tag="$tag" 'BEGIN {
	if (fm <= 0 || fu <= 0) {
		print "vfio_pin_swap: a fastboot time is 0" > "/dev/stderr"
		exit 1
	}
	printf "\n%-14s %10s %10s %9s\n", "median", "stock", "fastboot", "speedup"
	printf "%-14s %10.1f %10.1f %8.3fx\n", "map", sm, fm, sm / fm
	printf "%-14s %10.1f %10.1f %8.3fx\n\n", "unmap", su, fu, su / fu
	printf "RESULT vfio_sync_pin_2m_speedup %.3f x\n", sm / fm
	printf "RESULT vfio_sync_unpin_2m_speedup %.3f x\n", su / fu
	printf "RESULT vfio_pin_swap_stock_map_%s_ms %.1f ms\n", tag, sm
	printf "RESULT vfio_pin_swap_fastboot_map_%s_ms %.1f ms\n", tag, fm
	printf "RESULT vfio_pin_swap_stock_unmap_%s_ms %.1f ms\n", tag, su
	printf "RESULT vfio_pin_swap_fastboot_unmap_%s_ms %.1f ms\n", tag, fu
}'
