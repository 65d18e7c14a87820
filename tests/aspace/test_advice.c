/*
 * madvise, mseal and area names: the errno of each bad argument, the areas
 * each advice splits and merges (as Linux 6.18's /proc/self/maps shows
 * them), what sealed areas refuse (the cases of Linux 6.12's mseal_test),
 * and PR_SET_VMA_ANON_NAME's names, which the machine kind the layer was
 * probed on lacks: those follow Linux's source.
 */
#include <stdio.h>
#include <string.h>

#include "support.h"

#define MADV(m, p, n, adv) c_madvise(m, 0, A(p), (uint64_t)(n) * PG, adv)

static void test_madvise_errors(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 4, RW, PRIV_ANON);
	map_at(&m, 0, 6, 2, RW, PRIV_ANON);
	assert_int_equal(c_madvise(&m, 0, A(0) + 1, PG, ASPACE_MADV_DONTNEED),
			 -ASPACE_EINVAL);
	assert_int_equal(MADV(&m, 0, 0, ASPACE_MADV_DONTNEED), 0);
	assert_int_equal(MADV(&m, 0, 0, 1234), -ASPACE_EINVAL);
	assert_int_equal(MADV(&m, 0, 1, 1234), -ASPACE_EINVAL);
	assert_int_equal(MADV(&m, 0, 1, 5), -ASPACE_EINVAL);
	assert_int_equal(MADV(&m, 0, 1, 100), -ASPACE_EINVAL);
	assert_int_equal(c_madvise(&m, 0, A(0), UINT64_MAX, ASPACE_MADV_DONTNEED),
			 -ASPACE_EINVAL);
	assert_int_equal(c_madvise(&m, 0, UINT64_MAX - PG + 1, 2 * PG,
				   ASPACE_MADV_DONTNEED),
			 -ASPACE_EINVAL);
	/* Holes: ENOMEM, and nothing changes (Linux advises the rest). */
	assert_int_equal(MADV(&m, 0, 8, ASPACE_MADV_DONTFORK), -ASPACE_ENOMEM);
	assert_int_equal(MADV(&m, 4, 2, ASPACE_MADV_DONTNEED), -ASPACE_ENOMEM);
	assert_int_equal(MADV(&m, 20, 1, ASPACE_MADV_NORMAL), -ASPACE_ENOMEM);
	assert_int_equal(c_madvise(&m, 0, 0x7ffffffff000ull, PG,
				   ASPACE_MADV_DONTNEED),
			 -ASPACE_ENOMEM);
	expect_layout(&m, 0, "0-4 rw-p, 6-8 rw-p");
	/* Only private anonymous memory can be freed or wiped. */
	map_at(&m, 0, 10, 2, RW, SHARED_ANON);
	assert_int_equal(MADV(&m, 10, 2, ASPACE_MADV_FREE), -ASPACE_EINVAL);
	assert_int_equal(MADV(&m, 10, 2, ASPACE_MADV_WIPEONFORK), -ASPACE_EINVAL);
	assert_int_equal(MADV(&m, 10, 2, ASPACE_MADV_KEEPONFORK), 0);
	assert_int_equal(MADV(&m, 10, 2, ASPACE_MADV_DONTNEED), 0);
	/* The first area that refuses decides, a hole before it or not. */
	assert_int_equal(MADV(&m, 9, 3, ASPACE_MADV_WIPEONFORK), -ASPACE_EINVAL);
	assert_int_equal(MADV(&m, 6, 6, ASPACE_MADV_WIPEONFORK), -ASPACE_EINVAL);
	expect_layout(&m, 0, "0-4 rw-p, 6-8 rw-p, 10-12 rw-s @0");
	/* Locked memory cannot be dropped, nor freed. */
	map_at(&m, 0, 14, 2, RW, PRIV_ANON | ASPACE_MAP_LOCKED);
	assert_int_equal(MADV(&m, 14, 2, ASPACE_MADV_DONTNEED), -ASPACE_EINVAL);
	assert_int_equal(MADV(&m, 14, 2, ASPACE_MADV_FREE), -ASPACE_EINVAL);
	/* Droppable memory stays wiped on fork. */
	map_at(&m, 0, 18, 2, RW, ASPACE_MAP_DROPPABLE | ASPACE_MAP_ANONYMOUS);
	assert_int_equal(MADV(&m, 18, 2, ASPACE_MADV_KEEPONFORK), -ASPACE_EINVAL);
	assert_int_equal(MADV(&m, 18, 2, ASPACE_MADV_FREE), 0);
	tm_done(&m);
}

