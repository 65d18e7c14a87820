/* The hosted default allocator: aligned_alloc and free. Not part of the
 * core. */
#include <stdint.h>
#include <stdlib.h>

#include <memory_set/malloc.h>

/*
 * Blocks start on a cache line, so each line of a node is one line of the
 * cache: the first line of an inner node holds its whole search index, and
 * a node of 9 lines touches 9, not 10. A block is cut from one MS_LINE
 * bytes longer, the distance to its start kept in the byte before the
 * block (1 to MS_LINE): aligned_alloc() costs several times a malloc() in
 * glibc, and a small set allocates a node for nearly every split.
 */
#define MS_LINE 64u

static void *ms_malloc(void *ctx, size_t size)
{
	unsigned char *raw, *p;
	unsigned off;

	(void)ctx;
	if (size > SIZE_MAX - MS_LINE || !(raw = malloc(size + MS_LINE)))
		return NULL;
	off = MS_LINE - (unsigned)((uintptr_t)raw & (MS_LINE - 1));
	p = raw + off;
	p[-1] = (unsigned char)off;
	return p;
}

static void ms_free(void *ctx, void *ptr, size_t size)
{
	unsigned char *p = ptr;

	(void)ctx;
	(void)size;
	if (p)
		free(p - p[-1]);
}

const struct memory_set_allocator memory_set_malloc_allocator = {
	.version = MEMORY_SET_ALLOCATOR_VERSION,
	.alloc = ms_malloc,
	.free = ms_free,
};
