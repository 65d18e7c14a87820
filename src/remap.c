/*
 * remap in place (shrink or grow) and remap_fixed (move to a new range),
 * each over edits of the set.
 */
#include "edit.h"

/* Place c at the area holding addr, from a descent or a cursor near it;
 * false if no area holds it. */
static bool at_holding(struct ms_cursor *c, uint64_t addr)
{
	const struct memory_area *a;

	if (!c->leaf || c->index == 0)
		return false;
	a = &c->leaf->a[c->index - 1];
	if (addr - a->start > a->size - 1)
		return false;
	c->index--;
	return true;
}

enum mapping_error memory_set_remap(struct memory_set *set, uint64_t start,
				    uint64_t size, uint64_t new_size,
				    void *page_table)
{
	struct ms_edit e;
	struct memory_area *a;
	uint64_t ol, grow;
	enum mapping_error err;

	if (!size || !new_size || !range_ok(set, start, size) ||
	    !range_ok(set, start, new_size))
		return MAPPING_ERR_INVALID_PARAM;
	ol = start + (size - 1);
	memory_set_edit_init(&e, set);
	memory_set_tree_descend(set, start, &e.at);
	if (!at_holding(&e.at, start) || area_last(cur_area(&e.at)) < ol)
		return MAPPING_ERR_BAD_STATE;
	if (new_size == size)
		return MAPPING_OK;
	if (new_size < size) {
		struct ms_edit u;

		memory_set_edit_begin_at(&u, set, &e.at, start + new_size, ol);
		err = memory_set_unmap_edit(&u, page_table);
		memory_set_edit_finish(&u);
		return err;
	}
	/* Growing never adds an area, so the limit cannot be in the way. */
	grow = new_size - size;
	a = cur_area(&e.at);
	if (area_last(a) != ol || ol == U64_MAX)
		return MAPPING_ERR_NO_MEMORY;
	{
		struct ms_cursor nx;

		cur_copy(&nx, &e.at);
		if (cur_next(&nx) && cur_area(&nx)->start - (ol + 1) < grow)
			return MAPPING_ERR_NO_MEMORY;
	}
	err = a->backend.ops->map(a->backend.data, ol + 1, grow, a->flags,
				  page_table);
	if (err != MAPPING_OK)
		return err;
	memory_set_edit_write(&e);
	st64(&a->size, a->size + grow);
	memory_set_tree_update(&e.at);
	memory_set_edit_merge(&e, start, ol + grow);
	memory_set_edit_finish(&e);
	return MAPPING_OK;
}

/*
 * A move, planned: the old range [s, ol] lies in area ap as the area will
 * be once the target [ns, nt] is cut (the edit's range); the split() data
 * made for it.
 */
struct ms_move {
	struct ms_edit e;           /* the target; its right: the part past nt */
	uint64_t s, ol, ns, nt, size, new_size;
	struct memory_area ap;      /* the old range's area after the target cut */
	struct ms_cursor old;       /* that area, until the target is cut */
	struct ms_split mid;        /* the moved area's data */
	struct ms_split rest;       /* ap's part past ol */
	bool split_mid;             /* mid was made by split() */
};

/*
 * Take [s, last] out of the one area holding it; a part after last gets
 * the rest data. With keep the data of a removed start moves to another
 * area, so it is not released. Needs one reserved node when parts stay on
 * both sides.
 */
