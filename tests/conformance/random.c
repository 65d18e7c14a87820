/*
 * Randomized conformance: random operation sequences, run on the library and
 * on the naive model (tests/model), compared after every operation: the
 * result, the whole area list, and memory_set_check(). Odd seeds use a
 * backend whose page table is a second naive model, checked against the
 * hooks' contract and against the set: seeds 1 mod 4 with a version-1 ops
 * table (the set's default dup and move), seeds 3 mod 4 with dup and move
 * hooks.
 *
 *   conformance_random [SEEDS [OPS [FIRST_SEED]]]
 *
 * RANDOM_TRACE=1 prints each operation on stderr (in the trace language,
 * mostly), to turn a failing seed into a trace.
 *
 * Addresses are drawn near 0, near the top of the 64-bit space and in the
 * middle, on a lattice of pages so that ranges meet often; sizes include 0
 * and ranges up to and past 2^64; merging, the granule and the area limit
 * change on the way. remap and access are mostly aimed inside areas, so that
 * they succeed often; dup goes on with the copy, as the trace language does.
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
	if (naive_overlaps(&pt->m, start, size ? size : UINT64_MAX))
		return broken(pt, "map hook over mapped memory");
	if (size == 0) {
		/* [0, 2^64), by dup: two halves that merge. */
		naive_map(&pt->m, 0, 1ull << 63, flags, false);
		naive_map(&pt->m, 1ull << 63, 1ull << 63, flags, false);
	} else {
		naive_map(&pt->m, start, size, flags, false);
	}
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

static enum mapping_error pt_move(void *data, uint64_t old_start,
				  uint64_t new_start, uint64_t size,
				  uint64_t flags, void *ptp)
{
	struct page_table *pt = ptp;

	(void)data;
	if (!size || !hook_range_ok(old_start, size) ||
	    !hook_range_ok(new_start, size))
		return broken(pt, "move hook: bad range");
	if (!covered(&pt->m, old_start, size, true, flags))
		return broken(pt, "move hook from memory not mapped with its flags");
	if (naive_overlaps(&pt->m, new_start, size))
		return broken(pt, "move hook onto mapped memory");
	naive_unmap(&pt->m, old_start, size);
	naive_map(&pt->m, new_start, size, flags, false);
	return MAPPING_OK;
}

static enum mapping_error pt_dup(void *data, uint64_t start, uint64_t size,
				 uint64_t flags, void *src, void *dst,
				 void **child_data)
{
	struct page_table *from = src;

	if (!hook_range_ok(start, size) ||
	    !covered(&from->m, start, size, true, flags))
		return broken(from, "dup hook of memory not mapped with its flags");
	*child_data = data;
	return pt_map(data, start, size, flags, dst);
}

/* Version 1: the set uses its default dup and move, through map and unmap. */
static const struct mapping_backend_ops pt_ops_v1 = {
	.version = MAPPING_BACKEND_OPS_VERSION_1,
	.map = pt_map,
	.unmap = pt_unmap,
	.protect = pt_protect,
};

static const struct mapping_backend_ops pt_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = pt_map,
	.unmap = pt_unmap,
	.protect = pt_protect,
	.dup = pt_dup,
	.move = pt_move,
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
	struct memory_set sets[2];  /* dup goes on with the other one */
	struct page_table pts[2];
	struct memory_set *set;     /* the current ones */
	struct page_table *pt;
	struct naive model;
	struct memory_set_options opts;
	struct mapping_backend backend;
	void *page_table;           /* pt, or NULL for the null backend */
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
static bool trace_ops; /* RANDOM_TRACE: each operation on stderr */

