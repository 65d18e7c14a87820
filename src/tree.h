/*
 * Private: the B+tree under a memory set (tree.c), and what the layers over
 * it (the edit, the operations, the checker, the lock-free readers) share.
 *
 * Leaves hold areas in address order. Inner nodes hold, for each child, the
 * lowest start, the last address and the largest free gap strictly inside
 * the child: enough to descend by address and to find free space without
 * visiting subtrees that cannot hold it. Gaps between two children are
 * computed from their neighbouring summaries, so no area stores its gap.
 *
 * Nodes have no parent links: a cursor (struct ms_cursor) carries the path
 * from the root down to its leaf, found by one descent, and every change
 * goes through a cursor, which the change leaves valid.
 */
#ifndef MEMORY_SET_TREE_H
#define MEMORY_SET_TREE_H

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include <memory_set/memory_set.h>

#define MS_LEAF_MAX 14
/*
 * Two neighbouring leaves that hold this many areas or fewer are joined
 * (tree.c, rebalance()): one fewer than a leaf holds, so the two halves of
 * a split (a full leaf and one more area) do not join again after one
 * removal, to split again at the next insertion (an area moved back and
 * forth across them did both every time), and leaves still average at
 * least half full (the sizing in docs/kernel.md).
 */
#define MS_LEAF_JOIN (MS_LEAF_MAX - 1)
#define MS_INNER_MAX 15
#define MS_INNER_MIN 8
/* Far above any reachable height: 2 * 8^14 leaves need a height of 16. */
#define MS_MAX_HEIGHT 24
/*
 * At most this many spare nodes are kept between operations, so splits
 * rarely call the allocator (one per 32 nodes in use: see
 * memory_set_tree_spare_keep()). Tests build with 0 to prove that every
 * operation reserves what it uses.
 */
#ifndef MS_SPARE_KEEP
#define MS_SPARE_KEEP 8
#endif

struct ms_inner;

_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t),
	       "the sequence count is read as an atomic");

struct ms_node {
	uint8_t count; /* areas in a leaf, children in an inner node */
	uint8_t leaf;
	uint8_t shift; /* inner: the unit of key[] is 2^shift bytes */
	uint8_t form;  /* inner: MS_FORM_* */
};

/* What an inner node's key line holds: keys; sentinels only, as the span
 * needs min[] (wide); nothing kept (none: the root, always searched over
 * min[], and every inner node of a tree too low for descents to search key
 * lines, see keys_searched()). */
#define MS_FORM_KEYS 0
#define MS_FORM_WIDE 1
#define MS_FORM_NONE 2

struct ms_leaf {
	struct ms_node h;
	struct memory_area a[MS_LEAF_MAX];
};

/*
 * An inner node's first line is its search index: the header and key[i] =
 * (min[i] - min[0]) >> shift for each child (key[0] = 0), with a shift
 * that keeps every key exact (the largest one when the line is encoded
 * whole, so the span fits as often as it can, whatever granule the areas
 * were made with), and UINT32_MAX in unused slots (a real key is always
 * below it). A descent reads that line only, then the child
 * pointer, which follows it; it knows min[0] already, from the key it
 * matched in the parent. A node whose keys do not fit in 32 bits at any
 * exact shift (near the root of a set spread over the address space) is
 * wide: its key[] holds only sentinels and it is searched over min[].
 * min[] is the truth the tree's changes maintain; the key line is derived
 * from it after each change of a node's min[] or count (set_count() and
 * put_sum() see to it), in every inner node but the root, which descents
 * search over min[] (a small set's only inner node: its changes keep no
 * key line up to date), and only in trees tall enough for descents to
 * search key lines (keys_searched()): a tree that grows to MS_KEY_HEIGHT
 * encodes every inner node below its root, and one that shrinks drops them
 * only below MS_KEY_HEIGHT - 1, so a tree at the edge does not encode
 * them again at every split of its root.
 */
