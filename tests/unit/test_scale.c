/*
 * Large sets: 100,000 areas mapped in random order, then random unmaps,
 * protects and replacing maps, merge turned on, and everything unmapped
 * again in random order, so the tree splits, merges, redistributes and
 * changes height many times. A page array is both the page table (hooks
 * assert each call is legal) and, kept separately by the test, the model of
 * what the set must hold. Full comparisons run every CHECK_EVERY operations
 * and at the end of each phase (comparing after every one of ~250,000
 * operations would take O(n) each).
 */
#include <stdlib.h>
#include <string.h>

#include "mock.h"

#define PAGE 0x1000ull
#define BASE 0x100000000ull
#define SLOTS 100000u      /* one area per slot at first */
#define SLOT_PAGES 4u
#define NPAGES (SLOTS * SLOT_PAGES)
#define CHECK_EVERY 2000u

struct world {
	struct memory_set set;
	struct count_alloc ca;
	uint8_t pt[NPAGES];    /* the page table: flags, 0 = unmapped */
	uint8_t model[NPAGES]; /* what the test expects */
	unsigned long hooks;
};

static struct world *W;

static size_t page_of(uint64_t addr)
{
	assert_true(addr >= BASE);
	assert_true((addr - BASE) % PAGE == 0);
	assert_true((addr - BASE) / PAGE < NPAGES);
	return (size_t)((addr - BASE) / PAGE);
}

static size_t pages_in(uint64_t start, uint64_t size)
{
	size_t p = page_of(start), n = (size_t)(size / PAGE);

	assert_true(size % PAGE == 0 && n > 0 && p + n <= NPAGES);
	return n;
}

static enum mapping_error pa_map(void *data, uint64_t start, uint64_t size,
				 uint64_t flags, void *pt)
{
	uint8_t *t = pt;
	size_t p = page_of(start), n = pages_in(start, size), i;

	(void)data;
	assert_true(flags > 0 && flags < 256);
	for (i = p; i < p + n; i++) {
		if (t[i])
			fail_msg("map of mapped page %zu", i);
		t[i] = (uint8_t)flags;
	}
	W->hooks++;
	return MAPPING_OK;
}

static enum mapping_error pa_unmap(void *data, uint64_t start, uint64_t size,
				   void *pt)
{
	uint8_t *t = pt;
	size_t p = page_of(start), n = pages_in(start, size), i;

	(void)data;
	for (i = p; i < p + n; i++) {
		if (!t[i])
			fail_msg("unmap of unmapped page %zu", i);
		t[i] = 0;
	}
	W->hooks++;
	return MAPPING_OK;
}

static enum mapping_error pa_protect(void *data, uint64_t start, uint64_t size,
				     uint64_t old_flags, uint64_t new_flags,
				     void *pt)
{
	uint8_t *t = pt;
	size_t p = page_of(start), n = pages_in(start, size), i;

	(void)data;
	assert_true(new_flags > 0 && new_flags < 256 && new_flags != old_flags);
	for (i = p; i < p + n; i++) {
		if (t[i] != old_flags)
			fail_msg("protect page %zu: flags %u, not %u", i, t[i],
				 (unsigned)old_flags);
		t[i] = (uint8_t)new_flags;
	}
	W->hooks++;
	return MAPPING_OK;
}

static const struct mapping_backend_ops pa_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = pa_map,
	.unmap = pa_unmap,
	.protect = pa_protect,
};

static const struct mapping_backend pa_backend = { &pa_ops, NULL };

/* Flags are 8..15: bit 3 is never under a mask, so never 0 (unmapped). */
static bool rule(uint64_t flags, uint64_t mask, uint64_t old, uint64_t *nf)
{
	if ((old & mask) == (flags & mask))
		return false;
	*nf = (flags & mask) | (old & ~mask);
	return true;
}

