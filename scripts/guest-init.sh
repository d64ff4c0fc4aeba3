#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the fastboot test initramfs (packed by scripts/mkinitramfs.sh).
# Mounts the usual file systems and the host share, loads the modules the
# tests expect, runs /fastboot/cmd (appended by scripts/vm.py) with its
# output on ttyS1, reports its exit status there and powers off.
/bin/busybox --install -s /bin
# Host tools in /usr/bin (bash, coreutils) win over busybox applets in /bin.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /dev/hugepages /host /dev/shm /mnt
mount -t hugetlbfs hugetlbfs /dev/hugepages
mount -t tmpfs tmpfs /dev/shm
# The host directory (vm.py --share), if the machine has one.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 host /host 2>/dev/null
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr

# kmod's modprobe where the initramfs has one (scripts/check-dropin.sh's,
# for Debian's kernel): it follows softdeps (modprobe.d), busybox's does not,
# and ash runs its own modprobe applet whatever PATH says.
if [ -x /sbin/modprobe ]; then
	modprobe() { /sbin/modprobe "$@"; }
fi

# virtio_balloon is a module so that tests can move the device to it (the
# test kernel's virtio_balloon_2m is built in and takes the device at boot).
# -b: a blacklist applies, as when udev loads it for the device by alias.
modprobe -b virtio_balloon
# VFIO is modular (as in Debian) so that benchmarks can swap the type1
# driver; load it as udev would on a host.  fastboot.vfio_ids=VID:DID[,...]
# on the command line binds those devices to vfio-pci as it loads (its
# ids= parameter): a passthrough driver probing during boot, as on a host
# that binds its VFs from the initramfs (balloon_boot_test).
vfio_ids=
for arg in $(cat /proc/cmdline); do
	case $arg in
	fastboot.vfio_ids=*) vfio_ids=${arg#fastboot.vfio_ids=} ;;
	esac
done
modprobe vfio_pci ${vfio_ids:+ids=$vfio_ids}
modprobe vfio_iommu_type1

out=/dev/ttyS1
stty -F "$out" raw -echo 2>/dev/null
sh /fastboot/cmd > "$out" 2>&1 < /dev/null
rc=$?
# The exit status, and the kernel's taint flags for vm.py to judge.
echo "@@FASTBOOT-EXIT $rc $(cat /proc/sys/kernel/tainted)" > "$out"
sync
poweroff -f