struct ms_inner {
	struct ms_node h;
	uint32_t key[MS_INNER_MAX];
	struct ms_node *child[MS_INNER_MAX];
	uint64_t min[MS_INNER_MAX];  /* lowest start in the child */
	uint64_t last[MS_INNER_MAX]; /* last address of the child's last area */
	uint64_t gap[MS_INNER_MAX];  /* largest free gap inside the child */
};

/*
 * A spare node links to the next through its last word, which no field of
 * a node in use reaches, so a lock-free reader that still loads a node
 * after it went back to the spare list never meets a store it does not
 * expect (the link is the writer's alone).
 */
#define MS_LINK_OFFSET (MEMORY_SET_NODE_SIZE - sizeof(void *))
_Static_assert(sizeof(struct ms_leaf) <= MS_LINK_OFFSET, "leaf too big");
_Static_assert(sizeof(struct ms_inner) <= MS_LINK_OFFSET, "inner too big");
_Static_assert(offsetof(struct ms_inner, child) == 64,
	       "an inner node's header and keys fill its first line");

/*
 * A place in the tree: position `index` of `leaf` (index may equal the
 * count: after its last area), and the path to it, path[d] the inner node
 * at depth d (path[0] the root) and slot[d] the child taken there. An empty
 * tree has no leaf. A cursor stays valid until the tree changes other than
 * through it: the tree's changes leave the cursor they are given valid.
 */
struct ms_cursor {
	struct ms_leaf *leaf;
	unsigned index;
	unsigned depth; /* inner nodes on the path: the leaf's depth */
	struct ms_inner *path[MS_MAX_HEIGHT];
	unsigned char slot[MS_MAX_HEIGHT];
};

#define U64_MAX UINT64_MAX

/* ---- Words that readers without a lock load (docs/concurrency.md) ----
 *
 * In a set with lockless_lookups, readers load node words (a node's count
 * and kind, an inner node's keys and children, a leaf's areas) and the
 * root while the one writer stores them. Both sides make each such access
 * a relaxed atomic, one word at a time, so the race is defined (the C11
 * memory model, through the compiler's __atomic builtins, which act on
 * plain objects) and ThreadSanitizer checks it. A relaxed store of an
 * aligned word is a plain store instruction on every target the project
 * builds for, so the writer uses these stores in every set; only copies of
 * many words (memmove, memcpy) stay plain outside a lockless set, where no
 * reader may look. The spare list's link (MS_LINK_OFFSET) is the writer's
 * alone.
 *
 * On a 32-bit host a 64-bit word is two 32-bit halves: a reader may see the
 * halves of two different stores, a wrong value that the sequence count
 * throws away; the core never needs a 64-bit atomic (no __atomic_*_8).
 */
#define MS_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define MS_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

#if UINTPTR_MAX > 0xffffffffu
static inline uint64_t ld64(const uint64_t *p)
{
	return MS_LOAD(p);
}

/* clang-tidy cannot see the store through __atomic_store_n. */
static inline void st64(uint64_t *p, uint64_t v) /* NOLINT(readability-non-const-parameter) */
{
	MS_STORE(p, v);
}
#else
typedef uint32_t __attribute__((may_alias)) ms_half;

static inline uint64_t ld64(const uint64_t *p)
{
	const ms_half *h = (const ms_half *)(const void *)p;
	uint32_t part[2];
	uint64_t v;

	part[0] = MS_LOAD(&h[0]);
	part[1] = MS_LOAD(&h[1]);
	memcpy(&v, part, sizeof(v));
	return v;
}

static inline void st64(uint64_t *p, uint64_t v)
{
	ms_half *h = (ms_half *)(void *)p;
	uint32_t part[2];

	memcpy(part, &v, sizeof(v));
	MS_STORE(&h[0], part[0]);
	MS_STORE(&h[1], part[1]);
}
#endif

/* Re-derive the key line of p from its min[] and count (tree.c). */
void memory_set_tree_encode(struct ms_inner *p);

