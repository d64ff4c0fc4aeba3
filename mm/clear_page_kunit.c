// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the page clearing routines of CONFIG_CLEAR_PAGE_SSE.
 *
 * Every routine in clear_page_routines[] clears pages and extents that were
 * filled with a pattern; the range asked for must read zero to its first
 * and last byte, and the guard pages on either side must be untouched.
 * Routines this CPU cannot run are skipped, naming what it lacks.
 */
#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/static_call.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "clear_page_sse.h"
#include "internal.h"

#define PATTERN		0xa5
#define EDGE		0x5a

/* Parameters: every routine with a 4 KiB form, or with an extent form. */
static const void *routine_next(const void *prev, char *desc, bool extent)
{
	const struct clear_page_routine *r = prev;

	for (r = r ? r + 1 : clear_page_routines;
	     r < clear_page_routines + nr_clear_page_routines; r++) {
		if (extent ? !r->extent : !r->page)
			continue;
		strscpy(desc, r->name, KUNIT_PARAM_DESC_SIZE);
		return r;
	}
	return NULL;
}

static const void *page_gen_params(const void *prev, char *desc)
{
	return routine_next(prev, desc, false);
}

static const void *extent_gen_params(const void *prev, char *desc)
{
	return routine_next(prev, desc, true);
}

static void skip_unusable(struct kunit *test, const struct clear_page_routine *r)
{
	if (!clear_page_routine_usable(r))
		kunit_skip(test, "this CPU cannot run %s", r->name);
}

/* Pattern with distinct first and last bytes, so an off-by-one shows. */
static void fill(u8 *p, unsigned long len)
{
	memset(p, PATTERN, len);
	p[0] = EDGE;
	p[len - 1] = EDGE;
}

static void expect_zero(struct kunit *test, const u8 *p, unsigned long len)
{
	KUNIT_EXPECT_EQ(test, p[0], 0);
	KUNIT_EXPECT_EQ(test, p[len - 1], 0);
	KUNIT_EXPECT_PTR_EQ(test, memchr_inv(p, 0, len), NULL);
}

static void expect_guard(struct kunit *test, const u8 *p)
{
	KUNIT_EXPECT_EQ(test, p[0], EDGE);
	KUNIT_EXPECT_EQ(test, p[PAGE_SIZE - 1], EDGE);
	KUNIT_EXPECT_PTR_EQ(test, memchr_inv(p + 1, PATTERN, PAGE_SIZE - 2),
			    NULL);
}

/* The 4 KiB form, with interrupts off: clear_page() may be called there. */
static void clear_page_routine_test(struct kunit *test)
{
	const struct clear_page_routine *r = test->param_value;
	unsigned long flags;
	struct page *pages;
	u8 *p;
	int i;

	skip_unusable(test, r);

	pages = alloc_pages(GFP_KERNEL, 2);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	p = page_address(pages);
	for (i = 0; i < 4; i++)
		fill(p + i * PAGE_SIZE, PAGE_SIZE);

	local_irq_save(flags);
	r->page(p + PAGE_SIZE);
	local_irq_restore(flags);

	expect_guard(test, p);
	expect_zero(test, p + PAGE_SIZE, PAGE_SIZE);
	expect_guard(test, p + 2 * PAGE_SIZE);
	__free_pages(pages, 2);
}

/*
 * Extents of one page, an odd number of pages, a 2 MiB folio, and lengths
 * that cross the vector chunk and the 32 MiB chunk by one page.
 */
static const unsigned long extent_lens[] = {
	PAGE_SIZE,
	3 * PAGE_SIZE,
	SZ_2M,
	CLEAR_PAGE_FPU_CHUNK + PAGE_SIZE,
	CLEAR_PAGE_CHUNK + PAGE_SIZE,
};

static void clear_extent_test(struct kunit *test)
{
	const struct clear_page_routine *r = test->param_value;
	unsigned int i;

	skip_unusable(test, r);

	for (i = 0; i < ARRAY_SIZE(extent_lens); i++) {
		unsigned long len = extent_lens[i];
		u8 *p = vmalloc(len + 2 * PAGE_SIZE);

		KUNIT_ASSERT_NOT_NULL(test, p);
		fill(p, PAGE_SIZE);
		fill(p + PAGE_SIZE, len);
		fill(p + PAGE_SIZE + len, PAGE_SIZE);

		clear_page_extent(r, p + PAGE_SIZE, len);

		expect_guard(test, p);
		expect_zero(test, p + PAGE_SIZE, len);
		expect_guard(test, p + PAGE_SIZE + len);
		vfree(p);
		cond_resched();
	}
}

