/*
 * The address space as the kernel sees it (its memory set, printed by the
 * maps call), before and after fork and mremap.
 */
#include "ulib.h"

const char *test_name = "demo";

#define P PAGE_SIZE
#define RW (PROT_READ | PROT_WRITE)

static void show(const char *when)
{
	printf("\n--- pid %ld, %s:\n", getpid(), when);
	maps(0, 0);
}

int main(void)
{
	show("at start (text, data, stack)");

	long a = mmap(0, 8 * P, RW, ANON);
	long heap = brk(0);

	brk(heap + 4 * P);
	for (int i = 0; i < 8; i++)
		((volatile uint64_t *)(a + i * P))[0] = 100 + i;
	mprotect(a + 2 * P, 2 * P, PROT_READ);
	show("after mmap of 8 pages, brk of 4, mprotect r-- of 2 in the middle");

	long pid = fork();

	if (pid == 0) {
		show("the child, right after fork: the same areas");
		munmap(a + 6 * P, 2 * P);
		((volatile uint64_t *)a)[0] = 999; /* copy-on-write break */
		show("the child after munmap of the last 2 pages");
		exit(0);
	}
	int status;

	wait(&status, NULL);
	long b = mremap(a, 2 * P, 16 * P, MREMAP_MAYMOVE, 0);

	show("the parent after the child exited and mremap of the first 2 pages to 16");
	printf("\nmoved %lx -> %lx; first word %lu (the child wrote 999 to its copy)\n",
	       (unsigned long)a, (unsigned long)b,
	       (unsigned long)((volatile uint64_t *)b)[0]);
	return 0;
}
