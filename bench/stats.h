/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every benchmark here needs to report runs measured side by side:
 * a monotonic clock and order statistics.
 */
#ifndef FASTBOOT_BENCH_STATS_H
#define FASTBOOT_BENCH_STATS_H

/* CLOCK_MONOTONIC in milliseconds. */
double now_ms(void);

/* Median and minimum of @n > 0 values; @v is left as it was. */
double median(const double *v, int n);
double minimum(const double *v, int n);

#endif /* FASTBOOT_BENCH_STATS_H */
