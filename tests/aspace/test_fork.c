/*
 * fork: private memory copy-on-write on both sides, shared memory shared,
 * MADV_DONTFORK and MADV_WIPEONFORK, the identities of a child's areas
 * (they never merge with unfaulted ones, as Linux's fork children), a
 * failure at every allocation leaving the parent as it was.
 */
#include <stdlib.h>
#include <string.h>

#include "support.h"

static void test_fork_private(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 4, RW, PRIV_ANON);
	map_at(&m, 0, 4, 2, RO, PRIV_ANON);
	poke(&m, 0, A(0), 'a');
	poke(&m, 0, A(3), 'd');
	tm_fork(&m, 0, 1);
	expect_layout(&m, 1, "0-4 rw-p, 4-6 r--p");
	assert_int_equal(peek(&m, 1, A(0)), 'a');
	/* Writes on either side are invisible to the other. */
	poke(&m, 1, A(0), 'b');
	poke(&m, 0, A(3), 'e');
	assert_int_equal(peek(&m, 0, A(0)), 'a');
	assert_int_equal(peek(&m, 1, A(0)), 'b');
	assert_int_equal(peek(&m, 0, A(3)), 'e');
	assert_int_equal(peek(&m, 1, A(3)), 'd');
	/* A page never touched before the fork is zero on both, apart. */
	poke(&m, 1, A(2), 'c');
	assert_int_equal(peek(&m, 0, A(2)), 0);
	/* Grandchild. */
	tm_fork(&m, 1, 2);
	poke(&m, 2, A(0), 'g');
	assert_int_equal(peek(&m, 1, A(0)), 'b');
	tm_exit(&m, 1);
	assert_int_equal(peek(&m, 2, A(0)), 'g');
	assert_int_equal(peek(&m, 2, A(2)), 'c');
	tm_done(&m);
}

static void test_fork_shared(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 2, RW, SHARED_ANON);
	poke(&m, 0, A(0), 's');
	tm_fork(&m, 0, 1);
	poke(&m, 1, A(0), 't');
	poke(&m, 1, A(1), 'u');
	assert_int_equal(peek(&m, 0, A(0)), 't');
	assert_int_equal(peek(&m, 0, A(1)), 'u');
	expect_layout(&m, 1, "0-2 rw-s @0");
	tm_done(&m);
}

static void test_fork_advice(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 6, RW, PRIV_ANON);
	poke(&m, 0, A(0), 'a');
	poke(&m, 0, A(2), 'b');
	poke(&m, 0, A(4), 'c');
	assert_int_equal(c_madvise(&m, 0, A(2), 2 * PG, ASPACE_MADV_DONTFORK),
			 0);
	assert_int_equal(c_madvise(&m, 0, A(4), 2 * PG, ASPACE_MADV_WIPEONFORK),
			 0);
	expect_layout(&m, 0, "0-2 rw-p, 2-4 rw-p, 4-6 rw-p");
	tm_fork(&m, 0, 1);
	expect_layout(&m, 1, "0-2 rw-p, 4-6 rw-p");
	assert_int_equal(peek(&m, 1, A(0)), 'a');
	assert_int_equal(peek(&m, 1, A(4)), 0);
	assert_int_equal(peek(&m, 0, A(4)), 'c');
	assert_int_equal(c_fault(&m, 1, A(2), ASPACE_ACCESS_READ),
			 ASPACE_FAULT_SEGV_MAPERR);
	/* The child's wiped area has no identity; it stays WIPEONFORK. */
	assert_false(faulted(&m, 1, A(4)));
	tm_fork(&m, 1, 2);
	assert_int_equal(peek(&m, 2, A(0)), 'a');
	/* Undone, the next fork copies them. */
	assert_int_equal(c_madvise(&m, 0, A(2), 4 * PG, ASPACE_MADV_DOFORK), 0);
	assert_int_equal(c_madvise(&m, 0, A(2), 4 * PG, ASPACE_MADV_KEEPONFORK),
			 0);
	expect_layout(&m, 0, "0-6 rw-p");
	tm_fork(&m, 0, 3);
	assert_int_equal(peek(&m, 3, A(2)), 'b');
	assert_int_equal(peek(&m, 3, A(4)), 'c');
	tm_done(&m);
}

