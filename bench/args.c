// SPDX-License-Identifier: GPL-2.0
/* Command-line helpers shared by the benchmarks (see args.h). */
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
