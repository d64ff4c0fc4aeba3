// SPDX-License-Identifier: GPL-2.0
/*
 * bench/clear_page shim: the kernel services mm/clear_page_sse.c uses,
 * implemented in user space from CPUID, XGETBV and clock_gettime().
 */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/sched/clock.h>
#include <asm/cacheflush.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>

/* "HygonGenuine"; gcc 12's cpuid.h does not name it. */
#define HYGON_EBX	0x6f677948

struct cpuinfo_x86 boot_cpu_data;

static void set_cap(unsigned int bit)
{
	boot_cpu_data.x86_capability[bit / 32] |= 1U << (bit % 32);
}

/* The running kernel's verdict, or the vendor/family rule it applies. */
static bool rep_good(unsigned int vendor_ebx, unsigned int family)
{
	char line[8192];
	FILE *f = fopen("/proc/cpuinfo", "r");
	bool found = false, good = false;

	if (f) {
		while (!found && fgets(line, sizeof(line), f)) {
			if (strncmp(line, "flags", 5))
				continue;
			found = true;
			good = strstr(line, " rep_good") != NULL;
		}
		fclose(f);
	}
	if (found)
		return good;
	if (vendor_ebx == signature_INTEL_ebx)
		return family == 6;
	if (vendor_ebx == signature_AMD_ebx || vendor_ebx == HYGON_EBX)
		return family >= 0x10;
	return false;
}

__attribute__((constructor))
static void shim_cpu_init(void)
{
	unsigned int a, b, c, d, max, vendor, family;

	__cpuid(0, max, vendor, c, d);
	__cpuid(1, a, b, c, d);
	family = (a >> 8) & 0xf;
	if (family == 0xf)
		family += (a >> 20) & 0xff;
	boot_cpu_data.x86_capability[0] = d;
	boot_cpu_data.x86_capability[4] = c;
	boot_cpu_data.x86_clflush_size = ((b >> 8) & 0xff) * 8;
	if (max >= 7) {
		__cpuid_count(7, 0, a, b, c, d);
		boot_cpu_data.x86_capability[9] = b;
	}
	__cpuid(0x80000000, max, b, c, d);
	if (max >= 0x80000008) {
		__cpuid(0x80000008, a, b, c, d);
		boot_cpu_data.x86_capability[13] = b;
	}
	if (rep_good(vendor, family))
		set_cap(X86_FEATURE_REP_GOOD);
}

int cpu_has_xfeatures(u64 xfeatures_mask, const char **feature_name)
{
	unsigned int lo, hi;

	(void)feature_name;
	if (!boot_cpu_has(X86_FEATURE_OSXSAVE))
		return 0;
	asm volatile("xgetbv" : "=a" (lo), "=d" (hi) : "c" (0));
	return ((((u64)hi << 32) | lo) & xfeatures_mask) == xfeatures_mask;
}

u64 local_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* As the kernel's: fenced on both sides, CLFLUSHOPT where there is one. */
void clflush_cache_range(void *addr, unsigned int size)
{
	unsigned long line = boot_cpu_data.x86_clflush_size ?: 64;
	char *p = (char *)((unsigned long)addr & ~(line - 1));
	char *end = (char *)addr + size;

	asm volatile("mfence" ::: "memory");
	for (; p < end; p += line) {
		if (boot_cpu_has(X86_FEATURE_CLFLUSHOPT))
			asm volatile("clflushopt %0" : "+m" (*p));
		else
			asm volatile("clflush %0" : "+m" (*p));
	}
	asm volatile("mfence" ::: "memory");
}