static void compare(struct world *w)
{
	const struct memory_area *a;
	struct memory_set_iter it;
	const char *why = memory_set_check(w->set);
	size_t i = 0;

	if (trace_ops)
		fprintf(stderr, "%s\n", w->op);
	if (why)
		failf(w, why);
	if (memory_set_len(w->set) != naive_len(&w->model))
		failf(w, "area count differs");
	memory_set_foreach(a, &it, w->set) {
		const struct naive_area *b = naive_area(&w->model, i++);

		if (!b || a->start != b->start || a->size != b->size ||
		    a->flags != b->flags)
			failf(w, "area list differs");
	}
	if (i != naive_len(&w->model))
		failf(w, "iteration misses areas");
	if (w->page_table) {
		if (w->pt->why)
			failf(w, w->pt->why);
		if (!same_bytes(&w->model, &w->pt->m))
			failf(w, "page table differs from the set");
	}
}

/* An empty page table: a naive model, merged, granule 1. */
static void pt_init(struct page_table *pt)
{
	naive_init(&pt->m);
	naive_set_granule(&pt->m, 1);
	naive_set_merge(&pt->m, true);
	pt->why = NULL;
}

/* A range inside a random area (or anywhere, if there is none). */
static void rnd_inside(const struct world *w, uint64_t *start, uint64_t *size)
{
	const struct naive_area *a;
	uint64_t pages, k;

	if (!naive_len(&w->model))
		return;
	a = naive_area(&w->model, rnd(naive_len(&w->model)));
	pages = a->size / 0x1000;
	if (a->size == 0 || pages > 16)
		pages = 16;
	if (pages == 0)
		return;
	k = rnd(pages);
	*start = a->start + k * 0x1000;
	/* Half of them up to the area's end, where growing can work. */
	*size = (rnd(2) ? pages - k : 1 + rnd(pages - k)) * 0x1000;
	if (a->size && *start + *size - a->start > a->size)
		*size = a->start + a->size - *start;
}

/* remap in place or moved, compared with the model. */
static void step_remap(struct world *w, uint64_t start, uint64_t size)
{
	uint64_t new_size, to = rnd_addr();
	bool move = rnd(2);
	enum mapping_error got, want;

	if (rnd(4))
		rnd_inside(w, &start, &size);
	switch (rnd(4)) {
	case 0:
		new_size = rnd_size(start);
		break;
	case 1: /* shrink by whole pages (or keep a one-page size) */
		new_size = size / 0x1000 > 1
			? size - (1 + rnd(size / 0x1000 - 1)) * 0x1000 : size;
		break;
	default:
		new_size = size + (rnd(4) + 1) * unit();
		break;
	}
	if (move && rnd(4) == 0)
		to = start + size + rnd(4) * 0x1000; /* near: may meet the area */
	if (move) {
		snprintf(w->op, sizeof(w->op), "remap %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " %#" PRIx64,
			 start, size, new_size, to);
		got = memory_set_remap_fixed(w->set, start, size, new_size, to,
					     w->page_table);
		want = naive_remap_fixed(&w->model, start, size, new_size, to);
	} else {
		snprintf(w->op, sizeof(w->op), "remap %#" PRIx64 " %#" PRIx64 " %#" PRIx64,
			 start, size, new_size);
		got = memory_set_remap(w->set, start, size, new_size,
				       w->page_table);
		want = naive_remap(&w->model, start, size, new_size);
	}
	expect_err(w, got, want);
}

/* access, and the fault entry point (default fault: flags have the bits). */
static void step_access(struct world *w, uint64_t start, uint64_t size)
{
	static const uint64_t masks[] = { 0, 1, 2, 3, 4, 5, 7, 8 };
	uint64_t mask = PICK(masks), acc, low = MAPPING_ACCESS_USER - 1;
	const struct memory_area *area;
	const struct naive_area *b;
	enum mapping_error want;

	if (rnd(3))
		rnd_inside(w, &start, &size);
	if (!rnd(4))
		size = rnd(0x3000);
	snprintf(w->op, sizeof(w->op), "access %#" PRIx64 " %#" PRIx64 " %#" PRIx64,
		 start, size, mask);
	expect_err(w, memory_set_can_access(w->set, start, size, mask),
		   naive_can_access(&w->model, start, size, mask));

	acc = mask | (rnd(4) ? 0 : MAPPING_ACCESS_USER);
	b = naive_find(&w->model, start);
	want = !b ? MAPPING_ERR_BAD_STATE
		: (b->flags & acc & low) == (acc & low) ? MAPPING_OK
		: MAPPING_ERR_ACCESS_DENIED;
	snprintf(w->op, sizeof(w->op), "fault %#" PRIx64 " %#" PRIx64, start, acc);
	expect_err(w, memory_set_handle_fault(w->set, start, acc, w->page_table,
					      &area), want);
	if (!area != !b || (area && (area->start != b->start ||
				     area->size != b->size)))
		failf(w, "fault found another area");
}

