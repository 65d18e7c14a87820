/*
 * mremap and brk, with the results Linux 6.18 gives: argument errors,
 * shrinking over anything, growing in place or moving, MREMAP_FIXED over
 * several areas with their gaps, MREMAP_DONTUNMAP, the page offsets of
 * faulted and unfaulted memory after a move, and brk's rules.
 */
#include <string.h>

#include "support.h"

#define MAYMOVE ASPACE_MREMAP_MAYMOVE
#define MFIXED ASPACE_MREMAP_FIXED
#define DONTUNMAP ASPACE_MREMAP_DONTUNMAP

static int64_t remap(struct tm *m, int p, int old_pages, int new_pages,
		     unsigned long flags, int np)
{
	return c_mremap(m, 0, A(p), (uint64_t)old_pages * PG,
			(uint64_t)new_pages * PG, flags, A(np));
}

static void test_remap_errors(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 4, RW, PRIV_ANON);
	assert_int_equal(remap(&m, 0, 4, 4, 8, 0), -ASPACE_EINVAL);
	assert_int_equal(remap(&m, 0, 4, 4, MFIXED, 10), -ASPACE_EINVAL);
	assert_int_equal(remap(&m, 0, 4, 4, DONTUNMAP, 10), -ASPACE_EINVAL);
	assert_int_equal(remap(&m, 0, 4, 8, DONTUNMAP | MAYMOVE, 10),
			 -ASPACE_EINVAL);
	assert_int_equal(c_mremap(&m, 0, A(0) + 1, PG, PG, 0, 0),
			 -ASPACE_EINVAL);
	assert_int_equal(c_mremap(&m, 0, A(0), PG, 0, 0, 0), -ASPACE_EINVAL);
	/* old_len 0 duplicates shared mappings only. */
	assert_int_equal(c_mremap(&m, 0, A(0), 0, PG, 0, 0), -ASPACE_EINVAL);
	assert_int_equal(c_mremap(&m, 0, A(0), 0, PG, MAYMOVE, 0),
			 -ASPACE_EINVAL);
	/* Nothing mapped at the address. */
	assert_int_equal(remap(&m, 20, 1, 1, 0, 0), -ASPACE_EFAULT);
	assert_int_equal(remap(&m, 20, 1, 2, MAYMOVE, 0), -ASPACE_EFAULT);
	/* Overlapping or misaligned targets, past task_size. */
	assert_int_equal(remap(&m, 0, 4, 4, MAYMOVE | MFIXED, 2),
			 -ASPACE_EINVAL);
	assert_int_equal(c_mremap(&m, 0, A(0), 4 * PG, 4 * PG, MAYMOVE | MFIXED,
				  A(10) + 1),
			 -ASPACE_EINVAL);
	assert_int_equal(c_mremap(&m, 0, A(0), 4 * PG, 4 * PG, MAYMOVE | MFIXED,
				  0x7ffffffff000ull),
			 -ASPACE_EINVAL);
	assert_int_equal(c_mremap(&m, 0, A(0), 4 * PG, UINT64_MAX - PG + 1,
				  MAYMOVE, 0),
			 -ASPACE_EINVAL);
	assert_int_equal(c_mremap(&m, 0, A(0), 4 * PG, 1ull << 47, MAYMOVE, 0),
			 -ASPACE_EINVAL);
	/* A huge old_len shrinks over the end of user space: munmap's EINVAL. */
	assert_int_equal(c_mremap(&m, 0, A(0), UINT64_MAX - PG + 1, PG, 0, 0),
			 -ASPACE_EINVAL);
	/* Growing past the area's end into a hole. */
	assert_int_equal(remap(&m, 0, 6, 8, MAYMOVE, 0), -ASPACE_EFAULT);
	/* The same size does nothing, whatever the range holds. */
	assert_int_equal(remap(&m, 0, 6, 6, MAYMOVE, 0), (int64_t)A(0));
	expect_layout(&m, 0, "0-4 rw-p");
	tm_done(&m);
}

