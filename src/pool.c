/* A fixed pool of nodes carved from a caller's buffer: no heap at all. */
#include <memory_set/memory_set.h>

struct pool_block {
	struct pool_block *next;
};

enum mapping_error memory_set_pool_init(struct memory_set_pool *pool,
					void *buffer, size_t bytes)
{
	char *base = buffer;
	size_t n;

	if (!pool || !buffer || ((uintptr_t)buffer & 7u))
		return MAPPING_ERR_INVALID_PARAM;
	pool->free_list = NULL;
	pool->free = 0;
	/* Push from the end so blocks are handed out in address order. */
	for (n = bytes / MEMORY_SET_NODE_SIZE; n > 0; n--) {
		struct pool_block *b =
			(struct pool_block *)(void *)(base + (n - 1) * MEMORY_SET_NODE_SIZE);
		b->next = pool->free_list;
		pool->free_list = b;
		pool->free++;
	}
	return MAPPING_OK;
}

uint64_t memory_set_pool_available(const struct memory_set_pool *pool)
{
	return pool ? pool->free : 0;
}

static void *pool_alloc(void *ctx, size_t size)
{
	struct memory_set_pool *pool = ctx;
	struct pool_block *b = pool->free_list;

	if (!b || size > MEMORY_SET_NODE_SIZE)
		return NULL;
	pool->free_list = b->next;
	pool->free--;
	return b;
}

static void pool_free(void *ctx, void *ptr, size_t size)
{
	struct memory_set_pool *pool = ctx;
	struct pool_block *b = ptr;

	(void)size;
	b->next = pool->free_list;
	pool->free_list = b;
	pool->free++;
}

const struct memory_set_allocator memory_set_pool_allocator = {
	.version = MEMORY_SET_ALLOCATOR_VERSION,
	.alloc = pool_alloc,
	.free = pool_free,
};
