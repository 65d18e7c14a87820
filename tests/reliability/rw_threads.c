/*
 * Readers and a writer: reader threads query the set under a read lock
 * (find, overlaps, both free-area searches, iteration both ways, the
 * invariant checker) while a writer maps, unmaps, protects and toggles
 * merging under the write lock, both near 0 and at the top of the address
 * space. The locking rule of memory_set.h says
 * const functions never write to the set; built with -fsanitize=thread
 * (.ci/stage-tsan.sh) this test shows it.
 *
 * Readers also check what they see: ordered disjoint areas, find agreeing
 * with iteration, and as many areas as the writer left.
 *
 *   rw_threads [WRITES] [READERS]
 */
#define _GNU_SOURCE /* writer-preferring rwlock on glibc */

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <memory_set/malloc.h>

#include "rel_support.h"

#include "trace.h" /* trace_null_ops: a backend whose hooks all succeed */

#define PAGES 512
#define GR 0x1000ull
/* Half the areas near 0, half at the top of the address space. */
#define BASE_HI ((uint64_t)0 - PAGES * GR)

static pthread_rwlock_t lock;
static struct memory_set set;
static uint64_t len_at_version; /* the writer's len after its last write */
static int done;
static unsigned long reads[16];

static uint64_t rand_addr(struct rng *g)
{
	uint64_t p = rng_below(g, PAGES);

	return (rng_chance(g, 50) ? BASE_HI : 0) + p * GR +
	       rng_below(g, GR);
}

static void read_once(struct rng *g)
{
	struct memory_set_iter it;
	const struct memory_area *a, *prev = NULL;
	uint64_t n = 0, addr = rand_addr(g), free_at;
	const char *why;

	/* Iteration: ordered, disjoint, as many areas as len says, and the
	 * writer's count for this version. */
	memory_set_foreach(a, &it, &set) {
		/* Size 0 only for the whole space [0, 2^64). */
		REL_CHECK(a->size != 0 || a->start == 0, "empty area");
		if (prev)
			REL_CHECK(memory_area_last(prev) < a->start,
				  "areas out of order");
		REL_CHECK(memory_set_find(&set, a->start) == a &&
				  memory_set_find(&set, memory_area_last(a)) == a,
			  "find disagrees with iteration");
		prev = a;
		n++;
	}
	REL_CHECK(n == memory_set_len(&set) && n == len_at_version,
		  "iteration saw %llu areas, len %llu, writer %llu",
		  (unsigned long long)n,
		  (unsigned long long)memory_set_len(&set),
		  (unsigned long long)len_at_version);

	/* Backwards from a random address. */
	memory_set_iter_init(&it, &set, addr);
	a = memory_set_iter_prev(&it);
	if (a)
		REL_CHECK(memory_area_last(a) < addr, "iter_prev past addr");

	a = memory_set_find(&set, addr);
	REL_CHECK(a == NULL || memory_area_contains(a, addr), "find wrong");
	REL_CHECK(memory_set_overlaps(&set, addr & ~(GR - 1), GR) ==
			  (memory_set_find(&set, addr & ~(GR - 1)) != NULL),
		  "overlaps disagrees with find");
	if (memory_set_find_free_area(&set, addr, GR, GR, 0, UINT64_MAX,
				      &free_at) == MAPPING_OK)
		REL_CHECK(!memory_set_overlaps(&set, free_at, GR),
			  "free area overlaps");
	if (memory_set_find_free_area_top(&set, 0, 2 * GR, GR, 0, UINT64_MAX,
					  &free_at) == MAPPING_OK)
		REL_CHECK(!memory_set_overlaps(&set, free_at, 2 * GR),
			  "top free area overlaps");
	if (rng_chance(g, 5)) {
		why = memory_set_check(&set);
		REL_CHECK(why == NULL, "check: %s", why);
	}
}

static void *reader(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	struct rng g = {1000 + id};

	for (;;) {
		pthread_rwlock_rdlock(&lock);
		if (done) {
			pthread_rwlock_unlock(&lock);
			break;
		}
		read_once(&g);
		pthread_rwlock_unlock(&lock);
		reads[id]++;
		sched_yield();
	}
	return NULL;
}

struct set_flags {
	uint64_t flags;
};

static bool set_to(void *ctx, uint64_t old_flags, uint64_t *new_flags)
{
	(void)old_flags;
	*new_flags = ((const struct set_flags *)ctx)->flags;
	return true;
}

static void write_once(struct rng *g)
{
	struct mapping_backend b = {&trace_null_ops, NULL};
	uint64_t base = rng_chance(g, 50) ? BASE_HI : 0;
	uint64_t p = rng_below(g, PAGES);
	uint64_t len = 1 + rng_below(g, 8);
	struct set_flags sf = {rng_below(g, 3)};
	unsigned what = (unsigned)rng_below(g, 100);
	enum mapping_error e = MAPPING_OK;

	if (len > PAGES - p)
		len = PAGES - p;
	if (what < 40)
		e = memory_set_map(&set, base + p * GR, len * GR, sf.flags, &b,
				   NULL, true);
	else if (what < 70)
		e = memory_set_unmap(&set, base + p * GR, len * GR, NULL);
	else if (what < 98)
		e = memory_set_protect(&set, base + p * GR, len * GR, set_to,
				       &sf, NULL);
	else
		memory_set_set_merge(&set, !memory_set_merge_enabled(&set));
	REL_CHECK(e == MAPPING_OK, "write failed: %d", e);
	len_at_version = memory_set_len(&set);
}

int main(int argc, char **argv)
{
	unsigned nwrites = argc > 1 ? (unsigned)atoi(argv[1]) : rel_scaled(20000, 500);
	unsigned nreaders = argc > 2 ? (unsigned)atoi(argv[2]) : 3;
	struct memory_set_options o;
	pthread_t th[16];
	struct rng g = {99};
	unsigned long total = 0;

	pthread_rwlockattr_t la;

	if (nreaders < 1 || nreaders > 16)
		nreaders = 3;
	/* glibc prefers readers by default: busy readers would starve the
	 * writer. */
	pthread_rwlockattr_init(&la);
#ifdef __GLIBC__
	pthread_rwlockattr_setkind_np(&la,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
	REL_CHECK(pthread_rwlock_init(&lock, &la) == 0, "rwlock_init");
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.allocator = &memory_set_malloc_allocator;
	REL_CHECK(memory_set_init(&set, &o) == MAPPING_OK, "init");
	for (unsigned i = 0; i < nreaders; i++)
		REL_CHECK(pthread_create(&th[i], NULL, reader,
					 (void *)(uintptr_t)i) == 0,
			  "pthread_create");
	for (unsigned n = 0; n < nwrites; n++) {
		pthread_rwlock_wrlock(&lock);
		write_once(&g);
		pthread_rwlock_unlock(&lock);
		if (n % 16 == 0)
			sched_yield();
	}
	pthread_rwlock_wrlock(&lock);
	done = 1;
	pthread_rwlock_unlock(&lock);
	for (unsigned i = 0; i < nreaders; i++) {
		pthread_join(th[i], NULL);
		total += reads[i];
	}
	REL_CHECK(memory_set_check(&set) == NULL, "check after the run");
	REL_CHECK(total > 0, "no reader ran");
	REL_CHECK(memory_set_clear(&set, NULL) == MAPPING_OK, "clear");
	memory_set_destroy(&set);
	printf("rw_threads: %u writes, %lu reads by %u readers\n", nwrites,
	       total, nreaders);
	return 0;
}
