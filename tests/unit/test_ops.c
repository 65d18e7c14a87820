/* map, unmap, protect and clear, and the scenarios of the Rust crate. */
#include <string.h>

#include "mock.h"

/* The Rust crate's tests work on [0, MAX_ADDR) at byte granularity. */
#define MAX_ADDR 0x10000ull

static void assert_log(const struct mock *m, unsigned i, enum hook_kind kind,
		       uint64_t start, uint64_t size)
{
	assert_true(i < m->nlog);
	assert_int_equal(m->log[i].kind, kind);
	assert_int_equal(m->log[i].start, start);
	assert_int_equal(m->log[i].size, size);
}

/* ---- map ---------------------------------------------------------------- */

static void test_map_invalid(void **state)
{
	struct env e;
	struct mapping_backend_ops v0 = mock_ops, no_map = mock_ops,
				   no_unmap = mock_ops, no_protect = mock_ops;
	struct mapping_backend b;
	const struct mapping_backend_ops *bad[] = { &v0, &no_map, &no_unmap,
						    &no_protect, NULL };
	size_t i;

	(void)state;
	v0.version = 0;
	no_map.map = NULL;
	no_unmap.unmap = NULL;
	no_protect.protect = NULL;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0x1000, 0x1000, 1, false), MAPPING_OK);

	assert_int_equal(t_map(&e, 0x4000, 0, 1, false),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_map(&e, 0x4000, 0, 1, true),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_map(&e, 0x4800, 0x1000, 1, false),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_map(&e, 0x4000, 0x1800, 1, false),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_map(&e, 0x4000, 0x1, 1, true),
			 MAPPING_ERR_INVALID_PARAM);
	/* Past 2^64, by a page and by wrapping all the way round. */
	assert_int_equal(t_map(&e, TOP - 0xfff, 0x2000, 1, false),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_map(&e, 0x4000, UINT64_MAX - 0xfff, 1, false),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_map(&e, 0x2000, UINT64_MAX - 0xfff, 1, true),
			 MAPPING_ERR_INVALID_PARAM);
	/* Invalid and overlapping: still InvalidParam, nothing unmapped. */
	assert_int_equal(t_map(&e, 0x1000, 0x800, 1, true),
			 MAPPING_ERR_INVALID_PARAM);

	assert_int_equal(t_map_b(&e, 0x4000, 0x1000, 1, NULL, false),
			 MAPPING_ERR_INVALID_PARAM);
	b.ops = NULL;
	b.data = &e.tag;
	assert_int_equal(t_map_b(&e, 0x4000, 0x1000, 1, &b, false),
			 MAPPING_ERR_INVALID_PARAM);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]) - 1; i++) {
		b.ops = bad[i];
		assert_int_equal(t_map_b(&e, 0x4000, 0x1000, 1, &b, false),
				 MAPPING_ERR_INVALID_PARAM);
		assert_int_equal(t_map_b(&e, 0x1000, 0x1000, 1, &b, true),
				 MAPPING_ERR_INVALID_PARAM);
	}
	assert_int_equal(memory_set_len(&e.set), 1);
	env_fini(&e);
}

static void test_map_already_exists(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0x10000, 0x4000, 1, false), MAPPING_OK);
	/* Over the start, the end, inside, around, exactly. */
	assert_int_equal(t_map(&e, 0xf000, 0x2000, 2, false),
			 MAPPING_ERR_ALREADY_EXISTS);
	assert_int_equal(t_map(&e, 0x13000, 0x2000, 2, false),
			 MAPPING_ERR_ALREADY_EXISTS);
	assert_int_equal(t_map(&e, 0x11000, 0x1000, 2, false),
			 MAPPING_ERR_ALREADY_EXISTS);
	assert_int_equal(t_map(&e, 0x8000, 0x20000, 2, false),
			 MAPPING_ERR_ALREADY_EXISTS);
	assert_int_equal(t_map(&e, 0x10000, 0x4000, 2, false),
			 MAPPING_ERR_ALREADY_EXISTS);
	/* Touching on either side is fine. */
	assert_int_equal(t_map(&e, 0xf000, 0x1000, 2, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x14000, 0x1000, 3, false), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 3);
	env_fini(&e);
}