static void remove_piece(struct ms_move *mv, uint64_t s, uint64_t last,
			 bool keep)
{
	struct ms_edit *e = &mv->e;
	struct ms_cursor *c = &e->at;
	struct memory_area *a;
	uint64_t alast;

	memory_set_edit_write(e);
	memory_set_tree_seek(e->set, c, s);
	c->index--;
	a = cur_area(c);
	alast = area_last(a);
	if (a->start < s) {
		struct memory_area right = *a;

		st64(&a->size, s - a->start);
		memory_set_tree_update(c);
		if (alast > last) {
			right.start = last + 1;
			right.size = alast - last;
			right.backend.data = memory_set_edit_take(&mv->rest);
			c->index++;
			memory_set_tree_insert(e->set, c, &right);
		}
		return;
	}
	if (alast > last) {
		if (!keep)
			memory_set_edit_dead_part(e, a, a->start,
						  last + 1 - a->start);
		MS_STORE(&a->backend.data, memory_set_edit_take(&mv->rest));
		st64(&a->size, a->size - (last + 1 - a->start));
		st64(&a->start, last + 1);
		memory_set_tree_update(c);
		return;
	}
	if (!keep)
		memory_set_edit_dead(e, a);
	memory_set_tree_remove(e->set, c, a->start, NULL, NULL);
}

/*
 * Nodes of the move: the target's place takes the new area (and the part
 * past nt of an area around the target), the old place the part past ol
 * when parts stay on both sides of the old range or of its tail. When the
 * target removes areas, a join may fill the leaves of both places before
 * they take theirs: then each counts a whole path and a new root.
 */
static unsigned move_need(const struct ms_move *mv)
{
	const struct ms_cursor *c[2] = { &mv->e.at, &mv->old };
	unsigned k[2];

	k[0] = 1 + mv->e.around;
	k[1] = area_last(&mv->ap) > mv->ol &&
	       (mv->ap.start < mv->s || mv->new_size < mv->size);
	if (edit_inside(&mv->e))
		return (k[0] + k[1] > 1 ? 2u : 1u) * (mv->e.set->height + 1u);
	return memory_set_edit_need_at(c, k, 2);
}

/*
 * The areas that will end at ns - 1 and start at nt + 1 once the move is
 * done, for counting merges. a is the old range's area, still whole.
 */
static void move_neighbours(const struct ms_move *mv,
			    const struct memory_area *a,
			    struct memory_area *l, bool *hl,
			    struct memory_area *r, bool *hr)
{
	const struct memory_set *set = mv->e.set;

	*hl = memory_set_edit_left_of(set, &mv->old, mv->ns, l);
	if (*hl && memory_set_edit_find_near(set, &mv->old, mv->ns - 1) == a &&
	    mv->ns - 1 >= mv->s) {
		/* Target above the old range inside a: ap's part past ol. */
		*hl = mv->ns - 1 > mv->ol;
		l->start = mv->ol + 1;
		l->size = mv->ns - 1 - mv->ol;
		l->backend.data = mv->rest.data;
	}
	*hr = memory_set_edit_right_of(set, &mv->old, mv->nt,
				       mv->e.right.data, r);
	if (*hr && memory_set_edit_find_near(set, &mv->old, mv->nt + 1) == a &&
	    mv->nt + 1 <= mv->s) {
		/* Target below the old range inside a: ap's part before s. */
		*hr = mv->nt + 1 < mv->s;
		r->size = mv->s - r->start;
	}
}

/* Where a failed move left the pages. */
enum ms_moved {
	MOVE_UNDONE,  /* at the old place only: nothing moved */
	MOVE_BOTH,    /* at both places: the default move's undo failed */
	MOVE_NEITHER, /* at neither place: the same, unmapping first */
};

/*
 * Move n bytes of pages: the move() hook, or by default map the new range
 * and unmap the old one, unmapping the new one again if that fails; only
 * when the undo fails too are both places mapped, and the set then holds
 * the area at both. With split(), though, each area's data is its own, and
 * a range at its area's start has the area's data, which two areas cannot
 * both hold: for it the old range is unmapped first, and mapped again if
 * the map of the new one fails; a failed undo leaves it at neither place.
 */
