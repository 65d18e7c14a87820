/*
 * The operations a kernel builds on: dup (fork), remap in place and move
 * (mremap), page faults, access checks, the strict forms, the area limit,
 * the gap iterator and the /proc/PID/maps line, and version 1 backends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct want {
	uint64_t start, size, flags;
};

/* The set holds exactly the areas of w, in order. */
static void assert_areas(const struct memory_set *set, const struct want *w,
			 size_t n)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	size_t k = 0;

	memory_set_foreach(a, &it, set) {
		if (k >= n)
			fail_msg("more than %zu areas; extra at %#llx", n,
				 (unsigned long long)a->start);
		if (a->start != w[k].start || a->size != w[k].size ||
		    a->flags != w[k].flags)
			fail_msg("area %zu is %#llx+%#llx/%#llx, want "
				 "%#llx+%#llx/%#llx",
				 k, (unsigned long long)a->start,
				 (unsigned long long)a->size,
				 (unsigned long long)a->flags,
				 (unsigned long long)w[k].start,
				 (unsigned long long)w[k].size,
				 (unsigned long long)w[k].flags);
		k++;
	}
	assert_int_equal(k, n);
}

static void assert_call(const struct hook_call *c, enum hook_kind kind,
			uint64_t start, uint64_t size)
{
	if (c->kind != kind || c->start != start || c->size != size)
		fail_msg("hook call %d %#llx+%#llx, want %d %#llx+%#llx",
			 (int)c->kind, (unsigned long long)c->start,
			 (unsigned long long)c->size, (int)kind,
			 (unsigned long long)start, (unsigned long long)size);
}

static enum mapping_error map_with(struct env *e, uint64_t start,
				   uint64_t size, uint64_t flags,
				   const struct mapping_backend_ops *ops)
{
	struct mapping_backend b = { ops, &e->tag };

	return t_map_b(e, start, size, flags, &b, false);
}

static enum mapping_error map_file(struct env *e, uint64_t start,
				   uint64_t size, uint64_t flags,
				   uint64_t file_off)
{
	struct file_data *d = file_data_new(file_off, start);
	struct mapping_backend b = { &file_ops, d };
	enum mapping_error err = t_map_b(e, start, size, flags, &b, false);

	if (err != MAPPING_OK)
		file_data_drop(d);
	return err;
}

/* File offset of addr, through the data of the area holding it. */
static uint64_t off_at(struct env *e, uint64_t addr)
{
	const struct memory_area *a = memory_set_find(&e->set, addr);
	const struct file_data *d;

	assert_non_null(a);
	assert_ptr_equal(a->backend.ops, &file_ops);
	d = a->backend.data;
	return d->file_off + (addr - d->vaddr);
}

/* ---- errors ------------------------------------------------------------ */

static void test_access_denied_error(void **state)
{
	(void)state;
	assert_int_equal(MAPPING_ERR_ACCESS_DENIED, -5);
	assert_string_equal(mapping_strerror(MAPPING_ERR_ACCESS_DENIED),
			    "AccessDenied");
	assert_int_equal(mapping_error_to_errno(MAPPING_ERR_ACCESS_DENIED), 13);
	/* The old ones are unchanged. */
	assert_string_equal(mapping_strerror(MAPPING_ERR_NO_MEMORY), "NoMemory");
	assert_int_equal(mapping_error_to_errno(MAPPING_ERR_NO_MEMORY), 12);
	assert_string_equal(mapping_strerror((enum mapping_error)-6),
			    "UnknownError");
}

/* ---- dup ------------------------------------------------------------------ */

/* Both sets have the same areas; data equal when shared. */
static void assert_same_areas(const struct memory_set *x,
			      const struct memory_set *y, bool same_data)
{
	struct memory_set_iter ix, iy;
	const struct memory_area *a, *b;

	assert_int_equal(memory_set_len(x), memory_set_len(y));
	memory_set_iter_init(&ix, x, 0);
	memory_set_iter_init(&iy, y, 0);
	while ((a = memory_set_iter_next(&ix)) != NULL) {
		b = memory_set_iter_next(&iy);
		assert_non_null(b);
		assert_int_equal(a->start, b->start);
		assert_int_equal(a->size, b->size);
		assert_int_equal(a->flags, b->flags);
		assert_ptr_equal(a->backend.ops, b->backend.ops);
		if (same_data)
			assert_ptr_equal(a->backend.data, b->backend.data);
		else
			assert_ptr_not_equal(a->backend.data, b->backend.data);
	}
	assert_null(memory_set_iter_next(&iy));
}

static const struct want dup_areas[] = {
	{ 0x10000, 0x4000, 1 },
	{ 0x20000, 0x1000, 2 },
	{ 0x21000, 0x3000, 3 },
	{ 0x40000, 0x2000, 1 },
	{ 0xffffffffffffe000ull, 0x2000, 2 },
};

static void map_dup_areas(struct env *e, const struct mapping_backend_ops *ops)
{
	for (size_t i = 0; i < ARRAY_LEN(dup_areas); i++)
		assert_int_equal(map_with(e, dup_areas[i].start,
					  dup_areas[i].size,
					  dup_areas[i].flags, ops),
				 MAPPING_OK);
}

/* The dup hook runs once per area, in order, with both page tables. */
static void test_dup_hook(void **state)
{
	struct env p, c;
	struct snap before;
	unsigned long pcalls;

	(void)state;
	env_init(&p, 0, false);
	map_dup_areas(&p, &mock_ops_v2);
	env_init_child(&c, 0);
	snap_take(&before, &p.set);
	pcalls = p.m.calls;
	assert_int_equal(memory_set_dup(&c.set, &p.set, &p.m, &c.m),
			 MAPPING_OK);
	check_env(&c);
	check_env(&p);
	snap_assert_same(&before, &p.set);
	snap_free(&before);
	assert_int_equal(p.m.calls, pcalls);
	assert_int_equal(c.m.nlog, ARRAY_LEN(dup_areas));
	for (size_t i = 0; i < ARRAY_LEN(dup_areas); i++) {
		const struct hook_call *h = &c.m.log[i];

		assert_call(h, HOOK_DUP, dup_areas[i].start, dup_areas[i].size);
		assert_int_equal(h->new_flags, dup_areas[i].flags);
		assert_ptr_equal(h->src_pt, &p.m);
		assert_ptr_equal(h->data, &p.tag);
	}
	assert_same_areas(&p.set, &c.set, true);
	assert_areas(&c.set, dup_areas, ARRAY_LEN(dup_areas));

	/* The two sets are independent now. */
	assert_int_equal(t_unmap(&c, 0x20000, 0x2000), MAPPING_OK);
	assert_int_equal(t_map(&c, 0x80000, 0x1000, 5, false), MAPPING_OK);
	assert_areas(&p.set, dup_areas, ARRAY_LEN(dup_areas));
	check_env(&p);
	env_fini(&c);
	env_fini(&p);
}

/* Without a dup hook (and for a version 1 table): map() on the child's page
 * table, data shared. */
static void dup_default(const struct mapping_backend_ops *ops)
{
	struct env p, c;

	env_init(&p, 0, false);
	map_dup_areas(&p, ops);
	env_init_child(&c, 0);
	assert_int_equal(memory_set_dup(&c.set, &p.set, &p.m, &c.m),
			 MAPPING_OK);
	check_env(&c);
	check_env(&p);
	assert_int_equal(c.m.nlog, ARRAY_LEN(dup_areas));
	for (size_t i = 0; i < ARRAY_LEN(dup_areas); i++) {
		assert_call(&c.m.log[i], HOOK_MAP, dup_areas[i].start,
			    dup_areas[i].size);
		assert_int_equal(c.m.log[i].new_flags, dup_areas[i].flags);
		assert_ptr_equal(c.m.log[i].data, &p.tag);
	}
	assert_same_areas(&p.set, &c.set, true);
	env_fini(&c);
	env_fini(&p);
}

static void test_dup_default(void **state)
{
	(void)state;
	dup_default(&mock_ops);
	dup_default(&mock_ops_v1_trap);
}

/* A dup hook that makes new data: each child area owns its own. */
static void test_dup_file(void **state)
{
	struct env p, c;

	(void)state;
	env_init(&p, 0, false);
	assert_int_equal(map_file(&p, 0x10000, 0x4000, 1, 0x100000), MAPPING_OK);
	assert_int_equal(map_file(&p, 0x20000, 0x2000, 3, 0x500000), MAPPING_OK);
	assert_int_equal(t_unmap(&p, 0x11000, 0x1000), MAPPING_OK);
	assert_int_equal(memory_set_len(&p.set), 3);
	env_init_child(&c, 3);
	assert_int_equal(memory_set_dup(&c.set, &p.set, &p.m, &c.m),
			 MAPPING_OK);
	assert_int_equal(file_data_live(), 6);
	p.file_others = c.file_others = 3;
	check_env(&c);
	check_env(&p);
	assert_same_areas(&p.set, &c.set, false);
	assert_int_equal(off_at(&c, 0x12000), 0x102000);
	assert_int_equal(off_at(&c, 0x21000), 0x501000);
	env_fini(&c);
	p.file_others = 0;
	env_fini(&p);
}

/* Granule, merge and limit come with the copy. */
static void test_dup_settings(void **state)
{
	struct env p, c;

	(void)state;
	env_init(&p, 0x2000, true);
	memory_set_set_max_areas(&p.set, 7);
	assert_int_equal(t_map(&p, 0x10000, 0x2000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&p, 0x12000, 0x2000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&p, 0x20000, 0x2000, 2, false), MAPPING_OK);
	assert_int_equal(memory_set_len(&p.set), 2);
	env_init_child(&c, 0);
	assert_int_equal(memory_set_dup(&c.set, &p.set, &p.m, &c.m),
			 MAPPING_OK);
	check_env(&c);
	assert_int_equal(memory_set_granule(&c.set), 0x2000);
	assert_true(memory_set_merge_enabled(&c.set));
	assert_int_equal(memory_set_max_areas(&c.set), 7);
	assert_same_areas(&p.set, &c.set, true);
	/* The copied granule is the child's rule now. */
	assert_int_equal(t_map(&c, 0x31000, 0x1000, 1, false),
			 MAPPING_ERR_INVALID_PARAM);
	/* Merge is on in the child: a touching equal area joins. */
	assert_int_equal(t_map_b(&c, 0x14000, 0x2000, 1, &p.plain, false),
			 MAPPING_OK);
	assert_int_equal(memory_set_len(&c.set), 2);
	assert_area(&c.set, 0x10000, 0x10000, 0x6000, 1);
	env_fini(&c);
	env_fini(&p);
}

