/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Messages, signals and clean-up shared by the benchmarks that change
 * system state (knobs, pools, drivers) and must undo it however they end.
 */
#ifndef FASTBOOT_BENCH_DIAG_H
#define FASTBOOT_BENCH_DIAG_H

/*
 * Name messages "@prog: ...", make SIGINT, SIGTERM and SIGHUP request a
 * stop (check_stop()), and run @cleanup at exit; exits on failure.
 */
void diag_init(const char *prog, int (*cleanup)(void));

/* Print "<prog>: <fmt>" to stderr and exit(1); @cleanup runs at exit. */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* The same with ": strerror(@err)" appended (@err positive). */
void die_err(int err, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
/* "<prog>: warning: <fmt>" to stderr. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* die() if a signal asked to stop. */
void check_stop(void);

#endif /* FASTBOOT_BENCH_DIAG_H */
