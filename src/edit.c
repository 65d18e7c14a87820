/*
 * The edit: one change of a memory set, from its descent to its finish
 * (edit.h draws the phases). The operations build on it; the tree below
 * knows only nodes and ranges.
 */
#include "edit.h"

/* ---- Data of parts --------------------------------------------------- */

enum mapping_error memory_set_edit_split(struct ms_split *sp,
					 const struct memory_area *a,
					 uint64_t off, uint64_t start,
					 uint64_t size)
{
	enum mapping_error err = MAPPING_OK;

	sp->ops = a->backend.ops;
	sp->data = a->backend.data;
	sp->start = start;
	sp->size = size;
	if (sp->ops->split)
		err = sp->ops->split(a->backend.data, a->start, a->size, off,
				     &sp->data);
	sp->made = err == MAPPING_OK;
	return err;
}

/* memory_set_edit_drop() of data not taken. */
void memory_set_edit_drop_made(struct ms_split *sp)
{
	if (sp->ops->split && sp->ops->release)
		sp->ops->release(sp->data, sp->start, sp->size);
	sp->made = false;
}

/* ---- Begin ------------------------------------------------------------ */

/* The edit of [s, t] before its descent: nothing met, nothing held. */
static inline void edit_start(struct ms_edit *e, struct memory_set *set,
			      uint64_t s, uint64_t t)
{
	e->set = set;
	e->s = s;
	e->t = t;
	e->k = 0;
	e->cut_left = e->cut_right = e->around = false;
	e->right.data = NULL;
	e->right.made = false;
	e->dead.n = 0;
}

void memory_set_edit_init(struct ms_edit *e, struct memory_set *set)
{
	edit_start(e, set, 0, U64_MAX);
}

/*
 * The cursor is placed for s (as a descent to s places it): find the first
 * area meeting [s, t], walk to the last one and classify the cut.
 */
static void classify(struct ms_edit *e)
{
	struct ms_cursor *c = &e->at;
	const struct ms_leaf *l = c->leaf;
	const struct memory_area *a;
	unsigned i;

	if (!l)
		return;
	i = c->index;
	if (i > 0 && area_last(&l->a[i - 1]) >= e->s) {
		c->index = --i;
	} else if (i == l->h.count) {
		if (!memory_set_tree_next_leaf(c))
			return;
		l = c->leaf;
		i = 0;
	}
	a = &l->a[i];
	if (a->start > e->t)
		return;
	e->k = 1;
	e->cut_left = a->start < e->s;
	if (area_last(a) >= e->t) {
		e->cut_right = area_last(a) > e->t;
		e->around = e->cut_left && e->cut_right;
		return;
	}
	/* The one area ends inside the range, the next area after it. */
	if (i + 1 < l->h.count && l->a[i + 1].start > e->t)
		return;
	/* The rest in a walk: its hooks walk them all anyway. */
	cur_copy(&e->end, c);
	while (cur_next(&e->end) && cur_area(&e->end)->start <= e->t)
		e->k++;
	cur_prev(&e->end);
	if (e->k > 1)
		e->cut_right = area_last(cur_area(&e->end)) > e->t;
}

void memory_set_edit_begin(struct ms_edit *e, struct memory_set *set,
			   uint64_t s, uint64_t t)
{
	edit_start(e, set, s, t);
	memory_set_tree_descend(set, s, &e->at);
	classify(e);
}

void memory_set_edit_begin_at(struct ms_edit *e, struct memory_set *set,
			      const struct ms_cursor *c, uint64_t s,
			      uint64_t t)
{
	edit_start(e, set, s, t);
	cur_copy(&e->at, c);
	memory_set_tree_seek(set, &e->at, s);
	classify(e);
}

unsigned memory_set_edit_need_at(const struct ms_cursor *const c[],
				 const unsigned k[], unsigned n)
{
	unsigned kk[3], kids = 0, need = 0, i, j;

	MEMORY_SET_ASSERT(n <= 3);
	for (i = 0; i < n; i++) {
		kk[i] = k[i];
		kids += k[i] > 0;
		for (j = 0; j < i && kk[i]; j++)
			if (kk[j] && c[j]->leaf == c[i]->leaf) {
				kk[j] += kk[i];
				kk[i] = 0;
			}
	}
	for (i = 0; i < n; i++)
		if (kk[i])
			need += memory_set_tree_need(c[i], kk[i], kids);
	return need;
}

/* ---- The dead queue --------------------------------------------------- */

static void flush_dead(struct ms_dead *d)
{
	unsigned i;

	for (i = 0; i < d->n; i++)
		release_area(&d->a[i]);
	d->n = 0;
}

