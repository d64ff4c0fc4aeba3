// SPDX-License-Identifier: GPL-2.0
/*
 * Page and extent clearing with non-temporal stores on x86_64.
 *
 * The kernel clears pages with clear_page_erms() (one "rep stosb" per 4 KiB
 * page) and clears a huge folio 512 or 262144 such pages at a time.  Each
 * cleared line is allocated in the caches, so clearing the memory of a large
 * VM both runs at the speed of cached stores and evicts the working set of
 * everything else on the host.  The routines here clear whole extents, with
 * stores that bypass the caches where the CPU has them:
 *
 *  movnti   SSE2 non-temporal stores from general-purpose registers; no FPU
 *	     state, so it may be used wherever clear_page() is.
 *  clzero   AMD: zeroes a whole cache line without reading it first.
 *  movntdq  SSE2, AVX2 and AVX-512 non-temporal vector stores; extents only,
 *	     where the kernel_fpu_begin() cost is amortised over 2 MiB.
 *  erms/rep one "rep stosb" (or "rep stosq") over the whole chunk: the cached
 *	     extent form, which mainline adopted after 6.12 as clear_pages().
 *
 * Why every routine ends in SFENCE:
 * x86 keeps ordinary stores in program order (TSO), and the rest of the
 * kernel relies on that: smp_wmb() is only a compiler barrier, and a page is
 * published by an ordinary store (set_pte_at(), a spin_unlock(), a list_add()
 * under a lock).  Non-temporal stores and CLZERO are weakly ordered: they sit
 * in write-combining buffers and may become visible to other CPUs *after*
 * later ordinary stores.  Without a fence, another CPU could see the PTE that
 * maps the page and read the page's previous contents, i.e. another
 * process's data.  SFENCE orders all earlier stores, including weakly
 * ordered ones, before all later stores, so the zeroes are globally visible
 * before the page can be published.  It is a correctness requirement, not a
 * tuning knob.
 *
 * The file uses only a few basic kernel interfaces, so that it can also be
 * built into a user-space benchmark and measured exactly as it is.
 */
#include <linux/kernel.h>
#include <linux/kmsan-checks.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/string.h>
#include <asm/cacheflush.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/page.h>

#include "clear_page_sse.h"

/*
 * The extent routines take a length that is a non-zero multiple of 64 bytes
 * (in practice of PAGE_SIZE) and a 64-byte aligned address.
 */
static void clear_extent_erms(void *addr, unsigned long len)
{
	asm volatile("rep stosb"
		     : "+D" (addr), "+c" (len)
		     : "a" (0)
		     : "memory");
}

static void clear_extent_rep(void *addr, unsigned long len)
{
	unsigned long words = len / 8;

	asm volatile("rep stosq"
		     : "+D" (addr), "+c" (words)
		     : "a" (0)
		     : "memory");
}

/*
 * The end of every non-temporal routine's loop over the 64-byte lines at
 * %[p]: advance, count %[len] down, and the SFENCE explained at the top of
 * this file.
 */
#define CLEAR_NT_LOOP_END	"add $64, %[p]\n\t"		\
				"sub $64, %[len]\n\t"		\
				"jnz 1b\n\t"			\
				"sfence\n\t"

static void clear_extent_movnti(void *addr, unsigned long len)
{
	asm volatile("1:\n\t"
		     "movnti %[zero], 0x00(%[p])\n\t"
		     "movnti %[zero], 0x08(%[p])\n\t"
		     "movnti %[zero], 0x10(%[p])\n\t"
		     "movnti %[zero], 0x18(%[p])\n\t"
		     "movnti %[zero], 0x20(%[p])\n\t"
		     "movnti %[zero], 0x28(%[p])\n\t"
		     "movnti %[zero], 0x30(%[p])\n\t"
		     "movnti %[zero], 0x38(%[p])\n\t"
		     CLEAR_NT_LOOP_END
		     : [p] "+r" (addr), [len] "+r" (len)
		     : [zero] "r" (0UL)
		     : "cc", "memory");
}

/*
 * CLZERO zeroes the 64-byte line that contains rAX.  AMD's manual: "CLZERO
 * is weakly-ordered with respect to other instructions that operate on
 * memory. Software should use an SFENCE or stronger to enforce memory
 * ordering of CLZERO with respect to other store instructions."  Encoded
 * as bytes: the mnemonic needs binutils 2.26, 6.12 supports 2.25.
 */
