/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench/clear_page shim.  min()/max() evaluate their arguments once, like
 * the kernel's, but without its type check (the kernel build does that).
 */
#ifndef _SHIM_LINUX_KERNEL_H
#define _SHIM_LINUX_KERNEL_H

#include <linux/types.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define U64_MAX		((u64)~0ULL)
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

#define min(a, b) ({ typeof(a) _a = (a); typeof(b) _b = (b); \
		     _a < _b ? _a : _b; })
#define max(a, b) ({ typeof(a) _a = (a); typeof(b) _b = (b); \
		     _a > _b ? _a : _b; })

#endif
