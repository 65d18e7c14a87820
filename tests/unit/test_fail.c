/*
 * The failure contract: backend hooks failing mid-operation, split failing,
 * the allocator running out, and a set living in a fixed pool.
 */
#include <stdalign.h>
#include <string.h>

#include "mock.h"

/* Five areas of 4 pages, 8 pages apart, flags 1..5. A range from the
 * middle of the first to the middle of the last meets them in five pieces. */
#define A(i) (0x10000ull + (uint64_t)(i) * 0x8000)
#define R_START 0x12000ull
#define R_SIZE (A(4) + 0x2000 - R_START)

static const struct {
	uint64_t start, size;
} piece[5] = {
	{ 0x12000, 0x2000 }, { 0x18000, 0x4000 }, { 0x20000, 0x4000 },
	{ 0x28000, 0x4000 }, { 0x30000, 0x2000 },
};

static void build_five(struct env *e)
{
	int i;

	for (i = 0; i < 5; i++)
		assert_int_equal(t_map(e, A(i), 0x4000, (uint64_t)i + 1, false),
				 MAPPING_OK);
}

/* Areas 1..3 whole or gone, area 0 whole or cut to its left half. */
static void assert_pieces_gone(struct env *e, int gone)
{
	int i;

	if (gone > 0)
		assert_area(&e->set, A(0), A(0), 0x2000, 1);
	else
		assert_area(&e->set, A(0), A(0), 0x4000, 1);
	for (i = 1; i < 4; i++) {
		if (i < gone)
			assert_null(memory_set_find(&e->set, A(i)));
		else
			assert_area(&e->set, A(i), A(i), 0x4000,
				    (uint64_t)i + 1);
	}
}

static void test_unmap_fails(void **state)
{
	int k;

	(void)state;
	for (k = 1; k <= 5; k++) {
		struct env e;
		int gone = k - 1; /* pieces unmapped before the failing one */

		env_init(&e, 0, false);
		build_five(&e);
		mock_fail_in(&e.m, (unsigned long)k, MAPPING_ERR_BAD_STATE);
		assert_int_equal(t_unmap(&e, R_START, R_SIZE),
				 MAPPING_ERR_BAD_STATE);
		assert_pieces_gone(&e, gone);
		assert_area(&e.set, A(4), A(4), 0x4000, 5);
		assert_int_equal(memory_set_len(&e.set),
				 5 - (gone > 1 ? (uint64_t)gone - 1 : 0));
		env_fini(&e);
	}
}

static void test_protect_rollback(void **state)
{
	int k, j;

	(void)state;
	for (k = 1; k <= 5; k++) {
		struct env e;

		env_init(&e, 0, false);
		build_five(&e);
		mock_clear_log(&e.m);
		mock_fail_in(&e.m, (unsigned long)k, MAPPING_ERR_BAD_STATE);
		assert_int_equal(t_protect(&e, R_START, R_SIZE, 0x10, ~0ull),
				 MAPPING_ERR_BAD_STATE);
		/* k forward calls, then the k-1 changed pieces changed back,
		 * last first. */
		assert_int_equal(e.m.nlog, 2 * (unsigned)k - 1);
		for (j = 0; j < k - 1; j++) {
			const struct hook_call *c = &e.m.log[k + j];
			int p = k - 2 - j;
			assert_int_equal(c->kind, HOOK_PROTECT);
			assert_int_equal(c->start, piece[p].start);
			assert_int_equal(c->size, piece[p].size);
			assert_int_equal(c->old_flags, 0x10);
			assert_int_equal(c->new_flags, (uint64_t)p + 1);
		}
		/* Every page has its old flags again (check_env compared the
		 * set with the page table). */
		for (j = 0; j < 5; j++) {
			assert_int_equal(memory_set_find(&e.set, A(j))->flags,
					 (uint64_t)j + 1);
			assert_int_equal(memory_set_find(&e.set,
							 A(j) + 0x3fff)->flags,
					 (uint64_t)j + 1);
		}
		env_fini(&e);
	}
}

