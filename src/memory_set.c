/*
 * memory_set: a set of non-overlapping memory areas over a B+tree.
 *
 * Every mutation is an edit (edit.h): validate the arguments, one descent
 * to the range and its cut classified, reserve every node and every split()
 * result the operation may need, call the page-table hooks, then commit a
 * tree change that cannot fail, and finish. Tree changes use only nodes
 * reserved beforehand, and removals never allocate, so a failure of the
 * allocator or of a hook leaves the tree as the page table is.
 */
#include <stddef.h>
#include <string.h>

#include "edit.h"

/* ---- Merging ---------------------------------------------------------- */

bool memory_set_mergeable(const struct memory_area *a,
			  const struct memory_area *b)
{
	if (a->flags != b->flags || a->backend.ops != b->backend.ops)
		return false;
	if (area_last(a) == U64_MAX || area_last(a) + 1 != b->start)
		return false;
	if (a->backend.ops->can_merge)
		return a->backend.ops->can_merge(a, b);
	return a->backend.data == b->backend.data;
}

/* ---- Validation helpers ----------------------------------------------- */

static bool range_ok(const struct memory_set *set, uint64_t start,
		     uint64_t size)
{
	if ((start | size) & (set->granule - 1))
		return false;
	return size == 0 || size - 1 <= U64_MAX - start;
}

static bool backend_ok(const struct mapping_backend *b)
{
	const struct mapping_backend_ops *o;

	if (!b || !(o = b->ops) || o->version < 1)
		return false;
	return o->map && o->unmap && o->protect;
}

static bool has_v2(const struct mapping_backend_ops *o)
{
	return o->version >= 2;
}

/* ---- Area limit ------------------------------------------------------- */

/*
 * Leaving `after` areas breaks the limit only when the operation adds areas
 * and passes it (over_limit()). Operations first bound `after` from above
 * without merges; only when that bound breaks the limit with merging on do
 * they count the merges exactly, once the split() data that can_merge()
 * may look at exists.
 */

/*
 * Merges that the merge window makes once n lands between l and r (either
 * may be NULL): the run grows from the left, keeping the left area's data.
 */
