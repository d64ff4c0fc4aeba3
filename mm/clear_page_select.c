// SPDX-License-Identifier: GPL-2.0
/*
 * Boot-time choice of the routine behind clear_page() (clear_page=) and of
 * the routine that clears huge folios for user space (clear_huge_page=),
 * shown in /sys/kernel/mm/clear_page/ and in one line of the kernel log.
 *
 * clear_page() is a static call: 6.12 patches the call to clear_page_orig,
 * clear_page_rep or clear_page_erms with an alternative when the boot CPU's
 * features are known, and clear_page_init() retargets the static call at
 * that same moment, so the call sites stay one direct call each.
 *
 * Huge folios are cleared as one extent by default (clear_huge_page=auto),
 * with the routine that calibrates fastest at boot; clear_huge_page=page
 * keeps 6.12's page-at-a-time clearing.  See
 * Documentation/admin-guide/mm/clear_page.rst.
 */
#define pr_fmt(fmt) "clear_page: " fmt

#include <linux/init.h>
#include <linux/kmsan-checks.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/static_call.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "clear_page_sse.h"
#include "internal.h"

DEFINE_STATIC_CALL(clear_page, clear_page_orig);
EXPORT_STATIC_CALL_TRAMP_GPL(clear_page);

/* What clear_page() calls; set once at boot. */
static const struct clear_page_routine *page_routine __ro_after_init;
/* A cached 4 KiB routine, for the subpage a fault touches first. */
static const struct clear_page_routine *cached_routine __ro_after_init;
/* What clears huge folios; NULL means page at a time, as in 6.12. */
static const struct clear_page_routine *huge_routine __ro_after_init;
/* What clears memory ahead of use: always a non-temporal routine. */
static const struct clear_page_routine *ahead_routine __ro_after_init;

#define CLEAR_PARAM_LEN 16
/* The values given on the command line; "auto" if none was. */
static char page_param[CLEAR_PARAM_LEN] __initdata = "auto";
static char huge_param[CLEAR_PARAM_LEN] __initdata = "auto";

static int __init clear_page_param(char *s)
{
	strscpy(page_param, s ?: "", sizeof(page_param));
	return 0;
}
early_param("clear_page", clear_page_param);

static int __init clear_huge_page_param(char *s)
{
	strscpy(huge_param, s ?: "", sizeof(huge_param));
	return 0;
}
early_param("clear_huge_page", clear_huge_page_param);

/**
 * clear_page_init() - point clear_page() at the routine clear_page= asks for
 *
 * Called by arch_cpu_finalize_init() right after alternative_instructions(),
 * the moment 6.12 picks its clear_page variant.  Until then clear_page()
 * calls clear_page_orig, as the unpatched alternative does.  An unknown
 * value, or one this CPU cannot run, is reported and the default is kept.
 */
void __init clear_page_init(void)
{
	const struct clear_page_routine *r = clear_page_routine_page_default();
	const struct clear_page_routine *want;

	if (strcmp(page_param, "auto")) {
		want = clear_page_routine_find(page_param);
		if (!want)
			pr_warn("clear_page=%s: unknown value, using %s\n",
				page_param, r->name);
		else if (!want->page)
			pr_warn("clear_page=%s: has no 4 KiB form, using %s\n",
				page_param, r->name);
		else if (!clear_page_routine_usable(want))
			pr_warn("clear_page=%s: not supported by this CPU, using %s\n",
				page_param, r->name);
		else
			r = want;
	}
	page_routine = r;
	cached_routine = r->flags & CLEAR_PAGE_NT ?
			 clear_page_routine_page_default() : r;
	static_call_update(clear_page, r->page);
}

/*
 * clear_huge_page=auto: time the extent routines on a scratch buffer, the
 * way crypto/xor.c picks its template: four 2 MiB passes per routine, up
 * to 56 MiB of stores, a few milliseconds on hardware.
 */
static const struct clear_page_routine * __init
clear_huge_page_auto(char *log, size_t size)
{
	const struct clear_page_routine *r;
	struct page *page;
	u64 *mbps, t;
	size_t n = 0;
	unsigned int i;

	mbps = kcalloc(nr_clear_page_routines, sizeof(*mbps), GFP_KERNEL);
	page = alloc_pages(GFP_KERNEL | __GFP_NOWARN,
			   get_order(CLEAR_PAGE_CALIBRATE_SIZE));
	if (!mbps || !page) {
		kfree(mbps);
		if (page)
			__free_pages(page, get_order(CLEAR_PAGE_CALIBRATE_SIZE));
		scnprintf(log, size, ", no memory to calibrate");
		return clear_page_routine_find("movnti");
	}

	t = local_clock();
	r = clear_page_routine_calibrate(page_address(page),
					 CLEAR_PAGE_CALIBRATE_SIZE, mbps);
	t = local_clock() - t;

	n += scnprintf(log + n, size - n, " (auto:");
	for (i = 0; i < nr_clear_page_routines; i++)
		if (mbps[i])
			n += scnprintf(log + n, size - n, " %s %llu",
				       clear_page_routines[i].name, mbps[i]);
	scnprintf(log + n, size - n, " MB/s, %llu us)", t / NSEC_PER_USEC);

	__free_pages(page, get_order(CLEAR_PAGE_CALIBRATE_SIZE));
	kfree(mbps);
	return r;
}

