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

#define U64_MAX UINT64_MAX

static inline uint64_t area_last(const struct memory_area *a)
{
	return a->start + (a->size - 1);
}

static inline struct ms_leaf *as_leaf(struct ms_node *n)
{
	return (struct ms_leaf *)n;
}

static inline struct ms_inner *as_inner(struct ms_node *n)
{
	return (struct ms_inner *)n;
}

/* ---- Summaries -------------------------------------------------------- */

struct ms_sum {
	uint64_t min, last, gap;
};

static void node_sum(const struct ms_node *n, struct ms_sum *s)
{
	unsigned i;

	if (n->leaf) {
		const struct ms_leaf *l = (const struct ms_leaf *)n;

		s->min = l->a[0].start;
		s->last = area_last(&l->a[n->count - 1]);
		s->gap = 0;
		for (i = 1; i < n->count; i++) {
			uint64_t g = l->a[i].start - area_last(&l->a[i - 1]) - 1;

			if (g > s->gap)
				s->gap = g;
		}
	} else {
		const struct ms_inner *p = (const struct ms_inner *)n;

		s->min = p->min[0];
		s->last = p->last[n->count - 1];
		s->gap = p->gap[0];
		for (i = 1; i < n->count; i++) {
			uint64_t g = p->min[i] - p->last[i - 1] - 1;

			if (g > s->gap)
				s->gap = g;
			if (p->gap[i] > s->gap)
				s->gap = p->gap[i];
		}
	}
}

static unsigned child_index(const struct ms_inner *p, const struct ms_node *c)
{
	unsigned i = 0;

	while (p->child[i] != c)
		i++;
	return i;
}

static void set_slot(struct ms_inner *p, unsigned i)
{
	struct ms_sum s;

	node_sum(p->child[i], &s);
	p->min[i] = s.min;
	p->last[i] = s.last;
	p->gap[i] = s.gap;
}

/* Node n changed: bring the summaries of its ancestors up to date. */
static void propagate(struct ms_node *n)
{
	struct ms_inner *p;

	while ((p = n->parent) != NULL) {
		unsigned i = child_index(p, n);
		struct ms_sum s;

		node_sum(n, &s);
		if (p->min[i] == s.min && p->last[i] == s.last &&
		    p->gap[i] == s.gap)
			return;
		p->min[i] = s.min;
		p->last[i] = s.last;
		p->gap[i] = s.gap;
		n = &p->h;
	}
}

/* ---- Node memory ------------------------------------------------------ */

struct ms_spare {
	struct ms_spare *next;
};

/* Make sure at least need nodes are reserved. */
static bool reserve(struct memory_set *set, unsigned need)
{
	while (set->nspare < need) {
		struct ms_spare *s =
			set->alloc->alloc(set->alloc_ctx, MEMORY_SET_NODE_SIZE);

		if (!s)
			return false;
		s->next = set->spare;
		set->spare = s;
		set->nspare++;
	}
	return true;
}

/* Take a reserved node: cannot fail. */
static struct ms_node *take_node(struct memory_set *set, bool leaf)
{
	struct ms_spare *s = set->spare;
	struct ms_node *n = (struct ms_node *)(void *)s;

	MEMORY_SET_ASSERT(s != NULL);
	set->spare = s->next;
	set->nspare--;
	set->nodes++;
	n->parent = NULL;
	n->count = 0;
	n->leaf = leaf;
	return n;
}

static void drop_node(struct memory_set *set, struct ms_node *n)
{
	struct ms_spare *s = (struct ms_spare *)(void *)n;

	set->nodes--;
	s->next = set->spare;
	set->spare = s;
	set->nspare++;
}

/* Give back spare nodes beyond keep. */
static void trim_to(struct memory_set *set, unsigned keep)
{
	while (set->nspare > keep) {
		struct ms_spare *s = set->spare;

		set->spare = s->next;
		set->nspare--;
		set->alloc->free(set->alloc_ctx, s, MEMORY_SET_NODE_SIZE);
	}
}

/* Keep a few spare nodes for the next operation, so splits rarely allocate. */
static void trim(struct memory_set *set)
{
	trim_to(set, MS_SPARE_KEEP);
}

/*
 * Nodes that inserting k (1 or 2) areas into leaf l may need. Inner nodes
 * are counted as if they received two children, so that the counts of two
 * insertions into different leaves may simply be added.
 */
static unsigned nodes_needed(const struct ms_leaf *l, unsigned k)
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
 */
