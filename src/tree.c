/*
 * The B+tree under a memory set: node memory, summaries, the descent into a
 * cursor and its steps, insertion, removal with rebalancing, and the
 * node-by-node copy. It knows areas only as ordered, disjoint ranges: what
 * a change means, who is told and when readers may look are the edit's
 * business (edit.c).
 *
 * Insertions take only nodes reserved beforehand with
 * memory_set_tree_reserve(), and removals never allocate, so the layer above
 * can reserve first and then commit changes that cannot fail.
 *
 * Every change goes through a cursor and leaves it valid. A change that
 * reshapes nodes (a split, a pass to a sibling, a join) knows the deepest
 * node of the path it left in place, and places the cursor again from
 * there by the key it holds: never from the root, but when the root itself
 * changed.
 */
#include <string.h>

#include "tree.h"

/* ---- Summaries -------------------------------------------------------- */

void memory_set_tree_node_sum(const struct ms_node *n, struct ms_sum *s)
{
	uint64_t gap = 0, g;
	unsigned i;

	/* The maxima are kept without branches: which gap is largest is
	 * anybody's guess. */
	if (n->leaf) {
		const struct ms_leaf *l = (const struct ms_leaf *)n;

		s->min = l->a[0].start;
		s->last = area_last(&l->a[n->count - 1]);
		for (i = 1; i < n->count; i++) {
			g = l->a[i].start - area_last(&l->a[i - 1]) - 1;
			gap = g > gap ? g : gap;
		}
	} else {
		const struct ms_inner *p = (const struct ms_inner *)n;

		s->min = p->min[0];
		s->last = p->last[n->count - 1];
		gap = p->gap[0];
		for (i = 1; i < n->count; i++) {
			g = p->min[i] - p->last[i - 1] - 1;
			gap = g > gap ? g : gap;
			gap = p->gap[i] > gap ? p->gap[i] : gap;
		}
	}
	s->gap = gap;
}

/* The number of trailing zero bits of x, not 0: an instruction where the
 * target has one, else no call to a runtime helper, which a 32-bit kernel
 * may not link. */
static inline unsigned low_zeros(uint64_t x)
{
#if defined(__x86_64__) || defined(__aarch64__)
	return (unsigned)__builtin_ctzll(x);
#else
	unsigned n = 0, b;

	for (b = 32; b > 0; b /= 2) {
		if (!(x & ((UINT64_C(1) << b) - 1))) {
			x >>= b;
			n += b;
		}
	}
	return n;
#endif
}

/*
 * The key line of p (tree.h): the largest shift at which every child's
 * lowest start is exact (the lowest set bit of their offsets from min[0]),
 * so keys stay exact whatever the granule was when the areas were made;
 * wide when the last offset does not fit below UINT32_MAX even so.
 */
void memory_set_tree_encode(struct ms_inner *p)
{
	unsigned c = p->h.count, i, shift = 0;
	uint64_t base = p->min[0], bits = 0;
	bool wide = false;

	if (p->h.form == MS_FORM_NONE)
		return;
	for (i = 1; i < c; i++)
		bits |= p->min[i] - base;
	if (bits) {
		shift = low_zeros(bits);
		wide = (p->min[c - 1] - base) >> shift >= UINT32_MAX;
	}
	MS_STORE(&p->h.shift, (uint8_t)shift);
	MS_STORE(&p->h.form, (uint8_t)(wide ? MS_FORM_WIDE : MS_FORM_KEYS));
	if (wide)
		c = 0;
	for (i = 0; i < c; i++)
		MS_STORE(&p->key[i], (uint32_t)((p->min[i] - base) >> shift));
	for (; i < MS_INNER_MAX; i++)
		MS_STORE(&p->key[i], UINT32_MAX);
}

/*
 * Child i of p, below its count, starts at lo now: the keys follow without
 * a new encoding when they stay exact at p's shift and fit (p not wide).
 * The shift may then be below the largest exact one, which only the next
 * encoding restores: any exact shift finds the same children, and a node
 * keeps the wide form only when the largest one needs it.
 */
static bool key_moved(struct ms_inner *p, unsigned i, uint64_t lo)
{
	unsigned c = p->h.count, shift = p->h.shift, j;
	uint64_t o, k;

	if (i >= c || p->h.form != MS_FORM_KEYS)
		return false;
	if (i > 0) {
		o = lo - p->min[0];
		k = o >> shift;
		if (k << shift != o || k >= UINT32_MAX)
			return false;
		MS_STORE(&p->key[i], (uint32_t)k);
		return true;
	}
	/* A new lowest start below the old one: every other key grows by
	 * the distance (min[0] is still the old one here). */
	o = p->min[0] - lo;
	k = o >> shift;
	if (lo > p->min[0] || k << shift != o ||
	    k + p->key[c - 1] >= UINT32_MAX)
		return false;
	for (j = 1; j < c; j++)
		MS_STORE(&p->key[j], (uint32_t)(p->key[j] + k));
	return true;
}

static inline void put_sum(struct ms_inner *p, unsigned i,
			   const struct ms_sum *s)
{
	bool kept = p->h.form == MS_FORM_NONE || p->min[i] == s->min ||
		    key_moved(p, i, s->min);

	st64(&p->min[i], s->min);
	st64(&p->last[i], s->last);
	st64(&p->gap[i], s->gap);
	if (!kept)
		memory_set_tree_encode(p);
}

static inline void set_slot(struct ms_inner *p, unsigned i)
{
	struct ms_sum s;

	memory_set_tree_node_sum(p->child[i], &s);
	put_sum(p, i, &s);
}

/* Give p a key line (keys) or none. */
static void keep_keys(struct ms_inner *p, bool keys)
{
	unsigned i;

	if (!keys) {
		MS_STORE(&p->h.form, (uint8_t)MS_FORM_NONE);
		return;
	}
	/* A node taken without a key line may have slots never written
	 * (take_node()); with one, put_sum() and an insertion at the end
	 * read them. */
	for (i = p->h.count; i < MS_INNER_MAX; i++)
		st64(&p->min[i], 0);
	MS_STORE(&p->h.form, (uint8_t)MS_FORM_KEYS);
	memory_set_tree_encode(p);
}

/* Give every inner node under the root p a key line, or none: the tree
 * crossed the height that keeps them (struct ms_inner). A lock-free
 * reader walking meanwhile may meet a line half made, which fails or
 * misleads its walk, and the sequence count has it walk again. */
static void keys_below(struct ms_inner *p, bool keys)
{
	unsigned i;

	if (p->child[0]->leaf)
		return;
	for (i = 0; i < p->h.count; i++) {
		struct ms_inner *q = as_inner(p->child[i]);

		keep_keys(q, keys);
		keys_below(q, keys);
	}
}

