/*
 * The only string.h a kernel tree must offer memory_set: the four functions
 * the core may call. tests/freestanding/check.sh compiles the core with
 * -nostdinc against this file and the compiler's own freestanding headers
 * (stddef.h, stdint.h, stdbool.h), so any other libc header fails the check.
 */
#ifndef MS_FREESTANDING_STRING_H
#define MS_FREESTANDING_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