/*
 * A 2 MiB folio through folio_zero_user(), as the fault path clears it
 * (with whatever clear_huge_page= chose in this boot), faulting subpage
 * anywhere.
 */
static void folio_zero_user_test(struct kunit *test)
{
	static const unsigned int hint_pages[] = { 0, 1, 255, 511 };
	unsigned long base = 0x7f0000000000UL;
	struct folio *folio;
	unsigned int i;
	u8 *p;

	folio = folio_alloc(GFP_KERNEL, get_order(SZ_2M));
	KUNIT_ASSERT_NOT_NULL(test, folio);
	p = folio_address(folio);

	for (i = 0; i < ARRAY_SIZE(hint_pages); i++) {
		fill(p, SZ_2M);
		folio_zero_user(folio, base + hint_pages[i] * PAGE_SIZE + 123);
		expect_zero(test, p, SZ_2M);
	}
	folio_put(folio);
}

/*
 * A 4 MiB folio (two vector chunks and more) through each extent routine,
 * the faulting subpage in either half, at either end.
 */
static void huge_folio_routine_test(struct kunit *test)
{
	static const unsigned int hint_pages[] = { 0, 600, 1023 };
	const struct clear_page_routine *r = test->param_value;
	const unsigned int order = get_order(SZ_4M);
	struct folio *folio;
	unsigned int i;
	u8 *p;

	skip_unusable(test, r);
	folio = folio_alloc(GFP_KERNEL | __GFP_NOWARN, order);
	if (!folio)
		kunit_skip(test, "no free order-%u folio", order);
	p = folio_address(folio);

	for (i = 0; i < ARRAY_SIZE(hint_pages); i++) {
		fill(p, SZ_4M);
		clear_huge_folio_with(folio, 0x7f0000000000UL +
				      hint_pages[i] * PAGE_SIZE, r);
		expect_zero(test, p, SZ_4M);
	}
	folio_put(folio);
}

/* mTHP folios are left to the page-at-a-time path. */
static void small_folio_test(struct kunit *test)
{
	struct folio *folio = folio_alloc(GFP_KERNEL, 4);

	KUNIT_ASSERT_NOT_NULL(test, folio);
	KUNIT_EXPECT_FALSE(test, clear_huge_folio(folio, 0x7f0000000000UL));
	folio_put(folio);
}

/* clear_page() itself, through the static call clear_page= set. */
static void clear_page_call_test(struct kunit *test)
{
	void *target = static_call_query(clear_page);
	struct page *pages = alloc_pages(GFP_KERNEL, 2);
	bool known = false;
	unsigned int i;
	u8 *p;

	for (i = 0; i < nr_clear_page_routines; i++)
		if (clear_page_routines[i].page == target)
			known = true;
	KUNIT_EXPECT_TRUE(test, known);

	KUNIT_ASSERT_NOT_NULL(test, pages);
	p = page_address(pages);
	for (i = 0; i < 4; i++)
		fill(p + i * PAGE_SIZE, PAGE_SIZE);
	clear_page(p + PAGE_SIZE);
	expect_guard(test, p);
	expect_zero(test, p + PAGE_SIZE, PAGE_SIZE);
	expect_guard(test, p + 2 * PAGE_SIZE);
	__free_pages(pages, 2);
}

