/* SPDX-License-Identifier: GPL-2.0 */
/* bench/clear_page shim */
#ifndef _SHIM_LINUX_SIZES_H
#define _SHIM_LINUX_SIZES_H

#define SZ_4K		0x00001000
#define SZ_256K		0x00040000
#define SZ_2M		0x00200000
#define SZ_32M		0x02000000
#define SZ_1G		0x40000000

#endif
