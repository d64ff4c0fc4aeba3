/* SPDX-License-Identifier: GPL-2.0 */
/* bench/clear_page shim: user space is preempted by the scheduler anyway. */
#ifndef _SHIM_LINUX_SCHED_H
#define _SHIM_LINUX_SCHED_H

#define cond_resched()	do { } while (0)

#endif
