/**
 * @file mapping.h
 * @brief Error codes and the mapping backend interface of memory_set.
 *
 * A backend applies the set's decisions to a real page table. Each area of a
 * set carries a backend: a pointer to a constant ops table shared by many
 * areas, and a per-area data pointer handed to every hook. Freestanding: this
 * header needs only <stdint.h>, <stddef.h> and <stdbool.h>.
 */
#ifndef MEMORY_SET_MAPPING_H
#define MEMORY_SET_MAPPING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Result of every fallible operation (MappingError).
 *
 * Zero is success; every error is negative. Backend hooks return these too,
 * and the set passes a hook's error to its caller unchanged.
 *
 * | code                         | meaning                                  | errno (Linux value) |
 * |------------------------------|------------------------------------------|---------------------|
 * | MAPPING_OK                   | success                                  | 0                   |
 * | MAPPING_ERR_INVALID_PARAM    | bad argument: alignment, range, NULL     | EINVAL (22)         |
 * | MAPPING_ERR_ALREADY_EXISTS   | the range meets an existing area         | EEXIST (17)         |
 * | MAPPING_ERR_BAD_STATE        | not mapped as the call needs: no area holds a fault's address, a remap's range is not inside one area, or part of an access check's range is not in an area with the rights; from a hook, its page table is not as the call expects | EFAULT (14) |
 * | MAPPING_ERR_NO_MEMORY        | out of memory, no free range fits, a hole in a strict range, the area limit | ENOMEM (12) |
 * | MAPPING_ERR_ACCESS_DENIED    | a fault's access is not allowed by the area's flags | EACCES (13) |
 */
enum mapping_error {
	MAPPING_OK = 0,
	MAPPING_ERR_INVALID_PARAM = -1,
	MAPPING_ERR_ALREADY_EXISTS = -2,
	MAPPING_ERR_BAD_STATE = -3,
	MAPPING_ERR_NO_MEMORY = -4,
	MAPPING_ERR_ACCESS_DENIED = -5,
};

/**
 * @brief The name of @p err: "Ok", "InvalidParam", "AlreadyExists",
 * "BadState", "NoMemory" or "AccessDenied", "UnknownError" for any other
 * value. Never returns NULL.
 *
 * A name, not a sentence: the error names of the trace language
 * (docs/trace-format.md), which ms-replay prints, so they do not change.
 * The table at ::mapping_error says what each code means; hosted code that
 * wants a sentence can print the C library's
 * strerror(mapping_error_to_errno(err)) beside the name.
 */
const char *mapping_strerror(enum mapping_error err);

/**
 * @brief The positive Linux errno value for @p err (0 for MAPPING_OK).
 *
 * The numbers are the Linux (asm-generic) ones, written as constants so the
 * core needs no host <errno.h>; see the table at ::mapping_error. Unknown
 * values map to EINVAL (22).
 */
int mapping_error_to_errno(enum mapping_error err);

struct memory_area;

/**
 * @name Access kinds of a page fault
 * Bits of the @c access argument of memory_set_handle_fault() and of the
 * mapping_backend_ops.fault hook. Bits from ::MAPPING_ACCESS_USER up are the
 * caller's own (a kernel may pass "user mode" or "instruction fetch from
 * supervisor" there); the set passes them through untouched.
 * @{
 */
#define MAPPING_ACCESS_READ 1u  /**< a load */
#define MAPPING_ACCESS_WRITE 2u /**< a store */
#define MAPPING_ACCESS_EXEC 4u  /**< an instruction fetch */
#define MAPPING_ACCESS_USER 256u /**< first of the caller-defined bits */
/** @} */

/** Version of ::mapping_backend_ops this header describes. */
#define MAPPING_BACKEND_OPS_VERSION 2u
/** The first version, which has the hooks up to can_merge. */
#define MAPPING_BACKEND_OPS_VERSION_1 1u

/**
 * @brief Hooks of a backend (MappingBackend). Keep one `const` instance per
 * backend kind.
 *
 * @c version must be set to ::MAPPING_BACKEND_OPS_VERSION (or any value
 * from 1 up); the set reads only the hooks that version defines, so tables
 * written for version 1 keep working when later versions append hooks.
 * Version 2 appends dup, move and fault; a version-1 table gets their
 * documented defaults.
 *
 * @par Who owns backend.data
 * The set never frees, copies or reads through a data pointer: it stores it
 * and hands it to hooks. A data pointer is "owned by the set" from the
 * moment an area holding it is in the set until the set calls release() for
 * it; after release() it is the backend's again. On each path:
 * - memory_set_map() success: the set owns @c backend->data (the new area's).
 *   If the new area merges into the area before it, that area keeps its
 *   data and release() is called for the new area's data inside map (so a
 *   caller must not use it after map returns). Failure: the set never took
 *   it; release() is not called for it; it is the caller's.
 * - split(): the data it stores in @c *right_data is the set's at once; if
 *   the operation does not use it (a later failure), release() is called for
 *   it. Without a split() hook both parts share one pointer, and release()
 *   is called once per part that leaves: count references if you share.
 * - unmap, clear, a merge that absorbs an area, destroy: release() for each
 *   area (or part) that leaves the set, after its page-table hook succeeded.
 *   When an unmap cuts the end off an area, nothing is released. When it
 *   cuts the start off, the part that stays gets the data split() made for
 *   it, and the old data is released after the unmap hook (without a
 *   split() hook the part keeps the old pointer and nothing is released).
 * - memory_set_dup(): the data that dup() stores for the child is owned by
 *   the child set; on a failure release() is called for every child data
 *   already made.
 * - memory_set_remap(), memory_set_remap_fixed(): the moved area keeps its
 *   data (or the split() result for its offset); pieces cut off follow
 *   split(); data of areas unmapped at the target is released.
 *
 * Hook contract: a hook that fails must leave the page table as it was for
 * the range of that call, and return a negative ::mapping_error. The set
 * never calls hooks re-entrantly. Sizes are never 0 but for an area that
 * covers the whole 64-bit space, [0, 2^64), whose size 2^64 reads as 0 (see
 * ::memory_area); only merging can make such an area.
 * @c data is the per-area pointer of the area concerned, @c page_table is the
 * pointer the caller passed to the set operation.
 */
