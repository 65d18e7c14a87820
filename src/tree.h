/*
 * Private: the B+tree under a memory set (tree.c), and what the set's
 * semantics (memory_set.c) and the checker (check.c) share.
 *
 * Leaves hold areas in address order. Inner nodes hold, for each child, the
 * lowest start, the last address and the largest free gap strictly inside
 * the child: enough to descend by address and to find free space without
 * visiting subtrees that cannot hold it. Gaps between two children are
 * computed from their neighbouring summaries, so no area stores its gap.
 */
#ifndef MEMORY_SET_TREE_H
#define MEMORY_SET_TREE_H

#include <stdatomic.h>
#include <string.h>

#include <memory_set/memory_set.h>

#define MS_LEAF_MAX 14
#define MS_LEAF_MIN 7
#define MS_INNER_MAX 16
#define MS_INNER_MIN 8
/* Far above any reachable height: 2 * 8^14 * 7 areas need a height of 16. */
#define MS_MAX_HEIGHT 24
/*
 * At most this many spare nodes are kept between operations, so splits
 * rarely call the allocator (one per 32 nodes in use: see spare_keep()).
 * Tests build with 0 to prove that every operation reserves what it uses.
 */
#ifndef MS_SPARE_KEEP
#define MS_SPARE_KEEP 8
#endif

struct ms_inner;

_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t),
	       "the sequence count is read as an atomic");

struct ms_node {
	struct ms_inner *parent;
	uint16_t count; /* areas in a leaf, children in an inner node */
	uint16_t leaf;
};

struct ms_leaf {
	struct ms_node h;
	struct memory_area a[MS_LEAF_MAX];
};

struct ms_inner {
	struct ms_node h;
	uint64_t min[MS_INNER_MAX];  /* lowest start in the child */
	uint64_t last[MS_INNER_MAX]; /* last address of the child's last area */
	uint64_t gap[MS_INNER_MAX];  /* largest free gap inside the child */
	struct ms_node *child[MS_INNER_MAX];
};

_Static_assert(sizeof(struct ms_leaf) <= MEMORY_SET_NODE_SIZE, "leaf too big");
_Static_assert(sizeof(struct ms_inner) <= MEMORY_SET_NODE_SIZE,
	       "inner too big");

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
 * reader may look. A node's parent and the spare list's link, which share
 * its first word, are the writer's alone.
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

static inline void set_count(struct ms_node *n, unsigned count)
{
	MS_STORE(&n->count, (uint16_t)count);
}

static inline void set_root(struct memory_set *set, struct ms_node *root)
{
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

/* A position in the tree: area i of leaf l (i may equal the count). */
struct ms_pos {
	struct ms_leaf *l;
	unsigned i;
};

static inline struct memory_area *at_area(const struct ms_pos *at)
{
	return &at->l->a[at->i];
}

/* The area leaves the set: tell its backend. */
static inline void release_area(const struct memory_area *a)
{
	if (a->backend.ops->release)
		a->backend.ops->release(a->backend.data, a->start, a->size);
}

/* ---- Node memory (tree.c) ---- */

/* Make sure at least need nodes are reserved; false when out of memory. */
bool memory_set_tree_reserve(struct memory_set *set, unsigned need);
/* Reserve the nodes of a node-by-node copy of src (of each kind apart in
 * a lockless set). */
bool memory_set_tree_reserve_copy(struct memory_set *set,
				  const struct memory_set *src);
/* Give back reserved nodes beyond keep; a lockless set keeps them all
 * (a reader may be in any node it ever used). */
void memory_set_tree_trim_to(struct memory_set *set, unsigned keep);
/* Give back the nodes reserved since the spare lists held n and nleaf, if
 * none was taken since: no reader has seen them. */
void memory_set_tree_unreserve(struct memory_set *set, unsigned n,
			       unsigned nleaf);
/*
 * Nodes that inserting k (1 or 2) areas into leaf l (NULL: an empty tree)
 * may need. Inner nodes are counted as if they received two children, so
 * the counts of two insertions into different leaves may be added.
 */
unsigned memory_set_tree_nodes_needed(const struct ms_leaf *l, unsigned k);

/* ---- Summaries ---- */

void memory_set_tree_node_sum(const struct ms_node *n, struct ms_sum *s);
/* Node n changed: bring the summaries of its ancestors up to date. */
void memory_set_tree_propagate(struct ms_node *n);

/* ---- Search and walking ---- */

/*
 * The leaf that holds the last area starting at or before addr (the
 * leftmost leaf if none does), and in *pos the number of its areas starting
 * at or before addr. The tree must not be empty.
 */
struct ms_leaf *memory_set_tree_locate(const struct memory_set *set,
				       uint64_t addr, unsigned *pos);
struct ms_leaf *memory_set_tree_leftmost(struct ms_node *n);
/* The leaf after l, or NULL. */
struct ms_leaf *memory_set_tree_next_leaf(const struct ms_leaf *l);
/* The first area that ends at or after addr; false if there is none. */
bool memory_set_tree_first_from(const struct memory_set *set, uint64_t addr,
				struct ms_pos *at);

/* Step to the next area; false at the end. */
static inline bool step(struct ms_pos *at)
{
	if (++at->i < at->l->h.count)
		return true;
	at->l = memory_set_tree_next_leaf(at->l);
	at->i = 0;
	return at->l != NULL;
}

/* ---- Changes: insertions take reserved nodes, removals none ---- */

/* Insert *a at position pos of leaf l (l NULL: the tree is empty). */
void memory_set_tree_leaf_insert(struct memory_set *set, struct ms_leaf *l,
				 unsigned pos, const struct memory_area *a);
/* Insert *a and then *b at position pos of leaf l: one move and one
 * update of the summaries where the leaf has room for both. */
void memory_set_tree_leaf_insert2(struct memory_set *set, struct ms_leaf *l,
				  unsigned pos, const struct memory_area *a,
				  const struct memory_area *b);
/* Node n lost entries: restore fill bounds up the tree, and summaries. */
void memory_set_tree_rebalance(struct memory_set *set, struct ms_node *n);
/* Remove, and release, every area whose start lies in [lo, hi]. */
void memory_set_tree_remove_range(struct memory_set *set, uint64_t lo,
				  uint64_t hi);
/* The same without release: the areas' data is not the set's to release. */
void memory_set_tree_forget_range(struct memory_set *set, uint64_t lo,
				  uint64_t hi);
/* The same from the area at *at (at->i below the count) up to the last
 * starting at or before hi: where the caller knows the place. */
void memory_set_tree_remove_from(struct memory_set *set,
				 const struct ms_pos *at, uint64_t hi);
/* Free every node of the subtree, releasing its areas if asked. */
void memory_set_tree_free_subtree(struct memory_set *set, struct ms_node *n,
				  bool release);
/* Copy the subtree n node by node into reserved nodes of dst. */
struct ms_node *memory_set_tree_clone_subtree(struct memory_set *dst,
					      const struct ms_node *n);

/* ---- The set's rule, shared with the checker (memory_set.c) ---- */

/* Touching areas that merging joins into one. */
bool memory_set_mergeable(const struct memory_area *a,
			  const struct memory_area *b);

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
