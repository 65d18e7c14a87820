/**
 * @file memory_set.h
 * @brief A set of non-overlapping memory areas (MemorySet): the structure
 * under mmap, munmap and mprotect.
 *
 * The set keeps its areas in a B+tree whose inner nodes summarise, for each
 * child, the lowest start, the last address and the largest free gap inside.
 * Lookups are O(log n); map, unmap and protect are O(log n + k) for the k
 * areas they touch; free-space searches are O(log n) (see
 * memory_set_find_free_area() for alignment).
 *
 * Addresses are 64-bit on every host. The whole space is usable, including
 * areas that end exactly at 2^64.
 *
 * @par Failure contract
 * - Invalid arguments and AlreadyExists: nothing changes, no hook is called.
 * - NoMemory from the allocator or an error from a backend's split() hook:
 *   reported before the first page-table hook; nothing changes.
 * - An error from a page-table hook (map, unmap, protect): the operation
 *   stops and returns it; the set then describes exactly what the page table
 *   holds (see each function).
 *
 * @par Locking
 * The set has no lock of its own. Functions taking a `const struct
 * memory_set *` never write to the set, so any number of them may run at
 * once under a shared (read) lock. Every other function needs exclusive
 * access. Area pointers and iterators stay valid until the next mutation.
 *
 * @par Lookups without a lock
 * A set made with memory_set_options.lockless_lookups lets
 * memory_set_find_copy(), memory_set_handle_fault_copy(),
 * memory_set_can_access() and memory_set_overlaps() run with no lock at
 * all, in any number of threads, while one writer at a time (the caller's
 * lock serialises writers) maps, unmaps, protects or remaps. Each answer was
 * true at some instant during the call: a reader that overlaps a change
 * retries, and one that reads a node being rewritten never loops forever
 * nor reads outside node memory. Such a set never gives a node back to its
 * allocator before memory_set_destroy() (freed nodes wait on its spare
 * list; a failed call gives back at most nodes it got and never used), so a
 * reader can always read a node it reached. They return copies:
 * a pointer into the set could be reused as soon as the call returns. In a
 * set without the option those functions need the shared lock, as the
 * others do, and cost the same as before. See docs/concurrency.md.
 */
#ifndef MEMORY_SET_MEMORY_SET_H
#define MEMORY_SET_MEMORY_SET_H

