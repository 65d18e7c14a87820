/* The hosted default allocator: malloc and free. Not part of the core. */
#include <stdlib.h>

#include <memory_set/malloc.h>

static void *ms_malloc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size);
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