static void test_dup_empty_and_invalid(void **state)
{
	struct env p, c;
	struct snap before;

	(void)state;
	env_init(&p, 0, false);
	env_init_child(&c, 0);
	/* An empty source: an empty child, no hook. */
	assert_int_equal(memory_set_dup(&c.set, &p.set, &p.m, &c.m),
			 MAPPING_OK);
	check_env(&c);
	assert_true(memory_set_is_empty(&c.set));
	assert_int_equal(c.m.calls, 0);

	assert_int_equal(t_map(&p, 0x10000, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&c, 0x50000, 0x1000, 2, false), MAPPING_OK);
	/* The destination must be empty; nothing changes, no hook. */
	snap_take(&before, &c.set);
	assert_int_equal(memory_set_dup(&c.set, &p.set, &p.m, &c.m),
			 MAPPING_ERR_INVALID_PARAM);
	snap_assert_same(&before, &c.set);
	snap_free(&before);
	assert_int_equal(c.m.calls, 1);
	check_env(&c);
	/* Not itself, not NULL. */
	assert_int_equal(memory_set_dup(&p.set, &p.set, &p.m, &p.m),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(memory_set_dup(NULL, &p.set, &p.m, &c.m),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(memory_set_dup(&c.set, NULL, &p.m, &c.m),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(p.m.calls, 1);
	check_env(&p);
	check_env(&c);
	env_fini(&c);
	env_fini(&p);
}

/* The child's allocator failing at each of its allocations in turn:
 * NoMemory before any hook, the child empty and holding no memory. */
static void test_dup_no_memory(void **state)
{
	struct env p, c;
	unsigned long allocs;
	struct mapping_backend b;

	(void)state;
	env_init(&p, 0, false);
	b.ops = &mock_ops_release;
	b.data = &p.tag;
	/* Enough areas for a tree of several levels. */
	for (uint64_t i = 0; i < 3000; i++) {
		assert_int_equal(memory_set_map(&p.set, 0x100000 + i * 0x2000,
						0x1000, i & 3, &b, &p.m, false),
				 MAPPING_OK);
		assert_null(memory_set_check(&p.set));
	}
	check_env(&p);
	env_init_child(&c, 0);
	assert_int_equal(memory_set_dup(&c.set, &p.set, &p.m, &c.m),
			 MAPPING_OK);
	allocs = c.ca.calls;
	assert_true(allocs > 3);
	check_env(&c);
	assert_same_areas(&p.set, &c.set, true);
	env_fini(&c);

	for (unsigned long k = 1; k <= allocs; k++) {
		unsigned long released = mock_released;

		env_init_child(&c, 0);
		c.ca.fail_from = k;
		assert_int_equal(memory_set_dup(&c.set, &p.set, &p.m, &c.m),
				 MAPPING_ERR_NO_MEMORY);
		assert_int_equal(c.m.calls, 0);
		assert_int_equal(mock_released, released);
		assert_true(memory_set_is_empty(&c.set));
		assert_int_equal(memory_set_memory_bytes(&c.set), 0);
		assert_int_equal(c.ca.live, 0);
		check_env(&c);
		c.ca.fail_from = 0;
		env_fini(&c);
	}
	assert_int_equal(memory_set_len(&p.set), 3000);
	check_env(&p);
	env_fini(&p);
}

/*
 * The k-th dup (or map, without a dup hook) failing: the k-1 areas already
 * made are unmapped from the child's page table and released, in reverse
 * order; the child is empty and holds no memory; the source is unchanged.
 */
static void dup_fail_kth(const struct mapping_backend_ops *ops, bool file)
{
	struct env p, c;
	struct snap before;
	const size_t n = ARRAY_LEN(dup_areas);

	env_init(&p, 0, false);
	for (size_t i = 0; i < n; i++) {
		if (file)
			assert_int_equal(map_file(&p, dup_areas[i].start,
						  dup_areas[i].size,
						  dup_areas[i].flags,
						  0x1000000 * (i + 1)),
					 MAPPING_OK);
		else
			assert_int_equal(map_with(&p, dup_areas[i].start,
						  dup_areas[i].size,
						  dup_areas[i].flags, ops),
					 MAPPING_OK);
	}
	snap_take(&before, &p.set);
	for (size_t k = 1; k <= n; k++) {
		unsigned long released = mock_released, pcalls = p.m.calls;
		enum hook_kind made = file || ops->dup ? HOOK_DUP : HOOK_MAP;

		env_init_child(&c, file ? (long)n : 0); /* the parent's data */
		mock_nrelease = 0;
		mock_fail_in(&c.m, k, MAPPING_ERR_BAD_STATE);
		assert_int_equal(memory_set_dup(&c.set, &p.set, &p.m, &c.m),
				 MAPPING_ERR_BAD_STATE);
		/* k calls made (the last failed), then k-1 unmaps back. */
		assert_int_equal(c.m.nlog, k + (k - 1));
		for (size_t i = 0; i < k; i++)
			assert_call(&c.m.log[i], made, dup_areas[i].start,
				    dup_areas[i].size);
		for (size_t j = 0; j + 1 < k; j++)
			assert_call(&c.m.log[k + j], HOOK_UNMAP,
				    dup_areas[k - 2 - j].start,
				    dup_areas[k - 2 - j].size);
		/* Released in reverse order: the child's data only. */
		if (file || ops->release) {
			assert_int_equal(mock_nrelease, k - 1);
			for (size_t j = 0; j + 1 < k; j++)
				assert_int_equal(mock_release_log[j],
						 dup_areas[k - 2 - j].start);
		}
		if (!file && ops->release)
			assert_int_equal(mock_released - released, k - 1);
		if (file)
			assert_int_equal(file_data_live(), (long)n);
		assert_true(memory_set_is_empty(&c.set));
		assert_int_equal(memory_set_memory_bytes(&c.set), 0);
		assert_int_equal(c.ca.live, 0);
		assert_int_equal(c.m.sh.n, 0);
		check_env(&c);
		/* The source: unchanged, its page table untouched. */
		assert_int_equal(p.m.calls, pcalls);
		snap_assert_same(&before, &p.set);
		check_env(&p);
		/* The child still works. */
		assert_int_equal(t_map(&c, 0x1000, 0x1000, 1, false),
				 MAPPING_OK);
		env_fini(&c);
	}
	snap_free(&before);
	env_fini(&p);
}

static void test_dup_failure(void **state)
{
	(void)state;
	dup_fail_kth(&mock_ops_release, false);    /* default: map fails */
	dup_fail_kth(&mock_ops_v2_release, false); /* the dup hook fails */
	dup_fail_kth(&file_ops, true);             /* with child data */
}

/*
 * The undo of a failed dup whose unmap fails for some areas: those stay in
 * the child, as its page table still maps them; the others are unmapped and
 * released as usual. Every subset of the four undone areas fails in turn.
 */
static void test_dup_undo_unmap_fails(void **state)
{
	const size_t k = 5; /* the fifth dup fails: four areas to undo */
	struct env p, c;

	(void)state;
	env_init(&p, 0, false);
	map_dup_areas(&p, &mock_ops_v2_release);
	for (unsigned mask = 0; mask < 16; mask++) {
		struct want w[4];
		size_t nw = 0;
		unsigned kept = 0;

		env_init_child(&c, 0);
		mock_nrelease = 0;
		mock_fail_in(&c.m, k, MAPPING_ERR_BAD_STATE);
		/* Undo call j unmaps area k - 2 - j. */
		for (unsigned j = 0; j < 4; j++)
			if (mask & (1u << j))
				mock_fail_in(&c.m, k + 1 + j,
					     MAPPING_ERR_NO_MEMORY);
		assert_int_equal(memory_set_dup(&c.set, &p.set, &p.m, &c.m),
				 MAPPING_ERR_BAD_STATE);
		assert_int_equal(c.m.nlog, k + (k - 1));
		for (size_t i = 0; i + 1 < k; i++) {
			if (mask & (1u << (k - 2 - i))) {
				w[nw++] = dup_areas[i];
				kept++;
			}
		}
		assert_areas(&c.set, w, nw);
		assert_int_equal(mock_nrelease, 4 - kept);
		check_env(&c); /* the set is the page table */
		assert_int_equal(memory_set_granule(&c.set), 4096);
		env_fini(&c);
	}
	env_fini(&p);
}

/*
 * A lockless set never gives back a node that a reader may be in: here the
 * nodes of the tree it held before a clear, spare since. Not when a dup
 * into it fails at a hook, nor when it runs out of memory; it then gives
 * back only the nodes it got during the call, which no reader saw.
 */
/* A lockless set that held a tree of 300 areas and was cleared: the nodes
 * it has now must all stay until destroy. */
static void init_cleared_lockless(struct env *c)
{
	env_init_lockless(c, false);
	for (uint64_t i = 0; i < 300; i++)
		assert_int_equal(t_map(c, 0x4000000 + i * 0x2000, 0x1000,
				       i & 1, false),
				 MAPPING_OK);
	assert_int_equal(t_clear(c), MAPPING_OK);
	c->ca.keep_below = c->ca.calls + 1;
}

static void test_dup_lockless_keeps_nodes(void **state)
{
	struct env p, c;
	enum mapping_error err;
	uint64_t bytes;

	(void)state;
	env_init(&p, 0, false);
	for (uint64_t i = 0; i < 600; i++)
		assert_int_equal(map_with(&p, 0x100000 + i * 0x2000, 0x1000,
					  i & 3, &mock_ops_v2_release),
				 MAPPING_OK);
	for (unsigned long k = 1; k <= 600; k += 299) {
		init_cleared_lockless(&c);
		mock_fail_in(&c.m, k, MAPPING_ERR_BAD_STATE);
		assert_int_equal(memory_set_dup(&c.set, &p.set, &p.m, &c.m),
				 MAPPING_ERR_BAD_STATE);
		assert_true(memory_set_is_empty(&c.set));
		check_env(&c);
		env_fini(&c);
	}

	init_cleared_lockless(&c);
	bytes = memory_set_memory_bytes(&c.set);
	for (unsigned long k = 1;; k++) {
		unsigned long calls = c.m.calls;

		c.ca.fail_from = c.ca.calls + k;
		err = memory_set_dup(&c.set, &p.set, &p.m, &c.m);
		c.ca.fail_from = 0;
		if (err == MAPPING_OK)
			break;
		assert_int_equal(err, MAPPING_ERR_NO_MEMORY);
		assert_int_equal(c.m.calls, calls);
		assert_true(memory_set_is_empty(&c.set));
		assert_int_equal(memory_set_memory_bytes(&c.set), bytes);
		check_env(&c);
	}
	assert_same_areas(&p.set, &c.set, true);
	check_env(&c);
	env_fini(&c);
	env_fini(&p);
}

/* A failed dup leaves the child's granule, merge setting and limit as
 * they were, whether a hook failed or memory ran out. */
static void test_dup_failure_keeps_settings(void **state)
{
	struct env p, c;

	(void)state;
	env_init(&p, 0x2000, true);
	memory_set_set_max_areas(&p.set, 7);
	assert_int_equal(t_map_b(&p, 0x10000, 0x2000, 1,
				 &(struct mapping_backend){ &mock_ops_v2_release,
							    &p.tag },
				 false),
			 MAPPING_OK);
	for (int nomem = 0; nomem < 2; nomem++) {
		env_init_child(&c, 0);
		memory_set_set_max_areas(&c.set, 3);
		if (nomem)
			c.ca.fail_from = 1;
		else
			mock_fail_in(&c.m, 1, MAPPING_ERR_BAD_STATE);
		assert_int_equal(memory_set_dup(&c.set, &p.set, &p.m, &c.m),
				 nomem ? MAPPING_ERR_NO_MEMORY
				       : MAPPING_ERR_BAD_STATE);
		c.ca.fail_from = 0;
		assert_int_equal(memory_set_granule(&c.set), 4096);
		assert_false(memory_set_merge_enabled(&c.set));
		assert_int_equal(memory_set_max_areas(&c.set), 3);
		check_env(&c);
		env_fini(&c);
	}
	env_fini(&p);
}

/* ---- remap in place ------------------------------------------------------ */

static void test_remap_shrink(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0x10000, 0x8000, 1, false), MAPPING_OK);
	mock_clear_log(&e.m);
	/* From the end: exactly an unmap of the tail. */
	assert_int_equal(t_remap(&e, 0x10000, 0x8000, 0x4000), MAPPING_OK);
	assert_int_equal(e.m.nlog, 1);
	assert_call(&e.m.log[0], HOOK_UNMAP, 0x14000, 0x4000);
	assert_area(&e.set, 0x10000, 0x10000, 0x4000, 1);

	/* A range inside the area: the area splits. */
	assert_int_equal(t_map(&e, 0x20000, 0x8000, 2, false), MAPPING_OK);
	mock_clear_log(&e.m);
	assert_int_equal(t_remap(&e, 0x22000, 0x2000, 0x1000), MAPPING_OK);
	assert_int_equal(e.m.nlog, 1);
	assert_call(&e.m.log[0], HOOK_UNMAP, 0x23000, 0x1000);
	{
		const struct want w[] = { { 0x10000, 0x4000, 1 },
					  { 0x20000, 0x3000, 2 },
					  { 0x24000, 0x4000, 2 } };
		assert_areas(&e.set, w, ARRAY_LEN(w));
	}

	/* A file area keeps its offsets on both sides. */
	assert_int_equal(map_file(&e, 0x40000, 0x4000, 1, 0x700000), MAPPING_OK);
	assert_int_equal(t_remap(&e, 0x41000, 0x2000, 0x1000), MAPPING_OK);
	assert_int_equal(off_at(&e, 0x41000), 0x701000);
	assert_int_equal(off_at(&e, 0x43000), 0x703000);
	assert_null(memory_set_find(&e.set, 0x42000));
	env_fini(&e);
}

static void test_remap_grow(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0x10000, 0x4000, 3, false), MAPPING_OK);
	mock_clear_log(&e.m);
	assert_int_equal(t_remap(&e, 0x10000, 0x4000, 0x8000), MAPPING_OK);
	assert_int_equal(e.m.nlog, 1);
	assert_call(&e.m.log[0], HOOK_MAP, 0x14000, 0x4000);
	assert_int_equal(e.m.log[0].new_flags, 3);
	assert_ptr_equal(e.m.log[0].data, &e.tag);
	assert_area(&e.set, 0x10000, 0x10000, 0x8000, 3);
	assert_int_equal(memory_set_len(&e.set), 1);

	/* A range that ends where the area ends may grow too. */
	assert_int_equal(t_remap(&e, 0x16000, 0x2000, 0x4000), MAPPING_OK);
	assert_area(&e.set, 0x10000, 0x10000, 0xa000, 3);

	/* Equal sizes: nothing at all (t_remap checks no hook ran). */
	assert_int_equal(t_remap(&e, 0x11000, 0x2000, 0x2000), MAPPING_OK);
	assert_area(&e.set, 0x10000, 0x10000, 0xa000, 3);

	/* A file area: the grown part continues the file. */
	assert_int_equal(map_file(&e, 0x40000, 0x2000, 1, 0x300000), MAPPING_OK);
	assert_int_equal(t_remap(&e, 0x40000, 0x2000, 0x5000), MAPPING_OK);
	assert_area(&e.set, 0x40000, 0x40000, 0x5000, 1);
	assert_int_equal(off_at(&e, 0x44000), 0x304000);
	env_fini(&e);
}

