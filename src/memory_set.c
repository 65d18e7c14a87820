/*
 * memory_set: a set of non-overlapping memory areas over a B+tree.
 *
 * Every mutation runs in phases: validate the arguments, reserve every node
 * and every split() result the operation may need, call the page-table
 * hooks, then commit a tree change that cannot fail. Tree changes use only
 * nodes reserved beforehand, and removals never allocate, so a failure of
 * the allocator or of a hook leaves the tree as the page table is.
 */
#include <stddef.h>
#include <string.h>

#include "tree.h"

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

/*
 * With merging on, join touching mergeable areas among those meeting
 * [lo, hi] and their neighbours on each side.
 */
static void merge_window(struct memory_set *set, uint64_t lo, uint64_t hi)
{
	struct ms_pos at;

	if (!set->merge || !memory_set_tree_first_from(set, lo ? lo - 1 : 0, &at))
		return;
	for (;;) {
		struct memory_area *a = at_area(&at), grown;
		struct ms_pos nx = at;
		uint64_t first_gone;

		if (a->start > hi || !step(&nx))
			return;
		if (!memory_set_mergeable(a, at_area(&nx))) {
			at = nx;
			continue;
		}
		/* Grow a copy over the whole run, then commit it at once. */
		write_begin(set);
		grown = *a;
		first_gone = at_area(&nx)->start;
		do {
			grown.size += at_area(&nx)->size;
		} while (step(&nx) && memory_set_mergeable(&grown, at_area(&nx)));
		st64(&a->size, grown.size);
		memory_set_tree_propagate(&at.l->h);
		memory_set_tree_remove_range(set, first_gone, area_last(a));
		if (!memory_set_tree_first_from(set, grown.start, &at))
			return;
	}
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

/* Data for the part of area a from offset off on (split() or shared). */
static enum mapping_error split_data(const struct memory_area *a, uint64_t off,
				     void **out)
{
	*out = a->backend.data;
	if (!a->backend.ops->split)
		return MAPPING_OK;
	return a->backend.ops->split(a->backend.data, a->start, a->size, off,
				     out);
}

/* Drop data that split() made for a part the operation did not keep. */
static void drop_data(const struct memory_area *a, void *data, uint64_t start,
		      uint64_t size)
{
	if (a->backend.ops->split && a->backend.ops->release)
		a->backend.ops->release(data, start, size);
}

/*
 * Spare nodes to keep: one per 32 in use, up to MS_SPARE_KEEP. A small
 * address space (most processes) wastes little on them; a large one, whose
 * splits come often, rarely calls the allocator.
 */
static unsigned spare_keep(const struct memory_set *set)
{
	uint64_t k = 1 + set->nodes / 32;

	return (unsigned)(k > MS_SPARE_KEEP ? MS_SPARE_KEEP : k);
}

static void after_mutation(struct memory_set *set)
{
	write_end(set);
	memory_set_tree_trim_to(set, spare_keep(set));
#ifdef MEMORY_SET_DEBUG_CHECK
	/* O(n): only where asked, even when MEMORY_SET_ASSERT is the caller's. */
	MEMORY_SET_ASSERT(memory_set_check(set) == NULL);
#endif
}

static bool has_v2(const struct mapping_backend_ops *o)
{
	return o->version >= 2;
}

/* ---- Area limit ------------------------------------------------------- */

/*
 * Leaving `after` areas breaks the limit only when the operation adds areas
 * and passes it. Operations first bound `after` from above without merges;
 * only when that bound breaks the limit with merging on do they count the
 * merges exactly, once the split() data that can_merge() may look at exists.
 */
static bool over_limit(const struct memory_set *set, uint64_t after)
{
	return set->max_areas && after > set->count && after > set->max_areas;
}

/* Areas lying wholly inside [s, t]. O(log n + k). */
static uint64_t count_inside(const struct memory_set *set, uint64_t s,
			     uint64_t t)
{
	struct ms_pos at;
	uint64_t n = 0;

	if (!memory_set_tree_first_from(set, s, &at))
		return 0;
	do {
		const struct memory_area *a = at_area(&at);

		if (a->start > t)
			break;
		if (a->start >= s && area_last(a) <= t)
			n++;
	} while (step(&at));
	return n;
}

/*
 * Merges that merge_window() makes once n lands between l and r (either may
 * be NULL): the run grows from the left, keeping the left area's data.
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

/* The area that ends at s - 1 once everything from s on is cut away. */
static bool left_of(const struct memory_set *set, uint64_t s,
		    struct memory_area *out)
{
	const struct memory_area *x;

	if (s == 0 || !(x = memory_set_find(set, s - 1)))
		return false;
	*out = *x;
	out->size = s - x->start;
	return true;
}

/* The area that starts at t + 1 once everything up to t is cut away; a part
 * cut off an area gets rdata. */
static bool right_of(const struct memory_set *set, uint64_t t, void *rdata,
		     struct memory_area *out)
{
	const struct memory_area *y;

	if (t == U64_MAX || !(y = memory_set_find(set, t + 1)))
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

void memory_set_destroy(struct memory_set *set)
{
	if (!set || !set->alloc)
		return;
	if (set->root)
		memory_set_tree_free_subtree(set, set->root, true);
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
	set->merge = on;
	merge_window(set, 0, U64_MAX);
	after_mutation(set);
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
 * Area a of leaf l starts in [s, t] and may reach past t: then cut away its
 * part up to t (its data becomes rdata) and return true.
 */
static bool trim_front(struct ms_leaf *l, struct memory_area *a, uint64_t s,
		       uint64_t t, void *rdata)
{
	uint64_t cut;

	if (a->start < s || area_last(a) <= t)
		return false;
	cut = t + 1 - a->start;
	drop_data(a, a->backend.data, a->start, cut);
	MS_STORE(&a->backend.data, rdata);
	st64(&a->start, t + 1);
	st64(&a->size, a->size - cut);
	memory_set_tree_propagate(&l->h);
	return true;
}

/*
 * Where an area starting at s goes: just after the last area starting
 * before s. Cutting areas in place never moves that slot to another leaf.
 */
static struct ms_leaf *insert_pos(const struct memory_set *set, uint64_t s,
				  unsigned *pos)
{
	*pos = 0;
	if (!set->root)
		return NULL;
	if (s == 0)
		return memory_set_tree_leftmost(set->root);
	return memory_set_tree_locate(set, s - 1, pos);
}

/*
 * Where [s, t] meets the set, found with one descent: what unmap and map
 * carry through their phases while the tree does not change.
 */
struct ms_span {
	struct ms_leaf *slot;	   /* a new area at s goes at slot pos of it */
	unsigned pos;
	bool any;		   /* an area meets [s, t]; then: */
	struct ms_pos at;	   /* the first one */
	struct ms_leaf *tl;	   /* the last one starting at or before t, */
	struct memory_area *last;  /* in leaf tl */
	struct memory_area *past;  /* last, if it reaches past t; else NULL */
};

static void find_span(const struct memory_set *set, uint64_t s, uint64_t t,
		      struct ms_span *sp)
{
	struct memory_area *a;
	unsigned pos;

	sp->any = false;
	sp->past = NULL;
	sp->slot = insert_pos(set, s, &sp->pos);
	if (!sp->slot)
		return;
	sp->at.l = sp->slot;
	sp->at.i = sp->pos;
	if (sp->pos > 0 && area_last(&sp->slot->a[sp->pos - 1]) >= s) {
		sp->at.i--;
	} else if (sp->pos == sp->slot->h.count) {
		sp->at.l = memory_set_tree_next_leaf(sp->slot);
		sp->at.i = 0;
		if (!sp->at.l)
			return;
	}
	a = at_area(&sp->at);
	if (a->start > t)
		return;
	sp->any = true;
	/* The last area starting at or before t: the first, if it reaches t. */
	if (area_last(a) >= t) {
		sp->tl = sp->at.l;
	} else {
		sp->tl = memory_set_tree_locate(set, t, &pos);
		a = &sp->tl->a[pos - 1];
	}
	sp->last = a;
	if (area_last(a) > t)
		sp->past = a;
}

/*
 * Remove [s, t] from the tree (the page table no longer maps it); *sp is
 * its span, found while the tree was as it is, and meets an area. rdata is
 * the data for the part of an area reaching past t, made by split_data().
 * With fill, the first area lying wholly inside the range is overwritten
 * with *fill (which starts at s) instead of being removed. Needs one
 * reserved node when an area lies around the range; removals need none.
 */
static void cut_range(struct memory_set *set, const struct ms_span *sp,
		      uint64_t s, uint64_t t, void *rdata,
		      const struct memory_area *fill)
{
	struct ms_pos at = sp->at;
	struct memory_area *a = at_area(&at);

	MEMORY_SET_ASSERT(sp->any);
	write_begin(set);
	if (a->start < s) {
		if (area_last(a) > t) {
			/* Around: keep [a->start, s) and (t, last]. */
			struct memory_area right = *a;

			right.start = t + 1;
			right.size = area_last(a) - t;
			right.backend.data = rdata;
			st64(&a->size, s - a->start);
			/* The insertion brings the summaries up to date. */
			memory_set_tree_leaf_insert(set, at.l, at.i + 1, &right);
			return;
		}
		st64(&a->size, s - a->start);
		memory_set_tree_propagate(&at.l->h);
		if (!step(&at) || (a = at_area(&at))->start > t)
			return;
	}
	/* The last area starting in range may reach past t: keep its end. If
	 * it is the first, nothing else lies in range. */
	if (trim_front(sp->tl, sp->last, s, t, rdata) && sp->last == a)
		return;
	/* The tree's shape has not changed: at still holds the first area
	 * starting in range. */
	if (fill) {
		release_area(a);
		set_area(set->lockless, a, fill);
		memory_set_tree_propagate(&at.l->h);
		if (s < t && step(&at))
			memory_set_tree_remove_from(set, &at, t);
		return;
	}
	memory_set_tree_remove_from(set, &at, t);
}

/*
 * Call the unmap hook for each piece of [s, t], in address order, from the
 * first area of its span *sp. On a failure, take the pieces already
 * unmapped out of the tree, drop rdata (made for rarea) and return the
 * error.
 */
static enum mapping_error unmap_pieces(struct memory_set *set,
				       const struct ms_span *sp, uint64_t s,
				       uint64_t t, void *page_table,
				       void *rdata,
				       const struct memory_area *rarea)
{
	struct ms_pos at = sp->at;

	do {
		const struct memory_area *a = at_area(&at);
		uint64_t ps = a->start > s ? a->start : s;
		uint64_t pl = area_last(a) < t ? area_last(a) : t;
		enum mapping_error err;

		if (a->start > t)
			break;
		err = a->backend.ops->unmap(a->backend.data, ps, pl - ps + 1,
					    page_table);
		if (err != MAPPING_OK) {
			if (rarea)
				drop_data(rarea, rdata, t + 1,
					  area_last(rarea) - t);
			/* The failing piece starts an area, or is the first. */
			if (ps > s) {
				struct ms_span done;

				find_span(set, s, ps - 1, &done);
				if (done.any)
					cut_range(set, &done, s, ps - 1, NULL,
						  NULL);
			}
			return err;
		}
	} while (step(&at));
	return MAPPING_OK;
}

enum mapping_error memory_set_unmap(struct memory_set *set, uint64_t start,
				    uint64_t size, void *page_table)
{
	const struct memory_area *rarea;
	enum mapping_error err = MAPPING_OK;
	struct ms_span sp;
	void *rdata = NULL;
	uint64_t t;

	if (!range_ok(set, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (size == 0)
		return MAPPING_OK;
	t = start + (size - 1);
	find_span(set, start, t, &sp);
	if (!sp.any)
		goto out;
	rarea = sp.past;
	if (rarea) {
		/* Only an area around the range makes one more area. */
		if (rarea->start < start &&
		    (over_limit(set, set->count + 1) ||
		     !memory_set_tree_reserve(set, memory_set_tree_nodes_needed(sp.tl, 1))))
			err = MAPPING_ERR_NO_MEMORY;
		else
			err = split_data(rarea, t + 1 - rarea->start, &rdata);
	}
	if (err == MAPPING_OK)
		err = unmap_pieces(set, &sp, start, t, page_table, rdata,
				   rarea);
	if (err == MAPPING_OK)
		cut_range(set, &sp, start, t, rdata, NULL);
out:
	after_mutation(set);
	return err;
}

/* ---- Map -------------------------------------------------------------- */

enum mapping_error memory_set_map(struct memory_set *set, uint64_t start,
				  uint64_t size, uint64_t flags,
				  const struct mapping_backend *backend,
				  void *page_table, bool unmap_overlap)
{
	struct memory_area na;
	const struct memory_area *rarea = NULL;
	struct ms_span sp;
	struct ms_leaf *l;
	struct ms_pos at;
	uint64_t t, after = 0;
	unsigned pos, k = 1;
	void *rdata = NULL;
	enum mapping_error err = MAPPING_OK;
	bool covered = false, exact = false;

	if (size == 0 || !range_ok(set, start, size) || !backend_ok(backend))
		return MAPPING_ERR_INVALID_PARAM;
	t = start + (size - 1);
	/* One descent finds the slot and what the range meets. */
	find_span(set, start, t, &sp);
	if (sp.any && !unmap_overlap)
		return MAPPING_ERR_ALREADY_EXISTS;
	l = sp.slot;
	pos = sp.pos;

	/*
	 * The new area takes the slot of the first area lying wholly inside
	 * the range when there is one, so the tree never removes and inserts
	 * in one operation and the nodes reserved here always suffice.
	 */
	if (sp.any) {
		at = sp.at;
		if (at_area(&at)->start < start && area_last(at_area(&at)) > t)
			k = 2; /* around */
		else if (at_area(&at)->start >= start || step(&at))
			covered = at_area(&at)->start <= t &&
				  area_last(at_area(&at)) <= t;
		rarea = sp.past;
	}
	na.start = start;
	na.size = size;
	na.flags = flags;
	na.backend = *backend;
	if (over_limit(set, set->count + k)) {
		after = set->count + k;
		if (sp.any)
			after -= count_inside(set, start, t);
		exact = over_limit(set, after);
		if (exact && !set->merge) {
			err = MAPPING_ERR_NO_MEMORY;
			goto out;
		}
	}
	if (!covered &&
	    !memory_set_tree_reserve(set, memory_set_tree_nodes_needed(l, k))) {
		err = MAPPING_ERR_NO_MEMORY;
		goto out;
	}
	if (rarea) {
		err = split_data(rarea, t + 1 - rarea->start, &rdata);
		if (err != MAPPING_OK)
			goto out;
	}
	if (exact) {
		struct memory_area la, ra;
		bool hl = left_of(set, start, &la);
		bool hr = right_of(set, t, rdata, &ra);

		after -= merges_around(hl ? &la : NULL, &na, hr ? &ra : NULL);
		if (over_limit(set, after)) {
			if (rarea)
				drop_data(rarea, rdata, t + 1,
					  area_last(rarea) - t);
			err = MAPPING_ERR_NO_MEMORY;
			goto out;
		}
	}
	if (sp.any) {
		err = unmap_pieces(set, &sp, start, t, page_table, rdata,
				   rarea);
		if (err != MAPPING_OK)
			goto out;
	}
	err = backend->ops->map(backend->data, start, size, flags, page_table);
	if (err != MAPPING_OK) {
		if (sp.any)
			cut_range(set, &sp, start, t, rdata, NULL);
		goto out;
	}
	if (covered) {
		cut_range(set, &sp, start, t, rdata, &na);
	} else {
		if (sp.any) {
			/* Removals may have moved the slot: find it again. */
			cut_range(set, &sp, start, t, rdata, NULL);
			find_span(set, start, t, &sp);
			l = sp.slot;
			pos = sp.pos;
		}
		memory_set_tree_leaf_insert(set, l, pos, &na);
	}
	merge_window(set, start, t);
out:
	after_mutation(set);
	return err;
}

/* ---- Protect ---------------------------------------------------------- */

/* The new flags of area a, if update changes them. */
static bool new_flags(memory_set_update_fn update, void *ctx,
		      const struct memory_area *a, uint64_t *nf)
{
	return update(ctx, a->flags, nf) && *nf != a->flags;
}

struct ms_protect {
	uint64_t s, t;
	memory_set_update_fn update;
	void *ctx;
	void *page_table;
	void *mid;   /* data of [s, ...] cut from the first area */
	void *right; /* data of (t, ...] cut from the area reaching past t */
	const struct memory_area *first, *last; /* areas cut, or NULL */
	struct memory_area first_copy, last_copy;
	uint64_t after; /* areas after the commit, without merges */
	struct ms_pos at; /* the first area meeting [s, t], found by the plan */
	bool any;         /* an area meets [s, t] */
};

/* Give the piece of the area at *at inside [s, t] the flags nf in the tree. */
static void protect_commit(struct memory_set *set, struct ms_protect *pr,
			       struct ms_pos *at, uint64_t nf)
{
	struct memory_area *a = at_area(at), piece, rest;
	uint64_t last = area_last(a);
	bool cut_left = a->start < pr->s, cut_right = last > pr->t;

	write_begin(set);
	if (!cut_left && !cut_right) {
		st64(&a->flags, nf);
		return;
	}
	rest = *a;
	rest.start = pr->t + 1;
	rest.size = last - pr->t;
	rest.backend.data = pr->right;
	if (cut_left) {
		piece = *a;
		piece.start = pr->s;
		piece.size = (cut_right ? pr->t : last) - pr->s + 1;
		piece.flags = nf;
		piece.backend.data = pr->mid;
		/* The insertions bring the summaries up to date. */
		st64(&a->size, pr->s - a->start);
		if (cut_right) {
			memory_set_tree_leaf_insert2(set, at->l, at->i + 1,
						     &piece, &rest);
			pr->right = NULL;
			pr->last = NULL;
		} else {
			memory_set_tree_leaf_insert(set, at->l, at->i + 1,
						    &piece);
		}
		pr->mid = NULL;
		pr->first = NULL;
		return;
	}
	st64(&a->size, pr->t - a->start + 1);
	st64(&a->flags, nf);
	memory_set_tree_leaf_insert(set, at->l, at->i + 1, &rest);
	pr->right = NULL;
	pr->last = NULL;
}

/* Drop the split() results the commit did not use. */
static void protect_drop(struct ms_protect *pr)
{
	if (pr->last)
		drop_data(&pr->last_copy, pr->right, pr->t + 1,
			  area_last(&pr->last_copy) - pr->t);
	if (pr->first) {
		uint64_t end = area_last(&pr->first_copy);

		drop_data(&pr->first_copy, pr->mid, pr->s,
			  (end < pr->t ? end : pr->t) - pr->s + 1);
	}
}

/* Piece of area a inside [s, t]. */
static void piece_of(const struct ms_protect *pr, const struct memory_area *a,
		     uint64_t *ps, uint64_t *psize)
{
	uint64_t s = a->start > pr->s ? a->start : pr->s;
	uint64_t l = area_last(a) < pr->t ? area_last(a) : pr->t;

	*ps = s;
	*psize = l - s + 1;
}

/* The areas that area a becomes once the protect commits, in order. */
static unsigned protect_pieces(const struct ms_protect *pr,
			       const struct memory_area *a,
			       struct memory_area out[3])
{
	uint64_t nf, last = area_last(a);
	unsigned k = 0;

	out[0] = *a;
	if (a->start > pr->t || last < pr->s ||
	    !new_flags(pr->update, pr->ctx, a, &nf))
		return 1;
	if (a->start < pr->s) {
		out[k].size = pr->s - a->start;
		out[++k] = *a;
		out[k].backend.data = pr->mid;
	}
	piece_of(pr, a, &out[k].start, &out[k].size);
	out[k].flags = nf;
	if (last > pr->t) {
		out[++k] = *a;
		out[k].start = pr->t + 1;
		out[k].size = last - pr->t;
		out[k].backend.data = pr->right;
	}
	return k + 1;
}

/*
 * Areas once the protect commits and merge_window() runs: the areas from
 * the one before s to the one at t + 1 are replaced by their pieces, and a
 * run of mergeable pieces that starts at or below t becomes one. O(k).
 */
static uint64_t protect_count(const struct memory_set *set,
			      const struct ms_protect *pr)
{
	struct memory_area run, pc[3];
	struct ms_pos at;
	uint64_t gone = 0, made = 0;
	bool have = false;

	if (!memory_set_tree_first_from(set, pr->s ? pr->s - 1 : 0, &at))
		return set->count;
	do {
		const struct memory_area *a = at_area(&at);
		unsigned i, n;

		if (a->start > pr->t && (pr->t == U64_MAX || a->start > pr->t + 1))
			break;
		gone++;
		n = protect_pieces(pr, a, pc);
		for (i = 0; i < n; i++) {
			made++;
			if (have && run.start <= pr->t && memory_set_mergeable(&run, &pc[i])) {
				run.size += pc[i].size;
				made--;
			} else {
				run = pc[i];
				have = true;
			}
		}
	} while (step(&at));
	return set->count - gone + made;
}

/* Reserve nodes and make the data of the parts cut at s and past t. */
static enum mapping_error protect_plan(struct memory_set *set,
				       struct ms_protect *pr)
{
	struct ms_pos at;
	struct ms_leaf *l, *fl = NULL, *ll = NULL;
	const struct memory_area *a, *b;
	unsigned pos, need = 0, kf = 0;
	uint64_t nf;
	enum mapping_error err;

	pr->first = pr->last = NULL;
	pr->mid = pr->right = NULL;
	pr->any = memory_set_tree_first_from(set, pr->s, &pr->at) &&
		  at_area(&pr->at)->start <= pr->t;
	if (!pr->any)
		return MAPPING_OK;
	at = pr->at;
	a = at_area(&at);
	if (a->start < pr->s && new_flags(pr->update, pr->ctx, a, &nf)) {
		kf = area_last(a) > pr->t ? 2 : 1;
		fl = at.l;
		need += memory_set_tree_nodes_needed(fl, kf);
	}
	/* The area at t: the first one, when it reaches t (the usual case). */
	if (area_last(a) >= pr->t) {
		l = at.l;
		b = a;
	} else {
		l = memory_set_tree_locate(set, pr->t, &pos);
		b = &l->a[pos - 1];
	}
	if (kf != 2 && area_last(b) > pr->t &&
	    (b != a || a->start >= pr->s) &&
	    new_flags(pr->update, pr->ctx, b, &nf)) {
		ll = l;
		/* Two cuts in one leaf: count them together. */
		need = ll == fl ? memory_set_tree_nodes_needed(ll, kf + 1) :
				  need + memory_set_tree_nodes_needed(ll, 1);
	}
	pr->after = set->count + kf + (ll != NULL);
	if (over_limit(set, pr->after) && !set->merge)
		return MAPPING_ERR_NO_MEMORY;
	if (!memory_set_tree_reserve(set, need))
		return MAPPING_ERR_NO_MEMORY;
	if (fl) {
		err = split_data(a, pr->s - a->start, &pr->mid);
		if (err != MAPPING_OK)
			return err;
		pr->first = a;
		pr->first_copy = *a;
		if (kf == 2) {
			struct memory_area m = *a;

			m.start = pr->s;
			m.size = area_last(a) - pr->s + 1;
			m.backend.data = pr->mid;
			err = split_data(&m, pr->t + 1 - pr->s, &pr->right);
			if (err != MAPPING_OK) {
				protect_drop(pr);
				return err;
			}
			pr->last = a;
			pr->last_copy = m;
		}
	}
	if (ll) {
		err = split_data(b, pr->t + 1 - b->start, &pr->right);
		if (err != MAPPING_OK) {
			protect_drop(pr);
			return err;
		}
		pr->last = b;
		pr->last_copy = *b;
	}
	if (over_limit(set, pr->after) &&
	    over_limit(set, protect_count(set, pr))) {
		protect_drop(pr);
		return MAPPING_ERR_NO_MEMORY;
	}
	return MAPPING_OK;
}

/*
 * Change back, in reverse order, the pieces before the area at *fail. A
 * piece whose change back fails keeps its new flags, in the tree too.
 */
static void protect_rollback(struct memory_set *set, struct ms_protect *pr,
			     struct ms_pos fail)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	uint64_t stop = at_area(&fail)->start;

	it.set = set;
	it.leaf = fail.l;
	it.index = fail.i;
	while ((a = memory_set_iter_prev(&it)) != NULL &&
	       area_last(a) >= pr->s) {
		uint64_t nf, ps, psize;

		if (!new_flags(pr->update, pr->ctx, a, &nf))
			continue;
		piece_of(pr, a, &ps, &psize);
		if (a->backend.ops->protect(a->backend.data, ps, psize, nf,
					    a->flags, pr->page_table) ==
		    MAPPING_OK)
			continue;
		/* Keep this piece changed: commit it, then find our place. */
		{
			struct ms_pos at;
			uint64_t back = a->start;

			memory_set_tree_first_from(set, ps, &at);
			pr->t = stop - 1;
			protect_commit(set, pr, &at, nf);
			if (back == 0 || !memory_set_tree_first_from(set, back, &at))
				break;
			it.leaf = at.l;
			it.index = at.i;
		}
	}
}

enum mapping_error memory_set_protect(struct memory_set *set, uint64_t start,
				      uint64_t size,
				      memory_set_update_fn update, void *ctx,
				      void *page_table)
{
	struct ms_protect pr;
	struct ms_pos at;
	enum mapping_error err;
	bool changed = false;

	if (!update || !range_ok(set, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (size == 0)
		return MAPPING_OK;
	pr.s = start;
	pr.t = start + (size - 1);
	pr.update = update;
	pr.ctx = ctx;
	pr.page_table = page_table;
	err = protect_plan(set, &pr);
	if (err != MAPPING_OK)
		goto out;

	/* Page table first, tree untouched, so a failure can be undone. The
	 * tree has not changed since the plan found the first area. */
	at = pr.at;
	if (pr.any) {
		do {
			const struct memory_area *a = at_area(&at);
			uint64_t nf, ps, psize;

			if (a->start > pr.t)
				break;
			if (!new_flags(update, ctx, a, &nf))
				continue;
			changed = true;
			piece_of(&pr, a, &ps, &psize);
			err = a->backend.ops->protect(a->backend.data, ps, psize,
						      a->flags, nf, page_table);
			if (err != MAPPING_OK) {
				uint64_t t = pr.t;

				protect_rollback(set, &pr, at);
				pr.t = t;
				protect_drop(&pr);
				merge_window(set, pr.s, pr.t);
				goto out;
			}
		} while (step(&at));
	}

	/* Nothing changes: no merges either (as Linux's mprotect_fixup()). */
	if (!changed) {
		protect_drop(&pr);
		goto out;
	}
	/* Commit: every change lands; a cut inserts, so then find our place
	 * anew. */
	at = pr.at;
	for (;;) {
		struct memory_area *a = at_area(&at);
		uint64_t nf, last = area_last(a);

		if (a->start > pr.t)
			break;
		if (new_flags(update, ctx, a, &nf)) {
			write_begin(set);
			if (a->start >= pr.s && last <= pr.t) {
				st64(&a->flags, nf);
			} else {
				protect_commit(set, &pr, &at, nf);
				/* An area cut at t is the range's last. */
				if (last >= pr.t ||
				    !memory_set_tree_first_from(set, last + 1, &at))
					break;
				continue;
			}
		}
		if (!step(&at))
			break;
	}
	protect_drop(&pr);
	merge_window(set, pr.s, pr.t);
out:
	after_mutation(set);
	return err;
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
	struct ms_pos at;

	if (!memory_set_tree_first_from(set, start, &at))
		return false;
	do {
		const struct memory_area *a = at_area(&at);

		if (a->start > cur || (a->flags & mask) != mask)
			return false;
		if (area_last(a) >= t)
			return true;
		cur = area_last(a) + 1;
	} while (step(&at));
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
	if (!range_ok(set, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (size && !range_covered(set, start, size, 0))
		return MAPPING_ERR_NO_MEMORY;
	return memory_set_unmap(set, start, size, page_table);
}

enum mapping_error memory_set_protect_strict(struct memory_set *set,
					     uint64_t start, uint64_t size,
					     memory_set_update_fn update,
					     void *ctx, void *page_table)
{
	if (!update || !range_ok(set, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (size && !range_covered(set, start, size, 0))
		return MAPPING_ERR_NO_MEMORY;
	return memory_set_protect(set, start, size, update, ctx, page_table);
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

enum mapping_error memory_set_remap(struct memory_set *set, uint64_t start,
				    uint64_t size, uint64_t new_size,
				    void *page_table)
{
	const struct memory_area *a;
	struct ms_leaf *l;
	uint64_t ol, grow;
	unsigned pos;
	enum mapping_error err;

	if (!size || !new_size || !range_ok(set, start, size) ||
	    !range_ok(set, start, new_size))
		return MAPPING_ERR_INVALID_PARAM;
	ol = start + (size - 1);
	a = memory_set_find(set, start);
	if (!a || area_last(a) < ol)
		return MAPPING_ERR_BAD_STATE;
	if (new_size == size)
		return MAPPING_OK;
	if (new_size < size)
		return memory_set_unmap(set, start + new_size, size - new_size,
					page_table);
	/* Growing never adds an area, so the limit cannot be in the way. */
	grow = new_size - size;
	if (area_last(a) != ol || memory_set_overlaps(set, ol + 1, grow))
		return MAPPING_ERR_NO_MEMORY;
	err = a->backend.ops->map(a->backend.data, ol + 1, grow, a->flags,
				  page_table);
	if (err != MAPPING_OK)
		return err;
	l = memory_set_tree_locate(set, start, &pos);
	write_begin(set);
	st64(&l->a[pos - 1].size, l->a[pos - 1].size + grow);
	memory_set_tree_propagate(&l->h);
	merge_window(set, start, ol + grow);
	after_mutation(set);
	return MAPPING_OK;
}

/*
 * Take [s, e] out of the one area holding it; a part after e gets rdata.
 * With keep the data of a removed start moves to another area, so it is not
 * released. Needs one reserved node when parts stay on both sides.
 */
static void remove_piece(struct memory_set *set, uint64_t s, uint64_t e,
			 void *rdata, bool keep)
{
	struct memory_area *a;
	struct ms_leaf *l;
	unsigned pos;
	uint64_t last;

	write_begin(set);
	l = memory_set_tree_locate(set, s, &pos);
	a = &l->a[pos - 1];
	last = area_last(a);
	if (a->start < s) {
		struct memory_area right = *a;

		st64(&a->size, s - a->start);
		memory_set_tree_propagate(&l->h);
		if (last > e) {
			right.start = e + 1;
			right.size = last - e;
			right.backend.data = rdata;
			memory_set_tree_leaf_insert(set, l, pos, &right);
		}
		return;
	}
	if (last > e) {
		if (!keep)
			drop_data(a, a->backend.data, a->start, e + 1 - a->start);
		MS_STORE(&a->backend.data, rdata);
		st64(&a->size, a->size - (e + 1 - a->start));
		st64(&a->start, e + 1);
		memory_set_tree_propagate(&l->h);
		return;
	}
	if (!keep)
		release_area(a);
	move_areas(set->lockless, a, a + 1, l->h.count - pos);
	set_count(&l->h, l->h.count - 1u);
	set->count--;
	memory_set_tree_rebalance(set, &l->h);
}

/*
 * A move, planned: the old range [s, ol] lies in area ap as the area will
 * be once the target [ns, nt] is cut; the split() data made for it.
 */
struct ms_move {
	uint64_t s, ol, ns, nt, size, new_size;
	bool target;                /* areas lie in [ns, nt] */
	struct memory_area ap;      /* the old range's area after the target cut */
	const struct memory_area *rarea; /* that area in the tree, or NULL */
	void *rdata; /* its part past nt */
	void *mid;   /* the moved area's */
	void *right; /* ap's part past ol */
	bool made_mid, made_right;
};

/* Drop the split() results not handed to an area. */
static void move_drop(struct ms_move *mv)
{
	if (mv->made_right)
		drop_data(&mv->ap, mv->right, mv->ol + 1, area_last(&mv->ap) - mv->ol);
	if (mv->made_mid)
		drop_data(&mv->ap, mv->mid, mv->s, mv->ol - mv->s + 1);
	mv->made_mid = mv->made_right = false;
}

/* Leaves that the move inserts into, for the node reservation. */
static unsigned move_nodes(const struct memory_set *set,
			   const struct ms_move *mv, const struct memory_area *a)
{
	struct ms_leaf *leaf[4];
	unsigned k[4], n = 0, i, j, need = 0, splits = 0, pos, add;

	if (mv->rarea && mv->rarea->start < mv->ns) {
		leaf[n] = memory_set_tree_locate(set, mv->rarea->start, &pos);
		k[n++] = 1;
	}
	/* Parts of ap stay on both sides of the old range, or of its tail. */
	if (area_last(&mv->ap) > mv->ol &&
	    (mv->ap.start < mv->s || mv->new_size < mv->size)) {
		leaf[n] = memory_set_tree_locate(set, a->start, &pos);
		k[n++] = 1;
	}
	leaf[n] = insert_pos(set, mv->ns, &pos);
	k[n++] = 1;
	/*
	 * The new area goes after the last area before ns that stays. If that
	 * is the old range's area and it leaves whole, the slot moves to the
	 * leaf of the area before it; it stays where it is when a failed
	 * default move leaves the area at both places.
	 */
	if (pos > 0 && leaf[n - 1]->a[pos - 1].start == a->start &&
	    mv->ap.start == mv->s && area_last(&mv->ap) == mv->ol &&
	    a->start > 0) {
		leaf[n] = memory_set_tree_locate(set, a->start - 1, &pos);
		k[n++] = 1;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < i && leaf[j] != leaf[i]; j++)
			;
		if (j < i) {
			k[j] += k[i];
			k[i] = 0;
		}
	}
	for (i = 0; i < n; i++) {
		if (!k[i])
			continue;
		add = memory_set_tree_nodes_needed(leaf[i], k[i]);
		need += add;
		splits += add > 0;
	}
	/* nodes_needed() lets each inner node take two new children. */
	if (splits > 2)
		need += set->height + 1;
	return need;
}

/*
 * The areas that will end at ns - 1 and start at nt + 1 once the move is
 * done, for counting merges. a is the old range's area, still whole.
 */
static void move_neighbours(const struct memory_set *set,
			    const struct ms_move *mv,
			    const struct memory_area *a,
			    struct memory_area *l, bool *hl,
			    struct memory_area *r, bool *hr)
{
	*hl = left_of(set, mv->ns, l);
	if (*hl && memory_set_find(set, mv->ns - 1) == a &&
	    mv->ns - 1 >= mv->s) {
		/* Target above the old range inside a: ap's part past ol. */
		*hl = mv->ns - 1 > mv->ol;
		l->start = mv->ol + 1;
		l->size = mv->ns - 1 - mv->ol;
		l->backend.data = mv->right;
	}
	*hr = right_of(set, mv->nt, mv->rdata, r);
	if (*hr && memory_set_find(set, mv->nt + 1) == a &&
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
	enum mapping_error err;

	*left = MOVE_UNDONE;
	if (has_v2(o) && o->move)
		return o->move(mv->mid, mv->s, mv->ns, n, mv->ap.flags,
			       page_table);
	if (o->split && !mv->made_mid) {
		err = o->unmap(mv->mid, mv->s, n, page_table);
		if (err != MAPPING_OK)
			return err;
		err = o->map(mv->mid, mv->ns, n, mv->ap.flags, page_table);
		if (err != MAPPING_OK &&
		    o->map(mv->mid, mv->s, n, mv->ap.flags, page_table) !=
			    MAPPING_OK)
			*left = MOVE_NEITHER;
		return err;
	}
	err = o->map(mv->mid, mv->ns, n, mv->ap.flags, page_table);
	if (err != MAPPING_OK)
		return err;
	err = o->unmap(mv->ap.backend.data, mv->s, n, page_table);
	if (err != MAPPING_OK &&
	    o->unmap(mv->mid, mv->ns, n, page_table) != MAPPING_OK)
		*left = MOVE_BOTH;
	return err;
}

static enum mapping_error move_plan(struct memory_set *set,
				    struct ms_move *mv,
				    const struct memory_area *a)
{
	struct ms_span sp;
	uint64_t after;
	bool exact;
	enum mapping_error err;

	mv->ap = *a;
	find_span(set, mv->ns, mv->nt, &sp);
	mv->target = sp.any;
	mv->rarea = sp.past;
	mv->rdata = mv->mid = mv->right = NULL;
	mv->made_mid = mv->made_right = false;
	if (a->start <= mv->nt && mv->ns <= area_last(a)) {
		/* The target cuts a too, on one side of the old range. */
		if (mv->nt < mv->s) {
			mv->ap.start = mv->nt + 1;
			mv->ap.size = area_last(a) - mv->nt;
		} else {
			mv->ap.size = mv->ns - a->start;
		}
	}
	after = set->count + 1 + (mv->rarea && mv->rarea->start < mv->ns) +
		(mv->ap.start < mv->s) + (area_last(&mv->ap) > mv->ol) - 1;
	exact = false;
	if (over_limit(set, after)) {
		if (mv->target)
			after -= count_inside(set, mv->ns, mv->nt);
		exact = over_limit(set, after);
		if (exact && !set->merge)
			return MAPPING_ERR_NO_MEMORY;
	}
	if (!memory_set_tree_reserve(set, move_nodes(set, mv, a)))
		return MAPPING_ERR_NO_MEMORY;
	if (mv->rarea) {
		err = split_data(mv->rarea, mv->nt + 1 - mv->rarea->start,
				 &mv->rdata);
		if (err != MAPPING_OK)
			return err;
		if (mv->rarea == a && mv->nt < mv->s)
			mv->ap.backend.data = mv->rdata;
	}
	mv->mid = mv->ap.backend.data;
	if (mv->ap.start < mv->s) {
		err = split_data(&mv->ap, mv->s - mv->ap.start, &mv->mid);
		if (err != MAPPING_OK)
			goto fail;
		mv->made_mid = true;
	}
	if (area_last(&mv->ap) > mv->ol) {
		struct memory_area m = mv->ap;

		m.start = mv->s;
		m.size = area_last(&mv->ap) - mv->s + 1;
		m.backend.data = mv->mid;
		err = split_data(&m, mv->size, &mv->right);
		if (err != MAPPING_OK)
			goto fail;
		mv->made_right = true;
	}
	if (exact) {
		struct memory_area l, r, n = mv->ap;
		bool hl, hr;

		n.start = mv->ns;
		n.size = mv->new_size;
		n.backend.data = mv->mid;
		move_neighbours(set, mv, a, &l, &hl, &r, &hr);
		after -= merges_around(hl ? &l : NULL, &n, hr ? &r : NULL);
		if (over_limit(set, after)) {
			err = MAPPING_ERR_NO_MEMORY;
			goto fail;
		}
	}
	return MAPPING_OK;
fail:
	move_drop(mv);
	if (mv->rarea)
		drop_data(mv->rarea, mv->rdata, mv->nt + 1,
			  area_last(mv->rarea) - mv->nt);
	return err;
}

enum mapping_error memory_set_remap_fixed(struct memory_set *set,
					  uint64_t start, uint64_t size,
					  uint64_t new_size, uint64_t new_start,
					  void *page_table)
{
	const struct memory_area *a;
	const struct mapping_backend_ops *o;
	struct memory_area na;
	struct ms_move mv;
	struct ms_leaf *l;
	unsigned pos;
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
	a = memory_set_find(set, start);
	if (!a || area_last(a) < mv.ol)
		return MAPPING_ERR_BAD_STATE;
	err = move_plan(set, &mv, a);
	if (err != MAPPING_OK)
		goto out;
	o = mv.ap.backend.ops;
	moved = size < new_size ? size : new_size;

	/* 1. The target, as map with unmap_overlap. */
	if (mv.target) {
		struct ms_span sp;

		/* The plan found the target met; the tree has not changed. */
		find_span(set, mv.ns, mv.nt, &sp);
		err = sp.any ? unmap_pieces(set, &sp, mv.ns, mv.nt,
					    page_table, mv.rdata, mv.rarea) :
			       MAPPING_OK;
		if (err != MAPPING_OK) {
			move_drop(&mv);
			goto out;
		}
		if (sp.any)
			cut_range(set, &sp, mv.ns, mv.nt, mv.rdata, NULL);
		write_end(set); /* readers need not wait through the hooks */
	}
	/* 2. The tail of the old range that does not move. */
	if (moved < size) {
		err = o->unmap(mv.ap.backend.data, start + moved, size - moved,
			       page_table);
		if (err != MAPPING_OK) {
			move_drop(&mv);
			goto out;
		}
		remove_piece(set, start + moved, mv.ol, mv.right, false);
		mv.made_right = false;
		write_end(set);
	}
	/* 3. The pages, then 4. the rest of a larger new range. */
	na = mv.ap;
	na.start = new_start;
	na.size = moved;
	na.backend.data = mv.mid;
	err = move_pages(&mv, moved, page_table, &left);
	if (err != MAPPING_OK) {
		if (left == MOVE_BOTH) {
			/* Mapped at both places, so in the set at both. */
			l = insert_pos(set, new_start, &pos);
			memory_set_tree_leaf_insert(set, l, pos, &na);
			mv.made_mid = false;
			merge_window(set, new_start, new_start + (moved - 1));
		} else if (left == MOVE_NEITHER) {
			/* Mapped nowhere: the moved range leaves the set. */
			remove_piece(set, start, start + moved - 1, mv.right,
				     false);
			mv.made_right = false;
		}
		move_drop(&mv);
		goto out;
	}
	if (moved < new_size) {
		err = o->map(mv.mid, new_start + moved, new_size - moved,
			     mv.ap.flags, page_table);
		if (err == MAPPING_OK)
			na.size = new_size; /* else moved, but not grown */
	}
	remove_piece(set, start, start + moved - 1, mv.right, true);
	l = insert_pos(set, new_start, &pos);
	memory_set_tree_leaf_insert(set, l, pos, &na);
	merge_window(set, new_start, new_start + (na.size - 1));
out:
	after_mutation(set);
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
 * A dup failed at the area at fail: undo the areas duplicated before it,
 * last first (unmap() on dst's page table, then release() of the child's
 * data). An area whose unmap fails stays in dst, as the page table still
 * maps it; the others leave dst, and so do the areas never duplicated,
 * which hold src's data (nothing is released for them).
 */
static void dup_undo(struct memory_set *dst, struct ms_pos fail, void *dst_pt)
{
	struct ms_pos at = fail;
	uint64_t hi = U64_MAX; /* the areas from the last kept one on go */
	bool kept = false;

	for (;;) {
		struct memory_set_iter it = { dst, at.l, at.i };
		const struct memory_area *a = memory_set_iter_prev(&it);
		uint64_t s;

		if (!a)
			break;
		at.l = (struct ms_leaf *)it.leaf;
		at.i = it.index;
		if (a->backend.ops->unmap(a->backend.data, a->start, a->size,
					  dst_pt) == MAPPING_OK) {
			release_area(a);
			continue;
		}
		/* a stays: what follows it goes now, then find a again. */
		kept = true;
		s = a->start;
		if (s < hi)
			memory_set_tree_forget_range(dst, s + 1, hi);
		if (s == 0)
			return;
		hi = s - 1;
		memory_set_tree_first_from(dst, s, &at);
	}
	if (kept) {
		memory_set_tree_forget_range(dst, 0, hi);
		return;
	}
	memory_set_tree_free_subtree(dst, dst->root, false);
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
	struct ms_pos at;
	enum mapping_error err;

	if (!dst || !src || dst == src || !dst->alloc || dst->root)
		return MAPPING_ERR_INVALID_PARAM;
	if (src->root) {
		if (!memory_set_tree_reserve_copy(dst, src)) {
			memory_set_tree_unreserve(dst, spare, spare_leaf);
			return MAPPING_ERR_NO_MEMORY;
		}
		write_begin(dst);
		set_root(dst, memory_set_tree_clone_subtree(dst, src->root));
		dst->count = src->count;
		dst->height = src->height;
		memory_set_tree_first_from(dst, 0, &at);
		do {
			err = dup_area(at_area(&at), src_page_table,
				       dst_page_table);
			if (err != MAPPING_OK) {
				/* dst keeps its settings: the areas its undo
				 * could not unmap merge by them. */
				dup_undo(dst, at, dst_page_table);
				merge_window(dst, 0, U64_MAX);
				after_mutation(dst);
				return err;
			}
		} while (step(&at));
	}
	dst->granule = src->granule;
	dst->merge = src->merge;
	dst->max_areas = src->max_areas;
	/* A dup() hook may hand out data that lets touching areas merge. */
	merge_window(dst, 0, U64_MAX);
	after_mutation(dst);
	return MAPPING_OK;
}

/* ---- Clear ------------------------------------------------------------ */

enum mapping_error memory_set_clear(struct memory_set *set, void *page_table)
{
	struct ms_pos at;
	enum mapping_error err = MAPPING_OK;

	if (memory_set_tree_first_from(set, 0, &at)) {
		do {
			const struct memory_area *a = at_area(&at);

			err = a->backend.ops->unmap(a->backend.data, a->start,
						    a->size, page_table);
			if (err != MAPPING_OK) {
				if (a->start > 0)
					memory_set_tree_remove_range(set, 0, a->start - 1);
				goto out;
			}
		} while (step(&at));
	}
	write_begin(set);
	if (set->root)
		memory_set_tree_free_subtree(set, set->root, true);
	set_root(set, NULL);
	set->count = 0;
	set->height = 0;
out:
	after_mutation(set);
	return err;
}
