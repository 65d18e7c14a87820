/*
 * The glue of the maple-tree peer: lib/maple_tree.c of Linux, built in user
 * space as tools/testing/radix-tree does (its headers from tools/include and
 * tools/testing/shared, liburcu for the RCU calls), but without the debug
 * options of the test suite, and with a slab of its own: a free list of
 * 256-byte aligned nodes, as fast as a kernel slab's per-CPU path and
 * never failing (so the tree's GFP_NOWAIT preallocation always succeeds, as
 * it nearly always does in a kernel).
 *
 * Built by bench/maple/build.sh, never part of the library.
 */
#include "shared.h"
#include <linux/init.h>
#include <stdlib.h>
#include <string.h>

#define module_init(x)
#define module_exit(x)

#include "maple_tree.c"

#include "peer.h"

/* ---- The slab the tree allocates its nodes from ------------------------ */

struct kmem_cache {
	unsigned int size, align;
	void *free;           /* a list through the first word */
	unsigned long live;   /* objects handed out */
};

int nr_allocated;
int preempt_count;
int test_verbose;
int kmalloc_verbose;

struct kmem_cache *kmem_cache_create(const char *name, unsigned int size,
				     unsigned int align, unsigned int flags,
				     void (*ctor)(void *))
{
	struct kmem_cache *c = calloc(1, sizeof(*c));

	(void)name;
	(void)flags;
	(void)ctor;
	if (!c)
		abort();
	c->size = size;
	c->align = align ? align : sizeof(void *);
	return c;
}

/* Carve a fresh 64 KiB chunk into objects (nodes are never given back to
 * malloc, as a slab keeps its pages). */
static void refill(struct kmem_cache *c)
{
	size_t chunk = 65536, i;
	char *p = aligned_alloc(c->align, chunk);

	if (!p)
		abort();
	for (i = 0; i + c->size <= chunk; i += c->size) {
		*(void **)(p + i) = c->free;
		c->free = p + i;
	}
}

void *kmem_cache_alloc_lru(struct kmem_cache *c, struct list_lru *lru, int gfp)
{
	void *p;

	(void)lru;
	if (!c->free)
		refill(c);
	p = c->free;
	c->free = *(void **)p;
	c->live++;
	if (gfp & __GFP_ZERO)
		memset(p, 0, c->size);
	return p;
}

void kmem_cache_free(struct kmem_cache *c, void *p)
{
	*(void **)p = c->free;
	c->free = p;
	c->live--;
}

int kmem_cache_alloc_bulk(struct kmem_cache *c, gfp_t gfp, size_t size,
			  void **list)
{
	size_t i;

	for (i = 0; i < size; i++)
		list[i] = kmem_cache_alloc_lru(c, NULL, gfp);
	return (int)size;
}

void kmem_cache_free_bulk(struct kmem_cache *c, size_t size, void **list)
{
	size_t i;

	for (i = 0; i < size; i++)
		kmem_cache_free(c, list[i]);
}

void kmem_cache_shrink(struct kmem_cache *c)
{
	(void)c;
}

/* The debug helpers at the end of maple_tree.c declare these. */
void kmem_cache_set_non_kernel(struct kmem_cache *c, unsigned int v)
{
	(void)c;
	(void)v;
}

void kmem_cache_set_callback(struct kmem_cache *c, void (*cb)(void *))
{
	(void)c;
	(void)cb;
}

void kmem_cache_set_private(struct kmem_cache *c, void *private)
{
	(void)c;
	(void)private;
}

unsigned long kmem_cache_get_alloc(struct kmem_cache *c)
{
	return c->size * c->live;
}

void kmem_cache_zero_nr_tallocated(struct kmem_cache *c)
{
	(void)c;
}

unsigned int kmem_cache_nr_tallocated(struct kmem_cache *c)
{
	return (unsigned int)c->live;
}

unsigned int kmem_cache_nr_allocated(struct kmem_cache *c)
{
	return (unsigned int)c->live;
}

void *kmalloc(size_t size, gfp_t gfp)
{
	void *p = malloc(size);

	if (p && (gfp & __GFP_ZERO))
		memset(p, 0, size);
	return p;
}

void kfree(void *p)
{
	free(p);
}

/* ---- The peer ---------------------------------------------------------- */

static struct maple_tree tree;

/* Flags 0 is a valid area: entries are xa values (flags << 1 | 1), which
 * keep flags below 2^63 (the traces use a few low bits). */
static void *entry_of(uint64_t flags)
{
	return xa_mk_value((unsigned long)flags);
}

void mtg_init(void)
{
	maple_tree_init();
	mt_init_flags(&tree, MT_FLAGS_ALLOC_RANGE);
}

void mtg_destroy(void)
{
	__mt_destroy(&tree);
	mt_init_flags(&tree, MT_FLAGS_ALLOC_RANGE);
}

void mtg_walk(uint64_t addr, struct mtg_range *r)
{
	MA_STATE(mas, &tree, addr, addr);
	void *e = mas_walk(&mas);

	r->used = e != NULL;
	r->flags = e ? xa_to_value(e) : 0;
	r->start = mas.index;
	r->last = mas.last;
}

bool mtg_find(uint64_t from, uint64_t max, struct mtg_range *r)
{
	MA_STATE(mas, &tree, from, from);
	void *e = mas_find(&mas, max);

	if (!e)
		return false;
	r->used = true;
	r->flags = xa_to_value(e);
	r->start = mas.index;
	r->last = mas.last;
	return true;
}

int mtg_store(uint64_t start, uint64_t last, uint64_t flags, bool used)
{
	MA_STATE(mas, &tree, start, last);

	return mas_store_gfp(&mas, used ? entry_of(flags) : NULL, GFP_KERNEL);
}

int mtg_gap_low(uint64_t min, uint64_t max, uint64_t size, uint64_t *start)
{
	MA_STATE(mas, &tree, 0, 0);
	int rc = mas_empty_area(&mas, min, max, size);

	if (!rc)
		*start = mas.index;
	return rc;
}

int mtg_gap_high(uint64_t min, uint64_t max, uint64_t size, uint64_t *last)
{
	MA_STATE(mas, &tree, 0, 0);
	int rc = mas_empty_area_rev(&mas, min, max, size);

	if (!rc)
		*last = mas.last;
	return rc;
}

uint64_t mtg_count(void)
{
	MA_STATE(mas, &tree, 0, 0);
	uint64_t n = 0;
	void *e;

	mas_for_each(&mas, e, ULONG_MAX)
		n++;
	return n;
}

uint64_t mtg_bytes(void)
{
	return (uint64_t)maple_node_cache->live * maple_node_cache->size;
}