static void test_remap_grow_blocked(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0x10000, 0x4000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x16000, 0x1000, 1, false), MAPPING_OK);
	/* The next area is in the way. */
	assert_int_equal(t_remap(&e, 0x10000, 0x4000, 0x8000),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(t_remap(&e, 0x10000, 0x4000, 0x6001000),
			 MAPPING_ERR_NO_MEMORY);
	/* Up to it exactly is fine; merge is off, so they stay two. */
	assert_int_equal(t_remap(&e, 0x10000, 0x4000, 0x6000), MAPPING_OK);
	assert_area(&e.set, 0x10000, 0x10000, 0x6000, 1);
	assert_int_equal(memory_set_len(&e.set), 2);
	/* A range that does not end where its area ends cannot grow. */
	assert_int_equal(t_remap(&e, 0x10000, 0x2000, 0x3000),
			 MAPPING_ERR_NO_MEMORY);
	/* At the top of the space: growing past 2^64 is a bad argument. */
	assert_int_equal(t_map(&e, 0xffffffffffffe000ull, 0x2000, 1, false),
			 MAPPING_OK);
	assert_int_equal(t_remap(&e, 0xffffffffffffe000ull, 0x2000, 0x3000),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_remap(&e, 0xfffffffffffff000ull, 0x1000, 0x1000),
			 MAPPING_OK);
	env_fini(&e);
}

static void test_remap_bad_args(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0x10000, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x11000, 0x1000, 2, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0xfffffffffffff000ull, 0x1000, 1, false),
			 MAPPING_OK);
	/* InvalidParam: alignment, zero sizes, past 2^64. */
	assert_int_equal(t_remap(&e, 0x10800, 0x1000, 0x1000),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_remap(&e, 0x10000, 0x800, 0x1000),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_remap(&e, 0x10000, 0x1000, 0x1800),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_remap(&e, 0x10000, 0, 0x1000),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_remap(&e, 0x10000, 0x1000, 0),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_remap(&e, 0xfffffffffffff000ull, 0x2000, 0x1000),
			 MAPPING_ERR_INVALID_PARAM);
	/* InvalidParam comes first, even in a hole. */
	assert_int_equal(t_remap(&e, 0x50800, 0x1000, 0x1000),
			 MAPPING_ERR_INVALID_PARAM);
	/* BadState: not inside one area. */
	assert_int_equal(t_remap(&e, 0x50000, 0x1000, 0x2000),
			 MAPPING_ERR_BAD_STATE);
	assert_int_equal(t_remap(&e, 0x10000, 0x2000, 0x1000),
			 MAPPING_ERR_BAD_STATE);
	assert_int_equal(t_remap(&e, 0x11000, 0x2000, 0x4000),
			 MAPPING_ERR_BAD_STATE);
	assert_int_equal(t_remap(&e, 0xf000, 0x2000, 0x1000),
			 MAPPING_ERR_BAD_STATE);
	/* BadState before the limit. */
	memory_set_set_max_areas(&e.set, 1);
	assert_int_equal(t_remap(&e, 0x50000, 0x1000, 0x2000),
			 MAPPING_ERR_BAD_STATE);
	env_fini(&e);
}

static void test_remap_merge(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, true);
	assert_int_equal(t_map(&e, 0x10000, 0x4000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x18000, 0x4000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x30000, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x32000, 0x1000, 2, false), MAPPING_OK);
	mock_clear_log(&e.m);
	/* Growing up to the next area with equal flags joins it. */
	assert_int_equal(t_remap(&e, 0x10000, 0x4000, 0x8000), MAPPING_OK);
	assert_int_equal(e.m.nlog, 1);
	assert_call(&e.m.log[0], HOOK_MAP, 0x14000, 0x4000);
	/* Other flags: touching, but two areas. */
	assert_int_equal(t_remap(&e, 0x30000, 0x1000, 0x2000), MAPPING_OK);
	{
		const struct want w[] = { { 0x10000, 0xc000, 1 },
					  { 0x30000, 0x2000, 1 },
					  { 0x32000, 0x1000, 2 } };
		assert_areas(&e.set, w, ARRAY_LEN(w));
	}
	env_fini(&e);
}

/* ---- remap_fixed ----------------------------------------------------------- */

static void test_remap_fixed_replace(void **state)
{
	struct env e;
	struct mapping_backend b;

	(void)state;
	env_init(&e, 0, false);
	b.ops = &mock_ops_v2;
	b.data = &e.tag;
	assert_int_equal(t_map_b(&e, 0x10000, 0x4000, 1, &b, false), MAPPING_OK);
	assert_int_equal(t_map_b(&e, 0x20000, 0x8000, 2, &b, false), MAPPING_OK);
	mock_clear_log(&e.m);
	/* The target's area loses the middle; the moved area lands there. */
	assert_int_equal(t_remap_fixed(&e, 0x10000, 0x4000, 0x4000, 0x22000),
			 MAPPING_OK);
	assert_int_equal(e.m.nlog, 2);
	assert_call(&e.m.log[0], HOOK_UNMAP, 0x22000, 0x4000);
	assert_call(&e.m.log[1], HOOK_MOVE, 0x10000, 0x4000);
	assert_int_equal(e.m.log[1].new_start, 0x22000);
	assert_int_equal(e.m.log[1].old_flags, 1);
	assert_ptr_equal(e.m.log[1].data, &e.tag);
	{
		const struct want w[] = { { 0x20000, 0x2000, 2 },
					  { 0x22000, 0x4000, 1 },
					  { 0x26000, 0x2000, 2 } };
		assert_areas(&e.set, w, ARRAY_LEN(w));
	}
	/* Back down, over nothing: only the move. */
	mock_clear_log(&e.m);
	assert_int_equal(t_remap_fixed(&e, 0x22000, 0x4000, 0x4000, 0x0),
			 MAPPING_OK);
	assert_int_equal(e.m.nlog, 1);
	assert_call(&e.m.log[0], HOOK_MOVE, 0x22000, 0x4000);
	assert_int_equal(e.m.log[0].new_start, 0);
	/* To the very top. */
	assert_int_equal(t_remap_fixed(&e, 0, 0x4000, 0x4000,
				       0xffffffffffffc000ull),
			 MAPPING_OK);
	assert_area(&e.set, 0xfffffffffffff000ull, 0xffffffffffffc000ull,
		    0x4000, 1);
	env_fini(&e);
}