static void test_protect_rollback_fails(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	build_five(&e);
	/* Calls 1-3 change pieces 0-2, call 4 fails; the change back runs
	 * 5: piece 2, 6: piece 1 (fails), 7: piece 0. */
	mock_fail_in(&e.m, 4, MAPPING_ERR_BAD_STATE);
	mock_fail_in(&e.m, 6, MAPPING_ERR_BAD_STATE);
	assert_int_equal(t_protect(&e, R_START, R_SIZE, 0x10, ~0ull),
			 MAPPING_ERR_BAD_STATE);
	assert_int_equal(e.m.calls - 5, 7); /* 5 maps before */
	/* Piece 1 (all of area 1) keeps its new flags, in set and table. */
	assert_area(&e.set, A(1), A(1), 0x4000, 0x10);
	assert_int_equal(memory_set_find(&e.set, R_START)->flags, 1);
	assert_int_equal(memory_set_find(&e.set, A(0))->flags, 1);
	assert_area(&e.set, A(2), A(2), 0x4000, 3);
	assert_area(&e.set, A(3), A(3), 0x4000, 4);
	assert_area(&e.set, A(4), A(4), 0x4000, 5);
	env_fini(&e);

	/* The change back of a split piece fails: the split stays. */
	env_init(&e, 0, false);
	build_five(&e);
	mock_fail_in(&e.m, 2, MAPPING_ERR_NO_MEMORY);
	mock_fail_in(&e.m, 3, MAPPING_ERR_BAD_STATE);
	assert_int_equal(t_protect(&e, R_START, R_SIZE, 0x10, ~0ull),
			 MAPPING_ERR_NO_MEMORY);
	assert_area(&e.set, A(0), A(0), 0x2000, 1);
	assert_area(&e.set, R_START, R_START, 0x2000, 0x10);
	assert_area(&e.set, A(1), A(1), 0x4000, 2);
	env_fini(&e);
}

static void test_map_replace_fails(void **state)
{
	int k;

	(void)state;
	/* An unmap fails: the areas before it are gone, the new one absent. */
	for (k = 1; k <= 5; k++) {
		struct env e;
		int gone = k - 1;

		env_init(&e, 0, false);
		build_five(&e);
		mock_fail_in(&e.m, (unsigned long)k, MAPPING_ERR_BAD_STATE);
		assert_int_equal(t_map(&e, R_START, R_SIZE, 9, true),
				 MAPPING_ERR_BAD_STATE);
		assert_pieces_gone(&e, gone);
		assert_area(&e.set, A(4), A(4), 0x4000, 5);
		if (gone == 0)
			assert_area(&e.set, R_START, A(0), 0x4000, 1);
		else
			assert_null(memory_set_find(&e.set, R_START));
		env_fini(&e);
	}
	/* The map fails: every area in the way is gone, the range free. */
	{
		struct env e;

		env_init(&e, 0, false);
		build_five(&e);
		mock_fail_in(&e.m, 6, MAPPING_ERR_BAD_STATE);
		assert_int_equal(t_map(&e, R_START, R_SIZE, 9, true),
				 MAPPING_ERR_BAD_STATE);
		assert_false(memory_set_overlaps(&e.set, R_START, R_SIZE));
		assert_area(&e.set, A(0), A(0), 0x2000, 1);
		assert_area(&e.set, A(4) + 0x2000, A(4) + 0x2000, 0x2000, 5);
		assert_int_equal(memory_set_len(&e.set), 2);
		env_fini(&e);
	}
}

static void test_map_fails(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	build_five(&e);
	mock_fail_in(&e.m, 1, MAPPING_ERR_BAD_STATE);
	assert_int_equal(t_map(&e, 0x100000, 0x1000, 9, false),
			 MAPPING_ERR_BAD_STATE);
	assert_int_equal(memory_set_len(&e.set), 5);
	assert_null(memory_set_find(&e.set, 0x100000));
	/* The error code is the hook's, whatever it is. */
	mock_fail_in(&e.m, 1, (enum mapping_error)-42);
	assert_int_equal(t_map(&e, 0x100000, 0x1000, 9, false), -42);
	assert_int_equal(t_map(&e, 0x100000, 0x1000, 9, false), MAPPING_OK);
	env_fini(&e);
}

static void test_clear_fails(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	build_five(&e);
	mock_fail_in(&e.m, 3, MAPPING_ERR_BAD_STATE);
	assert_int_equal(t_clear(&e), MAPPING_ERR_BAD_STATE);
	assert_int_equal(memory_set_len(&e.set), 3);
	assert_null(memory_set_find(&e.set, A(0)));
	assert_null(memory_set_find(&e.set, A(1)));
	assert_area(&e.set, A(2), A(2), 0x4000, 3);
	env_fini(&e);
}

/* split() failing: reported before any page-table hook, nothing changes,
 * any right_data already made is released (after_check counts them). */
