# SPDX-License-Identifier: GPL-2.0
#
# Hardware estimate for the pre-zeroed pool, from two benchmarks' RESULT
# lines: prezero_bench (in the TCG guest) and clear_page_bench (native):
#
#   awk -f prezero_estimate.awk NATIVE.out GUEST.out
#
# Under TCG the kernel's clearing is emulated, so the guest's speedup says
# little about hardware.  On hardware, preallocating N bytes from a pool
# that is not pre-zeroed costs the fault work plus clearing N bytes at the
# native rate; from a pre-zeroed pool, the fault work alone.  The fault
# work is taken from the guest (prezero_populate_<size>_zeroed_ms), where
# it runs slower than on hardware, so the estimated speedup is a lower
# bound.  Both clearing rates are shown: 6.12's (clear_2m_612_gbps) and
# fastboot's clear_huge_page=auto (clear_2m_auto_gbps).
/^RESULT / { r[$2] = $3 }
function mib_of(tag) {
	return tag ~ /g$/ ? substr(tag, 1, length(tag) - 1) * 1024 : substr(tag, 1, length(tag) - 1)
}
END {
	if (!("clear_2m_612_gbps" in r) || !("clear_2m_auto_gbps" in r)) {
		print "prezero_estimate: no native clearing rates" > "/dev/stderr"
		exit 1
	}
	n = 0
	for (k in r) {
		if (k !~ /^prezero_populate_.*_zeroed_ms$/)
			continue
		tag = k
		sub(/^prezero_populate_/, "", tag)
		sub(/_zeroed_ms$/, "", tag)
		t = r[k]
		bytes = mib_of(tag) * 1048576
		c612 = t + bytes / (r["clear_2m_612_gbps"] * 1e9) * 1000
		cauto = t + bytes / (r["clear_2m_auto_gbps"] * 1e9) * 1000
		printf "Hardware estimate, %s: %.1f ms (6.12 clearing at %s GB/s) or %.1f ms (auto at %s GB/s) -> %.1f ms pre-zeroed (guest fault work, an upper bound)\n",
		       tag, c612, r["clear_2m_612_gbps"], cauto, r["clear_2m_auto_gbps"], t
		line[n++] = sprintf("RESULT prezero_populate_%s_speedup_hw_estimate %.1f x", tag, c612 / t)
		line[n++] = sprintf("RESULT prezero_populate_%s_speedup_hw_estimate_vs_auto %.1f x", tag, cauto / t)
	}
	if (!n) {
		print "prezero_estimate: no prezero_bench figures" > "/dev/stderr"
		exit 1
	}
	for (i = 0; i < n; i++)
		print line[i]
}