static int __init clear_huge_page_init(void)
{
	const struct clear_page_routine *want;
	char log[160] = "";

	if (!strcmp(huge_param, "page"))
		goto out;

	if (strcmp(huge_param, "auto")) {
		want = clear_page_routine_find(huge_param);
		if (want && want->extent && clear_page_routine_usable(want)) {
			huge_routine = want;
			goto out;
		}
		pr_warn("clear_huge_page=%s: %s, using auto\n", huge_param,
			!want ? "unknown value" :
			!want->extent ? "has no extent form" :
					"not supported by this CPU");
	}
	huge_routine = clear_huge_page_auto(log, sizeof(log));
out:
	if (huge_routine && huge_routine->flags & CLEAR_PAGE_NT)
		ahead_routine = huge_routine;
	else
		ahead_routine = clear_page_routine_find("movnti");
	pr_info("clear_page=%s clear_huge_page=%s%s\n", page_routine->name,
		huge_routine ? huge_routine->name : "page", log);
	return 0;
}
early_initcall(clear_huge_page_init);

/**
 * clear_huge_folio_with() - clear a large folio with an extent routine
 * @folio: the folio, about to be mapped to user space
 * @addr_hint: the address that will be accessed first
 * @r: a usable routine with an extent form
 *
 * Clears the folio as one extent with @r, except for the subpage at
 * @addr_hint, which is cleared last and with a cached routine, because the
 * faulting task reads it next.  May sleep.
 */
void clear_huge_folio_with(struct folio *folio, unsigned long addr_hint,
			   const struct clear_page_routine *r)
{
	unsigned long size = folio_size(folio);
	unsigned long target = (addr_hint - ALIGN_DOWN(addr_hint, size)) &
			       PAGE_MASK;
	void *kaddr = folio_address(folio);

	might_sleep();
	clear_page_extent(r, kaddr, target);
	clear_page_extent(r, kaddr + target + PAGE_SIZE,
			  size - target - PAGE_SIZE);
	kmsan_unpoison_memory(kaddr + target, PAGE_SIZE);
	cached_routine->page(kaddr + target);
}

/**
 * clear_huge_folio() - clear a large folio with the clear_huge_page= routine
 * @folio: the folio, about to be mapped to user space
 * @addr_hint: the address that will be accessed first
 *
 * Called by folio_zero_user().  Folios smaller than a PMD (mTHP) are left
 * to it: their neighbouring subpages are likely to be touched right away,
 * and are better left in the cache.
 *
 * Return: false if the caller should clear the folio page at a time, as
 * 6.12 does: clear_huge_page=page, or a folio smaller than a PMD.
 */
bool clear_huge_folio(struct folio *folio, unsigned long addr_hint)
{
	if (!huge_routine || folio_order(folio) < PMD_ORDER ||
	    folio_test_highmem(folio))
		return false;
	clear_huge_folio_with(folio, addr_hint, huge_routine);
	return true;
}

/**
 * clear_pages_nontemporal() - clear memory nobody is about to read
 * @addr: page-aligned kernel address
 * @len: bytes to clear, a multiple of PAGE_SIZE
 *
 * For clearing ahead of use, such as the pre-zeroed hugetlb pool: uses the
 * clear_huge_page= routine if it stores non-temporally and movnti
 * otherwise, so the zeroes do not evict other tasks' cache lines.  Ends
 * with a store fence.  May sleep.
 */
void clear_pages_nontemporal(void *addr, unsigned long len)
{
	const struct clear_page_routine *r = ahead_routine;

	if (unlikely(!r))	/* before early initcalls */
		r = clear_page_routine_find("movnti");
	clear_page_extent(r, addr, len);
}

static ssize_t clear_routines_show(char *buf, bool huge)
{
	const struct clear_page_routine *active = huge ? huge_routine : page_routine;
	int len = 0;
	unsigned int i;

	if (huge)
		len += sysfs_emit_at(buf, len, active ? "page" : "[page]");
	for (i = 0; i < nr_clear_page_routines; i++) {
		const struct clear_page_routine *r = &clear_page_routines[i];

		if ((huge ? !r->extent : !r->page) || !clear_page_routine_usable(r))
			continue;
		len += sysfs_emit_at(buf, len, r == active ? "%s[%s]" : "%s%s",
				     len ? " " : "", r->name);
	}
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}

static ssize_t page_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return clear_routines_show(buf, false);
}

static struct kobj_attribute page_attr = __ATTR_RO(page);

static ssize_t huge_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return clear_routines_show(buf, true);
}

static struct kobj_attribute huge_attr = __ATTR_RO(huge);

static struct attribute *clear_page_attrs[] = {
	&page_attr.attr,
	&huge_attr.attr,
	NULL,
};

static const struct attribute_group clear_page_attr_group = {
	.attrs = clear_page_attrs,
};

static int __init clear_page_sysfs_init(void)
{
	struct kobject *kobj;
	int err;

	kobj = kobject_create_and_add("clear_page", mm_kobj);
	if (!kobj)
		return -ENOMEM;
	err = sysfs_create_group(kobj, &clear_page_attr_group);
	if (err)
		kobject_put(kobj);
	return err;
}
subsys_initcall(clear_page_sysfs_init);
