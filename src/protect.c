/*
 * protect, its strict form and the plain-flags forms: new flags over a
 * range, areas cut at its ends and pieces merged with their neighbours.
 */
#include "edit.h"

/* The new flags of area a, if update changes them. */
static bool new_flags(memory_set_update_fn update, void *ctx,
		      const struct memory_area *a, uint64_t *nf)
{
	return update(ctx, a->flags, nf) && *nf != a->flags;
}

/* A protect: its edit, the callback, and the data of the first area's
 * part from s (the last's part past t is the edit's right). */
struct ms_protect {
	struct ms_edit e;
	memory_set_update_fn update;
	void *ctx;
	void *page_table;
	struct ms_split mid;
};

static bool pr_flags(const struct ms_protect *pr, const struct memory_area *a,
		     uint64_t *nf)
{
	return new_flags(pr->update, pr->ctx, a, nf);
}

/*
 * Give the part of the area at c inside [s, t] the flags nf in the tree:
 * the parts outside stay with the old flags, the part from s takes the mid
 * data and the part past t the right data. c then at the last part.
 */
static void protect_piece(struct ms_protect *pr, struct ms_cursor *c,
			  uint64_t nf, uint64_t t)
{
	struct memory_set *set = pr->e.set;
	struct memory_area *a = cur_area(c), piece, rest;
	uint64_t s = pr->e.s, last = area_last(a);
	bool cut_left = a->start < s, cut_right = last > t;

	if (!cut_left && !cut_right) {
		st64(&a->flags, nf);
		return;
	}
	rest = *a;
	rest.start = t + 1;
	rest.size = last - t;
	rest.backend.data = cut_right ? memory_set_edit_take(&pr->e.right) : NULL;
	if (cut_left) {
		piece = *a;
		piece.start = s;
		piece.size = (cut_right ? t : last) - s + 1;
		piece.flags = nf;
		piece.backend.data = memory_set_edit_take(&pr->mid);
		/* The insertions bring the summaries up to date. */
		st64(&a->size, s - a->start);
		c->index++;
		if (cut_right)
			memory_set_tree_insert2(set, c, &piece, &rest);
		else
			memory_set_tree_insert(set, c, &piece);
		return;
	}
	st64(&a->size, t - a->start + 1);
	st64(&a->flags, nf);
	c->index++;
	memory_set_tree_insert(set, c, &rest);
}

/* Piece of area a inside [s, t]. */
static void piece_of(const struct ms_edit *e, const struct memory_area *a,
		     uint64_t *ps, uint64_t *psize)
{
	uint64_t s = a->start > e->s ? a->start : e->s;
	uint64_t l = area_last(a) < e->t ? area_last(a) : e->t;

	*ps = s;
	*psize = l - s + 1;
}

/* The areas that area a becomes once the protect commits, in order. */
static unsigned protect_pieces(const struct ms_protect *pr,
			       const struct memory_area *a,
			       struct memory_area out[3])
{
	const struct ms_edit *e = &pr->e;
	uint64_t nf, last = area_last(a);
	unsigned k = 0;

	out[0] = *a;
	if (a->start > e->t || last < e->s || !pr_flags(pr, a, &nf))
		return 1;
	if (a->start < e->s) {
		out[k].size = e->s - a->start;
		out[++k] = *a;
		out[k].backend.data = pr->mid.data;
	}
	piece_of(e, a, &out[k].start, &out[k].size);
	out[k].flags = nf;
	if (last > e->t) {
		out[++k] = *a;
		out[k].start = e->t + 1;
		out[k].size = last - e->t;
		out[k].backend.data = e->right.data;
	}
	return k + 1;
}

/*
 * Areas once the protect commits and merges run: the areas from the one
 * before s to the one at t + 1 are replaced by their pieces, and a run of
 * mergeable pieces that starts at or below t becomes one. O(k).
 */
static uint64_t protect_count(const struct ms_protect *pr)
{
	const struct ms_edit *e = &pr->e;
	uint64_t gone = 0, made = 0, from = e->s ? e->s - 1 : 0;
	struct memory_area run, pc[3];
	struct ms_cursor c;
	bool have = false;

	cur_copy(&c, &e->at);
	memory_set_tree_seek(e->set, &c, from);
	if (!cur_first_from(&c, from))
		return e->set->count;
	do {
		const struct memory_area *a = cur_area(&c);
		unsigned i, n;

		if (a->start > e->t && (e->t == U64_MAX || a->start > e->t + 1))
			break;
		gone++;
		n = protect_pieces(pr, a, pc);
		for (i = 0; i < n; i++) {
			made++;
			if (have && run.start <= e->t && memory_set_mergeable(&run, &pc[i])) {
				run.size += pc[i].size;
				made--;
			} else {
				run = pc[i];
				have = true;
			}
		}
	} while (cur_next(&c));
	return e->set->count - gone + made;
}

