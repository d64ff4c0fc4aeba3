/* SPDX-License-Identifier: GPL-2.0 */
/* bench/clear_page shim: the kernel's fixed-width types (int-ll64). */
#ifndef _SHIM_LINUX_TYPES_H
#define _SHIM_LINUX_TYPES_H

#include <stdbool.h>
#include <stddef.h>

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

#endif
