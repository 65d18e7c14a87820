/* init, destroy, len, granule, errors, find, overlaps, iterators, check. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <memory_set/malloc.h>

#include "mock.h"

static struct memory_set_options opts_of(struct count_alloc *ca,
					 uint64_t granule)
{
	struct memory_set_options o;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.allocator = &count_allocator;
	o.allocator_ctx = ca;
	o.granule = granule;
	return o;
}

static void test_init_bad(void **state)
{
	struct count_alloc ca = { 0 };
	struct memory_set set;
	struct memory_set_options o = opts_of(&ca, 0);
	struct memory_set_allocator v0 = count_allocator;
	struct memory_set_allocator no_alloc = count_allocator;
	struct memory_set_allocator no_free = count_allocator;
	uint64_t bad_granules[] = { 3, 0x3000, 0x1001, UINT64_MAX };
	size_t i;

	(void)state;
	v0.version = 0;
	no_alloc.alloc = NULL;
	no_free.free = NULL;
	assert_int_equal(memory_set_init(NULL, &o), MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(memory_set_init(&set, NULL), MAPPING_ERR_INVALID_PARAM);

	o.size = 0;
	assert_int_equal(memory_set_init(&set, &o), MAPPING_ERR_INVALID_PARAM);
	o.size = sizeof(o) - 1;
	assert_int_equal(memory_set_init(&set, &o), MAPPING_ERR_INVALID_PARAM);

	o = opts_of(&ca, 0);
	o.allocator = NULL;
	assert_int_equal(memory_set_init(&set, &o), MAPPING_ERR_INVALID_PARAM);
	o.allocator = &v0;
	assert_int_equal(memory_set_init(&set, &o), MAPPING_ERR_INVALID_PARAM);
	o.allocator = &no_alloc;
	assert_int_equal(memory_set_init(&set, &o), MAPPING_ERR_INVALID_PARAM);
	o.allocator = &no_free;
	assert_int_equal(memory_set_init(&set, &o), MAPPING_ERR_INVALID_PARAM);

	for (i = 0; i < sizeof(bad_granules) / sizeof(bad_granules[0]); i++) {
		o = opts_of(&ca, bad_granules[i]);
		assert_int_equal(memory_set_init(&set, &o),
				 MAPPING_ERR_INVALID_PARAM);
	}
	/* Nothing was allocated by any of these. */
	assert_int_equal(ca.calls, 0);
}

static void test_init_good(void **state)
{
	struct count_alloc ca = { 0 };
	struct memory_set set;
	struct memory_set_options o = opts_of(&ca, 0);
	struct {
		struct memory_set_options o;
		uint64_t newer_field;
	} big;

	(void)state;
	assert_int_equal(memory_set_init(&set, &o), MAPPING_OK);
	assert_int_equal(memory_set_granule(&set), 4096);
	assert_false(memory_set_merge_enabled(&set));
	assert_true(memory_set_is_empty(&set));
	assert_int_equal(memory_set_len(&set), 0);
	assert_null(memory_set_check(&set));
	/* Nothing is allocated until the first area is mapped. */
	assert_int_equal(ca.calls, 0);
	assert_int_equal(memory_set_memory_bytes(&set), 0);
	memory_set_destroy(&set);

	o = opts_of(&ca, 1);
	o.merge = true;
	assert_int_equal(memory_set_init(&set, &o), MAPPING_OK);
	assert_int_equal(memory_set_granule(&set), 1);
	assert_true(memory_set_merge_enabled(&set));
	memory_set_destroy(&set);

	o = opts_of(&ca, 1ull << 63);
	assert_int_equal(memory_set_init(&set, &o), MAPPING_OK);
	assert_int_equal(memory_set_granule(&set), 1ull << 63);
	memory_set_destroy(&set);

	/* A newer caller's larger options are accepted. */
	memset(&big, 0, sizeof(big));
	big.o = opts_of(&ca, 0x10000);
	big.o.size = sizeof(big);
	assert_int_equal(memory_set_init(&set, &big.o), MAPPING_OK);
	assert_int_equal(memory_set_granule(&set), 0x10000);
	memory_set_destroy(&set);
	assert_int_equal(ca.live, 0);
}