static void test_map_top(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	/* The whole space minus the first page, then the first page. */
	assert_int_equal(t_map(&e, 0x1000, 0 - 0x1000ull, 1, false), MAPPING_OK);
	assert_area(&e.set, TOP, 0x1000, 0 - 0x1000ull, 1);
	assert_int_equal(t_map(&e, 0, 0x1000, 2, false), MAPPING_OK);
	assert_int_equal(t_map(&e, TOP - 0xfff, 0x1000, 2, false),
			 MAPPING_ERR_ALREADY_EXISTS);
	/* Replace the top page and the page at 2^63. */
	assert_int_equal(t_map(&e, TOP - 0xfff, 0x1000, 3, true), MAPPING_OK);
	assert_int_equal(t_map(&e, 1ull << 63, 0x1000, 4, true), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 5);
	assert_area(&e.set, TOP, TOP - 0xfff, 0x1000, 3);
	assert_area(&e.set, TOP - 0x1000, (1ull << 63) + 0x1000,
		    (1ull << 63) - 0x2000, 1);
	env_fini(&e);
}

static void test_map_replace(void **state)
{
	struct env e;
	int i;

	(void)state;
	env_init(&e, 0, false);
	/* Areas of 2 pages at every 4 pages: [0x10000+i*0x4000, +0x2000). */
	for (i = 0; i < 8; i++)
		assert_int_equal(t_map(&e, 0x10000 + (uint64_t)i * 0x4000,
				       0x2000, 1, false), MAPPING_OK);
	/* From inside area 1 to inside area 5: pieces of 1 and 5 stay. */
	mock_clear_log(&e.m);
	assert_int_equal(t_map(&e, 0x15000, 0x10000, 7, true), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 6);
	assert_area(&e.set, 0x14000, 0x14000, 0x1000, 1);
	assert_area(&e.set, 0x15000, 0x15000, 0x10000, 7);
	assert_area(&e.set, 0x25000, 0x25000, 0x1000, 1);
	/* Unmaps in address order, then the one map. */
	assert_int_equal(e.m.nlog, 6);
	assert_log(&e.m, 0, HOOK_UNMAP, 0x15000, 0x1000);
	assert_log(&e.m, 1, HOOK_UNMAP, 0x18000, 0x2000);
	assert_log(&e.m, 2, HOOK_UNMAP, 0x1c000, 0x2000);
	assert_log(&e.m, 3, HOOK_UNMAP, 0x20000, 0x2000);
	assert_log(&e.m, 4, HOOK_UNMAP, 0x24000, 0x1000);
	assert_log(&e.m, 5, HOOK_MAP, 0x15000, 0x10000);

	/* Replacing nothing is a plain map. */
	mock_clear_log(&e.m);
	assert_int_equal(t_map(&e, 0x100000, 0x1000, 8, true), MAPPING_OK);
	assert_int_equal(e.m.nlog, 1);
	/* Replacing exactly one area; and inside one area (it splits). */
	assert_int_equal(t_map(&e, 0x100000, 0x1000, 9, true), MAPPING_OK);
	assert_area(&e.set, 0x100000, 0x100000, 0x1000, 9);
	assert_int_equal(t_map(&e, 0x2c000, 0x1000, 10, true), MAPPING_OK);
	assert_area(&e.set, 0x2c000, 0x2c000, 0x1000, 10);
	assert_area(&e.set, 0x2d000, 0x2d000, 0x1000, 1);
	assert_int_equal(memory_set_len(&e.set), 8);
	env_fini(&e);
}

/* ---- unmap ---------------------------------------------------------------- */

