/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench/clear_page shim: no exception tables in user space.  Only
 * rep_stos_alternative (clear_user()) has entries; the bench never calls it.
 */
#ifndef _SHIM_ASM_ASM_H
#define _SHIM_ASM_ASM_H

#define _ASM_EXTABLE_UA(from, to)

#endif