/*
 * Reserve nodes and make the data of the parts cut at s and past t, the
 * first area (cut at s) changing if first, the last (cut past t) if last.
 */
static enum mapping_error protect_plan(struct ms_protect *pr, bool first,
				       bool last)
{
	struct ms_edit *e = &pr->e;
	struct memory_set *set = e->set;
	const struct memory_area *a = cur_area(&e->at);
	unsigned kf = 0, kl = 0;
	uint64_t after, s = e->s, t = e->t;
	enum mapping_error err;

	if (e->cut_left && first)
		kf = e->around ? 2 : 1;
	/* The area at t: the first one too, unless the first is cut at s. */
	if (e->cut_right && !e->around && last)
		kl = 1;
	/* No area is cut: no node, no data, no area more. */
	if (!kf && !kl)
		return MAPPING_OK;
	after = set->count + kf + kl;
	if (over_limit(set, after) && !set->merge)
		return MAPPING_ERR_NO_MEMORY;
	if (!memory_set_edit_reserve(set, memory_set_edit_need(e, kf, kl)))
		return MAPPING_ERR_NO_MEMORY;
	if (kf) {
		uint64_t end = area_last(a) < t ? area_last(a) : t;

		err = memory_set_edit_split(&pr->mid, a, s - a->start, s,
					    end - s + 1);
		if (err != MAPPING_OK)
			return err;
		if (kf == 2) {
			struct memory_area m = *a;

			m.start = s;
			m.size = area_last(a) - s + 1;
			m.backend.data = pr->mid.data;
			err = memory_set_edit_split(&e->right, &m, t + 1 - s,
						    t + 1, area_last(a) - t);
			if (err != MAPPING_OK)
				return err;
		}
	}
	if (kl) {
		err = memory_set_edit_split_right(e);
		if (err != MAPPING_OK)
			return err;
	}
	if (over_limit(set, after) && over_limit(set, protect_count(pr)))
		return MAPPING_ERR_NO_MEMORY;
	return MAPPING_OK;
}

/*
 * Change back, in reverse order, the pieces before the area at w, whose
 * hook failed. A piece whose change back fails keeps its new flags, in the
 * tree too. w then somewhere among them.
 */
static void protect_rollback(struct ms_protect *pr, struct ms_cursor *w)
{
	struct ms_edit *e = &pr->e;
	uint64_t stop = cur_area(w)->start;

	while (cur_prev(w)) {
		const struct memory_area *a = cur_area(w);
		uint64_t nf, ps, psize;

		if (area_last(a) < e->s)
			break;
		if (!pr_flags(pr, a, &nf))
			continue;
		piece_of(e, a, &ps, &psize);
		if (a->backend.ops->protect(a->backend.data, ps, psize, nf,
					    a->flags, pr->page_table) ==
		    MAPPING_OK)
			continue;
		/* Keep this piece changed: it ends before stop. */
		memory_set_edit_write(e);
		protect_piece(pr, w, nf, stop - 1);
	}
}

/*
 * protect of a range that meets one area (a part cut out of it, or its
 * flags changed whole): the phases of protect_edit() for one piece.
 */
static enum mapping_error protect_one(struct ms_protect *pr)
{
	struct ms_edit *e = &pr->e;
	const struct memory_area *a = cur_area(&e->at);
	uint64_t nf, ps, psize;
	enum mapping_error err;

	/* Nothing changes: no merges either. */
	if (!pr_flags(pr, a, &nf))
		return MAPPING_OK;
	err = protect_plan(pr, true, true);
	if (err != MAPPING_OK)
		return err;
	piece_of(e, a, &ps, &psize);
	err = a->backend.ops->protect(a->backend.data, ps, psize, a->flags, nf,
				      pr->page_table);
	if (err == MAPPING_OK) {
		memory_set_edit_write(e);
		protect_piece(pr, &e->at, nf, e->t);
	}
	memory_set_edit_merge(e, e->s, e->t);
	return err;
}

/* The hooks' walk notes the new flags of this many first areas for the
 * commit's walk, which asks the callback again only past them. */
#define PR_NOTED 8

/* protect over a begun edit. */
static enum mapping_error protect_edit(struct ms_protect *pr)
{
	struct ms_edit *e = &pr->e;
	enum mapping_error err;
	uint64_t noted[PR_NOTED], f;
	unsigned changes = 0;
	bool changed = false;
	uint64_t i;

	if (e->k == 0)
		return MAPPING_OK;
	if (e->k == 1)
		return protect_one(pr);
	err = protect_plan(pr, e->cut_left && pr_flags(pr, cur_area(&e->at), &f),
			   e->cut_right && pr_flags(pr, cur_area(&e->end), &f));
	if (err != MAPPING_OK)
		return err;