static void test_unmap(void **state)
{
	struct env e;
	int i;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_unmap(&e, 0, 0x10000), MAPPING_OK); /* empty set */
	assert_int_equal(t_map(&e, 0x10000, 0x10000, 1, false), MAPPING_OK);

	assert_int_equal(t_unmap(&e, 0x10000, 0), MAPPING_OK);
	assert_int_equal(t_unmap(&e, 0x14000, 0), MAPPING_OK);
	/* Size 0 does nothing, but the start is still checked. */
	assert_int_equal(t_unmap(&e, 0x14800, 0), MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_unmap(&e, 0x10800, 0x1000), MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_unmap(&e, 0x10000, 0x800), MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_unmap(&e, 0x10000, UINT64_MAX - 0xfff),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(memory_set_len(&e.set), 1);

	/* Shrink at the left, then the right, then split in the middle. */
	assert_int_equal(t_unmap(&e, 0xe000, 0x3000), MAPPING_OK);
	assert_area(&e.set, 0x11000, 0x11000, 0xf000, 1);
	assert_int_equal(t_unmap(&e, 0x1f000, 0x3000), MAPPING_OK);
	assert_area(&e.set, 0x11000, 0x11000, 0xe000, 1);
	mock_clear_log(&e.m);
	assert_int_equal(t_unmap(&e, 0x15000, 0x2000), MAPPING_OK);
	assert_int_equal(e.m.nlog, 1);
	assert_log(&e.m, 0, HOOK_UNMAP, 0x15000, 0x2000);
	assert_area(&e.set, 0x11000, 0x11000, 0x4000, 1);
	assert_area(&e.set, 0x17000, 0x17000, 0x8000, 1);
	assert_int_equal(memory_set_len(&e.set), 2);
	/* Exactly an area. */
	assert_int_equal(t_unmap(&e, 0x11000, 0x4000), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 1);
	/* A range over nothing. */
	assert_int_equal(t_unmap(&e, 0x100000, 0x4000), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 1);
	assert_int_equal(t_clear(&e), MAPPING_OK);

	/* Spanning many areas and holes, cutting both end areas. */
	for (i = 0; i < 100; i++)
		assert_int_equal(t_map(&e, (uint64_t)i * 0x3000, 0x2000,
				       (uint64_t)i, false), MAPPING_OK);
	mock_clear_log(&e.m);
	assert_int_equal(t_unmap(&e, 10 * 0x3000 + 0x1000, 80 * 0x3000),
			 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 21);
	assert_int_equal(e.m.nlog, 81);
	for (i = 0; i < 81; i++)
		assert_true(i == 0 || e.m.log[i].start > e.m.log[i - 1].start);
	assert_area(&e.set, 10 * 0x3000, 10 * 0x3000, 0x1000, 10);
	assert_area(&e.set, 90 * 0x3000 + 0x1000, 90 * 0x3000 + 0x1000, 0x1000,
		    90);
	env_fini(&e);
}

/* Map n one-page areas in order, one every other page from page 1:
 * leaves fill whole. */
static void map_odd_pages(struct env *e, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(t_map(e, (2 * i + 1) * 0x1000, 0x1000, 1, false),
				 MAPPING_OK);
}

/*
 * Areas mapped in order fill leaves whole; unmapping 8 of every 14 leaves
 * 6 in each leaf. Two neighbouring leaves that hold 13 or fewer join,
 * which memory_set_check() (after every change here) holds the tree to:
 * then k leaves hold at least 14 for each pair of them, and the set holds
 * no more nodes than that allows. Left at 6 a leaf, it would hold some
 * 15% more.
 */
static void test_unmap_joins_leaves(void **state)
{
	struct env e;
	const uint64_t n = 14 * 64, left = n / 14 * 6, page = 0x1000;
	uint64_t i, leaves, nodes;

	(void)state;
	env_init(&e, 0, false);
	map_odd_pages(&e, n);
	for (i = 0; i < n; i++)
		if (i % 14 < 8)
			assert_int_equal(t_unmap(&e, (2 * i + 1) * page, page),
					 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), left);
	/* k leaves hold at least 14 * (k / 2) areas; below the root, an
	 * inner node has 8 children or more; a spare node per 32. */
	leaves = 2 * (left / 14) + 1;
	nodes = leaves + leaves / 8 + 1;
	nodes += nodes / 32;
	assert_true(memory_set_memory_bytes(&e.set) <= nodes * MEMORY_SET_NODE_SIZE);
	env_fini(&e);
}

/*
 * Unmapping 6 of every 14 areas mapped in order leaves leaves of 8, no
 * two of which join; but three neighbours hold 24 and fit in two with
 * room for one more in each, and a leaf that lost areas spreads into its
 * neighbours when they do. The middle leaf of every three loses its areas
 * last, when both its neighbours hold 8: the leaves end up more than 11
 * areas full on average, not 8.
 */