static void check_world(void)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	const char *msg = memory_set_check(&W->set);
	size_t mapped = 0, i, areas = 0;
	uint64_t prev_last = 0;
	bool merge = memory_set_merge_enabled(&W->set);

	if (msg)
		fail_msg("memory_set_check: %s", msg);
	if (memcmp(W->pt, W->model, NPAGES) != 0)
		fail_msg("page table and model differ");
	memory_set_foreach(a, &it, &W->set) {
		size_t p = page_of(a->start), n = pages_in(a->start, a->size);
		if (areas > 0)
			assert_true(a->start > prev_last);
		for (i = p; i < p + n; i++)
			if (W->model[i] != a->flags)
				fail_msg("page %zu: set %u, model %u", i,
					 (unsigned)a->flags, W->model[i]);
		/* With merge on, every area is a maximal run of its flags. */
		if (merge) {
			if (p > 0 && W->model[p - 1] == a->flags)
				fail_msg("area at page %zu not merged left", p);
			if (p + n < NPAGES && W->model[p + n] == a->flags)
				fail_msg("area at page %zu not merged right", p);
		}
		mapped += n;
		areas++;
		prev_last = memory_area_last(a);
	}
	assert_int_equal(areas, memory_set_len(&W->set));
	for (i = 0; i < NPAGES; i++)
		mapped -= W->model[i] != 0;
	assert_int_equal(mapped, 0);
	assert_int_equal(memory_set_memory_bytes(&W->set),
			 (uint64_t)W->ca.live * MEMORY_SET_NODE_SIZE);
}

static bool any_mapped(size_t p, size_t n)
{
	size_t i;

	for (i = p; i < p + n; i++)
		if (W->model[i])
			return true;
	return false;
}

static void model_set(size_t p, size_t n, uint8_t v)
{
	memset(&W->model[p], v, n);
}

static void op_map(size_t p, size_t n, uint8_t flags, bool replace)
{
	bool busy = any_mapped(p, n);
	enum mapping_error err = memory_set_map(&W->set, BASE + p * PAGE,
						n * PAGE, flags, &pa_backend,
						W->pt, replace);

	if (busy && !replace) {
		assert_int_equal(err, MAPPING_ERR_ALREADY_EXISTS);
		return;
	}
	assert_int_equal(err, MAPPING_OK);
	model_set(p, n, flags);
}

static void op_unmap(size_t p, size_t n)
{
	assert_int_equal(memory_set_unmap(&W->set, BASE + p * PAGE, n * PAGE,
					  W->pt), MAPPING_OK);
	model_set(p, n, 0);
}

struct mask {
	uint64_t flags, mask;
};

static bool mask_rule(void *ctx, uint64_t old, uint64_t *nf)
{
	const struct mask *m = ctx;
	return rule(m->flags, m->mask, old, nf);
}

static void op_protect(size_t p, size_t n, uint64_t flags, uint64_t mask)
{
	struct mask m = { flags, mask };
	size_t i;

	assert_int_equal(memory_set_protect(&W->set, BASE + p * PAGE, n * PAGE,
					    mask_rule, &m, W->pt), MAPPING_OK);
	for (i = p; i < p + n; i++) {
		uint64_t nf;
		if (W->model[i] && rule(flags, mask, W->model[i], &nf))
			W->model[i] = (uint8_t)nf;
	}
}

/* A random find and a random free-area search against the model. */
static void probe(uint64_t *seed)
{
	size_t p = (size_t)rnd_below(seed, NPAGES), n, q, i;
	const struct memory_area *a = memory_set_find(&W->set, BASE + p * PAGE);
	uint64_t align, got;
	enum mapping_error err;

	assert_int_equal(a != NULL, W->model[p] != 0);
	if (a)
		assert_int_equal(a->flags, W->model[p]);

	/* Lowest free run of n pages at or above page p, aligned. */
	n = 1 + (size_t)rnd_below(seed, 8);
	align = 1ull << rnd_below(seed, 4);
	err = memory_set_find_free_area(&W->set, BASE + p * PAGE, n * PAGE,
					align * PAGE, BASE,
					BASE + NPAGES * PAGE - 1, &got);
	for (q = p + (align - p % align) % align; q + n <= NPAGES; q += align) {
		for (i = 0; i < n && !W->model[q + i]; i++)
			;
		if (i == n)
			break;
	}
	if (q + n <= NPAGES) {
		assert_int_equal(err, MAPPING_OK);
		assert_int_equal(got, BASE + q * PAGE);
	} else {
		assert_int_equal(err, MAPPING_ERR_NO_MEMORY);
	}

	/* Highest such run at or below page p. */
	err = memory_set_find_free_area_top(&W->set, BASE + p * PAGE, n * PAGE,
					    align * PAGE, BASE,
					    BASE + NPAGES * PAGE - 1, &got);
	q = p < NPAGES - n ? p : NPAGES - n;
	q -= q % align;
	for (;;) {
		for (i = 0; i < n && !W->model[q + i]; i++)
			;
		if (i == n) {
			assert_int_equal(err, MAPPING_OK);
			assert_int_equal(got, BASE + q * PAGE);
			break;
		}
		if (q < align) {
			assert_int_equal(err, MAPPING_ERR_NO_MEMORY);
			break;
		}
		q -= align;
	}
}