static struct ms_leaf *locate(const struct memory_set *set, uint64_t addr,
			      unsigned *pos)
{
	struct ms_node *n = set->root;
	unsigned lo, hi;

	while (!n->leaf) {
		const struct ms_inner *p = as_inner(n);

		/* The last child whose lowest start is at or below addr. */
		lo = 1;
		hi = n->count;
		while (lo < hi) {
			unsigned mid = (lo + hi) / 2;

			if (p->min[mid] <= addr)
				lo = mid + 1;
			else
				hi = mid;
		}
		n = p->child[lo - 1];
	}
	lo = 0;
	hi = n->count;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (as_leaf(n)->a[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return as_leaf(n);
}

static struct ms_leaf *leftmost(struct ms_node *n)
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

static struct ms_leaf *next_leaf(const struct ms_leaf *l)
{
	const struct ms_node *n = &l->h;
	struct ms_inner *p;

	while ((p = n->parent) != NULL) {
		unsigned i = child_index(p, n);

		if (i + 1 < p->h.count)
			return leftmost(p->child[i + 1]);
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

/* A position in the tree: area idx of leaf l (idx may equal the count). */
struct ms_pos {
	struct ms_leaf *l;
	unsigned i;
};

/* The first area that ends at or after addr; false if there is none. */
static bool first_from(const struct memory_set *set, uint64_t addr,
		       struct ms_pos *at)
{
	unsigned pos;

	if (!set->root)
		return false;
	at->l = locate(set, addr, &pos);
	if (pos > 0 && area_last(&at->l->a[pos - 1]) >= addr)
		pos--;
	if (pos == at->l->h.count) {
		at->l = next_leaf(at->l);
		pos = 0;
	}
	at->i = pos;
	return at->l != NULL;
}

/* Step to the next area; false at the end. */
static bool step(struct ms_pos *at)
{
	if (++at->i < at->l->h.count)
		return true;
	at->l = next_leaf(at->l);
	at->i = 0;
	return at->l != NULL;
}

static inline struct memory_area *at_area(const struct ms_pos *at)
{
	return &at->l->a[at->i];
}

/* ---- Insertion -------------------------------------------------------- */

/* Move n slots of inner node src from si to dst at di (regions may overlap). */
static void inner_move(struct ms_inner *dst, unsigned di, struct ms_inner *src,
		       unsigned si, unsigned n)
{
	unsigned i;

	memmove(&dst->min[di], &src->min[si], n * sizeof(uint64_t));
	memmove(&dst->last[di], &src->last[si], n * sizeof(uint64_t));
	memmove(&dst->gap[di], &src->gap[si], n * sizeof(uint64_t));
	memmove(&dst->child[di], &src->child[si], n * sizeof(struct ms_node *));
	if (dst != src)
		for (i = 0; i < n; i++)
			dst->child[di + i]->parent = dst;
}

static void inner_put(struct ms_inner *p, unsigned i, struct ms_node *c)
{
	inner_move(p, i + 1, p, i, p->h.count - i);
	p->child[i] = c;
	c->parent = p;
	p->h.count++;
}

/* Put the new node right just after node left, which was split. */
static void insert_child(struct memory_set *set, struct ms_node *left,
			 struct ms_node *right)
{
	struct ms_inner *p = left->parent, *q;
	unsigned i, keep;

	if (!p) {
		p = as_inner(take_node(set, false));
		p->h.count = 2;
		p->child[0] = left;
		p->child[1] = right;
		left->parent = right->parent = p;
		set_slot(p, 0);
		set_slot(p, 1);
		set->root = &p->h;
		set->height++;
		return;
	}
	i = child_index(p, left) + 1;
	if (p->h.count < MS_INNER_MAX) {
		inner_put(p, i, right);
		set_slot(p, i - 1);
		set_slot(p, i);
		propagate(&p->h);
		return;
	}
	/* Split p: the first keep slots stay, the rest go to q. */
	q = as_inner(take_node(set, false));
	keep = (MS_INNER_MAX + 1) / 2;
	if (i < keep) {
		inner_move(q, 0, p, keep - 1, MS_INNER_MAX - keep + 1);
		q->h.count = MS_INNER_MAX - keep + 1;
		p->h.count = keep - 1;
		inner_put(p, i, right);
	} else {
		inner_move(q, 0, p, keep, MS_INNER_MAX - keep);
		q->h.count = MS_INNER_MAX - keep;
		p->h.count = keep;
		inner_put(q, i - keep, right);
	}
	set_slot(left->parent, child_index(left->parent, left));
	set_slot(right->parent, child_index(right->parent, right));
	insert_child(set, &p->h, &q->h);
}

/* Insert *a at position pos of leaf l (l NULL: the tree is empty). */
static void leaf_insert(struct memory_set *set, struct ms_leaf *l, unsigned pos,
			const struct memory_area *a)
{
	struct ms_leaf *r, *dst;
	unsigned keep;

	set->count++;
	if (!l) {
		l = as_leaf(take_node(set, true));
		l->a[0] = *a;
		l->h.count = 1;
		set->root = &l->h;
		set->height = 1;
		return;
	}
	if (l->h.count < MS_LEAF_MAX) {
		memmove(&l->a[pos + 1], &l->a[pos],
			(l->h.count - pos) * sizeof(*a));
		l->a[pos] = *a;
		l->h.count++;
		propagate(&l->h);
		return;
	}
	/*
	 * Split. Appending at the end (or the start) of a leaf is how address
	 * spaces grow, so then the old leaf keeps most areas and sequential
	 * maps leave leaves well filled.
	 */
	r = as_leaf(take_node(set, true));
	if (pos == MS_LEAF_MAX)
		keep = MS_LEAF_MAX + 1 - MS_LEAF_MIN;
	else if (pos == 0)
		keep = MS_LEAF_MIN;
	else
		keep = (MS_LEAF_MAX + 1) / 2;
	if (pos < keep) {
		memcpy(r->a, &l->a[keep - 1],
		       (MS_LEAF_MAX - keep + 1) * sizeof(*a));
		r->h.count = MS_LEAF_MAX - keep + 1;
		l->h.count = keep - 1;
		dst = l;
	} else {
		memcpy(r->a, &l->a[keep], (MS_LEAF_MAX - keep) * sizeof(*a));
		r->h.count = MS_LEAF_MAX - keep;
		l->h.count = keep;
		dst = r;
		pos -= keep;
	}
	memmove(&dst->a[pos + 1], &dst->a[pos],
		(dst->h.count - pos) * sizeof(*a));
	dst->a[pos] = *a;
	dst->h.count++;
	insert_child(set, &l->h, &r->h);
}

/* ---- Removal ---------------------------------------------------------- */

static void release_area(const struct memory_area *a)
{
	if (a->backend.ops->release)
		a->backend.ops->release(a->backend.data, a->start, a->size);
}

/* Remove slot i of inner node p (the child itself is the caller's). */
static void inner_remove(struct ms_inner *p, unsigned i)
{
	inner_move(p, i, p, i + 1, p->h.count - i - 1);
	p->h.count--;
}

/* Move everything of right into left, its left neighbour. */
static void join_nodes(struct ms_node *left, struct ms_node *right)
{
	if (left->leaf)
		memcpy(&as_leaf(left)->a[left->count], as_leaf(right)->a,
		       right->count * sizeof(struct memory_area));
	else
		inner_move(as_inner(left), left->count, as_inner(right), 0,
			   right->count);
	left->count += right->count;
	right->count = 0;
}

/* Even out two neighbours whose counts add up to more than a node holds. */
static void share_nodes(struct ms_node *left, struct ms_node *right)
{
	unsigned total = left->count + right->count;
	unsigned want = total / 2, n;

	if (left->count > want) {
		n = left->count - want;
		if (left->leaf) {
			struct ms_leaf *l = as_leaf(left), *r = as_leaf(right);

			memmove(&r->a[n], r->a, r->h.count * sizeof(r->a[0]));
			memcpy(r->a, &l->a[want], n * sizeof(r->a[0]));
		} else {
			struct ms_inner *r = as_inner(right);

			inner_move(r, n, r, 0, r->h.count);
			inner_move(r, 0, as_inner(left), want, n);
		}
	} else {
		n = want - left->count;
		if (left->leaf) {
			struct ms_leaf *l = as_leaf(left), *r = as_leaf(right);

			memcpy(&l->a[l->h.count], r->a, n * sizeof(r->a[0]));
			memmove(r->a, &r->a[n],
				(r->h.count - n) * sizeof(r->a[0]));
		} else {
			struct ms_inner *l = as_inner(left), *r = as_inner(right);

			inner_move(l, l->h.count, r, 0, n);
			inner_move(r, 0, r, n, r->h.count - n);
		}
	}
	left->count = (uint16_t)want;
	right->count = (uint16_t)(total - want);
}

/* Node n lost entries: restore fill bounds up the tree, and summaries. */
static void rebalance(struct memory_set *set, struct ms_node *n)
{
	for (;;) {
		struct ms_inner *p = n->parent;
		struct ms_node *left, *right;
		unsigned max, min, i;

		if (!p) {
			if (n->count == 0) {
				drop_node(set, n);
				set->root = NULL;
				set->height = 0;
			} else if (!n->leaf && n->count == 1) {
				set->root = as_inner(n)->child[0];
				as_inner(n)->child[0]->parent = NULL;
				set->height--;
				drop_node(set, n);
			}
			return;
		}
		max = n->leaf ? MS_LEAF_MAX : MS_INNER_MAX;
		min = n->leaf ? MS_LEAF_MIN : MS_INNER_MIN;
		if (n->count >= min) {
			propagate(n);
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
			share_nodes(left, right);
			set_slot(p, i);
			set_slot(p, i + 1);
			propagate(&p->h);
			return;
		}
		join_nodes(left, right);
		inner_remove(p, i + 1);
		drop_node(set, right);
		set_slot(p, i);
		n = &p->h;
	}
}

/* Remove, and release, every area whose start lies in [lo, hi]. */
static void remove_range(struct memory_set *set, uint64_t lo, uint64_t hi)
{
	while (set->root) {
		struct ms_leaf *l;
		unsigned pos, end, k;

		l = locate(set, lo, &pos);
		if (pos > 0 && l->a[pos - 1].start == lo)
			pos--;
		if (pos == l->h.count) {
			l = next_leaf(l);
			if (!l)
				return;
			pos = 0;
		}
		if (l->a[pos].start > hi)
			return;
		for (end = pos; end < l->h.count && l->a[end].start <= hi; end++)
			release_area(&l->a[end]);
		k = end - pos;
		memmove(&l->a[pos], &l->a[end],
			(l->h.count - end) * sizeof(l->a[0]));
		l->h.count = (uint16_t)(l->h.count - k);
		set->count -= k;
		rebalance(set, &l->h);
	}
}

/* Free every node of the subtree, releasing its areas if asked. */
static void free_subtree(struct memory_set *set, struct ms_node *n,
			 bool release)
{
	unsigned i;

	if (n->leaf) {
		for (i = 0; release && i < n->count; i++)
			release_area(&as_leaf(n)->a[i]);
	} else {
		for (i = 0; i < n->count; i++)
			free_subtree(set, as_inner(n)->child[i], release);
	}
	set->alloc->free(set->alloc_ctx, n, MEMORY_SET_NODE_SIZE);
	set->nodes--;
}

/* ---- Merging ---------------------------------------------------------- */

static bool mergeable(const struct memory_area *a, const struct memory_area *b)
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

	if (!set->merge || !first_from(set, lo ? lo - 1 : 0, &at))
		return;
	for (;;) {
		struct memory_area *a = at_area(&at), grown;
		struct ms_pos nx = at;
		uint64_t first_gone;

		if (a->start > hi || !step(&nx))
			return;
		if (!mergeable(a, at_area(&nx))) {
			at = nx;
			continue;
		}
		/* Grow a copy over the whole run, then commit it at once. */
		grown = *a;
		first_gone = at_area(&nx)->start;
		do {
			grown.size += at_area(&nx)->size;
		} while (step(&nx) && mergeable(&grown, at_area(&nx)));
		a->size = grown.size;
		propagate(&at.l->h);
		remove_range(set, first_gone, area_last(a));
		if (!first_from(set, grown.start, &at))
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

static void after_mutation(struct memory_set *set)
{
	trim(set);
	MEMORY_SET_ASSERT(memory_set_check(set) == NULL);
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

	if (!first_from(set, s, &at))
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

	if (l && mergeable(l, n)) {
		run = *l;
		run.size += n->size;
		m++;
	}
	if (r && mergeable(&run, r))
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

enum mapping_error memory_set_init(struct memory_set *set,
				   const struct memory_set_options *opts)
{
	const struct memory_set_allocator *al;
	uint64_t g;

	/* The first version of the options ended just before max_areas. */
	if (!set || !opts ||
	    (opts->size != offsetof(struct memory_set_options, max_areas) &&
	     opts->size < sizeof(*opts)))
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
	if (opts->size >= sizeof(*opts))
		set->max_areas = opts->max_areas;
	return MAPPING_OK;
}

void memory_set_destroy(struct memory_set *set)
{
	if (!set || !set->alloc)
		return;
	if (set->root)
		free_subtree(set, set->root, true);
	set->root = NULL;
	set->count = 0;
	set->height = 0;
	trim_to(set, 0);
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
	return (set->nodes + set->nspare) * (uint64_t)MEMORY_SET_NODE_SIZE;
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
	l = locate(set, addr, &pos);
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

	if (size == 0 || !set->root)
		return false;
	last = size - 1 > U64_MAX - start ? U64_MAX : start + (size - 1);
	l = locate(set, last, &pos);
	return pos > 0 && area_last(&l->a[pos - 1]) >= start;
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

	if (n->leaf) {
		const struct ms_leaf *l = (const struct ms_leaf *)n;

		for (i = 1; i < n->count; i++) {
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
	for (i = 0; i < n->count; i++) {
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

		for (i = n->count - 1; i > 0; i--) {
			uint64_t gs = area_last(&l->a[i - 1]) + 1;
			uint64_t ge = l->a[i].start;

			if (ge <= q->lo)
				return false;
			if (ge > gs && gs <= q->hi && fit_high(q, gs, ge - 1))
				return true;
		}
		return false;
	}
	for (i = n->count; i-- > 0;) {
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
	node_sum(set->root, &s);
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
	node_sum(set->root, &s);
	if (s.last < U64_MAX && fit_high(&q, s.last + 1, U64_MAX))
		return MAPPING_OK;
	if (s.gap >= size && search_high(set->root, &q))
		return MAPPING_OK;
	if (s.min > 0 && fit_high(&q, 0, s.min - 1))
		return MAPPING_OK;
	return MAPPING_ERR_NO_MEMORY;
}

/* ---- Unmap ------------------------------------------------------------ */

/*
 * Remove [s, t] from the tree (the page table no longer maps it). rdata is
 * the data for the part of an area reaching past t, made by split_data().
 * With fill, the first area lying wholly inside the range is overwritten
 * with *fill (which starts at s) instead of being removed. Needs one
 * reserved node when an area lies around the range; removals need none.
 */
static void cut_range(struct memory_set *set, uint64_t s, uint64_t t,
		      void *rdata, const struct memory_area *fill)
{
	struct ms_pos at;
	struct memory_area *a;
	struct ms_leaf *l;
	unsigned pos;

	if (!first_from(set, s, &at) || at_area(&at)->start > t)
		return;
	a = at_area(&at);
	if (a->start < s) {
		if (area_last(a) > t) {
			/* Around: keep [a->start, s) and (t, last]. */
			struct memory_area right = *a;

			right.start = t + 1;
			right.size = area_last(a) - t;
			right.backend.data = rdata;
			a->size = s - a->start;
			propagate(&at.l->h);
			leaf_insert(set, at.l, at.i + 1, &right);
			return;
		}
		a->size = s - a->start;
		propagate(&at.l->h);
	}
	/* The last area starting in range may reach past t: keep its end. */
	l = locate(set, t, &pos);
	a = &l->a[pos - 1];
	if (a->start >= s && area_last(a) > t) {
		uint64_t cut = t + 1 - a->start;

		drop_data(a, a->backend.data, a->start, cut);
		a->backend.data = rdata;
		a->start = t + 1;
		a->size -= cut;
		propagate(&l->h);
	}
	if (fill && first_from(set, s, &at) && at_area(&at)->start <= t) {
		release_area(at_area(&at));
		*at_area(&at) = *fill;
		propagate(&at.l->h);
		if (s < t)
			remove_range(set, s + 1, t);
		return;
	}
	remove_range(set, s, t);
}

/* The area that meets [s, t] and reaches past t (it is cut at t + 1), or NULL. */
static const struct memory_area *cut_past(const struct memory_set *set,
					  uint64_t s, uint64_t t)
{
	struct ms_leaf *l;
	unsigned pos;

	if (!set->root)
		return NULL;
	l = locate(set, t, &pos);
	if (pos == 0 || area_last(&l->a[pos - 1]) <= t ||
	    area_last(&l->a[pos - 1]) < s)
		return NULL;
	return &l->a[pos - 1];
}

/*
 * Call the unmap hook for each piece of [s, t], in address order. On a
 * failure, take the pieces already unmapped out of the tree, drop rdata
 * (made for rarea) and return the error.
 */
static enum mapping_error unmap_pieces(struct memory_set *set, uint64_t s,
				       uint64_t t, void *page_table,
				       void *rdata,
				       const struct memory_area *rarea)
{
	struct ms_pos at;

	if (!first_from(set, s, &at))
		return MAPPING_OK;
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
			if (ps > s)
				cut_range(set, s, ps - 1, NULL, NULL);
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
	void *rdata = NULL;
	uint64_t t;

	if (!range_ok(set, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (size == 0)
		return MAPPING_OK;
	t = start + (size - 1);
	rarea = cut_past(set, start, t);
	if (rarea) {
		struct ms_leaf *l;
		unsigned pos;

		/* Only an area around the range makes one more area. */
		l = locate(set, t, &pos);
		if (rarea->start < start &&
		    (over_limit(set, set->count + 1) ||
		     !reserve(set, nodes_needed(l, 1))))
			err = MAPPING_ERR_NO_MEMORY;
		else
			err = split_data(rarea, t + 1 - rarea->start, &rdata);
	}
	if (err == MAPPING_OK)
		err = unmap_pieces(set, start, t, page_table, rdata, rarea);
	if (err == MAPPING_OK)
		cut_range(set, start, t, rdata, NULL);
	after_mutation(set);
	return err;
}

/* ---- Map -------------------------------------------------------------- */

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
		return leftmost(set->root);
	return locate(set, s - 1, pos);
}

enum mapping_error memory_set_map(struct memory_set *set, uint64_t start,
				  uint64_t size, uint64_t flags,
				  const struct mapping_backend *backend,
				  void *page_table, bool unmap_overlap)
{
	struct memory_area na;
	const struct memory_area *rarea = NULL;
	struct ms_leaf *l = NULL;
	struct ms_pos at;
	uint64_t t, after = 0;
	unsigned pos = 0, k = 1;
	void *rdata = NULL;
	enum mapping_error err = MAPPING_OK;
	bool overlap, covered = false, exact = false;

	if (size == 0 || !range_ok(set, start, size) || !backend_ok(backend))
		return MAPPING_ERR_INVALID_PARAM;
	t = start + (size - 1);
	/* One descent finds the slot and both neighbours. */
	l = insert_pos(set, start, &pos);
	overlap = false;
	if (l) {
		const struct ms_leaf *nl = l;
		unsigned ni = pos;

		if (pos > 0 && area_last(&l->a[pos - 1]) >= start)
			overlap = true;
		if (ni == l->h.count) {
			nl = next_leaf(l);
			ni = 0;
		}
		if (nl && nl->a[ni].start <= t)
			overlap = true;
	}
	if (overlap && !unmap_overlap)
		return MAPPING_ERR_ALREADY_EXISTS;

	/*
	 * The new area takes the slot of the first area lying wholly inside
	 * the range when there is one, so the tree never removes and inserts
	 * in one operation and the nodes reserved here always suffice.
	 */
	if (overlap) {
		first_from(set, start, &at);
		if (at_area(&at)->start < start && area_last(at_area(&at)) > t)
			k = 2; /* around */
		else if (at_area(&at)->start >= start || step(&at))
			covered = at_area(&at)->start <= t &&
				  area_last(at_area(&at)) <= t;
		rarea = cut_past(set, start, t);
	}
	na.start = start;
	na.size = size;
	na.flags = flags;
	na.backend = *backend;
	if (over_limit(set, set->count + k)) {
		after = set->count + k;
		if (overlap)
			after -= count_inside(set, start, t);
		exact = over_limit(set, after);
		if (exact && !set->merge) {
			err = MAPPING_ERR_NO_MEMORY;
			goto out;
		}
	}
	if (!covered && !reserve(set, nodes_needed(l, k))) {
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
	if (overlap) {
		err = unmap_pieces(set, start, t, page_table, rdata, rarea);
		if (err != MAPPING_OK)
			goto out;
	}
	err = backend->ops->map(backend->data, start, size, flags, page_table);
	if (err != MAPPING_OK) {
		cut_range(set, start, t, rdata, NULL);
		goto out;
	}
	if (covered) {
		cut_range(set, start, t, rdata, &na);
	} else {
		if (overlap) {
			cut_range(set, start, t, rdata, NULL);
			l = insert_pos(set, start, &pos);
		}
		leaf_insert(set, l, pos, &na);
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
};

/* Give the piece of the area at *at inside [s, t] the flags nf in the tree. */
static void protect_commit(struct memory_set *set, struct ms_protect *pr,
			       struct ms_pos *at, uint64_t nf)
{
	struct memory_area *a = at_area(at), piece, rest;
	uint64_t last = area_last(a);
	bool cut_left = a->start < pr->s, cut_right = last > pr->t;

	if (!cut_left && !cut_right) {
		a->flags = nf;
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
		a->size = pr->s - a->start;
		propagate(&at->l->h);
		leaf_insert(set, at->l, at->i + 1, &piece);
		pr->mid = NULL;
		pr->first = NULL;
		if (cut_right) {
			struct ms_leaf *l;
			unsigned pos;

			l = locate(set, pr->s, &pos);
			leaf_insert(set, l, pos, &rest);
			pr->right = NULL;
			pr->last = NULL;
		}
		return;
	}
	a->size = pr->t - a->start + 1;
	a->flags = nf;
	propagate(&at->l->h);
	leaf_insert(set, at->l, at->i + 1, &rest);
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

	if (!first_from(set, pr->s ? pr->s - 1 : 0, &at))
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
			if (have && run.start <= pr->t && mergeable(&run, &pc[i])) {
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
	if (!first_from(set, pr->s, &at) || at_area(&at)->start > pr->t)
		return MAPPING_OK;
	a = at_area(&at);
	if (a->start < pr->s && new_flags(pr->update, pr->ctx, a, &nf)) {
		kf = area_last(a) > pr->t ? 2 : 1;
		fl = at.l;
		need += nodes_needed(fl, kf);
	}
	l = locate(set, pr->t, &pos);
	b = &l->a[pos - 1];
	if (kf != 2 && area_last(b) > pr->t &&
	    (b != a || a->start >= pr->s) &&
	    new_flags(pr->update, pr->ctx, b, &nf)) {
		ll = l;
		/* Two cuts in one leaf: count them together. */
		need = ll == fl ? nodes_needed(ll, kf + 1) :
				  need + nodes_needed(ll, 1);
	}
	pr->after = set->count + kf + (ll != NULL);
	if (over_limit(set, pr->after) && !set->merge)
		return MAPPING_ERR_NO_MEMORY;
	if (!reserve(set, need))
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

			first_from(set, ps, &at);
			pr->t = stop - 1;
			protect_commit(set, pr, &at, nf);
			if (back == 0 || !first_from(set, back, &at))
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

	/* Page table first, tree untouched, so a failure can be undone. */
	if (first_from(set, pr.s, &at)) {
		do {
			const struct memory_area *a = at_area(&at);
			uint64_t nf, ps, psize;

			if (a->start > pr.t)
				break;
			if (!new_flags(update, ctx, a, &nf))
				continue;
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

	/* Commit: every change lands; cuts insert, so find our place anew. */
	if (first_from(set, pr.s, &at)) {
		for (;;) {
			struct memory_area *a = at_area(&at);
			uint64_t nf, last = area_last(a);

			if (a->start > pr.t)
				break;
			if (new_flags(update, ctx, a, &nf)) {
				if (a->start >= pr.s && last <= pr.t) {
					a->flags = nf;
				} else {
					protect_commit(set, &pr, &at, nf);
					if (last == U64_MAX ||
					    !first_from(set, last + 1, &at))
						break;
					continue;
				}
			}
			if (!step(&at))
				break;
		}
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
static bool covered(const struct memory_set *set, uint64_t start,
		    uint64_t size, uint64_t mask)
{
	uint64_t t = start + (size - 1), cur = start;
	struct ms_pos at;

	if (!first_from(set, start, &at))
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
	if (size == 0 || covered(set, start, size, mask))
		return MAPPING_OK;
	return MAPPING_ERR_BAD_STATE;
}

enum mapping_error memory_set_unmap_strict(struct memory_set *set,
					   uint64_t start, uint64_t size,
					   void *page_table)
{
	if (!range_ok(set, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (size && !covered(set, start, size, 0))
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
	if (size && !covered(set, start, size, 0))
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

enum mapping_error memory_set_handle_fault(const struct memory_set *set,
					   uint64_t addr, uint64_t access,
					   void *page_table,
					   const struct memory_area **area)
{
	const struct memory_area *a = memory_set_find(set, addr);
	const struct mapping_backend_ops *o;
	uint64_t need = access & (MAPPING_ACCESS_USER - 1);

	if (area)
		*area = a;
	if (!a)
		return MAPPING_ERR_BAD_STATE;
	o = a->backend.ops;
	if (has_v2(o) && o->fault)
		return o->fault(a->backend.data, a, addr, access, page_table);
	return (a->flags & need) == need ? MAPPING_OK :
					   MAPPING_ERR_ACCESS_DENIED;
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
	l = locate(set, start, &pos);
	l->a[pos - 1].size += grow;
	propagate(&l->h);
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

	l = locate(set, s, &pos);
	a = &l->a[pos - 1];
	last = area_last(a);
	if (a->start < s) {
		struct memory_area right = *a;

		a->size = s - a->start;
		propagate(&l->h);
		if (last > e) {
			right.start = e + 1;
			right.size = last - e;
			right.backend.data = rdata;
			leaf_insert(set, l, pos, &right);
		}
		return;
	}
	if (last > e) {
		if (!keep)
			drop_data(a, a->backend.data, a->start, e + 1 - a->start);
		a->backend.data = rdata;
		a->size -= e + 1 - a->start;
		a->start = e + 1;
		propagate(&l->h);
		return;
	}
	if (!keep)
		release_area(a);
	memmove(a, a + 1, (l->h.count - pos) * sizeof(*a));
	l->h.count--;
	set->count--;
	rebalance(set, &l->h);
}

/*
 * A move, planned: the old range [s, ol] lies in area ap as the area will
 * be once the target [ns, nt] is cut; the split() data made for it.
 */
struct ms_move {
	uint64_t s, ol, ns, nt, size, new_size;
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
	struct ms_leaf *leaf[3];
	unsigned k[3], n = 0, i, j, need = 0, splits = 0, pos, add;

	if (mv->rarea && mv->rarea->start < mv->ns) {
		leaf[n] = locate(set, mv->rarea->start, &pos);
		k[n++] = 1;
	}
	/* Parts of ap stay on both sides of the old range, or of its tail. */
	if (area_last(&mv->ap) > mv->ol &&
	    (mv->ap.start < mv->s || mv->new_size < mv->size)) {
		leaf[n] = locate(set, a->start, &pos);
		k[n++] = 1;
	}
	leaf[n] = insert_pos(set, mv->ns, &pos);
	k[n++] = 1;
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
		add = nodes_needed(leaf[i], k[i]);
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
	const struct memory_area *x;

	*hl = left_of(set, mv->ns, l);
	if (*hl && (x = memory_set_find(set, mv->ns - 1)) == a &&
	    mv->ns - 1 >= mv->s) {
		/* Target above the old range inside a: ap's part past ol. */
		*hl = mv->ns - 1 > mv->ol;
		l->start = mv->ol + 1;
		l->size = mv->ns - 1 - mv->ol;
		l->backend.data = mv->right;
	}
	*hr = right_of(set, mv->nt, mv->rdata, r);
	if (*hr && (x = memory_set_find(set, mv->nt + 1)) == a &&
	    mv->nt + 1 <= mv->s) {
		/* Target below the old range inside a: ap's part before s. */
		*hr = mv->nt + 1 < mv->s;
		r->size = mv->s - r->start;
	}
}

/* The default move: unmap the old range, map the new one. */
static enum mapping_error move_pages(const struct ms_move *mv, uint64_t n,
				     void *page_table, bool *old_gone)
{
	const struct mapping_backend_ops *o = mv->ap.backend.ops;
	enum mapping_error err;

	if (has_v2(o) && o->move)
		return o->move(mv->mid, mv->s, mv->ns, n, mv->ap.flags,
			       page_table);
	err = o->unmap(mv->ap.backend.data, mv->s, n, page_table);
	if (err != MAPPING_OK)
		return err;
	err = o->map(mv->mid, mv->ns, n, mv->ap.flags, page_table);
	*old_gone = err != MAPPING_OK;
	return err;
}

static enum mapping_error move_plan(struct memory_set *set,
				    struct ms_move *mv,
				    const struct memory_area *a)
{
	uint64_t after;
	bool exact, target = memory_set_overlaps(set, mv->ns, mv->new_size);
	enum mapping_error err;

	mv->ap = *a;
	mv->rarea = target ? cut_past(set, mv->ns, mv->nt) : NULL;
	mv->rdata = NULL;
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
		if (target)
			after -= count_inside(set, mv->ns, mv->nt);
		exact = over_limit(set, after);
		if (exact && !set->merge)
			return MAPPING_ERR_NO_MEMORY;
	}
	if (!reserve(set, move_nodes(set, mv, a)))
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
	bool old_gone = false;
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
	if (memory_set_overlaps(set, mv.ns, new_size)) {
		err = unmap_pieces(set, mv.ns, mv.nt, page_table, mv.rdata,
				   mv.rarea);
		if (err != MAPPING_OK) {
			move_drop(&mv);
			goto out;
		}
		cut_range(set, mv.ns, mv.nt, mv.rdata, NULL);
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
	}
	/* 3. The pages, then 4. the rest of a larger new range. */
	err = move_pages(&mv, moved, page_table, &old_gone);
	if (err != MAPPING_OK) {
		if (old_gone)
			remove_piece(set, start, start + moved - 1, mv.right,
				     false);
		else if (mv.made_right)
			drop_data(&mv.ap, mv.right, mv.ol + 1,
				  area_last(&mv.ap) - mv.ol);
		mv.made_right = false;
		move_drop(&mv);
		goto out;
	}
	if (moved < new_size &&
	    o->map(mv.mid, new_start + moved, new_size - moved, mv.ap.flags,
		   page_table) != MAPPING_OK)
		new_size = moved; /* the area moved but did not grow */
	remove_piece(set, start, start + moved - 1, mv.right, true);
	na = mv.ap;
	na.start = new_start;
	na.size = new_size;
	na.backend.data = mv.mid;
	l = insert_pos(set, new_start, &pos);
	leaf_insert(set, l, pos, &na);
	merge_window(set, new_start, new_start + (new_size - 1));
out:
	after_mutation(set);
	return err;
}

/* ---- Duplicate -------------------------------------------------------- */

/* Copy the subtree n node by node into reserved nodes of dst. */
static struct ms_node *clone_subtree(struct memory_set *dst,
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
			struct ms_node *k = clone_subtree(dst, p->child[i]);

			as_inner(c)->child[i] = k;
			k->parent = as_inner(c);
		}
	}
	c->parent = NULL;
	return c;
}

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
		a->backend.data = child;
	return err;
}

/* Undo the areas duplicated before the one at fail, then empty dst. */
static void dup_undo(struct memory_set *dst, struct ms_pos fail, void *dst_pt)
{
	struct memory_set_iter it;
	const struct memory_area *a;

	it.set = dst;
	it.leaf = fail.l;
	it.index = fail.i;
	while ((a = memory_set_iter_prev(&it)) != NULL) {
		(void)a->backend.ops->unmap(a->backend.data, a->start, a->size,
					    dst_pt);
		release_area(a);
	}
	free_subtree(dst, dst->root, false);
	dst->root = NULL;
	dst->count = 0;
	dst->height = 0;
	trim_to(dst, 0);
}

enum mapping_error memory_set_dup(struct memory_set *dst,
				  const struct memory_set *src,
				  void *src_page_table, void *dst_page_table)
{
	struct ms_pos at;
	enum mapping_error err;

	if (!dst || !src || dst == src || !dst->alloc || dst->root)
		return MAPPING_ERR_INVALID_PARAM;
	dst->granule = src->granule;
	dst->merge = src->merge;
	dst->max_areas = src->max_areas;
	if (!src->root)
		return MAPPING_OK;
	if (src->nodes > UINT32_MAX || !reserve(dst, (unsigned)src->nodes)) {
		trim_to(dst, 0);
		return MAPPING_ERR_NO_MEMORY;
	}
	dst->root = clone_subtree(dst, src->root);
	dst->count = src->count;
	dst->height = src->height;
	first_from(dst, 0, &at);
	do {
		err = dup_area(at_area(&at), src_page_table, dst_page_table);
		if (err != MAPPING_OK) {
			dup_undo(dst, at, dst_page_table);
			return err;
		}
	} while (step(&at));
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

	if (first_from(set, 0, &at)) {
		do {
			const struct memory_area *a = at_area(&at);

			err = a->backend.ops->unmap(a->backend.data, a->start,
						    a->size, page_table);
			if (err != MAPPING_OK) {
				if (a->start > 0)
					remove_range(set, 0, a->start - 1);
				goto out;
			}
		} while (step(&at));
	}
	if (set->root)
		free_subtree(set, set->root, true);
	set->root = NULL;
	set->count = 0;
	set->height = 0;
out:
	after_mutation(set);
	return err;
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
	l = locate(set, addr, &pos);
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
		const struct ms_leaf *n = next_leaf(l);

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

/* ---- Invariant checker ------------------------------------------------ */

struct ms_walk {
	const struct memory_set *set;
	const struct memory_area *prev;
	uint64_t areas, nodes;
	unsigned leaf_depth;
};

static const char *check_node(struct ms_walk *w, const struct ms_node *n,
			      const struct ms_inner *parent, unsigned depth)
{
	unsigned i, min, max;

	if (depth > MS_MAX_HEIGHT)
		return "tree deeper than any reachable height";
	if (n->parent != parent)
		return "bad parent link";
	w->nodes++;
	max = n->leaf ? MS_LEAF_MAX : MS_INNER_MAX;
	min = !parent ? (n->leaf ? 1 : 2) : (n->leaf ? MS_LEAF_MIN : MS_INNER_MIN);
	if (n->count < min || n->count > max)
		return "node fill out of bounds";
	if (n->leaf) {
		const struct ms_leaf *l = (const struct ms_leaf *)n;

		if (w->leaf_depth == 0)
			w->leaf_depth = depth;
		if (depth != w->leaf_depth)
			return "leaves at different depths";
		for (i = 0; i < n->count; i++) {
			const struct memory_area *a = &l->a[i];

			/* Size 0 stands for 2^64: only an area from 0 has it. */
			if (a->size == 0 && a->start != 0)
				return "area of size 0";
			if (a->size - 1 > U64_MAX - a->start)
				return "area past the top of the address space";
			if (!a->backend.ops)
				return "area without backend";
			if (w->prev && area_last(w->prev) >= a->start)
				return "areas out of order or overlapping";
			if (w->set->merge && w->prev && mergeable(w->prev, a))
				return "mergeable areas left apart with merging on";
			w->prev = a;
			w->areas++;
		}
		return NULL;
	}
	for (i = 0; i < n->count; i++) {
		const struct ms_inner *p = (const struct ms_inner *)n;
		struct ms_sum s;
		const char *err = check_node(w, p->child[i], p, depth + 1);

		if (err)
			return err;
		node_sum(p->child[i], &s);
		if (s.min != p->min[i] || s.last != p->last[i])
			return "child bounds summary wrong";
		if (s.gap != p->gap[i])
			return "gap summary wrong";
	}
	return NULL;
}

const char *memory_set_check(const struct memory_set *set)
{
	struct ms_walk w;
	const char *err;

	if (!set)
		return "no set";
	if (!set->granule || (set->granule & (set->granule - 1)))
		return "granule not a power of two";
	if (set->nspare > MS_SPARE_KEEP)
		return "reserved nodes not given back";
	if (!set->root)
		return set->count || set->height || set->nodes ?
			       "empty tree with areas counted" : NULL;
	memset(&w, 0, sizeof(w));
	w.set = set;
	err = check_node(&w, set->root, NULL, 1);
	if (err)
		return err;
	if (w.areas != set->count)
		return "area count wrong";
	if (w.nodes != set->nodes)
		return "node count wrong";
	if (w.leaf_depth != set->height)
		return "height wrong";
	return NULL;
}