static void clear_extent_clzero(void *addr, unsigned long len)
{
	asm volatile("1:\n\t"
		     ".byte 0x0f, 0x01, 0xfc\n\t"
		     CLEAR_NT_LOOP_END
		     : [p] "+a" (addr), [len] "+r" (len)
		     :
		     : "cc", "memory");
}

/*
 * The vector routines clobber xmm0/ymm0/zmm0 without saying so: the compiler
 * never allocates vector registers in kernel code, and clear_page_extent()
 * wraps them in kernel_fpu_begin()/kernel_fpu_end().  The AVX forms end with
 * VZEROUPPER so that no dirty upper state is left behind.
 */
static void clear_extent_movntdq(void *addr, unsigned long len)
{
	asm volatile("pxor %%xmm0, %%xmm0\n\t"
		     "1:\n\t"
		     "movntdq %%xmm0, 0x00(%[p])\n\t"
		     "movntdq %%xmm0, 0x10(%[p])\n\t"
		     "movntdq %%xmm0, 0x20(%[p])\n\t"
		     "movntdq %%xmm0, 0x30(%[p])\n\t"
		     CLEAR_NT_LOOP_END
		     : [p] "+r" (addr), [len] "+r" (len)
		     :
		     : "cc", "memory");
}

static void clear_extent_avx2(void *addr, unsigned long len)
{
	asm volatile("vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
		     "1:\n\t"
		     "vmovntdq %%ymm0, 0x00(%[p])\n\t"
		     "vmovntdq %%ymm0, 0x20(%[p])\n\t"
		     CLEAR_NT_LOOP_END
		     "vzeroupper"
		     : [p] "+r" (addr), [len] "+r" (len)
		     :
		     : "cc", "memory");
}

static void clear_extent_avx512(void *addr, unsigned long len)
{
	asm volatile("vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
		     "1:\n\t"
		     "vmovntdq %%zmm0, 0x00(%[p])\n\t"
		     CLEAR_NT_LOOP_END
		     "vzeroupper"
		     : [p] "+r" (addr), [len] "+r" (len)
		     :
		     : "cc", "memory");
}

/**
 * clear_page_movnti() - clear a page with non-temporal stores
 * @page: the page's kernel address
 *
 * Uses no FPU state, so it can stand in for clear_page() in any context.
 * The zeroes are globally visible when it returns.
 */
void clear_page_movnti(void *page)
{
	clear_extent_movnti(page, PAGE_SIZE);
}

/**
 * clear_page_clzero() - clear a page with CLZERO
 * @page: the page's kernel address
 *
 * Only on CPUs with X86_FEATURE_CLZERO.  The zeroes are globally visible
 * when it returns.
 */
void clear_page_clzero(void *page)
{
	clear_extent_clzero(page, PAGE_SIZE);
}

static bool clzero_usable(void)
{
	return boot_cpu_has(X86_FEATURE_CLZERO) &&
	       boot_cpu_data.x86_clflush_size == 64;
}

static bool avx2_usable(void)
{
	return boot_cpu_has(X86_FEATURE_AVX) &&
	       boot_cpu_has(X86_FEATURE_AVX2) &&
	       cpu_has_xfeatures(XFEATURE_MASK_SSE | XFEATURE_MASK_YMM, NULL);
}

static bool avx512_usable(void)
{
	return boot_cpu_has(X86_FEATURE_AVX512F) &&
	       cpu_has_xfeatures(XFEATURE_MASK_SSE | XFEATURE_MASK_YMM |
				 XFEATURE_MASK_AVX512, NULL);
}

/*
 * In order of preference when two routines calibrate within
 * CLEAR_PAGE_CALIBRATE_TIE of each other: no FPU state before FPU state,
 * narrower vectors (less power, no frequency licence on older Intel parts)
 * before wider, and the cached routines last because they evict other
 * tasks' working sets.
 */
