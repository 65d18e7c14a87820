/*
 * Linux as the oracle. Random map/unmap/protect/mremap sequences go both
 * through a set (merge on) and, independently, as real mmap(MAP_FIXED),
 * mprotect and mremap calls inside a window of this process; after every
 * operation the set's areas must equal the window's lines of
 * /proc/self/maps, boundaries included: Linux merges untouched private
 * anonymous MAP_NORESERVE mappings exactly when their protections are
 * equal, as the set does with merge on (a moved untouched mapping takes
 * the page offset of its new place, so it merges there too).
 *
 * The window is a PROT_NONE reservation. Unmapping puts the reservation
 * back (mmap PROT_NONE, MAP_FIXED) instead of leaving a hole another mmap
 * could take, so in /proc/self/maps a "---p" line is the set's "no area";
 * the set's flags (PROT_READ/WRITE/EXEC bits) are therefore never 0.
 * mremap needs free space where a mapping grows or moves to: the
 * reservation there is unmapped just before, and put back where mremap
 * leaves the range free.
 *
 *   linux_oracle [OPS] [SEED]
 */
#define _GNU_SOURCE /* mremap, MREMAP_*, MAP_ANONYMOUS, MAP_NORESERVE */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rel_support.h"

#define PAGES 64
#define MAP_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED)
#define SKIP 77

static uint64_t win, page, win_size;

/* What the remaps did, to show each kind was compared. */
static struct {
	unsigned grown, shrunk, refused, moved;
} rs;

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

/* Give [start, start+size) back to the reservation. */
static void reserve_back(uint64_t start, uint64_t size)
{
	real_mmap(start, size, PROT_NONE);
}

/* Take the reservation off [start, start+size), which the set has free. */
static void unreserve(uint64_t start, uint64_t size)
{
	REL_CHECK(munmap((void *)(uintptr_t)start, size) == 0, "munmap failed");
}

/* Unreserve (or reserve back) the free gaps of [start, start+size). */
static void free_gaps(const struct memory_set *set, uint64_t start,
		      uint64_t size, bool back)
{
	struct memory_set_gap_iter gi;
	uint64_t s, n;

	memory_set_gap_iter_init(&gi, set, start, start + size - 1);
	while (memory_set_gap_next(&gi, &s, &n)) {
		if (back)
			reserve_back(s, n);
		else
			unreserve(s, n);
	}
}

/* A random range of pages inside a random area of the set, in *start and
 * *size; false if the set is empty. */
static bool pick_in_area(const struct memory_set *set, struct rng *g,
			 uint64_t *start, uint64_t *size)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	uint64_t n = memory_set_len(set), k, pages, off, len;

	if (n == 0)
		return false;
	k = rng_below(g, n);
	memory_set_iter_init(&it, set, 0);
	do
		a = memory_set_iter_next(&it);
	while (k-- > 0);
	pages = a->size / page;
	off = rng_chance(g, 50) ? 0 : rng_below(g, pages);
	len = 1 + rng_below(g, pages - off);
	if (rng_chance(g, 40))
		len = pages - off; /* up to the area's end: may grow */
	*start = a->start + off * page;
	*size = len * page;
	return true;
}

/*
 * mremap in place (flags 0). The set decides; Linux must agree: growing
 * needs the range to end where its mapping ends and free space after it,
 * else ENOMEM, as the set's NoMemory.
 */
