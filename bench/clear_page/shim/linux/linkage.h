/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench/clear_page shim for arch/x86/lib/clear_page_64.S: global functions
 * aligned as the kernel's SYM_FUNC_START (16 bytes), and a plain RET, which
 * is what the kernel assembles without the SLS and return-thunk mitigations.
 */
#ifndef _SHIM_LINUX_LINKAGE_H
#define _SHIM_LINUX_LINKAGE_H

#ifdef __ASSEMBLY__
#define SYM_FUNC_START(name)		\
	.globl name;			\
	.type name, @function;		\
	.p2align 4;			\
	name:

#define SYM_FUNC_END(name)		\
	.size name, . - name

#define RET	ret
#endif

#endif
