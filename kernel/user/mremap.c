/* mremap grows, shrinks and moves areas; the contents go with them. */
#include "ulib.h"

const char *test_name = "mremap";

#define P PAGE_SIZE
#define RW (PROT_READ | PROT_WRITE)

static void fill(long a, int pages, uint64_t seed)
{
	for (int i = 0; i < pages; i++)
		for (int w = 0; w < 512; w += 64)
			((volatile uint64_t *)(a + i * P))[w] = seed + i * 1000 + w;
}

static bool same(long a, int pages, uint64_t seed)
{
	for (int i = 0; i < pages; i++)
		for (int w = 0; w < 512; w += 64)
			if (((volatile uint64_t *)(a + i * P))[w] != seed + i * 1000 + w)
				return false;
	return true;
}

int main(void)
{
	uint64_t base = 0x30000000;
	long a = mmap(base, 4 * P, RW, ANON | MAP_FIXED), r;

	fill(a, 4, 1);
	r = mremap(a, 4 * P, 8 * P, 0, 0);
	CHECK(r == a, "grow in place: %lx", r);
	CHECK(same(a, 4, 1), "contents after growing");
	CHECK(*(volatile uint64_t *)(a + 7 * P) == 0, "the new part is zero");
	fill(a, 8, 2);

	r = mremap(a, 8 * P, 6 * P, 0, 0);
	CHECK(r == a && same(a, 6, 2), "shrink in place");
	expect_kill("load past a shrunk area", load, a + 6 * P, KILL_UNMAPPED);

	/* Something right after the area: growing must move. */
	long wall = mmap(a + 6 * P, P, PROT_READ, ANON | MAP_FIXED);

	CHECK(wall == a + 6 * (long)P, "wall");
	CHECK(mremap(a, 6 * P, 10 * P, 0, 0) == -ENOMEM, "no room, no move");
	CHECK(same(a, 6, 2), "unchanged after the refusal");
	r = mremap(a, 6 * P, 10 * P, MREMAP_MAYMOVE, 0);
	CHECK(r > 0 && r != a, "moved: %lx", r);
	CHECK(same(r, 6, 2), "contents moved");
	CHECK(*(volatile uint64_t *)(r + 9 * P) == 0, "grown part is zero");
	expect_kill("load from a moved area's old place", load, a, KILL_UNMAPPED);

	/* A fixed target: the middle of the area moves, the rest stays. */
	uint64_t target = 0x40000000;

	fill(r, 10, 3);
	long m = mremap(r + 2 * P, 3 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_FIXED,
			target);
	CHECK(m == (long)target, "fixed move: %lx", m);
	CHECK(same(target, 3, 3 + 2 * 1000), "moved middle");
	CHECK(same(r, 2, 3), "the part before stays");
	CHECK(same(r + 5 * P, 5, 3 + 5 * 1000), "the part after stays");
	expect_kill("load from a moved middle's old place", load, r + 3 * P,
		    KILL_UNMAPPED);

	CHECK(mremap(r, 10 * P, 11 * P, 0, 0) == -EFAULT,
	      "a range across a hole is not one area");
	CHECK(mremap(target, 3 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_FIXED,
		     target + P) == -EINVAL, "overlapping move");
	CHECK(mremap(target, 3 * P, 3 * P, MREMAP_FIXED, target + P) == -EINVAL,
	      "FIXED without MAYMOVE");

	CHECK(munmap(base, 0x20000000) == 0 && munmap(r, 10 * P) == 0,
	      "munmap all");
	printf("mremap: %d failures\n", test_failures);
	return test_failures != 0;
}