/* Do the inner nodes under root n keep key lines? They all agree. */
static bool keys_kept(const struct ms_node *n)
{
	const struct ms_node *k;

	if (n->leaf)
		return false;
	k = ((const struct ms_inner *)n)->child[0];
	return !k->leaf && k->form != MS_FORM_NONE;
}

/* The node at depth d of the cursor's path (the leaf at its depth). */
static inline struct ms_node *node_at(const struct ms_cursor *c, unsigned d)
{
	return d == c->depth ? &c->leaf->h : &c->path[d]->h;
}

static inline uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* The free gaps of inner node p that its slot i bears on: the one inside
 * child i and those between it and its neighbours; the largest. */
static inline uint64_t slot_gaps(const struct ms_inner *p, unsigned i)
{
	uint64_t g = p->gap[i], lo = p->min[i], hi = p->last[i];

	if (i > 0)
		g = max64(g, lo - p->last[i - 1] - 1);
	if (i + 1u < p->h.count)
		g = max64(g, p->min[i + 1] - hi - 1);
	return g;
}

/*
 * The node at depth d (> 0) of c's path changed some of its gaps and kept
 * the rest: make *s its summary, without visiting its other gaps when it
 * can. was is the largest of the gaps the change replaced (0 if it
 * replaced none), now the largest of those it made. Its parent's slot
 * still holds the summary from before the change, whose largest gap g is
 * at least each gap the change kept: now >= g makes now the largest; below
 * g, the largest is still g when no replaced gap reached it, and only when
 * one did (the change may have lowered the largest gap, as the maple
 * tree's mas_update_gap() finds) is the whole node visited.
 */
static void sum_after(const struct ms_cursor *c, unsigned d, uint64_t was,
		      uint64_t now, struct ms_sum *s)
{
	const struct ms_node *n = node_at(c, d);
	uint64_t g = c->path[d - 1]->gap[c->slot[d - 1]];

	if (now < g && was >= g) {
		memory_set_tree_node_sum(n, s);
		return;
	}
	if (n->leaf) {
		const struct ms_leaf *l = (const struct ms_leaf *)n;

		s->min = l->a[0].start;
		s->last = area_last(&l->a[n->count - 1]);
	} else {
		const struct ms_inner *p = (const struct ms_inner *)n;

		s->min = p->min[0];
		s->last = p->last[n->count - 1];
	}
	s->gap = max64(now, g);
}

/*
 * The node at depth d of c's path has the summary *s now: bring the
 * summaries of its ancestors up to date, stopping where one does not
 * change. Each ancestor changes in one slot, so its own summary comes from
 * that slot's gaps (sum_after()). *s is spent.
 */
static void propagate_sum(const struct ms_cursor *c, unsigned d,
			  struct ms_sum *s)
{
	while (d-- > 0) {
		struct ms_inner *p = c->path[d];
		unsigned i = c->slot[d];
		uint64_t was;

		if (p->min[i] == s->min && p->last[i] == s->last &&
		    p->gap[i] == s->gap)
			return;
		if (d == 0) {
			put_sum(p, i, s); /* the root: no summary above */
			return;
		}
		was = slot_gaps(p, i);
		put_sum(p, i, s);
		sum_after(c, d, was, slot_gaps(p, i), s);
	}
}

/*
 * Node n, at depth d of the cursor's path, changed: bring the summaries of
 * its ancestors up to date, stopping where one does not change.
 */
static void propagate(const struct ms_cursor *c, unsigned d,
		      const struct ms_node *n)
{
	struct ms_sum s;

	if (d == 0)
		return;
	memory_set_tree_node_sum(n, &s);
	propagate_sum(c, d, &s);
}

void memory_set_tree_update(struct ms_cursor *c)
{
	propagate(c, c->depth, &c->leaf->h);
}

/* ---- Node memory ------------------------------------------------------ */

/* The spare list's link, in the last word of a node (tree.h). */
static inline void **link_of(void *node)
{
	return (void **)(void *)((char *)node + MS_LINK_OFFSET);
}

/*
 * Spare nodes wait on a list. A lockless set keeps leaves and inner nodes on
 * lists of their own, so a node keeps its kind for its whole life: a reader
 * that reaches a stale node then finds node pointers where it reads them,
 * never a leaf's words.
 */
static void push_spare(struct memory_set *set, void *node, bool leaf)
{
	if (set->lockless && leaf) {
		*link_of(node) = set->spare_leaf;
		set->spare_leaf = node;
		set->nspare_leaf++;
	} else {
		*link_of(node) = set->spare;
		set->spare = node;
		set->nspare++;
	}
}

/* Any word of a node, whatever the field that lies there. */
typedef uintptr_t __attribute__((may_alias)) ms_word;

static bool grow_spare(struct memory_set *set, bool leaf)
{
	ms_word *s = set->alloc->alloc(set->alloc_ctx, MEMORY_SET_NODE_SIZE);
	unsigned i;

	if (!s)
		return false;
	/* Lock-free readers may reach it: no stray pointers in it, and no
	 * plain store to a word they load. */
	for (i = 0; set->lockless && i < MEMORY_SET_NODE_SIZE / sizeof(*s); i++)
		MS_STORE(&s[i], 0);
	push_spare(set, s, leaf);
	return true;
}

/* Make sure at least need nodes (of each kind, in a lockless set) are
 * reserved. */
bool memory_set_tree_reserve(struct memory_set *set, unsigned need)
{
	while (set->nspare < need)
		if (!grow_spare(set, false))
			return false;
	while (set->lockless && set->nspare_leaf < need)
		if (!grow_spare(set, true))
			return false;
	return true;
}

/* Leaves under n, reading only inner nodes. */
static uint64_t leaves_under(const struct ms_node *n)
{
	const struct ms_inner *p = (const struct ms_inner *)n;
	uint64_t k = 0;
	unsigned i;

	if (n->leaf)
		return 1;
	if (p->child[0]->leaf)
		return n->count;
	for (i = 0; i < n->count; i++)
		k += leaves_under(p->child[i]);
	return k;
}

bool memory_set_tree_reserve_copy(struct memory_set *set,
				  const struct memory_set *src)
{
	uint64_t leaves, inner;

	if (!src->root)
		return true;
	leaves = leaves_under(src->root);
	inner = src->nodes - leaves;
	if (!set->lockless)
		inner += leaves;
	if (inner > UINT32_MAX || leaves > UINT32_MAX)
		return false;
	while (set->nspare < inner)
		if (!grow_spare(set, false))
			return false;
	while (set->lockless && set->nspare_leaf < leaves)
		if (!grow_spare(set, true))
			return false;
	return true;
}