/*
 * Options written against every released header: the first ended just
 * before max_areas, the second just before lockless_lookups. Each size
 * reads only the fields it covers; a size above this header's is a newer
 * caller's and accepted; any other size, 0 included, is InvalidParam.
 */
static void test_init_sizes(void **state)
{
	struct count_alloc ca = { 0 };
	struct memory_set set;
	struct memory_set_options o = opts_of(&ca, 0);
	const uint32_t v1 = offsetof(struct memory_set_options, max_areas);
	const uint32_t v2 =
		offsetof(struct memory_set_options, lockless_lookups);
	const uint32_t bad[] = { 0, 1, 4, v1 - 1, v1 + 1, v2 - 1, v2 + 1,
				 (uint32_t)sizeof(o) - 1 };
	size_t i;

	(void)state;
	o.max_areas = 5;
	o.lockless_lookups = true;
	o.size = v1;
	assert_int_equal(memory_set_init(&set, &o), MAPPING_OK);
	assert_int_equal(memory_set_max_areas(&set), 0);
	assert_false(set.lockless);
	memory_set_destroy(&set);

	o.size = v2;
	assert_int_equal(memory_set_init(&set, &o), MAPPING_OK);
	assert_int_equal(memory_set_max_areas(&set), 5);
	assert_false(set.lockless);
	memory_set_destroy(&set);

	o.size = sizeof(o);
	assert_int_equal(memory_set_init(&set, &o), MAPPING_OK);
	assert_int_equal(memory_set_max_areas(&set), 5);
	assert_true(set.lockless);
	memory_set_destroy(&set);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (bad[i] >= sizeof(o))
			continue; /* a newer caller's size */
		o.size = bad[i];
		assert_int_equal(memory_set_init(&set, &o),
				 MAPPING_ERR_INVALID_PARAM);
	}
	assert_int_equal(ca.calls, 0);
}

static void test_destroy(void **state)
{
	struct env e;
	struct mapping_backend rel = { &mock_ops_release, NULL };
	unsigned long calls;
	int i;

	(void)state;
	memory_set_destroy(NULL);

	env_init(&e, 0, false);
	rel.data = &e.tag;
	mock_released = 0;
	for (i = 0; i < 100; i++)
		assert_int_equal(t_map_b(&e, (uint64_t)i * 0x3000, 0x1000, 1,
					 &rel, false), MAPPING_OK);
	assert_true(e.ca.live > 0);
	calls = e.m.calls;
	memory_set_destroy(&e.set);
	/* No page-table hook, one release per area, every block freed. */
	assert_int_equal(e.m.calls, calls);
	assert_int_equal(mock_released, 100);
	assert_int_equal(e.ca.live, 0);

	/* The set may be initialised again and used. */
	{
		struct memory_set_options o = opts_of(&e.ca, 0);
		assert_int_equal(memory_set_init(&e.set, &o), MAPPING_OK);
	}
	mock_fini(&e.m);
	mock_init(&e.m, 4096);
	assert_int_equal(t_map(&e, 0x1000, 0x1000, 2, false), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 1);
	env_fini(&e);
}

static void test_len(void **state)
{
	struct env e;
	uint64_t i;

	(void)state;
	env_init(&e, 0, false);
	for (i = 0; i < 40; i++) {
		assert_int_equal(memory_set_len(&e.set), i);
		assert_int_equal(memory_set_is_empty(&e.set), i == 0);
		assert_int_equal(t_map(&e, i * 0x2000, 0x1000, i, false),
				 MAPPING_OK);
	}
	assert_int_equal(memory_set_len(&e.set), 40);
	assert_int_equal(walk_count(&e.set), 40);
	assert_int_equal(memory_set_memory_bytes(&e.set),
			 (uint64_t)e.ca.live * MEMORY_SET_NODE_SIZE);
	env_fini(&e);
}

