/*
 * Lookups without a lock, for sets made with lockless_lookups: the reader's
 * side of a sequence count (docs/concurrency.md).
 *
 * A reader takes the count (acquire; odd means a writer is changing the
 * tree, so it waits), walks the tree with relaxed loads, copies what it
 * found, and takes the count again after an acquire fence: equal means no
 * change overlapped the walk, so the copy is the set's state at that
 * instant. Otherwise it walks again.
 *
 * A walk that overlaps a change may read a node half rewritten. It must not
 * fail then, only come out wrong. Each word it loads, the writer stores with
 * a relaxed atomic store (tree.h), so every load is defined and gives some
 * value stored there (a 64-bit word on a 32-bit host: two halves, maybe of
 * two stores); such a set never gives nodes back to its allocator before
 * destroy and zeroes them when it first gets them, so any pointer read
 * from a node is NULL or a node; counts are clamped to a node's capacity
 * and the depth to the tree's most, so every loop ends.
 */
#include "tree.h"

static const _Atomic uint32_t *seq_in(const struct memory_set *set)
{
	return (const _Atomic uint32_t *)(const void *)&set->seq;
}

static uint32_t read_begin(const struct memory_set *set)
{
	uint32_t s;

	while ((s = atomic_load_explicit(seq_in(set), memory_order_acquire)) & 1)
		;
	return s;
}

/* True if a change overlapped the reads since read_begin() gave s. */
static bool read_retry(const struct memory_set *set, uint32_t s)
{
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(seq_in(set), memory_order_relaxed) != s;
}

/*
 * Copy into *out the last area that starts at or before addr. Returns 1 if
 * there is one, 0 if not, -1 if the walk met a node that cannot be whole
 * (only a change under way can show one).
 *
 * It takes the tree's steps but not its walk (tree.c): that one chooses
 * where key lines are searched by the set's height and trusts each node's
 * kind and count, where a reader may not read the height (the writer
 * stores it plainly) and must check every word it acts on, so it searches
 * the key line of every node below the root that has one (the same
 * slots) and bounds the depth itself.
 */
static int peek(const struct memory_set *set, uint64_t addr,
		struct memory_area *out)
{
	const struct ms_node *n = MS_LOAD(&set->root);
	const struct ms_inner *p;
	unsigned depth, i;
	uint64_t base = 0, at = addr; /* at: addr, raised to the root's min */

	if (!n)
		return 0;
	for (depth = 0; depth < MS_MAX_HEIGHT; depth++) {
		unsigned count = MS_LOAD(&n->count);

		if (MS_LOAD(&n->leaf)) {
			const struct ms_leaf *l = (const struct ms_leaf *)n;
			const struct memory_area *a;

			if (count > MS_LEAF_MAX)
				return -1;
			if (count == 0)
				return 0;
			if (depth >= MS_PREFETCH_DEPTH)
				memory_set_tree_prefetch_leaf(l);
			i = area_rank(l, count, addr, true);
			if (i == 0)
				return 0;
			a = &l->a[i - 1];
			out->start = ld64(&a->start);
			out->size = ld64(&a->size);
			out->flags = ld64(&a->flags);
			out->backend.ops = MS_LOAD(&a->backend.ops);
			out->backend.data = MS_LOAD(&a->backend.data);
			return out->backend.ops ? 1 : -1;
		}
		p = (const struct ms_inner *)n;
		if (count == 0 || count > MS_INNER_MAX)
			return -1;
		/* The steps of the tree's own descent (tree.h), each word
		 * loaded once, the slot kept below the count whatever a torn
		 * node holds; key lines below the root wherever a node has
		 * one (the height, which the writer changes, is not read: a
		 * node of a tree too low for them, or one whose line a change
		 * is making or dropping, reads as none or is caught as
		 * torn). */
		if (depth == 0) {
			base = ld64(&p->min[0]);
			at = addr > base ? addr : base;
		}
		if (depth == 0 || MS_LOAD(&p->h.form) != MS_FORM_KEYS)
			i = min_step(p, count, &base, at, true);
		else if ((i = key_step(p, count, &base, at, true)) >= count)
			return -1;
		n = MS_LOAD(&p->child[i]);
		if (!n)
			return -1;
	}
	return -1;
}

static bool holds(const struct memory_area *a, uint64_t addr)
{
	return addr - a->start <= a->size - 1;
}

bool memory_set_find_copy(const struct memory_set *set, uint64_t addr,
			  struct memory_area *copy)
{
	struct memory_area a;
	uint32_t s;
	int r;

	if (!set->lockless) {
		const struct memory_area *f = memory_set_find(set, addr);

		if (f)
			*copy = *f;
		return f != NULL;
	}
	do {
		s = read_begin(set);
		r = peek(set, addr, &a);
	} while (read_retry(set, s));
	if (r <= 0 || !holds(&a, addr))
		return false;
	*copy = a;
	return true;
}

/* memory_set_overlaps() for a lockless set: the area before the last byte. */
bool memory_set_lockless_overlaps(const struct memory_set *set, uint64_t start,
				  uint64_t last)
{
	struct memory_area a;
	uint32_t s;
	int r;

	do {
		s = read_begin(set);
		r = peek(set, last, &a);
	} while (read_retry(set, s));
	return r > 0 && area_last(&a) >= start;
}

/*
 * memory_set_can_access() for a lockless set: the areas from start to last
 * in one read section. A walk over torn areas could take any number of
 * steps, so the count is checked every few areas too.
 */
bool memory_set_lockless_covered(const struct memory_set *set, uint64_t start,
				 uint64_t last, uint64_t mask)
{
	for (;;) {
		uint32_t s = read_begin(set);
		uint64_t cur = start;
		unsigned steps = 0;
		bool ok = false;

		for (;;) {
			struct memory_area a;

			if (peek(set, cur, &a) <= 0 || !holds(&a, cur) ||
			    (a.flags & mask) != mask)
				break;
			if (area_last(&a) >= last) {
				ok = true;
				break;
			}
			cur = area_last(&a) + 1;
			if (++steps % 64 == 0 && read_retry(set, s))
				break;
		}
		if (!read_retry(set, s))
			return ok;
	}
}
