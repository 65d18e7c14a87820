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
 * | MAPPING_ERR_BAD_STATE        | page table not in the expected state     | EFAULT (14)         |
 * | MAPPING_ERR_NO_MEMORY        | out of memory, or no free range fits     | ENOMEM (12)         |
 */
enum mapping_error {
	MAPPING_OK = 0,
	MAPPING_ERR_INVALID_PARAM = -1,
	MAPPING_ERR_ALREADY_EXISTS = -2,
	MAPPING_ERR_BAD_STATE = -3,
	MAPPING_ERR_NO_MEMORY = -4,
};

/**
 * @brief A short English description of @p err ("InvalidParam", ...).
 *
 * The names are those of the trace language. Unknown values give
 * "UnknownError". Never returns NULL.
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

/** Version of ::mapping_backend_ops this header describes. */
#define MAPPING_BACKEND_OPS_VERSION 1u

/**
 * @brief Hooks of a backend (MappingBackend). Keep one `const` instance per
 * backend kind.
 *
 * @c version must be set to ::MAPPING_BACKEND_OPS_VERSION (or any value
 * from 1 up); the set reads only the hooks that version defines, so tables
 * written for version 1 keep working when later versions append hooks.
 * Planned additions (version 2 and later): duplicate an area for fork, handle
 * a page fault for lazy backends, and resize/move an area.
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
};

/** @brief A backend: the ops table and the per-area data given to its hooks. */
struct mapping_backend {
	const struct mapping_backend_ops *ops;
	void *data;
};

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_SET_MAPPING_H */
