#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test guest (scripts/check.sh boots it): the fastboot
# kselftests, then upstream 6.12's hugetlb selftests through upstream's own
# runner, which sets up the huge page pool each of them needs.
cd /selftests || exit 1
echo "# guest: $(uname -r), $(nproc) CPUs, $(grep MemTotal /proc/meminfo)"
./run_kselftest.sh -c fastboot
rc=$?

cd /selftests/mm || exit 1
echo "# upstream: mm/run_vmtests.sh -t hugetlb"
./run_vmtests.sh -t hugetlb 2>&1
[ $? -eq 0 ] || rc=1
exit $rc
