/*
 * The maple-tree peer of the bench. glue.c, compiled against lib/maple_tree.c
 * of an unpacked Linux source tree, offers the tree (mtg_*): areas are
 * ranges [start, last] of one MT_FLAGS_ALLOC_RANGE tree whose entries are
 * the flags; free space is the tree's NULL ranges. ops.c builds the
 * operations of the trace language on it (peer_*), runner.c reads the
 * trace; both are plain C11.
 */
#ifndef MS_MAPLE_PEER_H
#define MS_MAPLE_PEER_H

#include <stdbool.h>
#include <stdint.h>

struct mtg_range {
	uint64_t start, last, flags;
	bool used; /* false: a free range */
};

void mtg_init(void);
/* Remove every range and free every node. */
void mtg_destroy(void);
/* mas_walk(): the range (area or free) holding @addr. */
void mtg_walk(uint64_t addr, struct mtg_range *r);
/* mas_find(): the first area meeting [from, max]; false if none. */
bool mtg_find(uint64_t from, uint64_t max, struct mtg_range *r);
/* mas_store_gfp() of @flags (or of NULL: @used false) on [start, last]. */
int mtg_store(uint64_t start, uint64_t last, uint64_t flags, bool used);
/* mas_empty_area(): the lowest free range meeting [min, max] with room for
 * @size there; its start (at least min) in @start. 0, or negative if none. */
int mtg_gap_low(uint64_t min, uint64_t max, uint64_t size, uint64_t *start);
/* mas_empty_area_rev(): the highest such; its end (at most max) in @last. */
int mtg_gap_high(uint64_t min, uint64_t max, uint64_t size, uint64_t *last);
/* Areas in the tree (a walk over all of them). */
uint64_t mtg_count(void);
/* Bytes of the tree's nodes in use. */
uint64_t mtg_bytes(void);

/*
 * The operations (ops.c), each as the trace language defines it: map,
 * unmap and protect return the result word ("ok", "InvalidParam",
 * "AlreadyExists"); the free searches return 0 and the address, or -1.
 * They never call one another, so that a profile can count each operation
 * by the peer_ prefix.
 */
extern uint64_t peer_granule;
const char *peer_map(uint64_t start, uint64_t size, uint64_t flags,
		     bool replace);
const char *peer_unmap(uint64_t start, uint64_t size);
const char *peer_protect(uint64_t start, uint64_t size, uint64_t flags,
			 uint64_t mask);
bool peer_overlaps(uint64_t start, uint64_t size);
/* The area holding @addr; false if none. */
bool peer_lookup(uint64_t addr, struct mtg_range *r);
int peer_free_low(uint64_t hint, uint64_t size, uint64_t align,
		  uint64_t first, uint64_t last, uint64_t *out);
int peer_free_top(uint64_t hint, uint64_t size, uint64_t align,
		  uint64_t first, uint64_t last, uint64_t *out);

#endif /* MS_MAPLE_PEER_H */
