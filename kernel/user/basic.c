/* mmap, munmap, mprotect, brk: what a program writes reads back. */
#include "ulib.h"

const char *test_name = "basic";

#define P PAGE_SIZE
#define RW (PROT_READ | PROT_WRITE)

static volatile uint64_t *word(long addr, long page)
{
	return (volatile uint64_t *)(addr + page * P);
}

static void lazy_memory(void)
{
	long a = mmap(0, 4 * P, RW, ANON);

	CHECK(a > 0 && a % P == 0, "mmap: %ld", a);
	for (int i = 0; i < 4; i++)
		CHECK(*word(a, i) == 0, "page %d not zero", i);
	for (int i = 0; i < 4; i++)
		*word(a, i) = 0x1000 + i;
	for (int i = 0; i < 4; i++)
		CHECK(*word(a, i) == 0x1000u + i, "page %d", i);
	CHECK(munmap(a, 4 * P) == 0, "munmap");

	/* A gigabyte costs nothing until touched. */
	long big = mmap(0, 1ul << 30, RW, ANON);

	CHECK(big > 0, "1 GiB mmap: %ld", big);
	*word(big, 0) = 1;
	*word(big, (1 << 18) - 1) = 2;
	CHECK(*word(big, 0) == 1 && *word(big, (1 << 18) - 1) == 2, "1 GiB ends");
	CHECK(munmap(big, 1ul << 30) == 0, "munmap 1 GiB");

	long pop = mmap(0, 8 * P, RW, ANON | MAP_POPULATE);

	CHECK(pop > 0 && *word(pop, 7) == 0, "populated mmap: %ld", pop);
	CHECK(munmap(pop, 8 * P) == 0, "munmap populated");
}

static void placement(void)
{
	uint64_t hint = 0x20000000;
	long a = mmap(hint, 2 * P, RW, ANON);
	long b = mmap(hint, 2 * P, RW, ANON);

	CHECK(a == (long)hint, "a free hint is taken: %lx", a);
	CHECK(b > 0 && b != a && (b + 2 * (long)P <= a || b >= a + 2 * (long)P),
	      "a busy hint is not: %lx", b);
	*word(a, 0) = 11;
	*word(a, 1) = 12;

	/* MAP_FIXED replaces: the new page is zero, its neighbour is kept. */
	CHECK(mmap(a + P, P, RW, ANON | MAP_FIXED) == a + (long)P, "MAP_FIXED");
	CHECK(*word(a, 0) == 11 && *word(a, 1) == 0, "after MAP_FIXED: %lu %lu",
	      (unsigned long)*word(a, 0), (unsigned long)*word(a, 1));
	CHECK(mmap(a, P, RW, ANON | MAP_FIXED_NOREPLACE) == -EEXIST,
	      "NOREPLACE over an area");
	CHECK(*word(a, 0) == 11, "NOREPLACE changed nothing");
	CHECK(mmap(a + 2 * P, P, RW, ANON | MAP_FIXED_NOREPLACE) == a + 2 * (long)P,
	      "NOREPLACE on free space");
	CHECK(munmap(a, 3 * P) == 0 && munmap(b, 2 * P) == 0, "munmap");

	CHECK(mmap(0, 0, RW, ANON) == -EINVAL, "length 0");
	CHECK(mmap(0, P, RW, MAP_PRIVATE) == -EBADF, "not anonymous: no file");
	CHECK(mmap(hint + 1, P, RW, ANON | MAP_FIXED) == -EINVAL, "unaligned fixed");
	CHECK(mmap(USER_TOP, P, RW, ANON | MAP_FIXED) == -ENOMEM,
	      "fixed above the user window");
	CHECK(munmap(hint + 1, P) == -EINVAL, "unaligned munmap");
}

/*
 * User space is the whole lower half of Sv39: pages at 2 GiB (where RAM
 * is, physically), past 4 GiB and just below the stack (the stack itself
 * is at the top, near 256 GiB), and a 2 GiB area moved from 1 GiB to
 * 5 GiB, across them, with its data.
 */