static void test_remap_fixed_sizes(void **state)
{
	struct env e;
	struct mapping_backend b;

	(void)state;
	env_init(&e, 0, false);
	b.ops = &mock_ops_v2;
	b.data = &e.tag;
	assert_int_equal(t_map_b(&e, 0x10000, 0x8000, 3, &b, false), MAPPING_OK);
	/* Smaller: the tail goes first, then the rest moves. */
	mock_clear_log(&e.m);
	assert_int_equal(t_remap_fixed(&e, 0x10000, 0x8000, 0x2000, 0x40000),
			 MAPPING_OK);
	assert_int_equal(e.m.nlog, 2);
	assert_call(&e.m.log[0], HOOK_UNMAP, 0x12000, 0x6000);
	assert_call(&e.m.log[1], HOOK_MOVE, 0x10000, 0x2000);
	assert_int_equal(e.m.log[1].new_start, 0x40000);
	{
		const struct want w[] = { { 0x40000, 0x2000, 3 } };
		assert_areas(&e.set, w, ARRAY_LEN(w));
	}
	/* Larger: the move, then the rest is mapped with the same flags. */
	mock_clear_log(&e.m);
	assert_int_equal(t_remap_fixed(&e, 0x40000, 0x2000, 0x6000, 0x80000),
			 MAPPING_OK);
	assert_int_equal(e.m.nlog, 2);
	assert_call(&e.m.log[0], HOOK_MOVE, 0x40000, 0x2000);
	assert_int_equal(e.m.log[0].new_start, 0x80000);
	assert_call(&e.m.log[1], HOOK_MAP, 0x82000, 0x4000);
	assert_int_equal(e.m.log[1].new_flags, 3);
	{
		const struct want w[] = { { 0x80000, 0x6000, 3 } };
		assert_areas(&e.set, w, ARRAY_LEN(w));
	}
	/* A range inside an area: the pieces around it stay. */
	mock_clear_log(&e.m);
	assert_int_equal(t_remap_fixed(&e, 0x82000, 0x2000, 0x2000, 0x10000),
			 MAPPING_OK);
	assert_int_equal(e.m.nlog, 1);
	assert_call(&e.m.log[0], HOOK_MOVE, 0x82000, 0x2000);
	{
		const struct want w[] = { { 0x10000, 0x2000, 3 },
					  { 0x80000, 0x2000, 3 },
					  { 0x84000, 0x2000, 3 } };
		assert_areas(&e.set, w, ARRAY_LEN(w));
	}
	env_fini(&e);
}

/* Offsets: the moved part has the data split() made for its offset, the
 * pieces around keep theirs, the grown part continues the file. The file
 * backend's move checks it is given the data that begins at the range. */
static void test_remap_fixed_file(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(map_file(&e, 0x10000, 0x8000, 1, 0x100000), MAPPING_OK);
	assert_int_equal(map_file(&e, 0x60000, 0x4000, 2, 0x900000), MAPPING_OK);
	mock_clear_log(&e.m);
	assert_int_equal(t_remap_fixed(&e, 0x12000, 0x2000, 0x3000, 0x61000),
			 MAPPING_OK);
	{
		const struct want w[] = { { 0x10000, 0x2000, 1 },
					  { 0x14000, 0x4000, 1 },
					  { 0x60000, 0x1000, 2 },
					  { 0x61000, 0x3000, 1 } };
		assert_areas(&e.set, w, ARRAY_LEN(w));
	}
	assert_int_equal(off_at(&e, 0x10000), 0x100000);
	assert_int_equal(off_at(&e, 0x14000), 0x104000);
	assert_int_equal(off_at(&e, 0x60000), 0x900000);
	assert_int_equal(off_at(&e, 0x61000), 0x102000);
	assert_int_equal(off_at(&e, 0x63000), 0x104000);
	assert_int_equal(file_data_live(), 4);
	/* The target's unmap, the move, the map of the rest. */
	assert_int_equal(e.m.nlog, 3);
	assert_call(&e.m.log[0], HOOK_UNMAP, 0x61000, 0x3000);
	assert_call(&e.m.log[1], HOOK_MOVE, 0x12000, 0x2000);
	assert_int_equal(e.m.log[1].new_start, 0x61000);
	assert_call(&e.m.log[2], HOOK_MAP, 0x63000, 0x1000);
	env_fini(&e);
}

/* No move hook (or a version 1 table): map() the new range, unmap() the
 * old one. */
static void remap_fixed_default(const struct mapping_backend_ops *ops)
{
	struct env e;

	env_init(&e, 0, false);
	assert_int_equal(map_with(&e, 0x10000, 0x2000, 1, ops), MAPPING_OK);
	mock_clear_log(&e.m);
	assert_int_equal(t_remap_fixed(&e, 0x10000, 0x2000, 0x2000, 0x30000),
			 MAPPING_OK);
	assert_int_equal(e.m.nlog, 2);
	assert_call(&e.m.log[0], HOOK_MAP, 0x30000, 0x2000);
	assert_int_equal(e.m.log[0].new_flags, 1);
	assert_call(&e.m.log[1], HOOK_UNMAP, 0x10000, 0x2000);
	assert_area(&e.set, 0x30000, 0x30000, 0x2000, 1);
	assert_int_equal(memory_set_len(&e.set), 1);
	env_fini(&e);
}

static void test_remap_fixed_default(void **state)
{
	(void)state;
	remap_fixed_default(&mock_ops);
	remap_fixed_default(&mock_ops_v1_trap);
}

/*
 * The default move whose unmap of the old range fails, and whose undo (the
 * unmap of the new range) fails too: both ranges stay mapped, so the set
 * holds the area at both places, merged with its new neighbour.
 */
static void test_remap_fixed_default_both(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, true);
	assert_int_equal(map_with(&e, 0x10000, 0x2000, 1, &mock_ops_v1_trap),
			 MAPPING_OK);
	assert_int_equal(map_with(&e, 0x30000, 0x1000, 1, &mock_ops_v1_trap),
			 MAPPING_OK);
	mock_clear_log(&e.m);
	mock_fail_in(&e.m, 2, MAPPING_ERR_BAD_STATE);
	mock_fail_in(&e.m, 3, MAPPING_ERR_BAD_STATE);
	assert_int_equal(t_remap_fixed(&e, 0x10000, 0x2000, 0x2000, 0x31000),
			 MAPPING_ERR_BAD_STATE);
	assert_int_equal(e.m.nlog, 3);
	assert_call(&e.m.log[0], HOOK_MAP, 0x31000, 0x2000);
	assert_call(&e.m.log[1], HOOK_UNMAP, 0x10000, 0x2000);
	assert_call(&e.m.log[2], HOOK_UNMAP, 0x31000, 0x2000);
	{
		const struct want w[] = { { 0x10000, 0x2000, 1 },
					  { 0x30000, 0x3000, 1 } };
		assert_areas(&e.set, w, ARRAY_LEN(w));
	}
	assert_null(memory_set_check(&e.set));
	env_fini(&e);
}

/*
 * The default move of a backend whose areas own their data (split() and
 * release(), no move hook), with every one and every two of its hook calls
 * failing, for a range that is its whole area, the start of a longer one,
 * and the middle of one; with merging off and on (the target touches an
 * area that any area may join). Every area keeps data of its own (checked
 * by check_env()) and each data is released exactly once (owned_ops fails
 * the test on a second release; none is left when the set is gone).
 */
static void test_remap_fixed_default_owned(void **state)
{
	static const struct {
		uint64_t area, size, start, len;
	} shapes[] = {
		{ 0x10000, 0x2000, 0x10000, 0x2000 },
		{ 0x10000, 0x4000, 0x10000, 0x2000 },
		{ 0x10000, 0x4000, 0x11000, 0x2000 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(shapes); i++)
	for (int merge = 0; merge < 2; merge++)
	for (unsigned long f1 = 0; f1 <= 4; f1++)
	for (unsigned long f2 = f1 + 1; f2 <= 5; f2++) {
		struct env e;
		struct mapping_backend b = { &owned_ops, NULL };
		enum mapping_error err;

		env_init(&e, 0, merge);
		b.data = owned_new();
		assert_int_equal(t_map_b(&e, shapes[i].area, shapes[i].size,
					 1, &b, false),
				 MAPPING_OK);
		b.data = owned_new();
		assert_int_equal(t_map_b(&e, 0x30000, 0x1000, 1, &b, false),
				 MAPPING_OK);
		if (f1)
			mock_fail_in(&e.m, f1, MAPPING_ERR_BAD_STATE);
		mock_fail_in(&e.m, f2, MAPPING_ERR_BAD_STATE);
		err = t_remap_fixed(&e, shapes[i].start, shapes[i].len,
				    shapes[i].len, 0x31000);
		if (e.m.failed)
			assert_int_equal(err, MAPPING_ERR_BAD_STATE);
		else
			assert_int_equal(err, MAPPING_OK);
		e.m.nfail = 0; /* calls the move did not make */
		env_fini(&e);
		assert_int_equal(owned_live(), 0);
	}
}

static void test_remap_fixed_merge(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, true);
	assert_int_equal(t_map(&e, 0x30000, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x33000, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x10000, 0x2000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x12000, 0x1000, 2, false), MAPPING_OK);
	/* Lands between two equal areas: one area. */
	assert_int_equal(t_remap_fixed(&e, 0x10000, 0x2000, 0x2000, 0x31000),
			 MAPPING_OK);
	{
		const struct want w[] = { { 0x12000, 0x1000, 2 },
					  { 0x30000, 0x4000, 1 } };
		assert_areas(&e.set, w, ARRAY_LEN(w));
	}
	env_fini(&e);
}

static void test_remap_fixed_bad_args(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0x10000, 0x4000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x14000, 0x1000, 2, false), MAPPING_OK);
	/* Overlapping ranges, either way. */
	assert_int_equal(t_remap_fixed(&e, 0x10000, 0x4000, 0x4000, 0x13000),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_remap_fixed(&e, 0x12000, 0x2000, 0x4000, 0xf000),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_remap_fixed(&e, 0x12000, 0x2000, 0x1000, 0x13000),
			 MAPPING_ERR_INVALID_PARAM);
	/* Alignment, zero, past 2^64. */
	assert_int_equal(t_remap_fixed(&e, 0x10000, 0x1000, 0x1000, 0x40800),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_remap_fixed(&e, 0x10000, 0x1000, 0x1800, 0x40000),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_remap_fixed(&e, 0x10000, 0, 0x1000, 0x40000),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_remap_fixed(&e, 0x10000, 0x1000, 0, 0x40000),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_remap_fixed(&e, 0x10000, 0x1000, 0x2000,
				       0xfffffffffffff000ull),
			 MAPPING_ERR_INVALID_PARAM);
	/* Overlap is a bad argument even in a hole. */
	assert_int_equal(t_remap_fixed(&e, 0x50000, 0x2000, 0x2000, 0x51000),
			 MAPPING_ERR_INVALID_PARAM);
	/* BadState: the old range is not inside one area. */
	assert_int_equal(t_remap_fixed(&e, 0x50000, 0x1000, 0x1000, 0x60000),
			 MAPPING_ERR_BAD_STATE);
	assert_int_equal(t_remap_fixed(&e, 0x13000, 0x2000, 0x2000, 0x60000),
			 MAPPING_ERR_BAD_STATE);
	assert_int_equal(t_remap_fixed(&e, 0x14000, 0x2000, 0x2000, 0x60000),
			 MAPPING_ERR_BAD_STATE);
	env_fini(&e);
}

/*
 * Each hook of a move failing in turn. The set: A [0x10000, 0x18000) flags
 * 1, T1 [0x40000, 0x42000) and T2 [0x43000, 0x45000) flags 2 in the way.
 */
struct fixed_case {
	const struct mapping_backend_ops *ops;
	uint64_t new_size;
	unsigned fail; /* hook call of the operation that fails */
	struct want w[4];
	size_t nw;
};

