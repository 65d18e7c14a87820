/**
 * @file memory_area.h
 * @brief One area of a memory set (MemoryArea): a range, its flags and its
 * backend.
 */
#ifndef MEMORY_SET_MEMORY_AREA_H
#define MEMORY_SET_MEMORY_AREA_H

#include <memory_set/mapping.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief The area [start, start + size).
 *
 * The set hands out `const` pointers to its areas; they stay valid until the
 * next call that may change its areas, whether it succeeds or fails: map,
 * unmap and unmap_strict, protect, protect_flags and their _strict forms,
 * remap, remap_fixed, dup into the set, clear, set_merge, destroy (every
 * function that takes the set non-const but set_granule and set_max_areas).
 * Read the fields directly or through the accessors below. An area may end
 * exactly at 2^64: compare with memory_area_last(), which never wraps.
 *
 * Sizes are kept modulo 2^64: one area only, [0, 2^64), which merging alone
 * can make (areas are mapped at most 2^64 - granule long), has size 0. The
 * same holds for the sizes the set passes to the hooks of that area.
 */
struct memory_area {
	uint64_t start;                 /**< First address. */
	uint64_t size;                  /**< Length in bytes; 0 means 2^64. */
	/**
	 * The caller's bits: the set stores and compares them (merging needs
	 * equal flags) and hands them to the hooks. Two defaults read them:
	 * the fault hook's (bits 0-2, the MAPPING_ACCESS_* kinds r=1, w=2,
	 * x=4) and memory_set_format_area() with no perms function (bits 0-2
	 * rwx, bit 3 shared); memory_set_protect_flags() and
	 * memory_set_can_access() test the bits of a mask the caller gives.
	 */
	uint64_t flags;
	struct mapping_backend backend; /**< Ops table and per-area data. */
};

/** @brief First address of @p a. */
static inline uint64_t memory_area_start(const struct memory_area *a)
{
	return a->start;
}

/** @brief Size of @p a in bytes, modulo 2^64 (0 for [0, 2^64)). */
static inline uint64_t memory_area_size(const struct memory_area *a)
{
	return a->size;
}

/**
 * @brief One past the last address of @p a, modulo 2^64: an area that ends
 * at the top of the address space has end 0. Prefer memory_area_last().
 */
static inline uint64_t memory_area_end(const struct memory_area *a)
{
	return a->start + a->size;
}

/** @brief Last address of @p a (inclusive); never wraps. */
static inline uint64_t memory_area_last(const struct memory_area *a)
{
	return a->start + (a->size - 1);
}

/** @brief Flags of @p a. */
static inline uint64_t memory_area_flags(const struct memory_area *a)
{
	return a->flags;
}

/** @brief Backend of @p a (ops table and per-area data). */
static inline const struct mapping_backend *
memory_area_backend(const struct memory_area *a)
{
	return &a->backend;
}

/** @brief True if @p addr lies inside @p a. */
static inline bool memory_area_contains(const struct memory_area *a,
					uint64_t addr)
{
	return addr >= a->start && addr - a->start <= a->size - 1;
}

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_SET_MEMORY_AREA_H */