static void shuffle(uint32_t *v, size_t n, uint64_t *seed)
{
	size_t i;

	for (i = n; i > 1; i--) {
		size_t j = (size_t)rnd_below(seed, i);
		uint32_t t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

static void random_ops(unsigned count, uint64_t *seed)
{
	unsigned k;

	for (k = 1; k <= count; k++) {
		size_t p = (size_t)rnd_below(seed, NPAGES - 64);
		size_t n = 1 + (size_t)rnd_below(seed, 48);
		uint8_t f = (uint8_t)(8 + rnd_below(seed, 8));

		switch (rnd_below(seed, 5)) {
		case 0:
			op_unmap(p, n);
			break;
		case 1:
			op_protect(p, n, f, rnd_below(seed, 2) ? 7 : 1);
			break;
		case 2:
			op_map(p, 1 + n % 4, f, true);
			break;
		case 3:
			op_map(p, 1 + n % 3, f, false);
			break;
		default:
			op_protect(p, n, f, 7);
			break;
		}
		if (k % 64 == 0)
			probe(seed);
		if (k % CHECK_EVERY == 0)
			check_world();
	}
	check_world();
}

static void test_scale(void **state)
{
	struct memory_set_options o;
	uint32_t *order = malloc(SLOTS * sizeof(*order));
	uint64_t seed = 2024;
	unsigned i;

	(void)state;
	W = calloc(1, sizeof(*W));
	assert_true(W && order);
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.allocator = &count_allocator;
	o.allocator_ctx = &W->ca;
	assert_int_equal(memory_set_init(&W->set, &o), MAPPING_OK);

	/* 100,000 areas of 1-3 pages, one per slot, in random order. */
	for (i = 0; i < SLOTS; i++)
		order[i] = i;
	shuffle(order, SLOTS, &seed);
	for (i = 0; i < SLOTS; i++) {
		op_map((size_t)order[i] * SLOT_PAGES,
		       1 + (size_t)rnd_below(&seed, 3),
		       (uint8_t)(8 + rnd_below(&seed, 8)), false);
		if ((i + 1) % CHECK_EVERY == 0)
			check_world();
	}
	assert_int_equal(memory_set_len(&W->set), SLOTS);
	check_world();
	for (i = 0; i < 2000; i++)
		probe(&seed);

	/* Random unmaps, protects and maps. */
	random_ops(60000, &seed);

	/* Merge on: a large set merged in one call, then more work. */
	memory_set_set_merge(&W->set, true);
	check_world();
	random_ops(30000, &seed);
	memory_set_set_merge(&W->set, false);

	/* Everything unmapped in random slot order: the tree shrinks back. */
	shuffle(order, SLOTS, &seed);
	for (i = 0; i < SLOTS; i++) {
		op_unmap((size_t)order[i] * SLOT_PAGES, SLOT_PAGES);
		if ((i + 1) % CHECK_EVERY == 0)
			check_world();
	}
	check_world();
	assert_true(memory_set_is_empty(&W->set));
	memory_set_destroy(&W->set);
	assert_int_equal(W->ca.live, 0);
	free(W);
	free(order);
}

/* Sequential growth and shrinking from both ends (the tree's edges). */
static void test_sequential(void **state)
{
	struct env e;
	int i, n = 20000;

	(void)state;
	env_init(&e, 0, false);
	for (i = 0; i < n; i++) {
		assert_int_equal(memory_set_map(&e.set, (uint64_t)i * 0x2000,
						0x1000, 1, &e.plain, &e.m,
						false), MAPPING_OK);
		if (i % 4000 == 0)
			check_env(&e);
	}
	check_env(&e);
	/* Remove alternately from the front and the back. */
	for (i = 0; i < n / 2; i++) {
		assert_int_equal(memory_set_unmap(&e.set, (uint64_t)i * 0x2000,
						  0x1000, &e.m), MAPPING_OK);
		assert_int_equal(memory_set_unmap(&e.set,
						  (uint64_t)(n - 1 - i) * 0x2000,
						  0x1000, &e.m), MAPPING_OK);
		if (i % 2000 == 0)
			check_env(&e);
	}
	assert_true(memory_set_is_empty(&e.set));
	/* Descending maps, then one unmap of the lot. */
	for (i = n; i-- > 0;)
		assert_int_equal(memory_set_map(&e.set, (uint64_t)i * 0x2000,
						0x1000, (uint64_t)i & 3, &e.plain,
						&e.m, false), MAPPING_OK);
	check_env(&e);
	assert_int_equal(t_unmap(&e, 0, (uint64_t)n * 0x2000), MAPPING_OK);
	env_fini(&e);
}

/*
 * remap_fixed in a tall tree of full leaves: the last area of a random run
 * moves into the hole after the run and back, as bench/api-bench.c times
 * it. The moved area goes in at a slot that may end a full leaf, and the
 * nodes reserved for it must be counted on the path of that leaf: a take
 * of a node nobody reserved is a NULL dereference.
 */
#define DEEP_AREAS 100000u
#define DEEP_RUN 64u
#define DEEP_HOLE 16u

static enum mapping_error nop_map(void *data, uint64_t start, uint64_t size,
				  uint64_t flags, void *pt)
{
	(void)data, (void)start, (void)size, (void)flags, (void)pt;
	return MAPPING_OK;
}

static enum mapping_error nop_unmap(void *data, uint64_t start,
				    uint64_t size, void *pt)
{
	(void)data, (void)start, (void)size, (void)pt;
	return MAPPING_OK;
}

static enum mapping_error nop_protect(void *data, uint64_t start,
				      uint64_t size, uint64_t old_flags,
				      uint64_t new_flags, void *pt)
{
	(void)data, (void)start, (void)size, (void)old_flags, (void)new_flags;
	(void)pt;
	return MAPPING_OK;
}

static const struct mapping_backend_ops nop_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = nop_map,
	.unmap = nop_unmap,
	.protect = nop_protect,
};

static uint64_t deep_start(uint64_t i)
{
	return BASE + ((i / DEEP_RUN) * (DEEP_RUN + DEEP_HOLE) +
		       i % DEEP_RUN) * PAGE;
}

static void test_remap_fixed_deep(void **state)
{
	const struct mapping_backend b = { &nop_ops, NULL };
	struct memory_set set;
	struct memory_set_options o;
	struct count_alloc ca;
	uint64_t seed = 19, i;
	unsigned c;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	memset(&ca, 0, sizeof(ca));
	o.allocator = &count_allocator;
	o.allocator_ctx = &ca;
	assert_int_equal(memory_set_init(&set, &o), MAPPING_OK);
	for (i = 0; i < DEEP_AREAS; i++)
		assert_int_equal(memory_set_map(&set, deep_start(i), PAGE,
						3 + (i & 4), &b, NULL, false),
				 MAPPING_OK);
	for (c = 0; c < 20000; c++) {
		uint64_t s;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		s = deep_start((seed >> 33) % (DEEP_AREAS / DEEP_RUN) *
				       DEEP_RUN + DEEP_RUN - 1);
		assert_int_equal(memory_set_remap_fixed(&set, s, PAGE, PAGE,
							s + 8 * PAGE, NULL),
				 MAPPING_OK);
		assert_int_equal(memory_set_remap_fixed(&set, s + 8 * PAGE,
							PAGE, PAGE, s, NULL),
				 MAPPING_OK);
	}
	assert_null(memory_set_check(&set));
	assert_int_equal(memory_set_len(&set), DEEP_AREAS);
	memory_set_destroy(&set);
	assert_int_equal(ca.live, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_remap_fixed_deep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