const struct clear_page_routine clear_page_routines[] = {
	{ .name = "movnti", .page = clear_page_movnti,
	  .extent = clear_extent_movnti, .flags = CLEAR_PAGE_NT | CLEAR_PAGE_HUGE },
	{ .name = "clzero", .page = clear_page_clzero,
	  .extent = clear_extent_clzero, .flags = CLEAR_PAGE_NT | CLEAR_PAGE_HUGE,
	  .usable = clzero_usable },
	{ .name = "movntdq", .extent = clear_extent_movntdq,
	  .flags = CLEAR_PAGE_NT | CLEAR_PAGE_FPU | CLEAR_PAGE_HUGE },
	{ .name = "avx2", .extent = clear_extent_avx2,
	  .flags = CLEAR_PAGE_NT | CLEAR_PAGE_FPU | CLEAR_PAGE_HUGE, .usable = avx2_usable },
	{ .name = "avx512", .extent = clear_extent_avx512,
	  .flags = CLEAR_PAGE_NT | CLEAR_PAGE_FPU | CLEAR_PAGE_HUGE, .usable = avx512_usable },
	{ .name = "erms", .page = clear_page_erms,
	  .extent = clear_extent_erms, .flags = CLEAR_PAGE_HUGE },
	{ .name = "rep", .page = clear_page_rep, .extent = clear_extent_rep,
	  .flags = CLEAR_PAGE_HUGE },
	{ .name = "orig", .page = clear_page_orig },
};

const unsigned int nr_clear_page_routines = ARRAY_SIZE(clear_page_routines);

/**
 * clear_page_routine_find() - look a routine up by name
 * @name: a value of clear_page= or clear_huge_page=
 *
 * Return: the routine, or NULL if there is none of that name.
 */
const struct clear_page_routine *clear_page_routine_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < nr_clear_page_routines; i++)
		if (!strcmp(clear_page_routines[i].name, name))
			return &clear_page_routines[i];
	return NULL;
}

/**
 * clear_page_routine_usable() - can this CPU run a routine?
 * @r: the routine
 *
 * The kernel's own rep and erms variants are usable everywhere: REP_GOOD and
 * ERMS say they are fast, not that they work.
 *
 * Return: true if @r may be called on this CPU.
 */
bool clear_page_routine_usable(const struct clear_page_routine *r)
{
	return !r->usable || r->usable();
}

/**
 * clear_page_routine_page_default() - the routine 6.12 picks for clear_page()
 *
 * The same choice the alternative in asm/page_64.h makes: erms on CPUs with
 * ERMS, rep on CPUs with REP_GOOD, orig otherwise.
 *
 * Return: the routine clear_page=auto selects.
 */
const struct clear_page_routine *clear_page_routine_page_default(void)
{
	if (boot_cpu_has(X86_FEATURE_ERMS))
		return clear_page_routine_find("erms");
	if (boot_cpu_has(X86_FEATURE_REP_GOOD))
		return clear_page_routine_find("rep");
	return clear_page_routine_find("orig");
}

static void clear_chunk(const struct clear_page_routine *r, void *addr,
			unsigned long len)
{
	if (!(r->flags & CLEAR_PAGE_FPU)) {
		r->extent(addr, len);
		return;
	}
	if (unlikely(!irq_fpu_usable())) {
		clear_extent_movnti(addr, len);
		return;
	}
	kernel_fpu_begin();
	r->extent(addr, len);
	kernel_fpu_end();
}

/**
 * clear_page_extent() - clear a virtually contiguous extent with a routine
 * @r: a routine with an extent form, usable on this CPU
 * @addr: page-aligned kernel address
 * @len: bytes to clear, a multiple of PAGE_SIZE (may be 0)
 *
 * Clears in chunks of CLEAR_PAGE_FPU_CHUNK (vector routines) or CLEAR_PAGE_CHUNK
 * bytes with cond_resched() between them, so the caller must be allowed to
 * sleep.  Every chunk ends with a store fence: when this returns, the
 * zeroes are visible to all CPUs.
 */
void clear_page_extent(const struct clear_page_routine *r, void *addr,
		       unsigned long len)
{
	unsigned long chunk = r->flags & CLEAR_PAGE_FPU ? CLEAR_PAGE_FPU_CHUNK :
						     CLEAR_PAGE_CHUNK;

	kmsan_unpoison_memory(addr, len);
	while (len) {
		unsigned long n = min(len, chunk);

		clear_chunk(r, addr, n);
		addr += n;
		len -= n;
		if (len)
			cond_resched();
	}
}

