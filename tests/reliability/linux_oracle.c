/*
 * Linux as the oracle. Random map/unmap/protect sequences go both through a
 * set (merge on) and, independently, as real mmap(MAP_FIXED)/mprotect calls
 * inside a window of this process; after every operation the set's areas
 * must equal the window's lines of /proc/self/maps, boundaries included:
 * Linux merges untouched private anonymous MAP_NORESERVE mappings exactly
 * when their protections are equal, as the set does with merge on.
 *
 * The window is a PROT_NONE reservation. Unmapping puts the reservation
 * back (mmap PROT_NONE, MAP_FIXED) instead of leaving a hole another mmap
 * could take, so in /proc/self/maps a "---p" line is the set's "no area";
 * the set's flags (PROT_READ/WRITE/EXEC bits) are therefore never 0.
 *
 *   linux_oracle [OPS] [SEED]
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE */

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rel_support.h"

#define PAGES 64
#define MAP_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED)
#define SKIP 77

static uint64_t win, page, win_size;

/* The window's accessible mappings from /proc/self/maps, clipped to it. */
static size_t linux_areas(struct area_rec *out, size_t max)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	size_t n = 0;

	REL_CHECK(f != NULL, "cannot open /proc/self/maps");
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char perms[8];

		if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) != 3)
			continue;
		if (hi <= win || lo >= win + win_size)
			continue;
		if (lo < win)
			lo = win;
		if (hi > win + win_size)
			hi = win + win_size;
		if (perms[0] == '-' && perms[1] == '-' && perms[2] == '-')
			continue; /* the reservation: no area */
		REL_CHECK(n < max, "too many mappings in the window");
		out[n++] = (struct area_rec){
			lo, hi - lo,
			(perms[0] == 'r' ? PROT_READ : 0) |
				(perms[1] == 'w' ? PROT_WRITE : 0) |
				(perms[2] == 'x' ? PROT_EXEC : 0),
			NULL, NULL};
	}
	fclose(f);
	return n;
}

static void compare(const struct memory_set *set)
{
	struct area_rec lx[PAGES + 1];
	size_t n = linux_areas(lx, PAGES + 1);
	struct snap s;
	bool same;

	snap_take(&s, set);
	same = s.n == n;
	for (size_t i = 0; same && i < n; i++)
		same = s.a[i].start == lx[i].start && s.a[i].size == lx[i].size &&
		       s.a[i].flags == lx[i].flags;
	if (!same) {
		struct snap l = {lx, n};

		snap_print(stderr, "set", &s);
		snap_print(stderr, "linux", &l);
		REL_FAIL("the set and /proc/self/maps disagree");
	}
	snap_free(&s);
}

struct set_flags {
	uint64_t flags;
};

static bool set_to(void *ctx, uint64_t old_flags, uint64_t *new_flags)
{
	(void)old_flags;
	*new_flags = ((const struct set_flags *)ctx)->flags;
	return true;
}

static void real_mmap(uint64_t start, uint64_t size, int prot)
{
	void *p = mmap((void *)(uintptr_t)start, size, prot, MAP_FLAGS, -1, 0);

	REL_CHECK(p == (void *)(uintptr_t)start, "mmap failed");
}

/* mprotect the mapped parts of the range, as Linux knows them: the set
 * skips holes, and mprotect over the reservation would change it. */
static void real_mprotect(uint64_t start, uint64_t size, int prot)
{
	struct area_rec lx[PAGES + 1];
	size_t n = linux_areas(lx, PAGES + 1);

	for (size_t i = 0; i < n; i++) {
		uint64_t lo = lx[i].start > start ? lx[i].start : start;
		uint64_t hi = lx[i].start + lx[i].size;

		if (hi > start + size)
			hi = start + size;
		if (lo < hi)
			REL_CHECK(mprotect((void *)(uintptr_t)lo, hi - lo,
					   prot) == 0,
				  "mprotect failed");
	}
}

