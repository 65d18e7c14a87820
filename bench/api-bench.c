/*
 * api-bench: the costs of the kernel operations that have no line in the
 * synthetic workloads, measured through the C API with a null backend:
 * fork (memory_set_dup) per area, mremap in place and to a fixed address,
 * and access checks over 1 and over 64 areas, each at several sizes to show
 * how they grow (dup O(n); the others O(log n + k)).
 *
 *   api-bench N...     e.g. api-bench 1000 1000000
 *
 * For each N, areas of one page are mapped in runs of 64 touching areas
 * with 16 free pages after each run. Prints, fastest of 5 rounds:
 *   dup areas N ns_per_area X
 *   remap areas N ns_per_op X         (grow the last area of a run by a
 *                                      page, then shrink it back)
 *   remap_fixed areas N ns_per_op X   (move that area into the free pages
 *                                      after its run, then back)
 *   access areas N span K ns_per_op X (can_access over K areas of a run)
 *   memory areas N bytes_per_area X   (memory_set_memory_bytes() over the
 *                                      areas, the set as filled)
 * The runs touched are drawn at random, so at 1M areas each call reaches
 * memory as a kernel's would.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <memory_set/malloc.h>
#include <memory_set/memory_set.h>

#include "trace.h"

#define PAGE 0x1000ull
#define BASE 0x10000000ull
#define RUN 64ull   /* touching areas per run */
#define HOLE 16ull  /* free pages after a run */
#define CALLS 200000
#define ROUNDS 5

static const struct mapping_backend backend = { &trace_null_ops, NULL };
static const struct memory_set_options opts = {
	.size = sizeof(opts),
	.allocator = &memory_set_malloc_allocator,
};
static uint64_t rng = 7;

static uint64_t next_rand(void)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return rng >> 33;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); /* as trace_clock() */
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what, enum mapping_error err)
{
	fprintf(stderr, "api-bench: %s: %s\n", what, mapping_strerror(err));
	exit(1);
}

/* Start of area @i of the layout. */
static uint64_t area_start(uint64_t i)
{
	return BASE + (i / RUN) * (RUN + HOLE) * PAGE + (i % RUN) * PAGE;
}

/* The last area of a random run (the one with free pages after it). */
static uint64_t random_run_end(uint64_t n)
{
	uint64_t runs = n / RUN;

	return area_start((next_rand() % runs) * RUN + RUN - 1);
}

static void fill(struct memory_set *set, uint64_t n)
{
	enum mapping_error err;
	uint64_t i;

	if ((err = memory_set_init(set, &opts)))
		die("init", err);
	for (i = 0; i < n; i++) {
		err = memory_set_map(set, area_start(i), PAGE, 3 + (i & 4),
				     &backend, NULL, false);
		if (err)
			die("map", err);
	}
}

static double min(double a, double b)
{
	return a < b ? a : b;
}

static void bench(uint64_t n)
{
	double best[5] = { 1e30, 1e30, 1e30, 1e30, 1e30 }, t, bpa;
	struct memory_set set, copy;
	enum mapping_error err;
	uint64_t s, k;
	int r, c;

	fill(&set, n);
	bpa = (double)memory_set_memory_bytes(&set) / (double)n;
	for (r = 0; r < ROUNDS; r++) {
		if ((err = memory_set_init(&copy, &opts)))
			die("init", err);
		t = now();
		if ((err = memory_set_dup(&copy, &set, NULL, NULL)))
			die("dup", err);
		best[0] = min(best[0], (now() - t) / (double)n);
		if (memory_set_len(&copy) != n)
			die("dup: wrong count", MAPPING_OK);
		memory_set_destroy(&copy);

		t = now();
		for (c = 0; c < CALLS; c++) {
			s = random_run_end(n);
			if ((err = memory_set_remap(&set, s, PAGE, 2 * PAGE, NULL)))
				die("remap grow", err);
			if ((err = memory_set_remap(&set, s, 2 * PAGE, PAGE, NULL)))
				die("remap shrink", err);
		}
		best[1] = min(best[1], (now() - t) / (2.0 * CALLS));

		t = now();
		for (c = 0; c < CALLS; c++) {
			s = random_run_end(n);
			err = memory_set_remap_fixed(&set, s, PAGE, PAGE,
						     s + 8 * PAGE, NULL);
			if (err)
				die("remap_fixed away", err);
			err = memory_set_remap_fixed(&set, s + 8 * PAGE, PAGE,
						     PAGE, s, NULL);
			if (err)
				die("remap_fixed back", err);
		}
		best[2] = min(best[2], (now() - t) / (2.0 * CALLS));

		for (k = 0; k < 2; k++) {
			uint64_t span = k ? RUN : 1;

			t = now();
			for (c = 0; c < CALLS; c++) {
				s = random_run_end(n) - (RUN - 1) * PAGE;
				err = memory_set_can_access(&set, s, span * PAGE, 3);
				if (err)
					die("can_access", err);
			}
			best[3 + k] = min(best[3 + k], (now() - t) / CALLS);
		}
	}
	if (memory_set_len(&set) != n || memory_set_check(&set))
		die("the set changed", MAPPING_OK);
	memory_set_destroy(&set);
	printf("dup areas %llu ns_per_area %.1f\n", (unsigned long long)n,
	       best[0] * 1e9);
	printf("remap areas %llu ns_per_op %.1f\n", (unsigned long long)n,
	       best[1] * 1e9);
	printf("remap_fixed areas %llu ns_per_op %.1f\n", (unsigned long long)n,
	       best[2] * 1e9);
	printf("access areas %llu span 1 ns_per_op %.1f\n",
	       (unsigned long long)n, best[3] * 1e9);
	printf("access areas %llu span %llu ns_per_op %.1f\n",
	       (unsigned long long)n, RUN, best[4] * 1e9);
	printf("memory areas %llu bytes_per_area %.1f\n", (unsigned long long)n,
	       bpa);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: api-bench N...\n");
		return 2;
	}
	for (i = 1; i < argc; i++) {
		char *end;
		unsigned long long n = strtoull(argv[i], &end, 0);

		if (*end || n < RUN || n > (1ull << 32)) {
			fprintf(stderr, "api-bench: %s: %llu to 2^32 areas\n",
				argv[i], RUN);
			return 2;
		}
		bench(n);
	}
	return 0;
}
