/*
 * Private: the edit, one change of a memory set carried through its phases
 * (edit.c), shared by the operations (map.c, protect.c, remap.c, dup.c).
 *
 *   begin     validate (the caller's), one descent to the range [s, t],
 *             and the cut classified: which areas meet the range, whether
 *             the first starts before s and the last ends after t
 *   reserve   every node the commit may take, counted in one function
 *             from the cut (memory_set_edit_need()), and the split() data
 *             of the parts that stay; the area limit, from the cut too
 *   hooks     the page-table hooks, piece by piece, from the cursor
 *   commit    the tree change, which cannot fail: nodes were reserved, and
 *             removals take none
 *   finish    readers let in again, the areas the commit removed released
 *             (the dead queue: after the tree is whole, as OpenBSD's
 *             uvm_unmap_remove() defers to its dead entries), split() data
 *             that no area took released, spare nodes trimmed, and the
 *             invariant checker when asked
 *
 * A failure before the commit ends in finish too: nothing changed, and it
 * gives back what reserve made. Only the edit calls the backend's release()
 * and moves the sequence count of lock-free readers; tree.c does neither.
 */
#ifndef MEMORY_SET_EDIT_H
#define MEMORY_SET_EDIT_H

#include "tree.h"

/* ---- Lookups without a lock: the writer's side (docs/concurrency.md) ---- */

static inline _Atomic uint32_t *seq_of(struct memory_set *set)
{
	return (_Atomic uint32_t *)(void *)&set->seq;
}

/*
 * Before the first change to the tree: an odd count tells readers to wait,
 * and the release fence keeps the changes from being seen before it. A
 * single writer, so the plain read of its own count is fine. Idempotent.
 */
static inline void write_begin(struct memory_set *set)
{
	if (set->lockless && !(set->seq & 1)) {
		atomic_store_explicit(seq_of(set), set->seq + 1,
				      memory_order_relaxed);
		atomic_thread_fence(memory_order_release);
	}
}

/* The changes are complete: an even count, released after them. */
static inline void write_end(struct memory_set *set)
{
	if (set->lockless && (set->seq & 1))
		atomic_store_explicit(seq_of(set), set->seq + 1,
				      memory_order_release);
}

/* ---- Validation (the operations' first phase) ------------------------ */

/* A range of the granule, inside the address space (size 0 allowed). */
static inline bool range_ok(const struct memory_set *set, uint64_t start,
			    uint64_t size)
{
	if ((start | size) & (set->granule - 1))
		return false;
	return size == 0 || size - 1 <= U64_MAX - start;
}

/* A backend with the hooks every area needs. */
static inline bool backend_ok(const struct mapping_backend *b)
{
	const struct mapping_backend_ops *o;

	if (!b || !(o = b->ops) || o->version < 1)
		return false;
	return o->map && o->unmap && o->protect;
}

static inline bool has_v2(const struct mapping_backend_ops *o)
{
	return o->version >= 2;
}

/* ---- Data of parts --------------------------------------------------- */

/* The area leaves the set: tell its backend. */
static inline void release_area(const struct memory_area *a)
{
	if (a->backend.ops->release)
		a->backend.ops->release(a->backend.data, a->start, a->size);
}

/*
 * Data that split() made for a part of an area, until an area takes it:
 * released by finish if none did. Without split() the parts share the
 * area's data and there is nothing to release.
 */
struct ms_split {
	const struct mapping_backend_ops *ops;
	void *data;
	uint64_t start, size; /* what release() is told */
	bool made;
};

/*
 * Data for the part of area a from offset off on: split(), or a's own
 * data. *sp then holds it, to be released as [start, start+size) unless an
 * area takes it (memory_set_edit_take()).
 */
enum mapping_error memory_set_edit_split(struct ms_split *sp,
					 const struct memory_area *a,
					 uint64_t off, uint64_t start,
					 uint64_t size);