static void test_madvise_effects(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 8, RW, PRIV_ANON);
	poke(&m, 0, A(1), 'a');
	poke(&m, 0, A(2), 'b');
	/* DONTNEED: private pages read zero again. FREE and WILLNEED keep. */
	assert_int_equal(MADV(&m, 2, 1, ASPACE_MADV_FREE), 0);
	assert_int_equal(MADV(&m, 2, 1, ASPACE_MADV_WILLNEED), 0);
	assert_int_equal(peek(&m, 0, A(2)), 'b');
	assert_int_equal(MADV(&m, 1, 1, ASPACE_MADV_DONTNEED), 0);
	assert_int_equal(peek(&m, 0, A(1)), 0);
	assert_int_equal(peek(&m, 0, A(2)), 'b');
	expect_layout(&m, 0, "0-8 rw-p");
	/* RANDOM and SEQUENTIAL are flags: they split; NORMAL merges back. */
	assert_int_equal(MADV(&m, 2, 2, ASPACE_MADV_RANDOM), 0);
	expect_layout(&m, 0, "0-2 rw-p, 2-4 rw-p, 4-8 rw-p");
	assert_int_equal(MADV(&m, 2, 2, ASPACE_MADV_SEQUENTIAL), 0);
	expect_layout(&m, 0, "0-2 rw-p, 2-4 rw-p, 4-8 rw-p");
	assert_int_equal(MADV(&m, 2, 2, ASPACE_MADV_NORMAL), 0);
	expect_layout(&m, 0, "0-8 rw-p");
	assert_int_equal(MADV(&m, 2, 2, ASPACE_MADV_DONTFORK), 0);
	expect_layout(&m, 0, "0-2 rw-p, 2-4 rw-p, 4-8 rw-p");
	assert_int_equal(MADV(&m, 2, 2, ASPACE_MADV_DOFORK), 0);
	expect_layout(&m, 0, "0-8 rw-p");
	assert_int_equal(MADV(&m, 2, 2, ASPACE_MADV_WIPEONFORK), 0);
	assert_int_equal(MADV(&m, 3, 2, ASPACE_MADV_KEEPONFORK), 0);
	expect_layout(&m, 0, "0-2 rw-p, 2-3 rw-p, 3-8 rw-p");
	tm_done(&m);
}

/* mseal's argument checks (mseal_test: invalid_input, zero_length...). */
static void test_mseal_errors(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 4, RW, PRIV_ANON);
	assert_int_equal(aspace_mseal(&m.as[0], A(0), PG, 1), -ASPACE_EINVAL);
	assert_int_equal(c_mseal(&m, 0, A(0) + 1, PG), -ASPACE_EINVAL);
	assert_int_equal(c_mseal(&m, 0, A(0), 0), 0);
	assert_int_equal(c_mseal(&m, 0, A(0), UINT64_MAX - PG + 1),
			 -ASPACE_EINVAL);
	assert_int_equal(c_mseal(&m, 0, A(0), UINT64_MAX), -ASPACE_EINVAL);
	assert_int_equal(c_mseal(&m, 0, A(20), PG), -ASPACE_ENOMEM);
	assert_int_equal(c_mseal(&m, 0, A(2), 4 * PG), -ASPACE_ENOMEM);
	assert_int_equal(c_mseal(&m, 0, 0x800000000000ull, PG), -ASPACE_ENOMEM);
	/* A length rounds up to a page; sealing twice is fine. */
	assert_int_equal(c_mseal(&m, 0, A(0), 1), 0);
	assert_int_equal(c_mseal(&m, 0, A(0), PG), 0);
	expect_layout(&m, 0, "0-1 rw-p, 1-4 rw-p");
	tm_done(&m);
}