/* Set a node's count; an inner node's key line follows it. */
static inline void set_count(struct ms_node *n, unsigned count)
{
	MS_STORE(&n->count, (uint8_t)count);
	if (!n->leaf && n->form != MS_FORM_NONE)
		memory_set_tree_encode((struct ms_inner *)(void *)n);
}

/* Make root the root; an inner root keeps no key line. */
static inline void set_root(struct memory_set *set, struct ms_node *root)
{
	if (root && !root->leaf)
		MS_STORE(&root->form, (uint8_t)MS_FORM_NONE);
	MS_STORE(&set->root, (void *)root);
}

/* Store area *src into the node slot *dst, word by word. */
static inline void put_area(struct memory_area *dst,
			    const struct memory_area *src)
{
	st64(&dst->start, src->start);
	st64(&dst->size, src->size);
	st64(&dst->flags, src->flags);
	MS_STORE(&dst->backend.ops, src->backend.ops);
	MS_STORE(&dst->backend.data, src->backend.data);
}

/* Copy n areas from src to dst, area by area, in the order that reads each
 * area before it is overwritten (the ranges may overlap). */
void memory_set_tree_put_areas(struct memory_area *dst,
			       const struct memory_area *src, unsigned n);

/* Store area *src into the node slot *dst: one plain copy outside a
 * lockless set, word by word in one (lk). */
static inline void set_area(bool lk, struct memory_area *dst,
			    const struct memory_area *src)
{
	if (lk)
		memory_set_tree_put_areas(dst, src, 1);
	else
		*dst = *src;
}

/* Copy n areas from src to dst (the ranges may overlap): memmove outside a
 * lockless set, area by area in one (lk). */
static inline void move_areas(bool lk, struct memory_area *dst,
			      const struct memory_area *src, unsigned n)
{
	if (lk)
		memory_set_tree_put_areas(dst, src, n);
	else
		memmove(dst, src, n * sizeof(*dst));
}

/* The same for ranges that do not overlap (another node's): memcpy. */
static inline void copy_areas(bool lk, struct memory_area *dst,
			      const struct memory_area *src, unsigned n)
{
	if (lk)
		memory_set_tree_put_areas(dst, src, n);
	else
		memcpy(dst, src, n * sizeof(*dst));
}

/*
 * A descent that passed this many inner nodes or more asks for every line
 * of the leaf it reached at once (its header line read): in a set that
 * large (some 600,000 areas and more) the leaf is likely in DRAM, and the
 * bisection that follows probes 4 or 5 of its lines, each waiting for the
 * one before. Smaller sets keep their leaves in the caches, where asking
 * for 9 lines to use 4 costs more lookups per second than it saves time
 * on each (a 100,000-area set's fault workload ran 9% slower with it).
 */
#ifndef MS_PREFETCH_DEPTH
#define MS_PREFETCH_DEPTH 5
#endif

static inline void memory_set_tree_prefetch_leaf(const void *n)
{
	uintptr_t p = ((uintptr_t)n & ~(uintptr_t)63) + 64;
	uintptr_t end = (uintptr_t)n + sizeof(struct ms_leaf);

	for (; p < end; p += 64)
		__builtin_prefetch((const void *)p);
}

/*
 * A descent asks for the lines of an inner node's child pointers as it
 * enters the node, beside its key line: which child it takes is known only
 * once the keys are compared, and the line holding it would otherwise be a
 * second wait on every level the caches do not hold.
 */
#ifndef MS_PREFETCH_CHILDREN
#define MS_PREFETCH_CHILDREN 1
#endif

static inline void memory_set_tree_prefetch_children(const void *n)
{
	if (MS_PREFETCH_CHILDREN) {
		const char *c = (const char *)n + offsetof(struct ms_inner, child);

		__builtin_prefetch(c);
		__builtin_prefetch(c + 64);
	}
}

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

