/* find_free_area and find_free_area_top. */
#include "mock.h"

#define MAX_ADDR 0x10000ull
#define UNTOUCHED 0xdeadbeefull

static enum mapping_error ffree(struct env *e, uint64_t hint, uint64_t size,
				uint64_t align, uint64_t first, uint64_t last,
				uint64_t *addr)
{
	*addr = UNTOUCHED;
	return memory_set_find_free_area(&e->set, hint, size, align, first,
					 last, addr);
}

static enum mapping_error ftop(struct env *e, uint64_t hint, uint64_t size,
			       uint64_t align, uint64_t first, uint64_t last,
			       uint64_t *addr)
{
	*addr = UNTOUCHED;
	return memory_set_find_free_area_top(&e->set, hint, size, align, first,
					     last, addr);
}

/* Expect a result: ok and the address, or an error with addr untouched.
 * A macro, so a failure names the caller's line. */
#define expect(err_, addr_, want_, want_addr_)                                \
	do {                                                                 \
		enum mapping_error e_ = (err_);                              \
		assert_int_equal(e_, (want_));                               \
		assert_int_equal((addr_), (want_) == MAPPING_OK ? (want_addr_) \
								: UNTOUCHED); \
	} while (0)

/* ---- a reference over the shadow page table's gaps ----------------------- */

/* The i-th gap [*gs, *ge] of the shadow, i in [0, runs]; false if empty. */
static bool gap_at(const struct shadow *sh, size_t i, uint64_t *gs,
		   uint64_t *ge)
{
	if (i > 0 && sh->r[i - 1].last == TOP)
		return false;
	*gs = i > 0 ? sh->r[i - 1].last + 1 : 0;
	if (i < sh->n) {
		if (sh->r[i].start == *gs)
			return false;
		*ge = sh->r[i].start - 1;
	} else {
		*ge = TOP;
	}
	return true;
}

static enum mapping_error ref_free(const struct shadow *sh, uint64_t hint,
				   uint64_t size, uint64_t align,
				   uint64_t first, uint64_t last, uint64_t *addr)
{
	uint64_t lo = hint > first ? hint : first, gs, ge;
	size_t i;

	for (i = 0; i <= sh->n; i++) {
		uint64_t from, a, end;

		if (!gap_at(sh, i, &gs, &ge) || ge < lo)
			continue;
		if (gs > last)
			break;
		from = gs > lo ? gs : lo;
		if (from % align) {
			if (from > TOP - (align - from % align))
				continue;
			from += align - from % align;
		}
		a = from;
		end = ge < last ? ge : last;
		if (a > end || size - 1 > end - a)
			continue;
		*addr = a;
		return MAPPING_OK;
	}
	return MAPPING_ERR_NO_MEMORY;
}

