/*
 * Random workloads on medium sets (hundreds of areas, several tree levels),
 * every call checked page for page against the mock and area by area
 * against a model: plain, file-backed and mixed areas, merge off, on and
 * toggled, granule changes, the top of the space, and hook, split and
 * allocation failures injected at random, so each failure contract is
 * checked in many shapes.
 */
#include <string.h>

#include "mock.h"

enum {
	RC_MERGE = 1,        /* merge on */
	RC_PROTECT_ONLY = 2, /* nothing but protect after the first maps */
	RC_FILE = 4,         /* file-backed areas (split, release, can_merge) */
	RC_FAIL = 8,         /* inject failures */
	RC_TOP = 16,         /* work at the top of the space, up to 2^64 */
	RC_TOGGLE = 32,      /* turn merging on and off now and then */
	RC_GRANULE = 64,     /* switch the granule between 4 and 8 KiB */
	RC_MIXED = 128,      /* also areas whose can_merge allows any data */
	RC_POOL = 256,       /* nodes from a small fixed pool that runs out */
};

#define POOL_NODES 64
static _Alignas(8) unsigned char pool_buf[MEMORY_SET_POOL_BYTES(POOL_NODES)];

static uint64_t tags[2];

#define SPAN_PAGES 1700u

/*
 * An area-level model, as in the trace language's reference: it knows where
 * each area begins and ends, not only the pages, so it checks that merge off
 * keeps touching areas apart, that protect leaves unchanged areas whole and
 * cuts at the range's ends, and that merge on joins exactly what may join.
 * File areas are compared by file offset (their data changes on each cut),
 * the others by data pointer.
 */
struct marea {
	uint64_t start, last, flags;
	const struct mapping_backend_ops *ops;
	const void *data;
	uint64_t off; /* file areas: file offset of start */
};

static struct marea model[8192], scratch[8192];
static size_t nmodel;
static bool model_merge;
static struct mapping_backend last_map; /* what map_one mapped with */
static uint64_t last_off; /* its file offset (the set may free the data) */

static bool m_mergeable(const struct marea *a, const struct marea *b)
{
	if (a->last == TOP || a->last + 1 != b->start || a->flags != b->flags ||
	    a->ops != b->ops)
		return false;
	if (a->ops == &file_ops)
		return a->off + (b->start - a->start) == b->off;
	if (a->ops == &mock_ops_merge_all)
		return true;
	return a->data == b->data;
}

static void m_merge_all(void)
{
	size_t i, n = 0;

	if (!model_merge)
		return;
	for (i = 0; i < nmodel; i++) {
		if (n > 0 && m_mergeable(&model[n - 1], &model[i]))
			model[n - 1].last = model[i].last;
		else
			model[n++] = model[i];
	}
	nmodel = n;
}

static void m_push(size_t *n, struct marea a, uint64_t start, uint64_t last)
{
	assert_true(*n < 8192);
	a.off += start - a.start;
	a.start = start;
	a.last = last;
	scratch[(*n)++] = a;
}

/* Cut [lo, hi] out; with set_flags, give it new flags by the mask rule
 * instead (areas already right stay whole). */
static void m_apply(uint64_t lo, uint64_t hi, bool set_flags, uint64_t flags,
		    uint64_t mask)
{
	size_t i, n = 0;

	for (i = 0; i < nmodel; i++) {
		struct marea a = model[i];
		if (a.last < lo || a.start > hi ||
		    (set_flags && (a.flags & mask) == (flags & mask))) {
			scratch[n++] = a;
			continue;
		}
		if (a.start < lo)
			m_push(&n, a, a.start, lo - 1);
		if (set_flags) {
			struct marea mid = a;
			mid.flags = (flags & mask) | (a.flags & ~mask);
			m_push(&n, mid, a.start > lo ? a.start : lo,
			       a.last < hi ? a.last : hi);
		}
		if (a.last > hi)
			m_push(&n, a, hi + 1, a.last);
	}
	memcpy(model, scratch, n * sizeof(*model));
	nmodel = n;
}