/* What an inner node keeps of each child: see struct ms_inner. */
struct ms_sum {
	uint64_t min, last, gap;
};

/* The area at the cursor (its index below the leaf's count). */
static inline struct memory_area *cur_area(const struct ms_cursor *c)
{
	return &c->leaf->a[c->index];
}

/*
 * Each node is bisected over its whole capacity in a fixed number of steps,
 * each a load and a compare whose outcome moves the probe without a branch,
 * so a random lookup mispredicts little and the steps unroll. An inner
 * node's keys need no test against the count (unused slots hold
 * UINT32_MAX, above any key looked for); a leaf's tests against the count
 * branch, and they go one way for every full leaf.
 */
_Static_assert(MS_INNER_MAX == 15, "inner search bisects 15 keys");
_Static_assert(MS_LEAF_MAX == 14, "leaf search bisects 14 slots");

/* The key of addr, at or above base, in a node of lowest start base and
 * unit 2^shift: keys at or below it are those of children starting at or
 * below addr. Past the keys' reach it is UINT32_MAX - 1 (above every key,
 * below the sentinels). */
static inline uint32_t key_of(uint64_t addr, uint64_t base, unsigned shift)
{
	uint64_t k = (addr - base) >> shift;

	return k < UINT32_MAX ? (uint32_t)k : UINT32_MAX - 1;
}

/* The number of keys at or below q, at least 1 (key[0] is 0): one more
 * than the slot of the child to take. */
static inline unsigned key_rank(const uint32_t *key, uint32_t q)
{
	unsigned i = 0;

	i += (MS_LOAD(&key[7]) <= q) * 8;
	i += (MS_LOAD(&key[i + 3]) <= q) * 4;
	i += (MS_LOAD(&key[i + 1]) <= q) * 2;
	i += MS_LOAD(&key[i]) <= q;
	return i;
}

/*
 * The steps of a descent, shared by the tree's own walk (tree.c) and the
 * lock-free reader's (lockless.c). Each takes lk, a constant at every call
 * that the inlined step folds: a lock-free reader (lk) loads each word as
 * a relaxed atomic and passes the count it loaded and checked; the tree's
 * side loads them plainly, as it owns them.
 */
#define MS_INLINE static inline __attribute__((always_inline))

MS_INLINE uint64_t ld64_if(bool lk, const uint64_t *p)
{
	return lk ? ld64(p) : *p;
}

/* The last child of p whose lowest start is at or below addr (the first
 * child if none): over min[], below c, p's count. */
MS_INLINE unsigned min_slot(const struct ms_inner *p, unsigned c,
			    uint64_t addr, bool lk)
{
	unsigned i = 0;

	i += (8 < c && ld64_if(lk, &p->min[i + 8]) <= addr) * 8;
	i += (i + 4 < c && ld64_if(lk, &p->min[i + 4]) <= addr) * 4;
	i += (i + 2 < c && ld64_if(lk, &p->min[i + 2]) <= addr) * 2;
	i += (i + 1 < c && ld64_if(lk, &p->min[i + 1]) <= addr);
	return i;
}

static inline unsigned inner_slot(const struct ms_inner *p, uint64_t addr)
{
	return min_slot(p, p->h.count, addr, false);
}

/*
 * Descents search the key lines of the lowest MS_KEY_LEVELS inner levels
 * of a tree, and min[] above them (and in the root always): the upper
 * levels, a few hundred nodes at most, stay in the caches, where the
 * 64-bit search costs fewer instructions, and small sets, whose root is
 * their only inner node, search as fast as before; the key line saves a
 * wait on memory where nodes are many.
 */
#ifndef MS_KEY_LEVELS
#define MS_KEY_LEVELS 2
#endif

/*
 * Trees lower than this (up to some 50,000 areas) are searched over min[]
 * alone: their nodes stay in the caches, where the key line saves no wait
 * and costs instructions.
 */