static enum mapping_error move_pages(const struct ms_move *mv, uint64_t n,
				     void *page_table, enum ms_moved *left)
{
	const struct mapping_backend_ops *o = mv->ap.backend.ops;
	void *mid = mv->mid.data;
	enum mapping_error err;

	*left = MOVE_UNDONE;
	if (has_v2(o) && o->move)
		return o->move(mid, mv->s, mv->ns, n, mv->ap.flags, page_table);
	if (o->split && !mv->split_mid) {
		err = o->unmap(mid, mv->s, n, page_table);
		if (err != MAPPING_OK)
			return err;
		err = o->map(mid, mv->ns, n, mv->ap.flags, page_table);
		if (err != MAPPING_OK &&
		    o->map(mid, mv->s, n, mv->ap.flags, page_table) != MAPPING_OK)
			*left = MOVE_NEITHER;
		return err;
	}
	err = o->map(mid, mv->ns, n, mv->ap.flags, page_table);
	if (err != MAPPING_OK)
		return err;
	err = o->unmap(mv->ap.backend.data, mv->s, n, page_table);
	if (err != MAPPING_OK &&
	    o->unmap(mid, mv->ns, n, page_table) != MAPPING_OK)
		*left = MOVE_BOTH;
	return err;
}

static enum mapping_error move_plan(struct memory_set *set, struct ms_move *mv,
				    const struct memory_area *a)
{
	struct ms_edit *e = &mv->e;
	const struct memory_area *rarea = NULL;
	uint64_t after;
	bool exact = false;
	enum mapping_error err;

	mv->ap = *a;
	memory_set_edit_begin_at(e, set, &mv->old, mv->ns, mv->nt);
	if (e->cut_right)
		rarea = cur_area(edit_last(e));
	if (a->start <= mv->nt && mv->ns <= area_last(a)) {
		/* The target cuts a too, on one side of the old range. */
		if (mv->nt < mv->s) {
			mv->ap.start = mv->nt + 1;
			mv->ap.size = area_last(a) - mv->nt;
		} else {
			mv->ap.size = mv->ns - a->start;
		}
	}
	after = set->count + 1 + (rarea && rarea->start < mv->ns) +
		(mv->ap.start < mv->s) + (area_last(&mv->ap) > mv->ol) - 1;
	if (over_limit(set, after)) {
		after -= edit_inside(e);
		exact = over_limit(set, after);
		if (exact && !set->merge)
			return MAPPING_ERR_NO_MEMORY;
	}
	if (!memory_set_tree_reserve(set, move_need(mv)))
		return MAPPING_ERR_NO_MEMORY;
	if (rarea) {
		err = memory_set_edit_split_right(e);
		if (err != MAPPING_OK)
			return err;
		if (rarea == a && mv->nt < mv->s)
			mv->ap.backend.data = e->right.data;
	}
	mv->mid = (struct ms_split){ mv->ap.backend.ops, mv->ap.backend.data,
				     mv->s, mv->size, false };
	if (mv->ap.start < mv->s) {
		err = memory_set_edit_split(&mv->mid, &mv->ap,
					    mv->s - mv->ap.start, mv->s,
					    mv->size);
		if (err != MAPPING_OK)
			return err;
		mv->split_mid = true;
	}
	if (area_last(&mv->ap) > mv->ol) {
		struct memory_area m = mv->ap;

		m.start = mv->s;
		m.size = area_last(&mv->ap) - mv->s + 1;
		m.backend.data = mv->mid.data;
		err = memory_set_edit_split(&mv->rest, &m, mv->size, mv->ol + 1,
					    area_last(&mv->ap) - mv->ol);
		if (err != MAPPING_OK)
			return err;
	}
	if (exact) {
		struct memory_area l, r, n = mv->ap;
		bool hl, hr;

		n.start = mv->ns;
		n.size = mv->new_size;
		n.backend.data = mv->mid.data;
		move_neighbours(mv, a, &l, &hl, &r, &hr);
		after -= memory_set_edit_merges_around(hl ? &l : NULL, &n,
						       hr ? &r : NULL);
		if (over_limit(set, after))
			return MAPPING_ERR_NO_MEMORY;
	}
	return MAPPING_OK;
}