static unsigned merges_around(const struct memory_area *l,
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
static const struct memory_area *find_near(const struct memory_set *set,
					   const struct ms_cursor *near,
					   uint64_t addr)
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
static bool left_of(const struct memory_set *set, const struct ms_cursor *near,
		    uint64_t s, struct memory_area *out)
{
	const struct memory_area *x;

	if (s == 0 || !(x = find_near(set, near, s - 1)))
		return false;
	*out = *x;
	out->size = s - x->start;
	return true;
}

/* The area that starts at t + 1 once everything up to t is cut away; a part
 * cut off an area gets rdata. */
static bool right_of(const struct memory_set *set,
		     const struct ms_cursor *near, uint64_t t, void *rdata,
		     struct memory_area *out)
{
	const struct memory_area *y;

	if (t == U64_MAX || !(y = find_near(set, near, t + 1)))
		return false;
	*out = *y;
	if (y->start <= t) {
		out->start = t + 1;
		out->size = area_last(y) - t;
		out->backend.data = rdata;
	}
	return true;
}

/* ---- Set basics ------------------------------------------------------- */

/*
 * The sizes of the options of released headers: each ended just before the
 * field the next one added (memory_set.h). A size of 0 is refused: taking it
 * for this header's would read past the struct of a caller built against
 * an older one.
 */
#define OPTIONS_V1 offsetof(struct memory_set_options, max_areas)
#define OPTIONS_V2 offsetof(struct memory_set_options, lockless_lookups)

static bool options_size_ok(uint32_t size)
{
	return size == OPTIONS_V1 || size == OPTIONS_V2 ||
	       size >= sizeof(struct memory_set_options);
}

enum mapping_error memory_set_init(struct memory_set *set,
				   const struct memory_set_options *opts)
{
	const struct memory_set_allocator *al;
	uint64_t g;

	if (!set || !opts || !options_size_ok(opts->size))
		return MAPPING_ERR_INVALID_PARAM;
	al = opts->allocator;
	if (!al || al->version < 1 || !al->alloc || !al->free)
		return MAPPING_ERR_INVALID_PARAM;
	g = opts->granule ? opts->granule : 4096;
	if (g & (g - 1))
		return MAPPING_ERR_INVALID_PARAM;
	memset(set, 0, sizeof(*set));
	set->granule = g;
	set->alloc = al;
	set->alloc_ctx = opts->allocator_ctx;
	set->merge = opts->merge;
	if (opts->size > OPTIONS_V1)
		set->max_areas = opts->max_areas;
	if (opts->size > OPTIONS_V2)
		set->lockless = opts->lockless_lookups;
	return MAPPING_OK;
}

static void release_sink(void *ctx, const struct memory_area *a)
{
	(void)ctx;
	release_area(a);
}

void memory_set_destroy(struct memory_set *set)
{
	if (!set || !set->alloc)
		return;
	if (set->root)
		memory_set_tree_free_subtree(set, set->root, release_sink,
					     NULL);
	set_root(set, NULL);
	set->count = 0;
	set->height = 0;
	/* No reader is left: a lockless set gives its nodes back too. */
	memory_set_tree_unreserve(set, 0, 0);
	set->alloc = NULL;
}

uint64_t memory_set_len(const struct memory_set *set)
{
	return set->count;
}

bool memory_set_is_empty(const struct memory_set *set)
{
	return set->count == 0;
}

uint64_t memory_set_granule(const struct memory_set *set)
{
	return set->granule;
}

enum mapping_error memory_set_set_granule(struct memory_set *set,
					  uint64_t granule)
{
	if (granule == 0 || (granule & (granule - 1)))
		return MAPPING_ERR_INVALID_PARAM;
	set->granule = granule;
	return MAPPING_OK;
}

uint64_t memory_set_max_areas(const struct memory_set *set)
{
	return set->max_areas;
}

void memory_set_set_max_areas(struct memory_set *set, uint64_t max)
{
	set->max_areas = max;
}

bool memory_set_merge_enabled(const struct memory_set *set)
{
	return set->merge;
}

void memory_set_set_merge(struct memory_set *set, bool on)
{
	struct ms_edit e;

	set->merge = on;
	memory_set_edit_init(&e, set);
	memory_set_tree_first(set, &e.at);
	memory_set_edit_merge(&e, 0, U64_MAX);
	memory_set_edit_finish(&e);
}

uint64_t memory_set_memory_bytes(const struct memory_set *set)
{
	return (set->nodes + set->nspare + set->nspare_leaf) *
	       (uint64_t)MEMORY_SET_NODE_SIZE;
}

/* ---- Queries ---------------------------------------------------------- */

const struct memory_area *memory_set_find(const struct memory_set *set,
					  uint64_t addr)
{
	const struct memory_area *a;
	struct ms_leaf *l;
	unsigned pos;

	if (!set->root)
		return NULL;
	l = memory_set_tree_locate(set, addr, &pos);
	if (pos == 0)
		return NULL;
	a = &l->a[pos - 1];
	return addr - a->start <= a->size - 1 ? a : NULL;
}

bool memory_set_overlaps(const struct memory_set *set, uint64_t start,
			 uint64_t size)
{
	uint64_t last;
	struct ms_leaf *l;
	unsigned pos;

	if (size == 0)
		return false;
	last = size - 1 > U64_MAX - start ? U64_MAX : start + (size - 1);
	if (set->lockless)
		return memory_set_lockless_overlaps(set, start, last);
	if (!set->root)
		return false;
	l = memory_set_tree_locate(set, last, &pos);
	return pos > 0 && area_last(&l->a[pos - 1]) >= start;
}

/* ---- Unmap ------------------------------------------------------------ */

/*
 * Call the unmap hook for each piece of the edit's range, in address
 * order, from its first area. On a failure, take the pieces already
 * unmapped out of the tree and return the error.
 */
static enum mapping_error unmap_pieces(struct ms_edit *e, void *page_table)
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

/* The data of the last area's part past t, when it reaches past t. */
static enum mapping_error split_right(struct ms_edit *e)
{
	const struct memory_area *b = cur_area(edit_last(e));

	return memory_set_edit_split(&e->right, b, e->t + 1 - b->start,
				     e->t + 1, area_last(b) - e->t);
}

/* unmap over a begun edit. */
static enum mapping_error unmap_edit(struct ms_edit *e, void *page_table)
{
	struct memory_set *set = e->set;
	enum mapping_error err;

	if (e->k == 0)
		return MAPPING_OK;
	if (e->cut_right) {
		/* Only an area around the range makes one more area. */
		if (e->around &&
		    (over_limit(set, set->count + 1) ||
		     !memory_set_tree_reserve(set, memory_set_edit_need(e, 1, 0))))
			return MAPPING_ERR_NO_MEMORY;
		err = split_right(e);
		if (err != MAPPING_OK)
			return err;
	}
	err = unmap_pieces(e, page_table);
	if (err == MAPPING_OK)
		memory_set_edit_cut(e, NULL);
	return err;
}

enum mapping_error memory_set_unmap(struct memory_set *set, uint64_t start,
				    uint64_t size, void *page_table)
{
	struct ms_edit e;
	enum mapping_error err;

	if (!range_ok(set, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (size == 0)
		return MAPPING_OK;
	memory_set_edit_begin(&e, set, start, start + (size - 1));
	err = unmap_edit(&e, page_table);
	memory_set_edit_finish(&e);
	return err;
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
	bool hl = left_of(e->set, &e->at, e->s, &la);
	bool hr = right_of(e->set, &e->at, e->t, e->right.data, &ra);

	return after - merges_around(hl ? &la : NULL, na, hr ? &ra : NULL);
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
	if (adds && !memory_set_tree_reserve(set, memory_set_edit_need(&e, adds, 0))) {
		err = MAPPING_ERR_NO_MEMORY;
		goto out;
	}
	if (e.cut_right) {
		err = split_right(&e);
		if (err != MAPPING_OK)
			goto out;
	}
	if (exact && over_limit(set, after_merges(&e, &na, after))) {
		err = MAPPING_ERR_NO_MEMORY;
		goto out;
	}
	if (e.k) {
		err = unmap_pieces(&e, page_table);
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

/* ---- Protect ---------------------------------------------------------- */

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
	if (cut_left) {
		piece = *a;
		piece.start = s;
		piece.size = (cut_right ? t : last) - s + 1;
		piece.flags = nf;
		piece.backend.data = memory_set_edit_take(&pr->mid);
		/* The insertions bring the summaries up to date. */
		st64(&a->size, s - a->start);
		c->index++;
		memory_set_tree_insert(set, c, &piece);
		if (!cut_right)
			return;
	} else {
		st64(&a->size, t - a->start + 1);
		st64(&a->flags, nf);
	}
	rest.backend.data = memory_set_edit_take(&pr->e.right);
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

/* Reserve nodes and make the data of the parts cut at s and past t. */
static enum mapping_error protect_plan(struct ms_protect *pr)
{
	struct ms_edit *e = &pr->e;
	struct memory_set *set = e->set;
	const struct memory_area *a, *b;
	unsigned kf = 0, kl = 0;
	uint64_t nf, after, s = e->s, t = e->t;
	enum mapping_error err;

	if (e->k == 0)
		return MAPPING_OK;
	a = cur_area(&e->at);
	b = cur_area(edit_last(e));
	if (e->cut_left && pr_flags(pr, a, &nf))
		kf = e->around ? 2 : 1;
	/* The area at t: the first one too, unless the first is cut at s. */
	if (e->cut_right && !e->around && pr_flags(pr, b, &nf))
		kl = 1;
	after = set->count + kf + kl;
	if (over_limit(set, after) && !set->merge)
		return MAPPING_ERR_NO_MEMORY;
	if (!memory_set_tree_reserve(set, memory_set_edit_need(e, kf, kl)))
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
		err = split_right(e);
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

/* protect over a begun edit. */
static enum mapping_error protect_edit(struct ms_protect *pr)
{
	struct ms_edit *e = &pr->e;
	struct ms_cursor w;
	enum mapping_error err;
	bool changed = false;
	uint64_t i;

	err = protect_plan(pr);
	if (err != MAPPING_OK || e->k == 0)
		return err;

	/* Page table first, tree untouched, so a failure can be undone. */
	cur_copy(&w, &e->at);
	for (i = 0; i < e->k; i++, cur_next(&w)) {
		const struct memory_area *a = cur_area(&w);
		uint64_t nf, ps, psize;

		if (!pr_flags(pr, a, &nf))
			continue;
		changed = true;
		piece_of(e, a, &ps, &psize);
		err = a->backend.ops->protect(a->backend.data, ps, psize,
					      a->flags, nf, pr->page_table);
		if (err != MAPPING_OK) {
			protect_rollback(pr, &w);
			cur_copy(&e->at, &w);
			memory_set_edit_merge(e, e->s, e->t);
			return err;
		}
	}
	/* Nothing changes: no merges either (as Linux's mprotect_fixup()). */
	if (!changed)
		return MAPPING_OK;
	/* Commit: every change lands, in one walk; a cut inserts the parts
	 * after the area, and the walk goes on past them. */
	memory_set_edit_write(e);
	for (i = 0; i < e->k; i++) {
		uint64_t nf;

		if (i > 0)
			cur_next(&e->at);
		if (pr_flags(pr, cur_area(&e->at), &nf))
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

enum mapping_error memory_set_protect(struct memory_set *set, uint64_t start,
				      uint64_t size,
				      memory_set_update_fn update, void *ctx,
				      void *page_table)
{
	struct ms_protect pr;

	if (!update || !range_ok(set, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (size == 0)
		return MAPPING_OK;
	protect_begin(&pr, set, start, size, update, ctx, page_table);
	return protect_end(&pr, protect_edit(&pr));
}

/* ---- Strict ranges and plain flags ------------------------------------ */

/*
 * Does every byte of [start, start+size) lie in an area with every bit of
 * mask? size > 0 and the range inside the space. O(log n + k).
 */
static bool range_covered(const struct memory_set *set, uint64_t start,
			  uint64_t size, uint64_t mask)
{
	uint64_t t = start + (size - 1), cur = start;
	struct ms_cursor c;

	memory_set_tree_descend(set, start, &c);
	if (!cur_first_from(&c, start))
		return false;
	do {
		const struct memory_area *a = cur_area(&c);

		if (a->start > cur || (a->flags & mask) != mask)
			return false;
		if (area_last(a) >= t)
			return true;
		cur = area_last(a) + 1;
	} while (cur_next(&c));
	return false;
}

/* Do the areas the edit met cover its whole range, without a hole? */
static bool edit_covered(const struct ms_edit *e)
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

enum mapping_error memory_set_can_access(const struct memory_set *set,
					 uint64_t start, uint64_t size,
					 uint64_t mask)
{
	if (size && size - 1 > U64_MAX - start)
		return MAPPING_ERR_INVALID_PARAM;
	if (size == 0)
		return MAPPING_OK;
	if (set->lockless ?
		    memory_set_lockless_covered(set, start, start + (size - 1),
						mask) :
		    range_covered(set, start, size, mask))
		return MAPPING_OK;
	return MAPPING_ERR_BAD_STATE;
}

enum mapping_error memory_set_unmap_strict(struct memory_set *set,
					   uint64_t start, uint64_t size,
					   void *page_table)
{
	struct ms_edit e;
	enum mapping_error err;

	if (!range_ok(set, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (size == 0)
		return MAPPING_OK;
	memory_set_edit_begin(&e, set, start, start + (size - 1));
	if (!edit_covered(&e))
		return MAPPING_ERR_NO_MEMORY;
	err = unmap_edit(&e, page_table);
	memory_set_edit_finish(&e);
	return err;
}

enum mapping_error memory_set_protect_strict(struct memory_set *set,
					     uint64_t start, uint64_t size,
					     memory_set_update_fn update,
					     void *ctx, void *page_table)
{
	struct ms_protect pr;

	if (!update || !range_ok(set, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (size == 0)
		return MAPPING_OK;
	protect_begin(&pr, set, start, size, update, ctx, page_table);
	if (!edit_covered(&pr.e))
		return MAPPING_ERR_NO_MEMORY;
	return protect_end(&pr, protect_edit(&pr));
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

	return memory_set_protect(set, start, size, mask_update, &m,
				  page_table);
}

enum mapping_error memory_set_protect_flags_strict(struct memory_set *set,
						   uint64_t start,
						   uint64_t size,
						   uint64_t flags,
						   uint64_t mask,
						   void *page_table)
{
	struct ms_mask m = { flags, mask };

	return memory_set_protect_strict(set, start, size, mask_update, &m,
					 page_table);
}

/* ---- Page faults ------------------------------------------------------ */

/* The fault() hook of area a, or the default rule. */
static enum mapping_error fault_in(const struct memory_area *a, uint64_t addr,
				   uint64_t access, void *page_table)
{
	const struct mapping_backend_ops *o = a->backend.ops;
	uint64_t need = access & (MAPPING_ACCESS_USER - 1);

	if (has_v2(o) && o->fault)
		return o->fault(a->backend.data, a, addr, access, page_table);
	return (a->flags & need) == need ? MAPPING_OK :
					   MAPPING_ERR_ACCESS_DENIED;
}

enum mapping_error memory_set_handle_fault(const struct memory_set *set,
					   uint64_t addr, uint64_t access,
					   void *page_table,
					   const struct memory_area **area)
{
	const struct memory_area *a = memory_set_find(set, addr);

	if (area)
		*area = a;
	if (!a)
		return MAPPING_ERR_BAD_STATE;
	return fault_in(a, addr, access, page_table);
}

enum mapping_error memory_set_handle_fault_copy(const struct memory_set *set,
						uint64_t addr, uint64_t access,
						void *page_table,
						struct memory_area *copy)
{
	struct memory_area a;

	if (!memory_set_find_copy(set, addr, &a))
		return MAPPING_ERR_BAD_STATE;
	if (copy)
		*copy = a;
	return fault_in(&a, addr, access, page_table);
}

/* ---- Remap ------------------------------------------------------------ */

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
		err = unmap_edit(&u, page_table);
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

	*hl = left_of(set, &mv->old, mv->ns, l);
	if (*hl && find_near(set, &mv->old, mv->ns - 1) == a &&
	    mv->ns - 1 >= mv->s) {
		/* Target above the old range inside a: ap's part past ol. */
		*hl = mv->ns - 1 > mv->ol;
		l->start = mv->ol + 1;
		l->size = mv->ns - 1 - mv->ol;
		l->backend.data = mv->rest.data;
	}
	*hr = right_of(set, &mv->old, mv->nt, mv->e.right.data, r);
	if (*hr && find_near(set, &mv->old, mv->nt + 1) == a &&
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
		err = split_right(e);
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
		after -= merges_around(hl ? &l : NULL, &n, hr ? &r : NULL);
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
		err = unmap_pieces(&mv.e, page_table);
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

/* ---- Duplicate -------------------------------------------------------- */

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
