/* SPDX-License-Identifier: GPL-2.0 */
/* Command-line helpers shared by the benchmarks that run in the guest. */
#ifndef FASTBOOT_BENCH_ARGS_H
#define FASTBOOT_BENCH_ARGS_H

/*
 * Parse "-m 256,1024": at most @max non-zero sizes in MiB into @mib.
 * The number of sizes, or -1 if @arg is not such a list.  Modifies @arg.
 */
int parse_mib_list(char *arg, unsigned long *mib, int max);

#endif /* FASTBOOT_BENCH_ARGS_H */
