/*
 * A Linux program's address space as it sees it, /proc/self/maps, before
 * and after fork and mremap: mmap, brk, mprotect, a copy-on-write break,
 * munmap in the child, and a move in the parent. Built static against
 * glibc; the kernel runs it on its Linux ABI (`make kernel-demo`).
 */
#define _GNU_SOURCE /* mremap */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define P 4096

static void show(const char *when)
{
	char line[512];
	FILE *maps = fopen("/proc/self/maps", "r");

	printf("\n--- pid %d, %s:\n", getpid(), when);
	if (!maps) {
		perror("/proc/self/maps");
		exit(1);
	}
	while (fgets(line, sizeof(line), maps))
		fputs(line, stdout);
	fclose(maps);
}

int main(void)
{
	show("at start (text, data, heap, stack)");

	char *a = mmap(NULL, 8 * P, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *heap = sbrk(0);

	if (a == MAP_FAILED || sbrk(4 * P) == (void *)-1) {
		perror("mmap or sbrk");
		return 1;
	}
	for (int i = 0; i < 8; i++)
		a[i * P] = (char)(100 + i);
	mprotect(a + 2 * P, 2 * P, PROT_READ);
	show("after mmap of 8 pages (written), sbrk of 4, mprotect r-- of 2 in the middle");

	pid_t pid = fork();

	if (pid == 0) {
		show("the child, right after fork: the same areas");
		munmap(a + 6 * P, 2 * P);
		a[0] = 99; /* copy-on-write break: the parent keeps its 100 */
		show("the child after munmap of the last 2 pages");
		exit(0);
	}
	int status;

	waitpid(pid, &status, 0);
	char *b = mremap(a, 2 * P, 16 * P, MREMAP_MAYMOVE);

	show("the parent after the child exited, and mremap of the first 2 pages to 16");
	printf("\nmoved %p -> %p, its first byte %d (the child wrote 99 into its copy);\n"
	       "the heap starts at %p; the child's status was %d\n",
	       (void *)a, (void *)b, b[0], (void *)heap, status);
	return 0;
}
