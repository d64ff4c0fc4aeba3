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
 * This file is also compiled into the user-space benchmark (see
 * bench/clear_page/), so the figures there are for exactly this code.
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
		     "add $64, %[p]\n\t"
		     "sub $64, %[len]\n\t"
		     "jnz 1b\n\t"
		     "sfence"
		     : [p] "+r" (addr), [len] "+r" (len)
		     : [zero] "r" (0UL)
		     : "cc", "memory");
}

/*
 * CLZERO zeroes the 64-byte line that contains rAX.  AMD's manual: "CLZERO
 * is weakly-ordered with respect to other instructions that operate on
 * memory. Software should use an SFENCE or stronger to enforce memory
 * ordering of CLZERO with respect to other store instructions."
 */
static void clear_extent_clzero(void *addr, unsigned long len)
{
	asm volatile("1:\n\t"
		     "clzero\n\t"
		     "add $64, %[p]\n\t"
		     "sub $64, %[len]\n\t"
		     "jnz 1b\n\t"
		     "sfence"
		     : [p] "+a" (addr), [len] "+r" (len)
		     :
		     : "cc", "memory");
}

/*
 * The vector routines clobber xmm0/ymm0/zmm0 without saying so: the compiler
 * never allocates vector registers in kernel code, and clear_extent() wraps
 * them in kernel_fpu_begin()/kernel_fpu_end().  The AVX forms end with
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
		     "add $64, %[p]\n\t"
		     "sub $64, %[len]\n\t"
		     "jnz 1b\n\t"
		     "sfence"
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
		     "add $64, %[p]\n\t"
		     "sub $64, %[len]\n\t"
		     "jnz 1b\n\t"
		     "sfence\n\t"
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
		     "add $64, %[p]\n\t"
		     "sub $64, %[len]\n\t"
		     "jnz 1b\n\t"
		     "sfence\n\t"
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
 * CLEAR_CALIBRATE_TIE of each other: no FPU state before FPU state,
 * narrower vectors (less power, no frequency licence on older Intel parts)
 * before wider, and the cached routines last because they evict other
 * tasks' working sets.
 */
const struct clear_routine clear_routines[] = {
	{ .name = "movnti", .page = clear_page_movnti,
	  .extent = clear_extent_movnti, .flags = CLEAR_NT | CLEAR_HUGE },
	{ .name = "clzero", .page = clear_page_clzero,
	  .extent = clear_extent_clzero, .flags = CLEAR_NT | CLEAR_HUGE,
	  .usable = clzero_usable },
	{ .name = "movntdq", .extent = clear_extent_movntdq,
	  .flags = CLEAR_NT | CLEAR_FPU | CLEAR_HUGE },
	{ .name = "avx2", .extent = clear_extent_avx2,
	  .flags = CLEAR_NT | CLEAR_FPU | CLEAR_HUGE, .usable = avx2_usable },
	{ .name = "avx512", .extent = clear_extent_avx512,
	  .flags = CLEAR_NT | CLEAR_FPU | CLEAR_HUGE, .usable = avx512_usable },
	{ .name = "erms", .page = clear_page_erms,
	  .extent = clear_extent_erms, .flags = CLEAR_HUGE },
	{ .name = "rep", .page = clear_page_rep, .extent = clear_extent_rep,
	  .flags = CLEAR_HUGE },
	{ .name = "orig", .page = clear_page_orig },
};

const unsigned int nr_clear_routines = ARRAY_SIZE(clear_routines);

/**
 * clear_routine_find() - look a routine up by name
 * @name: a value of clear_page= or clear_huge_page=
 *
 * Return: the routine, or NULL if there is none of that name.
 */
const struct clear_routine *clear_routine_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < nr_clear_routines; i++)
		if (!strcmp(clear_routines[i].name, name))
			return &clear_routines[i];
	return NULL;
}

/**
 * clear_routine_usable() - can this CPU run a routine?
 * @r: the routine
 *
 * The kernel's own rep and erms variants are usable everywhere: REP_GOOD and
 * ERMS say they are fast, not that they work.
 *
 * Return: true if @r may be called on this CPU.
 */
bool clear_routine_usable(const struct clear_routine *r)
{
	return !r->usable || r->usable();
}

/**
 * clear_routine_page_default() - the routine 6.12 picks for clear_page()
 *
 * The same choice the alternative in asm/page_64.h makes: erms on CPUs with
 * ERMS, rep on CPUs with REP_GOOD, orig otherwise.
 *
 * Return: the routine clear_page=auto selects.
 */
