/*
 * Randomized conformance: random operation sequences, run on the library and
 * on the naive model (tests/model), compared after every operation: the
 * result, the whole area list, and memory_set_check(). Odd seeds use a
 * backend whose page table is a second naive model, checked against the
 * hooks' contract and against the set.
 *
 *   conformance_random [SEEDS [OPS [FIRST_SEED]]]
 *
 * Addresses are drawn near 0, near the top of the 64-bit space and in the
 * middle, on a lattice of pages so that ranges meet often; sizes include 0
 * and ranges up to and past 2^64; merging and the granule change on the way.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memory_set/malloc.h>
#include <memory_set/memory_set.h>

#include "trace.h"

#include "naive.h"

static uint64_t rng_state;

/* splitmix64: small, and the same sequence on every host. */
static uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t n)
{
	return rnd64() % n;
}

/* The page table of the checking backend: a naive model, merged, granule 1. */
struct page_table {
	struct naive m;
	const char *why;
};

static enum mapping_error broken(struct page_table *pt, const char *why)
{
	if (!pt->why)
		pt->why = why;
	return MAPPING_ERR_BAD_STATE;
}

/* Is [start, start+size) all mapped (with @flags, if @match)? */
static bool covered(const struct naive *m, uint64_t start, uint64_t size,
		    bool match, uint64_t flags)
{
	uint64_t pos = start, last = start + (size - 1);
	size_t i;

	for (i = 0; i < naive_len(m); i++) {
		const struct naive_area *a = naive_area(m, i);
		uint64_t alast = a->start + (a->size - 1);

		if (alast < pos)
			continue;
		if (a->start > pos || (match && a->flags != flags))
			return false;
		if (alast >= last)
			return true;
		pos = alast + 1;
	}
	return false;
}

/* Not past 2^64, and size 0 only for [0, 2^64). */
static bool hook_range_ok(uint64_t start, uint64_t size)
{
	return size ? size - 1 <= UINT64_MAX - start : start == 0;
}

static enum mapping_error pt_map(void *data, uint64_t start, uint64_t size,
				 uint64_t flags, void *ptp)
{
	struct page_table *pt = ptp;

	(void)data;
	if (!hook_range_ok(start, size))
		return broken(pt, "map hook: wrapping range");
	if (naive_map(&pt->m, start, size, flags, false) != MAPPING_OK)
		return broken(pt, "map hook over mapped memory");
	return MAPPING_OK;
}

static enum mapping_error pt_unmap(void *data, uint64_t start, uint64_t size,
				   void *ptp)
{
	struct page_table *pt = ptp;

	(void)data;
	if (!hook_range_ok(start, size) || !covered(&pt->m, start, size, false, 0))
		return broken(pt, "unmap hook over unmapped memory");
	if (size)
		naive_unmap(&pt->m, start, size);
	else
		naive_clear(&pt->m); /* [0, 2^64) */
	return MAPPING_OK;
}

static enum mapping_error pt_protect(void *data, uint64_t start, uint64_t size,
				     uint64_t old_flags, uint64_t new_flags,
				     void *ptp)
{
	struct page_table *pt = ptp;

	(void)data;
	if (old_flags == new_flags)
		return broken(pt, "protect hook that changes nothing");
	if (!hook_range_ok(start, size) ||
	    !covered(&pt->m, start, size, true, old_flags))
		return broken(pt, "protect hook over memory not mapped with old_flags");
	naive_protect(&pt->m, start, size, new_flags, UINT64_MAX);
	return MAPPING_OK;
}

static const struct mapping_backend_ops pt_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = pt_map,
	.unmap = pt_unmap,
	.protect = pt_protect,
};

/* Do two area lists map the same bytes with the same flags? */
static bool same_bytes(const struct naive *x, const struct naive *y)
{
	size_t i = 0, j = 0;
	uint64_t pos = 0;

	for (;;) {
		const struct naive_area *a = naive_area(x, i), *b = naive_area(y, j);
		uint64_t alast, blast, end;

		if (!a || !b)
			return !a && !b;
		alast = a->start + (a->size - 1);
		blast = b->start + (b->size - 1);
		if ((a->start > pos ? a->start : pos) !=
		    (b->start > pos ? b->start : pos) || a->flags != b->flags)
			return false;
		end = alast < blast ? alast : blast;
		if (end == UINT64_MAX)
			return naive_area(x, i + 1) == NULL &&
			       naive_area(y, j + 1) == NULL;
		i += alast == end;
		j += blast == end;
		pos = end + 1;
	}
}

static const uint64_t some_flags[] = { 1, 3, 5, 7 };
static const uint64_t some_masks[] = { UINT64_MAX, UINT64_MAX, 1, 2, 3, 4, 6, 0 };
static const uint64_t some_granules[] = { 0x1000, 0x1000, 0x1000, 0x2000,
					  0x800, 0x10, 1 };
