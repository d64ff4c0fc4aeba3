/* SPDX-License-Identifier: GPL-2.0 */
/* bench/clear_page shim: as arch/x86/mm/pat/set_memory.c, in shim.c. */
#ifndef _SHIM_ASM_CACHEFLUSH_H
#define _SHIM_ASM_CACHEFLUSH_H

void clflush_cache_range(void *addr, unsigned int size);

#endif