static void test_unmap_spreads_leaves(void **state)
{
	struct env e;
	const uint64_t n = 14 * 64, page = 0x1000;
	uint64_t i, nodes;
	unsigned pass;

	(void)state;
	env_init(&e, 0, false);
	map_odd_pages(&e, n);
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < n; i++)
			if (i % 14 < 6 && (i / 14 % 3 == 1) == (pass == 1))
				assert_int_equal(t_unmap(&e, (2 * i + 1) * page,
							 page),
						 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), n / 14 * 8);
	/* Leaves of 11 areas, an inner node per 8 of them, a spare per 32. */
	nodes = n / 14 * 8 / 11;
	nodes += nodes / 8 + 1;
	nodes += nodes / 32;
	assert_true(memory_set_memory_bytes(&e.set) <= nodes * MEMORY_SET_NODE_SIZE);
	env_fini(&e);
}

/*
 * An area mapped into a full leaf between full neighbours splits it; once
 * unmapped, the two halves hold as many areas as one full leaf, and do
 * not join again: mapping and unmapping it over and over allocates no
 * more nodes (joining at a full leaf's worth split and joined them, a
 * node allocated and freed, every time).
 */
static void test_map_unmap_no_thrash(void **state)
{
	struct env e;
	const uint64_t n = 14 * 8, page = 0x1000;
	const uint64_t at = 2 * (3 * 14 + 5) * page; /* a hole in leaf 3 */
	unsigned long calls;
	uint64_t i;

	(void)state;
	env_init(&e, 0, false);
	map_odd_pages(&e, n);
	assert_int_equal(t_map(&e, at, page, 1, false), MAPPING_OK);
	assert_int_equal(t_unmap(&e, at, page), MAPPING_OK);
	calls = e.ca.calls;
	for (i = 0; i < 100; i++) {
		assert_int_equal(t_map(&e, at, page, 1, false), MAPPING_OK);
		assert_int_equal(t_unmap(&e, at, page), MAPPING_OK);
	}
	assert_true(e.ca.calls - calls <= 1);
	env_fini(&e);
}

static void test_unmap_top(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, TOP - 0x7fff, 0x8000, 1, false), MAPPING_OK);
	/* Ranges that end exactly at 2^64. */
	assert_int_equal(t_unmap(&e, TOP - 0xfff, 0x1000), MAPPING_OK);
	assert_area(&e.set, TOP - 0x1000, TOP - 0x7fff, 0x7000, 1);
	assert_int_equal(t_unmap(&e, TOP - 0x5fff, 0x2000), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 2);
	assert_int_equal(t_map(&e, TOP - 0xfff, 0x1000, 2, false), MAPPING_OK);
	assert_int_equal(t_unmap(&e, 0x1000, 0 - 0x1000ull), MAPPING_OK);
	assert_true(memory_set_is_empty(&e.set));
	/* The whole space but page 0, over an area at 0 and one at the top. */
	assert_int_equal(t_map(&e, 0, 0x3000, 3, false), MAPPING_OK);
	assert_int_equal(t_map(&e, TOP - 0xfff, 0x1000, 4, false), MAPPING_OK);
	assert_int_equal(t_unmap(&e, 0x1000, 0 - 0x1000ull), MAPPING_OK);
	assert_area(&e.set, 0, 0, 0x1000, 3);
	assert_int_equal(memory_set_len(&e.set), 1);
	env_fini(&e);
}

/* ---- protect ---------------------------------------------------------------- */

/* Always returns the same flags: counts as no change. */
static bool same_flags(void *ctx, uint64_t old_flags, uint64_t *new_flags)
{
	(*(unsigned long *)ctx)++;
	*new_flags = old_flags;
	return true;
}

static bool no_change(void *ctx, uint64_t old_flags, uint64_t *new_flags)
{
	(void)old_flags;
	(void)new_flags;
	(*(unsigned long *)ctx)++;
	return false;
}

static void test_protect_no_change(void **state)
{
	struct env e;
	unsigned long calls = 0, hooks;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0x10000, 0x4000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x18000, 0x4000, 2, false), MAPPING_OK);
	hooks = e.m.calls;
	assert_int_equal(t_protect_fn(&e, 0x11000, 0x8000, no_change, &calls),
			 MAPPING_OK);
	assert_true(calls >= 2);
	calls = 0;
	assert_int_equal(t_protect_fn(&e, 0x11000, 0x8000, same_flags, &calls),
			 MAPPING_OK);
	assert_true(calls >= 2);
	/* Mask rule: already right under the mask. */
	assert_int_equal(t_protect(&e, 0x11000, 0x8000, 0x3, 0x4), MAPPING_OK);
	assert_int_equal(e.m.calls, hooks);
	assert_int_equal(memory_set_len(&e.set), 2);
	assert_area(&e.set, 0x10000, 0x10000, 0x4000, 1);
	assert_area(&e.set, 0x18000, 0x18000, 0x4000, 2);
	env_fini(&e);
}

