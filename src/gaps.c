/*
 * Walking the free gaps of a window, over the area iterator.
 *
 * The areas A_0 .. A_{n-1} and the gaps g_0 .. g_n between them alternate:
 * g_0 A_0 g_1 A_1 ... A_{n-1} g_n, where g_p runs from the end of A_{p-1}
 * (or 0) to the start of A_p (or 2^64) and may be empty. A gap iterator sits
 * before some g_p with its area iterator between A_{p-1} and A_p; past_end
 * marks the place after g_n. Each step moves the area iterator by one area,
 * so a step is O(1) amortised and nothing is allocated.
 */
#include <memory_set/memory_set.h>

static uint64_t last_of(const struct memory_area *a)
{
	return a->start + (a->size - 1);
}

/* Cut the free range [gs, ge] to the window; false if nothing is left. */
static bool clip(const struct memory_set_gap_iter *gi, uint64_t gs,
		 uint64_t ge, uint64_t *start, uint64_t *size)
{
	if (ge < gi->first || gs > gi->last)
		return false;
	if (gs < gi->first)
		gs = gi->first;
	if (ge > gi->last)
		ge = gi->last;
	*start = gs;
	*size = ge - gs + 1; /* 0 for the whole space */
	return true;
}

void memory_set_gap_iter_init(struct memory_set_gap_iter *gi,
			      const struct memory_set *set, uint64_t first,
			      uint64_t last)
{
	memory_set_iter_init(&gi->it, set, first);
	gi->first = first;
	gi->last = last;
	gi->past_end = false;
}

void memory_set_gap_iter_init_end(struct memory_set_gap_iter *gi,
				  const struct memory_set *set, uint64_t first,
				  uint64_t last)
{
	struct memory_set_iter after;

	/* Before the first area that ends at or after last, then past it. */
	memory_set_iter_init(&gi->it, set, last);
	gi->first = first;
	gi->last = last;
	after = gi->it;
	gi->past_end = memory_set_iter_next(&after) == NULL;
	if (!gi->past_end)
		gi->it = after;
}

bool memory_set_gap_next(struct memory_set_gap_iter *gi, uint64_t *start,
			 uint64_t *size)
{
	if (gi->first > gi->last)
		return false;
	while (!gi->past_end) {
		struct memory_set_iter b = gi->it, n = gi->it;
		const struct memory_area *prev = memory_set_iter_prev(&b);
		const struct memory_area *next = memory_set_iter_next(&n);
		uint64_t gs = 0, ge = UINT64_MAX;

		if (prev) {
			if (last_of(prev) == UINT64_MAX)
				return false; /* nothing after the top */
			gs = last_of(prev) + 1;
		}
		if (gs > gi->last)
			return false;
		if (next)
			gi->it = n;
		else
			gi->past_end = true;
		if (next) {
			if (next->start == gs)
				continue; /* touching areas: no gap */
			ge = next->start - 1;
		}
		if (clip(gi, gs, ge, start, size))
			return true;
	}
	return false;
}

bool memory_set_gap_prev(struct memory_set_gap_iter *gi, uint64_t *start,
			 uint64_t *size)
{
	if (gi->first > gi->last)
		return false;
	for (;;) {
		struct memory_set_iter b = gi->it;
		const struct memory_area *a, *before;
		uint64_t gs = 0, ge = UINT64_MAX;

		if (gi->past_end) {
			/* The gap after the last area. */
			gi->past_end = false;
			before = memory_set_iter_prev(&b);
			if (before && last_of(before) == UINT64_MAX)
				continue;
		} else {
			a = memory_set_iter_prev(&b);
			if (!a)
				return false;
			gi->it = b;
			if (a->start == 0)
				return false; /* nothing below 0 */
			ge = a->start - 1;
			before = memory_set_iter_prev(&b);
		}
		if (before)
			gs = last_of(before) + 1;
		if (ge < gi->first)
			return false;
		if (gs <= ge && clip(gi, gs, ge, start, size))
			return true;
	}
}