#ifndef MS_KEY_HEIGHT
#define MS_KEY_HEIGHT 5
#endif
_Static_assert(MS_KEY_HEIGHT >= MS_KEY_LEVELS + 3,
	       "key lines sit below the root and the level under it");

/* Does a descent of set search key lines (in its lowest inner levels)?
 * Its inner nodes below the root then keep them (struct ms_inner). */
static inline bool keys_searched(const struct memory_set *set)
{
	return set->height >= MS_KEY_HEIGHT;
}

/* The depth from which a descent of set, where keys_searched(), searches
 * key lines. */
static inline unsigned key_depth(const struct memory_set *set)
{
	return set->height - MS_KEY_LEVELS - 1;
}

/* The slot of the last child of p whose lowest start is at or below addr,
 * and in *base that child's lowest start: over min[]. */
MS_INLINE unsigned min_step(const struct ms_inner *p, unsigned c,
			    uint64_t *base, uint64_t addr, bool lk)
{
	unsigned i = min_slot(p, c, addr, lk);

	*base = ld64_if(lk, &p->min[i]);
	return i;
}

/* The same over p's key line (*base p's own lowest start, at or below
 * addr). A torn line (lk) may hold no key at or below addr's: the slot then
 * wraps, *base stays, and the caller's test against the count fails the
 * walk; the shift is kept below 64 whatever the line holds. */
MS_INLINE unsigned key_step(const struct ms_inner *p, unsigned c,
			    uint64_t *base, uint64_t addr, bool lk)
{
	unsigned shift = lk ? MS_LOAD(&p->h.shift) & 63u : p->h.shift, i;

	memory_set_tree_prefetch_children(p);
	i = key_rank(p->key, key_of(addr, *base, shift)) - 1u;
	if (lk && i >= c)
		return i;
	*base += (uint64_t)(lk ? MS_LOAD(&p->key[i]) : p->key[i]) << shift;
	return i;
}

/* The step of a descent at p: over its key line, over min[] where it has
 * none (a wide node). */
MS_INLINE unsigned inner_step(const struct ms_inner *p, uint64_t *base,
			      uint64_t addr)
{
	if (p->h.form != MS_FORM_KEYS)
		return min_step(p, p->h.count, base, addr, false);
	return key_step(p, p->h.count, base, addr, false);
}

/* The number of areas of l starting at or before addr, among its first c
 * (its count). */
MS_INLINE unsigned area_rank(const struct ms_leaf *l, unsigned c,
			     uint64_t addr, bool lk)
{
	const struct memory_area *a = l->a;
	unsigned i = 0;

	i += (7 < c && ld64_if(lk, &a[i + 7].start) <= addr) * 7;
	i += (i + 3 < c && ld64_if(lk, &a[i + 3].start) <= addr) * 3;
	i += (i + 2 < c && ld64_if(lk, &a[i + 2].start) <= addr) * 2;
	i += (i + 1 < c && ld64_if(lk, &a[i + 1].start) <= addr);
	return i + (ld64_if(lk, &a[i].start) <= addr);
}

static inline unsigned leaf_rank(const struct ms_leaf *l, uint64_t addr)
{
	return area_rank(l, l->h.count, addr, false);
}

/* ---- Node memory (tree.c) ---- */

/* Make sure at least need nodes are reserved; false when out of memory. */
bool memory_set_tree_reserve(struct memory_set *set, unsigned need);
/* Reserve the nodes of a node-by-node copy of src (of each kind apart in
 * a lockless set). */
bool memory_set_tree_reserve_copy(struct memory_set *set,
				  const struct memory_set *src);
/*
 * Spare nodes kept between operations: one per 32 in use, up to
 * MS_SPARE_KEEP, and none below 32. A large address space, whose splits
 * come often, rarely calls the allocator; a small one (most processes: a
 * few leaves and a root) splits rarely, and a node kept for it would be a
 * sixth of its memory.
 */