/* The gap iterator, both ways, against the model. */
static void step_gaps(struct world *w, uint64_t start)
{
	uint64_t first = rnd(4) ? start - rnd(8) * 0x1000 : 0;
	uint64_t last = rnd(4) ? first + rnd64() % (1ull << rnd(64)) : UINT64_MAX;
	struct memory_set_gap_iter gi;
	uint64_t want_s[8], want_z[8], gs, gz;
	size_t n, k = 0;

	if (!rnd(16))
		last = first - 1 - rnd(4); /* empty window */
	snprintf(w->op, sizeof(w->op), "gaps %#" PRIx64 " %#" PRIx64, first, last);
	n = naive_gaps(&w->model, first, last, want_s, want_z, 8);
	memory_set_gap_iter_init(&gi, w->set, first, last);
	while (memory_set_gap_next(&gi, &gs, &gz)) {
		if (k < 8 && (gs != want_s[k] || gz != want_z[k]))
			failf(w, "gap differs");
		k++;
	}
	if (k != n)
		failf(w, "gap count differs");
	memory_set_gap_iter_init_end(&gi, w->set, first, last);
	while (memory_set_gap_prev(&gi, &gs, &gz)) {
		if (k == 0)
			failf(w, "more gaps backwards");
		k--;
		if (k < 8 && (gs != want_s[k] || gz != want_z[k]))
			failf(w, "gap differs backwards");
	}
	if (k)
		failf(w, "fewer gaps backwards");
}

/* dup: the copy must match; then it replaces the set, page table and all. */
static void step_dup(struct world *w)
{
	int next = w->set == &w->sets[0];
	struct memory_set *child = &w->sets[next];
	struct page_table *cpt = &w->pts[next];

	snprintf(w->op, sizeof(w->op), "dup");
	if (memory_set_init(child, &w->opts) != MAPPING_OK)
		failf(w, "memory_set_init failed");
	naive_free(&cpt->m);
	pt_init(cpt);
	expect_err(w, memory_set_dup(child, w->set, w->page_table,
				     w->page_table ? cpt : NULL), MAPPING_OK);
	if (memory_set_granule(child) != memory_set_granule(w->set) ||
	    memory_set_merge_enabled(child) != memory_set_merge_enabled(w->set) ||
	    memory_set_max_areas(child) != memory_set_max_areas(w->set))
		failf(w, "the copy has other settings");
	if (w->page_table && !same_bytes(&w->pt->m, &cpt->m))
		failf(w, "the copy's page table differs");
	memory_set_destroy(w->set);
	w->set = child;
	w->pt = cpt;
	if (w->page_table)
		w->page_table = cpt;
}

