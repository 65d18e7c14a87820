/*
 * map and unmap, their strict forms, and clear: each one edit (edit.h)
 * whose commit cuts the range out of the tree and, for map, puts the new
 * area in its place.
 */
#include "edit.h"

/* ---- Unmap ------------------------------------------------------------ */

/*
 * Call the unmap hook for each piece of the edit's range, in address
 * order, from its first area. On a failure, take the pieces already
 * unmapped out of the tree and return the error.
 */
enum mapping_error memory_set_unmap_pieces(struct ms_edit *e, void *page_table)
{
	const struct memory_area *a = cur_area(&e->at);
	struct ms_cursor w;
	uint64_t i = 0;

	for (;;) {
		uint64_t ps = a->start > e->s ? a->start : e->s;
		uint64_t pl = area_last(a) < e->t ? area_last(a) : e->t;
		enum mapping_error err;

		err = a->backend.ops->unmap(a->backend.data, ps, pl - ps + 1,
					    page_table);
		if (err != MAPPING_OK) {
			/* The failing piece starts an area, or is the first:
			 * what lies before it is [s, ps - 1], which no area
			 * reaches past. */
			if (i > 0) {
				e->t = ps - 1;
				e->cut_right = e->around = false;
				memory_set_edit_cut(e, NULL);
			}
			return err;
		}
		if (++i == e->k)
			return MAPPING_OK;
		if (i == 1)
			cur_copy(&w, &e->at);
		cur_next(&w);
		a = cur_area(&w);
	}
}


/* unmap over a begun edit. */
enum mapping_error memory_set_unmap_edit(struct ms_edit *e, void *page_table)
{
	struct memory_set *set = e->set;
	enum mapping_error err;

	if (e->k == 0)
		return MAPPING_OK;
	if (e->cut_right) {
		/* Only an area around the range makes one more area. */
		if (e->around &&
		    (over_limit(set, set->count + 1) ||
		     !memory_set_edit_reserve(set, memory_set_edit_need(e, 1, 0))))
			return MAPPING_ERR_NO_MEMORY;
		err = memory_set_edit_split_right(e);
		if (err != MAPPING_OK)
			return err;
	}
	err = memory_set_unmap_pieces(e, page_table);
	if (err == MAPPING_OK)
		memory_set_edit_cut(e, NULL);
	return err;
}

/* Both forms: the strict one first asks the range to be wholly mapped. */
static enum mapping_error unmap_range(struct memory_set *set, uint64_t start,
				      uint64_t size, void *page_table,
				      bool strict)
{
	struct ms_edit e;
	enum mapping_error err;

	if (!range_ok(set, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (size == 0)
		return MAPPING_OK;
	memory_set_edit_begin(&e, set, start, start + (size - 1));
	/* begin holds nothing yet: returning without finish is fine. */
	if (strict && !memory_set_edit_covered(&e))
		return MAPPING_ERR_NO_MEMORY;
	err = memory_set_unmap_edit(&e, page_table);
	memory_set_edit_finish(&e);
	return err;
}

enum mapping_error memory_set_unmap(struct memory_set *set, uint64_t start,
				    uint64_t size, void *page_table)
{
	return unmap_range(set, start, size, page_table, false);
}

/* ---- Map -------------------------------------------------------------- */

/*
 * Areas once na replaces the cut and merges run, counted exactly; `after`
 * is the bound without merges.
 */
static uint64_t after_merges(const struct ms_edit *e,
			     const struct memory_area *na, uint64_t after)
{
	struct memory_area la, ra;
	bool hl = memory_set_edit_left_of(e->set, &e->at, e->s, &la);
	bool hr = memory_set_edit_right_of(e->set, &e->at, e->t,
					   e->right.data, &ra);

	return after - memory_set_edit_merges_around(hl ? &la : NULL, na,
						     hr ? &ra : NULL);
}

enum mapping_error memory_set_map(struct memory_set *set, uint64_t start,
				  uint64_t size, uint64_t flags,
				  const struct mapping_backend *backend,
				  void *page_table, bool unmap_overlap)
{
	struct memory_area na;
	struct ms_edit e;
	uint64_t t, after;
	unsigned adds;
	enum mapping_error err = MAPPING_OK;
	bool exact = false;

	if (size == 0 || !range_ok(set, start, size) || !backend_ok(backend))
		return MAPPING_ERR_INVALID_PARAM;
	t = start + (size - 1);
	memory_set_edit_begin(&e, set, start, t);
	if (e.k && !unmap_overlap)
		return MAPPING_ERR_ALREADY_EXISTS;
	na.start = start;
	na.size = size;
	na.flags = flags;
	na.backend = *backend;

	/*
	 * The new area takes the slot of the first area lying wholly inside
	 * the range when there is one, so the tree never removes and inserts
	 * in one operation and the nodes reserved here always suffice.
	 */
	adds = edit_inside(&e) ? 0 : e.around ? 2 : 1;
	after = set->count + (e.around ? 2 : 1) - edit_inside(&e);
	if (over_limit(set, after)) {
		exact = true;
		if (!set->merge) {
			err = MAPPING_ERR_NO_MEMORY;
			goto out;
		}
	}
	if (adds && !memory_set_edit_reserve(set, memory_set_edit_need(&e, adds, 0))) {
		err = MAPPING_ERR_NO_MEMORY;
		goto out;
	}
	if (e.cut_right) {
		err = memory_set_edit_split_right(&e);
		if (err != MAPPING_OK)
			goto out;
	}
	if (exact && over_limit(set, after_merges(&e, &na, after))) {
		err = MAPPING_ERR_NO_MEMORY;
		goto out;
	}
	if (e.k) {
		err = memory_set_unmap_pieces(&e, page_table);
		if (err != MAPPING_OK)
			goto out;
	}
	err = backend->ops->map(backend->data, start, size, flags, page_table);
	if (err != MAPPING_OK) {
		if (e.k)
			memory_set_edit_cut(&e, NULL);
		goto out;
	}
	memory_set_edit_cut(&e, &na);
	memory_set_edit_merge(&e, start, t);
out:
	memory_set_edit_finish(&e);
	return err;
}

enum mapping_error memory_set_unmap_strict(struct memory_set *set,
					   uint64_t start, uint64_t size,
					   void *page_table)
{
	return unmap_range(set, start, size, page_table, true);
}

/* ---- Clear ------------------------------------------------------------ */

enum mapping_error memory_set_clear(struct memory_set *set, void *page_table)
{
	struct ms_edit e;
	enum mapping_error err = MAPPING_OK;

	memory_set_edit_init(&e, set);
	memory_set_tree_first(set, &e.at);
	if (e.at.leaf) {
		struct ms_cursor c;

		cur_copy(&c, &e.at);
		do {
			const struct memory_area *a = cur_area(&c);

			err = a->backend.ops->unmap(a->backend.data, a->start,
						    a->size, page_table);
			if (err != MAPPING_OK) {
				memory_set_edit_write(&e);
				if (a->start > 0)
					memory_set_tree_remove(set, &e.at,
							       a->start - 1,
							       memory_set_edit_dead,
							       &e);
				goto out;
			}
		} while (cur_next(&c));
	}
	memory_set_edit_write(&e);
	if (set->root)
		memory_set_tree_free_subtree(set, set->root,
					     memory_set_edit_dead, &e);
	set_root(set, NULL);
	set->count = 0;
	set->height = 0;
out:
	memory_set_edit_finish(&e);
	return err;
}