/* What a sealed area refuses, with EPERM, changing nothing. */
static void test_mseal_refuses(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 8, RW, PRIV_ANON);
	poke(&m, 0, A(2), 's');
	assert_int_equal(c_mseal(&m, 0, A(2), 2 * PG), 0);
	expect_layout(&m, 0, "0-2 rw-p, 2-4 rw-p, 4-8 rw-p");
	assert_int_equal(c_munmap(&m, 0, A(3), PG), -ASPACE_EPERM);
	assert_int_equal(c_munmap(&m, 0, A(0), 8 * PG), -ASPACE_EPERM);
	assert_int_equal(c_mprotect(&m, 0, A(2), PG, RO), -ASPACE_EPERM);
	assert_int_equal(c_mprotect(&m, 0, A(2), PG, RW), -ASPACE_EPERM);
	assert_int_equal(c_mprotect(&m, 0, A(0), 8 * PG, RO), -ASPACE_EPERM);
	/* mremap: moves, resizes, even a no-op of the same size. */
	assert_int_equal(c_mremap(&m, 0, A(2), 2 * PG, 2 * PG,
				  ASPACE_MREMAP_MAYMOVE | ASPACE_MREMAP_FIXED,
				  A(20)),
			 -ASPACE_EPERM);
	assert_int_equal(c_mremap(&m, 0, A(2), 2 * PG, PG, 0, 0),
			 -ASPACE_EPERM);
	assert_int_equal(c_mremap(&m, 0, A(2), 2 * PG, 4 * PG,
				  ASPACE_MREMAP_MAYMOVE, 0),
			 -ASPACE_EPERM);
	assert_int_equal(c_mremap(&m, 0, A(2), 2 * PG, 2 * PG, 0, 0),
			 -ASPACE_EPERM);
	/* Onto a sealed area, or shrinking over one. */
	assert_int_equal(c_mremap(&m, 0, A(0), 2 * PG, 2 * PG,
				  ASPACE_MREMAP_MAYMOVE | ASPACE_MREMAP_FIXED,
				  A(2)),
			 -ASPACE_EPERM);
	assert_int_equal(c_mremap(&m, 0, A(0), 4 * PG, PG, 0, 0),
			 -ASPACE_EPERM);
	assert_int_equal(c_mremap(&m, 0, A(0), 2 * PG, 2 * PG,
				  ASPACE_MREMAP_MAYMOVE | ASPACE_MREMAP_FIXED |
					  ASPACE_MREMAP_DONTUNMAP,
				  A(3)),
			 -ASPACE_EPERM); /* the target holds a sealed page */
	/* MAP_FIXED over it; a hint is placed elsewhere. */
	assert_int_equal(c_mmap(&m, 0, A(3), PG, RW, PRIV_ANON | FIXED, NULL, 0),
			 -ASPACE_EPERM);
	assert_true(c_mmap(&m, 0, A(3), PG, RW, PRIV_ANON, NULL, 0) >
		    (int64_t)A(1000));
	/* Advice that changes no page is fine; DONTNEED on writable memory too. */
	assert_int_equal(MADV(&m, 2, 2, ASPACE_MADV_RANDOM), 0);
	assert_int_equal(MADV(&m, 2, 2, ASPACE_MADV_DONTFORK), 0);
	assert_int_equal(MADV(&m, 2, 2, ASPACE_MADV_DONTNEED), 0);
	assert_int_equal(peek(&m, 0, A(2)), 0);
	tm_done(&m);
}

/* Discarding advice is refused on sealed read-only private anonymous
 * memory only (mseal_test: discard_ro_anon*). */
static void test_mseal_discard(void **state)
{
	static const int discard[] = { ASPACE_MADV_DONTNEED, ASPACE_MADV_FREE,
				       ASPACE_MADV_DONTFORK,
				       ASPACE_MADV_WIPEONFORK };
	struct aspace_object *o;
	struct tm m;
	size_t i;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 4, RO, PRIV_ANON);
	map_at(&m, 0, 10, 4, RO, SHARED_ANON);
	assert_int_equal(aspace_memfd_create(&m.as[0], "f", 0, &o), 0);
	tm_hold(&m, o);
	assert_int_equal(aspace_object_truncate(o, 4 * PG), 0);
	assert_int_equal(c_mmap(&m, 0, A(20), 4 * PG, RO,
				ASPACE_MAP_PRIVATE | FIXED, o, 0),
			 (int64_t)A(20));
	assert_int_equal(c_mseal(&m, 0, A(0), 4 * PG), 0);
	assert_int_equal(c_mseal(&m, 0, A(10), 4 * PG), 0);
	assert_int_equal(c_mseal(&m, 0, A(20), 4 * PG), 0);
	for (i = 0; i < sizeof(discard) / sizeof(discard[0]); i++)
		assert_int_equal(MADV(&m, 0, 4, discard[i]), -ASPACE_EPERM);
	assert_int_equal(MADV(&m, 0, 4, ASPACE_MADV_WILLNEED), 0);
	assert_int_equal(MADV(&m, 0, 4, ASPACE_MADV_RANDOM), 0);
	assert_int_equal(MADV(&m, 10, 4, ASPACE_MADV_DONTNEED), 0);
	assert_int_equal(MADV(&m, 20, 4, ASPACE_MADV_DONTNEED), 0);
	/* A writable area then a sealed read-only one: EPERM, and the first
	 * keeps its pages (Linux zeroes them first). */
	map_at(&m, 0, 30, 1, RW, PRIV_ANON);
	poke(&m, 0, A(30), 'w');
	map_at(&m, 0, 31, 1, RO, PRIV_ANON);
	assert_int_equal(c_mseal(&m, 0, A(31), PG), 0);
	assert_int_equal(MADV(&m, 30, 2, ASPACE_MADV_DONTNEED), -ASPACE_EPERM);
	assert_int_equal(peek(&m, 0, A(30)), 'w');
	/* The seal follows mprotect's rights: rw sealed, then nothing. */
	tm_done(&m);
}

