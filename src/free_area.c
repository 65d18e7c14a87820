/*
 * Free-space search over the gap summaries: the lowest or highest free
 * range of a size and alignment inside a window, visiting only subtrees
 * whose largest gap can hold it.
 */
#include "tree.h"

struct ms_query {
	uint64_t lo, hi; /* the answer lies in [lo, hi], inclusive */
	uint64_t size, mask;
	uint64_t *out;
};

/* Lowest fit of the query inside the free range [gs, ge]. */
static bool fit_low(const struct ms_query *q, uint64_t gs, uint64_t ge)
{
	uint64_t a = gs > q->lo ? gs : q->lo;
	uint64_t top = ge < q->hi ? ge : q->hi;
	uint64_t r = a & q->mask;

	if (r) {
		if (a > U64_MAX - (q->mask + 1 - r))
			return false;
		a += q->mask + 1 - r;
	}
	if (a > top || top - a < q->size - 1)
		return false;
	*q->out = a;
	return true;
}

/* Highest fit of the query inside the free range [gs, ge]. */
static bool fit_high(const struct ms_query *q, uint64_t gs, uint64_t ge)
{
	uint64_t low = gs > q->lo ? gs : q->lo;
	uint64_t top = ge < q->hi ? ge : q->hi;
	uint64_t a;

	if (low > top || top - low < q->size - 1)
		return false;
	a = (top - (q->size - 1)) & ~q->mask;
	if (a < low)
		return false;
	*q->out = a;
	return true;
}

/* Lowest fit among the gaps between the areas of subtree n. */
static bool search_low(const struct ms_node *n, const struct ms_query *q)
{
	unsigned i;

	/* Every gap before the area or child where lo lies ends below lo. */
	if (n->leaf) {
		const struct ms_leaf *l = (const struct ms_leaf *)n;

		i = leaf_rank(l, q->lo);
		for (i = i ? i : 1; i < n->count; i++) {
			uint64_t gs = area_last(&l->a[i - 1]) + 1;
			uint64_t ge = l->a[i].start;

			if (gs > q->hi)
				return false;
			/* Too small a gap cannot fit, whatever the alignment. */
			if (ge - gs >= q->size && ge - 1 >= q->lo &&
			    fit_low(q, gs, ge - 1))
				return true;
		}
		return false;
	}
	for (i = inner_slot((const struct ms_inner *)n, q->lo); i < n->count;
	     i++) {
		const struct ms_inner *p = (const struct ms_inner *)n;

		if (i > 0) {
			uint64_t gs = p->last[i - 1] + 1, ge = p->min[i];

			if (gs > q->hi)
				return false;
			if (ge > gs && ge - 1 >= q->lo && fit_low(q, gs, ge - 1))
				return true;
		}
		if (p->min[i] >= q->hi)
			return false;
		if (p->last[i] <= q->lo || p->gap[i] < q->size)
			continue;
		if (search_low(p->child[i], q))
			return true;
	}
	return false;
}

/* Highest fit among the gaps between the areas of subtree n. */
static bool search_high(const struct ms_node *n, const struct ms_query *q)
{
	unsigned i;

	if (n->leaf) {
		const struct ms_leaf *l = (const struct ms_leaf *)n;

		/* Every gap after the area where hi lies starts above hi. */
		i = leaf_rank(l, q->hi);
		for (i = i < n->count ? i : n->count - 1u; i > 0; i--) {
			uint64_t gs = area_last(&l->a[i - 1]) + 1;
			uint64_t ge = l->a[i].start;

			if (ge <= q->lo)
				return false;
			if (ge > gs && gs <= q->hi && fit_high(q, gs, ge - 1))
				return true;
		}
		return false;
	}
	/* The gap after the child where hi lies may still hold hi. */
	i = inner_slot((const struct ms_inner *)n, q->hi) + 1;
	for (i = i < n->count ? i + 1 : (unsigned)n->count; i-- > 0;) {
		const struct ms_inner *p = (const struct ms_inner *)n;

		if (p->last[i] <= q->lo)
			return false;
		if (p->min[i] < q->hi && p->gap[i] >= q->size &&
		    search_high(p->child[i], q))
			return true;
		if (i > 0) {
			uint64_t gs = p->last[i - 1] + 1, ge = p->min[i];

			if (ge <= q->lo)
				return false;
			if (ge > gs && gs <= q->hi && fit_high(q, gs, ge - 1))
				return true;
		}
	}
	return false;
}

static bool query_ok(uint64_t size, uint64_t align, uint64_t first,
		     uint64_t last, const uint64_t *addr)
{
	return size && align && !(align & (align - 1)) && first <= last && addr;
}

enum mapping_error memory_set_find_free_area(const struct memory_set *set,
					     uint64_t hint, uint64_t size,
					     uint64_t align, uint64_t first,
					     uint64_t last, uint64_t *addr)
{
	struct ms_query q;
	struct ms_sum s;

	if (!query_ok(size, align, first, last, addr))
		return MAPPING_ERR_INVALID_PARAM;
	q.lo = hint > first ? hint : first;
	q.hi = last;
	q.size = size;
	q.mask = align - 1;
	q.out = addr;
	if (q.lo > q.hi)
		return MAPPING_ERR_NO_MEMORY;
	if (!set->root)
		return fit_low(&q, 0, U64_MAX) ? MAPPING_OK : MAPPING_ERR_NO_MEMORY;
	memory_set_tree_node_sum(set->root, &s);
	if (s.min > 0 && fit_low(&q, 0, s.min - 1))
		return MAPPING_OK;
	if (s.gap >= size && search_low(set->root, &q))
		return MAPPING_OK;
	if (s.last < U64_MAX && fit_low(&q, s.last + 1, U64_MAX))
		return MAPPING_OK;
	return MAPPING_ERR_NO_MEMORY;
}

enum mapping_error memory_set_find_free_area_top(const struct memory_set *set,
						 uint64_t hint, uint64_t size,
						 uint64_t align, uint64_t first,
						 uint64_t last, uint64_t *addr)
{
	struct ms_query q;
	struct ms_sum s;

	if (!query_ok(size, align, first, last, addr))
		return MAPPING_ERR_INVALID_PARAM;
	q.lo = first;
	q.hi = last;
	/* With a hint, the range must end at or below hint + size. */
	if (hint && hint <= U64_MAX - (size - 1) && hint + (size - 1) < last)
		q.hi = hint + (size - 1);
	q.size = size;
	q.mask = align - 1;
	q.out = addr;
	if (!set->root)
		return fit_high(&q, 0, U64_MAX) ? MAPPING_OK : MAPPING_ERR_NO_MEMORY;
	memory_set_tree_node_sum(set->root, &s);
	if (s.last < U64_MAX && fit_high(&q, s.last + 1, U64_MAX))
		return MAPPING_OK;
	if (s.gap >= size && search_high(set->root, &q))
		return MAPPING_OK;
	if (s.min > 0 && fit_high(&q, 0, s.min - 1))
		return MAPPING_OK;
	return MAPPING_ERR_NO_MEMORY;
}
