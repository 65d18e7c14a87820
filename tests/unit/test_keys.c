/*
 * Inner nodes' key lines (src/tree.h): each inner node keeps its children's
 * lowest starts as 32-bit keys in a unit of 2^shift bytes, derived from its
 * 64-bit minima after every change. These tests move the minima so that
 * shifts grow and shrink (granule changes on a set that holds areas, areas
 * at odd addresses among aligned ones), nodes turn wide and back (areas far
 * apart), spans sit at the edge of 32 bits, and trees cross the height
 * from which nodes keep key lines both ways, and check after each step
 * that memory_set_check() finds every key line exact and that lookups, which
 * search the key lines, find every area and nothing between them; and
 * that the steps a lock-free reader takes choose what the tree's do.
 */
#include <stdlib.h>
#include <string.h>

#include "mock.h"
#include "tree.h"

#define PAGE 0x1000ull

/* Every area of the set found at its ends, nothing just past them (the
 * set's areas are apart: merge off, gaps between them). */
static void check_lookups(struct env *e)
{
	const struct memory_area *a, *f;
	struct memory_set_iter it;
	const char *msg = memory_set_check(&e->set);

	if (msg)
		fail_msg("memory_set_check: %s", msg);
	memory_set_foreach(a, &it, &e->set) {
		uint64_t last = area_last(a);

		f = memory_set_find(&e->set, a->start);
		assert_ptr_equal(f, a);
		assert_ptr_equal(memory_set_find(&e->set, last), a);
		f = memory_set_find(&e->set, last + 1);
		assert_true(!f || f->start == last + 1);
		if (a->start > 0) {
			f = memory_set_find(&e->set, a->start - 1);
			assert_true(!f || area_last(f) == a->start - 1);
		}
	}
}

static void map1(struct env *e, uint64_t start, uint64_t size)
{
	assert_int_equal(memory_set_map(&e->set, start, size, 1, &e->plain,
					&e->m, false),
			 MAPPING_OK);
}

static void unmap1(struct env *e, uint64_t start, uint64_t size)
{
	assert_int_equal(memory_set_unmap(&e->set, start, size, &e->m),
			 MAPPING_OK);
}

/* Does any inner node of the subtree have a wide key line? */
static bool any_wide(const struct ms_node *n)
{
	const struct ms_inner *p = (const struct ms_inner *)n;
	unsigned i;

	if (n->leaf)
		return false;
	if (p->h.form == MS_FORM_WIDE)
		return true;
	for (i = 0; i < n->count; i++)
		if (any_wide(p->child[i]))
			return true;
	return false;
}

/* The smallest shift of the inner nodes of the subtree (but the root's,
 * which keeps no key line). */
static unsigned least_shift(const struct ms_node *n, bool root)
{
	const struct ms_inner *p = (const struct ms_inner *)n;
	unsigned i, s, least;

	if (n->leaf)
		return 64;
	least = root ? 64 : p->h.shift;
	for (i = 0; i < n->count; i++) {
		s = least_shift(p->child[i], false);
		least = s < least ? s : least;
	}
	return least;
}

/* Enough areas, mapped in order, for a tree of MS_KEY_HEIGHT levels (full
 * leaves under full inner nodes: 14 * 15^3 areas fill four), whose inner
 * nodes below the root keep key lines. */
#define N 48000u
#define STEP 0x10000ull /* 64 KiB apart: shifts of 16 and more */
#define BASE 0x40000000ull

/*
 * Areas 64 KiB apart under a granule of 32 KiB; then, the granule set to 1
 * on the full set, one-byte areas at odd addresses among them, which make
 * shifts 0; then those taken away again (a node keeps a smaller shift
 * than it could until its next full encoding: any exact one will do).
 */
