/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench/clear_page shim.  A user-space thread owns its FPU state: the
 * kernel saves it on every switch, so kernel_fpu_begin()/end() have nothing
 * to do and the FPU is always usable.  (In the kernel they save and restore
 * the task's state, a cost this benchmark does not measure.)
 */
#ifndef _SHIM_ASM_FPU_API_H
#define _SHIM_ASM_FPU_API_H

#include <linux/types.h>

#define XFEATURE_MASK_SSE	(1 << 1)
#define XFEATURE_MASK_YMM	(1 << 2)
/* opmask, ZMM_Hi256, Hi16_ZMM */
#define XFEATURE_MASK_AVX512	(7 << 5)

#define kernel_fpu_begin()	do { } while (0)
#define kernel_fpu_end()	do { } while (0)
#define irq_fpu_usable()	true

/* From XGETBV(0) (XCR0): the state the OS saves and restores. */
int cpu_has_xfeatures(u64 xfeatures_mask, const char **feature_name);

#endif