const struct clear_routine *clear_routine_page_default(void)
{
	if (boot_cpu_has(X86_FEATURE_ERMS))
		return clear_routine_find("erms");
	if (boot_cpu_has(X86_FEATURE_REP_GOOD))
		return clear_routine_find("rep");
	return clear_routine_find("orig");
}

static void clear_chunk(const struct clear_routine *r, void *addr,
			unsigned long len)
{
	if (!(r->flags & CLEAR_FPU)) {
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
 * clear_extent() - clear a virtually contiguous extent with a routine
 * @r: a routine with an extent form, usable on this CPU
 * @addr: page-aligned kernel address
 * @len: bytes to clear, a multiple of PAGE_SIZE (may be 0)
 *
 * Clears in chunks of CLEAR_FPU_CHUNK (vector routines) or CLEAR_CHUNK
 * bytes with cond_resched() between them, so the caller must be allowed to
 * sleep.  Every chunk ends with a store fence: when this returns, the
 * zeroes are visible to all CPUs.
 */
void clear_extent(const struct clear_routine *r, void *addr,
		  unsigned long len)
{
	unsigned long chunk = r->flags & CLEAR_FPU ? CLEAR_FPU_CHUNK :
						     CLEAR_CHUNK;

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

/* Routines within 3% of the fastest count as equally fast. */
#define CLEAR_CALIBRATE_TIE	3
/* A cached routine must beat the best non-temporal one by this much (%). */
#define CLEAR_CALIBRATE_CACHED	10
#define CLEAR_CALIBRATE_PASSES	3

static u64 clear_calibrate_one(const struct clear_routine *r, void *buf,
			       unsigned long len)
{
	u64 best = U64_MAX;
	int pass;

	/* The first pass warms the TLB and the code; it is not counted. */
	for (pass = -1; pass < CLEAR_CALIBRATE_PASSES; pass++) {
		u64 t;

		/* A huge page being cleared is normally not in the caches. */
		clflush_cache_range(buf, len);
		t = local_clock();
		clear_chunk(r, buf, len);
		t = local_clock() - t;
		if (pass >= 0)
			best = min(best, t);
	}
	/* bytes per ns is GB/s, so bytes * 1000 per ns is MB/s */
	return len * 1000 / max(best, 1ULL);
}

/**
 * clear_routine_calibrate() - pick the extent routine for clear_huge_page=auto
 * @buf: page-aligned scratch memory of @len bytes
 * @len: bytes to clear per pass, a multiple of PAGE_SIZE
 * @mbps: if not NULL, nr_clear_routines entries that receive each
 *	  candidate's rate in MB/s (0 for routines not measured)
 *
 * Like crypto/xor.c picking its template: times every usable extent routine
 * on @buf, flushed from the caches before each pass, best of
 * CLEAR_CALIBRATE_PASSES.  Non-temporal routines win unless a cached one is
 * CLEAR_CALIBRATE_CACHED percent faster, because cached clearing evicts the
 * working sets of other tasks, which a timing of the clearing alone does not
 * show.  Among routines within CLEAR_CALIBRATE_TIE percent of the best, the
 * earliest in clear_routines[] is taken.  Must be called where the caller
 * may use the FPU and sleep.
 *
 * Return: the chosen routine; never NULL (movnti is always usable).
 */
const struct clear_routine *clear_routine_calibrate(void *buf,
						    unsigned long len,
						    u64 *mbps)
{
	u64 score[ARRAY_SIZE(clear_routines)] = { };
	u64 best = 0;
	unsigned int i;

	for (i = 0; i < nr_clear_routines; i++) {
		const struct clear_routine *r = &clear_routines[i];
		u64 rate;

		if (mbps)
			mbps[i] = 0;
		if (!(r->flags & CLEAR_HUGE) || !clear_routine_usable(r))
			continue;
		rate = clear_calibrate_one(r, buf, len);
		if (mbps)
			mbps[i] = rate;
		score[i] = r->flags & CLEAR_NT ? rate :
			   rate * 100 / (100 + CLEAR_CALIBRATE_CACHED);
		best = max(best, score[i]);
		cond_resched();
	}
	for (i = 0; i < nr_clear_routines; i++)
		if (score[i] && score[i] * 100 >= best * (100 - CLEAR_CALIBRATE_TIE))
			return &clear_routines[i];
	return clear_routine_find("movnti");
}