static void push_dead(struct ms_edit *e, const struct memory_area *a)
{
	if (!a->backend.ops->release)
		return;
	/* Full: release the oldest now; the tree is whole between changes. */
	if (e->dead.n == MS_DEAD_MAX)
		flush_dead(&e->dead);
	e->dead.a[e->dead.n++] = *a;
}

void memory_set_edit_dead(void *edit, const struct memory_area *a)
{
	push_dead(edit, a);
}

void memory_set_edit_dead_part(struct ms_edit *e, const struct memory_area *a,
			       uint64_t start, uint64_t size)
{
	struct memory_area part = *a;

	if (!a->backend.ops->split)
		return;
	part.start = start;
	part.size = size;
	push_dead(e, &part);
}

/* ---- Commits ---------------------------------------------------------- */

void memory_set_edit_cut(struct ms_edit *e, const struct memory_area *fill)
{
	struct memory_set *set = e->set;
	struct ms_cursor *c = &e->at;
	struct memory_area *a;
	bool insert;

	memory_set_edit_write(e);
	if (e->k == 0) {
		if (fill)
			memory_set_tree_insert(set, c, fill);
		return;
	}
	a = cur_area(c);
	if (e->around) {
		/* Keep [a->start, s) and (t, last]; the insertions bring the
		 * summaries up to date. */
		struct memory_area right = *a;

		right.start = e->t + 1;
		right.size = area_last(a) - e->t;
		right.backend.data = memory_set_edit_take(&e->right);
		st64(&a->size, e->s - a->start);
		c->index++;
		if (fill)
			memory_set_tree_insert2(set, c, fill, &right);
		else
			memory_set_tree_insert(set, c, &right);
		return;
	}
	/* The new area goes in at c, the first area's leaf: that insertion
	 * brings the summaries up to date after the first area's cut too. */
	insert = fill && !edit_inside(e);
	/* The last area's part past t stays, with the right data: then it
	 * starts past t, and what starts in [s, t] can go by its start. */
	if (e->cut_right) {
		struct ms_cursor *lc = edit_last(e);
		struct memory_area *b = cur_area(lc);
		uint64_t cut = e->t + 1 - b->start;

		memory_set_edit_dead_part(e, b, b->start, cut);
		MS_STORE(&b->backend.data, memory_set_edit_take(&e->right));
		st64(&b->start, e->t + 1);
		st64(&b->size, b->size - cut);
		/* A start moved in place: the insertion's own summary covers
		 * only the area before it losing its end (tree.h). */
		memory_set_tree_update(lc);
	}
	if (e->cut_left) {
		st64(&a->size, e->s - a->start);
		if (!insert)
			memory_set_tree_update(c);
		c->index++;
	}
	if (insert) {
		memory_set_tree_insert(set, c, fill);
		return;
	}
	/* c: where the first area starting in [s, t] is, if any. The new area
	 * takes its slot, so a replacing map removes and never inserts; else
	 * it goes in where memory_set_edit_need() counted it. */
	if (fill) {
		bool same;

		if (c->index == c->leaf->h.count)
			memory_set_tree_next_leaf(c);
		a = cur_area(c);
		same = a->start == fill->start && a->size == fill->size;
		push_dead(e, a);
		set_area(set->lockless, a, fill);
		if (!same)
			memory_set_tree_update(c);
		c->index++;
		/* Only the one area started in [s, t]: nothing more goes. */
		if (edit_inside(e) > 1)
			memory_set_tree_remove(set, c, e->t,
					       memory_set_edit_dead, e);
		return;
	}
	/* Areas cut at the range's ends only: nothing starts in it. */
	if (edit_inside(e))
		memory_set_tree_remove(set, c, e->t, memory_set_edit_dead, e);
}

void memory_set_edit_merge_run(struct ms_edit *e, uint64_t lo, uint64_t hi)
{
	struct memory_set *set = e->set;
	struct ms_cursor *c = &e->at;
	uint64_t from = lo ? lo - 1 : 0;

	if (!set->root)
		return;
	memory_set_tree_seek(set, c, from);
	if (!cur_first_from(c, from))
		return;
	for (;;) {
		const struct memory_area *a = cur_area(c);
		const struct ms_leaf *al = c->leaf;
		unsigned ai = c->index;
		struct memory_area grown;

		if (a->start > hi || !cur_next(c))
			return;
		if (!memory_set_mergeable(a, cur_area(c)))
			continue;
		/* Grow a copy over the whole run, then commit it at once. */
		grown = *a;
		do {
			grown.size += cur_area(c)->size;
		} while (cur_next(c) && memory_set_mergeable(&grown, cur_area(c)));
		memory_set_edit_write(e);
		/* Back to the run's first area: by its index while the walk
		 * stayed in its leaf (and on its path). */
		if (c->leaf == al)
			c->index = ai + 1;
		else
			memory_set_tree_seek(set, c, grown.start);
		c->index--;
		st64(&cur_area(c)->size, grown.size);
		memory_set_tree_update(c);
		c->index++;
		memory_set_tree_remove(set, c, area_last(&grown),
				       memory_set_edit_dead, e);
		if (c->index == c->leaf->h.count)
			return;
	}
}

