/* The hosted default allocator: aligned_alloc and free. Not part of the
 * core. */
#include <stdlib.h>

#include <memory_set/malloc.h>

/*
 * Blocks start on a cache line, so each line of a node is one line of the
 * cache: the first line of an inner node holds its whole search index, and
 * a node of 9 lines touches 9, not 10. C11's aligned_alloc() wants a size
 * that is a multiple of the alignment.
 */
#define MS_LINE 64u

static void *ms_malloc(void *ctx, size_t size)
{
	(void)ctx;
	if (size > SIZE_MAX - (MS_LINE - 1))
		return NULL;
	return aligned_alloc(MS_LINE, (size + MS_LINE - 1) & ~(size_t)(MS_LINE - 1));
}

static void ms_free(void *ctx, void *ptr, size_t size)
{
	(void)ctx;
	(void)size;
	free(ptr);
}

const struct memory_set_allocator memory_set_malloc_allocator = {
	.version = MEMORY_SET_ALLOCATOR_VERSION,
	.alloc = ms_malloc,
	.free = ms_free,
};