static const uint64_t some_aligns[] = { 1, 0x1000, 0x1000, 0x2000, 0x10000,
					3, 0 };

static uint64_t pick(const uint64_t *v, size_t n)
{
	return v[rnd(n)];
}
#define PICK(v) pick(v, sizeof(v) / sizeof(v[0]))

/* Mostly page-aligned, now and then misaligned for the current granule. */
static uint64_t unit(void)
{
	return rnd(16) ? 0x1000 : PICK(some_granules);
}

/*
 * Pages per region: 48 for crowded sets where every edge case meets every
 * other; 4096 ("wide" seeds) with rarer huge ranges, for sets of hundreds of
 * areas and trees several levels deep.
 */
static uint64_t span;
static bool wide;

static uint64_t rnd_addr(void)
{
	uint64_t k = rnd(span);

	switch (rnd(8)) {
	case 0:
	case 1:
	case 2:
		return k * unit();                 /* near 0 */
	case 3:
	case 4:
		return 0 - (k + 1) * unit();       /* near 2^64 */
	case 5:
	case 6:
		return 0x7f0000000000ull + k * unit();
	default:
		return rnd64() & ~(uint64_t)0xfff;
	}
}

static uint64_t rnd_size(uint64_t start)
{
	if (wide && rnd(64))
		return (rnd(12) + 1) * unit();
	switch (rnd(16)) {
	case 0:
		return 0;
	case 1:
		return 0 - start;                  /* up to 2^64 exactly */
	case 2:
		return 0 - start + unit();         /* past 2^64 (or wraps) */
	case 3:
		return rnd64();
	default:
		return (rnd(12) + 1) * unit();
	}
}

struct world {
	struct memory_set set;
	struct naive model;
	struct page_table pt;
	struct mapping_backend backend;
	void *page_table;
	char op[160];   /* the current operation, for failure reports */
};

static unsigned long long seed_now;
static unsigned long step_now;

static void failf(struct world *w, const char *what)
{
	fprintf(stderr, "conformance_random: seed %llu step %lu: %s: %s\n",
		seed_now, step_now, w->op, what);
	exit(1);
}

static void expect_err(struct world *w, enum mapping_error got,
		       enum mapping_error want)
{
	char msg[96];

	if (got != want) {
		snprintf(msg, sizeof(msg), "library says %s, model says %s",
			 mapping_strerror(got), mapping_strerror(want));
		failf(w, msg);
	}
}

/* The set and the model hold the same areas; the set is sound. */
static void compare(struct world *w)
{
	const struct memory_area *a;
	struct memory_set_iter it;
	const char *why = memory_set_check(&w->set);
	size_t i = 0;

	if (why)
		failf(w, why);
	if (memory_set_len(&w->set) != naive_len(&w->model))
		failf(w, "area count differs");
	memory_set_foreach(a, &it, &w->set) {
		const struct naive_area *b = naive_area(&w->model, i++);

		if (!b || a->start != b->start || a->size != b->size ||
		    a->flags != b->flags)
			failf(w, "area list differs");
	}
	if (i != naive_len(&w->model))
		failf(w, "iteration misses areas");
	if (w->page_table) {
		if (w->pt.why)
			failf(w, w->pt.why);
		if (!same_bytes(&w->model, &w->pt.m))
			failf(w, "page table differs from the set");
	}
}