/* Take a reserved node: cannot fail. An inner node keeps a key line
 * when keys (see struct ms_inner). */
static inline struct ms_node *take_node(struct memory_set *set, bool leaf,
					bool keys)
{
	struct ms_node *n;

	if (set->lockless && leaf) {
		n = set->spare_leaf;
		MEMORY_SET_ASSERT(n != NULL);
		set->spare_leaf = *link_of(n);
		set->nspare_leaf--;
	} else {
		n = set->spare;
		MEMORY_SET_ASSERT(n != NULL);
		set->spare = *link_of(n);
		set->nspare--;
	}
	set->nodes++;
	/* The kind and form first: set_count() encodes an inner node's key
	 * line. */
	MS_STORE(&n->leaf, (uint8_t)leaf);
	MS_STORE(&n->form, (uint8_t)(keys ? MS_FORM_KEYS : MS_FORM_NONE));
	if (!leaf && keys) {
		/* A slot's summary is compared with what it held before
		 * (put_sum()), and an insertion at the end encodes the key
		 * line before the new slot's summary is stored: no slot of a
		 * node fresh from the allocator may be read unwritten. A node
		 * without a key line reads neither, until keep_keys() gives it
		 * one. */
		struct ms_inner *p = as_inner(n);
		unsigned i;

		for (i = 0; i < MS_INNER_MAX; i++)
			st64(&p->min[i], 0);
	}
	set_count(n, 0);
	return n;
}

static void drop_node(struct memory_set *set, struct ms_node *n)
{
	set->nodes--;
	push_spare(set, n, n->leaf);
}

static void free_list(struct memory_set *set, void **list, uint32_t *n,
		      unsigned keep)
{
	while (*n > keep) {
		void *s = *list;

		*list = *link_of(s);
		(*n)--;
		set->alloc->free(set->alloc_ctx, s, MEMORY_SET_NODE_SIZE);
	}
}

/* Give back spare nodes beyond keep; none in a lockless set. */
void memory_set_tree_trim_to(struct memory_set *set, unsigned keep)
{
	/* Type-stable nodes: a lock-free reader may still be in any of them. */
	if (set->lockless)
		return;
	free_list(set, &set->spare, &set->nspare, keep);
}

/*
 * Give back the nodes reserved since the spare lists held n and nleaf: they
 * lie at the heads of the lists and no reader has seen them, as nothing
 * was taken from the lists meanwhile.
 */
void memory_set_tree_unreserve(struct memory_set *set, unsigned n,
			       unsigned nleaf)
{
	free_list(set, &set->spare, &set->nspare, n);
	free_list(set, &set->spare_leaf, &set->nspare_leaf, nleaf);
}

/* The node at depth d (> 0) of c's path is its parent's first child
 * (right: its last). */
static inline bool at_edge(const struct ms_cursor *c, unsigned d, bool right)
{
	return right ? c->slot[d - 1] + 1u >= c->path[d - 1]->h.count :
		       c->slot[d - 1] == 0;
}

/* leaf_beside() past the edge of the leaf's parent: a cousin, or none. */
static struct ms_leaf *leaf_past_edge(const struct ms_cursor *c, bool right)
{
	const struct ms_node *n;
	unsigned d = c->depth - 1;

	while (d > 0 && at_edge(c, d, right))
		d--;
	if (d-- == 0)
		return NULL;
	n = c->path[d]->child[right ? c->slot[d] + 1u : c->slot[d] - 1u];
	while (!n->leaf)
		n = ((const struct ms_inner *)n)->child[right ? 0 : n->count - 1u];
	return (struct ms_leaf *)n;
}

/*
 * The leaf before c's leaf (right: after it) in address order, under the
 * same parent or not; NULL at the edge of the tree. The cursor stays.
 * Most leaves have a sibling there: that costs a load.
 */
static inline struct ms_leaf *leaf_beside(const struct ms_cursor *c,
					  bool right)
{
	unsigned d = c->depth;

	if (d == 0)
		return NULL;
	if (!at_edge(c, d, right))
		return as_leaf(c->path[d - 1]->child[right ? c->slot[d - 1] + 1u :
						       c->slot[d - 1] - 1u]);
	return leaf_past_edge(c, right);
}

/* The leaf beside c's on that side, if it has room for one more area. */
static struct ms_leaf *room_beside(const struct ms_cursor *c, bool right)
{
	struct ms_leaf *s = leaf_beside(c, right);

	return s && s->h.count < MS_LEAF_MAX ? s : NULL;
}

/* dst: c moved to the leaf beside its own (right: after it), which is
 * there. */
static void cursor_beside(struct ms_cursor *dst, const struct ms_cursor *c,
			  bool right)
{
	cur_copy(dst, c);
	if (right)
		memory_set_tree_next_leaf(dst);
	else
		memory_set_tree_prev_leaf(dst);
}

/* The full leaf of c passes an area to a neighbour: shift_insert()'s test. */
bool memory_set_tree_can_pass(const struct ms_cursor *c)
{
	return c->leaf && (room_beside(c, false) || room_beside(c, true));
}

/* The leaf of c splits (or there is none): count up its path. */
unsigned memory_set_tree_need_split(const struct ms_cursor *c, unsigned kids)
{
	unsigned need = 1, d;

	if (!c->leaf)
		return 1; /* a root leaf */
	for (d = c->depth; d-- > 0; need++)
		if (c->path[d]->h.count + kids <= MS_INNER_MAX)
			return need;
	return need + 1; /* a new root */
}

/* ---- Descent ---------------------------------------------------------- */

/* The descent took slot i of p at depth d: c records it if rec. Returns
 * the child taken. */
MS_INLINE struct ms_node *take(struct ms_cursor *c, bool rec, unsigned d,
			       struct ms_inner *p, unsigned i)
{
	if (rec) {
		c->path[d] = p;
		c->slot[d] = (unsigned char)i;
	}
	return p->child[i];
}

/* The descent reached leaf n at depth d. */
MS_INLINE struct ms_leaf *arrive(struct ms_cursor *c, bool rec, unsigned d,
				 struct ms_node *n, uint64_t addr,
				 unsigned *pos)
{
	if (rec)
		c->depth = d;
	*pos = leaf_rank(as_leaf(n), addr);
	return as_leaf(n);
}

/*
 * The one descent by address: from node n at depth d down to the leaf for
 * addr, returned with, in *pos, the number of its areas starting at or
 * before addr. With rec, cursor c (its path above d valid) takes the path
 * from d down and the leaf's depth; a lookup passes rec false and no
 * cursor. rec is a constant at each call and folds away in the inlined
 * walk, where a test of c would stay (a cursor's caller does not show the
 * compiler that c is not NULL). Inner levels search
 * min[], but for the lowest MS_KEY_LEVELS of a tree where keys_searched(),
 * which search key lines: each node's lowest start there comes from its
 * parent's search, and an address below it takes the first child all the
 * way down, as that minimum does.
 */