static void test_granule_shifts(void **state)
{
	struct env e;
	unsigned i;

	(void)state;
	env_init(&e, 1, false);
	assert_int_equal(memory_set_set_granule(&e.set, STEP / 2), MAPPING_OK);
	for (i = 0; i < N; i++)
		map1(&e, BASE + i * STEP, STEP / 2);
	check_lookups(&e);
	assert_true(keys_searched(&e.set));
	assert_true(least_shift(e.set.root, true) >= 16);

	assert_int_equal(memory_set_set_granule(&e.set, 1), MAPPING_OK);
	for (i = 0; i < N; i += 3) {
		map1(&e, BASE + i * STEP + STEP / 2 + 1 + i % 5 * 2, 1);
		if (i % 6000 == 0)
			check_lookups(&e);
	}
	check_lookups(&e);

	/* An area before the first moves min[0] of every node on the
	 * leftmost path, whose keys all change, and their shift drops to 0;
	 * one after the last moves no minimum. */
	map1(&e, BASE - 3, 1);
	check_lookups(&e);
	assert_int_equal(least_shift(e.set.root, true), 0);
	map1(&e, BASE + N * STEP + 5, 1);
	check_lookups(&e);
	unmap1(&e, BASE - 3, 1);
	check_lookups(&e);
	for (i = 0; i < N; i += 3) {
		unmap1(&e, BASE + i * STEP + STEP / 2 + 1 + i % 5 * 2, 1);
		if (i % 6000 == 0)
			check_lookups(&e);
	}
	unmap1(&e, BASE + N * STEP + 5, 1);
	check_lookups(&e);
	check_env(&e);
	env_fini(&e);
}

/*
 * Areas spread over the whole 64-bit space at byte granularity: the nodes
 * near the root cannot keep 32-bit keys and turn wide; when the far areas
 * go, they turn narrow again.
 */
static void test_wide_and_back(void **state)
{
	struct env e;
	uint64_t seed = 19;
	unsigned i;

	(void)state;
	env_init(&e, 1, false);
	for (i = 0; i < N; i++)
		map1(&e, BASE + i * STEP, STEP / 2);
	check_lookups(&e);
	assert_true(keys_searched(&e.set));
	assert_false(any_wide(e.set.root));
	for (i = 0; i < 400; i++) {
		/* Odd, far above BASE's areas, below 2^62 + 2^61. */
		uint64_t a = (1ull << 62) | (rnd_next(&seed) >> 3) | 1;

		if (memory_set_find(&e.set, a) || memory_set_find(&e.set, a + 1))
			continue;
		map1(&e, a, 2);
		if (i % 200 == 0)
			check_lookups(&e);
	}
	check_lookups(&e);
	assert_true(any_wide(e.set.root));
	assert_int_equal(memory_set_unmap(&e.set, 1ull << 62, 1ull << 62, &e.m),
			 MAPPING_OK);
	check_lookups(&e);
	assert_false(any_wide(e.set.root));
	check_env(&e);
	env_fini(&e);
}

/* Inner nodes below the root of the subtree: how many, and how many of
 * them keep a key line. */
static void count_keyed(const struct ms_node *n, bool root, unsigned *all,
			unsigned *keyed)
{
	const struct ms_inner *p = (const struct ms_inner *)n;
	unsigned i;

	if (n->leaf)
		return;
	if (!root) {
		++*all;
		*keyed += p->h.form != MS_FORM_NONE;
	}
	for (i = 0; i < n->count; i++)
		count_keyed(p->child[i], false, all, keyed);
}

/* Every inner node below the root keeps a key line (keys), or none does;
 * the checker agrees and lookups find every area. */
static void expect_keys(struct env *e, bool keys)
{
	unsigned all = 0, keyed = 0;

	count_keyed(e->set.root, true, &all, &keyed);
	assert_true(all > 0);
	assert_int_equal(keyed, keys ? all : 0);
	check_lookups(e);
}

/*
 * A tree grows to MS_KEY_HEIGHT levels (its nodes below the root take key
 * lines then, not before), shrinks to one level fewer (they keep them),
 * then to two fewer (they drop them), and grows back: one level fewer
 * takes none, MS_KEY_HEIGHT takes them again.
 */
static void test_height_both_ways(void **state)
{
	struct env e;
	unsigned n = 0, h = 0;

	(void)state;
	env_init(&e, 1, false);
	while (e.set.height < MS_KEY_HEIGHT) {
		map1(&e, BASE + n++ * STEP, STEP / 2);
		if (e.set.height != h && e.set.height > 2)
			expect_keys(&e, e.set.height >= MS_KEY_HEIGHT);
		h = e.set.height;
	}
	while (e.set.height + 2 > MS_KEY_HEIGHT) {
		n -= 64;
		unmap1(&e, BASE + n * STEP, 64 * STEP);
		if (e.set.height != h)
			expect_keys(&e, e.set.height + 2 > MS_KEY_HEIGHT);
		h = e.set.height;
	}
	while (e.set.height < MS_KEY_HEIGHT) {
		map1(&e, BASE + n++ * STEP, STEP / 2);
		if (e.set.height != h)
			expect_keys(&e, e.set.height >= MS_KEY_HEIGHT);
		h = e.set.height;
	}
	check_env(&e);
	env_fini(&e);
}