static bool op_remap(struct memory_set *set, struct shadow *sh, struct rng *g)
{
	uint64_t start, size, new_size, win_end = win + win_size;
	enum mapping_error e;
	void *p;

	if (!pick_in_area(set, g, &start, &size))
		return false;
	new_size = (1 + rng_below(g, 8)) * page;
	if (new_size > win_end - start)
		new_size = win_end - start;
	snprintf(rel_context + strlen(rel_context),
		 sizeof(rel_context) - strlen(rel_context),
		 " remap %#llx+%#llx to %#llx", (unsigned long long)(start - win),
		 (unsigned long long)size, (unsigned long long)new_size);
	e = memory_set_remap(set, start, size, new_size, sh);
	if (e == MAPPING_ERR_NO_MEMORY) {
		/* Refused growth: not at the area's end, or an area in the
		 * way. With the free parts really free, Linux refuses too. */
		uint64_t gs = start + size, gn = new_size - size;

		REL_CHECK(new_size > size, "NoMemory for a shrink");
		free_gaps(set, gs, gn, false);
		p = mremap((void *)(uintptr_t)start, size, new_size, 0);
		REL_CHECK(p == MAP_FAILED && errno == ENOMEM,
			  "the set refused to grow, Linux did not");
		free_gaps(set, gs, gn, true);
		rs.refused++;
		return false;
	}
	REL_CHECK(e == MAPPING_OK, "remap in place: %d", e);
	if (new_size > size)
		unreserve(start + size, new_size - size);
	p = mremap((void *)(uintptr_t)start, size, new_size, 0);
	REL_CHECK(p == (void *)(uintptr_t)start, "mremap in place failed: %d",
		  errno);
	if (new_size < size)
		reserve_back(start + new_size, size - new_size);
	rs.grown += new_size > size;
	rs.shrunk += new_size < size;
	return true;
}

/* mremap(MREMAP_MAYMOVE | MREMAP_FIXED) to a place in the window. */
static bool op_remap_fixed(struct memory_set *set, struct shadow *sh,
			   struct rng *g)
{
	uint64_t start, size, new_size, new_start;
	enum mapping_error e;
	void *p;

	if (!pick_in_area(set, g, &start, &size))
		return false;
	new_size = (1 + rng_below(g, 8)) * page;
	new_start = win + rng_below(g, PAGES - new_size / page + 1) * page;
	snprintf(rel_context + strlen(rel_context),
		 sizeof(rel_context) - strlen(rel_context),
		 " remap %#llx+%#llx to %#llx+%#llx",
		 (unsigned long long)(start - win), (unsigned long long)size,
		 (unsigned long long)(new_start - win),
		 (unsigned long long)new_size);
	e = memory_set_remap_fixed(set, start, size, new_size, new_start, sh);
	if (start < new_start + new_size && new_start < start + size) {
		REL_CHECK(e == MAPPING_ERR_INVALID_PARAM,
			  "overlapping move: %d", e);
		return false;
	}
	REL_CHECK(e == MAPPING_OK, "remap_fixed: %d", e);
	p = mremap((void *)(uintptr_t)start, size, new_size,
		   MREMAP_MAYMOVE | MREMAP_FIXED, (void *)(uintptr_t)new_start);
	REL_CHECK(p == (void *)(uintptr_t)new_start, "mremap failed: %d",
		  errno);
	/* The old range is free now, in the set as in Linux. */
	reserve_back(start, size);
	rs.moved++;
	return true;
}

int main(int argc, char **argv)
{
	unsigned nops = argc > 1 ? (unsigned)atoi(argv[1]) : rel_scaled(9000, 100);
	unsigned long long seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 11;
	struct rng g = {seed};
	struct memory_set set;
	struct memory_set_options o;
	struct shadow sh = {0};
	struct mapping_backend b = {&plain_ops, NULL};
	struct fail_alloc fa = {0};
	unsigned nprot = 7, merges = 0, remaps = 0;
	void *p;

	/* With overcommit 2, MAP_NORESERVE is ignored and accounting flags
	 * split mappings that the set rightly merges. */
	if (rel_overcommit_never()) {
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
		unsigned what = (unsigned)rng_below(&g, 14);
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
		} else if (what < 9) {
			real_mprotect(start, size, (int)sf.flags);
			e = memory_set_protect(&set, start, size, set_to, &sf,
					       &sh);
		} else {
			bool done = what < 11 ? op_remap(&set, &sh, &g)
					      : op_remap_fixed(&set, &sh, &g);

			remaps += done;
			e = MAPPING_OK;
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
	REL_CHECK(remaps > nops / 10, "only %u remaps done", remaps);
	REL_CHECK(nops < 1000 ||
			  (rs.grown && rs.shrunk && rs.refused && rs.moved),
		  "a kind of remap was never compared");
	printf("linux_oracle: %u operations agree with /proc/self/maps "
	       "(%u merged or replaced; remap: %u grown, %u shrunk, %u "
	       "refused growths, %u moved)\n",
	       nops, merges, rs.grown, rs.shrunk, rs.refused, rs.moved);
	return 0;
}
