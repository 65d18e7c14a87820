/*
 * A Linux program whose store to an unmapped address must end it with
 * SIGSEGV as its status (the kernel's test expects exactly that), after
 * its line reached the console.
 */
#include <stdint.h>
#include <stdio.h>

static volatile uintptr_t where = 16; /* hidden from the compiler */

int main(void)
{
	printf("segv: storing to address %lu\n", (unsigned long)where);
	*(volatile int *)where = 1;
	printf("segv: the store went through\n");
	return 0;
}
