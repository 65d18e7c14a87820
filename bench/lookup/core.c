/*
 * A memory_set core behind the lookup bench's table (lookup.h). Built by
 * bench/lookup/build.sh once per core, against that core's own headers,
 * with LK_CORE naming the table: the only symbol the object keeps global.
 */
#include <stdlib.h>

#include <memory_set/malloc.h>
#include <memory_set/memory_set.h>

#include "lookup.h"
#include "trace.h"

/* ms-replay's backend: the null hooks of tools/trace.c. */
static const struct mapping_backend nop = { &trace_null_ops, NULL };

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
static inline uint64_t find(void *s, uint64_t addr)
{
	const struct memory_area *a = memory_set_find(s, addr);

	return a ? a->start : 0;
}

/* A lockless set: memory_set_find_copy(), with no lock. */
static inline uint64_t find_copy(void *s, uint64_t addr)
{
	struct memory_area a;

	return memory_set_find_copy(s, addr, &a) ? a.start : 0;
}

LK_LOOPS(chase, stream, find)
LK_LOOPS(chase_copy, stream_copy, find_copy)

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