/* ---- Area limit: the exact count with merges (edit.h) ---------------- */

/*
 * Merges that the merge window makes once n lands between l and r (either
 * may be NULL): the run grows from the left, keeping the left area's data.
 */
unsigned memory_set_edit_merges_around(const struct memory_area *l,
				       const struct memory_area *n,
				       const struct memory_area *r)
{
	struct memory_area run = *n;
	unsigned m = 0;

	if (l && memory_set_mergeable(l, n)) {
		run = *l;
		run.size += n->size;
		m++;
	}
	if (r && memory_set_mergeable(&run, r))
		m++;
	return m;
}

/* The area holding addr, from a cursor near it (which stays where it is). */
const struct memory_area *
memory_set_edit_find_near(const struct memory_set *set,
			  const struct ms_cursor *near, uint64_t addr)
{
	struct ms_cursor c;
	const struct memory_area *a;

	cur_copy(&c, near);
	memory_set_tree_seek(set, &c, addr);
	if (!c.leaf || c.index == 0)
		return NULL;
	a = &c.leaf->a[c.index - 1];
	return addr - a->start <= a->size - 1 ? a : NULL;
}

/* The area that ends at s - 1 once everything from s on is cut away. */
bool memory_set_edit_left_of(const struct memory_set *set,
			     const struct ms_cursor *near, uint64_t s,
			     struct memory_area *out)
{
	const struct memory_area *x;

	if (s == 0 || !(x = memory_set_edit_find_near(set, near, s - 1)))
		return false;
	*out = *x;
	out->size = s - x->start;
	return true;
}

/* The area that starts at t + 1 once everything up to t is cut away; a part
 * cut off an area gets rdata. */
bool memory_set_edit_right_of(const struct memory_set *set,
			      const struct ms_cursor *near, uint64_t t,
			      void *rdata, struct memory_area *out)
{
	const struct memory_area *y;

	if (t == U64_MAX ||
	    !(y = memory_set_edit_find_near(set, near, t + 1)))
		return false;
	*out = *y;
	if (y->start <= t) {
		out->start = t + 1;
		out->size = area_last(y) - t;
		out->backend.data = rdata;
	}
	return true;
}

/* ---- Strict forms and cuts --------------------------------------------- */

bool memory_set_edit_covered(const struct ms_edit *e)
{
	struct ms_cursor c;
	uint64_t cur = e->s, i;

	if (e->k == 0)
		return false;
	cur_copy(&c, &e->at);
	for (i = 0; i < e->k; i++) {
		const struct memory_area *a;

		if (i > 0)
			cur_next(&c);
		a = cur_area(&c);
		if (a->start > cur)
			return false;
		if (area_last(a) >= e->t)
			return true;
		cur = area_last(a) + 1;
	}
	return false;
}

enum mapping_error memory_set_edit_split_right(struct ms_edit *e)
{
	const struct memory_area *b = cur_area(edit_last(e));

	return memory_set_edit_split(&e->right, b, e->t + 1 - b->start,
				     e->t + 1, area_last(b) - e->t);
}

/* ---- Finish ----------------------------------------------------------- */

/* memory_set_edit_finish() of an edit that holds something to give back
 * (or that the checker looks at), readers let in. */
void memory_set_edit_finish_held(struct ms_edit *e)
{
	struct memory_set *set = e->set;

	if (e->dead.n)
		flush_dead(&e->dead);
	if (e->right.made)
		memory_set_edit_drop(&e->right);
	if (set->nspare > memory_set_tree_spare_keep(set))
		memory_set_tree_trim_to(set, memory_set_tree_spare_keep(set));
#ifdef MEMORY_SET_DEBUG_CHECK
	/* O(n): only where asked, even when MEMORY_SET_ASSERT is the caller's. */
	MEMORY_SET_ASSERT(memory_set_check(set) == NULL);
#endif
}
