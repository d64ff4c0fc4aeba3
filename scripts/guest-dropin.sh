#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the distribution's stock kernel that scripts/check-dropin.sh
# boots: loads the distribution's vfio modules and the drop-in
# vfio_iommu_type1 (lib/modules/<release>/updates/, which depmod prefers),
# proves that the loaded vfio_iommu_type1 is the drop-in and the rest is
# the distribution's, then runs the fastboot VFIO selftests
# (fastboot:vfio_* in /selftests/kselftest-list.txt).  TAP.
#
#   guest-dropin.sh RELEASE    the kernel release the guest must be running
want=${1:?usage: guest-dropin.sh RELEASE}
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

echo "# guest: $(cat /proc/version)"
echo "TAP version 13"
echo "1..5"

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

# Every fastboot VFIO selftest (fastboot:vfio_*: vfio_type1_test, and
# the deferred mapping's as they come).
cd /selftests || exit 1
tests=$(grep '^fastboot:vfio_' kselftest-list.txt)
[ -n "$tests" ] || { echo "# no fastboot:vfio_* selftests in /selftests"; exit 1; }
for t in $tests; do
	./run_kselftest.sh -t "$t" || rc=1
done

# The tests must not have replaced the module under us.
now=$(cat /sys/module/vfio_iommu_type1/srcversion 2>/dev/null)
if [ "$now" != "$loaded" ]; then
	echo "# vfio_iommu_type1 srcversion changed during the tests: $now"
	rc=1
fi
exit $rc
