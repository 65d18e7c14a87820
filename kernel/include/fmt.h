/* printf-style formatting shared by the kernel and the user programs. */
#ifndef KERNEL_FMT_H
#define KERNEL_FMT_H

#include <stdarg.h>

/*
 * Format @fmt through @put, one character at a time. Knows %d %u %x %s %c
 * %p %%, the l modifier (64-bit) and a width with 0 padding (%016lx).
 */
void fmt_print(void (*put)(void *ctx, char c), void *ctx, const char *fmt,
	       va_list ap);

#endif