MS_INLINE struct ms_leaf *walk(const struct memory_set *set, struct ms_node *n,
			       unsigned d, uint64_t addr, struct ms_cursor *c,
			       bool rec, unsigned *pos)
{
	struct ms_inner *p = NULL;
	unsigned i = 0, kd;
	uint64_t base, at;

	if (!keys_searched(set)) {
		for (; !n->leaf; d++) {
			p = as_inner(n);
			n = take(c, rec, d, p, inner_slot(p, addr));
		}
		return arrive(c, rec, d, n, addr, pos);
	}
	kd = key_depth(set);
	for (; !n->leaf && d < kd; d++) {
		p = as_inner(n);
		i = inner_slot(p, addr);
		n = take(c, rec, d, p, i);
	}
	if (!n->leaf) {
		/* The parent's slot: the last step's, or the path's. */
		base = rec ? c->path[d - 1]->min[c->slot[d - 1]] : p->min[i];
		at = addr > base ? addr : base;
		for (; !n->leaf; d++) {
			p = as_inner(n);
			n = take(c, rec, d, p, inner_step(p, &base, at));
		}
	}
	/* In line: the deep trees that prefetch are where lookups wait on
	 * memory, and a jump out and back costs each of them. */
	if (__builtin_expect(d >= MS_PREFETCH_DEPTH, 1))
		memory_set_tree_prefetch_leaf(n);
	return arrive(c, rec, d, n, addr, pos);
}

struct ms_leaf *memory_set_tree_locate(const struct memory_set *set,
				       uint64_t addr, unsigned *pos)
{
	return walk(set, set->root, 0, addr, NULL, false, pos);
}

/*
 * Place c for addr from depth d down, the path above d being valid (d 0:
 * from the root, which the change may have replaced).
 */
static void reseat(const struct memory_set *set, struct ms_cursor *c,
		   unsigned d, uint64_t addr)
{
	struct ms_node *n = d == 0 ? set->root : &c->path[d]->h;

	if (!n) {
		c->leaf = NULL;
		c->index = 0;
		c->depth = 0;
		return;
	}
	c->leaf = walk(set, n, d, addr, c, true, &c->index);
}

void memory_set_tree_descend(const struct memory_set *set, uint64_t addr,
			     struct ms_cursor *c)
{
	reseat(set, c, 0, addr);
}

/* Down from the node at depth d of the path, by the first (or last) child
 * at every level. */
static void down_edge(struct ms_cursor *c, unsigned d, struct ms_node *n,
		      bool last)
{
	for (; !n->leaf; d++) {
		unsigned s = last ? n->count - 1u : 0;

		c->path[d] = as_inner(n);
		c->slot[d] = (unsigned char)s;
		n = as_inner(n)->child[s];
	}
	c->depth = d;
	c->leaf = as_leaf(n);
	c->index = last ? n->count : 0;
}

void memory_set_tree_first(const struct memory_set *set, struct ms_cursor *c)
{
	c->leaf = NULL;
	c->index = 0;
	c->depth = 0;
	if (set->root)
		down_edge(c, 0, set->root, false);
}

void memory_set_tree_last(const struct memory_set *set, struct ms_cursor *c)
{
	c->leaf = NULL;
	c->index = 0;
	c->depth = 0;
	if (set->root)
		down_edge(c, 0, set->root, true);
}

bool memory_set_tree_next_leaf(struct ms_cursor *c)
{
	unsigned d = c->depth;

	while (d > 0 && c->slot[d - 1] + 1u >= c->path[d - 1]->h.count)
		d--;
	if (d-- == 0)
		return false;
	c->slot[d]++;
	down_edge(c, d + 1, c->path[d]->child[c->slot[d]], false);
	return true;
}

bool memory_set_tree_prev_leaf(struct ms_cursor *c)
{
	unsigned d = c->depth;

	while (d > 0 && c->slot[d - 1] == 0)
		d--;
	if (d-- == 0)
		return false;
	c->slot[d]--;
	down_edge(c, d + 1, c->path[d]->child[c->slot[d]], true);
	return true;
}

/*
 * The node at depth d of c's path is on addr's path from the root when
 * every inner node above it chose, for addr, the slot the path took: addr
 * lies at or above that child's lowest start (unless it is the first child,
 * which takes what lies below too) and below the next child's (unless it
 * is the last). The bounds of a deeper slot lie inside those of the slots
 * above it, so the climb stops once one level has fixed each bound of the
 * node it holds; a node that does not hold addr hands the question to the
 * node above it.
 */
void memory_set_tree_seek(const struct memory_set *set, struct ms_cursor *c,
			  uint64_t addr)
{
	bool lo = false, hi = false;
	unsigned d = c->depth, e;

	if (!c->leaf) {
		reseat(set, c, 0, addr);
		return;
	}
	for (e = c->depth; e-- > 0 && !(lo && hi);) {
		const struct ms_inner *p = c->path[e];
		unsigned s = c->slot[e];
		bool first = s == 0, last = s + 1u == p->h.count;

		if ((!first && addr < p->min[s]) ||
		    (!last && addr >= p->min[s + 1])) {
			d = e;
			lo = hi = false;
			continue;
		}
		lo = lo || !first;
		hi = hi || !last;
	}
	if (d == c->depth) {
		c->index = leaf_rank(c->leaf, addr);
		return;
	}
	reseat(set, c, d, addr);
}

/* ---- Insertion -------------------------------------------------------- */

void memory_set_tree_put_areas(struct memory_area *dst,
			       const struct memory_area *src, unsigned n)
{
	unsigned i;

	if ((uintptr_t)dst < (uintptr_t)src) {
		for (i = 0; i < n; i++)
			put_area(&dst[i], &src[i]);
	} else {
		for (i = n; i-- > 0;)
			put_area(&dst[i], &src[i]);
	}
}

static inline void put_slot(struct ms_inner *dst, unsigned di,
			    const struct ms_inner *src, unsigned si)
{
	st64(&dst->min[di], src->min[si]);
	st64(&dst->last[di], src->last[si]);
	st64(&dst->gap[di], src->gap[si]);
	MS_STORE(&dst->child[di], src->child[si]);
}

/*
 * Move n slots of inner node src from si to dst at di (regions may
 * overlap): memmove outside a lockless set, slot by slot in one.
 */