static enum mapping_error ref_top(const struct shadow *sh, uint64_t hint,
				  uint64_t size, uint64_t align, uint64_t first,
				  uint64_t last, uint64_t *addr)
{
	uint64_t gs, ge;
	size_t i;

	for (i = sh->n + 1; i-- > 0;) {
		uint64_t end, a, lo;

		if (!gap_at(sh, i, &gs, &ge) || gs > last)
			continue;
		if (ge < first)
			break;
		end = ge < last ? ge : last;
		lo = gs > first ? gs : first;
		if (end - lo < size - 1)
			continue;
		a = end - (size - 1);
		if (hint && a > hint)
			a = hint;
		a -= a % align;
		if (a < lo)
			continue;
		*addr = a;
		return MAPPING_OK;
	}
	return MAPPING_ERR_NO_MEMORY;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_free_invalid(void **state)
{
	struct env e;
	uint64_t a = UNTOUCHED;
	int top;

	(void)state;
	env_init(&e, 0, false);
	assert_int_equal(t_map(&e, 0x10000, 0x1000, 1, false), MAPPING_OK);
	for (top = 0; top < 2; top++) {
		enum mapping_error (*f)(struct env *, uint64_t, uint64_t,
					uint64_t, uint64_t, uint64_t,
					uint64_t *) = top ? ftop : ffree;
		enum mapping_error (*raw)(const struct memory_set *, uint64_t,
					  uint64_t, uint64_t, uint64_t,
					  uint64_t, uint64_t *) =
			top ? memory_set_find_free_area_top
			    : memory_set_find_free_area;
		expect(f(&e, 0, 0, 0x1000, 0, TOP, &a), a,
		       MAPPING_ERR_INVALID_PARAM, 0);
		expect(f(&e, 0, 0x1000, 0, 0, TOP, &a), a,
		       MAPPING_ERR_INVALID_PARAM, 0);
		expect(f(&e, 0, 0x1000, 3, 0, TOP, &a), a,
		       MAPPING_ERR_INVALID_PARAM, 0);
		expect(f(&e, 0, 0x1000, 0x3000, 0, TOP, &a), a,
		       MAPPING_ERR_INVALID_PARAM, 0);
		expect(f(&e, 0, 0x1000, 0x1000, 0x2000, 0x1fff, &a), a,
		       MAPPING_ERR_INVALID_PARAM, 0);
		expect(f(&e, 0, 0x1000, 0x1000, TOP, 0, &a), a,
		       MAPPING_ERR_INVALID_PARAM, 0);
		assert_int_equal(raw(&e.set, 0, 0x1000, 0x1000, 0, TOP, NULL),
				 MAPPING_ERR_INVALID_PARAM);
	}
	env_fini(&e);
}

static void test_free_empty(void **state)
{
	struct env e;
	uint64_t a;

	(void)state;
	env_init(&e, 0, false);
	expect(ffree(&e, 0, 0x1000, 0x1000, 0, TOP, &a), a, MAPPING_OK, 0);
	expect(ffree(&e, 0x5000, 0x1000, 0x1000, 0, TOP, &a), a, MAPPING_OK,
	       0x5000);
	expect(ffree(&e, 0x5001, 0x1000, 0x1000, 0, TOP, &a), a, MAPPING_OK,
	       0x6000);
	expect(ffree(&e, 0x5001, 0x1000, 1, 0, TOP, &a), a, MAPPING_OK, 0x5001);
	/* SIZE need not be a multiple of ALIGN. */
	expect(ffree(&e, 0, 0x1234, 0x1000, 0x3000, TOP, &a), a, MAPPING_OK,
	       0x3000);
	/* The top of the space: up to 2^64 exactly, never past. */
	expect(ffree(&e, TOP - 0xfff, 0x1000, 0x1000, 0, TOP, &a), a,
	       MAPPING_OK, TOP - 0xfff);
	expect(ffree(&e, TOP - 0xffe, 0x1000, 1, 0, TOP, &a), a,
	       MAPPING_ERR_NO_MEMORY, 0);
	expect(ffree(&e, TOP - 0xffe, 0x1000, 0x1000, 0, TOP, &a), a,
	       MAPPING_ERR_NO_MEMORY, 0);
	expect(ffree(&e, 0, UINT64_MAX, 1, 0, TOP, &a), a, MAPPING_OK, 0);
	expect(ffree(&e, 1, UINT64_MAX, 1, 0, TOP, &a), a, MAPPING_OK, 1);
	expect(ffree(&e, 2, UINT64_MAX, 1, 0, TOP, &a), a,
	       MAPPING_ERR_NO_MEMORY, 0);
	/* One-byte limits at 0 and at 2^64-1. */
	expect(ffree(&e, 0, 1, 1, 0, 0, &a), a, MAPPING_OK, 0);
	expect(ffree(&e, 0, 2, 1, 0, 0, &a), a, MAPPING_ERR_NO_MEMORY, 0);
	expect(ffree(&e, 0, 1, 1, TOP, TOP, &a), a, MAPPING_OK, TOP);
	expect(ffree(&e, 0, 1, 2, TOP, TOP, &a), a, MAPPING_ERR_NO_MEMORY, 0);
	expect(ffree(&e, 0, 1, 1ull << 63, 1, TOP, &a), a, MAPPING_OK,
	       1ull << 63);
	/* The hint below first: first wins; past last: none. */
	expect(ffree(&e, 0x1000, 0x1000, 0x1000, 0x8000, 0xffff, &a), a,
	       MAPPING_OK, 0x8000);
	expect(ffree(&e, 0x10000, 0x1000, 0x1000, 0x8000, 0xffff, &a), a,
	       MAPPING_ERR_NO_MEMORY, 0);
	expect(ffree(&e, 0xf000, 0x1000, 0x1000, 0x8000, 0xffff, &a), a,
	       MAPPING_OK, 0xf000);
	expect(ffree(&e, 0xf000, 0x1001, 0x1000, 0x8000, 0xffff, &a), a,
	       MAPPING_ERR_NO_MEMORY, 0);

	expect(ftop(&e, 0, 0x1000, 0x1000, 0, TOP, &a), a, MAPPING_OK,
	       TOP - 0xfff);
	expect(ftop(&e, 0x5000, 0x1000, 0x1000, 0, TOP, &a), a, MAPPING_OK,
	       0x5000);
	expect(ftop(&e, 0x5fff, 0x1000, 0x1000, 0, TOP, &a), a, MAPPING_OK,
	       0x5000);
	expect(ftop(&e, 0, 0x1234, 0x1000, 0, 0xffff, &a), a, MAPPING_OK,
	       0xe000);
	expect(ftop(&e, 0, 0x1000, 1, 0, 0xffff, &a), a, MAPPING_OK, 0xf000);
	expect(ftop(&e, 0, UINT64_MAX, 1, 0, TOP, &a), a, MAPPING_OK, 1);
	expect(ftop(&e, 0, UINT64_MAX, 2, 0, TOP, &a), a, MAPPING_OK, 0);
	expect(ftop(&e, 0, UINT64_MAX, 2, 1, TOP, &a), a,
	       MAPPING_ERR_NO_MEMORY, 0);
	expect(ftop(&e, 0, 1, 1, 0, 0, &a), a, MAPPING_OK, 0);
	expect(ftop(&e, 0, 1, 1, TOP, TOP, &a), a, MAPPING_OK, TOP);
	expect(ftop(&e, 0, 1, 0x1000, TOP, TOP, &a), a,
	       MAPPING_ERR_NO_MEMORY, 0);
	/* Hint below first: nothing at or below it. */
	expect(ftop(&e, 0x1000, 0x1000, 0x1000, 0x8000, 0xffff, &a), a,
	       MAPPING_ERR_NO_MEMORY, 0);
	env_fini(&e);
}

/* The Rust crate's scenario: 8 areas at every other page of [0, 0x10000). */
static void test_free_rust(void **state)
{
	struct env e;
	uint64_t a, s;

	(void)state;
	env_init(&e, 0, false);
	for (s = 0; s < MAX_ADDR; s += 0x2000)
		assert_int_equal(t_map(&e, s, 0x1000, 1, false), MAPPING_OK);
	expect(ffree(&e, 0, 0x1000, 1, 0, MAX_ADDR - 1, &a), a, MAPPING_OK,
	       0x1000);
	expect(ffree(&e, 0x800, 0x800, 1, 0, MAX_ADDR - 1, &a), a, MAPPING_OK,
	       0x1000);
	expect(ffree(&e, 0x1800, 0x800, 1, 0, MAX_ADDR - 1, &a), a, MAPPING_OK,
	       0x1800);
	expect(ffree(&e, 0x1800, 0x1000, 1, 0, MAX_ADDR - 1, &a), a,
	       MAPPING_OK, 0x3000);
	expect(ffree(&e, 0x2000, 0x1000, 1, 0, MAX_ADDR - 1, &a), a,
	       MAPPING_OK, 0x3000);
	expect(ffree(&e, 0xf000, 0x1000, 1, 0, MAX_ADDR - 1, &a), a,
	       MAPPING_OK, 0xf000);
	expect(ffree(&e, 0xf001, 0x1000, 1, 0, MAX_ADDR - 1, &a), a,
	       MAPPING_ERR_NO_MEMORY, 0);
	expect(ffree(&e, 0, 0x1001, 1, 0, MAX_ADDR - 1, &a), a,
	       MAPPING_ERR_NO_MEMORY, 0);
	/* Without the limit, the last gap runs to 2^64. */
	expect(ffree(&e, 0, 0x1001, 1, 0, TOP, &a), a, MAPPING_OK, 0xf000);
	/* Alignment: 0x2000-aligned gaps start at odd pages, none fit. */
	expect(ffree(&e, 0, 0x1000, 0x2000, 0, MAX_ADDR - 1, &a), a,
	       MAPPING_ERR_NO_MEMORY, 0);
	expect(ffree(&e, 0, 0x800, 0x800, 0, MAX_ADDR - 1, &a), a, MAPPING_OK,
	       0x1000);
	expect(ffree(&e, 0x1001, 0x400, 0x400, 0, MAX_ADDR - 1, &a), a,
	       MAPPING_OK, 0x1400);

	expect(ftop(&e, 0, 0x1000, 1, 0, MAX_ADDR - 1, &a), a, MAPPING_OK,
	       0xf000);
	expect(ftop(&e, 0xe800, 0x1000, 1, 0, MAX_ADDR - 1, &a), a, MAPPING_OK,
	       0xd000);
	expect(ftop(&e, 0xe800, 0x800, 1, 0, MAX_ADDR - 1, &a), a, MAPPING_OK,
	       0xd800);
	expect(ftop(&e, 0, 0x800, 0x1000, 0x1800, 0xefff, &a), a, MAPPING_OK,
	       0xd000);
	expect(ftop(&e, 0x1800, 0x1000, 1, 0, MAX_ADDR - 1, &a), a, MAPPING_OK,
	       0x1000);
	expect(ftop(&e, 0xfff, 0x1000, 1, 0, MAX_ADDR - 1, &a), a,
	       MAPPING_ERR_NO_MEMORY, 0);
	env_fini(&e);
}

static void test_free_full_top(void **state)
{
	struct env e;
	uint64_t a;

	(void)state;
	env_init(&e, 0, false);
	/* The whole space, in two areas. */
	assert_int_equal(t_map(&e, 0, 1ull << 63, 1, false), MAPPING_OK);
	assert_int_equal(t_map(&e, 1ull << 63, 1ull << 63, 2, false),
			 MAPPING_OK);
	expect(ffree(&e, 0, 1, 1, 0, TOP, &a), a, MAPPING_ERR_NO_MEMORY, 0);
	expect(ftop(&e, 0, 1, 1, 0, TOP, &a), a, MAPPING_ERR_NO_MEMORY, 0);
	expect(ftop(&e, TOP, 1, 1, 0, TOP, &a), a, MAPPING_ERR_NO_MEMORY, 0);
	/* One page free just below 2^63, one at the very top. */
	assert_int_equal(t_unmap(&e, (1ull << 63) - 0x1000, 0x1000), MAPPING_OK);
	assert_int_equal(t_unmap(&e, TOP - 0xfff, 0x1000), MAPPING_OK);
	expect(ffree(&e, 0, 0x1000, 0x1000, 0, TOP, &a), a, MAPPING_OK,
	       (1ull << 63) - 0x1000);
	expect(ffree(&e, 1ull << 63, 0x1000, 0x1000, 0, TOP, &a), a,
	       MAPPING_OK, TOP - 0xfff);
	expect(ffree(&e, 0, 0x2000, 0x1000, 0, TOP, &a), a,
	       MAPPING_ERR_NO_MEMORY, 0);
	expect(ftop(&e, 0, 0x1000, 0x1000, 0, TOP, &a), a, MAPPING_OK,
	       TOP - 0xfff);
	expect(ftop(&e, TOP - 0x1000, 0x1000, 0x1000, 0, TOP, &a), a,
	       MAPPING_OK, (1ull << 63) - 0x1000);
	expect(ftop(&e, 0, 0x1000, 0x1000, 0, TOP - 1, &a), a, MAPPING_OK,
	       (1ull << 63) - 0x1000);
	expect(ftop(&e, 0, 0x1000, 0x2000, 0, TOP, &a), a,
	       MAPPING_ERR_NO_MEMORY, 0);
	env_fini(&e);
}

/* Random sets against the reference: many leaves, so the gap summaries of
 * inner nodes decide, and alignments larger than the granule. */
static void test_free_random(void **state)
{
	uint64_t seed = 12345;
	int round;

	(void)state;
	for (round = 0; round < 40; round++) {
		struct env e;
		uint64_t span = 0x1000 * (64 + rnd_below(&seed, 4000));
		uint64_t base = rnd_below(&seed, 4) == 0 ? 0 - span
							 : rnd_below(&seed, 1u << 20) * 0x1000;
		int n = 1 + (int)rnd_below(&seed, 600), i, q;

		env_init(&e, 0, false);
		for (i = 0; i < n; i++) {
			uint64_t pages = span / 0x1000;
			uint64_t p = rnd_below(&seed, pages);
			uint64_t len = 1 + rnd_below(&seed, 8);
			if (len > pages - p)
				len = pages - p;
			/* Unchecked map: the ranges were made to be valid. */
			memory_set_map(&e.set, base + p * 0x1000, len * 0x1000, 1,
				       &e.plain, &e.m, rnd_below(&seed, 2));
		}
		check_env(&e);
		for (q = 0; q < 400; q++) {
			uint64_t hint = base + rnd_below(&seed, span + 1);
			uint64_t size = 1 + rnd_below(&seed, 0x10000);
			uint64_t align = 1ull << rnd_below(&seed, 18);
			uint64_t first = rnd_below(&seed, 2) ? 0
				: base + rnd_below(&seed, span);
			uint64_t last = rnd_below(&seed, 2) ? TOP
				: first + rnd_below(&seed, span);
			uint64_t got, want;
			enum mapping_error eg, ew;

			if (rnd_below(&seed, 8) == 0)
				hint = 0;
			if (last < first)
				last = TOP;
			eg = ffree(&e, hint, size, align, first, last, &got);
			ew = ref_free(&e.m.sh, hint, size, align, first, last,
				      &want);
			if (eg != ew || (eg == MAPPING_OK && got != want))
				fail_msg("free(%#llx, %#llx, %#llx, %#llx, %#llx): "
					 "got %d %#llx, want %d %#llx",
					 (unsigned long long)hint,
					 (unsigned long long)size,
					 (unsigned long long)align,
					 (unsigned long long)first,
					 (unsigned long long)last, eg,
					 (unsigned long long)got, ew,
					 (unsigned long long)want);
			eg = ftop(&e, hint, size, align, first, last, &got);
			ew = ref_top(&e.m.sh, hint, size, align, first, last,
				     &want);
			if (eg != ew || (eg == MAPPING_OK && got != want))
				fail_msg("freetop(%#llx, %#llx, %#llx, %#llx, %#llx): "
					 "got %d %#llx, want %d %#llx",
					 (unsigned long long)hint,
					 (unsigned long long)size,
					 (unsigned long long)align,
					 (unsigned long long)first,
					 (unsigned long long)last, eg,
					 (unsigned long long)got, ew,
					 (unsigned long long)want);
		}
		env_fini(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_invalid),
		cmocka_unit_test(test_free_empty),
		cmocka_unit_test(test_free_rust),
		cmocka_unit_test(test_free_full_top),
		cmocka_unit_test(test_free_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