/* Routines within 3% of the best score count as equally good. */
#define CLEAR_PAGE_CALIBRATE_TIE	3
/* Score of a cached routine: its rate less this much (%). */
#define CLEAR_PAGE_CALIBRATE_CACHED	10
#define CLEAR_PAGE_CALIBRATE_PASSES	3

static u64 clear_calibrate_one(const struct clear_page_routine *r, void *buf,
			       unsigned long len)
{
	u64 best = U64_MAX;
	int pass;

	/* The first pass warms the TLB and the code; it is not counted. */
	for (pass = -1; pass < CLEAR_PAGE_CALIBRATE_PASSES; pass++) {
		u64 t;

		/* A huge page being cleared is normally not in the caches. */
		clflush_cache_range(buf, len);
		t = local_clock();
		clear_page_extent(r, buf, len);
		t = local_clock() - t;
		if (pass >= 0)
			best = min(best, t);
	}
	/* bytes per ns is GB/s, so bytes * 1000 per ns is MB/s */
	return len * 1000 / max(best, 1ULL);
}

static u64 clear_score(unsigned int i, const u64 *mbps)
{
	if (clear_page_routines[i].flags & CLEAR_PAGE_NT)
		return mbps[i];
	return mbps[i] * 100 / (100 + CLEAR_PAGE_CALIBRATE_CACHED);
}

/**
 * clear_page_routine_pick() - the clear_huge_page=auto rule
 * @mbps: nr_clear_page_routines rates in MB/s, 0 for routines not measured
 *
 * A non-temporal routine scores its rate; a cached one its rate less
 * CLEAR_PAGE_CALIBRATE_CACHED percent, because cached clearing evicts the
 * working sets of other tasks, which a timing of the clearing alone does
 * not show.  The earliest routine in clear_page_routines[] whose score is
 * within CLEAR_PAGE_CALIBRATE_TIE percent of the best score wins.  The
 * cached routines come last, so one is only chosen if it is about 13%
 * (1.10 / 0.97) faster than every non-temporal one.
 *
 * Return: the chosen routine; movnti if nothing was measured.
 */
const struct clear_page_routine *clear_page_routine_pick(const u64 *mbps)
{
	u64 best = 0;
	unsigned int i;

	for (i = 0; i < nr_clear_page_routines; i++)
		best = max(best, clear_score(i, mbps));
	for (i = 0; i < nr_clear_page_routines; i++)
		if (best && clear_score(i, mbps) * 100 >=
			    best * (100 - CLEAR_PAGE_CALIBRATE_TIE))
			return &clear_page_routines[i];
	return clear_page_routine_find("movnti");
}

/**
 * clear_page_routine_calibrate() - time the candidates for clear_huge_page=auto
 * @buf: page-aligned scratch memory of @len bytes
 * @len: bytes to clear per pass, a multiple of PAGE_SIZE
 * @mbps: nr_clear_page_routines entries that receive each candidate's rate
 *	  in MB/s (0 for routines not measured)
 *
 * Like crypto/xor.c choosing its template: times every usable extent
 * routine on @buf through clear_page_extent(), with @buf flushed from the
 * caches before each pass, best of CLEAR_PAGE_CALIBRATE_PASSES, and picks
 * one with clear_page_routine_pick().  Timed with local_clock(), which has
 * nanosecond resolution early in boot (ktime_get_ns() still ticks in
 * jiffies before the clocksources are up).  Must be called where the
 * caller may use the FPU and sleep.
 *
 * Return: the chosen routine; never NULL (movnti is always usable).
 */
const struct clear_page_routine *
clear_page_routine_calibrate(void *buf, unsigned long len, u64 *mbps)
{
	unsigned int i;

	for (i = 0; i < nr_clear_page_routines; i++) {
		const struct clear_page_routine *r = &clear_page_routines[i];

		mbps[i] = 0;
		if (!(r->flags & CLEAR_PAGE_HUGE) || !clear_page_routine_usable(r))
			continue;
		mbps[i] = clear_calibrate_one(r, buf, len);
		cond_resched();
	}
	return clear_page_routine_pick(mbps);
}
