/*
 * dup: a copy of the whole set, node by node, with each area's data
 * duplicated by its backend (fork).
 */
#include "edit.h"

/* Duplicate one area of the copy in place: its data becomes the child's. */
static enum mapping_error dup_area(struct memory_area *a, void *src_pt,
				   void *dst_pt)
{
	const struct mapping_backend_ops *o = a->backend.ops;
	void *child = a->backend.data;
	enum mapping_error err;

	if (!has_v2(o) || !o->dup)
		return o->map(a->backend.data, a->start, a->size, a->flags,
			      dst_pt);
	err = o->dup(a->backend.data, a->start, a->size, a->flags, src_pt,
		     dst_pt, &child);
	if (err == MAPPING_OK)
		MS_STORE(&a->backend.data, child);
	return err;
}

/*
 * A dup failed at the area at c: undo the areas duplicated before it, last
 * first (unmap() on dst's page table, then release() of the child's data).
 * An area whose unmap fails stays in dst, as the page table still maps it;
 * the others leave dst, and so do the areas never duplicated, which hold
 * src's data (nothing is released for them).
 */
static void dup_undo(struct memory_set *dst, struct ms_cursor *c,
		     void *dst_pt)
{
	uint64_t hi = U64_MAX; /* the areas from the last kept one on go */
	bool kept = false;

	while (cur_prev(c)) {
		const struct memory_area *a = cur_area(c);
		uint64_t s;

		if (a->backend.ops->unmap(a->backend.data, a->start, a->size,
					  dst_pt) == MAPPING_OK) {
			release_area(a);
			continue;
		}
		/* a stays: what follows it goes now, then find a again. */
		kept = true;
		s = a->start;
		c->index++;
		if (s < hi)
			memory_set_tree_remove(dst, c, hi, NULL, NULL);
		if (s == 0)
			return;
		hi = s - 1;
		memory_set_tree_seek(dst, c, s);
		c->index--;
	}
	if (kept) {
		memory_set_tree_first(dst, c);
		memory_set_tree_remove(dst, c, hi, NULL, NULL);
		return;
	}
	memory_set_tree_free_subtree(dst, dst->root, NULL, NULL);
	set_root(dst, NULL);
	dst->count = 0;
	dst->height = 0;
}

enum mapping_error memory_set_dup(struct memory_set *dst,
				  const struct memory_set *src,
				  void *src_page_table, void *dst_page_table)
{
	unsigned spare = dst ? dst->nspare : 0;
	unsigned spare_leaf = dst ? dst->nspare_leaf : 0;
	struct ms_edit e;
	struct ms_cursor c;
	enum mapping_error err = MAPPING_OK;

	if (!dst || !src || dst == src || !dst->alloc || dst->root)
		return MAPPING_ERR_INVALID_PARAM;
	memory_set_edit_init(&e, dst);
	if (src->root) {
		if (!memory_set_tree_reserve_copy(dst, src)) {
			memory_set_tree_unreserve(dst, spare, spare_leaf);
			return MAPPING_ERR_NO_MEMORY;
		}
		memory_set_edit_write(&e);
		set_root(dst, memory_set_tree_clone_subtree(dst, src->root));
		dst->count = src->count;
		dst->height = src->height;
		memory_set_tree_first(dst, &c);
		do {
			err = dup_area(cur_area(&c), src_page_table,
				       dst_page_table);
			if (err != MAPPING_OK) {
				/* dst keeps its settings: the areas its undo
				 * could not unmap merge by them. */
				dup_undo(dst, &c, dst_page_table);
				break;
			}
		} while (cur_next(&c));
	}
	if (err == MAPPING_OK) {
		dst->granule = src->granule;
		dst->merge = src->merge;
		dst->max_areas = src->max_areas;
	}
	/* A dup() hook may hand out data that lets touching areas merge. */
	memory_set_tree_first(dst, &e.at);
	memory_set_edit_merge(&e, 0, U64_MAX);
	memory_set_edit_finish(&e);
	return err;
}
