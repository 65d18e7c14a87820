/* The optional hooks (split, release, can_merge) and merging. */
#include "mock.h"

static const struct file_data *data_at(struct env *e, uint64_t addr)
{
	const struct memory_area *a = memory_set_find(&e->set, addr);

	assert_non_null(a);
	assert_ptr_equal(a->backend.ops, &file_ops);
	return a->backend.data;
}

/* File offset of addr, through the data of the area that holds it. */
static uint64_t off_at(struct env *e, uint64_t addr)
{
	const struct memory_area *a = memory_set_find(&e->set, addr);
	const struct file_data *d = data_at(e, addr);

	return d->file_off + (addr - a->start) + (a->start - d->vaddr);
}

static enum mapping_error map_file(struct env *e, uint64_t start,
				   uint64_t size, uint64_t flags,
				   uint64_t file_off, bool replace)
{
	struct file_data *d = file_data_new(file_off, start);
	struct mapping_backend b = { &file_ops, d };
	enum mapping_error err = t_map_b(e, start, size, flags, &b, replace);

	if (err != MAPPING_OK)
		file_data_drop(d); /* the set never took it */
	return err;
}

static void test_split_offsets(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(map_file(&e, 0x10000, 0x20000, 1, 0x100000, false),
			 MAPPING_OK);
	/* Unmap at the left: the rest starts further into the file. */
	assert_int_equal(t_unmap(&e, 0x10000, 0x4000), MAPPING_OK);
	assert_int_equal(data_at(&e, 0x14000)->file_off, 0x104000);
	/* At the right: the offset stays. */
	assert_int_equal(t_unmap(&e, 0x2c000, 0x4000), MAPPING_OK);
	assert_int_equal(data_at(&e, 0x14000)->file_off, 0x104000);
	/* In the middle: the right part has its own offset. */
	assert_int_equal(t_unmap(&e, 0x18000, 0x2000), MAPPING_OK);
	assert_int_equal(off_at(&e, 0x14000), 0x104000);
	assert_int_equal(off_at(&e, 0x1a000), 0x10a000);
	assert_int_equal(data_at(&e, 0x1a000)->vaddr, 0x1a000);
	assert_int_equal(memory_set_len(&e.set), 2);
	/* Protect: two parts, then three. */
	assert_int_equal(t_protect(&e, 0x12000, 0x4000, 2, ~0ull), MAPPING_OK);
	assert_int_equal(off_at(&e, 0x14000), 0x104000);
	assert_int_equal(off_at(&e, 0x16000), 0x106000);
	assert_int_equal(t_protect(&e, 0x1e000, 0x2000, 3, ~0ull), MAPPING_OK);
	assert_int_equal(off_at(&e, 0x1a000), 0x10a000);
	assert_int_equal(off_at(&e, 0x1e000), 0x10e000);
	assert_int_equal(off_at(&e, 0x20000), 0x110000);
	assert_int_equal(data_at(&e, 0x20000)->vaddr, 0x20000);
	assert_int_equal(memory_set_len(&e.set), 5);
	/* Replace in the middle of an area: both sides keep their offsets. */
	assert_int_equal(map_file(&e, 0x24000, 0x2000, 4, 0x900000, true),
			 MAPPING_OK);
	assert_int_equal(off_at(&e, 0x23000), 0x113000);
	assert_int_equal(off_at(&e, 0x25000), 0x901000);
	assert_int_equal(off_at(&e, 0x26000), 0x116000);
	assert_int_equal(memory_set_len(&e.set), 7);
	/* Every area owns one live data (check_env counted them). */
	assert_int_equal(file_data_live(), 7);
	env_fini(&e);
}

/* destroy() releases every area's data, each once, with no hook call. */
static void test_release_on_destroy(void **state)
{
	struct env e;
	unsigned long calls;
	int i;

	(void)state;
	env_init(&e, 0, false);
	for (i = 0; i < 50; i++)
		assert_int_equal(map_file(&e, (uint64_t)i * 0x10000, 0x8000, 1,
					  (uint64_t)i << 20, false), MAPPING_OK);
	for (i = 0; i < 50; i += 2)
		assert_int_equal(t_unmap(&e, (uint64_t)i * 0x10000 + 0x2000,
					 0x1000), MAPPING_OK);
	assert_int_equal(file_data_live(), 75);
	calls = e.m.calls;
	memory_set_destroy(&e.set);
	assert_int_equal(e.m.calls, calls);
	assert_int_equal(file_data_live(), 0);
	assert_int_equal(e.ca.live, 0);
	mock_fini(&e.m);
}

