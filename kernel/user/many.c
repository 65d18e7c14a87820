/*
 * Thousands of areas: each keeps its own data, the maps call lists them
 * all, and they merge back into one when their flags agree again.
 */
#include "ulib.h"

const char *test_name = "many";

#define P PAGE_SIZE
#define N 2000
#define RW (PROT_READ | PROT_WRITE)

static volatile uint64_t *page(uint64_t base, int i)
{
	return (volatile uint64_t *)(base + (uint64_t)i * P);
}

int main(void)
{
	uint64_t base = 0x20000000;
	long before = count_areas();
	int bad = 0;

	/* Alternate flags so that touching areas stay apart. */
	for (int i = 0; i < N; i++) {
		long r = mmap(base + (uint64_t)i * P, P, i % 2 ? PROT_READ : RW,
			      ANON | MAP_FIXED_NOREPLACE);

		if (r != (long)(base + (uint64_t)i * P))
			bad++;
		else if (i % 2 == 0)
			*page(base, i) = 0x5000000 + i;
	}
	CHECK(bad == 0, "%d mmaps failed", bad);
	CHECK(count_areas() == before + N, "%ld areas", count_areas() - before);
	bad = 0;
	for (int i = 0; i < N; i++)
		bad += *page(base, i) != (i % 2 ? 0 : 0x5000000u + i);
	CHECK(bad == 0, "%d pages lost their data", bad);

	/* One mprotect over all of them: a single area again. */
	CHECK(mprotect(base, N * P, RW) == 0, "mprotect all");
	CHECK(count_areas() == before + 1, "merged: %ld", count_areas() - before);
	for (int i = 1; i < N; i += 2)
		*page(base, i) = 0x6000000 + i;

	/* Punch a hole in every third page. */
	for (int i = 0; i < N; i += 3)
		CHECK(munmap(base + (uint64_t)i * P, P) == 0, "munmap %d", i);
	/* The pieces left start at every page i with i % 3 == 1. */
	CHECK(count_areas() == before + (N + 1) / 3, "holes: %ld",
	      count_areas() - before);
	bad = 0;
	for (int i = 0; i < N; i++)
		if (i % 3)
			bad += *page(base, i) != (i % 2 ? 0x6000000u : 0x5000000u) + i;
	CHECK(bad == 0, "%d pages lost their data after the holes", bad);

	CHECK(munmap(base, N * P) == 0, "munmap all");
	CHECK(count_areas() == before, "all gone: %ld", count_areas() - before);
	printf("many: %d failures\n", test_failures);
	return test_failures != 0;
}
