// SPDX-License-Identifier: GPL-2.0
/* Command-line helpers shared by the benchmarks (see args.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

int parse_mib_list(char *arg, unsigned long *mib, int max)
{
	char *s, *tok, *end;
	int n = 0;

	for (s = arg; (tok = strtok(s, ",")); s = NULL) {
		if (n == max)
			return -1;
		mib[n] = strtoul(tok, &end, 0);
		if (!mib[n++] || *end)
			return -1;
	}
	return n ? n : -1;
}

int parse_size_args(int argc, char **argv, unsigned long *mib, int *nsizes,
		    int max_sizes, int *runs, int max_runs,
		    void (*usage)(FILE *f))
{
	int opt;

	while ((opt = getopt(argc, argv, "m:r:h")) != -1) {
		switch (opt) {
		case 'm':
			*nsizes = parse_mib_list(optarg, mib, max_sizes);
			if (*nsizes < 0)
				goto bad;
			break;
		case 'r':
			*runs = atoi(optarg);
			if (*runs < 1 || *runs > max_runs)
				goto bad;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	return -1;
bad:
	usage(stderr);
	return 2;
}