static const struct fixed_case fixed_cases[] = {
	/* Equal size, move hook: unmap T1, unmap T2, move. */
	{ &mock_ops_v2, 0x8000, 1,
	  { { 0x10000, 0x8000, 1 }, { 0x40000, 0x2000, 2 },
	    { 0x43000, 0x2000, 2 } }, 3 },
	{ &mock_ops_v2, 0x8000, 2,
	  { { 0x10000, 0x8000, 1 }, { 0x43000, 0x2000, 2 } }, 2 },
	{ &mock_ops_v2, 0x8000, 3, { { 0x10000, 0x8000, 1 } }, 1 },
	/* Smaller: unmap T1, unmap T2, unmap the tail, move. */
	{ &mock_ops_v2, 0x5000, 3, { { 0x10000, 0x8000, 1 } }, 1 },
	{ &mock_ops_v2, 0x5000, 4, { { 0x10000, 0x5000, 1 } }, 1 },
	/* Larger: unmap T1, unmap T2, move, map the rest. */
	{ &mock_ops_v2, 0xa000, 3, { { 0x10000, 0x8000, 1 } }, 1 },
	{ &mock_ops_v2, 0xa000, 4, { { 0x40000, 0x8000, 1 } }, 1 },
	/* The default move: unmap T1, unmap T2, map new, unmap old (and on
	 * its failure, unmap new). */
	{ &mock_ops, 0x8000, 3, { { 0x10000, 0x8000, 1 } }, 1 },
	{ &mock_ops, 0x8000, 4, { { 0x10000, 0x8000, 1 } }, 1 },
};

static void test_remap_fixed_failures(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(fixed_cases); i++) {
		const struct fixed_case *fc = &fixed_cases[i];
		struct env e;
		enum mapping_error err;

		env_init(&e, 0, false);
		assert_int_equal(map_with(&e, 0x10000, 0x8000, 1, fc->ops),
				 MAPPING_OK);
		assert_int_equal(map_with(&e, 0x40000, 0x2000, 2, fc->ops),
				 MAPPING_OK);
		assert_int_equal(map_with(&e, 0x43000, 0x2000, 2, fc->ops),
				 MAPPING_OK);
		mock_clear_log(&e.m);
		mock_fail_in(&e.m, fc->fail, MAPPING_ERR_BAD_STATE);
		err = memory_set_remap_fixed(&e.set, 0x10000, 0x8000,
					     fc->new_size, 0x40000, &e.m);
		check_env(&e);
		if (err != MAPPING_ERR_BAD_STATE)
			fail_msg("case %zu: the failure was not returned (%d)",
				 i, (int)err);
		assert_int_equal(e.m.failed, 1);
		assert_areas(&e.set, fc->w, fc->nw);
		/* The default move undoes its map when the unmap fails. */
		if (fc->ops == &mock_ops && fc->fail == 4) {
			assert_int_equal(e.m.nlog, 5);
			assert_call(&e.m.log[4], HOOK_UNMAP, 0x40000, 0x8000);
		} else {
			assert_int_equal(e.m.nlog, fc->fail);
		}
		/* The set still works. */
		assert_int_equal(t_map(&e, 0x40000, 0x1000, 7, true), MAPPING_OK);
		env_fini(&e);
	}
}

/* ---- handle_fault -------------------------------------------------------- */

static void test_fault_default(void **state)
{
	struct env e;
	const struct memory_area *a = (const void *)&e;
	unsigned long calls;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0x10000, 0x2000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x20000, 0x1000, 7, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x30000, 0x1000, 0xf, false), MAPPING_OK);
	calls = e.m.calls;
	assert_int_equal(memory_set_handle_fault(&e.set, 0x11fff,
						 MAPPING_ACCESS_READ, &e.m, &a),
			 MAPPING_OK);
	assert_ptr_equal(a, memory_set_find(&e.set, 0x10000));
	assert_int_equal(memory_set_handle_fault(&e.set, 0x10000,
						 MAPPING_ACCESS_WRITE, &e.m, &a),
			 MAPPING_ERR_ACCESS_DENIED);
	assert_ptr_equal(a, memory_set_find(&e.set, 0x10000));
	assert_int_equal(memory_set_handle_fault(&e.set, 0x10000,
						 MAPPING_ACCESS_EXEC, &e.m, &a),
			 MAPPING_ERR_ACCESS_DENIED);
	/* No area: BadState and no area. */
	assert_int_equal(memory_set_handle_fault(&e.set, 0x12000,
						 MAPPING_ACCESS_READ, &e.m, &a),
			 MAPPING_ERR_BAD_STATE);
	assert_null(a);
	assert_int_equal(memory_set_handle_fault(&e.set, UINT64_MAX, 0, &e.m,
						 NULL),
			 MAPPING_ERR_BAD_STATE);
	/* The caller's bits are not checked; bits below them are. */
	assert_int_equal(memory_set_handle_fault(&e.set, 0x10000,
						 MAPPING_ACCESS_READ |
							 MAPPING_ACCESS_USER |
							 (MAPPING_ACCESS_USER << 5),
						 &e.m, NULL),
			 MAPPING_OK);
	assert_int_equal(memory_set_handle_fault(&e.set, 0x10000, 0, &e.m, NULL),
			 MAPPING_OK);
	assert_int_equal(memory_set_handle_fault(&e.set, 0x20000, 7, &e.m, NULL),
			 MAPPING_OK);
	assert_int_equal(memory_set_handle_fault(&e.set, 0x20000, 8, &e.m, NULL),
			 MAPPING_ERR_ACCESS_DENIED);
	assert_int_equal(memory_set_handle_fault(&e.set, 0x30fff, 8, &e.m, NULL),
			 MAPPING_OK);
	assert_int_equal(memory_set_handle_fault(&e.set, 0x30000, 0x80, &e.m,
						 NULL),
			 MAPPING_ERR_ACCESS_DENIED);
	assert_int_equal(e.m.calls, calls);
	check_env(&e);
	env_fini(&e);
}