static void test_granule(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(memory_set_granule(&e.set), 0x1000);
	assert_int_equal(t_map(&e, 0x1000, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x2800, 0x1000, 1, false),
			 MAPPING_ERR_INVALID_PARAM);

	assert_int_equal(memory_set_set_granule(&e.set, 3),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(memory_set_set_granule(&e.set, 0),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(memory_set_set_granule(&e.set, 0x1800),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(memory_set_granule(&e.set), 0x1000);

	/* A larger granule: existing areas stay, new ranges must fit it. */
	assert_int_equal(memory_set_set_granule(&e.set, 0x10000), MAPPING_OK);
	assert_int_equal(memory_set_granule(&e.set), 0x10000);
	assert_area(&e.set, 0x1000, 0x1000, 0x1000, 1);
	assert_int_equal(t_map(&e, 0x20000, 0x1000, 1, false),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_map(&e, 0x21000, 0x10000, 1, false),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_unmap(&e, 0x1000, 0x1000), MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_protect(&e, 0x1000, 0x1000, 2, ~0ull),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_map(&e, 0x20000, 0x10000, 1, false), MAPPING_OK);
	/* An area smaller than the granule still goes whole with its block. */
	assert_int_equal(t_unmap(&e, 0, 0x10000), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 1);

	/* A smaller granule. */
	assert_int_equal(memory_set_set_granule(&e.set, 0x1000), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x3000, 0x1000, 1, false), MAPPING_OK);
	env_fini(&e);
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(mapping_strerror(MAPPING_ERR_INVALID_PARAM),
			    "InvalidParam");
	assert_string_equal(mapping_strerror(MAPPING_ERR_ALREADY_EXISTS),
			    "AlreadyExists");
	assert_string_equal(mapping_strerror(MAPPING_ERR_BAD_STATE), "BadState");
	assert_string_equal(mapping_strerror(MAPPING_ERR_NO_MEMORY), "NoMemory");
	assert_non_null(mapping_strerror(MAPPING_OK));
	assert_string_equal(mapping_strerror((enum mapping_error)-99),
			    "UnknownError");
	assert_string_equal(mapping_strerror((enum mapping_error)5),
			    "UnknownError");

	assert_int_equal(mapping_error_to_errno(MAPPING_OK), 0);
	assert_int_equal(mapping_error_to_errno(MAPPING_ERR_INVALID_PARAM), 22);
	assert_int_equal(mapping_error_to_errno(MAPPING_ERR_ALREADY_EXISTS), 17);
	assert_int_equal(mapping_error_to_errno(MAPPING_ERR_BAD_STATE), 14);
	assert_int_equal(mapping_error_to_errno(MAPPING_ERR_NO_MEMORY), 12);
	assert_int_equal(mapping_error_to_errno((enum mapping_error)-99), 22);
}

static void test_find(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_null(memory_set_find(&e.set, 0));
	assert_null(memory_set_find(&e.set, TOP));
	assert_int_equal(t_map(&e, 0, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x5000, 0x3000, 2, false), MAPPING_OK);
	assert_int_equal(t_map(&e, TOP - 0xfff, 0x1000, 3, false), MAPPING_OK);
	assert_area(&e.set, 0, 0, 0x1000, 1);
	assert_area(&e.set, 0xfff, 0, 0x1000, 1);
	assert_null(memory_set_find(&e.set, 0x1000));
	assert_null(memory_set_find(&e.set, 0x4fff));
	assert_area(&e.set, 0x5000, 0x5000, 0x3000, 2);
	assert_area(&e.set, 0x6abc, 0x5000, 0x3000, 2);
	assert_area(&e.set, 0x7fff, 0x5000, 0x3000, 2);
	assert_null(memory_set_find(&e.set, 0x8000));
	/* The area that ends at 2^64. */
	assert_area(&e.set, TOP, TOP - 0xfff, 0x1000, 3);
	assert_area(&e.set, TOP - 0xfff, TOP - 0xfff, 0x1000, 3);
	assert_null(memory_set_find(&e.set, TOP - 0x1000));
	assert_int_equal(memory_area_end(memory_set_find(&e.set, TOP)), 0);
	assert_int_equal(memory_area_last(memory_set_find(&e.set, TOP)), TOP);
	env_fini(&e);
}

static void test_overlaps(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_false(memory_set_overlaps(&e.set, 0, UINT64_MAX));
	assert_int_equal(t_map(&e, 0x10000, 0x2000, 1, false), MAPPING_OK);
	/* Size 0 meets nothing, even inside an area. */
	assert_false(memory_set_overlaps(&e.set, 0x10000, 0));
	assert_false(memory_set_overlaps(&e.set, 0x11000, 0));
	assert_true(memory_set_overlaps(&e.set, 0x11fff, 1));
	assert_true(memory_set_overlaps(&e.set, 0xf000, 0x1001));
	assert_false(memory_set_overlaps(&e.set, 0xf000, 0x1000));
	assert_false(memory_set_overlaps(&e.set, 0x12000, 0x1000));
	assert_true(memory_set_overlaps(&e.set, 0, UINT64_MAX));
	/* Ranges past 2^64 are cut there, not wrapped to low addresses. */
	assert_false(memory_set_overlaps(&e.set, 0x12000, UINT64_MAX));
	assert_false(memory_set_overlaps(&e.set, TOP, UINT64_MAX));
	assert_true(memory_set_overlaps(&e.set, 0x11000, UINT64_MAX));

	assert_int_equal(t_map(&e, TOP - 0x1fff, 0x2000, 2, false), MAPPING_OK);
	assert_true(memory_set_overlaps(&e.set, TOP, 1));
	assert_true(memory_set_overlaps(&e.set, TOP, 2));
	assert_true(memory_set_overlaps(&e.set, TOP, UINT64_MAX));
	assert_true(memory_set_overlaps(&e.set, 0x12000, UINT64_MAX));
	assert_false(memory_set_overlaps(&e.set, 0x12000, TOP - 0x1fff - 0x12000));
	assert_true(memory_set_overlaps(&e.set, 0x12000, TOP - 0x1fff - 0x12000 + 1));
	env_fini(&e);
}

/* Map count areas of one page, every other page, flags = index. */
static void map_alternate(struct env *e, int count)
{
	int i;

	for (i = 0; i < count; i++)
		assert_int_equal(t_map(e, 0x10000 + (uint64_t)i * 0x2000, 0x1000,
				       (uint64_t)i, false), MAPPING_OK);
}

static void test_iter(void **state)
{
	struct env e;
	struct memory_set_iter it;
	const struct memory_area *a;
	uint64_t expect;
	int n;

	(void)state;
	env_init(&e, 0, false);
	/* Empty set. */
	memory_set_iter_init(&it, &e.set, 0);
	assert_null(memory_set_iter_next(&it));
	assert_null(memory_set_iter_prev(&it));
	memory_set_iter_init_end(&it, &e.set);
	assert_null(memory_set_iter_prev(&it));
	assert_null(memory_set_iter_next(&it));

	map_alternate(&e, 200); /* several leaves */

	/* Forward with foreach, backward from the end. */
	n = 0;
	memory_set_foreach(a, &it, &e.set) {
		assert_int_equal(a->start, 0x10000 + (uint64_t)n * 0x2000);
		n++;
	}
	assert_int_equal(n, 200);
	/* Past the end, prev gives the last area back. */
	a = memory_set_iter_prev(&it);
	assert_non_null(a);
	assert_int_equal(a->flags, 199);
	memory_set_iter_init_end(&it, &e.set);
	for (n = 199; n >= 0; n--) {
		a = memory_set_iter_prev(&it);
		assert_non_null(a);
		assert_int_equal(a->flags, (uint64_t)n);
	}
	assert_null(memory_set_iter_prev(&it));
	/* At the start, next gives the first again. */
	a = memory_set_iter_next(&it);
	assert_non_null(a);
	assert_int_equal(a->flags, 0);

	/* From an address inside an area: that area, then the next. */
	memory_set_iter_init(&it, &e.set, 0x10000 + 77 * 0x2000 + 0x123);
	assert_int_equal(memory_set_iter_next(&it)->flags, 77);
	assert_int_equal(memory_set_iter_next(&it)->flags, 78);
	/* ...and back: the two just passed, then the one before. */
	assert_int_equal(memory_set_iter_prev(&it)->flags, 78);
	assert_int_equal(memory_set_iter_prev(&it)->flags, 77);
	assert_int_equal(memory_set_iter_prev(&it)->flags, 76);

	/* From a gap: the next area; prev is the one before the gap. */
	memory_set_iter_init(&it, &e.set, 0x10000 + 120 * 0x2000 + 0x1800);
	assert_int_equal(memory_set_iter_next(&it)->flags, 121);
	memory_set_iter_init(&it, &e.set, 0x10000 + 120 * 0x2000 + 0x1800);
	assert_int_equal(memory_set_iter_prev(&it)->flags, 120);

	/* Before everything and past the end. */
	memory_set_iter_init(&it, &e.set, 0);
	assert_null(memory_set_iter_prev(&it));
	assert_int_equal(memory_set_iter_next(&it)->flags, 0);
	memory_set_iter_init(&it, &e.set, 0x10000 + 200 * 0x2000);
	assert_null(memory_set_iter_next(&it));
	memory_set_iter_init(&it, &e.set, TOP);
	assert_null(memory_set_iter_next(&it));
	assert_int_equal(memory_set_iter_prev(&it)->flags, 199);

	/* A random walk both ways across leaves, against the index. */
	{
		uint64_t seed = 99;
		int pos = 57, step;

		memory_set_iter_init(&it, &e.set, 0x10000 + 57 * 0x2000);
		for (step = 0; step < 20000; step++) {
			if (rnd_below(&seed, 2)) {
				a = memory_set_iter_next(&it);
				if (pos == 200) {
					assert_null(a);
				} else {
					assert_non_null(a);
					assert_int_equal(a->flags, pos);
					pos++;
				}
			} else {
				a = memory_set_iter_prev(&it);
				if (pos == 0) {
					assert_null(a);
				} else {
					pos--;
					assert_non_null(a);
					assert_int_equal(a->flags, pos);
				}
			}
		}
	}

	/* A walk from every area's middle reaches the end in order. */
	for (n = 0; n < 200; n += 37) {
		memory_set_iter_init(&it, &e.set,
				     0x10000 + (uint64_t)n * 0x2000 + 0x800);
		expect = (uint64_t)n;
		while ((a = memory_set_iter_next(&it)) != NULL)
			assert_int_equal(a->flags, expect++);
		assert_int_equal(expect, 200);
	}
	env_fini(&e);
}

static void test_iter_top(void **state)
{
	struct env e;
	struct memory_set_iter it;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, TOP - 0xfff, 0x1000, 9, false), MAPPING_OK);
	memory_set_iter_init(&it, &e.set, TOP);
	assert_int_equal(memory_set_iter_next(&it)->flags, 9);
	assert_null(memory_set_iter_next(&it));
	memory_set_iter_init_end(&it, &e.set);
	assert_int_equal(memory_set_iter_prev(&it)->flags, 9);
	assert_null(memory_set_iter_prev(&it));
	env_fini(&e);
}

