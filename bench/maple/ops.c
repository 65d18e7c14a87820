/*
 * The operations of the trace language over the maple tree, as mm/ does
 * them (in a file of their own, so that a profile can count everything the
 * peer does per operation by the peer_ prefix).
 */
#include <stdio.h>
#include <stdlib.h>

#include "peer.h"

uint64_t peer_granule = 0x1000;

static void store(uint64_t start, uint64_t last, uint64_t flags, bool used)
{
	if (mtg_store(start, last, flags, used)) {
		fprintf(stderr, "maple-peer: out of memory\n");
		exit(1);
	}
}

/* Start and size on the granule, and the range not past 2^64. */
static bool range_ok(uint64_t start, uint64_t size)
{
	return !(start & (peer_granule - 1)) && !(size & (peer_granule - 1)) &&
	       (size == 0 || size - 1 <= UINT64_MAX - start);
}

const char *peer_map(uint64_t start, uint64_t size, uint64_t flags,
		     bool replace)
{
	uint64_t last = start + (size - 1);
	struct mtg_range r;

	if (size == 0 || !range_ok(start, size))
		return "InvalidParam";
	if (!replace) {
		/* Free if the free range holding start reaches last. */
		mtg_walk(start, &r);
		if (r.used || r.last < last)
			return "AlreadyExists";
	}
	store(start, last, flags, true);
	return "ok";
}

const char *peer_unmap(uint64_t start, uint64_t size)
{
	if (!range_ok(start, size))
		return "InvalidParam";
	if (size)
		store(start, start + (size - 1), 0, false);
	return "ok";
}

/* Each area meeting the range whose flags under mask differ gets the new
 * flags on its part inside the range (the tree splits it). */
const char *peer_protect(uint64_t start, uint64_t size, uint64_t flags,
			 uint64_t mask)
{
	uint64_t last = start + (size - 1), from = start;
	struct mtg_range r;

	if (!range_ok(start, size))
		return "InvalidParam";
	if (size == 0)
		return "ok";
	while (mtg_find(from, last, &r)) {
		uint64_t s = r.start > start ? r.start : start;
		uint64_t l = r.last < last ? r.last : last;

		if ((r.flags & mask) != (flags & mask))
			store(s, l, (flags & mask) | (r.flags & ~mask), true);
		if (l == last)
			break;
		from = l + 1;
	}
	return "ok";
}

bool peer_lookup(uint64_t addr, struct mtg_range *r)
{
	mtg_walk(addr, r);
	return r->used;
}

bool peer_overlaps(uint64_t start, uint64_t size)
{
	uint64_t last = size - 1 <= UINT64_MAX - start ? start + (size - 1)
						       : UINT64_MAX;
	struct mtg_range r;

	return size && mtg_find(start, last, &r);
}

/*
 * Lowest A >= max(hint, first), aligned, with [A, A+size) free in
 * [first, last]: the lowest free range with room for size, and while the
 * aligned address does not fit in it, the next one.
 */
int peer_free_low(uint64_t hint, uint64_t size, uint64_t align,
		  uint64_t first, uint64_t last, uint64_t *out)
{
	uint64_t cur = first > hint ? first : hint;
	struct mtg_range r;

	for (;;) {
		uint64_t g, a, end;

		if (cur > last || mtg_gap_low(cur, last, size, &g))
			return -1;
		if (align - 1 > UINT64_MAX - g)
			return -1;
		a = (g + (align - 1)) & ~(align - 1);
		if (a == g) {
			*out = a;
			return 0;
		}
		mtg_walk(g, &r);
		end = r.last < last ? r.last : last;
		if (a <= end && size - 1 <= end - a) {
			*out = a;
			return 0;
		}
		if (r.last >= last)
			return -1;
		cur = r.last + 1;
	}
}

/*
 * Highest A, aligned, with [A, A+size) free in [first, last] and, if hint is
 * not 0, A <= hint: the highest free range with room, then lower ones.
 */
int peer_free_top(uint64_t hint, uint64_t size, uint64_t align,
		  uint64_t first, uint64_t last, uint64_t *out)
{
	uint64_t top = last;
	struct mtg_range r;

	if (hint && size - 1 <= UINT64_MAX - hint && hint + (size - 1) < top)
		top = hint + (size - 1);
	for (;;) {
		uint64_t l, a, floor;

		if (top < first || mtg_gap_high(first, top, size, &l))
			return -1;
		a = (l - (size - 1)) & ~(align - 1);
		if (a == l - (size - 1)) {
			*out = a;
			return 0;
		}
		mtg_walk(l, &r);
		floor = r.start > first ? r.start : first;
		if (a >= floor) {
			*out = a;
			return 0;
		}
		if (floor <= first)
			return -1;
		top = floor - 1;
	}
}

