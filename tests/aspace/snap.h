/*
 * An exact picture of an address space on the simulated machine, as text:
 * its maps lines with each area's flags, page offset and identity, every
 * page-table entry, the break, the sizes of some objects, and the machine's
 * counters. Two pictures are equal when nothing observable changed; the
 * tests and the fuzz target compare them around a call that failed.
 */
#ifndef ASPACE_SNAP_H
#define ASPACE_SNAP_H

#include <stdbool.h>
#include <stddef.h>

#include <memory_set/aspace_sim.h>

/* The picture of @as over page table @pt (malloc'd; NULL if out of memory). */
char *aspace_snap(struct aspace_sim *sim, struct aspace *as, void *pt,
		  struct aspace_object *const *objs, size_t nobjs);

/* A growing string: @p (malloc'd) holds @n characters; @oom once an
 * allocation failed, after which the writes are dropped. */
struct aspace_buf {
	char *p;
	size_t n, cap;
	bool oom;
};

/* Appends printf-style text to @b. */
void aspace_bprintf(struct aspace_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* ASPACE_SNAP_H */