/* Put the new area na in at its place, with the moved data. */
static void move_insert(struct ms_move *mv, struct memory_area *na)
{
	struct ms_edit *e = &mv->e;

	memory_set_edit_write(e);
	na->backend.data = memory_set_edit_take(&mv->mid);
	memory_set_tree_seek(e->set, &e->at, na->start);
	/*
	 * Go in where move_need() counted: after the area cut on the left,
	 * in its leaf; else before the first area past the target, which
	 * classify() found in the next leaf when the slot ends a leaf.
	 */
	if (!e->cut_left && e->at.index == e->at.leaf->h.count)
		memory_set_tree_next_leaf(&e->at);
	memory_set_tree_insert(e->set, &e->at, na);
}

enum mapping_error memory_set_remap_fixed(struct memory_set *set,
					  uint64_t start, uint64_t size,
					  uint64_t new_size, uint64_t new_start,
					  void *page_table)
{
	const struct mapping_backend_ops *o;
	struct memory_area na;
	struct ms_move mv;
	uint64_t moved;
	enum ms_moved left;
	enum mapping_error err;

	if (!size || !new_size || !range_ok(set, start, size) ||
	    !range_ok(set, new_start, new_size))
		return MAPPING_ERR_INVALID_PARAM;
	mv.s = start;
	mv.ol = start + (size - 1);
	mv.ns = new_start;
	mv.nt = new_start + (new_size - 1);
	mv.size = size;
	mv.new_size = new_size;
	if (mv.s <= mv.nt && mv.ns <= mv.ol)
		return MAPPING_ERR_INVALID_PARAM;
	memory_set_tree_descend(set, start, &mv.old);
	if (!at_holding(&mv.old, start) ||
	    area_last(cur_area(&mv.old)) < mv.ol)
		return MAPPING_ERR_BAD_STATE;
	mv.rest.made = false;
	mv.mid.made = false;
	mv.split_mid = false;
	err = move_plan(set, &mv, cur_area(&mv.old));
	if (err != MAPPING_OK)
		goto out;
	o = mv.ap.backend.ops;
	moved = size < new_size ? size : new_size;

	/* 1. The target, as map with unmap_overlap. */
	if (mv.e.k) {
		err = memory_set_unmap_pieces(&mv.e, page_table);
		if (err != MAPPING_OK)
			goto out;
		memory_set_edit_cut(&mv.e, NULL);
		memory_set_edit_publish(&mv.e); /* readers need not wait through the hooks */
	}
	/* 2. The tail of the old range that does not move. */
	if (moved < size) {
		err = o->unmap(mv.ap.backend.data, start + moved, size - moved,
			       page_table);
		if (err != MAPPING_OK)
			goto out;
		remove_piece(&mv, start + moved, mv.ol, false);
		memory_set_edit_publish(&mv.e);
	}
	/* 3. The pages, then 4. the rest of a larger new range. */
	na = mv.ap;
	na.start = new_start;
	na.size = moved;
	err = move_pages(&mv, moved, page_table, &left);
	if (err != MAPPING_OK) {
		if (left == MOVE_BOTH) {
			/* Mapped at both places, so in the set at both. */
			move_insert(&mv, &na);
			memory_set_edit_merge(&mv.e, new_start,
					      new_start + (moved - 1));
		} else if (left == MOVE_NEITHER) {
			/* Mapped nowhere: the moved range leaves the set. */
			remove_piece(&mv, start, start + moved - 1, false);
		}
		goto out;
	}
	if (moved < new_size) {
		err = o->map(mv.mid.data, new_start + moved, new_size - moved,
			     mv.ap.flags, page_table);
		if (err == MAPPING_OK)
			na.size = new_size; /* else moved, but not grown */
	}
	/* The new area first: the old range's removal takes no node. */
	move_insert(&mv, &na);
	remove_piece(&mv, start, start + moved - 1, true);
	memory_set_edit_merge(&mv.e, new_start, new_start + (na.size - 1));
out:
	memory_set_edit_drop(&mv.rest);
	memory_set_edit_drop(&mv.mid);
	memory_set_edit_finish(&mv.e);
	return err;
}