static void inner_move(bool lk, struct ms_inner *dst, unsigned di,
		       struct ms_inner *src, unsigned si, unsigned n)
{
	unsigned i;

	if (!lk) {
		memmove(&dst->min[di], &src->min[si], n * sizeof(uint64_t));
		memmove(&dst->last[di], &src->last[si], n * sizeof(uint64_t));
		memmove(&dst->gap[di], &src->gap[si], n * sizeof(uint64_t));
		memmove(&dst->child[di], &src->child[si],
			n * sizeof(struct ms_node *));
	} else if (dst != src || di < si) {
		/* Down, or into another node: first slot first. */
		for (i = 0; i < n; i++)
			put_slot(dst, di + i, src, si + i);
	} else {
		for (i = n; i-- > 0;)
			put_slot(dst, di + i, src, si + i);
	}
}

/* Put child c at slot i of p, whose summary the caller sets. */
static inline void inner_put(bool lk, struct ms_inner *p, unsigned i,
			     struct ms_node *c)
{
	inner_move(lk, p, i + 1, p, i, p->h.count - i);
	MS_STORE(&p->child[i], c);
	set_count(&p->h, p->h.count + 1u);
}

/* Where a child went when slots moved: node and slot. */
struct ms_at {
	struct ms_inner *p;
	unsigned i;
};

static void set_slots(const struct ms_at *a, const struct ms_at *b)
{
	set_slot(a->p, a->i);
	set_slot(b->p, b->i);
}

/*
 * The full inner node p, at depth d of c's path, is to take right at slot
 * i, next to left (at i - 1): pass p's first child to a left sibling with
 * room, or its last to a right one, as shift_insert() does for leaves, so
 * that inner nodes fill up instead of staying half full after sequential
 * insertions and the tree is lower. False if neither sibling has room or p
 * is the root.
 */
static bool inner_shift(struct memory_set *set, struct ms_cursor *c,
			unsigned d, unsigned i, struct ms_node *right)
{
	struct ms_inner *p = c->path[d], *g, *s;
	struct ms_at l, r;
	bool lk = set->lockless;
	unsigned j, js;

	if (d == 0)
		return false;
	g = c->path[d - 1];
	j = c->slot[d - 1];
	if (j > 0 && (s = as_inner(g->child[j - 1]))->h.count < MS_INNER_MAX) {
		inner_move(lk, s, s->h.count, p, 0, 1);
		set_count(&s->h, s->h.count + 1u);
		inner_move(lk, p, 0, p, 1, p->h.count - 1u);
		set_count(&p->h, p->h.count - 1u);
		inner_put(lk, p, i - 1, right);
		r = (struct ms_at){ p, i - 1 };
		l = i > 1 ? (struct ms_at){ p, i - 2 } :
			    (struct ms_at){ s, s->h.count - 1u };
		js = j - 1;
	} else if (j + 1 < g->h.count &&
		   (s = as_inner(g->child[j + 1]))->h.count < MS_INNER_MAX) {
		if (i == MS_INNER_MAX) {
			inner_put(lk, s, 0, right);
			r = (struct ms_at){ s, 0 };
		} else {
			inner_move(lk, s, 1, s, 0, s->h.count);
			inner_move(lk, s, 0, p, MS_INNER_MAX - 1, 1);
			set_count(&s->h, s->h.count + 1u);
			set_count(&p->h, p->h.count - 1u);
			inner_put(lk, p, i, right);
			r = (struct ms_at){ p, i };
		}
		l = (struct ms_at){ p, i - 1 };
		js = j + 1;
	} else {
		return false;
	}
	/* The children's slots first: g's summaries are made of them. */
	set_slots(&l, &r);
	set_slot(g, js);
	set_slot(g, j);
	propagate(c, d - 1, &g->h);
	return true;
}

/*
 * The node at depth d of c's path split: put its new right half, right,
 * just after it. Returns the depth from which the path is still right (0:
 * the root changed).
 */
static unsigned insert_child(struct memory_set *set, struct ms_cursor *c,
			     unsigned d, struct ms_node *right)
{
	struct ms_node *left = node_at(c, d);
	struct ms_inner *p, *q;
	struct ms_at l, r;
	unsigned i, keep;

	if (d == 0) {
		bool had = keys_kept(left);

		p = as_inner(take_node(set, false, false));
		MS_STORE(&p->child[0], left);
		MS_STORE(&p->child[1], right);
		set_slot(p, 0);
		set_slot(p, 1);
		set_count(&p->h, 2);
		set_root(set, &p->h);
		set->height++;
		/* The old root and its new sibling become children: their key
		 * lines are due if the tree keeps them, and every node's once
		 * it is tall enough to be searched by them. */
		if (had) {
			keep_keys(as_inner(left), true);
			keep_keys(as_inner(right), true);
		} else if (keys_searched(set)) {
			keys_below(p, true);
		}
		return 0;
	}
	p = c->path[d - 1];
	i = c->slot[d - 1] + 1u;
	if (p->h.count < MS_INNER_MAX) {
		inner_put(set->lockless, p, i, right);
		set_slot(p, i - 1);
		set_slot(p, i);
		propagate(c, d - 1, &p->h);
		return d - 1;
	}
	if (inner_shift(set, c, d - 1, i, right))
		return d - 2;
	/* Split p: the first keep slots stay, the rest go to q. */
	q = as_inner(take_node(set, false, p->h.form != MS_FORM_NONE));
	keep = (MS_INNER_MAX + 1) / 2;
	if (i < keep) {
		inner_move(set->lockless, q, 0, p, keep - 1,
			   MS_INNER_MAX - keep + 1);
		set_count(&q->h, MS_INNER_MAX - keep + 1);
		set_count(&p->h, keep - 1);
		inner_put(set->lockless, p, i, right);
		l = (struct ms_at){ p, i - 1 };
		r = (struct ms_at){ p, i };
	} else {
		inner_move(set->lockless, q, 0, p, keep, MS_INNER_MAX - keep);
		set_count(&q->h, MS_INNER_MAX - keep);
		set_count(&p->h, keep);
		inner_put(set->lockless, q, i - keep, right);
		l = i - 1 < keep ? (struct ms_at){ p, i - 1 } :
				   (struct ms_at){ q, i - 1 - keep };
		r = (struct ms_at){ q, i - keep };
	}
	set_slots(&l, &r);
	return insert_child(set, c, d - 1, &q->h);
}

/*
 * The leaf s beside c's took one area at its end (right: at its front)
 * and kept its other gaps: its summary is the one its parent holds with
 * that end moved, and the gap next to the area it took.
 */
