/*
 * mmap, munmap, mprotect: placement, the errno of each bad argument (the
 * values Linux 6.18 gives on this machine kind), merging as Linux merges,
 * and the /proc/PID/maps line format. Every call is checked (support.c):
 * invariants after it, nothing changed after a failure.
 */
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define TASK 0x7ffffffff000ull

static void test_init_options(void **state)
{
	struct aspace_options o;
	struct tm m;
	struct aspace as;
	struct aspace_ops no_lookup = aspace_sim_ops;

	(void)state;
	tm_init(&m, NULL);
	tm_options(&m, &o);
	assert_int_equal(aspace_init(NULL, &o), -ASPACE_EINVAL);
	assert_int_equal(aspace_init(&as, NULL), -ASPACE_EINVAL);
	o.size = sizeof(o) - 1;
	assert_int_equal(aspace_init(&as, &o), -ASPACE_EINVAL);
	tm_options(&m, &o);
	o.page_size = 2048;
	assert_int_equal(aspace_init(&as, &o), -ASPACE_EINVAL);
	o.page_size = 3 * 4096;
	assert_int_equal(aspace_init(&as, &o), -ASPACE_EINVAL);
	tm_options(&m, &o);
	o.mmap_base = o.mmap_min_addr = 0x100000;
	assert_int_equal(aspace_init(&as, &o), -ASPACE_EINVAL);
	tm_options(&m, &o);
	o.task_size = 0x100000;
	o.mmap_base = 0x200000;
	assert_int_equal(aspace_init(&as, &o), -ASPACE_EINVAL);
	tm_options(&m, &o);
	o.mmap_base = 0x100001000 + 1;
	assert_int_equal(aspace_init(&as, &o), -ASPACE_EINVAL);
	tm_options(&m, &o);
	no_lookup.pt_lookup = NULL;
	o.ops = &no_lookup;
	assert_int_equal(aspace_init(&as, &o), -ASPACE_EINVAL);
	tm_options(&m, &o);
	o.allocator = NULL;
	assert_int_equal(aspace_init(&as, &o), -ASPACE_EINVAL);
	tm_done(&m);
}

/* Without a usable hint: the highest free range below mmap_base. */
static void test_placement_top_down(void **state)
{
	struct aspace_options o;
	struct tm m;
	uint64_t base;
	int64_t a, b, c;

	(void)state;
	tm_init(&m, NULL);
	tm_options(&m, &o);
	base = TASK - (128ull << 20);
	a = c_mmap(&m, 0, 0, 2 * PG, RW, PRIV_ANON, NULL, 0);
	assert_int_equal(a, (int64_t)(base - 2 * PG));
	b = c_mmap(&m, 0, 0, PG, RO, PRIV_ANON, NULL, 0);
	assert_int_equal(b, a - (int64_t)PG);
	/* A gap that fits is taken before lower space. */
	assert_int_equal(c_munmap(&m, 0, (uint64_t)a, PG), 0);
	c = c_mmap(&m, 0, 0, PG, RO, PRIV_ANON, NULL, 0);
	assert_int_equal(c, a);
	tm_done(&m);
}

/* A hint is taken when the range there is free; else top-down. */
static void test_placement_hint(void **state)
{
	struct tm m;
	int64_t r;

	(void)state;
	tm_init(&m, NULL);
	assert_int_equal(c_mmap(&m, 0, A(8), 4 * PG, RW, PRIV_ANON, NULL, 0),
			 (int64_t)A(8));
	/* Overlapping: not near the hint, top-down. */
	r = c_mmap(&m, 0, A(6), 4 * PG, RW, PRIV_ANON, NULL, 0);
	assert_true(r > (int64_t)A(1 << 20));
	/* Touching is free. */
	assert_int_equal(c_mmap(&m, 0, A(4), 4 * PG, RW, PRIV_ANON, NULL, 0),
			 (int64_t)A(4));
	/* Generic Linux rounds a hint up; x86 down (an option). */
	assert_int_equal(c_mmap(&m, 0, A(20) + 1, PG, RW, PRIV_ANON, NULL, 0),
			 (int64_t)A(21));
	/* Below mmap_min_addr: raised to it. */
	assert_int_equal(c_mmap(&m, 0, 4096, PG, RW, PRIV_ANON, NULL, 0),
			 65536);
	/* Past task_size: ignored. */
	r = c_mmap(&m, 0, TASK, PG, RW, PRIV_ANON, NULL, 0);
	assert_true(r > 0 && (uint64_t)r < TASK);
	r = c_mmap(&m, 0, TASK - PG, 2 * PG, RW, PRIV_ANON, NULL, 0);
	assert_true(r > 0 && (uint64_t)r + 2 * PG <= TASK);
	expect_layout(&m, 0, "4-12 rw-p, 21-22 rw-p");
	tm_done(&m);
}

