/*
 * The B+tree under a memory set: node memory, summaries, search, insertion,
 * removal with rebalancing, the free-space search over the gap summaries,
 * the node-by-node copy, and iteration. It knows areas only as ordered,
 * disjoint ranges; what a mutation means is memory_set.c's business.
 *
 * Insertions take only nodes reserved beforehand with
 * memory_set_tree_reserve(), and removals never allocate, so the layer above
 * can reserve first and then commit changes that cannot fail.
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

static unsigned child_index(const struct ms_inner *p, const struct ms_node *c)
{
	unsigned i = 0;

	while (p->child[i] != c)
		i++;
	return i;
}

static inline void put_sum(struct ms_inner *p, unsigned i,
			   const struct ms_sum *s)
{
	st64(&p->min[i], s->min);
	st64(&p->last[i], s->last);
	st64(&p->gap[i], s->gap);
}

static inline void set_slot(struct ms_inner *p, unsigned i)
{
	struct ms_sum s;

	memory_set_tree_node_sum(p->child[i], &s);
	put_sum(p, i, &s);
}

/* Node n changed: bring the summaries of its ancestors up to date. */
void memory_set_tree_propagate(struct ms_node *n)
{
	struct ms_inner *p;

	while ((p = n->parent) != NULL) {
		unsigned i = child_index(p, n);
		struct ms_sum s;

		memory_set_tree_node_sum(n, &s);
		if (p->min[i] == s.min && p->last[i] == s.last &&
		    p->gap[i] == s.gap)
			return;
		put_sum(p, i, &s);
		n = &p->h;
	}
}

/* ---- Node memory ------------------------------------------------------ */

struct ms_spare {
	struct ms_spare *next;
};

/*
 * Spare nodes wait on a list. A lockless set keeps leaves and inner nodes on
 * lists of their own, so a node keeps its kind for its whole life: a reader
 * that reaches a stale node then finds node pointers where it reads them,
 * never a leaf's words.
 */
