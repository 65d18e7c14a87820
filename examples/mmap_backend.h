/**
 * @file mmap_backend.h
 * @brief A backend that applies a memory set to real memory of the process:
 * the "page table" is a window of the address space reserved with mmap, and
 * the hooks call mmap, mprotect and munmap inside it. Linux and other POSIX
 * systems with MAP_FIXED and MAP_ANONYMOUS.
 *
 * Flags: bit 0 read, bit 1 write, bit 2 execute (MMAP_BACKEND_READ, ...);
 * any other bit is refused with MAPPING_ERR_INVALID_PARAM. Mapped memory is
 * private, anonymous and zero-filled. An unmapped range goes back to the
 * window's inaccessible reservation (a MAP_FIXED PROT_NONE mapping in one
 * step), so no other mmap of the process can land inside the window.
 *
 * Usage: mmap_window_init(&w, bytes); use w.base as the first address of
 * the set's areas, {&mmap_backend_ops, NULL} as their backend, and &w as the
 * page_table of memory_set_map/unmap/protect/clear.
 */
#ifndef MMAP_BACKEND_H
#define MMAP_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <memory_set/mapping.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMAP_BACKEND_READ 1u
#define MMAP_BACKEND_WRITE 2u
#define MMAP_BACKEND_EXEC 4u

/** @brief A reserved range of the process's address space. */
struct mmap_window {
	uint64_t base; /**< First address, page aligned. */
	uint64_t size; /**< Bytes, a multiple of the page size. */
};

/**
 * @brief Reserve @p size bytes (rounded up to pages), inaccessible and
 * without committing memory.
 * @return MAPPING_OK, MAPPING_ERR_INVALID_PARAM (size 0), or
 *         MAPPING_ERR_NO_MEMORY.
 */
enum mapping_error mmap_window_init(struct mmap_window *w, size_t size);

/** @brief Give the whole window back to the system (munmap). */
void mmap_window_destroy(struct mmap_window *w);

/** @brief The system's page size. */
uint64_t mmap_page_size(void);

/**
 * @brief The hooks. The page_table argument is the struct mmap_window; a
 * range outside it is refused with MAPPING_ERR_INVALID_PARAM. System errors
 * map to ENOMEM -> MAPPING_ERR_NO_MEMORY, EINVAL -> MAPPING_ERR_INVALID_PARAM,
 * anything else (EACCES, EPERM, ...) -> MAPPING_ERR_BAD_STATE.
 */
extern const struct mapping_backend_ops mmap_backend_ops;

#ifdef __cplusplus
}
#endif

#endif /* MMAP_BACKEND_H */