static void m_map(uint64_t start, uint64_t size, uint64_t flags)
{
	struct marea a;
	size_t i;

	m_apply(start, start + (size - 1), false, 0, 0);
	a.start = start;
	a.last = start + (size - 1);
	a.flags = flags;
	a.ops = last_map.ops;
	a.data = last_map.data;
	a.off = a.ops == &file_ops ? last_off : 0;
	for (i = nmodel; i > 0 && model[i - 1].start > start; i--)
		model[i] = model[i - 1];
	model[i] = a;
	nmodel++;
	assert_true(nmodel < 8192);
	m_merge_all();
}

/* After a failed operation the shadow check has judged the set: take it. */
static void m_take(const struct memory_set *set)
{
	struct memory_set_iter it;
	const struct memory_area *a;

	nmodel = 0;
	memory_set_foreach(a, &it, set) {
		struct marea m;
		m.start = a->start;
		m.last = memory_area_last(a);
		m.flags = a->flags;
		m.ops = a->backend.ops;
		m.data = a->backend.data;
		m.off = a->backend.ops == &file_ops
			? ((const struct file_data *)a->backend.data)->file_off +
				  (a->start -
				   ((const struct file_data *)a->backend.data)->vaddr)
			: 0;
		model[nmodel++] = m;
	}
}

static void m_compare(const struct memory_set *set)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	size_t k = 0;

	memory_set_foreach(a, &it, set) {
		const struct marea *m = &model[k];
		if (k >= nmodel || a->start != m->start ||
		    memory_area_last(a) != m->last || a->flags != m->flags ||
		    a->backend.ops != m->ops)
			fail_msg("area %zu: set %#llx-%#llx flags %#llx, model "
				 "%#llx-%#llx flags %#llx", k,
				 (unsigned long long)a->start,
				 (unsigned long long)memory_area_last(a),
				 (unsigned long long)a->flags,
				 (unsigned long long)(k < nmodel ? m->start : 0),
				 (unsigned long long)(k < nmodel ? m->last : 0),
				 (unsigned long long)(k < nmodel ? m->flags : 0));
		if (m->ops != &file_ops)
			assert_ptr_equal(a->backend.data, m->data);
		k++;
	}
	assert_int_equal(k, nmodel);
}

static enum mapping_error map_one(struct env *e, int opts, uint64_t *seed,
				  uint64_t at, uint64_t size, uint64_t flags,
				  bool replace)
{
	struct file_data *d;
	struct mapping_backend b;
	enum mapping_error err;

	if ((opts & RC_MIXED) && rnd_below(seed, 3) == 0) {
		b.ops = &mock_ops_merge_all;
		b.data = &tags[rnd_below(seed, 2)];
		last_map = b;
		return t_map_b(e, at, size, flags, &b, replace);
	}
	if (!(opts & RC_FILE) || rnd_below(seed, 4) == 0) {
		last_map = e->plain;
		return t_map(e, at, size, flags, replace);
	}
	/* Mostly offset == address, so neighbours are continuous and merge. */
	d = file_data_new(rnd_below(seed, 4) ? at : rnd_below(seed, 64) << 20,
			  at);
	b.ops = &file_ops;
	b.data = d;
	last_map = b;
	last_off = d->file_off;
	err = t_map_b(e, at, size, flags, &b, replace);
	if (err != MAPPING_OK)
		file_data_drop(d); /* never entered the set */
	return err;
}

/* Arm failures for the next operation; true if any. */
static bool arm(struct env *e, uint64_t *seed)
{
	bool armed = false;

	if (rnd_below(seed, 3) == 0) {
		mock_fail_in(&e->m, 1 + rnd_below(seed, 4), MAPPING_ERR_BAD_STATE);
		if (rnd_below(seed, 2) == 0) /* e.g. a protect's change back */
			mock_fail_in(&e->m, 2 + rnd_below(seed, 6),
				     MAPPING_ERR_BAD_STATE);
		armed = true;
	}
	if (rnd_below(seed, 6) == 0) {
		file_split_fail_in(&e->m, 1 + rnd_below(seed, 3));
		armed = true;
	}
	if (rnd_below(seed, 8) == 0) {
		e->ca.fail_from = e->ca.calls + 1 + rnd_below(seed, 3);
		armed = true;
	}
	return armed;
}

