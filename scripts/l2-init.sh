#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# /init of L2, the innermost VM of the nested scenario (packed by
# scripts/mkinitramfs-l2.sh; L1's launcher starts L2 with console=ttyS0 and
# l2.mode=MODE).  Prints FASTBOOT-L2-UP on ttyS0 as soon as proc and dev are
# mounted (L1 times L2's start up to that line), then by l2.mode:
#   marker  sleep until L1 ends the VM (QMP quit)
#           (l2.dmesg=1: first copy the kernel log's timing lines to
#           ttyS0: initcalls of 10 ms or more, memory, the balloon, /init;
#           for finding where L2's boot time goes with printk.time=1
#           initcall_debug.  All of it takes longer to print than a run
#           lasts.)
#   dma     copy the 2 MiB balloon's probe line from the kernel log to
#           ttyS0 as "FASTBOOT-L2-PROBE <line>" (where the probe stopped
#           waiting), then wait, polling every 100 ms for up to
#           l2.dma_wait seconds (600),
#           until the 2 MiB balloon is empty (target_pages and actual_pages
#           0), print FASTBOOT-L2-DEFLATED, run /bin/l2_edu_dma (its
#           FASTBOOT-L2-DMA-OK/-FAIL line goes to ttyS0) and power off.
#           l2.dma_mib=N and l2.dma_threshold=BYTES become its -m and -t.
# Keep L2 quiet: every byte on the serial port is a trap through two
# hypervisors.
# No set -euo pipefail: this is PID 1, and it must always reach poweroff.

/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs devtmpfs /dev
echo FASTBOOT-L2-UP > /dev/ttyS0

export PATH=/bin
con=/dev/ttyS0
mount -t sysfs sysfs /sys
mount -t debugfs debugfs /sys/kernel/debug

mode=marker dma_wait=600 dma_args='' dmesg=0
# shellcheck disable=SC2013 # the command line is one line of words
for arg in $(cat /proc/cmdline); do
	case $arg in
	l2.mode=*) mode=${arg#l2.mode=} ;;
	l2.dma_wait=*) dma_wait=${arg#l2.dma_wait=} ;;
	l2.dmesg=*) dmesg=${arg#l2.dmesg=} ;;
	l2.dma_mib=*) dma_args="$dma_args -m ${arg#l2.dma_mib=}" ;;
	l2.dma_threshold=*) dma_args="$dma_args -t ${arg#l2.dma_threshold=}" ;;
	esac
done

# 0 when every 2 MiB balloon device reports an empty balloon and no target.
balloon_empty() {
	local f seen=
	for f in /sys/kernel/debug/virtio_balloon_2m/virtio*; do
		[ -r "$f" ] || return 1
		grep -qx 'actual_pages 0' "$f" || return 1
		grep -qx 'target_pages 0' "$f" || return 1
		seen=1
	done
	[ -n "$seen" ]
}

case $mode in
marker)
	[ "$dmesg" = 1 ] && dmesg | grep -E "after [0-9]{5,} usecs|Memory:|Run /init|virtio_balloon|Freeing|Zone|smpboot" > $con
	while :; do sleep 3600; done
	;;
dma)
	probe=$(dmesg | grep -m 1 -E 'virtio_balloon_2m .*: initial (target reached|inflate stopped)')
	echo "FASTBOOT-L2-PROBE ${probe#*: }" > $con
	polls=$((dma_wait * 10))
	while ! balloon_empty; do
		if [ "$polls" -le 0 ]; then
			state=$(cat /sys/kernel/debug/virtio_balloon_2m/virtio* 2>&1 |
				grep -E '^(target|actual)_pages' | tr '\n' ' ')
			echo "FASTBOOT-L2-DMA-FAIL balloon not empty after ${dma_wait}s: ${state% }" > $con
			poweroff -f
		fi
		polls=$((polls - 1))
		sleep 0.1
	done
	echo FASTBOOT-L2-DEFLATED > $con
	# shellcheck disable=SC2086 # $dma_args is a list of options
	/bin/l2_edu_dma $dma_args > $con 2>&1
	poweroff -f
	;;
*)
	echo "FASTBOOT-L2-FAIL unknown l2.mode=$mode" > $con
	poweroff -f
	;;
esac
