// SPDX-License-Identifier: GPL-2.0
/* Messages, signals and clean-up shared by the benchmarks (diag.h). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

static const char *diag_prog = "bench";
static int (*diag_cleanup)(void);
static volatile sig_atomic_t stop;

static void vdie(int err, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", diag_prog);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	exit(1);	/* the clean-up runs from atexit() */
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(0, fmt, ap);
	va_end(ap);
	exit(1);
}

void die_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(err, fmt, ap);
	va_end(ap);
	exit(1);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: warning: ", diag_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void on_signal(int sig)
{
	stop = sig;
}

void check_stop(void)
{
	if (stop)
		die("interrupted by signal %d, cleaning up", (int)stop);
}

static void cleanup_atexit(void)
{
	if (diag_cleanup)
		diag_cleanup();
}

void diag_init(const char *prog, int (*cleanup)(void))
{
	struct sigaction sa;

	diag_prog = prog;
	diag_cleanup = cleanup;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL) ||
	    sigaction(SIGHUP, &sa, NULL))
		die_err(errno, "sigaction");
	if (atexit(cleanup_atexit))
		die("atexit failed");
}