/* Shrinking unmaps the tail, holes and other areas included. */
static void test_shrink(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 4, RW, PRIV_ANON);
	map_at(&m, 0, 4, 2, RO, PRIV_ANON);
	map_at(&m, 0, 8, 2, RW, PRIV_ANON);
	assert_int_equal(remap(&m, 0, 12, 2, 0, 0), (int64_t)A(0));
	expect_layout(&m, 0, "0-2 rw-p");
	tm_done(&m);
}

static void test_grow(void **state)
{
	struct tm m;
	int64_t r;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 4, RW, PRIV_ANON);
	map_at(&m, 0, 6, 2, RO, PRIV_ANON);
	poke(&m, 0, A(3), 'z');
	assert_int_equal(remap(&m, 0, 4, 6, 0, 0), (int64_t)A(0));
	/* No room: ENOMEM without MREMAP_MAYMOVE, not from inside the area. */
	assert_int_equal(remap(&m, 0, 6, 7, 0, 0), -ASPACE_ENOMEM);
	assert_int_equal(remap(&m, 0, 2, 3, 0, 0), -ASPACE_ENOMEM);
	expect_layout(&m, 0, "0-6 rw-p, 6-8 r--p");
	/* Moved, with its bytes. */
	r = remap(&m, 0, 6, 7, MAYMOVE, 0);
	assert_true(r > (int64_t)A(1 << 20));
	assert_int_equal(peek(&m, 0, (uint64_t)r + 3 * PG), 'z');
	expect_layout(&m, 0, "6-8 r--p");
	/* Growing in place merges with the area after, as Linux. */
	map_at(&m, 0, 10, 2, RW, PRIV_ANON);
	map_at(&m, 0, 14, 2, RW, PRIV_ANON);
	assert_int_equal(remap(&m, 10, 2, 4, 0, 0), (int64_t)A(10));
	expect_layout(&m, 0, "6-8 r--p, 10-16 rw-p");
	/* Not when both are faulted. */
	map_at(&m, 0, 20, 2, RW, PRIV_ANON);
	poke(&m, 0, A(20), 1);
	map_at(&m, 0, 24, 2, RW, PRIV_ANON);
	poke(&m, 0, A(24), 1);
	assert_int_equal(remap(&m, 20, 2, 4, 0, 0), (int64_t)A(20));
	expect_layout(&m, 0, "6-8 r--p, 10-16 rw-p, 20-24 rw-p, 24-26 rw-p");
	tm_done(&m);
}

/*
 * After a move, faulted memory keeps its page offset (it no longer merges
 * with fresh neighbours, only back at its old place); unfaulted memory
 * takes the offset of its new place (copy_vma()) and merges there.
 */
static void test_move_offsets(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 2, RW, PRIV_ANON);
	poke(&m, 0, A(0), 1);
	assert_int_equal(remap(&m, 0, 2, 2, MAYMOVE | MFIXED, 10),
			 (int64_t)A(10));
	map_at(&m, 0, 12, 2, RW, PRIV_ANON);
	map_at(&m, 0, 8, 2, RW, PRIV_ANON);
	expect_layout(&m, 0, "8-10 rw-p, 10-12 rw-p, 12-14 rw-p");
	assert_int_equal(remap(&m, 10, 2, 2, MAYMOVE | MFIXED, 0),
			 (int64_t)A(0));
	map_at(&m, 0, 2, 2, RW, PRIV_ANON);
	expect_layout(&m, 0, "0-4 rw-p, 8-10 rw-p, 12-14 rw-p");
	/* Read faults give no identity: the moved area merges. */
	map_at(&m, 0, 20, 2, RW, PRIV_ANON);
	assert_int_equal(peek(&m, 0, A(21)), 0);
	assert_int_equal(remap(&m, 20, 2, 2, MAYMOVE | MFIXED, 10),
			 (int64_t)A(10));
	expect_layout(&m, 0, "0-4 rw-p, 8-14 rw-p");
	/* Part of an unfaulted area moved right after itself joins it again. */
	map_at(&m, 0, 30, 4, RW, PRIV_ANON);
	assert_int_equal(remap(&m, 30, 1, 1, MAYMOVE | MFIXED, 34),
			 (int64_t)A(34));
	expect_layout(&m, 0, "0-4 rw-p, 8-14 rw-p, 31-35 rw-p");
	tm_done(&m);
}