static void test_check_and_bytes(void **state)
{
	struct env e;
	int i;

	(void)state;
	env_init(&e, 0, false);
	assert_null(memory_set_check(&e.set));
	for (i = 0; i < 3000; i++) {
		assert_int_equal(memory_set_map(&e.set, (uint64_t)i * 0x2000,
						0x1000, 1, &e.plain, &e.m,
						false), MAPPING_OK);
		assert_int_equal(memory_set_memory_bytes(&e.set),
				 (uint64_t)e.ca.live * MEMORY_SET_NODE_SIZE);
	}
	check_env(&e);
	assert_int_equal(memory_set_clear(&e.set, &e.m), MAPPING_OK);
	check_env(&e);
	env_fini(&e);
}

static void test_malloc_allocator(void **state)
{
	struct memory_set set;
	struct memory_set_options o;
	struct mock m;
	struct mapping_backend b = { &mock_ops, NULL };
	int i;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.allocator = &memory_set_malloc_allocator;
	assert_int_equal(memory_set_init(&set, &o), MAPPING_OK);
	mock_init(&m, 4096);
	for (i = 0; i < 500; i++)
		assert_int_equal(memory_set_map(&set, (uint64_t)i * 0x2000,
						0x1000, 1, &b, &m, false),
				 MAPPING_OK);
	assert_null(memory_set_check(&set));
	assert_int_equal(memory_set_len(&set), 500);
	assert_int_equal(memory_set_clear(&set, &m), MAPPING_OK);
	assert_int_equal(m.sh.n, 0);
	memory_set_destroy(&set);
	mock_fini(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_bad),
		cmocka_unit_test(test_init_good),
		cmocka_unit_test(test_init_sizes),
		cmocka_unit_test(test_destroy),
		cmocka_unit_test(test_len),
		cmocka_unit_test(test_granule),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_iter),
		cmocka_unit_test(test_iter_top),
		cmocka_unit_test(test_check_and_bytes),
		cmocka_unit_test(test_malloc_allocator),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