/* An area takes the data: finish will not release it. */
static inline void *memory_set_edit_take(struct ms_split *sp)
{
	sp->made = false;
	return sp->data;
}

void memory_set_edit_drop_made(struct ms_split *sp);

/* Release the data unless an area took it. */
static inline void memory_set_edit_drop(struct ms_split *sp)
{
	if (sp->made)
		memory_set_edit_drop_made(sp);
}

/* ---- The edit -------------------------------------------------------- */

/* Areas the commit removed, released by finish (or when it is full). */
#define MS_DEAD_MAX 16

struct ms_dead {
	struct memory_area a[MS_DEAD_MAX]; /* the range and data to release */
	unsigned n;
};

struct ms_edit {
	struct memory_set *set;
	uint64_t s, t; /* the range, inclusive */
	/*
	 * The first area meeting [s, t]; without one, the place where an area
	 * starting at s goes. The commits move it, and leave it where they
	 * end.
	 */
	struct ms_cursor at;
	/* The last area meeting [s, t], when it is not the first (k > 1). */
	struct ms_cursor end;
	uint64_t k;     /* areas meeting [s, t] */
	bool cut_left;  /* the first starts before s */
	bool cut_right; /* the last ends after t */
	bool around;    /* one area reaches past both ends */
	struct ms_split right; /* data of the last's part past t */
	struct ms_dead dead;
};

/* The edit of no range: for changes of the whole set. */
void memory_set_edit_init(struct ms_edit *e, struct memory_set *set);
/* begin: the one descent, to s, and the cut of [s, t] classified. */
void memory_set_edit_begin(struct ms_edit *e, struct memory_set *set,
			   uint64_t s, uint64_t t);
/* The same from a cursor c of the set, valid: a second place of one
 * operation, found from the first without a descent. */
void memory_set_edit_begin_at(struct ms_edit *e, struct memory_set *set,
			      const struct ms_cursor *c, uint64_t s,
			      uint64_t t);

/* The last area meeting the range (k > 0). */
static inline struct ms_cursor *edit_last(struct ms_edit *e)
{
	return e->k > 1 ? &e->end : &e->at;
}

/* Areas wholly inside [s, t]. */
static inline uint64_t edit_inside(const struct ms_edit *e)
{
	uint64_t cut = (uint64_t)e->cut_left + e->cut_right;

	return e->k > cut ? e->k - cut : 0;
}

/*
 * The same for k[i] new areas at cursor c[i], i < n (at most 3 places): the
 * counts of places in one leaf are added, and each inner node may receive
 * a child from every place.
 */
unsigned memory_set_edit_need_at(const struct ms_cursor *const c[],
				 const unsigned k[], unsigned n);

/*
 * Nodes the commit may take, from the cut, as the maple tree's
 * mas_prealloc_calc() counts them from a classified store: first new
 * areas go in at the first area's place (or the empty place), last at the
 * last area's (a cut there only: protect), each place costing the levels
 * that may split on its path (memory_set_tree_need()). A single new area
 * costs nothing when its full leaf passes an area to a neighbour: the
 * commits of map, unmap and protect insert before they remove or merge.
 */
static inline unsigned memory_set_edit_need(const struct ms_edit *e,
					    unsigned first, unsigned last)
{
	const struct ms_cursor *c[2] = { &e->at, e->k > 1 ? &e->end : &e->at };
	unsigned k[2] = { first, last };

	if (first + last == 1)
		return memory_set_tree_need_one(c[last]);
	if (!last || c[1]->leaf == e->at.leaf)
		return memory_set_tree_need(&e->at, first + last, 1);
	return memory_set_edit_need_at(c, k, 2);
}
/* reserve: need nodes (memory_set_edit_need()); most edits need none. */
static inline bool memory_set_edit_reserve(struct memory_set *set,
					   unsigned need)
{
	return !need || memory_set_tree_reserve(set, need);
}

/* The area limit: leaving `after` areas is refused when the operation
 * adds areas and passes the limit. */