static void step(struct world *w)
{
	uint64_t start = rnd_addr(), size = rnd_size(start), flags = PICK(some_flags);
	uint64_t r = rnd(1000), got_addr = 0, want_addr = 0;
	enum mapping_error got, want;

	if (r < 200 || r >= 950) {
		bool replace = r >= 140 && r < 200;

		snprintf(w->op, sizeof(w->op), "map %#" PRIx64 " %#" PRIx64 " %#" PRIx64 "%s",
			 start, size, flags, replace ? " replace" : "");
		got = memory_set_map(w->set, start, size, flags, &w->backend,
				     w->page_table, replace);
		expect_err(w, got, naive_map(&w->model, start, size, flags, replace));
	} else if (r < 300) {
		bool strict = !rnd(3);

		if (strict && rnd(2))
			rnd_inside(w, &start, &size);
		snprintf(w->op, sizeof(w->op), "unmap %#" PRIx64 " %#" PRIx64 "%s",
			 start, size, strict ? " strict" : "");
		if (strict) {
			got = memory_set_unmap_strict(w->set, start, size,
						      w->page_table);
			want = naive_unmap_strict(&w->model, start, size);
		} else {
			got = memory_set_unmap(w->set, start, size, w->page_table);
			want = naive_unmap(&w->model, start, size);
		}
		expect_err(w, got, want);
	} else if (r < 440) {
		struct trace_prot p = { flags, PICK(some_masks) };
		bool strict = !rnd(3), callback = rnd(2);

		if (strict && rnd(2))
			rnd_inside(w, &start, &size);
		snprintf(w->op, sizeof(w->op), "protect %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " %#" PRIx64 "%s%s",
			 start, size, p.flags, p.mask, strict ? " strict" : "",
			 callback ? " (callback)" : "");
		/* The callback and the flags forms must do the same. */
		if (callback)
			got = (strict ? memory_set_protect_strict : memory_set_protect)(
				w->set, start, size, trace_prot_update, &p,
				w->page_table);
		else
			got = (strict ? memory_set_protect_flags_strict
				      : memory_set_protect_flags)(
				w->set, start, size, p.flags, p.mask,
				w->page_table);
		want = strict ? naive_protect_strict(&w->model, start, size,
						     p.flags, p.mask)
			      : naive_protect(&w->model, start, size, p.flags,
					      p.mask);
		expect_err(w, got, want);
	} else if (r < 560) {
		step_remap(w, start, size);
	} else if (r < 630) {
		const struct memory_area *a;
		const struct naive_area *b;

		start += rnd(3) ? 0 : rnd(0x1000);
		snprintf(w->op, sizeof(w->op), "find %#" PRIx64, start);
		a = memory_set_find(w->set, start);
		b = naive_find(&w->model, start);
		if (!a != !b || (a && (a->start != b->start || a->size != b->size ||
				       a->flags != b->flags)))
			failf(w, "find differs");
	} else if (r < 660) {
		snprintf(w->op, sizeof(w->op), "overlaps %#" PRIx64 " %#" PRIx64, start, size);
		if (memory_set_overlaps(w->set, start, size) !=
		    naive_overlaps(&w->model, start, size))
			failf(w, "overlaps differs");
	} else if (r < 700) {
		step_access(w, start, size);
	} else if (r < 720) {
		step_gaps(w, start);
	} else if (r < 880) {
		/* A limit around the start, sometimes empty or the whole space. */
		uint64_t first = rnd(4) ? start - rnd(8) * 0x1000 : 0;
		uint64_t last = rnd(4) ? first + rnd64() % (1ull << (rnd(64))) : UINT64_MAX;
		uint64_t hint = rnd(3) ? 0 : rnd_addr(), align = PICK(some_aligns);
		bool top = r >= 800;

		if (!rnd(8))
			size = 1 + rnd(0x3000);
		if (rnd(2))
			size &= 0xffffffffull; /* mostly sizes that can fit */
		snprintf(w->op, sizeof(w->op), "%s %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " %#" PRIx64,
			 top ? "freetop" : "free", hint, size, align, first, last);
		got = (top ? memory_set_find_free_area_top : memory_set_find_free_area)(
			w->set, hint, size, align, first, last, &got_addr);
		want = naive_free_area(&w->model, hint, size, align, first, last,
				       top, &want_addr);
		expect_err(w, got, want);
		if (got == MAPPING_OK && got_addr != want_addr)
			failf(w, "free area differs");
	} else if (r < 900) {
		/* Now and then a limit a few areas above the count: it bites. */
		uint64_t max = rnd(2) ? 0 : naive_len(&w->model) + rnd(wide ? 64 : 4);

		snprintf(w->op, sizeof(w->op), "limit %" PRIu64, max);
		memory_set_set_max_areas(w->set, max);
		naive_set_max_areas(&w->model, max);
		if (memory_set_max_areas(w->set) != max)
			failf(w, "limit differs");
	} else if (r < 915) {
		bool on = rnd(2);

		snprintf(w->op, sizeof(w->op), "merge %s", on ? "on" : "off");
		memory_set_set_merge(w->set, on);
		naive_set_merge(&w->model, on);
	} else if (r < 930) {
		uint64_t g = rnd(10) ? PICK(some_granules) : rnd64() | 1;

		snprintf(w->op, sizeof(w->op), "granule %#" PRIx64, g);
		expect_err(w, memory_set_set_granule(w->set, g),
			   naive_set_granule(&w->model, g));
		if (memory_set_granule(w->set) != w->model.granule)
			failf(w, "granule differs");
	} else if (r < 935) {
		step_dup(w);
	} else if (r < 940 && (!wide || !rnd(20))) {
		snprintf(w->op, sizeof(w->op), "clear");
		expect_err(w, memory_set_clear(w->set, w->page_table), MAPPING_OK);
		naive_clear(&w->model);
	}
	compare(w);
}