/* mseal_test's merge_and_split: seals split, equal seals merge. */
static void test_mseal_merge_split(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 24, RO, PRIV_ANON);
	assert_int_equal(c_mprotect(&m, 0, A(0), PG, ASPACE_PROT_NONE), 0);
	assert_int_equal(c_mprotect(&m, 0, A(23), PG, ASPACE_PROT_NONE), 0);
	assert_int_equal(c_mseal(&m, 0, A(1), PG), 0);
	assert_int_equal(c_mseal(&m, 0, A(22), PG), 0);
	expect_layout(&m, 0, "0-1 ---p, 1-2 r--p, 2-22 r--p, 22-23 r--p, "
			     "23-24 ---p");
	assert_int_equal(c_mseal(&m, 0, A(2), PG), 0);
	assert_int_equal(c_mseal(&m, 0, A(21), PG), 0);
	assert_int_equal(c_mseal(&m, 0, A(2), 2 * PG), 0);
	assert_int_equal(c_mseal(&m, 0, A(20), 2 * PG), 0);
	expect_layout(&m, 0, "0-1 ---p, 1-4 r--p, 4-20 r--p, 20-23 r--p, "
			     "23-24 ---p");
	assert_int_equal(c_munmap(&m, 0, A(1), PG), -ASPACE_EPERM);
	assert_int_equal(c_mprotect(&m, 0, A(2), PG, ASPACE_PROT_NONE),
			 -ASPACE_EPERM);
	assert_int_equal(c_mseal(&m, 0, A(2), 20 * PG), 0);
	expect_layout(&m, 0, "0-1 ---p, 1-23 r--p, 23-24 ---p");
	tm_done(&m);
}