static void test_release_plain(void **state)
{
	struct env e;
	struct mapping_backend rel;
	int i;

	(void)state;
	env_init(&e, 0, false);
	rel.ops = &mock_ops_release;
	rel.data = &e.tag;
	mock_released = 0;
	for (i = 0; i < 10; i++)
		assert_int_equal(t_map_b(&e, (uint64_t)i * 0x4000, 0x2000, 1,
					 &rel, false), MAPPING_OK);
	/* Removing one area: one release. */
	assert_int_equal(t_unmap(&e, 0x4000, 0x2000), MAPPING_OK);
	assert_int_equal(mock_released, 1);
	/* Replace over two whole areas. */
	assert_int_equal(t_map(&e, 0x8000, 0x6000, 2, true), MAPPING_OK);
	assert_int_equal(mock_released, 3);
	/* clear: the remaining 7 (the replacing area has no release). */
	assert_int_equal(t_clear(&e), MAPPING_OK);
	assert_int_equal(mock_released, 3 + 7);
	env_fini(&e);
}

static void test_merge_default(void **state)
{
	struct env e;
	uint64_t other_tag;
	struct mapping_backend other_data = { &mock_ops, &other_tag };
	struct mapping_backend other_ops = { &mock_ops_release, NULL };

	(void)state;
	env_init(&e, 0, true);
	other_ops.data = &e.tag;
	assert_int_equal(t_map(&e, 0x10000, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x11000, 0x1000, 1, false), MAPPING_OK);
	assert_area(&e.set, 0x10000, 0x10000, 0x2000, 1);
	/* On the left too. */
	assert_int_equal(t_map(&e, 0xf000, 0x1000, 1, false), MAPPING_OK);
	assert_area(&e.set, 0x10000, 0xf000, 0x3000, 1);
	/* Other flags, other data, other ops: separate. */
	assert_int_equal(t_map(&e, 0x12000, 0x1000, 2, false), MAPPING_OK);
	assert_int_equal(t_map_b(&e, 0xe000, 0x1000, 1, &other_data, false),
			 MAPPING_OK);
	mock_released = 0;
	assert_int_equal(t_map_b(&e, 0xd000, 0x1000, 1, &other_ops, false),
			 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 4);
	/* Filling a hole between two equal areas makes one of three. */
	assert_int_equal(t_map(&e, 0x20000, 0x1000, 5, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x22000, 0x1000, 5, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x21000, 0x1000, 5, false), MAPPING_OK);
	assert_area(&e.set, 0x21000, 0x20000, 0x3000, 5);
	/* Protect making the middle equal to both sides joins them. */
	assert_int_equal(t_protect(&e, 0x21000, 0x1000, 6, ~0ull), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 7);
	assert_int_equal(t_protect(&e, 0x21000, 0x1000, 5, ~0ull), MAPPING_OK);
	assert_area(&e.set, 0x20000, 0x20000, 0x3000, 5);
	assert_int_equal(memory_set_len(&e.set), 5);
	/* Replace joins with both neighbours. */
	assert_int_equal(t_map(&e, 0x11000, 0x2000, 1, true), MAPPING_OK);
	assert_area(&e.set, 0x12000, 0xf000, 0x4000, 1);
	assert_int_equal(mock_released, 0);
	env_fini(&e);
}

static void test_merge_turn_on(void **state)
{
	struct env e;
	struct mapping_backend rel;
	unsigned long calls;
	int i;

	(void)state;
	env_init(&e, 0, false);
	rel.ops = &mock_ops_release;
	rel.data = &e.tag;
	mock_released = 0;
	/* 300 touching pages in runs of 3 equal flags; runs differ. */
	for (i = 0; i < 300; i++)
		assert_int_equal(t_map_b(&e, (uint64_t)i * 0x1000, 0x1000,
					 (uint64_t)(i / 3) & 1, &rel, false),
				 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 300);
	calls = e.m.calls;
	memory_set_set_merge(&e.set, true);
	assert_true(memory_set_merge_enabled(&e.set));
	check_env(&e);
	assert_int_equal(memory_set_len(&e.set), 100);
	assert_int_equal(mock_released, 200); /* each absorbed area once */
	assert_int_equal(e.m.calls, calls);   /* no page-table hook */
	assert_area(&e.set, 0x4000, 0x3000, 0x3000, 1);
	/* Turning it off keeps the areas, and later maps stay separate. */
	memory_set_set_merge(&e.set, false);
	assert_false(memory_set_merge_enabled(&e.set));
	check_env(&e);
	assert_int_equal(memory_set_len(&e.set), 100);
	assert_int_equal(t_map_b(&e, 300 * 0x1000, 0x1000, 1, &rel, false),
			 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 101);
	/* On again, already on: the new one joins, nothing else. */
	memory_set_set_merge(&e.set, true);
	memory_set_set_merge(&e.set, true);
	check_env(&e);
	assert_int_equal(memory_set_len(&e.set), 100);
	assert_int_equal(mock_released, 201);
	env_fini(&e);
}

