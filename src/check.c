/*
 * The invariant checker: every property the tree and the set promise,
 * checked from scratch in O(n).
 */
#include <string.h>

#include "tree.h"

/* ---- Invariant checker ------------------------------------------------ */

struct ms_walk {
	const struct memory_set *set;
	const struct memory_area *prev;
	unsigned prev_count; /* areas in the leaf before, 0 before the first */
	uint64_t areas, nodes;
	unsigned leaf_depth;
	bool keys; /* inner nodes below the root keep key lines */
};

/*
 * The key line of an inner node against its min[] (tree.h): none in the
 * root, nor anywhere in a tree that keeps none (keys false); elsewhere
 * each key exact at the node's shift (not
 * always the largest exact one: a change of one child's start keeps the
 * shift when the key stays exact), wide exactly when the span does not fit
 * even at the largest exact shift, sentinels in every other slot.
 */
static const char *check_keys(const struct ms_inner *p, bool root,
			      bool keys)
{
	unsigned c = p->h.count, i, s = p->h.shift, top = 0;
	uint64_t base = p->min[0], bits = 0, span;
	bool wide = p->h.form == MS_FORM_WIDE;

	for (i = 1; i < c; i++) {
		if (p->min[i] <= p->min[i - 1])
			return "child minima out of order";
		bits |= p->min[i] - base;
	}
	if ((root || !keys) != (p->h.form == MS_FORM_NONE))
		return "key line where the tree keeps none, or missing";
	if (root || !keys)
		return NULL;
	if (s > 63 || p->h.form > MS_FORM_WIDE)
		return "key line header out of range";
	if ((bits >> s) << s != bits)
		return "key shift not exact";
	while (bits && !((bits >> top) & 1))
		top++;
	span = c > 1 ? (p->min[c - 1] - base) >> top : 0;
	if (wide != (span >= UINT32_MAX))
		return "node wide or narrow against its span";
	for (i = 0; i < MS_INNER_MAX; i++) {
		uint32_t want = i < c && !wide ?
			(uint32_t)((p->min[i] - base) >> s) : UINT32_MAX;

		if (p->key[i] != want)
			return "key line differs from min[]";
	}
	return NULL;
}

static const char *check_node(struct ms_walk *w, const struct ms_node *n,
			      const struct ms_inner *parent, unsigned depth)
{
	unsigned i, min, max;
	const char *err;

	if (depth > MS_MAX_HEIGHT)
		return "tree deeper than any reachable height";
	w->nodes++;
	max = n->leaf ? MS_LEAF_MAX : MS_INNER_MAX;
	min = n->leaf ? 1 : !parent ? 2 : MS_INNER_MIN;
	if (n->count < min || n->count > max)
		return "node fill out of bounds";
	if (n->leaf) {
		const struct ms_leaf *l = (const struct ms_leaf *)n;

		if (w->leaf_depth == 0)
			w->leaf_depth = depth;
		if (depth != w->leaf_depth)
			return "leaves at different depths";
		/* Leaves' fill rule (tree.c, rebalance()). */
		if (w->prev_count && w->prev_count + n->count <= MS_LEAF_JOIN)
			return "two neighbouring leaves hold few enough to join";
		w->prev_count = n->count;
		for (i = 0; i < n->count; i++) {
			const struct memory_area *a = &l->a[i];

			/* Size 0 stands for 2^64: only an area from 0 has it. */
			if (a->size == 0 && a->start != 0)
				return "area of size 0";
			if (a->size - 1 > U64_MAX - a->start)
				return "area past the top of the address space";
			if (!a->backend.ops)
				return "area without backend";
			if (w->prev && area_last(w->prev) >= a->start)
				return "areas out of order or overlapping";
			if (w->set->merge && w->prev && memory_set_mergeable(w->prev, a))
				return "mergeable areas left apart with merging on";
			w->prev = a;
			w->areas++;
		}
		return NULL;
	}
	err = check_keys((const struct ms_inner *)n, !parent, w->keys);
	if (err)
		return err;
	for (i = 0; i < n->count; i++) {
		const struct ms_inner *p = (const struct ms_inner *)n;
		struct ms_sum s;
		err = check_node(w, p->child[i], p, depth + 1);
		if (err)
			return err;
		memory_set_tree_node_sum(p->child[i], &s);
		if (s.min != p->min[i] || s.last != p->last[i])
			return "child bounds summary wrong";
		if (s.gap != p->gap[i])
			return "gap summary wrong";
	}
	return NULL;
}

const char *memory_set_check(const struct memory_set *set)
{
	struct ms_walk w;
	const char *err;

	if (!set)
		return "no set";
	if (!set->granule || (set->granule & (set->granule - 1)))
		return "granule not a power of two";
	if (!set->lockless && (set->nspare > memory_set_tree_spare_keep(set) ||
			       set->nspare_leaf))
		return "reserved nodes not given back";
	if (!set->root)
		return set->count || set->height || set->nodes ?
			       "empty tree with areas counted" : NULL;
	memset(&w, 0, sizeof(w));
	w.set = set;
	/* Key lines in every inner node below the root or in none: in all of
	 * a tree that descents search by them, in none of one lower than
	 * MS_KEY_HEIGHT - 1, either way between (struct ms_inner). */
	if (!((const struct ms_node *)set->root)->leaf) {
		const struct ms_node *k =
			((const struct ms_inner *)set->root)->child[0];

		w.keys = !k->leaf && k->form != MS_FORM_NONE;
	}
	if (keys_searched(set) && !w.keys)
		return "no key lines in a tree that descents search by them";
	if (w.keys && set->height + 2u <= MS_KEY_HEIGHT)
		return "key lines kept in a tree too low to search them";
	err = check_node(&w, set->root, NULL, 1);
	if (err)
		return err;
	if (w.areas != set->count)
		return "area count wrong";
	if (w.nodes != set->nodes)
		return "node count wrong";
	if (w.leaf_depth != set->height)
		return "height wrong";
	return NULL;
}