static void test_protect_errors(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0x10000, 0x4000, 1, false), MAPPING_OK);
	assert_int_equal(t_protect_fn(&e, 0x10000, 0x1000, NULL, NULL),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_protect(&e, 0x10800, 0x1000, 2, ~0ull),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_protect(&e, 0x10000, 0x800, 2, ~0ull),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_protect(&e, 0x10000, UINT64_MAX - 0xfff, 2, ~0ull),
			 MAPPING_ERR_INVALID_PARAM);
	/* Size 0: ok, nothing changes. */
	assert_int_equal(t_protect(&e, 0x10000, 0, 2, ~0ull), MAPPING_OK);
	assert_int_equal(t_protect(&e, 0x11000, 0, 2, ~0ull), MAPPING_OK);
	assert_int_equal(t_protect(&e, 0x11800, 0, 2, ~0ull),
			 MAPPING_ERR_INVALID_PARAM);
	assert_area(&e.set, 0x10000, 0x10000, 0x4000, 1);
	/* Over nothing. */
	assert_int_equal(t_protect(&e, 0x100000, 0x4000, 2, ~0ull), MAPPING_OK);
	env_fini(&e);
}

static void test_protect_split(void **state)
{
	struct env e;
	int i;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0x10000, 0x8000, 1, false), MAPPING_OK);
	/* Two parts: the left end. */
	assert_int_equal(t_protect(&e, 0xe000, 0x4000, 2, ~0ull), MAPPING_OK);
	assert_area(&e.set, 0x10000, 0x10000, 0x2000, 2);
	assert_area(&e.set, 0x12000, 0x12000, 0x6000, 1);
	/* Two parts: the right end, reaching past it. */
	assert_int_equal(t_protect(&e, 0x16000, 0x8000, 3, ~0ull), MAPPING_OK);
	assert_area(&e.set, 0x16000, 0x16000, 0x2000, 3);
	assert_area(&e.set, 0x12000, 0x12000, 0x4000, 1);
	/* Three parts. */
	mock_clear_log(&e.m);
	assert_int_equal(t_protect(&e, 0x13000, 0x2000, 4, ~0ull), MAPPING_OK);
	assert_int_equal(e.m.nlog, 1);
	assert_log(&e.m, 0, HOOK_PROTECT, 0x13000, 0x2000);
	assert_int_equal(e.m.log[0].old_flags, 1);
	assert_int_equal(e.m.log[0].new_flags, 4);
	assert_area(&e.set, 0x12000, 0x12000, 0x1000, 1);
	assert_area(&e.set, 0x13000, 0x13000, 0x2000, 4);
	assert_area(&e.set, 0x15000, 0x15000, 0x1000, 1);
	assert_int_equal(memory_set_len(&e.set), 5);
	/* The whole area exactly: no split. */
	assert_int_equal(t_protect(&e, 0x13000, 0x2000, 5, ~0ull), MAPPING_OK);
	assert_area(&e.set, 0x13000, 0x13000, 0x2000, 5);
	assert_int_equal(memory_set_len(&e.set), 5);
	assert_int_equal(t_clear(&e), MAPPING_OK);

	/* Many areas with holes: each changed piece protected in order, the
	 * holes left unmapped (the mock fails any hook on a hole). */
	for (i = 0; i < 50; i++)
		assert_int_equal(t_map(&e, (uint64_t)i * 0x3000, 0x2000,
				       (uint64_t)(i & 1), false), MAPPING_OK);
	mock_clear_log(&e.m);
	assert_int_equal(t_protect(&e, 0x1000, 48 * 0x3000, 1, ~0ull),
			 MAPPING_OK);
	/* Only the even areas (flags 0) change; the first only from 0x1000. */
	assert_int_equal(e.m.nlog, 25);
	for (i = 1; i < 25; i++)
		assert_true(e.m.log[i].start > e.m.log[i - 1].start);
	assert_area(&e.set, 0, 0, 0x1000, 0);
	assert_area(&e.set, 0x1000, 0x1000, 0x1000, 1);
	assert_area(&e.set, 48 * 0x3000, 48 * 0x3000, 0x1000, 1);
	assert_area(&e.set, 48 * 0x3000 + 0x1000, 48 * 0x3000 + 0x1000, 0x1000,
		    0);
	assert_int_equal(memory_set_len(&e.set), 52);
	env_fini(&e);
}

