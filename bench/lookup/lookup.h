/*
 * The structures the lookup bench (lookup.c) times, each behind the same
 * table: a memory_set core (core.c, built once per core: this tree's and
 * an older commit's, each with its symbols made local so that both live in
 * one process) and the maple tree (lookup.c, over bench/maple's glue).
 */
#ifndef MS_BENCH_LOOKUP_H
#define MS_BENCH_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lk_core {
	/* A new, empty structure (lockless: a set made with
	 * lockless_lookups, looked up with memory_set_find_copy()); NULL if
	 * out of memory or not offered. */
	void *(*open)(bool lockless);
	/* Map [start, start + size): 0, or -1. */
	int (*map)(void *s, uint64_t start, uint64_t size, uint64_t flags);
	/*
	 * Look up addr[0..n): each address is offset by a value taken from
	 * the area the lookup before it found (always 0, but known only once
	 * that lookup is done), so that no two lookups overlap: the latency a
	 * page fault pays. Returns the sum of the starts found.
	 */
	uint64_t (*chase)(void *s, const uint64_t *addr, size_t n);
	/* The same lookups, independent: as many in flight as the core
	 * allows. The same sum. */
	uint64_t (*stream)(void *s, const uint64_t *addr, size_t n);
	uint64_t (*len)(void *s);
	/* Bytes of memory the structure holds. */
	uint64_t (*bytes)(void *s);
	void (*close)(void *s);
};

/*
 * The two loops of a structure, the same code for every one: FIND(s, addr)
 * returns the start of the area holding addr, or 0. The dependent loop
 * offsets each address by the start found before it shifted right by 63:
 * 0, since areas lie below 2^47, but known only once that lookup is done.
 */
#define LK_LOOPS(chase, stream, FIND)                                     \
	static uint64_t chase(void *s, const uint64_t *addr, size_t n)    \
	{                                                                 \
		uint64_t dep = 0, sum = 0;                                \
		size_t i;                                                 \
									  \
		for (i = 0; i < n; i++) {                                 \
			uint64_t v = FIND(s, addr[i] + dep);              \
									  \
			sum += v;                                         \
			dep = v >> 63;                                    \
		}                                                         \
		return sum;                                               \
	}                                                                 \
	static uint64_t stream(void *s, const uint64_t *addr, size_t n)   \
	{                                                                 \
		uint64_t sum = 0;                                         \
		size_t i;                                                 \
									  \
		for (i = 0; i < n; i++)                                   \
			sum += FIND(s, addr[i]);                          \
		return sum;                                               \
	}

#endif /* MS_BENCH_LOOKUP_H */
