/*
 * The address-space layer's costs, per operation, on a small host of the
 * kind an emulator or a kernel has: flat page tables over a 1 GiB window
 * (an array of entries, a bitmap to skip empty runs), frames from a fixed
 * pool shared by them (zeroed when given out, as every kernel does), malloc
 * for the layer's records and the set's nodes. Measured: mmap+munmap (placed, and
 * MAP_FIXED) with a given number of areas already mapped, a demand-zero
 * fault, a copy-on-write fault (the copy) and the last reference's write
 * (no copy), and fork per area. Each figure is the best of five runs.
 *
 *   aspace-bench [--quick]      a Markdown table on standard output
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memory_set/aspace.h>
#include <memory_set/malloc.h>

#define PG 4096ull
#define BASE 0x100000000ull
#define PAGES (1u << 18) /* a 1 GiB window */
#define FRAMES 8192u

/* A page table: an entry per page of the window. */
struct table {
	uint32_t entry[PAGES]; /* frame + 1, 0: none */
	uint8_t rights[PAGES];
	uint64_t present[PAGES / 64];
};

/* The frames, shared by the page tables. */
static struct {
	unsigned char *mem;
	uint32_t refs[FRAMES];
	uint32_t free_list[FRAMES], nfree;
} fr;

static struct table *tables[2];

static void *h_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size);
}

static void h_free(void *ctx, void *p, size_t size)
{
	(void)ctx, (void)size;
	free(p);
}

static int frame_alloc(void *ctx, uint64_t *f)
{
	(void)ctx;
	if (!fr.nfree)
		return -ASPACE_ENOMEM;
	*f = fr.free_list[--fr.nfree];
	fr.refs[*f] = 1;
	memset(fr.mem + *f * PG, 0, PG);
	return 0;
}

static void frame_get(void *ctx, uint64_t f)
{
	(void)ctx;
	fr.refs[f]++;
}

static void frame_put(void *ctx, uint64_t f)
{
	(void)ctx;
	if (!--fr.refs[f])
		fr.free_list[fr.nfree++] = (uint32_t)f;
}

static uint64_t frame_refs(void *ctx, uint64_t f)
{
	(void)ctx;
	return fr.refs[f];
}

static void *frame_map(void *ctx, uint64_t f)
{
	(void)ctx;
	return fr.mem + f * PG;
}

static bool in_window(uint64_t va)
{
	return va >= BASE && va < BASE + PAGES * PG;
}

static int pt_map(void *ctx, void *pt, uint64_t va, uint64_t f, unsigned rights)
{
	struct table *t = pt;
	uint64_t i = (va - BASE) / PG;

	(void)ctx;
	if (!in_window(va))
		return -ASPACE_ENOMEM;
	t->entry[i] = (uint32_t)f + 1;
	t->rights[i] = (uint8_t)rights;
	t->present[i / 64] |= 1ull << (i % 64);
	return 0;
}

/* The window's part of [va, va+size), as page indexes [*lo, *hi). */
static bool clip(uint64_t va, uint64_t size, uint64_t *lo, uint64_t *hi)
{
	uint64_t end = va + size, top = BASE + PAGES * PG;

	if (end <= BASE || va >= top)
		return false;
	*lo = (va < BASE ? 0 : va - BASE) / PG;
	*hi = ((end > top ? top : end) - BASE) / PG;
	return *lo < *hi;
}

/* The next present entry of @t at or after page @i, before @hi. */
static bool next(const struct table *t, uint64_t *i, uint64_t hi)
{
	while (*i < hi) {
		uint64_t w = t->present[*i / 64] >> (*i % 64);

		if (w) {
			*i += (uint64_t)__builtin_ctzll(w);
			return *i < hi;
		}
		*i = (*i / 64 + 1) * 64;
	}
	return false;
}

static void pt_unmap(void *ctx, void *pt, uint64_t va, uint64_t size)
{
	struct table *t = pt;
	uint64_t i, hi;

	(void)ctx;
	if (!clip(va, size, &i, &hi))
		return;
	for (; next(t, &i, hi); i++) {
		t->entry[i] = 0;
		t->present[i / 64] &= ~(1ull << (i % 64));
	}
}

static void pt_protect(void *ctx, void *pt, uint64_t va, uint64_t size,
		       unsigned rights)
{
	struct table *t = pt;
	uint64_t i, hi;

	(void)ctx;
	if (!clip(va, size, &i, &hi))
		return;
	for (; next(t, &i, hi); i++)
		t->rights[i] = (uint8_t)rights;
}

