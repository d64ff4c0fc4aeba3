/* SPDX-License-Identifier: GPL-2.0 */
/* bench/clear_page shim: no modules in user space, exports are no-ops. */
#ifndef _SHIM_LINUX_EXPORT_H
#define _SHIM_LINUX_EXPORT_H

#define EXPORT_SYMBOL(sym)
#define EXPORT_SYMBOL_GPL(sym)

#endif