static void test_fault_hook(void **state)
{
	struct env e;
	const struct memory_area *a = NULL, *want;
	struct snap before;
	uint64_t access = MAPPING_ACCESS_WRITE | (MAPPING_ACCESS_USER << 3);

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(map_with(&e, 0x10000, 0x2000, 3, &mock_ops_v2),
			 MAPPING_OK);
	assert_int_equal(map_with(&e, 0x12000, 0x2000, 1, &mock_ops_v2),
			 MAPPING_OK);
	want = memory_set_find(&e.set, 0x12000);
	snap_take(&before, &e.set);
	mock_clear_log(&e.m);
	/* The hook decides: it sees the area, the address, every access
	 * bit, the data and the page table. */
	assert_int_equal(memory_set_handle_fault(&e.set, 0x12345, access, &e.m,
						 &a),
			 MAPPING_ERR_ACCESS_DENIED);
	assert_ptr_equal(a, want);
	assert_int_equal(e.m.nlog, 1);
	assert_int_equal(e.m.log[0].kind, HOOK_FAULT);
	assert_int_equal(e.m.log[0].start, 0x12345);
	assert_int_equal(e.m.log[0].old_flags, access);
	assert_ptr_equal(e.m.log[0].area, want);
	assert_ptr_equal(e.m.log[0].data, &e.tag);
	assert_int_equal(memory_set_handle_fault(&e.set, 0x11000, access, &e.m,
						 &a),
			 MAPPING_OK);
	assert_ptr_equal(a, memory_set_find(&e.set, 0x10000));
	assert_int_equal(e.m.nlog, 2);
	/* The hook's own error comes back as it is. */
	mock_fail_in(&e.m, 1, MAPPING_ERR_NO_MEMORY);
	assert_int_equal(memory_set_handle_fault(&e.set, 0x10000,
						 MAPPING_ACCESS_READ, &e.m, &a),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(e.m.nlog, 3);
	/* No area: no hook. */
	assert_int_equal(memory_set_handle_fault(&e.set, 0x14000,
						 MAPPING_ACCESS_READ, &e.m, &a),
			 MAPPING_ERR_BAD_STATE);
	assert_null(a);
	assert_int_equal(e.m.nlog, 3);
	snap_assert_same(&before, &e.set);
	snap_free(&before);
	check_env(&e);
	env_fini(&e);
}

/* ---- can_access -------------------------------------------------------------- */

static void test_can_access(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0x10000, 0x2000, 3, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x12000, 0x2000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x20000, 0x1000, 7, false), MAPPING_OK);
#define ACC(s, n, m) memory_set_can_access(&e.set, (s), (n), (m))
	assert_int_equal(ACC(0x10000, 0x4000, 1), MAPPING_OK);
	assert_int_equal(ACC(0x10000, 0x4000, 3), MAPPING_ERR_BAD_STATE);
	assert_int_equal(ACC(0x10000, 0x2000, 3), MAPPING_OK);
	assert_int_equal(ACC(0x11fff, 2, 1), MAPPING_OK);
	assert_int_equal(ACC(0x11fff, 2, 2), MAPPING_ERR_BAD_STATE);
	/* Holes, at either end and inside; no granule rule. */
	assert_int_equal(ACC(0x13fff, 1, 0), MAPPING_OK);
	assert_int_equal(ACC(0x13fff, 2, 0), MAPPING_ERR_BAD_STATE);
	assert_int_equal(ACC(0xffff, 2, 0), MAPPING_ERR_BAD_STATE);
	assert_int_equal(ACC(0x10000, 0x10001, 0), MAPPING_ERR_BAD_STATE);
	assert_int_equal(ACC(0x20001, 0xffe, 4), MAPPING_OK);
	assert_int_equal(ACC(0x20001, 0x1000, 4), MAPPING_ERR_BAD_STATE);
	/* Size 0 is always fine, even in a hole. */
	assert_int_equal(ACC(0x50000, 0, 7), MAPPING_OK);
	assert_int_equal(ACC(UINT64_MAX, 0, 7), MAPPING_OK);
	/* Past 2^64 is a bad argument; up to it is not. */
	assert_int_equal(ACC(UINT64_MAX, 2, 0), MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(ACC(2, UINT64_MAX, 0), MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(ACC(UINT64_MAX, 1, 0), MAPPING_ERR_BAD_STATE);
	assert_int_equal(ACC(1, UINT64_MAX, 0), MAPPING_ERR_BAD_STATE);
	assert_int_equal(t_map(&e, 0xffffffffffffe000ull, 0x2000, 5, false),
			 MAPPING_OK);
	assert_int_equal(ACC(UINT64_MAX, 1, 5), MAPPING_OK);
	assert_int_equal(ACC(0xffffffffffffe000ull, 0x2000, 4), MAPPING_OK);
	assert_int_equal(ACC(0xffffffffffffe000ull, 0x2001, 4),
			 MAPPING_ERR_INVALID_PARAM);
	/* The whole space as one area. */
	assert_int_equal(t_clear(&e), MAPPING_OK);
	memory_set_set_merge(&e.set, true);
	assert_int_equal(t_map(&e, 0, 0xfffffffffffff000ull, 3, false),
			 MAPPING_OK);
	assert_int_equal(t_map(&e, 0xfffffffffffff000ull, 0x1000, 3, false),
			 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 1);
	assert_int_equal(ACC(0, UINT64_MAX, 3), MAPPING_OK);
	assert_int_equal(ACC(1, UINT64_MAX, 3), MAPPING_OK);
	assert_int_equal(ACC(1, UINT64_MAX, 4), MAPPING_ERR_BAD_STATE);
#undef ACC
	env_fini(&e);
}

/* The same answers as a page-by-page walk with find, across many leaves. */
static void test_can_access_many(void **state)
{
	struct env e;
	struct mapping_backend b;
	const uint64_t base = 0x100000, n = 3000, pg = 0x1000;
	uint64_t seed = 42;

	(void)state;
	env_init(&e, 0, false);
	b.ops = &mock_ops;
	b.data = &e.tag;
	/* Touching areas, flags 3 and 7 by turns, a hole every 97. */
	for (uint64_t i = 0; i < n; i++) {
		if (i % 97 == 96)
			continue;
		assert_int_equal(memory_set_map(&e.set, base + i * pg, pg,
						i & 1 ? 7 : 3, &b, &e.m, false),
				 MAPPING_OK);
		assert_null(memory_set_check(&e.set));
	}
	check_env(&e);
	assert_int_equal(memory_set_can_access(&e.set, base, 96 * pg, 3),
			 MAPPING_OK);
	assert_int_equal(memory_set_can_access(&e.set, base, 97 * pg, 3),
			 MAPPING_ERR_BAD_STATE);
	assert_int_equal(memory_set_can_access(&e.set, base, 96 * pg, 4),
			 MAPPING_ERR_BAD_STATE);
	for (int q = 0; q < 2000; q++) {
		uint64_t s = base - 2 * pg + rnd_below(&seed, (n + 4) * pg);
		uint64_t len = rnd_below(&seed, 4) ? rnd_below(&seed, 8 * pg)
						   : rnd_below(&seed, n * pg);
		uint64_t mask = rnd_below(&seed, 8), p;
		enum mapping_error want = MAPPING_OK;

		for (p = s & ~(pg - 1); len && p < s + len; p += pg) {
			const struct memory_area *a = memory_set_find(&e.set, p);

			if (!a || (a->flags & mask) != mask) {
				want = MAPPING_ERR_BAD_STATE;
				break;
			}
		}
		if (memory_set_can_access(&e.set, s, len, mask) != want)
			fail_msg("can_access(%#llx, %#llx, %#llx) should be %d",
				 (unsigned long long)s, (unsigned long long)len,
				 (unsigned long long)mask, (int)want);
	}
	check_env(&e);
	env_fini(&e);
}

/* ---- strict unmap and protect, protect_flags ----------------------------- */

/* A [0x10000, 0x12000) 1, B [0x12000, 0x14000) 3, hole, C [0x15000,
 * 0x16000) 1. */
static void map_abc(struct env *e)
{
	assert_int_equal(t_map(e, 0x10000, 0x2000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(e, 0x12000, 0x2000, 3, false), MAPPING_OK);
	assert_int_equal(t_map(e, 0x15000, 0x1000, 1, false), MAPPING_OK);
}

static void test_unmap_strict(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	map_abc(&e);
	/* A hole anywhere: NoMemory, nothing changes, no hook (t_ checks). */
	assert_int_equal(t_unmap_strict(&e, 0x10000, 0x6000),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(t_unmap_strict(&e, 0x13000, 0x2000),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(t_unmap_strict(&e, 0x14000, 0x1000),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(t_unmap_strict(&e, 0xf000, 0x2000),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(t_unmap_strict(&e, 0x15000, 0x2000),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(memory_set_len(&e.set), 3);
	/* Bad arguments first. */
	assert_int_equal(t_unmap_strict(&e, 0x14800, 0x1000),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_unmap_strict(&e, 0xfffffffffffff000ull, 0x2000),
			 MAPPING_ERR_INVALID_PARAM);
	/* Size 0: fine anywhere. */
	assert_int_equal(t_unmap_strict(&e, 0x14000, 0), MAPPING_OK);
	/* Fully mapped across two areas: as unmap. */
	mock_clear_log(&e.m);
	assert_int_equal(t_unmap_strict(&e, 0x11000, 0x2000), MAPPING_OK);
	assert_int_equal(e.m.nlog, 2);
	assert_call(&e.m.log[0], HOOK_UNMAP, 0x11000, 0x1000);
	assert_call(&e.m.log[1], HOOK_UNMAP, 0x12000, 0x1000);
	{
		const struct want w[] = { { 0x10000, 0x1000, 1 },
					  { 0x13000, 0x1000, 3 },
					  { 0x15000, 0x1000, 1 } };
		assert_areas(&e.set, w, ARRAY_LEN(w));
	}
	env_fini(&e);
}

static void test_protect_strict(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	map_abc(&e);
	for (int strict_flags = 0; strict_flags < 2; strict_flags++) {
#define PS(s, n, f, m)                                                        \
	(strict_flags ? t_protect_flags(&e, (s), (n), (f), (m), true)          \
		      : t_protect_strict(&e, (s), (n), (f), (m)))
		assert_int_equal(PS(0x10000, 0x6000, 4, 4),
				 MAPPING_ERR_NO_MEMORY);
		assert_int_equal(PS(0x13000, 0x3000, 4, 4),
				 MAPPING_ERR_NO_MEMORY);
		assert_int_equal(PS(0x16000, 0x1000, 4, 4),
				 MAPPING_ERR_NO_MEMORY);
		assert_int_equal(PS(0x10800, 0x1000, 4, 4),
				 MAPPING_ERR_INVALID_PARAM);
		assert_int_equal(PS(0x14000, 0, 4, 4), MAPPING_OK);
#undef PS
	}
	assert_int_equal(memory_set_len(&e.set), 3);
	/* Without a hole: as protect. */
	mock_clear_log(&e.m);
	assert_int_equal(t_protect_strict(&e, 0x11000, 0x2000, 4, 4),
			 MAPPING_OK);
	assert_int_equal(e.m.nlog, 2);
	assert_int_equal(t_protect_flags(&e, 0x15000, 0x1000, 2, 2, true),
			 MAPPING_OK);
	{
		const struct want w[] = { { 0x10000, 0x1000, 1 },
					  { 0x11000, 0x1000, 5 },
					  { 0x12000, 0x1000, 7 },
					  { 0x13000, 0x1000, 3 },
					  { 0x15000, 0x1000, 3 } };
		assert_areas(&e.set, w, ARRAY_LEN(w));
	}
	env_fini(&e);
}

static void test_protect_flags(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0x10000, 0x2000, 5, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x12000, 0x2000, 3, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x16000, 0x1000, 0x104, false), MAPPING_OK);
	mock_clear_log(&e.m);
	/* Set the write bit: A's part changes, B has it already and stays
	 * whole; the hole is skipped. */
	assert_int_equal(t_protect_flags(&e, 0x11000, 0x6000, 2, 2, false),
			 MAPPING_OK);
	assert_int_equal(e.m.nlog, 2);
	assert_call(&e.m.log[0], HOOK_PROTECT, 0x11000, 0x1000);
	assert_int_equal(e.m.log[0].old_flags, 5);
	assert_int_equal(e.m.log[0].new_flags, 7);
	assert_call(&e.m.log[1], HOOK_PROTECT, 0x16000, 0x1000);
	assert_int_equal(e.m.log[1].new_flags, 0x106);
	{
		const struct want w[] = { { 0x10000, 0x1000, 5 },
					  { 0x11000, 0x1000, 7 },
					  { 0x12000, 0x2000, 3 },
					  { 0x16000, 0x1000, 0x106 } };
		assert_areas(&e.set, w, ARRAY_LEN(w));
	}
	/* Mask 0: nothing differs under it, nothing changes. */
	mock_clear_log(&e.m);
	assert_int_equal(t_protect_flags(&e, 0x10000, 0x8000, 0, 0, false),
			 MAPPING_OK);
	assert_int_equal(e.m.nlog, 0);
	/* Bits outside the mask are kept; flags outside it ignored. */
	assert_int_equal(t_protect_flags(&e, 0x10000, 0x8000, 0xf0, 0x101,
					 false),
			 MAPPING_OK);
	{
		const struct want w[] = { { 0x10000, 0x1000, 4 },
					  { 0x11000, 0x1000, 6 },
					  { 0x12000, 0x2000, 2 },
					  { 0x16000, 0x1000, 0x6 } };
		assert_areas(&e.set, w, ARRAY_LEN(w));
	}
	assert_int_equal(t_protect_flags(&e, 0x10000, 0x1800, 0, 1, false),
			 MAPPING_ERR_INVALID_PARAM);
	env_fini(&e);
}

/* ---- the area limit ---------------------------------------------------------- */

static void test_limit_options(void **state)
{
	struct memory_set set;
	struct memory_set_options o;
	struct count_alloc ca = { 0 };

	(void)state;
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.allocator = &count_allocator;
	o.allocator_ctx = &ca;
	o.max_areas = 3;
	assert_int_equal(memory_set_init(&set, &o), MAPPING_OK);
	assert_int_equal(memory_set_max_areas(&set), 3);
	memory_set_set_max_areas(&set, 100);
	assert_int_equal(memory_set_max_areas(&set), 100);
	memory_set_set_max_areas(&set, 0);
	assert_int_equal(memory_set_max_areas(&set), 0);
	memory_set_destroy(&set);
	/* Options of the first version (no max_areas field): no limit. */
	o.size = offsetof(struct memory_set_options, max_areas);
	assert_int_equal(memory_set_init(&set, &o), MAPPING_OK);
	assert_int_equal(memory_set_max_areas(&set), 0);
	memory_set_destroy(&set);
	assert_int_equal(ca.live, 0);
}

static void test_limit_map(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, false);
	memory_set_set_max_areas(&e.set, 3);
	assert_int_equal(t_map(&e, 0x10000, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x20000, 0x1000, 2, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x30000, 0x1000, 1, false), MAPPING_OK);
	/* A fourth: NoMemory before any hook (t_map checks). */
	assert_int_equal(t_map(&e, 0x40000, 0x1000, 1, false),
			 MAPPING_ERR_NO_MEMORY);
	/* Other errors come first. */
	assert_int_equal(t_map(&e, 0x40800, 0x1000, 1, false),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(t_map(&e, 0x10000, 0x1000, 1, false),
			 MAPPING_ERR_ALREADY_EXISTS);
	/* One that merges adds nothing. */
	memory_set_set_merge(&e.set, true);
	check_env(&e);
	assert_int_equal(t_map(&e, 0x11000, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 3);
	/* A replace that removes two and adds one. */
	assert_int_equal(t_map(&e, 0x20000, 0x11000, 4, true), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 2);
	assert_int_equal(t_map(&e, 0x50000, 0x1000, 4, false), MAPPING_OK);
	/* A replace inside an area: three pieces for one. */
	assert_int_equal(t_map(&e, 0x28000, 0x1000, 5, true),
			 MAPPING_ERR_NO_MEMORY);
	/* Across its end: two for one, then a merge makes it one. */
	assert_int_equal(t_map(&e, 0x30000, 0x1000, 4, true), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 3);
	/* No limit. */
	memory_set_set_max_areas(&e.set, 0);
	assert_int_equal(t_map(&e, 0x28000, 0x1000, 5, true), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 5);
	env_fini(&e);
}

static void test_limit_split(void **state)
{
	struct env e;

	(void)state;
	env_init(&e, 0, true);
	assert_int_equal(t_map(&e, 0x10000, 0x8000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x18000, 0x4000, 2, false), MAPPING_OK);
	assert_int_equal(map_file(&e, 0x40000, 0x8000, 1, 0x100000), MAPPING_OK);
	memory_set_set_max_areas(&e.set, 3);
	/* Splits refused: unmap, protect, strict forms, remap. */
	assert_int_equal(t_unmap(&e, 0x12000, 0x1000), MAPPING_ERR_NO_MEMORY);
	assert_int_equal(t_unmap_strict(&e, 0x12000, 0x1000),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(t_protect(&e, 0x12000, 0x1000, 3, ~0ull),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(t_protect_flags(&e, 0x12000, 0x1000, 3, ~0ull, true),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(t_remap(&e, 0x12000, 0x2000, 0x1000),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(t_remap_fixed(&e, 0x12000, 0x1000, 0x1000, 0x80000),
			 MAPPING_ERR_NO_MEMORY);
	/* With split() data: made while planning, released again (t_ checks
	 * that the number of live data is unchanged). */
	assert_int_equal(t_protect(&e, 0x42000, 0x1000, 3, ~0ull),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(t_unmap(&e, 0x42000, 0x1000), MAPPING_ERR_NO_MEMORY);
	/* The strict hole check comes before the limit. */
	assert_int_equal(t_unmap_strict(&e, 0x1c000, 0x1000),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(memory_set_len(&e.set), 3);
	/* Operations that do not add areas. */
	assert_int_equal(t_protect(&e, 0x16000, 0x2000, 2, ~0ull), MAPPING_OK);
	{
		/* A shrinks, B grows: still three. */
		const struct want w[] = { { 0x10000, 0x6000, 1 },
					  { 0x16000, 0x6000, 2 },
					  { 0x40000, 0x8000, 1 } };
		assert_areas(&e.set, w, ARRAY_LEN(w));
	}
	assert_int_equal(t_unmap(&e, 0x10000, 0x1000), MAPPING_OK);
	assert_int_equal(t_remap(&e, 0x11000, 0x5000, 0x4000), MAPPING_OK);
	assert_int_equal(t_remap(&e, 0x11000, 0x4000, 0x5000), MAPPING_OK);
	assert_int_equal(t_remap_fixed(&e, 0x40000, 0x8000, 0x8000, 0x80000),
			 MAPPING_OK);
	assert_int_equal(off_at(&e, 0x80000), 0x100000);
	/* A move that splits the target counts too. */
	assert_int_equal(t_remap_fixed(&e, 0x11000, 0x5000, 0x1000, 0x82000),
			 MAPPING_ERR_NO_MEMORY);
	/* Landing at the end of the target: it shrinks, count unchanged. */
	assert_int_equal(t_remap_fixed(&e, 0x11000, 0x5000, 0x1000, 0x87000),
			 MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 3);
	env_fini(&e);
}

/* A set already above a new limit keeps its areas and keeps working. */
static void test_limit_over(void **state)
{
	struct env e, c;

	(void)state;
	env_init(&e, 0, false);
	for (uint64_t i = 0; i < 5; i++)
		assert_int_equal(t_map(&e, 0x10000 + i * 0x10000, 0x4000, 1,
				       false),
				 MAPPING_OK);
	memory_set_set_max_areas(&e.set, 2);
	check_env(&e);
	assert_int_equal(memory_set_len(&e.set), 5);
	assert_int_equal(t_protect(&e, 0x10000, 0x4000, 3, ~0ull), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x20000, 0x4000, 2, true), MAPPING_OK);
	assert_int_equal(t_unmap(&e, 0x30000, 0x4000), MAPPING_OK);
	assert_int_equal(t_remap(&e, 0x40000, 0x4000, 0x8000), MAPPING_OK);
	assert_int_equal(memory_set_len(&e.set), 4);
	/* Adding one is refused: more than before and more than 2. */
	assert_int_equal(t_map(&e, 0x90000, 0x1000, 1, false),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(t_unmap(&e, 0x11000, 0x1000), MAPPING_ERR_NO_MEMORY);
	/* dup is never refused, and the limit comes with it. */
	env_init_child(&c, 0);
	assert_int_equal(memory_set_dup(&c.set, &e.set, &e.m, &c.m),
			 MAPPING_OK);
	check_env(&c);
	assert_int_equal(memory_set_len(&c.set), 4);
	assert_int_equal(memory_set_max_areas(&c.set), 2);
	assert_int_equal(t_map(&c, 0x90000, 0x1000, 1, false),
			 MAPPING_ERR_NO_MEMORY);
	env_fini(&c);
	/* Clear is never refused either; then the limit holds. */
	assert_int_equal(t_clear(&e), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x10000, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x20000, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x30000, 0x1000, 1, false),
			 MAPPING_ERR_NO_MEMORY);
	env_fini(&e);
}

/* ---- the gap iterator ------------------------------------------------------- */

struct gap {
	uint64_t start, size;
};

/* The free gaps of [first, last] computed from the areas, into g. */
static size_t ref_gaps(const struct memory_set *set, uint64_t first,
		       uint64_t last, struct gap *g, size_t max)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	uint64_t cur = first; /* next free candidate */
	bool done = first > last;
	size_t n = 0;

	memory_set_foreach(a, &it, set) {
		uint64_t al = memory_area_last(a);

		if (done)
			break;
		if (al < cur)
			continue;
		if (a->start > last)
			break;
		if (a->start > cur) {
			assert_true(n < max);
			g[n++] = (struct gap){ cur, a->start - cur };
		}
		if (al >= last) {
			done = true;
			break;
		}
		cur = al + 1;
	}
	if (!done) {
		assert_true(n < max);
		g[n++] = (struct gap){ cur, last - cur + 1 }; /* 0: 2^64 */
	}
	return n;
}

/* Walk [first, last] both ways and compare with want; no allocation and
 * no change to the set. */
static void check_gaps(struct env *e, uint64_t first, uint64_t last,
		       const struct gap *want, size_t n)
{
	struct memory_set_gap_iter gi;
	struct memory_set before;
	unsigned long allocs = e->ca.calls;
	uint64_t s = 1, z = 1;
	size_t k;

	memcpy(&before, &e->set, sizeof(before));
	memory_set_gap_iter_init(&gi, &e->set, first, last);
	for (k = 0; memory_set_gap_next(&gi, &s, &z); k++) {
		if (k >= n || s != want[k].start || z != want[k].size)
			fail_msg("gap %zu of [%#llx, %#llx]: %#llx+%#llx", k,
				 (unsigned long long)first,
				 (unsigned long long)last,
				 (unsigned long long)s, (unsigned long long)z);
	}
	assert_int_equal(k, n);
	assert_false(memory_set_gap_next(&gi, &s, &z));
	/* And back from the end. */
	for (k = n; memory_set_gap_prev(&gi, &s, &z);) {
		assert_true(k > 0);
		k--;
		assert_int_equal(s, want[k].start);
		assert_int_equal(z, want[k].size);
	}
	assert_int_equal(k, 0);
	memory_set_gap_iter_init_end(&gi, &e->set, first, last);
	for (k = n; memory_set_gap_prev(&gi, &s, &z);) {
		assert_true(k > 0);
		k--;
		assert_int_equal(s, want[k].start);
		assert_int_equal(z, want[k].size);
	}
	assert_int_equal(k, 0);
	assert_false(memory_set_gap_prev(&gi, &s, &z));
	assert_int_equal(e->ca.calls, allocs);
	if (memcmp(&before, &e->set, sizeof(before)) != 0)
		fail_msg("the gap iterator changed the set");
}

static void test_gaps(void **state)
{
	struct env e;
	struct memory_set_gap_iter gi;
	uint64_t s, z;

	(void)state;
	env_init(&e, 0, false);
	/* Empty: the whole space is one gap of size 0 (2^64). */
	{
		const struct gap w[] = { { 0, 0 } };
		check_gaps(&e, 0, UINT64_MAX, w, 1);
	}
	{
		const struct gap w[] = { { UINT64_MAX, 1 } };
		check_gaps(&e, UINT64_MAX, UINT64_MAX, w, 1);
	}
	check_gaps(&e, 5, 4, NULL, 0);
	assert_int_equal(t_map(&e, 0x10000, 0x2000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0x20000, 0x1000, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 0xfffffffffffff000ull, 0x1000, 1, false),
			 MAPPING_OK);
	{
		const struct gap w[] = { { 0, 0x10000 },
					 { 0x12000, 0xe000 },
					 { 0x21000, 0xfffffffffffff000ull - 0x21000 } };
		check_gaps(&e, 0, UINT64_MAX, w, 3);
	}
	{
		const struct gap w[] = { { 0x12000, 0xe000 } };
		check_gaps(&e, 0x11000, 0x20fff, w, 1);
		check_gaps(&e, 0x12000, 0x1ffff, w, 1);
	}
	{
		const struct gap w[] = { { 0x12800, 0x1800 } };
		check_gaps(&e, 0x12800, 0x13fff, w, 1);
	}
	{
		const struct gap w[] = { { 5, 0x10000 - 5 }, { 0x12000, 7 } };
		check_gaps(&e, 5, 0x12006, w, 2);
	}
	/* Windows inside an area, or empty. */
	check_gaps(&e, 0x10000, 0x11fff, NULL, 0);
	check_gaps(&e, 0xfffffffffffff000ull, UINT64_MAX, NULL, 0);
	check_gaps(&e, 0x30000, 0x2ffff, NULL, 0);
	/* next then prev gives the same gap: a position between gaps. */
	memory_set_gap_iter_init(&gi, &e.set, 0, UINT64_MAX);
	assert_true(memory_set_gap_next(&gi, &s, &z));
	assert_true(memory_set_gap_next(&gi, &s, &z));
	assert_int_equal(s, 0x12000);
	assert_true(memory_set_gap_prev(&gi, &s, &z));
	assert_int_equal(s, 0x12000);
	assert_true(memory_set_gap_prev(&gi, &s, &z));
	assert_int_equal(s, 0);
	assert_false(memory_set_gap_prev(&gi, &s, &z));
	assert_true(memory_set_gap_next(&gi, &s, &z));
	assert_int_equal(s, 0);
	env_fini(&e);
}

/* Random sets and windows against the gaps computed from the areas. */
static void test_gaps_random(void **state)
{
	struct env e;
	struct mapping_backend b;
	uint64_t seed = 7;
	struct gap *want = calloc(600, sizeof(*want));

	(void)state;
	assert_non_null(want);
	for (int round = 0; round < 4; round++) {
		uint64_t base = round & 1 ? 0xfffffffffff00000ull : 0;

		env_init(&e, 0, round >= 2);
		b.ops = &mock_ops;
		b.data = &e.tag;
		for (int i = 0; i < 250; i++) {
			uint64_t p = rnd_below(&seed, 256);
			uint64_t len = 1 + rnd_below(&seed, 3);

			if (p + len > 256)
				len = 256 - p;
			(void)memory_set_map(&e.set, base + p * 0x1000,
					     len * 0x1000,
					     rnd_below(&seed, 2), &b, &e.m,
					     rnd_below(&seed, 2));
			assert_null(memory_set_check(&e.set));
		}
		check_env(&e);
		for (int q = 0; q < 300; q++) {
			uint64_t f = base + rnd_below(&seed, 0x102000) - 0x1000;
			uint64_t l = f + rnd_below(&seed, 0x40000);
			size_t n;

			if (q % 50 == 0) {
				f = 0;
				l = UINT64_MAX;
			}
			if (l < f)
				l = UINT64_MAX;
			n = ref_gaps(&e.set, f, l, want, 600);
			check_gaps(&e, f, l, want, n);
		}
		env_fini(&e);
	}
	free(want);
}

static enum mapping_error null_map(void *d, uint64_t s, uint64_t n,
				   uint64_t f, void *pt)
{
	(void)d, (void)s, (void)n, (void)f, (void)pt;
	return MAPPING_OK;
}

static enum mapping_error null_unmap(void *d, uint64_t s, uint64_t n,
				     void *pt)
{
	(void)d, (void)s, (void)n, (void)pt;
	return MAPPING_OK;
}

static enum mapping_error null_protect(void *d, uint64_t s, uint64_t n,
				       uint64_t o, uint64_t f, void *pt)
{
	(void)d, (void)s, (void)n, (void)o, (void)f, (void)pt;
	return MAPPING_OK;
}

static const struct mapping_backend_ops null_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = null_map,
	.unmap = null_unmap,
	.protect = null_protect,
};

/* 100k gaps walked both ways, each one right, no allocation. */
static void test_gaps_100k(void **state)
{
	enum { N = 100000 };
	const uint64_t base = 0x100000000ull;
	struct memory_set set;
	struct memory_set_options o;
	struct count_alloc ca = { 0 };
	struct mapping_backend b = { &null_ops, NULL };
	struct memory_set_gap_iter gi;
	unsigned long allocs;
	uint64_t s, z, k;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.allocator = &count_allocator;
	o.allocator_ctx = &ca;
	assert_int_equal(memory_set_init(&set, &o), MAPPING_OK);
	/* The checker is O(n): every 1000th map, and at the end. */
	for (k = 0; k < N; k++) {
		assert_int_equal(memory_set_map(&set, base + k * 0x3000,
						0x1000, 1, &b, NULL, false),
				 MAPPING_OK);
		if (k % 1000 == 0)
			assert_null(memory_set_check(&set));
	}
	assert_null(memory_set_check(&set));
	allocs = ca.calls;
	memory_set_gap_iter_init(&gi, &set, 0, UINT64_MAX);
	for (k = 0; memory_set_gap_next(&gi, &s, &z); k++) {
		if (k == 0) {
			assert_int_equal(s, 0);
			assert_int_equal(z, base);
		} else if (k < N) {
			assert_int_equal(s, base + (k - 1) * 0x3000 + 0x1000);
			assert_int_equal(z, 0x2000);
		} else {
			assert_int_equal(s, base + (N - 1) * 0x3000 + 0x1000);
			assert_int_equal(z, 0 - s);
		}
	}
	assert_int_equal(k, N + 1);
	memory_set_gap_iter_init_end(&gi, &set, 0, UINT64_MAX);
	for (k = N + 1; memory_set_gap_prev(&gi, &s, &z); k--)
		if (k - 1 > 0 && k - 1 < N)
			assert_int_equal(s, base + (k - 2) * 0x3000 + 0x1000);
	assert_int_equal(k, 0);
	/* A window in the middle starts and ends inside areas. */
	memory_set_gap_iter_init(&gi, &set, base + 5000 * 0x3000 + 0x800,
				 base + 6000 * 0x3000 + 0x800);
	for (k = 0; memory_set_gap_next(&gi, &s, &z); k++)
		assert_int_equal(s, base + (5000 + k) * 0x3000 + 0x1000);
	assert_int_equal(k, 1000);
	assert_int_equal(ca.calls, allocs);
	memory_set_destroy(&set);
	assert_int_equal(ca.live, 0);
}

/* ---- format_area ----------------------------------------------------------- */

static void perms_abcd(void *ctx, uint64_t flags, char perms[4])
{
	int *calls = ctx;

	(*calls)++;
	perms[0] = 'a';
	perms[1] = (char)('0' + (flags & 7));
	perms[2] = 'c';
	perms[3] = 'd';
}

static void check_format(const struct memory_area *a, memory_set_perms_fn fn,
			 void *ctx, const char *want)
{
	char buf[128], ref[128];
	size_t n = strlen(want);

	memset(buf, 'X', sizeof(buf));
	assert_int_equal(memory_set_format_area(buf, sizeof(buf), a, fn, ctx),
			 n);
	assert_string_equal(buf, want);
	/* Cut like snprintf, at every length. */
	for (size_t len = 0; len <= n + 2; len++) {
		memset(buf, 'X', sizeof(buf));
		memset(ref, 'X', sizeof(ref));
		assert_int_equal(memory_set_format_area(buf, len, a, fn, ctx),
				 n);
		assert_int_equal(snprintf(ref, len, "%s", want), n);
		assert_memory_equal(buf, ref, sizeof(buf));
	}
	/* NULL buffer with length 0: only the length. */
	assert_int_equal(memory_set_format_area(NULL, 0, a, fn, ctx), n);
}

static void test_format_area(void **state)
{
	struct memory_area a;
	struct env e;
	int calls = 0;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.start = 0x1000;
	a.size = 0x1000;
	a.flags = 3;
	check_format(&a, NULL, NULL, "00001000-00002000 rw-p 00000000 00:00 0");
	a.flags = 0;
	check_format(&a, NULL, NULL, "00001000-00002000 ---p 00000000 00:00 0");
	a.flags = 0xf;
	check_format(&a, NULL, NULL, "00001000-00002000 rwxs 00000000 00:00 0");
	a.flags = 0x5 | 0x100;
	check_format(&a, NULL, NULL, "00001000-00002000 r-xp 00000000 00:00 0");
	a.start = 0x7fffabcd0000ull;
	a.size = 0x21000;
	a.flags = 1;
	check_format(&a, NULL, NULL,
		     "7fffabcd0000-7fffabcf1000 r--p 00000000 00:00 0");
	/* The end at 2^64, and the whole space (size 0). */
	a.start = 0xfffffffffffff000ull;
	a.size = 0x1000;
	check_format(&a, NULL, NULL,
		     "fffffffffffff000-10000000000000000 r--p 00000000 00:00 0");
	a.start = 0;
	a.size = 0;
	check_format(&a, NULL, NULL,
		     "00000000-10000000000000000 r--p 00000000 00:00 0");
	/* A caller's letters, with its context. */
	a.start = 0x123456789000ull;
	a.size = 0x2000;
	a.flags = 6;
	check_format(&a, perms_abcd, &calls,
		     "123456789000-12345678b000 a6cd 00000000 00:00 0");
	assert_true(calls > 0);
	/* An area from a set. */
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0x400000, 0x3000, 5, false), MAPPING_OK);
	check_format(memory_set_find(&e.set, 0x400000), NULL, NULL,
		     "00400000-00403000 r-xp 00000000 00:00 0");
	env_fini(&e);
}

/* ---- version 1 tables ------------------------------------------------------- */

/* Every operation works with a version 1 table; its trailing hooks are
 * never read (they fail the test if called). */
static void test_v1_table(void **state)
{
	struct env e, c;
	const struct memory_area *a;

	(void)state;
	env_init(&e, 0, true);
	assert_int_equal(map_with(&e, 0x10000, 0x4000, 1, &mock_ops_v1_trap),
			 MAPPING_OK);
	assert_int_equal(map_with(&e, 0x20000, 0x4000, 3, &mock_ops_v1_trap),
			 MAPPING_OK);
	assert_int_equal(memory_set_handle_fault(&e.set, 0x10000,
						 MAPPING_ACCESS_WRITE, &e.m, &a),
			 MAPPING_ERR_ACCESS_DENIED);
	assert_int_equal(memory_set_handle_fault(&e.set, 0x20000,
						 MAPPING_ACCESS_WRITE, &e.m, &a),
			 MAPPING_OK);
	assert_int_equal(t_remap(&e, 0x10000, 0x4000, 0x6000), MAPPING_OK);
	assert_int_equal(t_remap_fixed(&e, 0x12000, 0x2000, 0x3000, 0x40000),
			 MAPPING_OK);
	assert_int_equal(t_protect_flags(&e, 0x40000, 0x1000, 2, 2, true),
			 MAPPING_OK);
	assert_int_equal(t_unmap_strict(&e, 0x10000, 0x1000), MAPPING_OK);
	env_init_child(&c, 0);
	assert_int_equal(memory_set_dup(&c.set, &e.set, &e.m, &c.m),
			 MAPPING_OK);
	check_env(&c);
	assert_same_areas(&e.set, &c.set, true);
	env_fini(&c);
	env_fini(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_access_denied_error),
		cmocka_unit_test(test_dup_hook),
		cmocka_unit_test(test_dup_default),
		cmocka_unit_test(test_dup_file),
		cmocka_unit_test(test_dup_settings),
		cmocka_unit_test(test_dup_empty_and_invalid),
		cmocka_unit_test(test_dup_no_memory),
		cmocka_unit_test(test_dup_failure),
		cmocka_unit_test(test_dup_undo_unmap_fails),
		cmocka_unit_test(test_dup_lockless_keeps_nodes),
		cmocka_unit_test(test_dup_failure_keeps_settings),
		cmocka_unit_test(test_remap_shrink),
		cmocka_unit_test(test_remap_grow),
		cmocka_unit_test(test_remap_grow_blocked),
		cmocka_unit_test(test_remap_bad_args),
		cmocka_unit_test(test_remap_merge),
		cmocka_unit_test(test_remap_fixed_replace),
		cmocka_unit_test(test_remap_fixed_sizes),
		cmocka_unit_test(test_remap_fixed_file),
		cmocka_unit_test(test_remap_fixed_default),
		cmocka_unit_test(test_remap_fixed_default_both),
		cmocka_unit_test(test_remap_fixed_default_owned),
		cmocka_unit_test(test_remap_fixed_merge),
		cmocka_unit_test(test_remap_fixed_bad_args),
		cmocka_unit_test(test_remap_fixed_failures),
		cmocka_unit_test(test_fault_default),
		cmocka_unit_test(test_fault_hook),
		cmocka_unit_test(test_can_access),
		cmocka_unit_test(test_can_access_many),
		cmocka_unit_test(test_unmap_strict),
		cmocka_unit_test(test_protect_strict),
		cmocka_unit_test(test_protect_flags),
		cmocka_unit_test(test_limit_options),
		cmocka_unit_test(test_limit_map),
		cmocka_unit_test(test_limit_split),
		cmocka_unit_test(test_limit_over),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_gaps_random),
		cmocka_unit_test(test_gaps_100k),
		cmocka_unit_test(test_format_area),
		cmocka_unit_test(test_v1_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