static void test_placement_options(void **state)
{
	struct aspace_options o;
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	tm_options(&m, &o);
	aspace_destroy(&m.as[0]);
	o.flags = ASPACE_OPT_HINT_ROUND_DOWN | ASPACE_OPT_LOW_MAP;
	o.mmap_base = 0x40000000;
	o.thp_size = 2ull << 20;
	assert_int_equal(aspace_init(&m.as[0], &o), 0);
	assert_int_equal(c_mmap(&m, 0, A(20) + 1, PG, RW, PRIV_ANON, NULL, 0),
			 (int64_t)A(20));
	/* MAP_FIXED below mmap_min_addr, with the right to. */
	assert_int_equal(c_mmap(&m, 0, 0, PG, RW, PRIV_ANON | FIXED, NULL, 0),
			 0);
	/* A multiple of the THP size, no hint: aligned to it, at the top of
	 * the padded range when that is aligned already. */
	assert_int_equal(c_mmap(&m, 0, 0, 4ull << 20, RW, PRIV_ANON, NULL, 0),
			 0x40000000 - (4ll << 20));
	assert_int_equal(c_mmap(&m, 0, 0, 2ull << 20, RW, PRIV_ANON, NULL, 0),
			 0x40000000 - (6ll << 20));
	/* Not a multiple: right below. */
	assert_int_equal(c_mmap(&m, 0, 0, (2ull << 20) + PG, RW, PRIV_ANON,
				NULL, 0),
			 0x40000000 - (8ll << 20) - (int64_t)PG);
	/* Shared memory is not aligned. */
	assert_int_equal(c_mmap(&m, 0, 0, 2ull << 20, RW, SHARED_ANON, NULL, 0),
			 0x40000000 - (10ll << 20) - (int64_t)PG);
	tm_done(&m);
}

/* When nothing fits below mmap_base: bottom-up from unmapped_base. */
static void test_placement_bottom_up(void **state)
{
	struct aspace_options o;
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	tm_options(&m, &o);
	aspace_destroy(&m.as[0]);
	o.mmap_min_addr = 0x100000;
	o.mmap_base = 0x200000;
	o.unmapped_base = 0x40000000;
	assert_int_equal(aspace_init(&m.as[0], &o), 0);
	assert_int_equal(c_mmap(&m, 0, 0, 0x100000, RW, PRIV_ANON, NULL, 0),
			 0x100000);
	assert_int_equal(c_mmap(&m, 0, 0, PG, RW, PRIV_ANON, NULL, 0),
			 0x40000000);
	assert_int_equal(c_mmap(&m, 0, 0, PG, RW, PRIV_ANON, NULL, 0),
			 0x40000000 + (int64_t)PG);
	tm_done(&m);
}