/* MREMAP_FIXED without a resize moves every area of the range (6.17+). */
static void test_move_several(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 2, RW, PRIV_ANON);
	map_at(&m, 0, 2, 2, RO, PRIV_ANON);
	map_at(&m, 0, 4, 2, RW, PRIV_ANON);
	poke(&m, 0, A(0), 'a');
	poke(&m, 0, A(5), 'b');
	assert_int_equal(remap(&m, 0, 6, 6, MAYMOVE | MFIXED, 20),
			 (int64_t)A(20));
	expect_layout(&m, 0, "20-22 rw-p, 22-24 r--p, 24-26 rw-p");
	assert_int_equal(peek(&m, 0, A(20)), 'a');
	assert_int_equal(peek(&m, 0, A(25)), 'b');
	/* Resizing a range over several areas is EFAULT. */
	assert_int_equal(remap(&m, 20, 6, 8, MAYMOVE | MFIXED, 40),
			 -ASPACE_EFAULT);
	assert_int_equal(remap(&m, 20, 6, 4, MAYMOVE | MFIXED, 40),
			 -ASPACE_EFAULT);
	/* Without MREMAP_FIXED the same size is a no-op. */
	assert_int_equal(remap(&m, 20, 6, 6, MAYMOVE, 0), (int64_t)A(20));
	/* Parts of areas at both ends. */
	assert_int_equal(remap(&m, 21, 4, 4, MAYMOVE | MFIXED, 40),
			 (int64_t)A(40));
	expect_layout(
		&m, 0,
		"20-21 rw-p, 25-26 rw-p, 40-41 rw-p, 41-43 r--p, 43-44 rw-p");
	/* Gaps are kept; only each area's own target is unmapped. */
	map_at(&m, 0, 50, 2, RW, PRIV_ANON);
	map_at(&m, 0, 53, 2, RW, PRIV_ANON);
	map_at(&m, 0, 60, 5, RO, PRIV_ANON);
	assert_int_equal(remap(&m, 50, 5, 5, MAYMOVE | MFIXED, 60),
			 (int64_t)A(60));
	expect_layout(&m, 0,
		      "20-21 rw-p, 25-26 rw-p, 40-41 rw-p, 41-43 r--p, "
		      "43-44 rw-p, 60-62 rw-p, 62-63 r--p, 63-65 rw-p");
	/* The range must start in an area. */
	assert_int_equal(remap(&m, 19, 3, 3, MAYMOVE | MFIXED, 70),
			 -ASPACE_EFAULT);
	assert_int_equal(remap(&m, 30, 3, 3, MAYMOVE | MFIXED, 70),
			 -ASPACE_EFAULT);
	tm_done(&m);
}

static void test_dontunmap(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 4, RW, PRIV_ANON);
	poke(&m, 0, A(1), 'x');
	/* Without MREMAP_FIXED the new address is a hint. */
	assert_int_equal(remap(&m, 0, 4, 4, MAYMOVE | DONTUNMAP, 10),
			 (int64_t)A(10));
	expect_layout(&m, 0, "0-4 rw-p, 10-14 rw-p");
	assert_int_equal(peek(&m, 0, A(11)), 'x');
	/* The old range stays, empty, and without an identity when it moved
	 * whole: it merges with a fresh neighbour. */
	assert_int_equal(peek(&m, 0, A(1)), 0);
	assert_false(faulted(&m, 0, A(0)));
	map_at(&m, 0, 4, 2, RW, PRIV_ANON);
	expect_layout(&m, 0, "0-6 rw-p, 10-14 rw-p");
	/* Moved in part: both keep the identity, and join if they meet. */
	map_at(&m, 0, 20, 4, RW, PRIV_ANON);
	poke(&m, 0, A(20), 'a');
	poke(&m, 0, A(22), 'c');
	assert_int_equal(remap(&m, 20, 2, 2, MAYMOVE | DONTUNMAP | MFIXED, 30),
			 (int64_t)A(30));
	assert_true(faulted(&m, 0, A(20)));
	assert_int_equal(remap(&m, 30, 2, 2, MAYMOVE | MFIXED, 40),
			 (int64_t)A(40));
	assert_int_equal(remap(&m, 22, 2, 2, MAYMOVE | MFIXED, 42),
			 (int64_t)A(42));
	expect_layout(&m, 0, "0-6 rw-p, 10-14 rw-p, 20-22 rw-p, 40-44 rw-p");
	assert_int_equal(peek(&m, 0, A(40)), 'a');
	assert_int_equal(peek(&m, 0, A(42)), 'c');
	assert_int_equal(peek(&m, 0, A(20)), 0);
	tm_done(&m);
}

