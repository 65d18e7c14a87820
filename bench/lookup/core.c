/*
 * A memory_set core behind the lookup bench's table (lookup.h). Built by
 * bench/lookup/build.sh once per core, against that core's own headers,
 * with LK_CORE naming the table: the only symbol the object keeps global.
 */
#include <stdlib.h>

#include <memory_set/malloc.h>
#include <memory_set/memory_set.h>

#include "lookup.h"

static enum mapping_error nop_map(void *data, uint64_t start, uint64_t size,
				  uint64_t flags, void *pt)
{
	(void)data, (void)start, (void)size, (void)flags, (void)pt;
	return MAPPING_OK;
}

static enum mapping_error nop_unmap(void *data, uint64_t start, uint64_t size,
				    void *pt)
{
	(void)data, (void)start, (void)size, (void)pt;
	return MAPPING_OK;
}

static enum mapping_error nop_protect(void *data, uint64_t start,
				      uint64_t size, uint64_t old_flags,
				      uint64_t new_flags, void *pt)
{
	(void)data, (void)start, (void)size, (void)old_flags, (void)new_flags;
	(void)pt;
	return MAPPING_OK;
}

static const struct mapping_backend_ops nop_ops = {
	.version = 1,
	.map = nop_map,
	.unmap = nop_unmap,
	.protect = nop_protect,
};
static const struct mapping_backend nop = { &nop_ops, NULL };

/* The set first, so that a pointer to one is a pointer to the other. */
struct lk_set {
	struct memory_set set;
	bool lockless;
};

static void *open_set(bool lockless)
{
	struct memory_set_options o = { 0 };
	struct lk_set *s = malloc(sizeof(*s));

	o.size = sizeof(o);
	o.allocator = &memory_set_malloc_allocator;
	o.lockless_lookups = lockless;
	if (s && memory_set_init(&s->set, &o) != MAPPING_OK) {
		free(s);
		s = NULL;
	}
	if (s)
		s->lockless = lockless;
	return s;
}

static int map(void *s, uint64_t start, uint64_t size, uint64_t flags)
{
	return memory_set_map(s, start, size, flags, &nop, NULL, false) ? -1 : 0;
}

/* The default set: memory_set_find(), as memory_set_handle_fault() does. */
static uint64_t chase(void *s, const uint64_t *addr, size_t n)
{
	uint64_t dep = 0, sum = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct memory_area *a = memory_set_find(s, addr[i] + dep);
		uint64_t v = a ? a->start : 0;

		sum += v;
		dep = v >> 63; /* 0: areas lie below 2^47 */
	}
	return sum;
}

static uint64_t stream(void *s, const uint64_t *addr, size_t n)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct memory_area *a = memory_set_find(s, addr[i]);

		sum += a ? a->start : 0;
	}
	return sum;
}

/* A lockless set: memory_set_find_copy(), with no lock. */
static uint64_t chase_copy(void *s, const uint64_t *addr, size_t n)
{
	uint64_t dep = 0, sum = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		struct memory_area a;
		uint64_t v = memory_set_find_copy(s, addr[i] + dep, &a) ?
				     a.start : 0;

		sum += v;
		dep = v >> 63;
	}
	return sum;
}

static uint64_t stream_copy(void *s, const uint64_t *addr, size_t n)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		struct memory_area a;

		sum += memory_set_find_copy(s, addr[i], &a) ? a.start : 0;
	}
	return sum;
}

static uint64_t chase_any(void *s, const uint64_t *addr, size_t n)
{
	return ((struct lk_set *)s)->lockless ? chase_copy(s, addr, n) :
						    chase(s, addr, n);
}

static uint64_t stream_any(void *s, const uint64_t *addr, size_t n)
{
	return ((struct lk_set *)s)->lockless ? stream_copy(s, addr, n) :
						    stream(s, addr, n);
}

static uint64_t len(void *s)
{
	return memory_set_len(s);
}

static uint64_t bytes(void *s)
{
	return memory_set_memory_bytes(s);
}

static void close_set(void *s)
{
	memory_set_destroy(s);
	free(s);
}

const struct lk_core LK_CORE = {
	open_set, map, chase_any, stream_any, len, bytes, close_set,
};