/* Each bad argument and its errno, as Linux 6.18 (x86-64) gives them. */
static void test_mmap_errors(void **state)
{
	struct tm m;
	int64_t r;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 1, RW, PRIV_ANON);
	assert_int_equal(c_mmap(&m, 0, 0, 0, RW, PRIV_ANON, NULL, 0),
			 -ASPACE_EINVAL);
	assert_int_equal(c_mmap(&m, 0, 0, 1ull << 50, RW, PRIV_ANON, NULL, 0),
			 -ASPACE_ENOMEM);
	assert_int_equal(c_mmap(&m, 0, 0, UINT64_MAX, RW, PRIV_ANON, NULL, 0),
			 -ASPACE_ENOMEM);
	assert_int_equal(c_mmap(&m, 0, 0, TASK, RW, PRIV_ANON, NULL, 0),
			 -ASPACE_ENOMEM);
	/* No mapping type, a bad one, MAP_SHARED_VALIDATE of anonymous memory. */
	assert_int_equal(c_mmap(&m, 0, 0, PG, RW, ASPACE_MAP_ANONYMOUS, NULL,
				0),
			 -ASPACE_EINVAL);
	assert_int_equal(c_mmap(&m, 0, 0, PG, RW, 0x0c | ASPACE_MAP_ANONYMOUS,
				NULL, 0),
			 -ASPACE_EINVAL);
	assert_int_equal(c_mmap(&m, 0, 0, PG, RW,
				ASPACE_MAP_SHARED_VALIDATE |
					ASPACE_MAP_ANONYMOUS,
				NULL, 0),
			 -ASPACE_EINVAL);
	/* Misaligned fixed addresses, misaligned offsets. */
	assert_int_equal(c_mmap(&m, 0, A(1) + 1, PG, RW, PRIV_ANON | FIXED,
				NULL, 0),
			 -ASPACE_EINVAL);
	assert_int_equal(c_mmap(&m, 0, A(1) + 1, PG, RW,
				PRIV_ANON | ASPACE_MAP_FIXED_NOREPLACE, NULL,
				0),
			 -ASPACE_EINVAL);
	assert_int_equal(c_mmap(&m, 0, A(1), PG, RW, PRIV_ANON | FIXED, NULL,
				4095),
			 -ASPACE_EINVAL);
	/* MAP_FIXED_NOREPLACE over an area, touching it or not. */
	assert_int_equal(c_mmap(&m, 0, A(0), PG, RW,
				PRIV_ANON | ASPACE_MAP_FIXED_NOREPLACE, NULL,
				0),
			 -ASPACE_EEXIST);
	assert_int_equal(c_mmap(&m, 0, A(0) - PG, 2 * PG, RW,
				PRIV_ANON | ASPACE_MAP_FIXED_NOREPLACE, NULL,
				0),
			 -ASPACE_EEXIST);
	assert_int_equal(c_mmap(&m, 0, A(1), PG, RW,
				PRIV_ANON | ASPACE_MAP_FIXED_NOREPLACE, NULL,
				0),
			 (int64_t)A(1));
	/* Past task_size. */
	assert_int_equal(c_mmap(&m, 0, TASK, PG, RW, PRIV_ANON | FIXED, NULL,
				0),
			 -ASPACE_ENOMEM);
	assert_int_equal(c_mmap(&m, 0, TASK - PG, 2 * PG, RW, PRIV_ANON | FIXED,
				NULL, 0),
			 -ASPACE_ENOMEM);
	assert_int_equal(c_mmap(&m, 0, 0x800000000000ull, PG, RW,
				PRIV_ANON | FIXED, NULL, 0),
			 -ASPACE_ENOMEM);
	assert_int_equal(c_mmap(&m, 0, UINT64_MAX - PG + 1, PG, RW,
				PRIV_ANON | FIXED, NULL, 0),
			 -ASPACE_ENOMEM);
	/* Below mmap_min_addr without the right to (Linux: CAP_SYS_RAWIO). */
	assert_int_equal(c_mmap(&m, 0, 0, PG, RW, PRIV_ANON | FIXED, NULL, 0),
			 -ASPACE_EPERM);
	assert_int_equal(c_mmap(&m, 0, 0x8000, PG, RW, PRIV_ANON | FIXED, NULL,
				0),
			 -ASPACE_EPERM);
	/* No object without MAP_ANONYMOUS; huge pages. */
	assert_int_equal(c_mmap(&m, 0, A(2), PG, RW, ASPACE_MAP_PRIVATE | FIXED,
				NULL, 0),
			 -ASPACE_EBADF);
	assert_int_equal(c_mmap(&m, 0, A(2), PG, RW,
				PRIV_ANON | FIXED | ASPACE_MAP_HUGETLB, NULL,
				0),
			 -ASPACE_EINVAL);
	/* Areas that grow down are not supported (a known difference). */
	assert_int_equal(c_mmap(&m, 0, A(2), PG, RW,
				PRIV_ANON | FIXED | ASPACE_MAP_GROWSDOWN, NULL,
				0),
			 -ASPACE_EINVAL);
	/* Unknown protection and flag bits are ignored, as Linux. */
	r = c_mmap(&m, 0, A(2), PG, 0x7fffff00 | RW,
		   PRIV_ANON | FIXED | 0x80000000ul, NULL, 0);
	assert_int_equal(r, (int64_t)A(2));
	assert_int_equal(c_mmap(&m, 0, A(3), PG, RW,
				PRIV_ANON | FIXED | ASPACE_MAP_SYNC |
					ASPACE_MAP_UNINITIALIZED,
				NULL, 0),
			 (int64_t)A(3));
	/* The offset of anonymous memory is checked only for alignment. */
	assert_int_equal(c_mmap(&m, 0, A(4), PG, RW, SHARED_ANON | FIXED, NULL,
				UINT64_MAX - PG + 1),
			 (int64_t)A(4));
	assert_int_equal(c_mmap(&m, 0, A(5), PG, RW, PRIV_ANON | FIXED, NULL,
				UINT64_MAX - PG + 1),
			 (int64_t)A(5));
	/* MAP_SYNC made an area of its own (VM_SYNC), as MAP_SHARED did. */
	expect_layout(&m, 0, "0-3 rw-p, 3-4 rw-p, 4-5 rw-s @0, 5-6 rw-p");
	tm_done(&m);
}