/*
 * A fork child's area moved whole with MREMAP_DONTUNMAP loses its identity
 * and so becomes alike its fresh neighbour (its identity, a fork child's,
 * kept them apart): Linux merges nothing there until a call does.
 */
static void test_dontunmap_apart(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 4, 1, RW, PRIV_ANON);
	poke(&m, 0, A(4), 'x');
	tm_fork(&m, 0, 1);
	map_at(&m, 1, 0, 4, RW, PRIV_ANON);
	expect_layout(&m, 1, "0-4 rw-p, 4-5 rw-p");
	assert_int_equal(c_mremap(&m, 1, A(4), PG, PG, MAYMOVE | DONTUNMAP,
				  A(20)),
			 (int64_t)A(20));
	assert_false(faulted(&m, 1, A(4)));
	expect_layout(&m, 1, "0-4 rw-p, 4-5 rw-p, 20-21 rw-p");
	assert_int_equal(peek(&m, 1, A(20)), 'x');
	/* There and back: merged. */
	assert_int_equal(c_mprotect(&m, 1, A(4), PG, RO), 0);
	assert_int_equal(c_mprotect(&m, 1, A(4), PG, RW), 0);
	expect_layout(&m, 1, "0-5 rw-p, 20-21 rw-p");
	tm_done(&m);
}

/*
 * Grown in place, a fork child's faulted area merges with an unfaulted area
 * after it (Linux's vma_merge_extend() merges the growth as a new range,
 * which asks no fork rule of the identity it brings); an area mapped
 * between them, a new range without an identity, does not join it.
 */
static void test_grow_fork_child(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 2, RW, PRIV_ANON);
	poke(&m, 0, A(0), 'a');
	map_at(&m, 0, 10, 2, RW, PRIV_ANON);
	poke(&m, 0, A(10), 'b');
	tm_fork(&m, 0, 1);
	map_at(&m, 1, 4, 2, RW, PRIV_ANON);
	assert_int_equal(c_mremap(&m, 1, A(0), 2 * PG, 4 * PG, 0, 0),
			 (int64_t)A(0));
	expect_layout(&m, 1, "0-6 rw-p, 10-12 rw-p");
	assert_true(faulted(&m, 1, A(5)));
	assert_int_equal(peek(&m, 1, A(0)), 'a');
	map_at(&m, 1, 12, 2, RW, PRIV_ANON);
	expect_layout(&m, 1, "0-6 rw-p, 10-12 rw-p, 12-14 rw-p");
	tm_done(&m);
}