static void disarm(struct env *e)
{
	e->m.nfail = 0;
	e->m.split_fail_at = 0;
	e->ca.fail_from = 0;
}

static void random_checked(int opts, uint64_t seed, int ops)
{
	struct env e;
	int i, pool_dry = 0;

	/* RC_TOP: the window's last page is the last of the space. */
	uint64_t base = (opts & RC_TOP) ? 0 - SPAN_PAGES * 0x1000ull : 0;

	struct memory_set_pool pool;
	void *held[POOL_NODES];
	int nheld = 0;

	if (opts & RC_POOL) {
		assert_int_equal(memory_set_pool_init(&pool, pool_buf,
						      sizeof(pool_buf)),
				 MAPPING_OK);
		env_init_alloc(&e, 0, opts & RC_MERGE,
			       &memory_set_pool_allocator, &pool);
	} else {
		env_init(&e, 0, opts & RC_MERGE);
	}
	for (i = 0; i < 400; i++)
		assert_int_equal(map_one(&e, opts, &seed,
					 base + (uint64_t)i * 0x4000 + 0x1000,
					 0x3000, 1 + rnd_below(&seed, 3), false),
				 MAPPING_OK);
	m_take(&e.set);
	model_merge = opts & RC_MERGE;

	for (i = 0; i < ops; i++) {
		uint64_t mask = ~0ull;
		bool exists = false;
		int op;

		/* Pool: hold what the set gave back, all but one node, so
		 * that operations needing more run it dry. */
		while ((opts & RC_POOL) && memory_set_pool_available(&pool) > 1) {
			assert_true(nheld < POOL_NODES);
			held[nheld++] = memory_set_pool_allocator.alloc(
				&pool, MEMORY_SET_NODE_SIZE);
		}
		uint64_t at = base + rnd_below(&seed, SPAN_PAGES) * 0x1000;
		uint64_t size = (1 + rnd_below(&seed, 64)) * 0x1000;
		uint64_t f = 1 + rnd_below(&seed, 3);
		bool armed = (opts & RC_FAIL) && arm(&e, &seed);
		enum mapping_error err;

		/* Near 2^64, cut ranges to end there at most (most of the
		 * time; past it is InvalidParam, checked below). */
		if ((opts & RC_TOP) && size - 1 > TOP - at &&
		    rnd_below(&seed, 8) != 0)
			size = TOP - at + 1;
		if ((opts & RC_GRANULE) && rnd_below(&seed, 50) == 0)
			assert_int_equal(memory_set_set_granule(&e.set,
					 rnd_below(&seed, 2) ? 0x2000 : 0x1000),
					 MAPPING_OK);
		if ((opts & RC_TOGGLE) && rnd_below(&seed, 100) == 0) {
			memory_set_set_merge(&e.set,
					     !memory_set_merge_enabled(&e.set));
			check_env(&e);
			model_merge = memory_set_merge_enabled(&e.set);
			m_merge_all();
			m_compare(&e.set);
		}

		op = (opts & RC_PROTECT_ONLY) ? 4 : (int)rnd_below(&seed, 6);
		if (op == 4)
			mask = rnd_below(&seed, 2) ? 3 : 1;
		switch (op) {
		case 0:
			err = t_unmap(&e, at, size);
			break;
		case 1:
			size = size % 0x5000 + 0x1000;
			err = map_one(&e, opts, &seed, at, size, f, true);
			break;
		case 2:
			size = 0x1000;
			err = map_one(&e, opts, &seed, at, size, f, false);
			if (err == MAPPING_ERR_ALREADY_EXISTS) {
				assert_true(memory_set_overlaps(&e.set, at,
								size));
				exists = true;
				err = MAPPING_OK;
			}
			break;
		case 3:
			if (rnd_below(&seed, 50) == 0) {
				err = t_clear(&e);
				at = size = 0; /* no range */
			} else
				err = t_protect(&e, at, size, f, ~0ull);
			break;
		default:
			err = t_protect(&e, at, size, f, mask);
			break;
		}
		/* The model follows what succeeded, and takes the set as it
		 * is after a failure (checked against the page table). */
		if (exists) {
			/* refused: nothing changed */
		} else if (err == MAPPING_OK && size > 0) {
			if (op == 1 || op == 2)
				m_map(at, size, f);
			else if (op == 0)
				m_apply(at, at + (size - 1), false, 0, 0);
			else {
				m_apply(at, at + (size - 1), true, f, mask);
				m_merge_all();
			}
		} else if (err == MAPPING_OK) {
			nmodel = 0; /* clear */
		} else if (err != MAPPING_ERR_INVALID_PARAM &&
			   err != MAPPING_ERR_ALREADY_EXISTS) {
			m_take(&e.set);
		}
		m_compare(&e.set);
		/* With failures armed, the op may fail with one of them; t_*
		 * checked the set against the page table either way. An
		 * invalid range is refused before any hook or allocation. */
		if (armed && (err == MAPPING_ERR_BAD_STATE ||
			      err == MAPPING_ERR_NO_MEMORY))
			err = MAPPING_OK;
		/* The pool ran dry: refused, nothing changed (t_* saw). */
		if ((opts & RC_POOL) && err == MAPPING_ERR_NO_MEMORY) {
			pool_dry++;
			err = MAPPING_OK;
		}
		/* A range past 2^64 or off the granule is refused. */
		if (size > 0 && (size - 1 > TOP - at ||
				 (at | size) % memory_set_granule(&e.set)))
			assert_int_equal(err, MAPPING_ERR_INVALID_PARAM);
		else
			assert_int_equal(err, MAPPING_OK);
		disarm(&e);
	}
	env_fini(&e);
	if (opts & RC_POOL) {
		assert_true(pool_dry > 0);
		while (nheld > 0)
			memory_set_pool_allocator.free(&pool, held[--nheld],
						       MEMORY_SET_NODE_SIZE);
		assert_int_equal(memory_set_pool_available(&pool), POOL_NODES);
	}
}