static void sum_took_one(const struct ms_leaf *s, const struct ms_inner *sp,
			 unsigned si, bool right, struct ms_sum *ss)
{
	unsigned n = s->h.count;

	ss->min = sp->min[si];
	ss->last = sp->last[si];
	if (right) {
		ss->min = s->a[0].start;
		ss->gap = s->a[1].start - area_last(&s->a[0]) - 1;
	} else {
		ss->last = area_last(&s->a[n - 1]);
		ss->gap = s->a[n - 1].start - area_last(&s->a[n - 2]) - 1;
	}
	ss->gap = max64(ss->gap, sp->gap[si]);
}

/*
 * Summaries after shift_insert() passed an area of c's leaf to the leaf s
 * beside it, a sibling (sc NULL) or a cousin at sc; c's leaf unchanged
 * when kept. Under one parent, both slots change at once and the parent's
 * summary comes from their gaps (sum_after()).
 */
static void sums_after_pass(const struct ms_cursor *c,
			    const struct ms_cursor *sc, const struct ms_leaf *s,
			    bool right, bool kept)
{
	unsigned d = c->depth - 1, i = c->slot[d], si;
	struct ms_inner *p = c->path[d];
	struct ms_sum ss, ps;
	uint64_t was;

	if (sc) {
		sum_took_one(s, sc->path[sc->depth - 1], sc->slot[sc->depth - 1],
			     right, &ss);
		propagate_sum(sc, sc->depth, &ss);
		if (!kept)
			propagate(c, c->depth, &c->leaf->h);
		return;
	}
	si = right ? i + 1 : i - 1;
	sum_took_one(s, p, si, right, &ss);
	was = max64(slot_gaps(p, si), slot_gaps(p, i));
	put_sum(p, si, &ss);
	if (!kept)
		set_slot(p, i);
	if (d == 0)
		return;
	sum_after(c, d, was, max64(slot_gaps(p, si), slot_gaps(p, i)), &ps);
	propagate_sum(c, d, &ps);
}

/*
 * Insert *a at position pos of the full leaf of c by passing its first area
 * to the leaf before it if that has room, or its last to the leaf after it,
 * under the same parent or not: a split only when both neighbours are full
 * keeps leaves fuller (sequential maps fill them whole), and keeps any two
 * neighbouring leaves from fitting in one (see rebalance()). c then at the
 * new area. False if neither has room.
 */
static bool shift_insert(bool lk, struct ms_cursor *c,
			 const struct memory_area *a)
{
	struct ms_leaf *l = c->leaf, *s;
	struct ms_cursor sc;
	unsigned pos = c->index, d = c->depth, i, at = MS_LEAF_MAX;
	bool right = false, sib;

	if (d == 0)
		return false;
	i = c->slot[d - 1];
	s = room_beside(c, false);
	if (!s) {
		s = room_beside(c, true);
		right = true;
		if (!s)
			return false;
	}
	sib = !at_edge(c, d, right);
	if (!sib)
		cursor_beside(&sc, c, right);
	if (!right) {
		if (pos == 0) {
			at = s->h.count;
			set_area(lk, &s->a[at], a);
		} else {
			set_area(lk, &s->a[s->h.count], &l->a[0]);
			move_areas(lk, &l->a[0], &l->a[1], pos - 1);
			set_area(lk, &l->a[pos - 1], a);
			c->index = pos - 1;
		}
		set_count(&s->h, s->h.count + 1u);
	} else {
		move_areas(lk, &s->a[1], &s->a[0], s->h.count);
		set_count(&s->h, s->h.count + 1u);
		if (pos == MS_LEAF_MAX) {
			at = 0;
			set_area(lk, &s->a[0], a);
		} else {
			set_area(lk, &s->a[0], &l->a[MS_LEAF_MAX - 1]);
			move_areas(lk, &l->a[pos + 1], &l->a[pos],
				   MS_LEAF_MAX - 1 - pos);
			set_area(lk, &l->a[pos], a);
		}
	}
	/* l changed unless a went straight to s. */
	sums_after_pass(c, sib ? NULL : &sc, s, right, !right && pos == 0);
	if (at == MS_LEAF_MAX)
		return true;
	/* The new area went to the neighbour: so does c. */
	if (sib) {
		c->leaf = s;
		c->slot[d - 1] = (unsigned char)(right ? i + 1 : i - 1);
	} else {
		cur_copy(c, &sc);
	}
	c->index = at;
	return true;
}

/*
 * Insert *a at c, whose leaf has room. The new area keeps the leaf's other
 * gaps: it cuts the gap it lands in into two no larger (or adds one at an
 * end of the leaf), so the leaf's largest gap moves only when the cut one
 * was it. The area before c may have been shortened from its end since
 * the last change (tree.h): that widened the gap cut, which is read as it
 * is now, at least what the summary saw.
 */
static void insert_room(bool lk, struct ms_cursor *c,
			const struct memory_area *a)
{
	struct ms_leaf *l = c->leaf;
	unsigned pos = c->index, n = l->h.count + 1u;
	uint64_t was = 0, now = 0;
	struct ms_sum s;

	if (pos > 0 && pos < l->h.count)
		was = l->a[pos].start - area_last(&l->a[pos - 1]) - 1;
	move_areas(lk, &l->a[pos + 1], &l->a[pos], l->h.count - pos);
	set_area(lk, &l->a[pos], a);
	set_count(&l->h, n);
	if (c->depth == 0)
		return;
	if (pos > 0)
		now = a->start - area_last(&l->a[pos - 1]) - 1;
	if (pos + 1 < n)
		now = max64(now, l->a[pos + 1].start - area_last(a) - 1);
	sum_after(c, c->depth, was, now, &s);
	propagate_sum(c, c->depth, &s);
}

void memory_set_tree_insert(struct memory_set *set, struct ms_cursor *c,
			    const struct memory_area *a)
{
	bool lk = set->lockless;
	struct ms_leaf *l = c->leaf, *r, *dst;
	unsigned keep, pos = c->index;

	set->count++;
	if (!l) {
		l = as_leaf(take_node(set, true, false));
		set_area(lk, &l->a[0], a);
		set_count(&l->h, 1);
		set_root(set, &l->h);
		set->height = 1;
		c->leaf = l;
		c->index = 0;
		c->depth = 0;
		return;
	}
	if (l->h.count < MS_LEAF_MAX) {
		insert_room(lk, c, a);
		return;
	}
	if (shift_insert(lk, c, a))
		return;
	/* Split in halves; later shifts into the neighbours fill them up. */
	r = as_leaf(take_node(set, true, false));
	keep = (MS_LEAF_MAX + 1) / 2;
	if (pos < keep) {
		copy_areas(lk, r->a, &l->a[keep - 1], MS_LEAF_MAX - keep + 1);
		set_count(&r->h, MS_LEAF_MAX - keep + 1);
		set_count(&l->h, keep - 1);
		dst = l;
	} else {
		copy_areas(lk, r->a, &l->a[keep], MS_LEAF_MAX - keep);
		set_count(&r->h, MS_LEAF_MAX - keep);
		set_count(&l->h, keep);
		dst = r;
		pos -= keep;
	}
	move_areas(lk, &dst->a[pos + 1], &dst->a[pos], dst->h.count - pos);
	set_area(lk, &dst->a[pos], a);
	set_count(&dst->h, dst->h.count + 1u);
	reseat(set, c, insert_child(set, c, c->depth, &r->h), a->start);
	c->index--; /* the rank counts the new area itself */
}

