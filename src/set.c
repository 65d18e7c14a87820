/*
 * The set itself: setting up and tearing down, its settings, what it
 * holds, and when two areas may merge.
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