/*
 * A fork child's faulted areas have identities of their own: an unfaulted
 * neighbour never joins them (Linux: an anon_vma chain longer than one).
 * In the parent it does.
 */
static void test_fork_identities(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 2, RW, PRIV_ANON);
	poke(&m, 0, A(0), 1);
	tm_fork(&m, 0, 1);
	map_at(&m, 1, 2, 2, RW, PRIV_ANON);
	expect_layout(&m, 1, "0-2 rw-p, 2-4 rw-p");
	map_at(&m, 1, 6, 2, RW, PRIV_ANON);
	map_at(&m, 1, 4, 2, RW, PRIV_ANON);
	expect_layout(&m, 1, "0-2 rw-p, 2-8 rw-p");
	/* Split and joined again: the same identity. */
	assert_int_equal(c_mprotect(&m, 1, A(1), PG, RO), 0);
	assert_int_equal(c_mprotect(&m, 1, A(1), PG, RW), 0);
	expect_layout(&m, 1, "0-2 rw-p, 2-8 rw-p");
	map_at(&m, 0, 2, 2, RW, PRIV_ANON);
	expect_layout(&m, 0, "0-4 rw-p");
	/* Two areas apart in the parent stay apart in the child. */
	map_at(&m, 0, 10, 2, RW, PRIV_ANON);
	poke(&m, 0, A(10), 1);
	map_at(&m, 0, 12, 2, RW | ASPACE_PROT_EXEC, PRIV_ANON);
	poke(&m, 0, A(12), 1);
	tm_fork(&m, 0, 2);
	assert_int_equal(c_mprotect(&m, 2, A(12), 2 * PG, RW), 0);
	expect_layout(&m, 2, "0-4 rw-p, 10-12 rw-p, 12-14 rw-p");
	assert_int_equal(c_mprotect(&m, 0, A(12), 2 * PG, RW), 0);
	expect_layout(&m, 0, "0-4 rw-p, 10-14 rw-p");
	tm_done(&m);
}

/*
 * Two wiped areas apart only by their identities stay apart in the child:
 * Linux's fork copies the areas one for one and merges nothing. A call
 * that merges there joins them.
 */
static void test_fork_wipe_apart(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 2, RW, PRIV_ANON);
	poke(&m, 0, A(0), 1);
	map_at(&m, 0, 6, 2, RW, PRIV_ANON);
	poke(&m, 0, A(6), 1);
	map_at(&m, 0, 2, 4, RW, PRIV_ANON);
	expect_layout(&m, 0, "0-6 rw-p, 6-8 rw-p");
	assert_int_equal(c_madvise(&m, 0, A(0), 8 * PG, ASPACE_MADV_WIPEONFORK),
			 0);
	expect_layout(&m, 0, "0-6 rw-p, 6-8 rw-p");
	tm_fork(&m, 0, 1);
	expect_layout(&m, 1, "0-6 rw-p, 6-8 rw-p");
	assert_false(faulted(&m, 1, A(0)));
	assert_false(faulted(&m, 1, A(6)));
	/* A fault in one of them merges nothing either. */
	poke(&m, 1, A(7), 1);
	expect_layout(&m, 1, "0-6 rw-p, 6-8 rw-p");
	tm_fork(&m, 0, 2);
	assert_int_equal(c_mprotect(&m, 2, A(6), 2 * PG, RO), 0);
	assert_int_equal(c_mprotect(&m, 2, A(6), 2 * PG, RW), 0);
	expect_layout(&m, 2, "0-8 rw-p");
	tm_done(&m);
}

/*
 * Memory locks are not inherited (Linux's dup_mmap() clears VM_LOCKED): the
 * child's copy of a MAP_LOCKED area is unlocked, and stays apart from a
 * neighbour it is now alike until a call merges there.
 */
