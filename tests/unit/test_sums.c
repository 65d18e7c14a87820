/*
 * Summaries kept from what changed (src/tree.c, sum_after()): an insertion
 * or a pass between leaves updates a node's largest gap from the gaps it
 * replaced and made, and visits the whole node only when a replaced gap was
 * the largest. Each test makes both kinds of change, at leaves and at inner
 * nodes, in trees of two, three and four levels: a cut in a gap below the
 * largest, a cut in the largest, a cut in one of two largest gaps that tie,
 * a protect that cuts a page out of an area (an insertion that opens a gap
 * and a second that closes it), and insertions into full leaves that pass
 * an area to a neighbour. After each step memory_set_check() (through the
 * t_* helpers) compares every summary with one computed from scratch, and
 * the set's own largest gap with the one the test expects.
 */
#include <stdlib.h>
#include <string.h>

#include "mock.h"
#include "tree.h"

#define PAGE 0x1000ull
#define BASE 0x10000000ull
#define STEP (4 * PAGE) /* a page mapped, three free */

/* The largest gap strictly inside the set, from the root's summaries. */
static uint64_t root_gap(const struct memory_set *set)
{
	struct ms_sum s;

	memory_set_tree_node_sum(set->root, &s);
	return s.gap;
}

/* n one-page areas STEP apart from BASE: every gap three pages. */
static void fill(struct env *e, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		assert_int_equal(t_map(e, BASE + i * STEP, PAGE, 1, false),
				 MAPPING_OK);
}

static uint64_t slot(unsigned i)
{
	return BASE + i * STEP;
}

/* A gap of 7 pages at area k (its area gone), cut in a smaller gap beside
 * it (kept), then in its middle (lowered to 3 pages). */
static void gap_lowered(unsigned n, unsigned k)
{
	struct env e;

	env_init(&e, 1, false);
	fill(&e, n);
	assert_int_equal(e.set.height, n > 3150 ? 4 : n > 210 ? 3 : 2);
	assert_int_equal(root_gap(&e.set), 3 * PAGE);
	assert_int_equal(t_unmap(&e, slot(k), PAGE), MAPPING_OK);
	assert_int_equal(root_gap(&e.set), 7 * PAGE);
	/* In the gap after the next area: three pages cut into 1 and 1. */
	assert_int_equal(t_map(&e, slot(k + 1) + 2 * PAGE, PAGE, 1, false),
			 MAPPING_OK);
	assert_int_equal(root_gap(&e.set), 7 * PAGE);
	/* In the largest: 7 pages cut into 3 and 3. */
	assert_int_equal(t_map(&e, slot(k), PAGE, 1, false), MAPPING_OK);
	assert_int_equal(root_gap(&e.set), 3 * PAGE);
	check_env(&e);
	env_fini(&e);
}

static void test_gap_lowered(void **state)
{
	(void)state;
	gap_lowered(40, 20);       /* a root over leaves */
	gap_lowered(40, 1);        /* near the tree's first area */
	gap_lowered(1500, 750);   /* three levels */
	gap_lowered(1500, 1498);  /* at the last leaf */
	gap_lowered(3300, 1650);  /* four levels */
}

/* Two gaps of 7 pages: filling one leaves the other the largest; filling
 * the other lowers it. */
static void gap_tie(unsigned n, unsigned k1, unsigned k2)
{
	struct env e;

	env_init(&e, 1, false);
	fill(&e, n);
	assert_int_equal(t_unmap(&e, slot(k1), PAGE), MAPPING_OK);
	assert_int_equal(t_unmap(&e, slot(k2), PAGE), MAPPING_OK);
	assert_int_equal(root_gap(&e.set), 7 * PAGE);
	assert_int_equal(t_map(&e, slot(k1), PAGE, 1, false), MAPPING_OK);
	assert_int_equal(root_gap(&e.set), 7 * PAGE);
	assert_int_equal(t_map(&e, slot(k2), PAGE, 1, false), MAPPING_OK);
	assert_int_equal(root_gap(&e.set), 3 * PAGE);
	check_env(&e);
	env_fini(&e);
}

static void test_gap_tie(void **state)
{
	(void)state;
	gap_tie(40, 3, 6);        /* one leaf */
	gap_tie(40, 3, 30);       /* two leaves under the root */
	gap_tie(1500, 100, 103);  /* one leaf, three levels */
	gap_tie(1500, 100, 1400); /* far apart: only the root holds both */
}

/* Pages cut out of large areas by protect, in trees of each height: the
 * first insertion opens a gap as large as the rest of the area, the second
 * closes it again. */
static void protect_cuts(unsigned n)
{
	struct env e;
	unsigned i;

	env_init(&e, 1, false);
	for (i = 0; i < n; i++)
		assert_int_equal(t_map(&e, BASE + i * 64 * PAGE, 60 * PAGE, 1,
				       false),
				 MAPPING_OK);
	assert_int_equal(root_gap(&e.set), 4 * PAGE);
	for (i = 0; i < n; i += 3) {
		uint64_t a = BASE + i * 64 * PAGE;

		assert_int_equal(t_protect(&e, a + 30 * PAGE, PAGE, 2, 3),
				 MAPPING_OK);
		assert_int_equal(t_protect(&e, a + 59 * PAGE, PAGE, 2, 3),
				 MAPPING_OK);
		assert_int_equal(root_gap(&e.set), 4 * PAGE);
	}
	/* One area shrinks: the largest gap grows, then a page in it. */
	assert_int_equal(t_unmap(&e, BASE + 40 * PAGE, 20 * PAGE), MAPPING_OK);
	assert_int_equal(root_gap(&e.set), 24 * PAGE);
	assert_int_equal(t_map(&e, BASE + 50 * PAGE, PAGE, 1, false),
			 MAPPING_OK);
	assert_int_equal(root_gap(&e.set), 13 * PAGE);
	check_env(&e);
	env_fini(&e);
}

static void test_protect_cuts(void **state)
{
	(void)state;
	protect_cuts(30);
	protect_cuts(1500);
}

/* Sequential maps fill leaves whole; an area mapped in a gap of a full
 * leaf passes one to a neighbour (under the same parent or not), which
 * takes it with the gap beside it, the largest or not. */
static void passes(unsigned n)
{
	struct env e;
	unsigned i;
	uint64_t seed = n;

	env_init(&e, 1, false);
	fill(&e, n);
	for (i = 0; i < n; i++) {
		unsigned k = (unsigned)(rnd_next(&seed) % n);
		uint64_t at = slot(k) + (1 + rnd_next(&seed) % 3) * PAGE;

		if (memory_set_find(&e.set, at))
			continue;
		assert_int_equal(t_map(&e, at, PAGE, 1, false), MAPPING_OK);
		/* Make one gap the largest now and then. */
		if (i % 7 == 0 && k > 0 && k + 1 < n &&
		    memory_set_find(&e.set, slot(k)))
			assert_int_equal(t_unmap(&e, slot(k), 4 * PAGE),
					 MAPPING_OK);
	}
	check_env(&e);
	env_fini(&e);
}

static void test_passes(void **state)
{
	(void)state;
	passes(100);
	passes(1500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gap_lowered),
		cmocka_unit_test(test_gap_tie),
		cmocka_unit_test(test_protect_cuts),
		cmocka_unit_test(test_passes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