static void test_names(void **state)
{
	struct aspace_options o;
	struct aspace_object *mf;
	char name[100], layout[512];
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	tm_options(&m, &o);
	aspace_destroy(&m.as[0]);
	o.start_brk = A(50);
	assert_int_equal(aspace_init(&m.as[0], &o), 0);
	map_at(&m, 0, 0, 8, RW, PRIV_ANON);
	assert_int_equal(c_name(&m, 0, A(2), 2 * PG, "buf"), 0);
	expect_layout(&m, 0, "0-2 rw-p, 2-4 rw-p [anon:buf], 4-8 rw-p");
	/* Equal names merge; NULL clears. */
	assert_int_equal(c_name(&m, 0, A(4), PG, "buf"), 0);
	expect_layout(&m, 0, "0-2 rw-p, 2-5 rw-p [anon:buf], 5-8 rw-p");
	assert_int_equal(c_name(&m, 0, A(2), 3 * PG, NULL), 0);
	expect_layout(&m, 0, "0-8 rw-p");
	assert_int_equal(c_name(&m, 0, A(0), PG, ""), 0);
	expect_layout(&m, 0, "0-1 rw-p [anon:], 1-8 rw-p");
	/* The argument checks. */
	assert_int_equal(c_name(&m, 0, A(0) + 1, PG, "x"), -ASPACE_EINVAL);
	assert_int_equal(c_name(&m, 0, A(0), UINT64_MAX, "x"), -ASPACE_EINVAL);
	assert_int_equal(c_name(&m, 0, A(0), 0, "x"), 0);
	assert_int_equal(c_name(&m, 0, A(0), PG, "a[b"), -ASPACE_EINVAL);
	assert_int_equal(c_name(&m, 0, A(0), PG, "a$"), -ASPACE_EINVAL);
	assert_int_equal(c_name(&m, 0, A(0), PG, "tab\there"), -ASPACE_EINVAL);
	memset(name, 'n', sizeof(name));
	name[80] = '\0';
	assert_int_equal(c_name(&m, 0, A(0), PG, name), -ASPACE_EINVAL);
	name[79] = '\0';
	assert_int_equal(c_name(&m, 0, A(0), PG, name), 0);
	/* A hole: ENOMEM, and nothing named (Linux names the rest). */
	assert_int_equal(c_name(&m, 0, A(6), 4 * PG, "x"), -ASPACE_ENOMEM);
	/* Shared anonymous memory is named [anon_shmem:...]; a memfd's
	 * mapping cannot be named. */
	map_at(&m, 0, 20, 2, RW, SHARED_ANON);
	assert_int_equal(c_name(&m, 0, A(20), 2 * PG, "shm"), 0);
	assert_int_equal(aspace_memfd_create(&m.as[0], "f", 0, &mf), 0);
	tm_hold(&m, mf);
	assert_int_equal(aspace_object_truncate(mf, PG), 0);
	assert_int_equal(c_mmap(&m, 0, A(30), PG, RW,
				ASPACE_MAP_SHARED | FIXED, mf, 0),
			 (int64_t)A(30));
	assert_int_equal(c_name(&m, 0, A(30), PG, "x"), -ASPACE_EBADF);
	assert_int_equal(c_name(&m, 0, A(29), 2 * PG, "x"), -ASPACE_EBADF);
	/* The heap's name comes first. */
	assert_int_equal(c_brk(&m, 0, A(52)), A(52));
	assert_int_equal(c_name(&m, 0, A(50), PG, "h"), 0);
	snprintf(layout, sizeof(layout),
		 "0-1 rw-p [anon:%s], 1-8 rw-p, 20-22 rw-s @0, 30-31 rw-s @0, "
		 "50-51 rw-p [heap], 51-52 rw-p [heap]",
		 name);
	expect_layout(&m, 0, layout);
	/* Names go with fork. */
	tm_fork(&m, 0, 1);
	assert_int_equal(c_name(&m, 1, A(1), PG, "buf"), 0);
	assert_int_equal(c_name(&m, 1, A(2), PG, "buf"), 0);
	snprintf(layout, sizeof(layout),
		 "0-1 rw-p [anon:%s], 1-3 rw-p [anon:buf], 3-8 rw-p, "
		 "20-22 rw-s @0, 30-31 rw-s @0, 50-51 rw-p [heap], "
		 "51-52 rw-p [heap]",
		 name);
	expect_layout(&m, 1, layout);
	tm_done(&m);
}

/* The name of a shared anonymous mapping in its maps line. */
static void test_names_lines(void **state)
{
	char line[256];
	uint64_t pos = 0;
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 1, RW, SHARED_ANON);
	map_at(&m, 0, 2, 1, RW, PRIV_ANON);
	assert_int_equal(c_name(&m, 0, A(0), 3 * PG, NULL), -ASPACE_ENOMEM);
	assert_int_equal(c_name(&m, 0, A(0), PG, "shm"), 0);
	assert_int_equal(c_name(&m, 0, A(2), PG, "priv"), 0);
	/* Linux pads the name to its 74th column (seq_pad() at 72, then a
	 * space): the column the other lines' tests check too. */
	aspace_maps_line(&m.as[0], &pos, line, sizeof(line));
	assert_int_equal(strncmp(line, "10000000-10001000 rw-s 00000000 00:01 1 ",
				 40),
			 0);
	assert_int_equal(strspn(line + 40, " "), 33);
	assert_string_equal(line + 73, "[anon_shmem:shm]\n");
	aspace_maps_line(&m.as[0], &pos, line, sizeof(line));
	assert_int_equal(strncmp(line, "10002000-10003000 rw-p 00000000 00:00 0 ",
				 40),
			 0);
	assert_int_equal(strspn(line + 40, " "), 33);
	assert_string_equal(line + 73, "[anon:priv]\n");
	tm_done(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_madvise_errors),
		cmocka_unit_test(test_madvise_effects),
		cmocka_unit_test(test_mseal_errors),
		cmocka_unit_test(test_mseal_refuses),
		cmocka_unit_test(test_mseal_discard),
		cmocka_unit_test(test_mseal_merge_split),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_names_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