struct mapping_backend_ops {
	/** ::MAPPING_BACKEND_OPS_VERSION. Tables with version 0 are rejected. */
	uint32_t version;
	/** Must be zero. */
	uint32_t reserved;

	/** Map [start, start+size) with @p flags. Required. */
	enum mapping_error (*map)(void *data, uint64_t start, uint64_t size,
				  uint64_t flags, void *page_table);
	/** Unmap [start, start+size), which is mapped. Required. */
	enum mapping_error (*unmap)(void *data, uint64_t start, uint64_t size,
				    void *page_table);
	/** Change [start, start+size) from @p old_flags to @p new_flags. Required. */
	enum mapping_error (*protect)(void *data, uint64_t start, uint64_t size,
				      uint64_t old_flags, uint64_t new_flags,
				      void *page_table);

	/**
	 * Optional. The area [start, start+size) with @p data is cut at
	 * @p offset (0 < offset < size): store in @p *right_data the data of
	 * the part that begins at start+offset (a file backend adds @p offset
	 * to its file offset). The part before keeps @p data. May fail (e.g.
	 * MAPPING_ERR_NO_MEMORY); it is always called before any page-table
	 * hook of the same operation, so a failure changes nothing.
	 * Default (NULL): the new part shares @p data.
	 */
	enum mapping_error (*split)(void *data, uint64_t start, uint64_t size,
				    uint64_t offset, void **right_data);
	/**
	 * Optional. The area [start, start+size) with @p data leaves the set:
	 * it was unmapped, cleared, absorbed by a merge, or the set was
	 * destroyed. Also called for a @p right_data made by split() that an
	 * operation ended up not using. Default (NULL): nothing.
	 */
	void (*release)(void *data, uint64_t start, uint64_t size);
	/**
	 * Optional. Two touching areas with equal flags and the same ops table
	 * may become one (when the set merges): return true to allow it. The
	 * merged area keeps @p left's data; @p right's is released.
	 * Default (NULL): merge only when both data pointers are equal.
	 */
	bool (*can_merge)(const struct memory_area *left,
			  const struct memory_area *right);

	/* ---- Version 2 ---- */

	/**
	 * Optional (version 2). Duplicate the area [start, start+size) with
	 * @p flags and @p data for a new set (fork): store the child's data in
	 * @p *child_data and bring @p dst_page_table to its state for the range
	 * (copy the pages, share them, or mark them copy-on-write in both page
	 * tables). Called once per area, in address order, by memory_set_dup().
	 * If it fails it must leave both page tables as they were for the
	 * range; the set then undoes the areas already duplicated (unmap() on
	 * the child's page table, then release() of the child's data, in
	 * reverse order; an area whose unmap() fails stays in the child).
	 * Default (NULL): the child shares @p data and map() is called for the
	 * range on @p dst_page_table.
	 */
	enum mapping_error (*dup)(void *data, uint64_t start, uint64_t size,
				  uint64_t flags, void *src_page_table,
				  void *dst_page_table, void **child_data);
	/**
	 * Optional (version 2). Move the page-table entries of
	 * [old_start, old_start+size), which is mapped with @p flags, to
	 * [new_start, new_start+size), which is unmapped: the frames stay, so
	 * the contents move. The ranges do not overlap. Called by
	 * memory_set_remap_fixed(). If it fails it must leave the page table as
	 * it was.
	 * Default (NULL): map() the new range, then unmap() the old one (the
	 * contents are not kept). If that unmap() fails, the new range is
	 * unmapped again and the error returned, nothing moved; only if that
	 * fails too are both ranges mapped, and the set then holds both. With a
	 * split() hook, a range at its area's start has the area's own data,
	 * which two areas cannot hold: the old range is unmapped first, then
	 * the new one mapped, and if that fails the old one mapped again; only
	 * if that fails too is neither mapped, and the set holds neither.
	 */
	enum mapping_error (*move)(void *data, uint64_t old_start,
				   uint64_t new_start, uint64_t size,
				   uint64_t flags, void *page_table);
	/**
	 * Optional (version 2). A page fault at @p addr inside @p area, of the
	 * kind @p access (MAPPING_ACCESS_* bits and the caller's own): check
	 * the access against the area's flags and populate (demand-zero page,
	 * copy-on-write break, file read). Return MAPPING_OK when the access may
	 * be retried, MAPPING_ERR_ACCESS_DENIED when the flags forbid it, or
	 * another error (MAPPING_ERR_NO_MEMORY: no frame). Runs under the set's
	 * shared lock: it must not change the set, only the page table and
	 * what @p data points to.
	 * Default (NULL): allowed when the area's flags have every bit of
	 * @p access below ::MAPPING_ACCESS_USER (the MAPPING_ACCESS_* bits are
	 * the usual r=1, w=2, x=4), and nothing is populated.
	 */
	enum mapping_error (*fault)(void *data, const struct memory_area *area,
				    uint64_t addr, uint64_t access,
				    void *page_table);
};

/** @brief A backend: the ops table and the per-area data given to its hooks. */
struct mapping_backend {
	const struct mapping_backend_ops *ops; /**< The hooks, shared by many areas. */
	void *data; /**< Per-area data, handed to every hook (see the ownership rules above). */
};

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_SET_MAPPING_H */