/* MAP_FIXED replaces what is in the way, splitting areas at its ends. */
static void test_mmap_fixed_replace(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 8, RW, PRIV_ANON);
	poke(&m, 0, A(2), 'a');
	poke(&m, 0, A(5), 'b');
	map_at(&m, 0, 2, 3, RO, PRIV_ANON);
	expect_layout(&m, 0, "0-2 rw-p, 2-5 r--p, 5-8 rw-p");
	/* The replaced page reads zero; the one outside keeps its byte. */
	assert_int_equal(peek(&m, 0, A(2)), 0);
	assert_int_equal(peek(&m, 0, A(5)), 'b');
	/* The same flags again: the pieces join. */
	map_at(&m, 0, 2, 3, RW, PRIV_ANON);
	expect_layout(&m, 0, "0-8 rw-p");
	tm_done(&m);
}

/* Which adjacent mappings Linux keeps apart: its flags and accounting. */
static void test_merge_flags(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 4, RW, PRIV_ANON);
	map_at(&m, 0, 4, 4, RO, PRIV_ANON);
	expect_layout(&m, 0, "0-4 rw-p, 4-8 r--p");
	/* Unfaulted memory that stops being writable is not accounted any more. */
	assert_int_equal(c_mprotect(&m, 0, A(0), 4 * PG, RO), 0);
	expect_layout(&m, 0, "0-8 r--p");
	/* Faulted memory keeps VM_ACCOUNT: it stays apart. */
	map_at(&m, 0, 10, 4, RW, PRIV_ANON);
	poke(&m, 0, A(10), 1);
	map_at(&m, 0, 14, 4, RO, PRIV_ANON);
	assert_int_equal(c_mprotect(&m, 0, A(10), 4 * PG, RO), 0);
	expect_layout(&m, 0, "0-8 r--p, 10-14 r--p, 14-18 r--p");
	/* MAP_NORESERVE and MAP_STACK make other flags. */
	map_at(&m, 0, 20, 4, RW, PRIV_ANON);
	map_at(&m, 0, 24, 4, RW, PRIV_ANON | ASPACE_MAP_NORESERVE);
	map_at(&m, 0, 30, 4, RW, PRIV_ANON);
	map_at(&m, 0, 34, 4, RW, PRIV_ANON | ASPACE_MAP_STACK);
	expect_layout(&m, 0,
		      "0-8 r--p, 10-14 r--p, 14-18 r--p, 20-24 rw-p, "
		      "24-28 rw-p, 30-34 rw-p, 34-38 rw-p");
	/* Shared anonymous mappings are objects of their own. */
	map_at(&m, 0, 40, 4, RW, SHARED_ANON);
	map_at(&m, 0, 44, 4, RW, SHARED_ANON);
	expect_layout(&m, 0,
		      "0-8 r--p, 10-14 r--p, 14-18 r--p, 20-24 rw-p, "
		      "24-28 rw-p, 30-34 rw-p, 34-38 rw-p, 40-44 rw-s @0, "
		      "44-48 rw-s @0");
	tm_done(&m);
}

