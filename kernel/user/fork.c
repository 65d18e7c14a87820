/*
 * fork shares pages copy-on-write: after it, neither side sees the other's
 * writes, whichever writes first, through any number of generations.
 */
#include "ulib.h"

const char *test_name = "fork";

#define P PAGE_SIZE
#define PAGES 8
#define RW (PROT_READ | PROT_WRITE)

static long area, ro_area, lazy_area;

static void fill(uint64_t seed)
{
	for (int i = 0; i < PAGES; i++)
		for (int w = 0; w < 512; w += 32)
			((volatile uint64_t *)(area + i * P))[w] = seed + i * 512 + w;
}

static bool holds(uint64_t seed)
{
	for (int i = 0; i < PAGES; i++)
		for (int w = 0; w < 512; w += 32)
			if (((volatile uint64_t *)(area + i * P))[w] != seed + i * 512 + w)
				return false;
	return true;
}

/* The child sees the parent's data, then changes its own copy. */
static void child_writes(uint64_t seed)
{
	CHECK(holds(seed), "child sees the parent's data");
	fill(seed + 1);
	CHECK(holds(seed + 1), "child reads its own writes");
}

/* The child waits until the parent has written after the fork. */
static void child_yields(uint64_t seed)
{
	yield();
	CHECK(holds(seed), "child keeps the data of the fork time");
}

static void grandchild(uint64_t seed)
{
	fill(seed + 100);
}

static void child_forks(uint64_t seed)
{
	int status = run_child(grandchild, seed, NULL);

	expect_exit("grandchild", status, 0);
	CHECK(holds(seed), "child unchanged by the grandchild");
	fill(seed + 200);
}

static void child_unprotects(uint64_t seed)
{
	CHECK(*(volatile uint64_t *)ro_area == seed, "read-only data shared");
	CHECK(mprotect(ro_area, P, RW) == 0, "mprotect in the child");
	*(volatile uint64_t *)ro_area = seed + 1;
	CHECK(*(volatile uint64_t *)ro_area == seed + 1, "child's write");
}

static void child_touches_lazy(uint64_t seed)
{
	CHECK(*(volatile uint64_t *)lazy_area == 0, "lazy page is zero");
	*(volatile uint64_t *)lazy_area = seed;
}

int main(void)
{
	area = mmap(0, PAGES * P, RW, ANON);
	ro_area = mmap(0, P, RW, ANON);
	lazy_area = mmap(0, P, RW, ANON);
	CHECK(area > 0 && ro_area > 0 && lazy_area > 0, "mmap");

	fill(1000);
	expect_exit("child writes", run_child(child_writes, 1000, NULL), 0);
	CHECK(holds(1000), "parent does not see the child's writes");
	fill(2000); /* the last sharer writes in place */
	CHECK(holds(2000), "parent writes after the child left");

	/* The parent writes first; the child must not see it. */
	long pid = fork();

	if (pid == 0) {
		child_yields(2000);
		exit(test_failures != 0);
	}
	fill(3000);
	int status = -1;

	CHECK(wait(&status, NULL) == pid, "wait");
	expect_exit("child yields", status, 0);
	CHECK(holds(3000), "parent keeps its own writes");

	expect_exit("child forks", run_child(child_forks, 3000, NULL), 0);
	CHECK(holds(3000), "parent unchanged by two generations");

	*(volatile uint64_t *)ro_area = 77;
	CHECK(mprotect(ro_area, P, PROT_READ) == 0, "mprotect");
	expect_exit("child unprotects", run_child(child_unprotects, 77, NULL),
		    0);
	CHECK(*(volatile uint64_t *)ro_area == 77, "parent's read-only page");

	expect_exit("lazy", run_child(child_touches_lazy, 55, NULL), 0);
	CHECK(*(volatile uint64_t *)lazy_area == 0, "parent's lazy page");

	/* Ten children at once, each with its own copy. */
	long pids[10];

	for (int i = 0; i < 10; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			yield();
			CHECK(holds(3000), "sibling %d at start", i);
			fill(5000 + i * 10);
			yield();
			CHECK(holds(5000 + i * 10), "sibling %d own data", i);
			exit(test_failures != 0);
		}
		CHECK(pids[i] > 0, "fork %d: %ld", i, pids[i]);
	}
	for (int i = 0; i < 10; i++) {
		long w = wait(&status, NULL);

		CHECK(w > 0, "wait %d: %ld", i, w);
		expect_exit("sibling", status, 0);
	}
	CHECK(holds(3000), "parent after ten children");
	printf("fork: %d failures\n", test_failures);
	return test_failures != 0;
}