static void test_plain(void **state)
{
	(void)state;
	random_checked(0, 7, 3000);
}

static void test_plain_merge(void **state)
{
	(void)state;
	random_checked(RC_MERGE, 8, 3000);
}

/* Protect alone: many small areas, splits in many leaves at once. */
static void test_protect_only(void **state)
{
	(void)state;
	random_checked(RC_PROTECT_ONLY, 9, 3000);
}

static void test_file(void **state)
{
	(void)state;
	random_checked(RC_FILE, 10, 3000);
}

static void test_file_merge(void **state)
{
	(void)state;
	random_checked(RC_FILE | RC_MERGE, 11, 3000);
}

static void test_failures(void **state)
{
	(void)state;
	random_checked(RC_FAIL, 12, 3000);
}

static void test_failures_file_merge(void **state)
{
	(void)state;
	random_checked(RC_FAIL | RC_FILE | RC_MERGE, 13, 3000);
	random_checked(RC_FAIL | RC_FILE, 14, 3000);
}

static void test_top(void **state)
{
	(void)state;
	random_checked(RC_TOP, 15, 3000);
	random_checked(RC_TOP | RC_MERGE | RC_FILE, 16, 3000);
}

static void test_toggle(void **state)
{
	(void)state;
	random_checked(RC_TOGGLE, 17, 3000);
	random_checked(RC_TOGGLE | RC_FILE | RC_FAIL | RC_TOP, 18, 3000);
}

static void test_granule_mixed(void **state)
{
	(void)state;
	random_checked(RC_GRANULE | RC_MIXED | RC_MERGE, 19, 3000);
	random_checked(RC_GRANULE | RC_MIXED | RC_FILE | RC_TOGGLE | RC_FAIL,
		       20, 3000);
}

/* A set living in a fixed pool that runs out now and then. */
static void test_pool(void **state)
{
	(void)state;
	random_checked(RC_POOL, 21, 3000);
	random_checked(RC_POOL | RC_FILE | RC_MERGE | RC_FAIL, 22, 3000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_plain_merge),
		cmocka_unit_test(test_protect_only),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_merge),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_failures_file_merge),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_toggle),
		cmocka_unit_test(test_granule_mixed),
		cmocka_unit_test(test_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