void memory_set_tree_insert2(struct memory_set *set, struct ms_cursor *c,
			     const struct memory_area *a,
			     const struct memory_area *b)
{
	bool lk = set->lockless;
	struct ms_leaf *l = c->leaf;
	unsigned pos = c->index;

	if (!l || l->h.count + 2u > MS_LEAF_MAX) {
		memory_set_tree_insert(set, c, a);
		c->index++;
		memory_set_tree_insert(set, c, b);
		return;
	}
	set->count += 2;
	move_areas(lk, &l->a[pos + 2], &l->a[pos], l->h.count - pos);
	set_area(lk, &l->a[pos], a);
	set_area(lk, &l->a[pos + 1], b);
	set_count(&l->h, l->h.count + 2u);
	propagate(c, c->depth, &l->h);
	c->index = pos + 1;
}

/* ---- Removal ---------------------------------------------------------- */

/* Remove slot i of inner node p (the child itself is the caller's). */
static void inner_remove(bool lk, struct ms_inner *p, unsigned i)
{
	inner_move(lk, p, i, p, i + 1, p->h.count - i - 1);
	set_count(&p->h, p->h.count - 1u);
}

/* Move everything of inner node right into left, its left neighbour. */
static void join_nodes(bool lk, struct ms_inner *left, struct ms_inner *right)
{
	inner_move(lk, left, left->h.count, right, 0, right->h.count);
	set_count(&left->h, left->h.count + right->h.count);
	set_count(&right->h, 0);
}

/* Even out two neighbouring inner nodes whose counts add up to more than a
 * node holds. */
static void share_nodes(bool lk, struct ms_inner *left, struct ms_inner *right)
{
	unsigned total = left->h.count + right->h.count;
	unsigned want = total / 2, n;

	if (left->h.count > want) {
		n = left->h.count - want;
		inner_move(lk, right, n, right, 0, right->h.count);
		inner_move(lk, right, 0, left, want, n);
	} else {
		n = want - left->h.count;
		inner_move(lk, left, left->h.count, right, 0, n);
		inner_move(lk, right, 0, right, n, right->h.count - n);
	}
	set_count(&left->h, want);
	set_count(&right->h, total - want);
}

/* rebalance(): the cursor's path is right as it is. */
#define MS_PATH_KEPT ((unsigned)-1)

/*
 * The leaf beside c's (right: after it) took areas of c's leaf, which is
 * still in its parent: bring its summaries up to date, along its own path
 * when it is under another parent. Returns the depth of the lowest node
 * over both leaves.
 */
static unsigned sum_beside(const struct ms_cursor *c, bool right)
{
	unsigned d = c->depth - 1, i = c->slot[d];
	struct ms_cursor sc;

	if (!at_edge(c, c->depth, right)) {
		set_slot(c->path[d], right ? i + 1 : i - 1);
		return d;
	}
	cursor_beside(&sc, c, right);
	propagate(&sc, sc.depth, &sc.leaf->h);
	while (sc.path[d] != c->path[d])
		d--;
	return d;
}

/*
 * Empty the leaf of c, not the root, into the leaves beside it: its first
 * k areas to the end of the leaf before it (l), the rest to the front of
 * the leaf after it (r), each of which has room (NULL: takes none), under
 * the same parent or not. Then take it out of its parent, whose fill the
 * caller restores. Returns the depth of the lowest node over the leaves
 * that took areas: c's path is right down to there, and the areas of c's
 * leaf now lie under it.
 */
static unsigned spread_leaf(struct memory_set *set, struct ms_cursor *c,
			    struct ms_leaf *l, struct ms_leaf *r, unsigned k)
{
	bool lk = set->lockless;
	struct ms_leaf *e = c->leaf;
	unsigned d = c->depth - 1, n = e->h.count, top = d, t;

	if (k > 0) {
		copy_areas(lk, &l->a[l->h.count], e->a, k);
		set_count(&l->h, l->h.count + k);
		top = sum_beside(c, false);
	}
	if (k < n) {
		move_areas(lk, &r->a[n - k], r->a, r->h.count);
		copy_areas(lk, r->a, &e->a[k], n - k);
		set_count(&r->h, r->h.count + n - k);
		t = sum_beside(c, true);
		top = t < top ? t : top;
	}
	set_count(&e->h, 0);
	inner_remove(lk, c->path[d], c->slot[d]);
	drop_node(set, &e->h);
	return top;
}

/*
 * The inner node at depth d of c's path lost a child: restore fill bounds
 * up the path, and summaries. Returns the depth from which c's path is
 * still right (0: the root changed).
 */
static unsigned rebalance_inner(struct memory_set *set, struct ms_cursor *c,
				unsigned d)
{
	struct ms_node *n = &c->path[d]->h;

	for (;;) {
		struct ms_inner *p, *left, *right;
		unsigned i;

		if (d == 0) {
			if (n->count == 1) {
				set_root(set, as_inner(n)->child[0]);
				set->height--;
				drop_node(set, n);
				/* Dropped a level below the height that keeps
				 * them (struct ms_inner). */
				if (set->height + 2u <= MS_KEY_HEIGHT &&
				    keys_kept(set->root))
					keys_below(as_inner(set->root), false);
			}
			return 0;
		}
		if (n->count >= MS_INNER_MIN) {
			propagate(c, d, n);
			return d;
		}
		p = c->path[d - 1];
		i = c->slot[d - 1];
		if (i > 0) {
			left = as_inner(p->child[i - 1]);
			right = as_inner(n);
			i--;
		} else {
			left = as_inner(n);
			right = as_inner(p->child[1]);
		}
		if (left->h.count + right->h.count > MS_INNER_MAX) {
			share_nodes(set->lockless, left, right);
			set_slot(p, i);
			set_slot(p, i + 1);
			propagate(c, d - 1, &p->h);
			return d - 1;
		}
		join_nodes(set->lockless, left, right);
		inner_remove(set->lockless, p, i + 1);
		drop_node(set, &right->h);
		set_slot(p, i);
		n = &p->h;
		d--;
	}
}