static void step(struct world *w)
{
	uint64_t start = rnd_addr(), size = rnd_size(start), flags = PICK(some_flags);
	uint64_t r = rnd(1000), got_addr = 0, want_addr = 0;
	enum mapping_error got, want;

	if (r < 250 || r >= 990) {
		bool replace = r >= 170 && r < 250;

		snprintf(w->op, sizeof(w->op), "map %#" PRIx64 " %#" PRIx64 " %#" PRIx64 "%s",
			 start, size, flags, replace ? " replace" : "");
		got = memory_set_map(&w->set, start, size, flags, &w->backend,
				     w->page_table, replace);
		expect_err(w, got, naive_map(&w->model, start, size, flags, replace));
	} else if (r < 400) {
		snprintf(w->op, sizeof(w->op), "unmap %#" PRIx64 " %#" PRIx64, start, size);
		got = memory_set_unmap(&w->set, start, size, w->page_table);
		expect_err(w, got, naive_unmap(&w->model, start, size));
	} else if (r < 600) {
		struct trace_prot p = { flags, PICK(some_masks) };

		snprintf(w->op, sizeof(w->op), "protect %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " %#" PRIx64,
			 start, size, p.flags, p.mask);
		got = memory_set_protect(&w->set, start, size, trace_prot_update, &p,
					 w->page_table);
		expect_err(w, got, naive_protect(&w->model, start, size, p.flags, p.mask));
	} else if (r < 700) {
		const struct memory_area *a;
		const struct naive_area *b;

		start += rnd(3) ? 0 : rnd(0x1000);
		snprintf(w->op, sizeof(w->op), "find %#" PRIx64, start);
		a = memory_set_find(&w->set, start);
		b = naive_find(&w->model, start);
		if (!a != !b || (a && (a->start != b->start || a->size != b->size ||
				       a->flags != b->flags)))
			failf(w, "find differs");
	} else if (r < 760) {
		snprintf(w->op, sizeof(w->op), "overlaps %#" PRIx64 " %#" PRIx64, start, size);
		if (memory_set_overlaps(&w->set, start, size) !=
		    naive_overlaps(&w->model, start, size))
			failf(w, "overlaps differs");
	} else if (r < 960) {
		/* A limit around the start, sometimes empty or the whole space. */
		uint64_t first = rnd(4) ? start - rnd(8) * 0x1000 : 0;
		uint64_t last = rnd(4) ? first + rnd64() % (1ull << (rnd(64))) : UINT64_MAX;
		uint64_t hint = rnd(3) ? 0 : rnd_addr(), align = PICK(some_aligns);
		bool top = r >= 860;

		if (!rnd(8))
			size = 1 + rnd(0x3000);
		if (rnd(2))
			size &= 0xffffffffull; /* mostly sizes that can fit */
		snprintf(w->op, sizeof(w->op), "%s %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " %#" PRIx64,
			 top ? "freetop" : "free", hint, size, align, first, last);
		got = (top ? memory_set_find_free_area_top : memory_set_find_free_area)(
			&w->set, hint, size, align, first, last, &got_addr);
		want = naive_free_area(&w->model, hint, size, align, first, last,
				       top, &want_addr);
		expect_err(w, got, want);
		if (got == MAPPING_OK && got_addr != want_addr)
			failf(w, "free area differs");
	} else if (r < 970) {
		bool on = rnd(2);

		snprintf(w->op, sizeof(w->op), "merge %s", on ? "on" : "off");
		memory_set_set_merge(&w->set, on);
		naive_set_merge(&w->model, on);
	} else if (r < 985) {
		uint64_t g = rnd(10) ? PICK(some_granules) : rnd64() | 1;

		snprintf(w->op, sizeof(w->op), "granule %#" PRIx64, g);
		expect_err(w, memory_set_set_granule(&w->set, g),
			   naive_set_granule(&w->model, g));
		if (memory_set_granule(&w->set) != w->model.granule)
			failf(w, "granule differs");
	} else if (!wide || !rnd(20)) {
		snprintf(w->op, sizeof(w->op), "clear");
		expect_err(w, memory_set_clear(&w->set, w->page_table), MAPPING_OK);
		naive_clear(&w->model);
	}
	compare(w);
}

static void run_seed(unsigned long long seed, unsigned long ops)
{
	static struct world w;
	struct memory_set_options opts = {
		.size = sizeof(opts),
		.allocator = &memory_set_malloc_allocator,
	};

	seed_now = seed;
	rng_state = seed * 0x2545f4914f6cdd1dull;
	wide = seed % 4 == 3;
	span = wide ? 4096 : 48;
	memset(&w, 0, sizeof(w));
	naive_init(&w.model);
	naive_init(&w.pt.m);
	naive_set_granule(&w.pt.m, 1);
	naive_set_merge(&w.pt.m, true);
	/* Options at init: merge, and granule 0 (the default) or another. */
	opts.merge = rnd(4) == 0;
	opts.granule = rnd(2) ? 0 : PICK(some_granules);
	naive_set_merge(&w.model, opts.merge);
	if (opts.granule)
		naive_set_granule(&w.model, opts.granule);
	if (memory_set_init(&w.set, &opts) != MAPPING_OK) {
		fprintf(stderr, "conformance_random: memory_set_init failed\n");
		exit(1);
	}
	w.backend.ops = seed % 2 ? &pt_ops : &trace_null_ops;
	w.page_table = seed % 2 ? &w.pt : NULL;
	for (step_now = 0; step_now < ops; step_now++)
		step(&w);
	if (getenv("RANDOM_STATS"))
		fprintf(stderr, "seed %llu areas %zu\n", seed, naive_len(&w.model));
	memory_set_destroy(&w.set);
	naive_free(&w.model);
	naive_free(&w.pt.m);
}

int main(int argc, char **argv)
{
	unsigned long long seeds = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000;
	unsigned long ops = argc > 2 ? strtoul(argv[2], NULL, 0) : 2000;
	unsigned long long first = argc > 3 ? strtoull(argv[3], NULL, 0) : 1, s;

	for (s = first; s < first + seeds; s++)
		run_seed(s, ops);
	printf("conformance_random: %llu seeds of %lu operations agree\n",
	       seeds, ops);
	return 0;
}