/* The clear_huge_page=auto rule, on made-up rates (MB/s). */
static void pick_test(struct kunit *test)
{
	static const struct {
		const char *name[2];
		u64 rate[2];
		const char *want;
	} cases[] = {
		{ { NULL, NULL }, { 0, 0 }, "movnti" },		/* nothing */
		{ { "movnti", "avx2" }, { 1000, 1020 }, "movnti" },	/* tie */
		{ { "movnti", "avx2" }, { 1000, 1100 }, "avx2" },
		{ { "movnti", "erms" }, { 1000, 1120 }, "movnti" },	/* cached */
		{ { "movnti", "erms" }, { 1000, 1200 }, "erms" },
		{ { "avx512", "rep" }, { 1000, 900 }, "avx512" },
	};
	u64 *mbps = kunit_kcalloc(test, nr_clear_page_routines, sizeof(*mbps),
				  GFP_KERNEL);
	unsigned int i, j;

	KUNIT_ASSERT_NOT_NULL(test, mbps);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(mbps, 0, nr_clear_page_routines * sizeof(*mbps));
		for (j = 0; j < 2; j++)
			if (cases[i].name[j])
				mbps[clear_page_routine_find(cases[i].name[j]) -
				     clear_page_routines] = cases[i].rate[j];
		KUNIT_EXPECT_STREQ_MSG(test, clear_page_routine_pick(mbps)->name,
				       cases[i].want, "case %u", i);
	}
}

static void calibrate_test(struct kunit *test)
{
	const struct clear_page_routine *r;
	u64 *mbps;
	u8 *p;

	mbps = kunit_kcalloc(test, nr_clear_page_routines, sizeof(*mbps),
			     GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mbps);
	p = vmalloc(CLEAR_PAGE_CALIBRATE_SIZE);
	KUNIT_ASSERT_NOT_NULL(test, p);
	fill(p, CLEAR_PAGE_CALIBRATE_SIZE);

	r = clear_page_routine_calibrate(p, CLEAR_PAGE_CALIBRATE_SIZE, mbps);
	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_EXPECT_TRUE(test, r->flags & CLEAR_PAGE_HUGE);
	KUNIT_EXPECT_TRUE(test, clear_page_routine_usable(r));
	KUNIT_EXPECT_GT(test, mbps[r - clear_page_routines], 0);
	/* The scratch buffer was cleared by every routine timed. */
	expect_zero(test, p, CLEAR_PAGE_CALIBRATE_SIZE);
	vfree(p);
}

static void table_test(struct kunit *test)
{
	unsigned int i;

	KUNIT_EXPECT_PTR_EQ(test, clear_page_routine_find("bogus"), NULL);
	KUNIT_EXPECT_PTR_EQ(test, clear_page_routine_find(""), NULL);
	KUNIT_EXPECT_PTR_EQ(test, clear_page_routine_find("auto"), NULL);
	KUNIT_EXPECT_PTR_EQ(test, clear_page_routine_find("page"), NULL);
	KUNIT_EXPECT_TRUE(test, clear_page_routine_usable(clear_page_routine_find("movnti")));
	KUNIT_EXPECT_NOT_NULL(test, clear_page_routine_page_default()->page);

	for (i = 0; i < nr_clear_page_routines; i++) {
		const struct clear_page_routine *r = &clear_page_routines[i];

		KUNIT_EXPECT_PTR_EQ(test, clear_page_routine_find(r->name), r);
		KUNIT_EXPECT_TRUE(test, r->page || r->extent);
		/* clear_page() runs in any context: never on vector state. */
		if (r->flags & CLEAR_PAGE_FPU)
			KUNIT_EXPECT_NULL(test, r->page);
		if (r->flags & CLEAR_PAGE_HUGE)
			KUNIT_EXPECT_NOT_NULL(test, r->extent);
	}
}

static struct kunit_case clear_page_test_cases[] = {
	KUNIT_CASE_PARAM(clear_page_routine_test, page_gen_params),
	KUNIT_CASE_PARAM(clear_extent_test, extent_gen_params),
	KUNIT_CASE_PARAM(huge_folio_routine_test, extent_gen_params),
	KUNIT_CASE(folio_zero_user_test),
	KUNIT_CASE(small_folio_test),
	KUNIT_CASE(clear_page_call_test),
	KUNIT_CASE(pick_test),
	KUNIT_CASE(calibrate_test),
	KUNIT_CASE(table_test),
	{}
};

static struct kunit_suite clear_page_test_suite = {
	.name = "clear_page_sse",
	.test_cases = clear_page_test_cases,
};

kunit_test_suite(clear_page_test_suite);

MODULE_DESCRIPTION("KUnit tests for non-temporal page clearing");
MODULE_LICENSE("GPL");