static bool pt_lookup(void *ctx, void *pt, uint64_t *va, uint64_t end,
		      uint64_t *f, unsigned *rights)
{
	const struct table *t = pt;
	uint64_t i, hi;

	(void)ctx;
	if (!clip(*va, end - *va, &i, &hi) || !next(t, &i, hi))
		return false;
	*va = BASE + i * PG;
	*f = t->entry[i] - 1;
	*rights = t->rights[i];
	return true;
}

static const struct aspace_ops ops = {
	.version = ASPACE_OPS_VERSION,
	.alloc = h_alloc,
	.free = h_free,
	.frame_alloc = frame_alloc,
	.frame_get = frame_get,
	.frame_put = frame_put,
	.frame_refs = frame_refs,
	.frame_map = frame_map,
	.pt_map = pt_map,
	.pt_unmap = pt_unmap,
	.pt_protect = pt_protect,
	.pt_lookup = pt_lookup,
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void space(struct aspace *as)
{
	struct aspace_options o;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.ops = &ops;
	o.page_table = tables[0];
	o.allocator = &memory_set_malloc_allocator;
	o.mmap_min_addr = BASE;
	o.mmap_base = BASE + PAGES * PG;
	o.task_size = BASE + PAGES * PG;
	o.unmapped_base = BASE;
	o.max_map_count = 1u << 30;
	if (aspace_init(as, &o)) {
		fprintf(stderr, "aspace-bench: aspace_init failed\n");
		exit(1);
	}
}

static void die(const char *what)
{
	fprintf(stderr, "aspace-bench: %s failed\n", what);
	exit(1);
}

/* @n one-page areas, every other page from the bottom of the window. */
static void scatter(struct aspace *as, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		if (aspace_mmap(as, BASE + 2 * i * PG, PG, ASPACE_PROT_READ,
				ASPACE_MAP_PRIVATE | ASPACE_MAP_ANONYMOUS |
					ASPACE_MAP_FIXED,
				NULL, 0) != (int64_t)(BASE + 2 * i * PG))
			die("mmap");
}

static double best_of(double (*run)(uint64_t), uint64_t arg)
{
	double best = 0, t;
	int r;

	for (r = 0; r < 5; r++) {
		t = run(arg);
		if (!r || t < best)
			best = t;
	}
	return best;
}

static uint64_t reps = 20000;

static double mmap_munmap(uint64_t areas)
{
	struct aspace as;
	uint64_t i;
	int64_t a;
	double t;

	space(&as);
	scatter(&as, areas);
	t = now();
	for (i = 0; i < reps; i++) {
		a = aspace_mmap(&as, 0, 4 * PG,
				ASPACE_PROT_READ | ASPACE_PROT_WRITE,
				ASPACE_MAP_PRIVATE | ASPACE_MAP_ANONYMOUS, NULL,
				0);
		if (ASPACE_IS_ERR(a) || aspace_munmap(&as, (uint64_t)a, 4 * PG))
			die("mmap+munmap");
	}
	t = (now() - t) / (double)reps;
	aspace_destroy(&as);
	return t;
}

static double mmap_fixed_munmap(uint64_t areas)
{
	struct aspace as;
	uint64_t i, at = BASE + (PAGES - 64) * PG;
	double t;

	space(&as);
	scatter(&as, areas);
	t = now();
	for (i = 0; i < reps; i++)
		if (aspace_mmap(&as, at, 4 * PG,
				ASPACE_PROT_READ | ASPACE_PROT_WRITE,
				ASPACE_MAP_PRIVATE | ASPACE_MAP_ANONYMOUS |
					ASPACE_MAP_FIXED,
				NULL, 0) != (int64_t)at ||
		    aspace_munmap(&as, at, 4 * PG))
			die("mmap+munmap fixed");
	t = (now() - t) / (double)reps;
	aspace_destroy(&as);
	return t;
}

#define FAULT_PAGES 4096u

static double fault_zero(uint64_t areas)
{
	struct aspace as;
	uint64_t i, at = BASE + (PAGES - FAULT_PAGES) * PG;
	double t;

	space(&as);
	scatter(&as, areas);
	if (aspace_mmap(&as, at, FAULT_PAGES * PG,
			ASPACE_PROT_READ | ASPACE_PROT_WRITE,
			ASPACE_MAP_PRIVATE | ASPACE_MAP_ANONYMOUS |
				ASPACE_MAP_FIXED,
			NULL, 0) != (int64_t)at)
		die("mmap");
	t = now();
	for (i = 0; i < FAULT_PAGES; i++)
		if (aspace_fault(&as, at + i * PG, ASPACE_ACCESS_WRITE))
			die("fault");
	t = (now() - t) / FAULT_PAGES;
	aspace_destroy(&as);
	return t;
}

/* A fresh address space @as with FAULT_PAGES pages written at @at. */
static void populated(struct aspace *as, uint64_t at)
{
	space(as);
	if (aspace_mmap(as, at, FAULT_PAGES * PG,
			ASPACE_PROT_READ | ASPACE_PROT_WRITE,
			ASPACE_MAP_PRIVATE | ASPACE_MAP_ANONYMOUS |
				ASPACE_MAP_FIXED | ASPACE_MAP_POPULATE,
			NULL, 0) != (int64_t)at)
		die("mmap");
}

/* Write faults after fork: @copy 1 the child's (a copy each), 0 the
 * parent's once the child is gone (the last reference, no copy). */
static double fault_cow(uint64_t copy)
{
	struct aspace parent, child;
	uint64_t i, at = BASE + (PAGES - FAULT_PAGES) * PG;
	double t;

	populated(&parent, at);
	if (aspace_fork(&child, &parent, tables[1]))
		die("fork");
	if (!copy) {
		aspace_destroy(&child);
		t = now();
		for (i = 0; i < FAULT_PAGES; i++)
			if (aspace_fault(&parent, at + i * PG,
					 ASPACE_ACCESS_WRITE))
				die("fault");
		t = (now() - t) / FAULT_PAGES;
	} else {
		t = now();
		for (i = 0; i < FAULT_PAGES; i++)
			if (aspace_fault(&child, at + i * PG,
					 ASPACE_ACCESS_WRITE))
				die("fault");
		t = (now() - t) / FAULT_PAGES;
		aspace_destroy(&child);
	}
	aspace_destroy(&parent);
	return t;
}

/* fork of @areas areas, none with a page yet: the cost of the areas. */
static double fork_per_area(uint64_t areas)
{
	struct aspace parent, child;
	double t;

	space(&parent);
	scatter(&parent, areas);
	t = now();
	if (aspace_fork(&child, &parent, tables[1]))
		die("fork");
	t = (now() - t) / (double)areas;
	aspace_destroy(&child);
	aspace_destroy(&parent);
	return t;
}

/* fork of one area of FAULT_PAGES pages: the cost of a page shared. */
static double fork_per_page(uint64_t unused)
{
	struct aspace parent, child;
	uint64_t at = BASE + (PAGES - FAULT_PAGES) * PG;
	double t;

	(void)unused;
	populated(&parent, at);
	t = now();
	if (aspace_fork(&child, &parent, tables[1]))
		die("fork");
	t = (now() - t) / FAULT_PAGES;
	aspace_destroy(&child);
	aspace_destroy(&parent);
	return t;
}

int main(int argc, char **argv)
{
	static const uint64_t sizes[] = { 10, 1000, 100000 };
	bool quick = argc > 1 && !strcmp(argv[1], "--quick");
	size_t n = quick ? 2 : 3, i, h;

	for (h = 0; h < 2; h++) {
		tables[h] = calloc(1, sizeof(*tables[h]));
		if (!tables[h])
			die("calloc");
	}
	fr.mem = malloc((size_t)FRAMES * PG);
	if (!fr.mem)
		die("malloc");
	for (i = 0; i < FRAMES; i++)
		fr.free_list[fr.nfree++] = (uint32_t)(FRAMES - 1 - i);
	if (quick)
		reps = 2000;

	printf("| operation | 10 areas | 1,000 areas | 100,000 areas |\n");
	printf("| --- | ---: | ---: | ---: |\n");
	printf("| mmap + munmap, placed (ns) |");
	for (i = 0; i < n; i++)
		printf(" %.0f |", best_of(mmap_munmap, sizes[i]));
	printf("\n| mmap + munmap, MAP_FIXED (ns) |");
	for (i = 0; i < n; i++)
		printf(" %.0f |", best_of(mmap_fixed_munmap, sizes[i]));
	printf("\n| demand-zero write fault (ns) |");
	for (i = 0; i < n; i++)
		printf(" %.0f |", best_of(fault_zero, sizes[i]));
	printf("\n| fork, per area (ns) |");
	for (i = 0; i < n; i++)
		printf(" %.0f |", best_of(fork_per_area, sizes[i]));
	printf("\n\n| operation | ns |\n| --- | ---: |\n");
	printf("| copy-on-write break, the copy | %.0f |\n",
	       best_of(fault_cow, 1));
	printf("| copy-on-write, the last reference (no copy) | %.0f |\n",
	       best_of(fault_cow, 0));
	printf("| fork, per page shared copy-on-write | %.0f |\n",
	       best_of(fork_per_page, 0));
	return 0;
}
