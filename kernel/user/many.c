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

	/*
	 * One mapping written all over, so all its pages share one anonymous
	 * identity (two areas faulted apart never merge, as on Linux), then
	 * every other page read-only: touching areas with other flags.
	 */
	CHECK(mmap(base, N * P, RW, ANON | MAP_FIXED_NOREPLACE) == (long)base,
	      "mmap");
	for (int i = 0; i < N; i++)
		*page(base, i) = 0x5000000 + i;
	for (int i = 1; i < N; i += 2)
		bad += mprotect(base + (uint64_t)i * P, P, PROT_READ) != 0;
	CHECK(bad == 0, "%d mprotects failed", bad);
	CHECK(count_areas() == before + N, "%ld areas", count_areas() - before);
	bad = 0;
	for (int i = 0; i < N; i++)
		bad += *page(base, i) != 0x5000000u + i;
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