static void push_spare(struct memory_set *set, void *node, bool leaf)
{
	struct ms_spare *s = node;

	if (set->lockless && leaf) {
		s->next = set->spare_leaf;
		set->spare_leaf = s;
		set->nspare_leaf++;
	} else {
		s->next = set->spare;
		set->spare = s;
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

/* Take a reserved node: cannot fail. */
static inline struct ms_node *take_node(struct memory_set *set, bool leaf)
{
	struct ms_spare *s;
	struct ms_node *n;

	if (set->lockless && leaf) {
		s = set->spare_leaf;
		MEMORY_SET_ASSERT(s != NULL);
		set->spare_leaf = s->next;
		set->nspare_leaf--;
	} else {
		s = set->spare;
		MEMORY_SET_ASSERT(s != NULL);
		set->spare = s->next;
		set->nspare--;
	}
	n = (struct ms_node *)(void *)s;
	set->nodes++;
	n->parent = NULL;
	set_count(n, 0);
	MS_STORE(&n->leaf, (uint16_t)leaf);
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
		struct ms_spare *s = *list;

		*list = s->next;
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

/*
 * Nodes that inserting k (1 or 2) areas into leaf l may need. Inner nodes
 * are counted as if they received two children, so that the counts of two
 * insertions into different leaves may simply be added.
 */
unsigned memory_set_tree_nodes_needed(const struct ms_leaf *l, unsigned k)
{
	const struct ms_inner *p;
	unsigned need = 1;

	if (!l)
		return 1; /* a root leaf */
	if (l->h.count + k <= MS_LEAF_MAX)
		return 0;
	for (p = l->h.parent; p; p = p->h.parent) {
		if (p->h.count + 2 <= MS_INNER_MAX)
			return need;
		need++;
	}
	return need + 1; /* a new root */
}

/* ---- Lookup ----------------------------------------------------------- */

/*
 * The leaf that holds the last area starting at or before addr (the
 * leftmost leaf if none does), and in *pos the number of its areas starting
 * at or before addr. The tree must not be empty.
 *
 * Each node is bisected over its whole capacity in a fixed number of steps,
 * each a load and a compare whose outcome moves the probe without a branch,
 * so a random lookup mispredicts little and the steps unroll. Only the
 * tests against the count branch, and they go one way for every full node.
 */
_Static_assert(MS_INNER_MAX == 16, "inner search bisects 16 slots");
_Static_assert(MS_LEAF_MAX == 14, "leaf search bisects 14 slots");

/* The last child of p whose lowest start is at or below addr (the first
 * child if none). */
static inline unsigned inner_slot(const struct ms_inner *p, uint64_t addr)
{
	unsigned c = p->h.count, i = 0;

	i += (8 < c && p->min[i + 8] <= addr) * 8;
	i += (i + 4 < c && p->min[i + 4] <= addr) * 4;
	i += (i + 2 < c && p->min[i + 2] <= addr) * 2;
	i += (i + 1 < c && p->min[i + 1] <= addr);
	return i;
}

/* The number of areas of l starting at or before addr. */
static inline unsigned leaf_rank(const struct ms_leaf *l, uint64_t addr)
{
	const struct memory_area *a = l->a;
	unsigned c = l->h.count, i = 0;

	i += (7 < c && a[i + 7].start <= addr) * 7;
	i += (i + 3 < c && a[i + 3].start <= addr) * 3;
	i += (i + 2 < c && a[i + 2].start <= addr) * 2;
	i += (i + 1 < c && a[i + 1].start <= addr);
	return i + (a[i].start <= addr);
}

struct ms_leaf *memory_set_tree_locate(const struct memory_set *set,
				       uint64_t addr, unsigned *pos)
{
	const struct ms_node *n = set->root;
	unsigned depth = 0;

	for (; !n->leaf; depth++)
		n = ((const struct ms_inner *)n)->child[inner_slot(
			(const struct ms_inner *)n, addr)];
	if (depth >= MS_PREFETCH_DEPTH)
		memory_set_tree_prefetch_leaf(n);
	*pos = leaf_rank((const struct ms_leaf *)n, addr);
	return (struct ms_leaf *)n;
}

struct ms_leaf *memory_set_tree_leftmost(struct ms_node *n)
{
	while (!n->leaf)
		n = as_inner(n)->child[0];
	return as_leaf(n);
}

static struct ms_leaf *rightmost(struct ms_node *n)
{
	while (!n->leaf)
		n = as_inner(n)->child[n->count - 1];
	return as_leaf(n);
}

struct ms_leaf *memory_set_tree_next_leaf(const struct ms_leaf *l)
{
	const struct ms_node *n = &l->h;
	struct ms_inner *p;

	while ((p = n->parent) != NULL) {
		unsigned i = child_index(p, n);

		if (i + 1 < p->h.count)
			return memory_set_tree_leftmost(p->child[i + 1]);
		n = &p->h;
	}
	return NULL;
}

static struct ms_leaf *prev_leaf(const struct ms_leaf *l)
{
	const struct ms_node *n = &l->h;
	struct ms_inner *p;

	while ((p = n->parent) != NULL) {
		unsigned i = child_index(p, n);

		if (i > 0)
			return rightmost(p->child[i - 1]);
		n = &p->h;
	}
	return NULL;
}

/* The first area that ends at or after addr; false if there is none. */
bool memory_set_tree_first_from(const struct memory_set *set, uint64_t addr,
				struct ms_pos *at)
{
	unsigned pos;

	if (!set->root)
		return false;
	at->l = memory_set_tree_locate(set, addr, &pos);
	if (pos > 0 && area_last(&at->l->a[pos - 1]) >= addr)
		pos--;
	if (pos == at->l->h.count) {
		at->l = memory_set_tree_next_leaf(at->l);
		pos = 0;
	}
	at->i = pos;
	return at->l != NULL;
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
	if (dst != src)
		for (i = 0; i < n; i++)
			dst->child[di + i]->parent = dst;
}

static inline void inner_put(bool lk, struct ms_inner *p, unsigned i,
			     struct ms_node *c)
{
	inner_move(lk, p, i + 1, p, i, p->h.count - i);
	MS_STORE(&p->child[i], c);
	c->parent = p;
	set_count(&p->h, p->h.count + 1u);
}

/* The slot of node c in its parent brought up to date. */
static void set_own_slot(struct ms_node *c)
{
	set_slot(c->parent, child_index(c->parent, c));
}

/*
 * Put right at slot i of the full inner node p, next to left, by passing
 * p's first child to a left sibling with room, or its last to a right one,
 * as shift_insert() does for leaves: inner nodes then fill up instead of
 * staying half full after sequential insertions, and the tree is lower.
 * False if neither sibling has room.
 */
static bool inner_shift(struct memory_set *set, struct ms_inner *p,
			unsigned i, struct ms_node *left, struct ms_node *right)
{
	struct ms_inner *g = p->h.parent, *s;
	bool lk = set->lockless;
	unsigned j, js;

	if (!g)
		return false;
	j = child_index(g, &p->h);
	if (j > 0 && (s = as_inner(g->child[j - 1]))->h.count < MS_INNER_MAX) {
		inner_move(lk, s, s->h.count, p, 0, 1);
		set_count(&s->h, s->h.count + 1u);
		inner_move(lk, p, 0, p, 1, p->h.count - 1u);
		set_count(&p->h, p->h.count - 1u);
		inner_put(lk, p, i - 1, right);
		js = j - 1;
	} else if (j + 1 < g->h.count &&
		   (s = as_inner(g->child[j + 1]))->h.count < MS_INNER_MAX) {
		if (i == MS_INNER_MAX) {
			inner_put(lk, s, 0, right);
		} else {
			inner_move(lk, s, 1, s, 0, s->h.count);
			inner_move(lk, s, 0, p, MS_INNER_MAX - 1, 1);
			set_count(&s->h, s->h.count + 1u);
			set_count(&p->h, p->h.count - 1u);
			inner_put(lk, p, i, right);
		}
		js = j + 1;
	} else {
		return false;
	}
	/* The children's slots first: g's summaries are made of them. */
	set_own_slot(left);
	set_own_slot(right);
	set_slot(g, js);
	set_slot(g, j);
	memory_set_tree_propagate(&g->h);
	return true;
}

/* Put the new node right just after node left, which was split. */
static void insert_child(struct memory_set *set, struct ms_node *left,
			 struct ms_node *right)
{
	struct ms_inner *p = left->parent, *q;
	unsigned i, keep;

	if (!p) {
		p = as_inner(take_node(set, false));
		MS_STORE(&p->child[0], left);
		MS_STORE(&p->child[1], right);
		left->parent = right->parent = p;
		set_slot(p, 0);
		set_slot(p, 1);
		set_count(&p->h, 2);
		set_root(set, &p->h);
		set->height++;
		return;
	}
	i = child_index(p, left) + 1;
	if (p->h.count < MS_INNER_MAX) {
		inner_put(set->lockless, p, i, right);
		set_slot(p, i - 1);
		set_slot(p, i);
		memory_set_tree_propagate(&p->h);
		return;
	}
	if (inner_shift(set, p, i, left, right))
		return;
	/* Split p: the first keep slots stay, the rest go to q. */
	q = as_inner(take_node(set, false));
	keep = (MS_INNER_MAX + 1) / 2;
	if (i < keep) {
		inner_move(set->lockless, q, 0, p, keep - 1,
			   MS_INNER_MAX - keep + 1);
		set_count(&q->h, MS_INNER_MAX - keep + 1);
		set_count(&p->h, keep - 1);
		inner_put(set->lockless, p, i, right);
	} else {
		inner_move(set->lockless, q, 0, p, keep, MS_INNER_MAX - keep);
		set_count(&q->h, MS_INNER_MAX - keep);
		set_count(&p->h, keep);
		inner_put(set->lockless, q, i - keep, right);
	}
	set_own_slot(left);
	set_own_slot(right);
	insert_child(set, &p->h, &q->h);
}

/*
 * Insert *a at position pos of the full leaf l by passing its first area to
 * a left sibling with room, or its last to a right one: a split only when
 * both neighbours are full keeps leaves fuller (sequential maps fill them
 * whole). Both siblings share a parent, so a split later in the same
 * operation finds the nodes this one did not take. False if neither has
 * room.
 */
static bool shift_insert(bool lk, struct ms_leaf *l, unsigned pos,
			 const struct memory_area *a)
{
	struct ms_inner *p = l->h.parent;
	struct ms_leaf *s;
	unsigned i;

	if (!p)
		return false;
	i = child_index(p, &l->h);
	if (i > 0 && (s = as_leaf(p->child[i - 1]))->h.count < MS_LEAF_MAX) {
		if (pos == 0) {
			set_area(lk, &s->a[s->h.count], a);
		} else {
			set_area(lk, &s->a[s->h.count], &l->a[0]);
			move_areas(lk, &l->a[0], &l->a[1], pos - 1);
			set_area(lk, &l->a[pos - 1], a);
		}
		set_count(&s->h, s->h.count + 1u);
		set_slot(p, i - 1);
	} else if (i + 1 < p->h.count &&
		   (s = as_leaf(p->child[i + 1]))->h.count < MS_LEAF_MAX) {
		move_areas(lk, &s->a[1], &s->a[0], s->h.count);
		set_count(&s->h, s->h.count + 1u);
		if (pos == MS_LEAF_MAX) {
			set_area(lk, &s->a[0], a);
		} else {
			set_area(lk, &s->a[0], &l->a[MS_LEAF_MAX - 1]);
			move_areas(lk, &l->a[pos + 1], &l->a[pos],
				   MS_LEAF_MAX - 1 - pos);
			set_area(lk, &l->a[pos], a);
		}
		set_slot(p, i + 1);
	} else {
		return false;
	}
	set_slot(p, i);
	memory_set_tree_propagate(&p->h);
	return true;
}

/* Insert *a at position pos of leaf l (l NULL: the tree is empty). */
void memory_set_tree_leaf_insert(struct memory_set *set, struct ms_leaf *l,
				 unsigned pos,
				 const struct memory_area *a)
{
	bool lk = set->lockless;
	struct ms_leaf *r, *dst;
	unsigned keep;

	write_begin(set);

	set->count++;
	if (!l) {
		l = as_leaf(take_node(set, true));
		set_area(lk, &l->a[0], a);
		set_count(&l->h, 1);
		set_root(set, &l->h);
		set->height = 1;
		return;
	}
	if (l->h.count < MS_LEAF_MAX) {
		move_areas(lk, &l->a[pos + 1], &l->a[pos], l->h.count - pos);
		set_area(lk, &l->a[pos], a);
		set_count(&l->h, l->h.count + 1u);
		memory_set_tree_propagate(&l->h);
		return;
	}
	if (shift_insert(lk, l, pos, a))
		return;
	/* Split in halves; later shifts into the neighbours fill them up. */
	r = as_leaf(take_node(set, true));
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
	insert_child(set, &l->h, &r->h);
}

void memory_set_tree_leaf_insert2(struct memory_set *set, struct ms_leaf *l,
				  unsigned pos, const struct memory_area *a,
				  const struct memory_area *b)
{
	unsigned i;

	if (l->h.count + 2 > MS_LEAF_MAX) {
		memory_set_tree_leaf_insert(set, l, pos, a);
		l = memory_set_tree_locate(set, a->start, &i);
		memory_set_tree_leaf_insert(set, l, i, b);
		return;
	}
	write_begin(set);
	set->count += 2;
	move_areas(set->lockless, &l->a[pos + 2], &l->a[pos],
		   l->h.count - pos);
	set_area(set->lockless, &l->a[pos], a);
	set_area(set->lockless, &l->a[pos + 1], b);
	set_count(&l->h, l->h.count + 2u);
	memory_set_tree_propagate(&l->h);
}

/* ---- Removal ---------------------------------------------------------- */

/* Remove slot i of inner node p (the child itself is the caller's). */
static void inner_remove(bool lk, struct ms_inner *p, unsigned i)
{
	inner_move(lk, p, i, p, i + 1, p->h.count - i - 1);
	set_count(&p->h, p->h.count - 1u);
}

/* Move everything of right into left, its left neighbour. */
static void join_nodes(bool lk, struct ms_node *left, struct ms_node *right)
{
	if (left->leaf)
		copy_areas(lk, &as_leaf(left)->a[left->count],
			   as_leaf(right)->a, right->count);
	else
		inner_move(lk, as_inner(left), left->count, as_inner(right),
			   0, right->count);
	set_count(left, left->count + right->count);
	set_count(right, 0);
}

/* Even out two neighbours whose counts add up to more than a node holds. */
static void share_nodes(bool lk, struct ms_node *left, struct ms_node *right)
{
	unsigned total = left->count + right->count;
	unsigned want = total / 2, n;

	if (left->count > want) {
		n = left->count - want;
		if (left->leaf) {
			struct ms_leaf *l = as_leaf(left), *r = as_leaf(right);

			move_areas(lk, &r->a[n], r->a, r->h.count);
			copy_areas(lk, r->a, &l->a[want], n);
		} else {
			struct ms_inner *r = as_inner(right);

			inner_move(lk, r, n, r, 0, r->h.count);
			inner_move(lk, r, 0, as_inner(left), want, n);
		}
	} else {
		n = want - left->count;
		if (left->leaf) {
			struct ms_leaf *l = as_leaf(left), *r = as_leaf(right);

			copy_areas(lk, &l->a[l->h.count], r->a, n);
			move_areas(lk, r->a, &r->a[n], r->h.count - n);
		} else {
			struct ms_inner *l = as_inner(left), *r = as_inner(right);

			inner_move(lk, l, l->h.count, r, 0, n);
			inner_move(lk, r, 0, r, n, r->h.count - n);
		}
	}
	set_count(left, want);
	set_count(right, total - want);
}

/* Node n lost entries: restore fill bounds up the tree, and summaries. */
void memory_set_tree_rebalance(struct memory_set *set, struct ms_node *n)
{
	write_begin(set);
	for (;;) {
		struct ms_inner *p = n->parent;
		struct ms_node *left, *right;
		unsigned max, min, i;

		if (!p) {
			if (n->count == 0) {
				drop_node(set, n);
				set_root(set, NULL);
				set->height = 0;
			} else if (!n->leaf && n->count == 1) {
				set_root(set, as_inner(n)->child[0]);
				as_inner(n)->child[0]->parent = NULL;
				set->height--;
				drop_node(set, n);
			}
			return;
		}
		max = n->leaf ? MS_LEAF_MAX : MS_INNER_MAX;
		min = n->leaf ? MS_LEAF_MIN : MS_INNER_MIN;
		if (n->count >= min) {
			memory_set_tree_propagate(n);
			return;
		}
		i = child_index(p, n);
		if (i > 0) {
			left = p->child[i - 1];
			right = n;
			i--;
		} else {
			left = n;
			right = p->child[1];
		}
		if (left->count + right->count > max) {
			share_nodes(set->lockless, left, right);
			set_slot(p, i);
			set_slot(p, i + 1);
			memory_set_tree_propagate(&p->h);
			return;
		}
		join_nodes(set->lockless, left, right);
		inner_remove(set->lockless, p, i + 1);
		drop_node(set, right);
		set_slot(p, i);
		n = &p->h;
	}
}

/*
 * Remove the areas of leaf l from position pos on whose start is at most hi,
 * releasing them if asked; true if the run reached the leaf's end, so that
 * it may go on in the next leaf.
 */
static inline bool remove_in_leaf(struct memory_set *set, struct ms_leaf *l,
				  unsigned pos, uint64_t hi, bool release)
{
	unsigned end, k;
	bool more;

	for (end = pos; end < l->h.count && l->a[end].start <= hi; end++)
		if (release)
			release_area(&l->a[end]);
	more = end == l->h.count;
	k = end - pos;
	move_areas(set->lockless, &l->a[pos], &l->a[end], l->h.count - end);
	set_count(&l->h, l->h.count - k);
	set->count -= k;
	memory_set_tree_rebalance(set, &l->h);
	return more;
}

static void remove_range(struct memory_set *set, uint64_t lo, uint64_t hi,
			 bool release)
{
	write_begin(set);
	while (set->root) {
		struct ms_leaf *l;
		unsigned pos;

		l = memory_set_tree_locate(set, lo, &pos);
		if (pos > 0 && l->a[pos - 1].start == lo)
			pos--;
		if (pos == l->h.count) {
			l = memory_set_tree_next_leaf(l);
			if (!l)
				return;
			pos = 0;
		}
		if (l->a[pos].start > hi ||
		    !remove_in_leaf(set, l, pos, hi, release))
			return;
	}
}

void memory_set_tree_remove_range(struct memory_set *set, uint64_t lo,
				  uint64_t hi)
{
	remove_range(set, lo, hi, true);
}

void memory_set_tree_forget_range(struct memory_set *set, uint64_t lo,
				  uint64_t hi)
{
	remove_range(set, lo, hi, false);
}

void memory_set_tree_remove_from(struct memory_set *set,
				 const struct ms_pos *at, uint64_t hi)
{
	uint64_t lo = at_area(at)->start;

	write_begin(set);
	/* The rebalance may move what follows: find it again, by address. */
	if (remove_in_leaf(set, at->l, at->i, hi, true) && lo < hi)
		memory_set_tree_remove_range(set, lo + 1, hi);
}

/* Free every node of the subtree, releasing its areas if asked. */
void memory_set_tree_free_subtree(struct memory_set *set, struct ms_node *n,
				  bool release)
{
	unsigned i;

	if (n->leaf) {
		for (i = 0; release && i < n->count; i++)
			release_area(&as_leaf(n)->a[i]);
	} else {
		for (i = 0; i < n->count; i++)
			memory_set_tree_free_subtree(set, as_inner(n)->child[i], release);
	}
	if (set->lockless)
		drop_node(set, n); /* type-stable: kept until destroy */
	else {
		set->alloc->free(set->alloc_ctx, n, MEMORY_SET_NODE_SIZE);
		set->nodes--;
	}
}

/* ---- Free-space search ------------------------------------------------ */

struct ms_query {
	uint64_t lo, hi; /* the answer lies in [lo, hi], inclusive */
	uint64_t size, mask;
	uint64_t *out;
};

/* Lowest fit of the query inside the free range [gs, ge]. */
static bool fit_low(const struct ms_query *q, uint64_t gs, uint64_t ge)
{
	uint64_t a = gs > q->lo ? gs : q->lo;
	uint64_t top = ge < q->hi ? ge : q->hi;
	uint64_t r = a & q->mask;

	if (r) {
		if (a > U64_MAX - (q->mask + 1 - r))
			return false;
		a += q->mask + 1 - r;
	}
	if (a > top || top - a < q->size - 1)
		return false;
	*q->out = a;
	return true;
}

/* Highest fit of the query inside the free range [gs, ge]. */
static bool fit_high(const struct ms_query *q, uint64_t gs, uint64_t ge)
{
	uint64_t low = gs > q->lo ? gs : q->lo;
	uint64_t top = ge < q->hi ? ge : q->hi;
	uint64_t a;

	if (low > top || top - low < q->size - 1)
		return false;
	a = (top - (q->size - 1)) & ~q->mask;
	if (a < low)
		return false;
	*q->out = a;
	return true;
}

/* Lowest fit among the gaps between the areas of subtree n. */
static bool search_low(const struct ms_node *n, const struct ms_query *q)
{
	unsigned i;

	/* Every gap before the area or child where lo lies ends below lo. */
	if (n->leaf) {
		const struct ms_leaf *l = (const struct ms_leaf *)n;

		i = leaf_rank(l, q->lo);
		for (i = i ? i : 1; i < n->count; i++) {
			uint64_t gs = area_last(&l->a[i - 1]) + 1;
			uint64_t ge = l->a[i].start;

			if (gs > q->hi)
				return false;
			/* Too small a gap cannot fit, whatever the alignment. */
			if (ge - gs >= q->size && ge - 1 >= q->lo &&
			    fit_low(q, gs, ge - 1))
				return true;
		}
		return false;
	}
	for (i = inner_slot((const struct ms_inner *)n, q->lo); i < n->count;
	     i++) {
		const struct ms_inner *p = (const struct ms_inner *)n;

		if (i > 0) {
			uint64_t gs = p->last[i - 1] + 1, ge = p->min[i];

			if (gs > q->hi)
				return false;
			if (ge > gs && ge - 1 >= q->lo && fit_low(q, gs, ge - 1))
				return true;
		}
		if (p->min[i] >= q->hi)
			return false;
		if (p->last[i] <= q->lo || p->gap[i] < q->size)
			continue;
		if (search_low(p->child[i], q))
			return true;
	}
	return false;
}

/* Highest fit among the gaps between the areas of subtree n. */
static bool search_high(const struct ms_node *n, const struct ms_query *q)
{
	unsigned i;

	if (n->leaf) {
		const struct ms_leaf *l = (const struct ms_leaf *)n;

		/* Every gap after the area where hi lies starts above hi. */
		i = leaf_rank(l, q->hi);
		for (i = i < n->count ? i : n->count - 1u; i > 0; i--) {
			uint64_t gs = area_last(&l->a[i - 1]) + 1;
			uint64_t ge = l->a[i].start;

			if (ge <= q->lo)
				return false;
			if (ge > gs && gs <= q->hi && fit_high(q, gs, ge - 1))
				return true;
		}
		return false;
	}
	/* The gap after the child where hi lies may still hold hi. */
	i = inner_slot((const struct ms_inner *)n, q->hi) + 1;
	for (i = i < n->count ? i + 1 : (unsigned)n->count; i-- > 0;) {
		const struct ms_inner *p = (const struct ms_inner *)n;

		if (p->last[i] <= q->lo)
			return false;
		if (p->min[i] < q->hi && p->gap[i] >= q->size &&
		    search_high(p->child[i], q))
			return true;
		if (i > 0) {
			uint64_t gs = p->last[i - 1] + 1, ge = p->min[i];

			if (ge <= q->lo)
				return false;
			if (ge > gs && gs <= q->hi && fit_high(q, gs, ge - 1))
				return true;
		}
	}
	return false;
}

static bool query_ok(uint64_t size, uint64_t align, uint64_t first,
		     uint64_t last, const uint64_t *addr)
{
	return size && align && !(align & (align - 1)) && first <= last && addr;
}

enum mapping_error memory_set_find_free_area(const struct memory_set *set,
					     uint64_t hint, uint64_t size,
					     uint64_t align, uint64_t first,
					     uint64_t last, uint64_t *addr)
{
	struct ms_query q;
	struct ms_sum s;

	if (!query_ok(size, align, first, last, addr))
		return MAPPING_ERR_INVALID_PARAM;
	q.lo = hint > first ? hint : first;
	q.hi = last;
	q.size = size;
	q.mask = align - 1;
	q.out = addr;
	if (q.lo > q.hi)
		return MAPPING_ERR_NO_MEMORY;
	if (!set->root)
		return fit_low(&q, 0, U64_MAX) ? MAPPING_OK : MAPPING_ERR_NO_MEMORY;
	memory_set_tree_node_sum(set->root, &s);
	if (s.min > 0 && fit_low(&q, 0, s.min - 1))
		return MAPPING_OK;
	if (s.gap >= size && search_low(set->root, &q))
		return MAPPING_OK;
	if (s.last < U64_MAX && fit_low(&q, s.last + 1, U64_MAX))
		return MAPPING_OK;
	return MAPPING_ERR_NO_MEMORY;
}

enum mapping_error memory_set_find_free_area_top(const struct memory_set *set,
						 uint64_t hint, uint64_t size,
						 uint64_t align, uint64_t first,
						 uint64_t last, uint64_t *addr)
{
	struct ms_query q;
	struct ms_sum s;

	if (!query_ok(size, align, first, last, addr))
		return MAPPING_ERR_INVALID_PARAM;
	q.lo = first;
	q.hi = last;
	/* With a hint, the range must end at or below hint + size. */
	if (hint && hint <= U64_MAX - (size - 1) && hint + (size - 1) < last)
		q.hi = hint + (size - 1);
	q.size = size;
	q.mask = align - 1;
	q.out = addr;
	if (!set->root)
		return fit_high(&q, 0, U64_MAX) ? MAPPING_OK : MAPPING_ERR_NO_MEMORY;
	memory_set_tree_node_sum(set->root, &s);
	if (s.last < U64_MAX && fit_high(&q, s.last + 1, U64_MAX))
		return MAPPING_OK;
	if (s.gap >= size && search_high(set->root, &q))
		return MAPPING_OK;
	if (s.min > 0 && fit_high(&q, 0, s.min - 1))
		return MAPPING_OK;
	return MAPPING_ERR_NO_MEMORY;
}

/* ---- Duplicate ----------------------------------------------------- */

/* Copy the subtree n node by node into reserved nodes of dst, one memcpy
 * per node: dst has no lock-free readers. */
static struct ms_node *clone_plain(struct memory_set *dst,
				   const struct ms_node *n)
{
	struct ms_node *c = take_node(dst, n->leaf);
	unsigned i;

	if (n->leaf) {
		memcpy(c, n, sizeof(struct ms_leaf));
	} else {
		const struct ms_inner *p = (const struct ms_inner *)n;

		memcpy(c, n, sizeof(struct ms_inner));
		for (i = 0; i < n->count; i++) {
			struct ms_node *k = clone_plain(dst, p->child[i]);

			as_inner(c)->child[i] = k;
			k->parent = as_inner(c);
		}
	}
	c->parent = NULL;
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
	struct ms_node *c = take_node(dst, n->leaf);
	unsigned i;

	if (n->leaf) {
		memory_set_tree_put_areas(as_leaf(c)->a,
					  ((const struct ms_leaf *)n)->a,
					  n->count);
	} else {
		const struct ms_inner *p = (const struct ms_inner *)n;

		for (i = 0; i < n->count; i++) {
			struct ms_sum s = { p->min[i], p->last[i], p->gap[i] };
			struct ms_node *k = clone_words(dst, p->child[i]);

			put_sum(as_inner(c), i, &s);
			MS_STORE(&as_inner(c)->child[i], k);
			k->parent = as_inner(c);
		}
	}
	set_count(c, n->count);
	c->parent = NULL;
	return c;
}

struct ms_node *memory_set_tree_clone_subtree(struct memory_set *dst,
					      const struct ms_node *n)
{
	return dst->lockless ? clone_words(dst, n) : clone_plain(dst, n);
}

/* ---- Iteration -------------------------------------------------------- */

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
	it->set = set;
	it->leaf = NULL;
	it->index = 0;
	if (set->root) {
		struct ms_leaf *l = rightmost(set->root);

		it->leaf = l;
		it->index = l->h.count;
	}
}

const struct memory_area *memory_set_iter_next(struct memory_set_iter *it)
{
	const struct ms_leaf *l = it->leaf;

	if (!l)
		return NULL;
	if (it->index >= l->h.count) {
		const struct ms_leaf *n = memory_set_tree_next_leaf(l);

		if (!n)
			return NULL;
		it->leaf = l = n;
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
		const struct ms_leaf *p = prev_leaf(l);

		if (!p)
			return NULL;
		it->leaf = l = p;
		it->index = l->h.count;
	}
	return &l->a[--it->index];
}

