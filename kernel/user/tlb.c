/*
 * A change to a process's mappings holds at once for that process itself:
 * a page it has just used, then made read-only, inaccessible, unmapped or
 * moved away, faults on its next use. The processor may cache the old
 * translation (QEMU does, until the kernel's fence), so each child here
 * uses the page first and changes it itself; a freshly forked child would
 * not show a missing fence, its cache starts empty.
 */
#include "ulib.h"

const char *test_name = "tlb";

#define P PAGE_SIZE
#define RW (PROT_READ | PROT_WRITE)

static uint64_t page_of(uint64_t addr)
{
	return addr & ~(P - 1);
}

static void store_after_read_only(uint64_t addr)
{
	store(addr);
	CHECK(mprotect(page_of(addr), P, PROT_READ) == 0, "mprotect");
	store(addr);
}

static void load_after_prot_none(uint64_t addr)
{
	load(addr);
	CHECK(mprotect(page_of(addr), P, PROT_NONE) == 0, "mprotect");
	load(addr);
}

static void load_after_munmap(uint64_t addr)
{
	load(addr);
	CHECK(munmap(page_of(addr), P) == 0, "munmap");
	load(addr);
}

/* The page moves to a free place: no unmap there to flush on the way. */
static void load_after_mremap(uint64_t addr)
{
	uint64_t from = page_of(addr), to = from + 2 * P;

	CHECK(munmap(to, P) == 0, "munmap");
	load(addr);
	CHECK(mremap(from, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, to) == (long)to,
	      "mremap");
	load(addr);
}

int main(void)
{
	long a = mmap(0, 8 * P, RW, ANON);

	CHECK(a > 0, "mmap %ld", a);
	for (int i = 0; i < 8; i++)
		*(volatile uint64_t *)(a + i * P) = 100 + i;

	expect_kill("store after mprotect(PROT_READ) in the same process",
		    store_after_read_only, a + 8, KILL_DENIED);
	expect_kill("load after mprotect(PROT_NONE) in the same process",
		    load_after_prot_none, a + P + 16, KILL_DENIED);
	expect_kill("load after munmap in the same process",
		    load_after_munmap, a + 2 * P + 24, KILL_UNMAPPED);
	expect_kill("load from the old place after mremap in the same process",
		    load_after_mremap, a + 3 * P + 32, KILL_UNMAPPED);

	/* The children changed only their own copies. */
	for (int i = 0; i < 8; i++)
		CHECK(*(volatile uint64_t *)(a + i * P) == 100u + i, "page %d", i);

	/* mmap(MAP_FIXED) over a page just used: the new page reads zero. */
	CHECK(mmap(a, P, RW, ANON | MAP_FIXED) == a, "MAP_FIXED");
	CHECK(*(volatile uint64_t *)a == 0,
	      "a page replaced by MAP_FIXED still reads its old data");
	CHECK(munmap(a, 8 * P) == 0, "munmap");
	printf("tlb: %d failures\n", test_failures);
	return test_failures != 0;
}