/*
 * A node of two children, the second starting d bytes after the first: one
 * key, d >> ctz(d), which fits while it is below UINT32_MAX, the sentinel
 * of unused slots; at UINT32_MAX itself the node must be wide. Encoded and
 * searched directly, with the children's starts at the edge.
 */
static void span_edge(uint64_t d, bool wide)
{
	struct ms_inner p;
	uint64_t base, probe[] = { BASE, BASE + 1, BASE + d - 1, BASE + d,
				   BASE + d + 1, TOP };
	unsigned i, want;

	memset(&p, 0xa5, sizeof(p));
	p.h.leaf = 0;
	p.h.form = MS_FORM_KEYS;
	p.h.count = 2;
	p.min[0] = BASE;
	p.min[1] = BASE + d;
	memory_set_tree_encode(&p);
	assert_int_equal(p.h.form, wide ? MS_FORM_WIDE : MS_FORM_KEYS);
	for (i = 0; i < MS_INNER_MAX; i++)
		assert_int_equal(p.key[i], wide || i > 1 ? UINT32_MAX :
				 i == 1 ? d >> p.h.shift : 0);
	if (!wide)
		assert_int_equal(d >> p.h.shift << p.h.shift, d);
	for (i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
		want = probe[i] >= BASE + d;
		base = BASE;
		assert_int_equal(inner_step(&p, &base, probe[i]), want);
		assert_int_equal(base, p.min[want]);
		/* The lock-free reader's step, with the count it loaded. */
		base = BASE;
		assert_int_equal(wide ? min_step(&p, 2, &base, probe[i], true) :
					key_step(&p, 2, &base, probe[i], true),
				 want);
		assert_int_equal(base, p.min[want]);
	}
}

static void test_span_edges(void **state)
{
	(void)state;
	span_edge(0xfffffffdull, false);  /* the largest odd key that fits */
	span_edge(0xffffffffull, true);   /* the sentinel itself */
	span_edge(0x100000001ull, true);
	span_edge(0x1fffffffaull, false); /* shift 1 */
	span_edge(0x1fffffffeull, true);  /* shift 1, UINT32_MAX */
	span_edge(0x3fffffff4ull, false); /* shift 2 */
	span_edge(0x100000000ull, false); /* shift 32: key 1 */
	span_edge(1ull << 63, false);     /* shift 63: key 1 */
}

/*
 * The steps a lock-free reader shares with the tree's descent (tree.h),
 * with relaxed loads and the count it read, find what the tree's find over
 * every fill of a leaf and an inner node; a key line torn so that no key is
 * at or below the address's gives a slot past the count, which fails the
 * reader's walk, and leaves the base as it was.
 */
static void test_reader_steps(void **state)
{
	struct ms_leaf l;
	struct ms_inner p;
	uint64_t base;
	unsigned c, i, k;

	(void)state;
	memset(&l, 0, sizeof(l));
	memset(&p, 0, sizeof(p));
	for (i = 0; i < MS_LEAF_MAX; i++)
		l.a[i].start = BASE + 4 * i * PAGE;
	for (i = 0; i < MS_INNER_MAX; i++)
		p.min[i] = BASE + 4 * i * PAGE;
	for (c = 1; c <= MS_INNER_MAX; c++) {
		l.h.count = (uint8_t)(c < MS_LEAF_MAX ? c : MS_LEAF_MAX);
		p.h.count = (uint8_t)c;
		p.h.form = MS_FORM_KEYS;
		memory_set_tree_encode(&p);
		assert_int_equal(p.h.form, MS_FORM_KEYS);
		for (k = 0; k < 4 * (MS_INNER_MAX + 1); k++) {
			uint64_t a = BASE + k * PAGE;

			assert_int_equal(area_rank(&l, l.h.count, a, true),
					 leaf_rank(&l, a));
			assert_int_equal(min_slot(&p, c, a, true),
					 inner_slot(&p, a));
			base = BASE;
			i = key_step(&p, c, &base, a, true);
			assert_int_equal(i, inner_slot(&p, a));
			assert_int_equal(base, p.min[i]);
		}
	}
	p.key[0] = 5; /* torn: every key above the address's */
	base = BASE;
	assert_true(key_step(&p, p.h.count, &base, BASE + 4, true) >=
		    p.h.count);
	assert_int_equal(base, BASE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_granule_shifts),
		cmocka_unit_test(test_wide_and_back),
		cmocka_unit_test(test_height_both_ways),
		cmocka_unit_test(test_span_edges),
		cmocka_unit_test(test_reader_steps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
