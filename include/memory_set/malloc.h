/**
 * @file malloc.h
 * @brief The hosted default allocator of memory_set (malloc and free,
 * blocks aligned to cache lines).
 *
 * Not part of the freestanding core: its source lives in hosted/ and is
 * built into the hosted libraries only, so a kernel build never pulls it in.
 */
#ifndef MEMORY_SET_MALLOC_H
#define MEMORY_SET_MALLOC_H

#include <memory_set/memory_set.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Allocator over malloc() and free(), giving blocks aligned to a
 * 64-byte cache line (cut from blocks 64 bytes longer); its context is
 * unused (NULL).
 */
extern const struct memory_set_allocator memory_set_malloc_allocator;

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_SET_MALLOC_H */
