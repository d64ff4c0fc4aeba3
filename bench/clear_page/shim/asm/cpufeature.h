/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench/clear_page shim: the few CPU feature bits clear_page_sse.c tests,
 * numbered as in the kernel's asm/cpufeatures.h (word * 32 + bit) and read
 * from CPUID by shim.c before main().
 */
#ifndef _SHIM_ASM_CPUFEATURE_H
#define _SHIM_ASM_CPUFEATURE_H

#include <linux/types.h>

#define X86_FEATURE_CLFLUSH	(0 * 32 + 19)	/* CPUID 1 EDX */
#define X86_FEATURE_XMM2	(0 * 32 + 26)
/*
 * Synthetic: the kernel sets it by vendor and family (intel.c, amd.c ...).
 * shim.c takes it from the running kernel's /proc/cpuinfo flags and falls
 * back to Intel family 6 or AMD/Hygon family >= 0x10 without it.
 */
#define X86_FEATURE_REP_GOOD	(3 * 32 + 16)
#define X86_FEATURE_OSXSAVE	(4 * 32 + 27)	/* CPUID 1 ECX */
#define X86_FEATURE_AVX		(4 * 32 + 28)
#define X86_FEATURE_AVX2	(9 * 32 + 5)	/* CPUID 7.0 EBX */
#define X86_FEATURE_ERMS	(9 * 32 + 9)
#define X86_FEATURE_AVX512F	(9 * 32 + 16)
#define X86_FEATURE_CLFLUSHOPT	(9 * 32 + 23)
#define X86_FEATURE_CLZERO	(13 * 32 + 0)	/* CPUID 0x80000008 EBX */

#define NCAPINTS	14

struct cpuinfo_x86 {
	u32 x86_capability[NCAPINTS];
	u32 x86_clflush_size;		/* CPUID 1 EBX[15:8] * 8 */
};

extern struct cpuinfo_x86 boot_cpu_data;

#define boot_cpu_has(bit) \
	((boot_cpu_data.x86_capability[(bit) / 32] >> ((bit) % 32)) & 1)

#endif