static void run_seed(unsigned long long seed, unsigned long ops)
{
	static struct world w;
	struct memory_set_options *opts = &w.opts;

	seed_now = seed;
	rng_state = seed * 0x2545f4914f6cdd1dull;
	wide = seed % 4 == 3;
	span = wide ? 4096 : 48;
	memset(&w, 0, sizeof(w));
	naive_init(&w.model);
	pt_init(&w.pts[0]);
	pt_init(&w.pts[1]);
	/* Options at init: merge, granule 0 (the default) or another, a limit. */
	opts->size = sizeof(*opts);
	opts->allocator = &memory_set_malloc_allocator;
	opts->merge = rnd(4) == 0;
	opts->granule = rnd(2) ? 0 : PICK(some_granules);
	opts->max_areas = rnd(8) ? 0 : 1 + rnd(wide ? 256 : 8);
	opts->lockless_lookups = rnd(4) == 0;
	naive_set_merge(&w.model, opts->merge);
	if (opts->granule)
		naive_set_granule(&w.model, opts->granule);
	naive_set_max_areas(&w.model, opts->max_areas);
	if (trace_ops)
		fprintf(stderr, "# seed %llu\nmerge %s\ngranule %#" PRIx64 "\nlimit %" PRIu64 "\n",
			seed, opts->merge ? "on" : "off",
			opts->granule ? opts->granule : 0x1000, opts->max_areas);
	w.set = &w.sets[0];
	w.pt = &w.pts[0];
	if (memory_set_init(w.set, opts) != MAPPING_OK) {
		fprintf(stderr, "conformance_random: memory_set_init failed\n");
		exit(1);
	}
	w.backend.ops = seed % 4 == 1 ? &pt_ops_v1
		      : seed % 4 == 3 ? &pt_ops : &trace_null_ops;
	w.page_table = seed % 2 ? w.pt : NULL;
	for (step_now = 0; step_now < ops; step_now++)
		step(&w);
	if (getenv("RANDOM_STATS"))
		fprintf(stderr, "seed %llu areas %zu\n", seed, naive_len(&w.model));
	memory_set_destroy(w.set);
	naive_free(&w.model);
	naive_free(&w.pts[0].m);
	naive_free(&w.pts[1].m);
}

int main(int argc, char **argv)
{
	unsigned long long seeds = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000;
	unsigned long ops = argc > 2 ? strtoul(argv[2], NULL, 0) : 2000;
	unsigned long long first = argc > 3 ? strtoull(argv[3], NULL, 0) : 1, s;

	trace_ops = getenv("RANDOM_TRACE") != NULL;
	for (s = first; s < first + seeds; s++)
		run_seed(s, ops);
	printf("conformance_random: %llu seeds of %lu operations agree\n",
	       seeds, ops);
	return 0;
}