static bool overcommit_never(void)
{
	FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
	int v = 0;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v == 2;
}

int main(int argc, char **argv)
{
	unsigned nops = argc > 1 ? (unsigned)atoi(argv[1]) : rel_scaled(1500, 100);
	unsigned long long seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 11;
	struct rng g = {seed};
	struct memory_set set;
	struct memory_set_options o;
	struct shadow sh = {0};
	struct mapping_backend b = {&plain_ops, NULL};
	struct fail_alloc fa = {0};
	unsigned nprot = 7, merges = 0;
	void *p;

	/* With overcommit 2, MAP_NORESERVE is ignored and accounting flags
	 * split mappings that the set rightly merges. */
	if (overcommit_never()) {
		printf("linux_oracle: skipped, vm.overcommit_memory is 2\n");
		return SKIP;
	}
	page = (uint64_t)sysconf(_SC_PAGESIZE);
	win_size = PAGES * page;
	p = mmap(NULL, win_size, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	REL_CHECK(p != MAP_FAILED, "cannot reserve the window");
	win = (uint64_t)(uintptr_t)p;
	/* Executable anonymous memory may be forbidden; then use R and W. */
	p = mmap(p, page, PROT_READ | PROT_EXEC, MAP_FLAGS, -1, 0);
	if (p == MAP_FAILED)
		nprot = 3;
	real_mmap(win, page, PROT_NONE);

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.merge = true;
	o.allocator = &fail_allocator;
	o.allocator_ctx = &fa;
	o.granule = page;
	REL_CHECK(memory_set_init(&set, &o) == MAPPING_OK, "init");
	inj_reset();
	compare(&set);

	for (unsigned n = 0; n < nops; n++) {
		uint64_t pg = rng_below(&g, PAGES);
		uint64_t len = 1 + rng_below(&g, rng_chance(&g, 75) ? 6 : PAGES - pg);
		struct set_flags sf = {1 + rng_below(&g, nprot)};
		unsigned what = (unsigned)rng_below(&g, 10);
		uint64_t start, size, before = memory_set_len(&set);
		enum mapping_error e;

		if (len > PAGES - pg)
			len = PAGES - pg;
		start = win + pg * page;
		size = len * page;
		snprintf(rel_context, sizeof(rel_context),
			 "seed %llu op %u kind %u page %llu+%llu prot %llu",
			 seed, n, what, (unsigned long long)pg,
			 (unsigned long long)len,
			 (unsigned long long)sf.flags);
		if (what < 4) {
			real_mmap(start, size, (int)sf.flags);
			e = memory_set_map(&set, start, size, sf.flags, &b, &sh,
					   true);
		} else if (what < 6) {
			real_mmap(start, size, PROT_NONE);
			e = memory_set_unmap(&set, start, size, &sh);
		} else {
			real_mprotect(start, size, (int)sf.flags);
			e = memory_set_protect(&set, start, size, set_to, &sf,
					       &sh);
		}
		REL_CHECK(e == MAPPING_OK, "operation failed: %d", e);
		verify_set(&set, &sh);
		compare(&set);
		if (what != 4 && what != 5 && memory_set_len(&set) <= before)
			merges++;
	}
	REL_CHECK(memory_set_clear(&set, &sh) == MAPPING_OK, "clear");
	real_mmap(win, win_size, PROT_NONE);
	compare(&set);
	memory_set_destroy(&set);
	REL_CHECK(fa.live == 0, "%ld nodes leaked", fa.live);
	shadow_free(&sh);
	munmap((void *)(uintptr_t)win, win_size);
	/* Merging must have mattered, or the comparison proved little. */
	REL_CHECK(merges > nops / 10, "only %u operations merged", merges);
	printf("linux_oracle: %u operations agree with /proc/self/maps "
	       "(%u merged or replaced)\n",
	       nops, merges);
	return 0;
}