	/* Page table first, tree untouched, so a failure can be undone. The
	 * walk goes back to the first area for the commit. */
	for (i = 0; i < e->k; i++) {
		const struct memory_area *a;
		uint64_t nf, ps, psize;

		if (i > 0)
			cur_next(&e->at);
		a = cur_area(&e->at);
		if (!pr_flags(pr, a, &nf))
			continue;
		changed = true;
		if (i < PR_NOTED) {
			noted[i] = nf;
			changes |= 1u << i;
		}
		piece_of(e, a, &ps, &psize);
		err = a->backend.ops->protect(a->backend.data, ps, psize,
					      a->flags, nf, pr->page_table);
		if (err != MAPPING_OK) {
			protect_rollback(pr, &e->at);
			memory_set_edit_merge(e, e->s, e->t);
			return err;
		}
	}
	/* Nothing changes: no merges either (as Linux's mprotect_fixup()). */
	if (!changed)
		return MAPPING_OK;
	for (i = 1; i < e->k; i++)
		cur_prev(&e->at);
	/* Commit: every change lands, in one walk; a cut inserts the parts
	 * after the area, and the walk goes on past them. */
	memory_set_edit_write(e);
	for (i = 0; i < e->k; i++) {
		uint64_t nf = 0;
		bool ch;

		if (i > 0)
			cur_next(&e->at);
		if (i < PR_NOTED) {
			ch = changes >> i & 1u;
			if (ch)
				nf = noted[i];
		} else {
			ch = pr_flags(pr, cur_area(&e->at), &nf);
		}
		if (ch)
			protect_piece(pr, &e->at, nf, e->t);
	}
	memory_set_edit_merge(e, e->s, e->t);
	return MAPPING_OK;
}

/* Begin a protect of [start, start+size), size > 0. */
static void protect_begin(struct ms_protect *pr, struct memory_set *set,
			  uint64_t start, uint64_t size,
			  memory_set_update_fn update, void *ctx,
			  void *page_table)
{
	memory_set_edit_begin(&pr->e, set, start, start + (size - 1));
	pr->update = update;
	pr->ctx = ctx;
	pr->page_table = page_table;
	pr->mid.made = false;
	pr->mid.data = NULL;
}

/* End it: finish the edit, then release the mid data no area took. */
static enum mapping_error protect_end(struct ms_protect *pr,
				      enum mapping_error err)
{
	memory_set_edit_finish(&pr->e);
	memory_set_edit_drop(&pr->mid);
	return err;
}

/* Both forms: the strict one first asks the range to be wholly mapped. */
static enum mapping_error protect_range(struct memory_set *set, uint64_t start,
					uint64_t size,
					memory_set_update_fn update, void *ctx,
					void *page_table, bool strict)
{
	struct ms_protect pr;

	if (!update || !range_ok(set, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (size == 0)
		return MAPPING_OK;
	protect_begin(&pr, set, start, size, update, ctx, page_table);
	/* begin holds nothing yet: returning without the end is fine. */
	if (strict && !memory_set_edit_covered(&pr.e))
		return MAPPING_ERR_NO_MEMORY;
	return protect_end(&pr, protect_edit(&pr));
}

enum mapping_error memory_set_protect(struct memory_set *set, uint64_t start,
				      uint64_t size,
				      memory_set_update_fn update, void *ctx,
				      void *page_table)
{
	return protect_range(set, start, size, update, ctx, page_table, false);
}

enum mapping_error memory_set_protect_strict(struct memory_set *set,
					     uint64_t start, uint64_t size,
					     memory_set_update_fn update,
					     void *ctx, void *page_table)
{
	return protect_range(set, start, size, update, ctx, page_table, true);
}

struct ms_mask {
	uint64_t flags, mask;
};

static bool mask_update(void *ctx, uint64_t old, uint64_t *new_flags)
{
	const struct ms_mask *m = ctx;

	*new_flags = (m->flags & m->mask) | (old & ~m->mask);
	return true;
}

enum mapping_error memory_set_protect_flags(struct memory_set *set,
					    uint64_t start, uint64_t size,
					    uint64_t flags, uint64_t mask,
					    void *page_table)
{
	struct ms_mask m = { flags, mask };

	return protect_range(set, start, size, mask_update, &m, page_table,
			     false);
}

enum mapping_error memory_set_protect_flags_strict(struct memory_set *set,
						   uint64_t start,
						   uint64_t size,
						   uint64_t flags,
						   uint64_t mask,
						   void *page_table)
{
	struct ms_mask m = { flags, mask };

	return protect_range(set, start, size, mask_update, &m, page_table,
			     true);
}
