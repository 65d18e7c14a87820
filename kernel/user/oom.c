/*
 * Out of frames: a fork and a move get ENOMEM and change nothing; a page
 * fault with no frame kills the process, and its parent sees why. A
 * populating mmap populates what it can, as Linux's (best effort), and
 * gives every frame back at munmap, its page tables included. The kernel
 * checks the areas against the page table after each of these calls, and
 * that every frame is back once the program is done.
 */
#include "ulib.h"

const char *test_name = "oom";

#define P PAGE_SIZE
#define RW (PROT_READ | PROT_WRITE)
#define POP (ANON | MAP_POPULATE)
#define STEP (16 * P) /* what each refused fork gives back */

static char before[4096], after[4096];
static uint64_t low = MMAP_TOP; /* the lowest page fill() took */

static long frames_free(void)
{
	return debug(DEBUG_FREE_FRAMES);
}

/*
 * Take every frame left with populated mappings, few and large: the debug
 * check after each system call walks every page mapped.
 */
static long fill(void)
{
	long total = 0, r, free;

	for (int i = 0; i < 1000 && (free = frames_free()) > 0; i++) {
		uint64_t chunk = (uint64_t)free * P;

		r = mmap(0, chunk, RW, POP);
		if (r < 0) {
			FAILED("fill: mmap: %ld", r);
			break;
		}
		total += (long)chunk;
		if ((uint64_t)r < low)
			low = (uint64_t)r;
	}
	CHECK(frames_free() == 0, "fill left %ld frames", frames_free());
	return total;
}

static bool maps_unchanged(void)
{
	long n = maps(after, sizeof(after));

	return n > 0 && n < (long)sizeof(after) && memcmp(before, after, n + 1) == 0;
}

/*
 * fork, then wait in the parent, with no store in between: every page is
 * shared then and there may be no frame to copy one. The child exits at
 * once. Returns the child's pid or -errno.
 */
static long fork_wait(int *status)
{
	register long a0 asm("a0");
	register long a1 asm("a1") = 0;
	register long a7 asm("a7") = SYS_fork;

	asm volatile("ecall\n"
		     "	bltz a0, 2f\n"
		     "	bnez a0, 1f\n"
		     "	li a7, %[exit]\n" /* the child: exit(0) */
		     "	ecall\n"
		     "1:	mv t0, a0\n"
		     "	mv a0, %[status]\n"
		     "	li a7, %[wait]\n"
		     "	ecall\n"
		     "	mv a0, t0\n"
		     "2:\n"
		     : "=&r"(a0), "+r"(a7)
		     : "r"(a1), [status] "r"(status), [exit] "i"(SYS_exit),
		       [wait] "i"(SYS_wait)
		     : "t0", "memory");
	return a0;
}

/* Bring in the stack pages the test will use, while there are frames. */
static void __attribute__((noinline)) touch_stack(void)
{
	volatile char pad[16384];

	for (unsigned i = 0; i < sizeof(pad); i += P)
		pad[i] = 0;
}

static void touch_without_frames(uint64_t lazy)
{
	fill();
	*(volatile uint64_t *)lazy = 1; /* no frame for this fault */
	printf("oom: the store went through\n");
}

int main(void)
{
	uint64_t x = 0x20000000, y = 0x20100000;

	touch_stack();

	/* Two small areas with data, to watch through all of this. */
	CHECK(mmap(x, 2 * P, RW, POP | MAP_FIXED) == (long)x, "x");
	CHECK(mmap(y, P, RW, POP | MAP_FIXED) == (long)y, "y");
	*(volatile uint64_t *)x = 0x1111;
	*(volatile uint64_t *)y = 0x2222;
	CHECK(maps(before, sizeof(before)) > 0, "maps");

	/* More than the machine has, all of its RAM: populated as far as it
	 * goes, and all of it given back. */
	long free = frames_free();
	long all = mmap(0, (uint64_t)RAM_MB << 20, RW, POP);

	CHECK(all > 0, "all of RAM populated (best effort): %ld", all);
	CHECK(frames_free() == 0, "populating all of RAM left %ld frames",
	      frames_free());
	CHECK(munmap(all, (uint64_t)RAM_MB << 20) == 0, "munmap all of RAM");
	CHECK(frames_free() == free, "munmap gave back %ld of %ld frames",
	      frames_free(), free);
	CHECK(maps_unchanged(), "maps after all of RAM came and went");
	CHECK(mmap(0, (uint64_t)RAM_MB << 20, RW, ANON) > 0, "lazily it fits");

	long filled = fill();

	CHECK(filled > (16l << 20), "filled only %ld bytes", filled);
	CHECK(*(volatile uint64_t *)x == 0x1111, "x kept");

	/* mremap to a range that needs a new table: no frame for it. */
	CHECK(mremap(y, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, 0x50000000) ==
	      -ENOMEM, "move without a frame for the table");
	CHECK(*(volatile uint64_t *)y == 0x2222, "y still there");

	/* fork fails until enough frames are free, then works (a few hundred
	 * pages, STEP at a time; a bound, so that a munmap freeing nothing is
	 * no hang). */
	int refused = 0, status = -1;
	long pid;

	while ((pid = fork_wait(&status)) == -ENOMEM && refused < 64) {
		refused++;
		CHECK(munmap(low + (uint64_t)(refused - 1) * STEP, STEP) == 0,
		      "munmap");
	}
	CHECK(pid > 0 && status == 0, "fork after %d pages were unmapped: %ld %x",
	      refused, pid, status);
	CHECK(refused > 0, "fork was never refused");

	/* A page fault with no frame left kills the child. */
	long lazy = mmap(0x20200000, P, RW, ANON | MAP_FIXED);
	uint64_t fault = 0;

	/* Past the pages the refusals gave back (as many as the tables fork copies). */
	CHECK(munmap(low + (uint64_t)refused * STEP, 64 * P) == 0,
	      "room for the child");
	status = run_child(touch_without_frames, (uint64_t)lazy, &fault);
	CHECK(!WIFEXITED(status) && WKILLREASON(status) == KILL_NOMEM &&
	      fault == (uint64_t)lazy, "child: status %x at %lx", status,
	      (unsigned long)fault);

	/* Everything back: memory works again. */
	CHECK(munmap(MMAP_MIN, MMAP_TOP - MMAP_MIN) == 0, "munmap all");
	long big = mmap(0, 8ul << 20, RW, POP);

	CHECK(big > 0 && *(volatile uint64_t *)(big + (8ul << 20) - 8) == 0,
	      "8 MiB after it all: %ld", big);
	printf("oom: fork refused %d times; %d failures\n", refused,
	       test_failures);
	return test_failures != 0;
}