#include <memory_set/mapping.h>
#include <memory_set/memory_area.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Every block the set allocates has exactly this size (a tree node),
 * aligned to 8 bytes; 9 cache lines of 64 bytes. Blocks aligned to 64 bytes
 * make lookups faster (a node's search index is its first line), but 8 is
 * all the set needs. Size a fixed pool with MEMORY_SET_POOL_BYTES().
 */
#define MEMORY_SET_NODE_SIZE 576u

/** Version of ::memory_set_allocator this header describes. */
#define MEMORY_SET_ALLOCATOR_VERSION 1u

/**
 * @brief Where the set gets its memory. Keep one `const` instance.
 *
 * The set asks only for blocks of ::MEMORY_SET_NODE_SIZE bytes and frees
 * them with the same size. @c ctx is the context given in the options.
 */
struct memory_set_allocator {
	/** ::MEMORY_SET_ALLOCATOR_VERSION. Version 0 is rejected. */
	uint32_t version;
	/** Must be zero. */
	uint32_t reserved;
	/** Return @p size bytes aligned to 8 (better: to 64, a cache line),
	 *  or NULL when out of memory. */
	void *(*alloc)(void *ctx, size_t size);
	/** Give back a block returned by alloc(). */
	void (*free)(void *ctx, void *ptr, size_t size);
};

/**
 * @brief Options of memory_set_init(). Zero-initialise them, then set
 * @c size, the allocator and the fields you need.
 *
 * @c size says which fields the caller's header had, so that a program
 * built against an earlier release keeps working with this one. Each size
 * that a released header had is accepted and reads only its fields:
 *
 * | @c size                                                 | fields read |
 * |---------------------------------------------------------|-------------|
 * | `offsetof(struct memory_set_options, max_areas)`        | @c size to @c granule (the first release) |
 * | `offsetof(struct memory_set_options, lockless_lookups)` | and @c max_areas |
 * | `sizeof(struct memory_set_options)` or more             | all of them |
 *
 * A size above this header's is a newer caller's: the fields this header
 * knows are read. Any other size is MAPPING_ERR_INVALID_PARAM, and so is
 * 0: zero-initialised options with no size are refused, not taken for this
 * header's size (which would read past the struct of an older caller).
 */
struct memory_set_options {
	/** sizeof(struct memory_set_options); required (see above). */
	uint32_t size;
	/** Start the set with merging on: see memory_set_set_merge(). */
	bool merge;
	/** Allocator (required). Hosted builds may use memory_set_malloc. */
	const struct memory_set_allocator *allocator;
	/** Context passed to the allocator. */
	void *allocator_ctx;
	/**
	 * Granule: start and size of map, unmap and protect must be multiples
	 * of it. A power of two; 0 (zero-initialised options) means the
	 * default, 4096. memory_set_set_granule() has no default: 0 is
	 * MAPPING_ERR_INVALID_PARAM there.
	 */
	uint64_t granule;
	/**
	 * Most areas the set may hold (Linux's max_map_count), 0 for no limit:
	 * see memory_set_set_max_areas(). Read only when @c size covers it, so
	 * callers built against the first release still work.
	 */
	uint64_t max_areas;
	/**
	 * Lookups that take no lock (see "Lookups without a lock" above):
	 * memory_set_find_copy(), memory_set_handle_fault_copy(),
	 * memory_set_can_access() and memory_set_overlaps() may then run in
	 * any number of threads concurrently with one writer. Read only when
	 * @c size covers it. The other functions keep their locking rules.
	 */
	bool lockless_lookups;
};

/**
 * @brief A memory set. Embed it anywhere; its fields are private.
 */
struct memory_set {
	void *root;          /**< private: tree root, NULL when empty */
	uint64_t count;      /**< private: number of areas */
	uint64_t nodes;      /**< private: nodes in the tree */
	uint64_t granule;    /**< private */
	uint64_t max_areas;  /**< private: 0 for no limit */
	const struct memory_set_allocator *alloc; /**< private */
	void *alloc_ctx;     /**< private */
	void *spare;         /**< private: reserved nodes, a list */
	void *spare_leaf;    /**< private: reserved leaves of a lockless set */
	uint32_t nspare;     /**< private */
	uint32_t nspare_leaf; /**< private */
	uint32_t seq;        /**< private: odd while a writer changes the tree */
	uint16_t height;     /**< private: levels of the tree, 0 when empty */
	bool merge;          /**< private */
	bool lockless;       /**< private: lookups may run without a lock */
};

/**
 * @brief Initialise @p set as an empty set.
 * @return MAPPING_OK, or MAPPING_ERR_INVALID_PARAM if @p set or @p opts is
 *         NULL, opts->size is none of the sizes memory_set_options lists
 *         (0 included), the allocator is missing or of version 0, or the
 *         granule is not a power of two.
 *         Nothing is allocated until the first area is mapped.
 */
enum mapping_error memory_set_init(struct memory_set *set,
				   const struct memory_set_options *opts);

/**
 * @brief Forget every area and free all memory of the set. No page-table
 * hook is called (call memory_set_clear() first to unmap); each area's
 * release() hook is. @p set may be NULL. The set may be initialised again.
 */
void memory_set_destroy(struct memory_set *set);

/** @brief Number of areas. */
uint64_t memory_set_len(const struct memory_set *set);

/** @brief True if the set holds no area. */
bool memory_set_is_empty(const struct memory_set *set);

/** @brief Current granule. */
uint64_t memory_set_granule(const struct memory_set *set);

/**
 * @brief Change the granule for later map, unmap and protect calls.
 * Existing areas are kept as they are.
 * @return MAPPING_OK, or MAPPING_ERR_INVALID_PARAM if @p granule is not a
 *         power of two, 0 included (nothing changes); unlike
 *         memory_set_options.granule, 0 is not the default here.
 */
enum mapping_error memory_set_set_granule(struct memory_set *set,
					  uint64_t granule);

/** @brief The area limit (0: none). */
uint64_t memory_set_max_areas(const struct memory_set *set);

/**
 * @brief Limit the number of areas to @p max (0: no limit), as Linux's
 * vm.max_map_count does. From now on, an operation that would leave more
 * areas than there were before it and more than @p max fails with
 * MAPPING_ERR_NO_MEMORY before any page-table hook, changing nothing. The
 * count is exact: the pieces a split leaves, the areas a replace removes and
 * the merges that follow are all counted. A set already above the limit
 * keeps its areas; operations that do not add areas still run. Never fails.
 *
 * The exact count may need the data that split() makes (a can_merge() hook
 * may look at it): when the limit could be reached, split() is called while
 * planning and, if the limit is then hit, release() is called for its
 * results. No page-table hook is called.
 */
void memory_set_set_max_areas(struct memory_set *set, uint64_t max);

/** @brief True if merging is on. */
bool memory_set_merge_enabled(const struct memory_set *set);

/**
 * @brief Turn merging on or off. While on, after every operation no two
 * touching areas with equal flags (and a backend that allows it, see
 * mapping_backend_ops.can_merge) are separate: they are one area. Turning it
 * on merges the areas already there, in O(n). Never calls page-table hooks
 * and never fails.
 */
void memory_set_set_merge(struct memory_set *set, bool on);

/**
 * @brief The area that contains @p addr, or NULL. O(log n).
 */
const struct memory_area *memory_set_find(const struct memory_set *set,
					  uint64_t addr);

/**
 * @brief Copy the area that contains @p addr into @p copy. Lock-free in a
 * set with memory_set_options.lockless_lookups (see "Lookups without a
 * lock"); otherwise as memory_set_find() under the shared lock. O(log n).
 * @return true if an area holds @p addr (@p copy is then set), else false
 *         (@p copy untouched).
 */
bool memory_set_find_copy(const struct memory_set *set, uint64_t addr,
			  struct memory_area *copy);

/**
 * @brief True if [start, start+size) meets an area. A size of 0 meets
 * nothing; a range past 2^64 is cut at 2^64. O(log n).
 */
bool memory_set_overlaps(const struct memory_set *set, uint64_t start,
			 uint64_t size);

/**
 * @brief Is every byte of [start, start+size) inside an area whose flags
 * have every bit of @p mask? For copying to and from user memory (Linux
 * access_ok() plus the VMA walk). O(log n + k) for the k areas the range
 * meets; no granule rule.
 * @return MAPPING_OK if so (and for a size of 0); MAPPING_ERR_BAD_STATE
 *         (EFAULT) if a byte lies in no area or in an area without the
 *         rights; MAPPING_ERR_INVALID_PARAM if the range passes 2^64.
 */
enum mapping_error memory_set_can_access(const struct memory_set *set,
					 uint64_t start, uint64_t size,
					 uint64_t mask);

/**
 * @brief The page-fault entry point: find the area holding @p addr and let
 * its backend's fault() hook check @p access (MAPPING_ACCESS_* bits, and the
 * caller's own from ::MAPPING_ACCESS_USER up) and populate the page (see
 * mapping_backend_ops.fault, and its default). Does not change the set, so
 * any number of faults may run at once under the shared (read) lock. O(log n).
 *
 * @param set the set, read only
 * @param addr the faulting address
 * @param access the kind of access: MAPPING_ACCESS_* bits and the caller's
 * @param page_table handed to the fault() hook
 * @param[out] area if not NULL, the area found (NULL if none); valid until
 *             the next mutation of the set.
 * @return MAPPING_OK: the access may be retried;
 *   MAPPING_ERR_BAD_STATE: no area holds @p addr (SIGSEGV, SEGV_MAPERR);
 *   MAPPING_ERR_ACCESS_DENIED: the area's flags forbid the access (SIGSEGV,
 *   SEGV_ACCERR);
 *   any other error the hook returned (MAPPING_ERR_NO_MEMORY: out of frames).
 */
enum mapping_error memory_set_handle_fault(const struct memory_set *set,
					   uint64_t addr, uint64_t access,
					   void *page_table,
					   const struct memory_area **area);

/**
 * @brief memory_set_handle_fault() for callers without a lock: the area is
 * found with memory_set_find_copy() and the fault() hook gets a pointer to
 * that copy (it must not keep it). Lock-free in a set with
 * memory_set_options.lockless_lookups; there the hook runs concurrently
 * with the writer's hooks, and keeping the page table right is the
 * backend's business (a per-area lock, or a check that the copy's range is
 * still mapped). Results as memory_set_handle_fault().
 * @param set the set; no lock needed in a lockless set
 * @param addr the faulting address
 * @param access the kind of access: MAPPING_ACCESS_* bits and the caller's
 * @param page_table handed to the fault() hook
 * @param[out] copy if not NULL, the area found (set only when one holds
 *             @p addr).
 */
enum mapping_error memory_set_handle_fault_copy(const struct memory_set *set,
						uint64_t addr, uint64_t access,
						void *page_table,
						struct memory_area *copy);

/**
 * @brief Lowest free range: the lowest address A, a multiple of @p align,
 * with A >= max(@p hint, @p first) and [A, A+size) free and inside
 * [first, last] (@p last is the last usable byte, inclusive).
 *
 * O(log n) through the gap summaries when @p align is not larger than the
 * alignment of the areas' boundaries (the granule, normally); otherwise each
 * gap that is large enough for @p size but too small once aligned, lying
 * below the answer, adds O(log n).
 *
 * @param set the set, read only
 * @param hint a lower bound for the answer (0: none but @p first)
 * @param size bytes needed
 * @param align the answer is a multiple of it (a power of two)
 * @param first first usable address
 * @param last last usable address (inclusive)
 * @param[out] addr the address found (untouched on error).
 * @return MAPPING_OK; MAPPING_ERR_INVALID_PARAM if @p size is 0, @p align is
 *         0 or not a power of two, @p first > @p last, or @p addr is NULL;
 *         MAPPING_ERR_NO_MEMORY if no range fits (Linux returns ENOMEM for
 *         the same).
 */
enum mapping_error memory_set_find_free_area(const struct memory_set *set,
					     uint64_t hint, uint64_t size,
					     uint64_t align, uint64_t first,
					     uint64_t last, uint64_t *addr);

/**
 * @brief Highest free range: the highest address A, a multiple of @p align,
 * with [A, A+size) free and inside [first, last] and, if @p hint is not 0,
 * A <= @p hint (the range ends at or below hint+size). Cost and errors as
 * memory_set_find_free_area().
 */
enum mapping_error memory_set_find_free_area_top(const struct memory_set *set,
						 uint64_t hint, uint64_t size,
						 uint64_t align, uint64_t first,
						 uint64_t last, uint64_t *addr);

/**
 * @brief Add the area [start, start+size) with @p flags and @p backend.
 *
 * Calls backend->ops->map once. With @p unmap_overlap, areas in the way are
 * unmapped first (their pieces outside the range stay, through split()),
 * calling the unmap hook of each in address order.
 *
 * @return MAPPING_OK;
 *   MAPPING_ERR_INVALID_PARAM: @p size is 0, start or size not a multiple of
 *   the granule, the range passes 2^64, @p backend or its ops (version 0,
 *   a required hook NULL) invalid;
 *   MAPPING_ERR_ALREADY_EXISTS: the range meets an area and @p unmap_overlap
 *   is false;
 *   MAPPING_ERR_NO_MEMORY or a split() error: nothing changed;
 *   a page-table hook's error: if an unmap hook failed, the areas unmapped
 *   before it are gone from the set and the rest are whole, and the new
 *   area is not added; if the map hook failed, every area in the way is
 *   gone (the range is free) and the new area is not added.
 *
 * Ownership of @c backend->data: on success the set owns it (if the new
 * area merges into the area before it, release() is called for it before
 * map returns); on any failure the set never took it and it is the
 * caller's. Areas removed from the way are released after their unmap hook.
 */
enum mapping_error memory_set_map(struct memory_set *set, uint64_t start,
				  uint64_t size, uint64_t flags,
				  const struct mapping_backend *backend,
				  void *page_table, bool unmap_overlap);

/**
 * @brief Remove [start, start+size): areas inside go, areas across an end
 * shrink, an area around the range splits in two. Calls the unmap hook of
 * each piece in address order. A size of 0 does nothing.
 *
 * @return MAPPING_OK;
 *   MAPPING_ERR_INVALID_PARAM: start or size not a multiple of the granule,
 *   or the range passes 2^64;
 *   MAPPING_ERR_NO_MEMORY or a split() error: nothing changed;
 *   an unmap hook's error: the pieces before the failing one are removed,
 *   the rest is as it was.
 *
 * Ownership: release() is called for each area that leaves whole and for
 * split() data that the operation did not keep; an area that shrinks keeps
 * its data.
 */
enum mapping_error memory_set_unmap(struct memory_set *set, uint64_t start,
				    uint64_t size, void *page_table);

/**
 * @brief Decides the new flags of an area for memory_set_protect().
 *
 * Return true and set @p *new_flags to change the area, false to leave it
 * whole and untouched. Returning @p old_flags counts as no change. Called
 * one or more times per area: must give the same answer for the same
 * @p old_flags within one call of memory_set_protect().
 */
typedef bool (*memory_set_update_fn)(void *ctx, uint64_t old_flags,
				     uint64_t *new_flags);

/**
 * @brief Change the flags of [start, start+size). For each area meeting the
 * range, @p update decides; the part of a changed area inside the range gets
 * the new flags (the area splits at the range's ends). Holes are skipped.
 * Calls the protect hook of each changed piece in address order. A size of 0
 * does nothing; so does a range where no area's flags change (no hook is
 * called and nothing merges, as in Linux's mprotect()).
 *
 * @return MAPPING_OK;
 *   MAPPING_ERR_INVALID_PARAM: start or size not a multiple of the granule,
 *   the range passes 2^64, or @p update is NULL;
 *   MAPPING_ERR_NO_MEMORY or a split() error: nothing changed;
 *   a protect hook's error: the pieces changed before it are changed back
 *   through the protect hook, in reverse order; a piece whose change back
 *   fails keeps its new flags in the set, as in the page table.
 */
enum mapping_error memory_set_protect(struct memory_set *set, uint64_t start,
				      uint64_t size,
				      memory_set_update_fn update, void *ctx,
				      void *page_table);

/**
 * @brief memory_set_unmap() that refuses a range with a hole, as Linux
 * munmap does not but callers wanting "unmap exactly what is mapped" need.
 * @return as memory_set_unmap(), and MAPPING_ERR_NO_MEMORY (ENOMEM) if some
 *         byte of the range lies in no area: nothing changes, no hook runs.
 */
enum mapping_error memory_set_unmap_strict(struct memory_set *set,
					   uint64_t start, uint64_t size,
					   void *page_table);

/**
 * @brief memory_set_protect() that refuses a range with a hole, as Linux
 * mprotect does.
 * @return as memory_set_protect(), and MAPPING_ERR_NO_MEMORY (ENOMEM) if
 *         some byte of the range lies in no area: nothing changes, no hook
 *         runs.
 */
enum mapping_error memory_set_protect_strict(struct memory_set *set,
					     uint64_t start, uint64_t size,
					     memory_set_update_fn update,
					     void *ctx, void *page_table);

/**
 * @brief memory_set_protect() without a callback: each area meeting the
 * range whose flags under @p mask differ from @p flags under @p mask gets
 * `(flags & mask) | (old & ~mask)` for its part inside the range; the others
 * are left whole. Holes are skipped. Errors as memory_set_protect().
 */
enum mapping_error memory_set_protect_flags(struct memory_set *set,
					    uint64_t start, uint64_t size,
					    uint64_t flags, uint64_t mask,
					    void *page_table);

/**
 * @brief memory_set_protect_flags() that refuses a range with a hole
 * (MAPPING_ERR_NO_MEMORY, nothing changes), as Linux mprotect.
 */
enum mapping_error memory_set_protect_flags_strict(struct memory_set *set,
						   uint64_t start,
						   uint64_t size,
						   uint64_t flags,
						   uint64_t mask,
						   void *page_table);

/**
 * @brief Resize the range [start, start+size) of one area in place
 * (mremap without MREMAP_MAYMOVE).
 *
 * Shrinking unmaps [start+new_size, start+size) as memory_set_unmap() does.
 * Growing needs the range to end where its area ends and
 * [start+size, start+new_size) to be free; the area then grows over it
 * through the map hook of the area's backend, with the area's flags and
 * data. A new_size equal to size changes nothing. With merging on, the grown
 * area merges with the area after it as Linux does.
 *
 * @return MAPPING_OK;
 *   MAPPING_ERR_INVALID_PARAM: @p start, @p size or @p new_size not a
 *   multiple of the granule, a size of 0, or a range past 2^64;
 *   MAPPING_ERR_BAD_STATE: [start, start+size) is not inside one area
 *   (Linux says EFAULT);
 *   MAPPING_ERR_NO_MEMORY: cannot grow in place, over the area limit, out of
 *   memory, or a split() error: nothing changed;
 *   a page-table hook's error: as memory_set_unmap() when shrinking; when
 *   growing the area stays as it was.
 *
 * Ownership: a grown area keeps its data; shrinking releases as
 * memory_set_unmap() does.
 */
enum mapping_error memory_set_remap(struct memory_set *set, uint64_t start,
				    uint64_t size, uint64_t new_size,
				    void *page_table);

/**
 * @brief Move the range [start, start+size) of one area to
 * [new_start, new_start+new_size) (mremap with MREMAP_MAYMOVE |
 * MREMAP_FIXED; find @p new_start with memory_set_find_free_area()).
 *
 * In order: areas at the target are unmapped (as memory_set_map() with
 * unmap_overlap: pieces outside it stay, through split()); if @p new_size
 * is smaller, the old range's tail past new_size is unmapped; the pages move
 * through the backend's move() hook (the frames stay, so the contents move);
 * if @p new_size is larger, the rest of the new range is mapped through
 * map(). The moved area keeps the flags and the backend, with the data of
 * its offset in the old area (split() for a range not at the area's start,
 * so a file backend's offset stays right); the pieces of the old area before
 * and after the range stay, through split(). With merging on, the moved
 * area merges with its new neighbours.
 *
 * @warning Without a move() hook (a version-1 table, or move NULL) the
 * contents do not move: the default maps the new range through map() and
 * unmaps the old one, so the moved area gets fresh pages. That is right for
 * a backend whose map() derives the pages from the area's data (a linear
 * or device map, a shared file); anonymous memory loses its contents. Give
 * such a backend a move() hook that moves the page-table entries.
 *
 * Unlike Linux, which unmaps the target before it looks at the source, a
 * failure before the first page-table hook changes nothing.
 *
 * @return MAPPING_OK;
 *   MAPPING_ERR_INVALID_PARAM: an address or size not a multiple of the
 *   granule, a size of 0, a range past 2^64, or the old and new ranges
 *   overlap;
 *   MAPPING_ERR_BAD_STATE: [start, start+size) is not inside one area;
 *   MAPPING_ERR_NO_MEMORY: over the area limit, out of memory, or a split()
 *   error: nothing changed;
 *   a page-table hook's error: the steps before it stay done (in the set as
 *   in the page table) and the failing step is not: a target unmap failing
 *   leaves as memory_set_unmap(); the tail unmap, the move or the map
 *   of the rest failing leaves the target free and the area at the old
 *   place (move, tail) or moved but not grown (map of the rest). When the
 *   default move (no move() hook) cannot undo its first step either, the
 *   moved range is in the set where the page table has it: at both places,
 *   or, for a backend with split() and a range at its area's start, at
 *   neither (see mapping_backend_ops.move).
 *
 * Ownership: the moved area's data stays the set's (the old area's, or
 * the split() result for its offset); data of areas unmapped at the target
 * is released after their unmap hook; split() results that a failure left
 * unused are released before the call returns.
 */
enum mapping_error memory_set_remap_fixed(struct memory_set *set,
					  uint64_t start, uint64_t size,
					  uint64_t new_size, uint64_t new_start,
					  void *page_table);

/**
 * @brief Make @p dst a copy of @p src (fork): the same areas, each
 * duplicated through its backend's dup() hook (see mapping_backend_ops.dup
 * and its default), in address order. O(n): the tree is copied node by
 * node, with no per-area search.
 *
 * @warning Without a dup() hook (a version-1 table, or dup NULL) the child
 * gets fresh pages, not the parent's contents: the default calls map() for
 * each area on @p dst_page_table. That is right for a backend whose map()
 * derives the pages from the area's data (a linear or device map, a shared
 * file); anonymous memory loses its contents in the child. Give such a
 * backend a dup() hook that copies or shares the pages.
 *
 * @p dst must be initialised and empty; it keeps its allocator and, on
 * success, takes @p src's granule, merge setting and area limit (a failure
 * leaves its own). @p src is not changed. The dup() hook may change both
 * page tables (copy-on-write marks).
 *
 * @return MAPPING_OK;
 *   MAPPING_ERR_INVALID_PARAM: @p dst or @p src NULL, the same set, or
 *   @p dst not empty;
 *   MAPPING_ERR_NO_MEMORY: @p dst's allocator failed (before any hook):
 *   nothing changed;
 *   a dup() or map() hook's error: every area already duplicated is undone
 *   in reverse order (unmap() on @p dst_page_table, then release() of the
 *   child's data), and @p dst is empty again, but for an area whose unmap()
 *   failed: it stays in @p dst, as @p dst_page_table still maps it. An
 *   empty @p dst holds no memory, unless it has lookups without a lock:
 *   such a set keeps the nodes it used until memory_set_destroy().
 */
enum mapping_error memory_set_dup(struct memory_set *dst,
				  const struct memory_set *src,
				  void *src_page_table, void *dst_page_table);

/**
 * @brief Unmap every area, in address order.
 * @return MAPPING_OK, or an unmap hook's error: the areas before the failing
 *         one are gone, the rest stay.
 */
enum mapping_error memory_set_clear(struct memory_set *set, void *page_table);

/**
 * @brief A position between two areas, for walking the set in either
 * direction without allocating. Fields are private.
 */
struct memory_set_iter {
	const struct memory_set *set; /**< private */
	const void *leaf;             /**< private */
	uint32_t index;               /**< private */
};

/**
 * @brief Place @p it just before the first area that ends after @p addr
 * (the area holding @p addr, else the next one). memory_set_iter_next()
 * then returns that area, memory_set_iter_prev() the one before it.
 * Use 0 for the first area. O(log n).
 */
void memory_set_iter_init(struct memory_set_iter *it,
			  const struct memory_set *set, uint64_t addr);

/** @brief Place @p it after the last area (for walking backwards). */
void memory_set_iter_init_end(struct memory_set_iter *it,
			      const struct memory_set *set);

/** @brief The area after the position, moving past it; NULL at the end. */
const struct memory_area *memory_set_iter_next(struct memory_set_iter *it);

/** @brief The area before the position, moving before it; NULL at the start. */
const struct memory_area *memory_set_iter_prev(struct memory_set_iter *it);

/** @brief Walk every area of @p set in address order. */
#define memory_set_foreach(area, it, set)                                    \
	for (memory_set_iter_init((it), (set), 0);                           \
	     ((area) = memory_set_iter_next(it)) != NULL;)

/**
 * @brief A position between two free gaps, for walking the free space of a
 * window [first, last] in either direction without allocating. Fields are
 * private.
 */
struct memory_set_gap_iter {
	struct memory_set_iter it; /**< private: between the areas around the position */
	/** @cond MEMORY_SET_PRIVATE */
	uint64_t first, last;      /* private: the window, inclusive */
	/** @endcond */
	bool past_end;             /**< private: after the gap past the last area */
};

/**
 * @brief Place @p gi before the first free gap of [first, last]. A gap is a
 * maximal free range, cut to the window. O(log n). If @p first > @p last
 * the walk yields nothing.
 */
void memory_set_gap_iter_init(struct memory_set_gap_iter *gi,
			      const struct memory_set *set, uint64_t first,
			      uint64_t last);

/** @brief Place @p gi after the last free gap of [first, last]. O(log n). */
void memory_set_gap_iter_init_end(struct memory_set_gap_iter *gi,
				  const struct memory_set *set, uint64_t first,
				  uint64_t last);

/**
 * @brief The next free gap, moving past it: its start in @p *start and its
 * size in @p *size (0 for the whole space, 2^64). False at the end.
 * O(1) amortised.
 */
bool memory_set_gap_next(struct memory_set_gap_iter *gi, uint64_t *start,
			 uint64_t *size);

/** @brief The gap before the position, moving before it. False at the start. */
bool memory_set_gap_prev(struct memory_set_gap_iter *gi, uint64_t *start,
			 uint64_t *size);

/**
 * @brief Turns an area's flags into the four permission letters of a
 * `/proc/PID/maps` line (for example "rw-p"). @p perms has room for 4.
 */
typedef void (*memory_set_perms_fn)(void *ctx, uint64_t flags,
				    char perms[4]);

/**
 * @brief Write @p area as a `/proc/PID/maps` line, without the newline:
 * `START-END PERMS 00000000 00:00 0`, addresses in lowercase hexadecimal of
 * at least 8 digits (an area ending at 2^64 prints its end as
 * 10000000000000000). @p perms NULL: bit 0 r, bit 1 w, bit 2 x, bit 3 s
 * (else p). Freestanding: no libc.
 *
 * @return the length of the whole line, as snprintf(): if it is @p len or
 *         more the line was cut; @p buf is NUL-terminated whenever @p len > 0.
 */
size_t memory_set_format_area(char *buf, size_t len,
			      const struct memory_area *area,
			      memory_set_perms_fn perms, void *ctx);

/**
 * @brief Check every invariant of the set: areas ordered and disjoint,
 * non-zero sizes, tree balanced (all leaves at one depth, node fill within
 * bounds), summaries (lowest start, last address, largest
 * gap) exact, count right.
 * @return NULL if all hold, else a static message naming the first broken
 *         invariant. O(n).
 */
const char *memory_set_check(const struct memory_set *set);

/**
 * @brief Bytes of memory the set holds now (its nodes, reserved ones
 * included).
 */
uint64_t memory_set_memory_bytes(const struct memory_set *set);

/**
 * @brief A fixed pool of nodes carved from a caller's buffer, for kernels
 * that never touch a heap. Use with ::memory_set_pool_allocator and the pool
 * as allocator context. Not thread-safe: one pool per set, or a lock.
 */
struct memory_set_pool {
	void *free_list; /**< private */
	uint64_t free;   /**< private: blocks left */
};

/** Bytes of buffer for a pool of @p nodes nodes. */
#define MEMORY_SET_POOL_BYTES(nodes) ((size_t)(nodes) * MEMORY_SET_NODE_SIZE)

/**
 * @brief Make a pool of the 8-byte aligned @p buffer of @p bytes bytes. A
 * buffer aligned to 64 bytes (`_Alignas(64)`) gives nodes aligned to cache
 * lines, which lookups are faster over.
 * @return MAPPING_OK, or MAPPING_ERR_INVALID_PARAM if @p pool or @p buffer
 *         is NULL or @p buffer is misaligned.
 */
enum mapping_error memory_set_pool_init(struct memory_set_pool *pool,
					void *buffer, size_t bytes);

/** @brief Blocks the pool still has. */
uint64_t memory_set_pool_available(const struct memory_set_pool *pool);

/** @brief The allocator of a ::memory_set_pool (context: the pool). */
extern const struct memory_set_allocator memory_set_pool_allocator;

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_SET_MEMORY_SET_H */