static void test_split_fails(void **state)
{
	unsigned long n;
	int op;

	(void)state;
	for (op = 0; op < 3; op++) {
		for (n = 1; n <= 2; n++) {
			struct env e;
			struct mapping_backend fb = { &file_ops, NULL };
			enum mapping_error err = MAPPING_OK;

			env_init(&e, 0, false);
			fb.data = file_data_new(0x100000, 0x10000);
			assert_int_equal(t_map_b(&e, 0x10000, 0x10000, 1, &fb,
						 false), MAPPING_OK);
			file_split_fail_in(&e.m, n);
			if (op == 0)
				err = t_unmap(&e, 0x14000, 0x4000);
			else if (op == 1)
				err = t_protect(&e, 0x14000, 0x4000, 2, ~0ull);
			else
				err = t_map(&e, 0x14000, 0x4000, 2, true);
			/* An operation may need one split or two (the part
			 * it removes or changes can keep the left data). */
			if (e.m.split_calls >= n) {
				assert_int_equal(err, MAPPING_ERR_NO_MEMORY);
				assert_area(&e.set, 0x10000, 0x10000, 0x10000,
					    1);
				assert_int_equal(file_data_live(), 1);
			} else {
				assert_int_equal(err, MAPPING_OK);
			}
			assert_true(n > 1 || e.m.split_calls >= n);
			env_fini(&e);
		}
	}
}

/* ---- allocator ------------------------------------------------------------- */