static void test_can_merge(void **state)
{
	struct env e;
	uint64_t t1, t2;
	struct mapping_backend b1 = { &mock_ops_merge_all, &t1 };
	struct mapping_backend b2 = { &mock_ops_merge_all, &t2 };

	(void)state;
	env_init(&e, 0, true);
	/* can_merge allows different data: the left's data is kept. */
	assert_int_equal(t_map_b(&e, 0x10000, 0x1000, 1, &b1, false),
			 MAPPING_OK);
	assert_int_equal(t_map_b(&e, 0x11000, 0x1000, 1, &b2, false),
			 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 1);
	assert_ptr_equal(memory_set_find(&e.set, 0x11000)->backend.data, &t1);
	assert_int_equal(t_map_b(&e, 0xf000, 0x1000, 1, &b2, false),
			 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 1);
	assert_ptr_equal(memory_set_find(&e.set, 0x11000)->backend.data, &t2);
	/* Same flags but another ops table: no. */
	assert_int_equal(t_map(&e, 0x12000, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 2);
	env_fini(&e);

	/* File backend: only continuous offsets merge; the right's data is
	 * released (check_env counts live data against areas). */
	env_init(&e, 0, true);
	assert_int_equal(map_file(&e, 0x10000, 0x2000, 1, 0x100000, false),
			 MAPPING_OK);
	assert_int_equal(map_file(&e, 0x12000, 0x2000, 1, 0x102000, false),
			 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 1);
	assert_int_equal(file_data_live(), 1);
	assert_int_equal(map_file(&e, 0x14000, 0x2000, 1, 0x200000, false),
			 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 2);
	/* A protect that splits and then restores joins the pieces back. */
	assert_int_equal(t_protect(&e, 0x11000, 0x1000, 2, ~0ull), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 4);
	assert_int_equal(t_protect(&e, 0x11000, 0x1000, 1, ~0ull), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 2);
	assert_int_equal(off_at(&e, 0x13000), 0x103000);
	env_fini(&e);
}

/*
 * A protect that changes no area's flags calls no hook, splits nothing and
 * makes no split data; one that changes some calls the hook for those only.
 */
static void test_protect_unchanged(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(map_file(&e, 0x10000, 0x4000, 1, 0x100000, false),
			 MAPPING_OK);
	assert_int_equal(map_file(&e, 0x14000, 0x2000, 2, 0x200000, false),
			 MAPPING_OK);
	mock_clear_log(&e.m);
	assert_int_equal(t_protect(&e, 0x11000, 0x2000, 1, ~0ull), MAPPING_OK);
	assert_int_equal(e.m.nlog, 0);
	assert_int_equal(memory_set_len(&e.set), 2);
	assert_int_equal(file_data_live(), 2);
	/* Over both: only the second area's piece changes. */
	assert_int_equal(t_protect(&e, 0x12000, 0x3000, 1, ~0ull), MAPPING_OK);
	assert_int_equal(e.m.nlog, 1);
	assert_int_equal(e.m.log[0].kind, HOOK_PROTECT);
	assert_int_equal(e.m.log[0].start, 0x14000);
	assert_int_equal(e.m.log[0].size, 0x1000);
	assert_int_equal(memory_set_len(&e.set), 3);
	assert_int_equal(off_at(&e, 0x15000), 0x201000);
	env_fini(&e);
}

/* Merging off (the default): equal touching areas stay apart. */
static void test_merge_off(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0x10000, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x11000, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 2);
	assert_int_equal(t_protect(&e, 0x10000, 0x2000, 2, ~0ull), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 2);
	env_fini(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_offsets),
		cmocka_unit_test(test_release_on_destroy),
		cmocka_unit_test(test_release_plain),
		cmocka_unit_test(test_merge_default),
		cmocka_unit_test(test_protect_unchanged),
		cmocka_unit_test(test_merge_turn_on),
		cmocka_unit_test(test_can_merge),
		cmocka_unit_test(test_merge_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