static void whole_lower_half(void)
{
	const uint64_t at[] = { RAM_BASE, 5ul << 30, USER_TOP - STACK_SIZE - P };
	const uint64_t from = 1ul << 30, to = 5ul << 30, size = 2ul << 30;
	const uint64_t off[] = { 0, 1ul << 30, size - 8 };

	for (unsigned i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		CHECK(mmap(at[i], P, RW, ANON | MAP_FIXED_NOREPLACE) == (long)at[i],
		      "mmap at %lx", (unsigned long)at[i]);
		*(volatile uint64_t *)at[i] = at[i];
		CHECK(*(volatile uint64_t *)at[i] == at[i], "data at %lx",
		      (unsigned long)at[i]);
		CHECK(munmap(at[i], P) == 0, "munmap at %lx", (unsigned long)at[i]);
	}
	CHECK(mmap(from, size, RW, ANON | MAP_FIXED_NOREPLACE) == (long)from,
	      "2 GiB at 1 GiB");
	for (unsigned i = 0; i < sizeof(off) / sizeof(off[0]); i++)
		*(volatile uint64_t *)(from + off[i]) = 0x7000 + i;
	CHECK(mremap(from, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, to) ==
	      (long)to, "2 GiB moved to 5 GiB");
	for (unsigned i = 0; i < sizeof(off) / sizeof(off[0]); i++)
		CHECK(*(volatile uint64_t *)(to + off[i]) == 0x7000 + i,
		      "moved data at +%lx", (unsigned long)off[i]);
	CHECK(munmap(to, size) == 0, "munmap 2 GiB");
}

static void protection_and_areas(void)
{
	long base = count_areas();
	long a = mmap(0, 3 * P, RW, ANON);

	CHECK(count_areas() == base + 1, "one area more");
	for (int i = 0; i < 3; i++)
		*word(a, i) = 100 + i;
	CHECK(mprotect(a + P, P, PROT_READ) == 0, "mprotect");
	CHECK(count_areas() == base + 3, "mprotect splits in three");
	CHECK(*word(a, 1) == 101, "read-only page still reads");
	CHECK(mprotect(a + P, P, RW) == 0, "mprotect back");
	CHECK(count_areas() == base + 1, "and merges again");

	/* PROT_NONE keeps the data for later. */
	CHECK(mprotect(a, 3 * P, PROT_NONE) == 0, "PROT_NONE");
	CHECK(mprotect(a, 3 * P, RW) == 0, "back to rw");
	for (int i = 0; i < 3; i++)
		CHECK(*word(a, i) == 100u + i, "page %d after PROT_NONE", i);

	CHECK(munmap(a + P, P) == 0, "munmap the middle");
	CHECK(count_areas() == base + 2, "two areas left");
	CHECK(mprotect(a, 3 * P, PROT_READ) == -ENOMEM, "mprotect over a hole");
	CHECK(*word(a, 0) == 100, "failed mprotect changed nothing");
	*word(a, 0) = 7; /* still writable */
	CHECK(munmap(a, 3 * P) == 0, "munmap over a hole");
	CHECK(count_areas() == base, "all gone");
}

static void heap(void)
{
	long b0 = brk(0);

	CHECK(b0 > 0, "brk(0): %lx", b0);
	CHECK(brk(b0 + 3 * P) == b0 + 3 * (long)P, "grow");
	for (int i = 0; i < 3; i++)
		*word(b0, i) = 0xbeef + i;
	CHECK(brk(b0 + 5 * P) == b0 + 5 * (long)P, "grow more");
	for (int i = 0; i < 3; i++)
		CHECK(*word(b0, i) == 0xbeefu + i, "heap page %d", i);
	CHECK(*word(b0, 4) == 0, "new heap page is zero");
	CHECK(brk(b0 + P) == b0 + (long)P, "shrink");
	CHECK(brk(b0 + 2 * P) == b0 + 2 * (long)P && *word(b0, 1) == 0,
	      "a page given back comes back zero");
	CHECK(brk(b0) == b0, "back to the start");
}

int main(void)
{
	lazy_memory();
	placement();
	whole_lower_half();
	protection_and_areas();
	heap();
	printf("basic: %d failures\n", test_failures);
	return test_failures != 0;
}