static void test_protect_top(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, TOP - 0x3fff, 0x4000, 1, false), MAPPING_OK);
	assert_int_equal(t_protect(&e, TOP - 0xfff, 0x1000, 2, ~0ull),
			 MAPPING_OK);
	assert_area(&e.set, TOP, TOP - 0xfff, 0x1000, 2);
	assert_area(&e.set, TOP - 0x1000, TOP - 0x3fff, 0x3000, 1);
	assert_int_equal(t_protect(&e, TOP - 0x2fff, 0x2000, 3, ~0ull),
			 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 3);
	assert_int_equal(t_protect(&e, 0, 0 - 0x1000ull, 4, ~0ull), MAPPING_OK);
	assert_area(&e.set, TOP - 0x3fff, TOP - 0x3fff, 0x1000, 4);
	assert_area(&e.set, TOP - 0x2fff, TOP - 0x2fff, 0x2000, 4);
	assert_area(&e.set, TOP, TOP - 0xfff, 0x1000, 2);
	env_fini(&e);
}

/* The whole space as one area, [0, 2^64): size 0 (2^64 modulo 2^64). Only
 * merging can make it. */
static void test_whole_space(void **state)
{
	struct env e;
	const struct memory_area *a;
	uint64_t addr;

	(void)state;
	env_init(&e, 0, true);
	assert_int_equal(t_map(&e, 0, 1ull << 63, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 1ull << 63, 1ull << 63, 1, false),
			 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 1);
	a = memory_set_find(&e.set, TOP);
	assert_non_null(a);
	assert_ptr_equal(memory_set_find(&e.set, 0), a);
	assert_ptr_equal(memory_set_find(&e.set, 1ull << 63), a);
	assert_int_equal(a->start, 0);
	assert_int_equal(a->size, 0);
	assert_int_equal(memory_area_last(a), TOP);
	assert_true(memory_area_contains(a, TOP));
	assert_true(memory_area_contains(a, 0));
	assert_true(memory_set_overlaps(&e.set, 0x5000, 1));
	assert_int_equal(memory_set_find_free_area(&e.set, 0, 1, 1, 0, TOP,
						   &addr),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(memory_set_find_free_area_top(&e.set, 0, 1, 1, 0, TOP,
						       &addr),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(t_map(&e, 0x1000, 0x1000, 1, false),
			 MAPPING_ERR_ALREADY_EXISTS);
	/* Cut it in three, and join it again. */
	assert_int_equal(t_protect(&e, 0x4000, 0x1000, 2, ~0ull), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 3);
	assert_area(&e.set, TOP, 0x5000, 0 - 0x5000ull, 1);
	assert_int_equal(t_protect(&e, 0x4000, 0x1000, 1, ~0ull), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 1);
	assert_area(&e.set, 0x4000, 0, 0, 1);
	/* Unmap a page at each end, then map them back. */
	assert_int_equal(t_unmap(&e, 0, 0x1000), MAPPING_OK);
	assert_int_equal(t_unmap(&e, TOP - 0xfff, 0x1000), MAPPING_OK);
	assert_area(&e.set, 0x1000, 0x1000, 0 - 0x2000ull, 1);
	assert_int_equal(t_map(&e, 0, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, TOP - 0xfff, 0x1000, 1, false), MAPPING_OK);
	assert_area(&e.set, 0x1000, 0, 0, 1);
	/* Replace a range inside it, then protect the whole space. */
	assert_int_equal(t_map(&e, 0x10000, 0x1000, 3, true), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 3);
	assert_int_equal(t_protect(&e, 0, 0 - 0x1000ull, 3, ~0ull), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 2);
	assert_int_equal(t_protect(&e, 0, 0 - 0x1000ull, 1, ~0ull), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 1);
	env_fini(&e); /* clears it through the unmap hook */

	/* Turning merge on joins two halves into the whole space. */
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0, 1ull << 63, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 1ull << 63, 1ull << 63, 1, false),
			 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 2);
	memory_set_set_merge(&e.set, true);
	check_env(&e);
	assert_area(&e.set, TOP, 0, 0, 1);
	assert_int_equal(t_unmap(&e, 0, 1ull << 63), MAPPING_OK);
	assert_area(&e.set, TOP, 1ull << 63, 1ull << 63, 1);
	env_fini(&e);
}

