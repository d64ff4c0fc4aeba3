/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench/clear_page shim: 4 KiB pages, and the kernel's own clear_page
 * variants, assembled from arch/x86/lib/clear_page_64.S.
 */
#ifndef _SHIM_ASM_PAGE_H
#define _SHIM_ASM_PAGE_H

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)

void clear_page_orig(void *page);
void clear_page_rep(void *page);
void clear_page_erms(void *page);

#endif
