/* SPDX-License-Identifier: GPL-2.0 */
/* bench/clear_page shim: no kCFI type hashes in user space. */
#ifndef _SHIM_LINUX_CFI_TYPES_H
#define _SHIM_LINUX_CFI_TYPES_H

#include <linux/linkage.h>

#ifdef __ASSEMBLY__
#define SYM_TYPED_FUNC_START(name)	SYM_FUNC_START(name)
#endif

#endif