static void test_nomem_empty(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	e.ca.fail_from = 1;
	assert_int_equal(t_map(&e, 0x1000, 0x1000, 1, false),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(e.m.calls, 0);
	assert_true(memory_set_is_empty(&e.set));
	assert_int_equal(e.ca.live, 0);
	e.ca.fail_from = 0;
	assert_int_equal(t_map(&e, 0x1000, 0x1000, 1, false), MAPPING_OK);
	env_fini(&e);
}

/*
 * With every allocation failing, keep growing the set one operation at a
 * time: sooner or later a node must be split and the operation must fail
 * with NoMemory, having changed nothing and called no hook (t_* check).
 */
static void nomem_grow(int op)
{
	struct env e;
	int i, hits = 0;

	env_init(&e, 0, false);
	for (i = 0; i < 600; i++) {
		/* ops 4 and 5: file areas, whose cuts call split() */
		struct mapping_backend fb = { &file_ops, NULL };
		if (op >= 4)
			fb.data = file_data_new((uint64_t)i << 20,
						(uint64_t)i * 0x8000);
		assert_int_equal(t_map_b(&e, (uint64_t)i * 0x8000, 0x3000, 1,
					 op >= 4 ? &fb : &e.plain, false),
				 MAPPING_OK);
	}
	e.ca.fail_from = e.ca.calls + 1;
	for (i = 0; i < 600; i++) {
		uint64_t at = (uint64_t)i * 0x8000;
		enum mapping_error err;

		if (op == 0)
			err = t_map(&e, at + 0x4000, 0x1000, 2, false);
		else if (op == 1 || op == 4)
			err = t_unmap(&e, at + 0x1000, 0x1000);
		else if (op == 2 || op == 5)
			err = t_protect(&e, at + 0x1000, 0x1000, 2, ~0ull);
		else
			err = t_map(&e, at + 0x1000, 0x1000, 3, true);
		if (err == MAPPING_ERR_NO_MEMORY)
			hits++;
		else
			assert_int_equal(err, MAPPING_OK);
	}
	assert_true(hits > 0);
	assert_true(e.ca.failed > 0);
	/* Memory back: the same operations now succeed. */
	e.ca.fail_from = 0;
	assert_int_equal(t_map(&e, 600 * 0x8000, 0x1000, 1, false), MAPPING_OK);
	env_fini(&e);
}

static void test_nomem_map(void **state)
{
	(void)state;
	nomem_grow(0);
}

static void test_nomem_unmap(void **state)
{
	(void)state;
	nomem_grow(1);
}

static void test_nomem_protect(void **state)
{
	(void)state;
	nomem_grow(2);
}

static void test_nomem_replace(void **state)
{
	(void)state;
	nomem_grow(3);
}

/* File areas: no split() call either when memory is short. */
static void test_nomem_file(void **state)
{
	(void)state;
	nomem_grow(4);
	nomem_grow(5);
}

/* Fail from the Nth allocation on, with a random workload: every NoMemory
 * changes nothing, everything else keeps working. */
static void test_nomem_sweep(void **state)
{
	unsigned long n;

	(void)state;
	for (n = 1; n <= 8; n++) {
		struct env e;
		uint64_t seed = n;
		int i;

		env_init(&e, 0, false);
		e.ca.fail_from = n;
		for (i = 0; i < 400; i++) {
			uint64_t at = rnd_below(&seed, 512) * 0x1000;
			uint64_t size = (1 + rnd_below(&seed, 6)) * 0x1000;
			enum mapping_error err;

			switch (rnd_below(&seed, 4)) {
			case 0:
				err = t_map(&e, at, size, rnd_below(&seed, 3),
					    false);
				assert_true(err == MAPPING_OK ||
					    err == MAPPING_ERR_ALREADY_EXISTS ||
					    err == MAPPING_ERR_NO_MEMORY);
				break;
			case 1:
				err = t_map(&e, at, size, rnd_below(&seed, 3),
					    true);
				assert_true(err == MAPPING_OK ||
					    err == MAPPING_ERR_NO_MEMORY);
				break;
			case 2:
				err = t_unmap(&e, at, size);
				assert_true(err == MAPPING_OK ||
					    err == MAPPING_ERR_NO_MEMORY);
				break;
			default:
				err = t_protect(&e, at, size,
						rnd_below(&seed, 3), ~0ull);
				assert_true(err == MAPPING_OK ||
					    err == MAPPING_ERR_NO_MEMORY);
				break;
			}
		}
		assert_true(e.ca.failed > 0);
		env_fini(&e);
	}
}

/* ---- fixed pool ---------------------------------------------------------------- */

#define POOL_NODES 6
static alignas(8) unsigned char pool_buf[MEMORY_SET_POOL_BYTES(POOL_NODES) + 8];

static void test_pool_init(void **state)
{
	struct memory_set_pool pool;

	(void)state;
	assert_int_equal(memory_set_pool_init(NULL, pool_buf, sizeof(pool_buf)),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(memory_set_pool_init(&pool, NULL, sizeof(pool_buf)),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(memory_set_pool_init(&pool, pool_buf + 4,
					      MEMORY_SET_POOL_BYTES(2)),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(memory_set_pool_init(&pool, pool_buf, 0), MAPPING_OK);
	assert_int_equal(memory_set_pool_available(&pool), 0);
	assert_int_equal(memory_set_pool_init(&pool, pool_buf,
					      MEMORY_SET_POOL_BYTES(2) + 100),
			 MAPPING_OK);
	assert_int_equal(memory_set_pool_available(&pool), 2);
	assert_int_equal(memory_set_pool_init(&pool, pool_buf + 8,
					      MEMORY_SET_POOL_BYTES(POOL_NODES)),
			 MAPPING_OK);
	assert_int_equal(memory_set_pool_available(&pool), POOL_NODES);
}

static void test_pool_set(void **state)
{
	struct memory_set_pool pool;
	struct env e;
	int i, hits = 0, mapped = 0;

	(void)state;
	assert_int_equal(memory_set_pool_init(&pool, pool_buf,
					      MEMORY_SET_POOL_BYTES(POOL_NODES)),
			 MAPPING_OK);
	env_init_alloc(&e, 0, false, &memory_set_pool_allocator, &pool);
	assert_int_equal(memory_set_pool_available(&pool), POOL_NODES);
	/* Grow until the pool runs dry: NoMemory, nothing changed. */
	for (i = 0; i < 2000 && hits < 5; i++) {
		enum mapping_error err = t_map(&e, (uint64_t)i * 0x4000, 0x3000,
					       1, false);
		if (err == MAPPING_ERR_NO_MEMORY)
			hits++;
		else {
			assert_int_equal(err, MAPPING_OK);
			mapped++;
		}
	}
	assert_true(hits == 5);
	assert_true(mapped > POOL_NODES);
	assert_int_equal(memory_set_memory_bytes(&e.set),
			 (POOL_NODES - memory_set_pool_available(&pool)) *
				 MEMORY_SET_NODE_SIZE);
	/* Splits need nodes too; unmaps that shrink or remove do not. */
	hits = 0;
	for (i = 0; i < mapped; i++) {
		enum mapping_error err = t_unmap(&e, (uint64_t)i * 0x4000 + 0x1000,
						 0x1000);
		if (err == MAPPING_ERR_NO_MEMORY)
			hits++;
		else
			assert_int_equal(err, MAPPING_OK);
	}
	assert_true(hits > 0);
	for (i = 0; i < mapped; i++)
		assert_int_equal(t_unmap(&e, (uint64_t)i * 0x4000, 0x4000),
				 MAPPING_OK);
	assert_true(memory_set_is_empty(&e.set));
	env_fini(&e);
	assert_int_equal(memory_set_pool_available(&pool), POOL_NODES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unmap_fails),
		cmocka_unit_test(test_protect_rollback),
		cmocka_unit_test(test_protect_rollback_fails),
		cmocka_unit_test(test_map_replace_fails),
		cmocka_unit_test(test_map_fails),
		cmocka_unit_test(test_clear_fails),
		cmocka_unit_test(test_split_fails),
		cmocka_unit_test(test_nomem_empty),
		cmocka_unit_test(test_nomem_map),
		cmocka_unit_test(test_nomem_unmap),
		cmocka_unit_test(test_nomem_protect),
		cmocka_unit_test(test_nomem_replace),
		cmocka_unit_test(test_nomem_file),
		cmocka_unit_test(test_nomem_sweep),
		cmocka_unit_test(test_pool_init),
		cmocka_unit_test(test_pool_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