static inline unsigned memory_set_tree_spare_keep(const struct memory_set *set)
{
	uint64_t k = set->nodes / 32;

	return (unsigned)(k > MS_SPARE_KEEP ? MS_SPARE_KEEP : k);
}
/* Give back reserved nodes beyond keep; a lockless set keeps them all
 * (a reader may be in any node it ever used). */
void memory_set_tree_trim_to(struct memory_set *set, unsigned keep);
/* Give back the nodes reserved since the spare lists held n and nleaf, if
 * none was taken since: no reader has seen them. */
void memory_set_tree_unreserve(struct memory_set *set, unsigned n,
			       unsigned nleaf);
/*
 * Nodes that inserting k (1 to 3) areas at cursor c may take: none if its
 * leaf has room, else one per level that may split, from the leaf up (the
 * counts of the path tell which), and a new root when every one may. An
 * edit with insertions at several places adds their counts, each computed
 * with kids, the most children one inner node may receive (the number of
 * places): a split that one place avoids by passing an area or a child to
 * a sibling leaves its nodes to the split it may cause at another.
 */
unsigned memory_set_tree_need_split(const struct ms_cursor *c, unsigned kids);

static inline unsigned memory_set_tree_need(const struct ms_cursor *c,
					    unsigned k, unsigned kids)
{
	if (c->leaf && c->leaf->h.count + k <= MS_LEAF_MAX)
		return 0;
	return memory_set_tree_need_split(c, kids);
}

/*
 * Would inserting one area at c pass an area of its full leaf to a
 * neighbour leaf with room (under the same parent or not), as
 * memory_set_tree_insert() does before it splits?
 */
bool memory_set_tree_can_pass(const struct ms_cursor *c);

/*
 * Nodes that inserting one area at c takes: none either when its full leaf
 * passes an area to a neighbour. Only for a change that inserts that area
 * alone and removes nothing before it (a removal may fill the neighbour
 * by a join, and a second insertion may take its room).
 */
static inline unsigned memory_set_tree_need_one(const struct ms_cursor *c)
{
	if ((c->leaf && c->leaf->h.count < MS_LEAF_MAX) ||
	    memory_set_tree_can_pass(c))
		return 0;
	return memory_set_tree_need_split(c, 1);
}

/* ---- Summaries ---- */

void memory_set_tree_node_sum(const struct ms_node *n, struct ms_sum *s);

/* ---- Search and walking ---- */

/*
 * The leaf that holds the last area starting at or before addr (the
 * leftmost leaf if none does), and in *pos the number of its areas starting
 * at or before addr. The tree must not be empty. For lookups: no path.
 */
struct ms_leaf *memory_set_tree_locate(const struct memory_set *set,
				       uint64_t addr, unsigned *pos);
/* The same into a cursor, with its path: the one descent of a change. */
void memory_set_tree_descend(const struct memory_set *set, uint64_t addr,
			     struct ms_cursor *c);
/* The cursor before the first area (end: after the last one). */
void memory_set_tree_first(const struct memory_set *set, struct ms_cursor *c);
void memory_set_tree_last(const struct memory_set *set, struct ms_cursor *c);
/*
 * Move c as memory_set_tree_descend() would place it for addr, climbing
 * only as high as the subtree that holds addr: a second place of one
 * operation, near the first, costs a few nodes, not a descent.
 */
void memory_set_tree_seek(const struct memory_set *set, struct ms_cursor *c,
			  uint64_t addr);
/* The next leaf along the path (index 0), or the previous one (index at
 * its count); false, with c unchanged, at the end. */
bool memory_set_tree_next_leaf(struct ms_cursor *c);
bool memory_set_tree_prev_leaf(struct ms_cursor *c);

/*
 * Copy a cursor. An explicit memcpy: a struct copy of this size becomes a
 * call to a helper of the compiler's runtime on some targets (clang's
 * __aeabi_memcpy4 on 32-bit Arm), which a kernel need not link.
 */