/* ---- clear -------------------------------------------------------------------- */

static void test_clear(void **state)
{
	struct env e;
	int i;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_clear(&e), MAPPING_OK);
	for (i = 0; i < 300; i++)
		assert_int_equal(t_map(&e, (uint64_t)(299 - i) * 0x2000, 0x1000,
				       1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, TOP - 0xfff, 0x1000, 1, false), MAPPING_OK);
	mock_clear_log(&e.m);
	assert_int_equal(t_clear(&e), MAPPING_OK);
	assert_int_equal(e.m.nlog, MOCK_LOG); /* 301 calls; the log keeps 256 */
	for (i = 1; i < MOCK_LOG; i++)
		assert_true(e.m.log[i].start > e.m.log[i - 1].start);
	assert_int_equal(e.m.log[MOCK_LOG - 1].start, TOP - 0xfff);
	assert_true(memory_set_is_empty(&e.set));
	/* Used again after clear. */
	assert_int_equal(t_map(&e, 0x1000, 0x1000, 1, false), MAPPING_OK);
	env_fini(&e);
}

/* ---- the Rust crate's scenarios ---------------------------------------------- */

static void test_rust_map_unmap(void **state)
{
	struct env e;
	uint64_t start;

	(void)state;
	env_init(&e, 1, false);
	/* [0, 0x1000), [0x2000, 0x3000), ... flags 1; then the gaps, 2. */
	for (start = 0; start < MAX_ADDR; start += 0x2000)
		assert_int_equal(t_map(&e, start, 0x1000, 1, false), MAPPING_OK);
	for (start = 0x1000; start < MAX_ADDR; start += 0x2000)
		assert_int_equal(t_map(&e, start, 0x1000, 2, false), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 16);
	assert_int_equal(e.m.sh.n, 16);
	assert_int_equal(e.m.sh.r[0].start, 0);
	assert_int_equal(e.m.sh.r[15].last, MAX_ADDR - 1);

	assert_area(&e.set, 0x4100, 0x4000, 0x1000, 1);

	/* [0x4000, 0x8000) is taken: refused, then replacing. */
	assert_int_equal(t_map(&e, 0x4000, 0x4000, 3, false),
			 MAPPING_ERR_ALREADY_EXISTS);
	assert_int_equal(t_map(&e, 0x4000, 0x4000, 3, true), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 13);
	assert_area(&e.set, 0x4100, 0x4000, 0x4000, 3);

	assert_int_equal(t_unmap(&e, 0, MAX_ADDR), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 0);
	assert_int_equal(e.m.sh.n, 0);
	env_fini(&e);
}

