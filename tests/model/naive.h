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
	uint64_t max_areas;   /* the limit; 0: none (at first) */
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

/*
 * The operations added with remap and limit (trace lines remap, limit,
 * access, gaps, unmap/protect ... strict). Every mutating operation,
 * old and new, obeys the limit: if it would leave more areas than before
 * and more than max_areas (when not 0), it returns MAPPING_ERR_NO_MEMORY
 * and changes nothing. That check comes after every other one.
 */
/* In place; MAPPING_ERR_NO_MEMORY when growing meets an area or 2^64. */
enum mapping_error naive_remap(struct naive *m, uint64_t start, uint64_t size,
			       uint64_t new_size);
/* Move to @new_start, replacing what is there. */
enum mapping_error naive_remap_fixed(struct naive *m, uint64_t start,
				     uint64_t size, uint64_t new_size,
				     uint64_t new_start);
/* 0: no limit. A limit below the current count changes nothing by itself. */
void naive_set_max_areas(struct naive *m, uint64_t max);
/* MAPPING_OK yes, MAPPING_ERR_BAD_STATE no, MAPPING_ERR_INVALID_PARAM. */
enum mapping_error naive_can_access(const struct naive *m, uint64_t start,
				    uint64_t size, uint64_t mask);
/* As naive_unmap/naive_protect, but MAPPING_ERR_NO_MEMORY on a hole. */
enum mapping_error naive_unmap_strict(struct naive *m, uint64_t start,
				      uint64_t size);
enum mapping_error naive_protect_strict(struct naive *m, uint64_t start,
					uint64_t size, uint64_t flags,
					uint64_t mask);
/*
 * The free ranges within [first, last] (inclusive), in address order:
 * returns how many there are and fills the first @max of them. A size of
 * 0 stands for 2^64 (the whole space free).
 */
size_t naive_gaps(const struct naive *m, uint64_t first, uint64_t last,
		  uint64_t *starts, uint64_t *sizes, size_t max);

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