static inline bool over_limit(const struct memory_set *set, uint64_t after)
{
	return set->max_areas && after > set->count && after > set->max_areas;
}

/*
 * Leaving `after` areas breaks the limit only when the operation adds areas
 * and passes it. Operations first bound `after` from above without merges;
 * only when that bound breaks the limit with merging on do they count the
 * merges exactly (these helpers), once the split() data that can_merge()
 * may look at exists.
 */
unsigned memory_set_edit_merges_around(const struct memory_area *l,
				       const struct memory_area *n,
				       const struct memory_area *r);
const struct memory_area *
memory_set_edit_find_near(const struct memory_set *set,
			  const struct ms_cursor *near, uint64_t addr);
bool memory_set_edit_left_of(const struct memory_set *set,
			     const struct ms_cursor *near, uint64_t s,
			     struct memory_area *out);
bool memory_set_edit_right_of(const struct memory_set *set,
			      const struct ms_cursor *near, uint64_t t,
			      void *rdata, struct memory_area *out);

/* Do the areas the edit met cover its whole range, without a hole? */
bool memory_set_edit_covered(const struct ms_edit *e);
/* The data of the last area's part past t, when it reaches past t. */
enum mapping_error memory_set_edit_split_right(struct ms_edit *e);

/* ---- Shared by the operations (map.c) --------------------------------- */

/*
 * Call the unmap hook for each piece of the edit's range, in address
 * order; on a failure, the pieces already unmapped leave the tree.
 */
enum mapping_error memory_set_unmap_pieces(struct ms_edit *e,
					   void *page_table);
/* unmap over a begun edit (unmap, its strict form, remap's shrink). */
enum mapping_error memory_set_unmap_edit(struct ms_edit *e, void *page_table);

/* The commit starts: readers wait from here until finish. */
static inline void memory_set_edit_write(struct ms_edit *e)
{
	write_begin(e->set);
}

/* The sink of tree removals: the area goes to the dead queue. */
void memory_set_edit_dead(void *edit, const struct memory_area *a);
/*
 * The part [start, start+size) of area a leaves the set while the rest
 * stays with other data (split() made it): its data is released at
 * finish. Without split() the rest keeps the data: nothing to release.
 */
void memory_set_edit_dead_part(struct ms_edit *e, const struct memory_area *a,
			       uint64_t start, uint64_t size);

/*
 * Commit of map and unmap: take [s, t] out of the tree, keeping the parts
 * of the first and last areas outside it (the last's part past t takes the
 * right data), and with fill (which covers [s, t]) put *fill in its place.
 * Takes memory_set_edit_need(e, inserted, 0) nodes at most.
 */
void memory_set_edit_cut(struct ms_edit *e, const struct memory_area *fill);

/*
 * With merging on, join touching mergeable areas among those meeting
 * [lo, hi] and their neighbours on each side; from the edit's cursor,
 * which is near.
 */
void memory_set_edit_merge_run(struct ms_edit *e, uint64_t lo, uint64_t hi);

static inline void memory_set_edit_merge(struct ms_edit *e, uint64_t lo,
					 uint64_t hi)
{
	if (e->set->merge)
		memory_set_edit_merge_run(e, lo, hi);
}

/* Readers may look again (a move publishes each step). */
static inline void memory_set_edit_publish(struct ms_edit *e)
{
	write_end(e->set);
}

/* finish: the commit (if any) is done, or the edit gives up. */
void memory_set_edit_finish_held(struct ms_edit *e);

static inline void memory_set_edit_finish(struct ms_edit *e)
{
	struct memory_set *set = e->set;

	write_end(set);
#ifndef MEMORY_SET_DEBUG_CHECK
	/* Most edits hold nothing to give back: no call. */
	if (!e->dead.n && !e->right.made &&
	    set->nspare <= memory_set_tree_spare_keep(set))
		return;
#endif
	memory_set_edit_finish_held(e);
}

#endif /* MEMORY_SET_EDIT_H */
