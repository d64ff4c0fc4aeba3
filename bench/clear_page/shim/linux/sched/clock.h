/* SPDX-License-Identifier: GPL-2.0 */
/* bench/clear_page shim: local_clock() is CLOCK_MONOTONIC, in shim.c. */
#ifndef _SHIM_LINUX_SCHED_CLOCK_H
#define _SHIM_LINUX_SCHED_CLOCK_H

#include <linux/types.h>

u64 local_clock(void);

#endif