static void test_brk(void **state)
{
	struct aspace_options o;
	struct tm m;
	uint64_t b0 = A(100);

	(void)state;
	tm_init(&m, NULL);
	tm_options(&m, &o);
	aspace_destroy(&m.as[0]);
	o.start_brk = b0;
	assert_int_equal(aspace_init(&m.as[0], &o), 0);
	assert_int_equal(c_brk(&m, 0, 0), b0);
	assert_int_equal(c_brk(&m, 0, b0 - PG), b0);
	assert_int_equal(c_brk(&m, 0, b0 + 1), b0 + 1);
	expect_layout(&m, 0, "100-101 rw-p [heap]");
	assert_int_equal(c_brk(&m, 0, b0 + PG + 5), b0 + PG + 5);
	expect_layout(&m, 0, "100-102 rw-p [heap]");
	assert_int_equal(c_brk(&m, 0, b0 + 10), b0 + 10);
	expect_layout(&m, 0, "100-101 rw-p [heap]");
	assert_int_equal(c_brk(&m, 0, b0), b0);
	expect_layout(&m, 0, "");
	/* Growing needs one free page after the new break. */
	map_at(&m, 0, 108, 1, RW, PRIV_ANON);
	assert_int_equal(c_brk(&m, 0, b0 + 7 * PG), b0 + 7 * PG);
	assert_int_equal(c_brk(&m, 0, b0 + 7 * PG + 1), b0 + 7 * PG);
	assert_int_equal(c_brk(&m, 0, b0 + 6 * PG), b0 + 6 * PG);
	expect_layout(&m, 0, "100-106 rw-p [heap], 108-109 rw-p");
	/* A mapping touching the heap merges with it, and is named with it. */
	map_at(&m, 0, 106, 1, RW, PRIV_ANON);
	expect_layout(&m, 0, "100-107 rw-p [heap], 108-109 rw-p");
	/* Shrinking unmaps the range up to the old break, the heap's pages
	 * or another mapping's; the rest of the merged area stays. */
	assert_int_equal(c_brk(&m, 0, b0 + 2 * PG), b0 + 2 * PG);
	expect_layout(&m, 0, "100-102 rw-p [heap], 106-107 rw-p, 108-109 rw-p");
	map_at(&m, 0, 101, 1, RO, PRIV_ANON);
	expect_layout(&m, 0,
		      "100-101 rw-p [heap], 101-102 r--p [heap], "
		      "106-107 rw-p, 108-109 rw-p");
	assert_int_equal(c_brk(&m, 0, b0 + PG), b0 + PG);
	expect_layout(&m, 0, "100-101 rw-p [heap], 106-107 rw-p, 108-109 rw-p");
	/* Growing over another mapping fails. */
	map_at(&m, 0, 103, 1, RO, PRIV_ANON);
	assert_int_equal(c_brk(&m, 0, b0 + 5 * PG), b0 + PG);
	/* Shrinking where nothing is mapped fails too (Linux: no vma). */
	assert_int_equal(c_munmap(&m, 0, b0, PG), 0);
	assert_int_equal(c_brk(&m, 0, b0), b0 + PG);
	assert_int_equal(c_brk(&m, 0, b0 + PG - 1), b0 + PG - 1);
	/* Sealed heap memory stays. */
	assert_int_equal(c_brk(&m, 0, b0 + 2 * PG), b0 + 2 * PG);
	assert_int_equal(c_mseal(&m, 0, b0 + PG, PG), 0);
	assert_int_equal(c_brk(&m, 0, b0), b0 + 2 * PG);
	/* Past task_size. */
	assert_int_equal(c_brk(&m, 0, UINT64_MAX), b0 + 2 * PG);
	tm_done(&m);
}

/* aspace_set_brk() (exec) and the stack's name. */
static void test_brk_stack_names(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	aspace_set_brk(&m.as[0], A(50) + 10);
	assert_int_equal(c_brk(&m, 0, 0), A(51));
	assert_int_equal(c_brk(&m, 0, A(53)), A(53));
	map_at(&m, 0, 80, 4, RW, PRIV_ANON);
	aspace_set_stack(&m.as[0], A(83) + 100);
	expect_layout(&m, 0, "51-53 rw-p [heap], 80-84 rw-p [stack]");
	tm_done(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remap_errors),
		cmocka_unit_test(test_shrink),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_move_offsets),
		cmocka_unit_test(test_move_several),
		cmocka_unit_test(test_dontunmap),
		cmocka_unit_test(test_dontunmap_apart),
		cmocka_unit_test(test_grow_fork_child),
		cmocka_unit_test(test_brk),
		cmocka_unit_test(test_brk_stack_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
