#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the distribution's stock kernel that scripts/check-dropin.sh
# boots.  TAP.
#
#   guest-dropin.sh RELEASE
#       loads the distribution's vfio modules and the drop-in
#       vfio_iommu_type1 (lib/modules/<release>/updates/, which depmod
#       prefers), proves that the loaded vfio_iommu_type1 is the drop-in and
#       the rest is the distribution's, then runs the fastboot VFIO
#       selftests (fastboot:vfio_* in /selftests/kselftest-list.txt); then
#       checks that virtio_balloon_2m is the DKMS build in updates/dkms and
#       that the distribution's virtio_balloon took the balloon at boot
#       (guest-init.sh's modprobe), and runs balloon_test (both drivers:
#       the test moves the device)
#   guest-dropin.sh --balloon-boot RELEASE
#       the boot with modprobe.d/virtio_balloon_2m.conf installed, a balloon
#       target set before the guest ran and edu bound to vfio-pci by /init:
#       checks that /init's modprobe vfio_pci loaded virtio_balloon_2m
#       first (softdep) and that it reached the target before edu's probe,
#       then runs balloon_boot_test
BOOT=0
if [ "$1" = --balloon-boot ]; then
	BOOT=1
	shift
fi
want=${1:?usage: guest-dropin.sh [--balloon-boot] RELEASE}
rel=$(uname -r)
mods=/lib/modules/$rel
rc=0
n=0

# result STATUS DESCRIPTION
result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n dropin: $2"
	else
		echo "not ok $n dropin: $2"
		rc=1
	fi
}

# run_tests PATTERN: every selftest of /selftests/kselftest-list.txt
# matching PATTERN (grep), through the kselftest runner.
run_tests() {
	tests=$(grep "$1" /selftests/kselftest-list.txt)
	[ -n "$tests" ] || { echo "# no $1 selftests in /selftests"; rc=1; return; }
	for t in $tests; do
		(cd /selftests && ./run_kselftest.sh -t "$t") || rc=1
	done
}

# The virtio balloon device (virtioN, device ID 5) and its driver's name.
balloon_dev=
for d in /sys/bus/virtio/devices/*; do
	[ "$(cat "$d/device" 2>/dev/null)" = 0x0005 ] && balloon_dev=${d##*/} && break
done
balloon_driver() {
	drv=$(readlink "/sys/bus/virtio/devices/$balloon_dev/driver" 2>/dev/null)
	echo "${drv##*/}"
}

# check_b2m_module: virtio_balloon_2m, as modprobe finds it, is the DKMS
# build for this kernel in updates/dkms.
check_b2m_module() {
	path=$(modinfo -n virtio_balloon_2m 2>/dev/null)
	magic=$(modinfo -F vermagic virtio_balloon_2m 2>/dev/null)
	echo "# modinfo -n virtio_balloon_2m: $path (vermagic $magic)"
	ok=1
	case $path in "$mods"/updates/dkms/virtio_balloon_2m.ko*) ;; *) ok=0 ;; esac
	case $magic in "$rel "*) ;; *) ok=0 ;; esac
	[ $ok = 1 ]
	result $? "virtio_balloon_2m is the DKMS build in updates/dkms for $rel"
}

echo "# guest: $(cat /proc/version)"
# init_on_alloc as shipped (Debian: on), which zeroes every page inflated.
echo "# $(dmesg | grep -m1 'mem auto-init')"
echo "TAP version 13"

