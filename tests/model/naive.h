/*
 * A naive model of a memory set: the semantics of the trace language
 * (docs in trace-format.md, reference tools/reftrace.py) over a sorted array
 * of areas. Every operation rebuilds what it touches in the plainest way, so
 * it is slow (O(n) per operation) and easy to trust. Tests compare the
 * library with it.
 *
 * Self-contained: needs only libc and <memory_set/mapping.h> for the error
 * codes. Areas may end exactly at 2^64; the code works with inclusive last
 * addresses so nothing wraps. Merging can make the area [0, 2^64), whose
 * size reads 0, as the library's does.
 */
#ifndef MEMORY_SET_NAIVE_H
#define MEMORY_SET_NAIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memory_set/mapping.h>

struct naive_area {
	uint64_t start;
	uint64_t size; /* 0 only for [0, 2^64), as in struct memory_area */
	uint64_t flags;
};

struct naive {
	struct naive_area *a; /* sorted by start, disjoint */
	size_t n;
	uint64_t granule;     /* a power of two; 0x1000 at first */
	bool merge;           /* off at first */
};

void naive_init(struct naive *m);
void naive_free(struct naive *m);

/* MAPPING_ERR_INVALID_PARAM (nothing changes) if @g is not a power of two. */
enum mapping_error naive_set_granule(struct naive *m, uint64_t g);
/* Turning merge on merges the touching areas with equal flags already there. */
void naive_set_merge(struct naive *m, bool on);

/* The operations of the trace language; they return what the trace prints. */
enum mapping_error naive_map(struct naive *m, uint64_t start, uint64_t size,
			     uint64_t flags, bool replace);
enum mapping_error naive_unmap(struct naive *m, uint64_t start, uint64_t size);
/* Areas with (old & mask) == (flags & mask) stay whole; use mask ~0 for all. */
enum mapping_error naive_protect(struct naive *m, uint64_t start, uint64_t size,
				 uint64_t flags, uint64_t mask);
void naive_clear(struct naive *m);

/* The area holding @addr, or NULL. */
const struct naive_area *naive_find(const struct naive *m, uint64_t addr);
/* Does [start, start+size) meet an area? Size 0: no; cut at 2^64. */
bool naive_overlaps(const struct naive *m, uint64_t start, uint64_t size);
/*
 * free (top false) and freetop (top true): MAPPING_OK with *out set,
 * MAPPING_ERR_NO_MEMORY when nothing fits ("none"), MAPPING_ERR_INVALID_PARAM.
 */
enum mapping_error naive_free_area(const struct naive *m, uint64_t hint,
				   uint64_t size, uint64_t align,
				   uint64_t first, uint64_t last, bool top,
				   uint64_t *out);

size_t naive_len(const struct naive *m);
/* Area @i in address order (i < naive_len()). */
const struct naive_area *naive_area(const struct naive *m, size_t i);

#endif /* MEMORY_SET_NAIVE_H */