static void test_rust_unmap_split(void **state)
{
	struct env e;
	struct memory_set_iter it;
	const struct memory_area *a;
	uint64_t start;

	(void)state;
	env_init(&e, 1, false);
	for (start = 0; start < MAX_ADDR; start += 0x2000)
		assert_int_equal(t_map(&e, start, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 8);

	/* Unmap [0xc00, 0x2400), [0x2c00, 0x4400), ...: shrink both ends. */
	for (start = 0; start < MAX_ADDR; start += 0x2000)
		assert_int_equal(t_unmap(&e, start + 0xc00, 0x1800), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 8);
	memory_set_foreach(a, &it, &e.set) {
		if (a->start == 0) {
			assert_int_equal(a->size, 0xc00);
		} else {
			assert_int_equal(a->start & 0xfff, 0x400);
			assert_int_equal(memory_area_end(a) & 0xfff, 0xc00);
			assert_int_equal(a->size, 0x800);
		}
		assert_int_equal(a->flags, 1);
	}

	/* Unmap [0x800, 0x900), [0x2800, 0x2900), ...: split in two. */
	for (start = 0; start < MAX_ADDR; start += 0x2000)
		assert_int_equal(t_unmap(&e, start + 0x800, 0x100), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 16);
	memory_set_foreach(a, &it, &e.set) {
		uint64_t off = a->start & 0xfff;
		if (off == 0)
			assert_int_equal(a->size, 0x800);
		else if (off == 0x400)
			assert_int_equal(a->size, 0x400);
		else if (off == 0x900)
			assert_int_equal(a->size, 0x300);
		else
			fail_msg("unexpected area at %#llx",
				 (unsigned long long)a->start);
	}

	assert_int_equal(t_unmap(&e, 0, MAX_ADDR), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 0);
	env_fini(&e);
}

static void test_rust_protect(void **state)
{
	struct env e;
	struct memory_set_iter it;
	const struct memory_area *a;
	unsigned long hooks;
	uint64_t start;

	(void)state;
	env_init(&e, 1, false);
	for (start = 0; start < MAX_ADDR; start += 0x2000)
		assert_int_equal(t_map(&e, start, 0x1000, 0x7, false),
				 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 8);

	/* Protect [0xc00, 0x2400), [0x2c00, 0x4400), ... to 0x1 under 0x7. */
	for (start = 0; start < MAX_ADDR; start += 0x2000)
		assert_int_equal(t_protect(&e, start + 0xc00, 0x1800, 0x1, 0x7),
				 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 23);
	memory_set_foreach(a, &it, &e.set) {
		uint64_t off = a->start & 0xfff;
		if (a->start == 0) {
			assert_int_equal(a->size, 0xc00);
			assert_int_equal(a->flags, 0x7);
		} else if (off == 0) {
			assert_int_equal(a->size, 0x400);
			assert_int_equal(a->flags, 0x1);
		} else if (off == 0x400) {
			assert_int_equal(a->size, 0x800);
			assert_int_equal(a->flags, 0x7);
		} else if (off == 0xc00) {
			assert_int_equal(a->size, 0x400);
			assert_int_equal(a->flags, 0x1);
		} else {
			fail_msg("unexpected area at %#llx",
				 (unsigned long long)a->start);
		}
	}

	/* Protect [0x800, 0x900), ... with 0x13 under 0x7: three parts. */
	for (start = 0; start < MAX_ADDR; start += 0x2000)
		assert_int_equal(t_protect(&e, start + 0x800, 0x100, 0x13, 0x7),
				 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 39);
	memory_set_foreach(a, &it, &e.set) {
		uint64_t off = a->start & 0xfff;
		if (a->start == 0) {
			assert_int_equal(a->size, 0x800);
			assert_int_equal(a->flags, 0x7);
		} else if (off == 0) {
			assert_int_equal(a->size, 0x400);
			assert_int_equal(a->flags, 0x1);
		} else if (off == 0x400) {
			assert_int_equal(a->size, 0x400);
			assert_int_equal(a->flags, 0x7);
		} else if (off == 0x800) {
			assert_int_equal(a->size, 0x100);
			assert_int_equal(a->flags, 0x3);
		} else if (off == 0x900) {
			assert_int_equal(a->size, 0x300);
			assert_int_equal(a->flags, 0x7);
		} else if (off == 0xc00) {
			assert_int_equal(a->size, 0x400);
			assert_int_equal(a->flags, 0x1);
		} else {
			fail_msg("unexpected area at %#llx",
				 (unsigned long long)a->start);
		}
	}

	/* Protect [0x880, 0x900), ... to 0x3: already so, skipped whole. */
	hooks = e.m.calls;
	for (start = 0; start < MAX_ADDR; start += 0x2000)
		assert_int_equal(t_protect(&e, start + 0x880, 0x80, 0x3, 0x7),
				 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 39);
	assert_int_equal(e.m.calls, hooks);

	assert_int_equal(t_unmap(&e, 0, MAX_ADDR), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 0);
	env_fini(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_invalid),
		cmocka_unit_test(test_map_already_exists),
		cmocka_unit_test(test_map_top),
		cmocka_unit_test(test_map_replace),
		cmocka_unit_test(test_unmap),
		cmocka_unit_test(test_unmap_joins_leaves),
		cmocka_unit_test(test_unmap_spreads_leaves),
		cmocka_unit_test(test_map_unmap_no_thrash),
		cmocka_unit_test(test_unmap_top),
		cmocka_unit_test(test_protect_no_change),
		cmocka_unit_test(test_protect_errors),
		cmocka_unit_test(test_protect_split),
		cmocka_unit_test(test_protect_top),
		cmocka_unit_test(test_whole_space),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_rust_map_unmap),
		cmocka_unit_test(test_rust_unmap_split),
		cmocka_unit_test(test_rust_protect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