/*
 * The leaf of c lost areas: restore the fill rules up the path, and
 * summaries. Returns the depth from which c's path is still right (0: the
 * root changed), or MS_PATH_KEPT if no node moved.
 *
 * Leaves keep a rule of their own, fuller than a minimum fill: any two
 * neighbouring leaves (under one parent or not) hold more than
 * MS_LEAF_JOIN, so they average at least half full, and more after
 * removals than a minimum of half left them (some 70%). A leaf that holds
 * MS_LEAF_JOIN or fewer with a neighbour joins it; a split happens only
 * between full neighbours (shift_insert()),
 * and inner nodes never reorder leaves, so nothing else can break the
 * rule. Past the rule, a leaf whose two neighbours would hold its areas
 * too spreads into them: splits keep no such bound on three leaves, but
 * removals, where leaves empty, fill them up again (the mixed and churn
 * workloads end with leaves some 81% full). The leaf that took areas may now fit with
 * the leaf on its other side: the caller places c again and asks once
 * more.
 */
static unsigned rebalance(struct memory_set *set, struct ms_cursor *c)
{
	struct ms_node *n = &c->leaf->h;
	unsigned d = c->depth, top, k, total;
	struct ms_leaf *l, *r;

	if (d == 0) {
		if (n->count > 0)
			return MS_PATH_KEPT;
		drop_node(set, n);
		set_root(set, NULL);
		set->height = 0;
		return 0;
	}
	l = leaf_beside(c, false);
	r = leaf_beside(c, true);
	k = n->count;
	/* An empty leaf goes whatever its neighbours hold. */
	if (l && (l->h.count + k <= MS_LEAF_JOIN || k == 0)) {
		r = NULL;
	} else if (r && (r->h.count + k <= MS_LEAF_JOIN || k == 0)) {
		l = NULL;
		k = 0;
	} else if (l && r &&
		   (total = l->h.count + k + r->h.count) <= 2 * MS_LEAF_JOIN) {
		/* Three leaves fit in two, each with room for one more (as
		 * MS_LEAF_JOIN, so that one insertion does not split them
		 * again): the leaf before takes up to half. */
		k = total / 2 > l->h.count ? total / 2 - l->h.count : 0;
		k = k < n->count ? k : n->count;
	} else {
		propagate(c, d, n);
		return MS_PATH_KEPT;
	}
	top = spread_leaf(set, c, l, r, k);
	d = rebalance_inner(set, c, d - 1);
	return d < top ? d : top;
}

void memory_set_tree_remove(struct memory_set *set, struct ms_cursor *c,
			    uint64_t hi, ms_sink_fn sink, void *ctx)
{
	for (;;) {
		struct ms_leaf *l = c->leaf;
		unsigned pos = c->index, end, k, d;
		uint64_t key;
		bool more;

		if (!l)
			return;
		if (pos == l->h.count) {
			if (!memory_set_tree_next_leaf(c))
				return;
			l = c->leaf;
			pos = 0;
		}
		for (end = pos; end < l->h.count && l->a[end].start <= hi; end++)
			if (sink)
				sink(ctx, &l->a[end]);
		if (end == pos)
			return;
		more = end == l->h.count;
		k = end - pos;
		/* What follows starts after the last area removed. */
		key = l->a[end - 1].start;
		move_areas(set->lockless, &l->a[pos], &l->a[end],
			   l->h.count - end);
		set_count(&l->h, l->h.count - k);
		set->count -= k;
		/* A leaf that took areas may now join its other side. */
		for (d = rebalance(set, c); d != MS_PATH_KEPT;) {
			reseat(set, c, d, key);
			if (!c->leaf)
				return;
			d = rebalance(set, c);
		}
		if (!more) {
			/* Placed by key, c may be at a leaf's end. */
			if (c->leaf && c->index == c->leaf->h.count)
				memory_set_tree_next_leaf(c);
			return;
		}
	}
}

/* Free every node of the subtree, each of its areas to the sink. */
void memory_set_tree_free_subtree(struct memory_set *set, struct ms_node *n,
				  ms_sink_fn sink, void *ctx)
{
	unsigned i;

	if (n->leaf) {
		for (i = 0; sink && i < n->count; i++)
			sink(ctx, &as_leaf(n)->a[i]);
	} else {
		for (i = 0; i < n->count; i++)
			memory_set_tree_free_subtree(set, as_inner(n)->child[i],
						     sink, ctx);
	}
	if (set->lockless)
		drop_node(set, n); /* type-stable: kept until destroy */
	else {
		set->alloc->free(set->alloc_ctx, n, MEMORY_SET_NODE_SIZE);
		set->nodes--;
	}
}

/* ---- Duplicate -------------------------------------------------------- */

/* Copy the subtree n node by node into reserved nodes of dst, one memcpy
 * per node: dst has no lock-free readers. */
static struct ms_node *clone_plain(struct memory_set *dst,
				   const struct ms_node *n)
{
	struct ms_node *c = take_node(dst, n->leaf, false);
	unsigned i;

	if (n->leaf) {
		memcpy(c, n, sizeof(struct ms_leaf));
	} else {
		const struct ms_inner *p = (const struct ms_inner *)n;

		memcpy(c, n, sizeof(struct ms_inner));
		for (i = 0; i < n->count; i++)
			as_inner(c)->child[i] = clone_plain(dst, p->child[i]);
	}
	return c;
}

/*
 * The same for a lockless dst, where a reader may be in a node taken from
 * the spare lists: word by word, and no pointer into src's tree is ever
 * stored (a reader would follow it into nodes that src may free).
 */
static struct ms_node *clone_words(struct memory_set *dst,
				   const struct ms_node *n)
{
	struct ms_node *c = take_node(dst, n->leaf,
				      !n->leaf && n->form != MS_FORM_NONE);
	unsigned i;

	if (n->leaf) {
		memory_set_tree_put_areas(as_leaf(c)->a,
					  ((const struct ms_leaf *)n)->a,
					  n->count);
	} else {
		const struct ms_inner *p = (const struct ms_inner *)n;

		for (i = 0; i < n->count; i++) {
			struct ms_sum s = { p->min[i], p->last[i], p->gap[i] };

			put_sum(as_inner(c), i, &s);
			MS_STORE(&as_inner(c)->child[i],
				 clone_words(dst, p->child[i]));
		}
	}
	set_count(c, n->count);
	return c;
}

struct ms_node *memory_set_tree_clone_subtree(struct memory_set *dst,
					      const struct ms_node *n)
{
	return dst->lockless ? clone_words(dst, n) : clone_plain(dst, n);
}
