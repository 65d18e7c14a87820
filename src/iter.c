/*
 * The public iterator: a leaf and a position in it. Nodes keep no parent
 * links, so a step past a leaf's end descends again, by the key of the
 * leaf's last (or first) area, and takes the next leaf along that path:
 * O(log n) once per leaf, O(1) amortised per area for a leaf of 14.
 */
#include "tree.h"

void memory_set_iter_init(struct memory_set_iter *it,
			  const struct memory_set *set, uint64_t addr)
{
	struct ms_leaf *l;
	unsigned pos;

	it->set = set;
	it->leaf = NULL;
	it->index = 0;
	if (!set->root)
		return;
	l = memory_set_tree_locate(set, addr, &pos);
	if (pos > 0 && area_last(&l->a[pos - 1]) >= addr)
		pos--;
	it->leaf = l;
	it->index = pos;
}

void memory_set_iter_init_end(struct memory_set_iter *it,
			      const struct memory_set *set)
{
	struct ms_cursor c;

	memory_set_tree_last(set, &c);
	it->set = set;
	it->leaf = c.leaf;
	it->index = c.index;
}

const struct memory_area *memory_set_iter_next(struct memory_set_iter *it)
{
	const struct ms_leaf *l = it->leaf;

	if (!l)
		return NULL;
	if (it->index >= l->h.count) {
		struct ms_cursor c;

		memory_set_tree_descend(it->set, l->a[l->h.count - 1].start, &c);
		if (!memory_set_tree_next_leaf(&c))
			return NULL;
		it->leaf = l = c.leaf;
		it->index = 0;
	}
	return &l->a[it->index++];
}

const struct memory_area *memory_set_iter_prev(struct memory_set_iter *it)
{
	const struct ms_leaf *l = it->leaf;

	if (!l)
		return NULL;
	if (it->index == 0) {
		struct ms_cursor c;

		memory_set_tree_descend(it->set, l->a[0].start, &c);
		if (!memory_set_tree_prev_leaf(&c))
			return NULL;
		it->leaf = l = c.leaf;
		it->index = l->h.count;
	}
	return &l->a[--it->index];
}