if [ "$BOOT" = 1 ]; then
	echo "1..4"
	[ "$rel" = "$want" ]
	result $? "running the distribution's kernel $want (uname -r: $rel)"
	check_b2m_module

	# /init's modprobe vfio_pci (kmod's, which follows softdeps) loaded
	# virtio_balloon_2m first; its probe took the device and inflated to
	# the preset target before returning, so before vfio-pci loaded and
	# probed edu.  Debian's virtio_balloon is blacklisted (/init loads it
	# with -b, as udev would by modalias): not loaded.
	edu=
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ]; then
			edu=${d##*/}
			break
		fi
	done
	drv=$(balloon_driver)
	log=$(dmesg)
	line_of() {
		echo "$log" | grep -n -m1 -F "$1" | cut -d: -f1
	}
	l_init=$(line_of "Run /init as init process")
	l_reached=$(line_of "virtio_balloon_2m $balloon_dev: initial target reached")
	l_probe=$(line_of "probe of $edu returned 0 after")
	echo "# $balloon_dev bound to '$drv'; virtio_balloon" \
	     "$([ -d /sys/module/virtio_balloon ] && echo loaded || echo not loaded)"
	echo "$log" | grep -E "Run /init|virtio_balloon_2m|probe of $edu returned" | sed 's/^/# /'
	[ "$drv" = virtio_balloon_2m ] && [ ! -d /sys/module/virtio_balloon ] &&
		[ -n "$l_init" ] && [ -n "$l_reached" ] && [ -n "$l_probe" ] &&
		[ "$l_init" -lt "$l_reached" ] && [ "$l_reached" -lt "$l_probe" ]
	result $? "/init's modprobe vfio_pci loaded virtio_balloon_2m first: it took $balloon_dev and reached the target before edu's probe"

	edu_drv=$(readlink "/sys/bus/pci/devices/$edu/driver" 2>/dev/null)
	echo "# edu $edu bound to '${edu_drv##*/}'"
	[ "${edu_drv##*/}" = vfio-pci ]
	result $? "vfio-pci took edu when it loaded"

	# Not in run_kselftest.sh's list (it needs this boot): through the
	# runner as check.sh runs it, so that it counts as "selftests:
	# fastboot: balloon_boot_test".
	# shellcheck source=/dev/null
	(BASE_DIR=/selftests; export BASE_DIR; cd "$BASE_DIR" &&
	 . ./kselftest/runner.sh && cd fastboot && run_many balloon_boot_test) || rc=1
	exit $rc
fi

echo "1..8"
[ "$rel" = "$want" ]
result $? "running the distribution's kernel $want (uname -r: $rel)"

# The distribution's vfio, vfio_pci_core and vfio_pci; vfio's softdep
# loads vfio_iommu_type1 after vfio, asked for again here in any case.
modprobe vfio_pci && modprobe vfio_iommu_type1
result $? "modprobe vfio_pci vfio_iommu_type1"

path=$(modinfo -n vfio_iommu_type1 2>/dev/null)
ident=$(modinfo -F fastboot_dropin "$path" 2>/dev/null)
dropin=$(modinfo -F srcversion "$path" 2>/dev/null)
stock=$(modinfo -F srcversion "$mods"/kernel/drivers/vfio/vfio_iommu_type1.ko* 2>/dev/null)
loaded=$(cat /sys/module/vfio_iommu_type1/srcversion 2>/dev/null)
taint=$(cat /sys/module/vfio_iommu_type1/taint 2>/dev/null)
echo "# modinfo -n vfio_iommu_type1: $path"
echo "# modinfo -F fastboot_dropin: $ident"
echo "# srcversion: loaded $loaded, drop-in $dropin, distribution's $stock"
echo "# /sys/module/vfio_iommu_type1/taint: '$taint' (O: out of tree, E: unsigned)"
ok=1
case $path in "$mods"/updates/*) ;; *) ok=0 ;; esac
[ -n "$ident" ] && [ -n "$loaded" ] && [ "$loaded" = "$dropin" ] &&
	[ "$loaded" != "$stock" ] || ok=0
case $taint in *O*) ;; *) ok=0 ;; esac
[ $ok = 1 ]
result $? "the loaded vfio_iommu_type1 is the drop-in ($ident)"

vfio_taint=$(cat /sys/module/vfio/taint 2>/dev/null)
vfio_path=$(modinfo -n vfio 2>/dev/null)
echo "# vfio: $vfio_path, taint '$vfio_taint'"
case $vfio_path in "$mods"/kernel/*) [ -z "$vfio_taint" ] ;; *) false ;; esac
result $? "vfio.ko is the distribution's (in tree, signed)"

[ -c /dev/vfio/vfio ]
result $? "/dev/vfio/vfio exists"

check_b2m_module

# Who took the balloon at boot: guest-init.sh's "modprobe virtio_balloon"
# ran first (this boot's initramfs has no modprobe.d, so no blacklist), and
# virtio_pci is built into Debian's kernel, so the device already existed:
# the distribution's driver, from kernel/.  virtio_balloon_2m is loaded
# later, by balloon_test.
drv=$(balloon_driver)
vb_path=$(modinfo -n virtio_balloon 2>/dev/null)
vb_taint=$(cat /sys/module/virtio_balloon/taint 2>/dev/null)
echo "# $balloon_dev bound to '$drv' ($vb_path, taint '$vb_taint');" \
     "virtio_balloon_2m $([ -d /sys/module/virtio_balloon_2m ] && echo loaded || echo not loaded)"
[ "$drv" = virtio_balloon ] && [ -z "$vb_taint" ] &&
	case $vb_path in "$mods"/kernel/*) true ;; *) false ;; esac
result $? "the distribution's virtio_balloon took the balloon at boot ($balloon_dev)"

# Loading virtio_balloon_2m leaves a device that virtio_balloon holds alone
# and says how to move it; a bind by hand is refused (EBUSY).
modprobe virtio_balloon_2m
msg="virtio_balloon_2m: $balloon_dev is bound to virtio_balloon; to switch: echo $balloon_dev > /sys/bus/virtio/drivers/virtio_balloon/unbind; echo $balloon_dev > /sys/bus/virtio/drivers/virtio_balloon_2m/bind"
dmesg | grep -F "virtio_balloon_2m: $balloon_dev is bound" | sed 's/^/# /'
bind_err=$( (echo "$balloon_dev" > /sys/bus/virtio/drivers/virtio_balloon_2m/bind) 2>&1)
echo "# bind by hand: ${bind_err:-accepted}"
dmesg | grep -qF "$msg" && [ "$(balloon_driver)" = virtio_balloon ] &&
	case $bind_err in *"busy"*) true ;; *) false ;; esac
result $? "virtio_balloon_2m leaves the balloon to virtio_balloon, says how to switch, and a bind is refused"

# Every fastboot VFIO selftest (fastboot:vfio_*: vfio_type1_test, and
# the deferred mapping's), then the balloon's.
run_tests '^fastboot:vfio_'

# The tests must not have replaced the module under us.
now=$(cat /sys/module/vfio_iommu_type1/srcversion 2>/dev/null)
if [ "$now" != "$loaded" ]; then
	echo "# vfio_iommu_type1 srcversion changed during the tests: $now"
	rc=1
fi

run_tests '^fastboot:balloon_test$'
exit $rc
