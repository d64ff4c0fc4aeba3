/* SPDX-License-Identifier: GPL-2.0 */
/* Command-line helpers shared by the benchmarks that run in the guest. */
#ifndef FASTBOOT_BENCH_ARGS_H
#define FASTBOOT_BENCH_ARGS_H

#include <stdio.h>

/*
 * Parse "-m 256,1024": at most @max non-zero sizes in MiB into @mib.
 * The number of sizes, or -1 if @arg is not such a list.  Modifies @arg.
 */
int parse_mib_list(char *arg, unsigned long *mib, int max);

/*
 * The options the hugetlb benchmarks share: -m MiB[,MiB...] into @mib
 * (*@nsizes of them, at most @max_sizes), -r into *@runs (1 to
 * @max_runs), -h.  Returns -1 to go on, or the exit code: 0 after -h
 * (@usage printed to stdout), 2 after a bad option (to stderr).
 */
int parse_size_args(int argc, char **argv, unsigned long *mib, int *nsizes,
		    int max_sizes, int *runs, int max_runs,
		    void (*usage)(FILE *f));

#endif /* FASTBOOT_BENCH_ARGS_H */