static inline void cur_copy(struct ms_cursor *dst, const struct ms_cursor *src)
{
	memcpy(dst, src, sizeof(*dst));
}

/* Step to the next area; false at the end (c then after the last area). */
static inline bool cur_next(struct ms_cursor *c)
{
	if (++c->index < c->leaf->h.count)
		return true;
	return memory_set_tree_next_leaf(c);
}

/* Step to the previous area; false at the start (c unchanged). */
static inline bool cur_prev(struct ms_cursor *c)
{
	if (c->index == 0 && !memory_set_tree_prev_leaf(c))
		return false;
	c->index--;
	return true;
}

/* The first area at or after c that ends at or after addr, c placed by a
 * descent to addr: false if there is none. */
static inline bool cur_first_from(struct ms_cursor *c, uint64_t addr)
{
	if (!c->leaf)
		return false;
	if (c->index > 0 && area_last(&c->leaf->a[c->index - 1]) >= addr)
		c->index--;
	return c->index < c->leaf->h.count || memory_set_tree_next_leaf(c);
}

/* ---- Changes: insertions take reserved nodes, removals none ---- */

/* The area at c changed its bounds in place: bring the summaries of its
 * ancestors up to date. */
void memory_set_tree_update(struct ms_cursor *c);
/*
 * Insert *a before position c (an empty tree: c has no leaf); c then at
 * the new area. Since the tree's last change, only the area just before c
 * may have changed, and only by losing a part at its end (its start
 * kept): the insertion brings its summaries up to date too, from the gaps
 * around the new area (tree.c, insert_room()). Any other change in place
 * goes through memory_set_tree_update() first.
 */
void memory_set_tree_insert(struct memory_set *set, struct ms_cursor *c,
			    const struct memory_area *a);
/*
 * Insert *a and then *b after it before position c, as two insertions do,
 * with one pass over the summaries when the leaf has room for both (the
 * nodes it may take: memory_set_tree_need(c, 2, 1)); c then at *b.
 */
void memory_set_tree_insert2(struct memory_set *set, struct ms_cursor *c,
			     const struct memory_area *a,
			     const struct memory_area *b);
/* A removed area goes to the sink before its slot is reused (NULL: none). */
typedef void (*ms_sink_fn)(void *ctx, const struct memory_area *a);
/*
 * Remove the areas from c on whose start is at most hi, restoring fill
 * bounds and summaries; c then at the first area after them (or after the
 * last area).
 */
void memory_set_tree_remove(struct memory_set *set, struct ms_cursor *c,
			    uint64_t hi, ms_sink_fn sink, void *ctx);
/* Free every node of the subtree, each of its areas to the sink. */
void memory_set_tree_free_subtree(struct memory_set *set, struct ms_node *n,
				  ms_sink_fn sink, void *ctx);
/* Copy the subtree n node by node into reserved nodes of dst. */
struct ms_node *memory_set_tree_clone_subtree(struct memory_set *dst,
					      const struct ms_node *n);

/* ---- The set's rule, shared with the checker ---- */

/* Touching areas that merging joins into one. */
bool memory_set_mergeable(const struct memory_area *a,
			  const struct memory_area *b);

/* The readers' side, for lockless sets (lockless.c): [start, last] meets
 * an area; every byte of [start, last] lies in areas with all of mask. */
bool memory_set_lockless_overlaps(const struct memory_set *set, uint64_t start,
				  uint64_t last);
bool memory_set_lockless_covered(const struct memory_set *set, uint64_t start,
				 uint64_t last, uint64_t mask);

#ifndef MEMORY_SET_ASSERT
#ifdef MEMORY_SET_DEBUG_CHECK
#define MEMORY_SET_ASSERT(x) ((x) ? (void)0 : __builtin_trap())
#else
#define MEMORY_SET_ASSERT(x) ((void)0)
#endif
#endif

#endif /* MEMORY_SET_TREE_H */