static void test_munmap(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 8, RW, PRIV_ANON);
	poke(&m, 0, A(0), 1);
	poke(&m, 0, A(7), 7);
	assert_int_equal(c_munmap(&m, 0, A(0) + 1, PG), -ASPACE_EINVAL);
	assert_int_equal(c_munmap(&m, 0, A(0), 0), -ASPACE_EINVAL);
	assert_int_equal(c_munmap(&m, 0, A(0), UINT64_MAX), -ASPACE_EINVAL);
	assert_int_equal(c_munmap(&m, 0, A(0), 1ull << 47), -ASPACE_EINVAL);
	assert_int_equal(c_munmap(&m, 0, TASK, PG), -ASPACE_EINVAL);
	assert_int_equal(c_munmap(&m, 0, TASK - PG, 2 * PG), -ASPACE_EINVAL);
	assert_int_equal(c_munmap(&m, 0, UINT64_MAX - PG + 1, PG),
			 -ASPACE_EINVAL);
	/* Holes are fine, and a length rounds up to a page. */
	assert_int_equal(c_munmap(&m, 0, A(100), PG), 0);
	assert_int_equal(c_munmap(&m, 0, A(2), 1), 0);
	assert_int_equal(c_munmap(&m, 0, A(4), 100 * PG), 0);
	expect_layout(&m, 0, "0-2 rw-p, 3-4 rw-p");
	assert_int_equal(peek(&m, 0, A(0)), 1);
	assert_int_equal(c_fault(&m, 0, A(7), ASPACE_ACCESS_READ),
			 ASPACE_FAULT_SEGV_MAPERR);
	tm_done(&m);
}