static void test_fork_unlocks(void **state)
{
	struct aspace_area_info inf;
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 2, RO, PRIV_ANON | ASPACE_MAP_LOCKED);
	map_at(&m, 0, 2, 2, RO, PRIV_ANON);
	expect_layout(&m, 0, "0-2 r--p, 2-4 r--p");
	tm_fork(&m, 0, 1);
	assert_true(aspace_area(&m.as[1], A(0), &inf));
	assert_int_equal(inf.flags & ASPACE_VM_LOCKED, 0);
	assert_true(aspace_area(&m.as[0], A(0), &inf));
	assert_int_equal(inf.flags & ASPACE_VM_LOCKED, ASPACE_VM_LOCKED);
	expect_layout(&m, 1, "0-2 r--p, 2-4 r--p");
	/* Unlocked, its pages may go (locked ones refuse with EINVAL). */
	assert_int_equal(c_madvise(&m, 1, A(0), 2 * PG, ASPACE_MADV_DONTNEED),
			 0);
	assert_int_equal(c_madvise(&m, 0, A(0), 2 * PG, ASPACE_MADV_DONTNEED),
			 -ASPACE_EINVAL);
	/* An mprotect that changes nothing merges nothing; one that does,
	 * there and back, merges. */
	assert_int_equal(c_mprotect(&m, 1, A(0), 4 * PG, RO), 0);
	expect_layout(&m, 1, "0-2 r--p, 2-4 r--p");
	assert_int_equal(c_mprotect(&m, 1, A(2), 2 * PG, RW), 0);
	assert_int_equal(c_mprotect(&m, 1, A(2), 2 * PG, RO), 0);
	expect_layout(&m, 1, "0-4 r--p");
	tm_done(&m);
}

/* Every allocation, page-table call and node allocation of a fork failed
 * in turn: the child is not made and the parent is as it was. */
static void test_fork_failures(void **state)
{
	enum aspace_sim_call kinds[] = { ASPACE_SIM_FRAME, ASPACE_SIM_PT,
					 ASPACE_SIM_ALLOC, ASPACE_SIM_NODE };
	struct tm m;
	size_t k;
	int64_t n;
	char *before, *after;
	int err;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 4, RW, PRIV_ANON);
	map_at(&m, 0, 4, 4, RW, SHARED_ANON);
	map_at(&m, 0, 10, 2, RO, PRIV_ANON);
	assert_int_equal(c_madvise(&m, 0, A(10), PG, ASPACE_MADV_DONTFORK), 0);
	poke(&m, 0, A(0), 1);
	poke(&m, 0, A(2), 2);
	poke(&m, 0, A(5), 3);
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		for (n = 0;; n++) {
			m.pt[1] = aspace_sim_pt_new(m.sim);
			before = tm_snap(&m, 0);
			aspace_sim_fail_after(m.sim, kinds[k], n);
			err = aspace_fork(&m.as[1], &m.as[0], m.pt[1]);
			aspace_sim_fail_after(m.sim, kinds[k], -1);
			if (!err) {
				aspace_destroy(&m.as[1]);
				aspace_sim_pt_free(m.sim, m.pt[1]);
				free(before);
				break;
			}
			assert_int_equal(err, -ASPACE_ENOMEM);
			aspace_sim_pt_free(m.sim, m.pt[1]);
			tm_check(&m);
			after = tm_snap(&m, 0);
			assert_string_equal(before, after);
			free(before);
			free(after);
			/* The writes need no copy and keep their bytes. */
			assert_int_equal(peek(&m, 0, A(2)), 2);
		}
		assert_true(n > 0 || kinds[k] == ASPACE_SIM_FRAME);
	}
	tm_done(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_private),
		cmocka_unit_test(test_fork_shared),
		cmocka_unit_test(test_fork_advice),
		cmocka_unit_test(test_fork_identities),
		cmocka_unit_test(test_fork_wipe_apart),
		cmocka_unit_test(test_fork_unlocks),
		cmocka_unit_test(test_fork_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
