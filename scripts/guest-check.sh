#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test guest (scripts/check.sh boots it): the fastboot
# kselftests, then upstream 6.12's hugetlb selftests through upstream's own
# runner, which sets up the huge page pool each of them needs.
cd /selftests || exit 1
echo "# guest: $(uname -r), $(nproc) CPUs, $(grep MemTotal /proc/meminfo)"
pool=$(cat /proc/sys/vm/nr_hugepages)
./run_kselftest.sh -c fastboot
rc=$?
# A test killed by its timeout cannot restore the pool; upstream's runner
# sizes it from what it finds.
echo "$pool" > /proc/sys/vm/nr_hugepages

cd /selftests/mm || exit 1
echo "# upstream: mm/run_vmtests.sh -t hugetlb"
./run_vmtests.sh -t hugetlb 2>&1
case $? in
0|4) ;;		# 4: some test skipped (KSFT_SKIP), reported in the TAP
*) rc=1 ;;
esac
exit $rc