static void test_mprotect(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 4, RW, PRIV_ANON);
	map_at(&m, 0, 6, 2, RW, PRIV_ANON);
	/* The checks in Linux's order. */
	assert_int_equal(c_mprotect(&m, 0, A(0) + 1, PG, RO), -ASPACE_EINVAL);
	assert_int_equal(c_mprotect(&m, 0, A(0), 0, RO), 0);
	assert_int_equal(c_mprotect(&m, 0, A(0), 0, 0x10), 0);
	assert_int_equal(c_mprotect(&m, 0, A(0) + 1, 0, RO), -ASPACE_EINVAL);
	assert_int_equal(c_mprotect(&m, 0, A(0), PG, 0x10), -ASPACE_EINVAL);
	assert_int_equal(c_mprotect(&m, 0, A(0), UINT64_MAX, 0x10),
			 -ASPACE_ENOMEM);
	assert_int_equal(c_mprotect(&m, 0, A(0), PG,
				    ASPACE_PROT_GROWSDOWN | RO),
			 -ASPACE_EINVAL);
	assert_int_equal(c_mprotect(&m, 0, A(0), PG, ASPACE_PROT_GROWSUP | RO),
			 -ASPACE_EINVAL);
	assert_int_equal(c_mprotect(&m, 0, A(100), PG,
				    ASPACE_PROT_GROWSDOWN | RO),
			 -ASPACE_ENOMEM);
	assert_int_equal(c_mprotect(&m, 0, A(0), PG,
				    ASPACE_PROT_GROWSDOWN |
					    ASPACE_PROT_GROWSUP),
			 -ASPACE_EINVAL);
	assert_int_equal(c_mprotect(&m, 0, TASK, PG, RO), -ASPACE_ENOMEM);
	assert_int_equal(c_mprotect(&m, 0, A(4), PG, RO), -ASPACE_ENOMEM);
	/* A hole: ENOMEM, and nothing changes (Linux changes [0,4) first). */
	assert_int_equal(c_mprotect(&m, 0, A(0), 8 * PG, RO), -ASPACE_ENOMEM);
	assert_int_equal(c_mprotect(&m, 0, A(5), 3 * PG, RO), -ASPACE_ENOMEM);
	expect_layout(&m, 0, "0-4 rw-p, 6-8 rw-p");
	/* PROT_SEM is accepted; a length rounds up. */
	assert_int_equal(c_mprotect(&m, 0, A(1), 1, ASPACE_PROT_SEM | RO), 0);
	expect_layout(&m, 0, "0-1 rw-p, 1-2 r--p, 2-4 rw-p, 6-8 rw-p");
	assert_int_equal(c_mprotect(&m, 0, A(1), PG, RW), 0);
	expect_layout(&m, 0, "0-4 rw-p, 6-8 rw-p");
	/* Rights follow: a write to a read-only page is refused, PROT_NONE
	 * keeps the data. */
	poke(&m, 0, A(2), 'x');
	assert_int_equal(c_mprotect(&m, 0, A(2), PG, RO), 0);
	assert_int_equal(c_fault(&m, 0, A(2), ASPACE_ACCESS_WRITE),
			 ASPACE_FAULT_SEGV_ACCERR);
	assert_int_equal(c_mprotect(&m, 0, A(2), PG, ASPACE_PROT_NONE), 0);
	assert_int_equal(c_fault(&m, 0, A(2), ASPACE_ACCESS_READ),
			 ASPACE_FAULT_SEGV_ACCERR);
	assert_int_equal(c_mprotect(&m, 0, A(2), PG, RW), 0);
	assert_int_equal(peek(&m, 0, A(2)), 'x');
	tm_done(&m);
}

/* The exact lines of /proc/PID/maps, padding included (from Linux's). */
static void test_maps_lines(void **state)
{
	struct tm m;
	char buf[4096], line[256];
	uint64_t pos = 0;
	size_t n;

	(void)state;
	tm_init(&m, NULL);
	assert_int_equal(c_mmap(&m, 0, 0x7fb3c64a6000ull, 4 * PG, RW,
				PRIV_ANON | FIXED, NULL, 0),
			 0x7fb3c64a6000ll);
	assert_int_equal(c_mmap(&m, 0, 0x7fb3c64ce000ull, 4 * PG, RW,
				SHARED_ANON | FIXED, NULL, 0),
			 0x7fb3c64ce000ll);
	assert_int_equal(c_mmap(&m, 0, 0x10000, PG, ASPACE_PROT_EXEC,
				PRIV_ANON | FIXED, NULL, 0),
			 0x10000);
	n = aspace_maps(&m.as[0], buf, sizeof(buf));
	assert_string_equal(
		buf,
		"00010000-00011000 --xp 00000000 00:00 0 \n"
		"7fb3c64a6000-7fb3c64aa000 rw-p 00000000 00:00 0 \n"
		/* The name at column 73: 24 spaces pad the 48 before it. */
		"7fb3c64ce000-7fb3c64d2000 rw-s 00000000 00:01 1 "
		"                        "
		" /dev/zero (deleted)\n");
	assert_int_equal(n, strlen(buf));
	/* Cut short, as snprintf. */
	assert_int_equal(aspace_maps(&m.as[0], buf, 10), n);
	assert_string_equal(buf, "00010000-");
	assert_int_equal(aspace_maps(&m.as[0], NULL, 0), n);
	/* Line by line. */
	assert_int_equal(aspace_maps_line(&m.as[0], &pos, line, sizeof(line)),
			 41);
	assert_int_equal(pos, 0x11000);
	assert_string_equal(line, "00010000-00011000 --xp 00000000 00:00 0 \n");
	assert_int_equal(aspace_maps_line(&m.as[0], &pos, line, sizeof(line)),
			 49);
	assert_int_equal(aspace_maps_line(&m.as[0], &pos, line, sizeof(line)),
			 93);
	assert_int_equal(pos, 0x7fb3c64d2000);
	assert_int_equal(aspace_maps_line(&m.as[0], &pos, line, sizeof(line)),
			 0);
	tm_done(&m);
}

