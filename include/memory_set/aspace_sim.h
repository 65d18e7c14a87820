/**
 * @file aspace_sim.h
 * @brief A simulated machine for the address-space layer: frames in host
 * memory with reference counts, page tables as radix trees, an MMU that
 * faults as a CPU does, counters for leak checks and failure injection.
 *
 * Hosted (malloc), not part of the freestanding layer: it is what the
 * layer's tests, the fuzz target, the benchmark and the Linux-oracle test
 * run the layer over, and a model for a host's own ::aspace_ops. Not
 * thread-safe: one thread per simulated machine.
 */
#ifndef MEMORY_SET_ASPACE_SIM_H
#define MEMORY_SET_ASPACE_SIM_H

#include <memory_set/aspace.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A simulated machine: its frames and page tables. Opaque. */
struct aspace_sim;

/**
 * @brief A machine with pages of @p page_size bytes (0: 4096) and at most
 * @p max_frames frames in use at once (0: no limit but the host's memory).
 * @return NULL when out of memory or for a page size that is not a power of
 *         two of 4096 or more.
 */
struct aspace_sim *aspace_sim_new(uint64_t page_size, uint64_t max_frames);

/**
 * @brief Free the machine and everything still in it (frames, tables,
 * blocks the layer did not give back): a test checks the counters first.
 */
void aspace_sim_free(struct aspace_sim *sim);

/** @brief The machine's hooks; their context is the machine. */
extern const struct aspace_ops aspace_sim_ops;

/**
 * @brief An allocator of the core's nodes (malloc) that counts and can be
 * made to fail; its context is the machine.
 */
extern const struct memory_set_allocator aspace_sim_node_allocator;

/** @brief A new, empty page table (NULL when out of memory). */
void *aspace_sim_pt_new(struct aspace_sim *sim);

/**
 * @brief Free a page table. Entries still in it keep their frame references
 * (a leak the counters show).
 */
void aspace_sim_pt_free(struct aspace_sim *sim, void *pt);

/**
 * @brief Fill @p opts for an address space on @p sim over page table @p pt:
 * size, ops, ctx, page_table, allocator and page_size; the other fields are
 * zero (the defaults) for the caller to set.
 */
void aspace_sim_options(struct aspace_sim *sim, void *pt,
			struct aspace_options *opts);

/** @brief The machine's counters. */
struct aspace_sim_stats {
	uint64_t frames;     /**< frames in use */
	uint64_t frame_refs; /**< references over every frame in use */
	uint64_t entries;    /**< entries holding a frame, over every page table */
	uint64_t tables;     /**< page tables not freed */
	uint64_t blocks;     /**< blocks the layer allocated and did not free */
	uint64_t bytes;      /**< their bytes */
	uint64_t nodes;      /**< core nodes allocated and not freed */
	uint64_t flushes;    /**< tlb_flush calls */
};

/** @brief Read the counters into @p st. */
void aspace_sim_stats(const struct aspace_sim *sim,
		      struct aspace_sim_stats *st);

/** @brief The calls that failure injection can fail. */
enum aspace_sim_call {
	ASPACE_SIM_FRAME = 0, /**< frame_alloc */
	ASPACE_SIM_PT = 1,    /**< pt_map and pt_reserve that need a new table */
	ASPACE_SIM_ALLOC = 2, /**< alloc (the layer's records) */
	ASPACE_SIM_NODE = 3,  /**< the core's node allocator */
	ASPACE_SIM_CALLS = 4  /**< number of kinds */
};

/**
 * @brief Make the call of kind @p kind that comes after @p n more calls of
 * that kind fail (0: the next one); only that one. @p n < 0: none.
 */
void aspace_sim_fail_after(struct aspace_sim *sim, enum aspace_sim_call kind,
			   int64_t n);

/** @brief Calls of kind @p kind made so far, failed ones included. */
uint64_t aspace_sim_calls(const struct aspace_sim *sim,
			  enum aspace_sim_call kind);

/** @brief Calls of kind @p kind made to fail so far. */
uint64_t aspace_sim_failures(const struct aspace_sim *sim,
			     enum aspace_sim_call kind);

/**
 * @brief The MMU: copy @p len bytes between @p buf and user address @p va of
 * @p as, as the process's own loads (@p access ASPACE_ACCESS_READ) or
 * stores (ASPACE_ACCESS_WRITE) would: an entry that does not allow the
 * access goes to aspace_fault(), then the access is retried.
 * @return ::ASPACE_FAULT_OK, or the fault that stopped the copy (the bytes
 *         before it were copied; @p done, if not NULL, says how many).
 */
enum aspace_fault aspace_sim_access(struct aspace *as, uint64_t va, void *buf,
				    size_t len, unsigned access, size_t *done);

/**
 * @brief The byte at @p va if the entry of page table @p pt allows
 * @p access (no fault is taken), else NULL. For checks of what the page
 * table maps.
 */
uint8_t *aspace_sim_byte(struct aspace_sim *sim, void *pt, uint64_t va,
			 unsigned access);

/**
 * @brief Whole-machine check: every frame in use has exactly as many
 * references as entries map it, over every page table of the machine, plus
 * the pages of the objects that hold it (the objects the areas of the @p n
 * address spaces map, and the @p nobj objects given). Run aspace_check() on
 * each space for the rest.
 * @return NULL if all hold, else a static message.
 */
const char *aspace_sim_check(const struct aspace_sim *sim,
			     struct aspace *const *spaces, size_t n,
			     struct aspace_object *const *objs, size_t nobj);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_SET_ASPACE_SIM_H */