/* MAP_POPULATE brings the pages in: writable private ones by a write. */
static void test_populate(void **state)
{
	struct aspace_sim_stats st;
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 4, RW, PRIV_ANON | ASPACE_MAP_POPULATE);
	aspace_sim_stats(m.sim, &st);
	assert_int_equal(st.entries, 4);
	assert_true(faulted(&m, 0, A(0)));
	map_at(&m, 0, 10, 4, RO, PRIV_ANON | ASPACE_MAP_POPULATE);
	assert_false(faulted(&m, 0, A(10)));
	/* MAP_NONBLOCK turns it off; PROT_NONE has nothing to populate. */
	map_at(&m, 0, 20, 4, RW,
	       PRIV_ANON | ASPACE_MAP_POPULATE | ASPACE_MAP_NONBLOCK);
	map_at(&m, 0, 30, 4, ASPACE_PROT_NONE, PRIV_ANON | ASPACE_MAP_POPULATE);
	aspace_sim_stats(m.sim, &st);
	assert_int_equal(st.entries, 8);
	/* Out of frames: the mapping is made, the pages come later. */
	aspace_sim_fail_after(m.sim, ASPACE_SIM_FRAME, 1);
	map_at(&m, 0, 40, 4, RW, PRIV_ANON | ASPACE_MAP_POPULATE);
	aspace_sim_stats(m.sim, &st);
	assert_int_equal(st.entries, 9);
	assert_int_equal(peek(&m, 0, A(43)), 0);
	tm_done(&m);
}

/*
 * A locked private area that mprotect makes writable is populated with
 * write faults (Linux's mprotect_fixup()): its pages come, with its
 * identity, which keeps it accounted (and apart) once PROT_NONE again.
 */
static void test_mprotect_locked(void **state)
{
	struct aspace_sim_stats st;
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 4, ASPACE_PROT_NONE, PRIV_ANON | ASPACE_MAP_LOCKED);
	aspace_sim_stats(m.sim, &st);
	assert_int_equal(st.entries, 0);
	/* Made readable only: nothing comes. */
	assert_int_equal(c_mprotect(&m, 0, A(0), PG, RO), 0);
	assert_false(faulted(&m, 0, A(0)));
	assert_int_equal(c_mprotect(&m, 0, A(2), 2 * PG,
				    RW | ASPACE_PROT_EXEC),
			 0);
	assert_true(faulted(&m, 0, A(2)));
	aspace_sim_stats(m.sim, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(c_mprotect(&m, 0, A(0), 4 * PG, ASPACE_PROT_NONE), 0);
	expect_layout(&m, 0, "0-2 ---p, 2-4 ---p");
	/* Writable before, or not locked: nothing is populated. */
	map_at(&m, 0, 10, 2, RO, PRIV_ANON);
	assert_int_equal(c_mprotect(&m, 0, A(10), 2 * PG, RW), 0);
	assert_false(faulted(&m, 0, A(10)));
	aspace_sim_stats(m.sim, &st);
	assert_int_equal(st.entries, 2);
	tm_done(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_options),
		cmocka_unit_test(test_placement_top_down),
		cmocka_unit_test(test_placement_hint),
		cmocka_unit_test(test_placement_options),
		cmocka_unit_test(test_placement_bottom_up),
		cmocka_unit_test(test_mmap_errors),
		cmocka_unit_test(test_mmap_fixed_replace),
		cmocka_unit_test(test_merge_flags),
		cmocka_unit_test(test_munmap),
		cmocka_unit_test(test_mprotect),
		cmocka_unit_test(test_maps_lines),
		cmocka_unit_test(test_populate),
		cmocka_unit_test(test_mprotect_locked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
