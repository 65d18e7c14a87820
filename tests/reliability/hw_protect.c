/*
 * The protections the set records are those the hardware enforces: a set
 * drives real memory through the mmap backend (examples/mmap_backend.c),
 * and after every operation each page of the window is read and written.
 * A read faults exactly where the set has no readable area; a write faults
 * exactly where it has no writable one; memory keeps its contents across
 * protect and is zero after a map.
 *
 *   hw_protect [OPS] [SEED]
 */
#define _DEFAULT_SOURCE /* sigsetjmp */

#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <memory_set/malloc.h>
#include <mmap_backend.h>

#include "rel_support.h"

#define PAGES 24
#define R MMAP_BACKEND_READ
#define W MMAP_BACKEND_WRITE
#define X MMAP_BACKEND_EXEC

static sigjmp_buf probe_env;
static volatile sig_atomic_t probing;

static void on_fault(int sig)
{
	(void)sig;
	if (!probing)
		abort();
	siglongjmp(probe_env, 1);
}

/* True if reading *p faults; else the byte read goes to *out. */
static bool read_faults(volatile unsigned char *p, unsigned char *out)
{
	if (sigsetjmp(probe_env, 1)) {
		probing = 0;
		return true;
	}
	probing = 1;
	*out = *p;
	probing = 0;
	return false;
}

static bool write_faults(volatile unsigned char *p, unsigned char v)
{
	if (sigsetjmp(probe_env, 1)) {
		probing = 0;
		return true;
	}
	probing = 1;
	*p = v;
	probing = 0;
	return false;
}

struct set_flags {
	uint64_t flags;
};

static bool set_to(void *ctx, uint64_t old_flags, uint64_t *new_flags)
{
	const struct set_flags *s = ctx;

	(void)old_flags;
	*new_flags = s->flags;
	return true;
}

/* Expected content of each page's first byte (valid while mapped). */
static unsigned char content[PAGES];
static unsigned long faults_seen, accesses_seen;

static void probe_window(const struct memory_set *set,
			 const struct mmap_window *w, uint64_t page,
			 struct rng *g)
{
	for (unsigned i = 0; i < PAGES; i++) {
		uint64_t addr = w->base + i * page;
		const struct memory_area *a = memory_set_find(set, addr);
		/* Flags are only ever 0, R, R|W and R|X here: on every
		 * architecture those read and write as they say. */
		bool can_read = a && (a->flags & R);
		bool can_write = a && (a->flags & W);
		volatile unsigned char *p =
			(volatile unsigned char *)(uintptr_t)addr;
		unsigned char v = 0;
		bool rf = read_faults(p, &v);

		REL_CHECK(rf == !can_read, "page %u (flags %#llx%s): read %s",
			  i, a ? (unsigned long long)a->flags : 0ull,
			  a ? "" : ", unmapped", rf ? "faults" : "works");
		if (!rf)
			REL_CHECK(v == content[i],
				  "page %u holds %u, expected %u", i, v,
				  content[i]);
		v = (unsigned char)(1 + rng_below(g, 255));
		bool wf = write_faults(p, v);
		REL_CHECK(wf == !can_write, "page %u (flags %#llx%s): write %s",
			  i, a ? (unsigned long long)a->flags : 0ull,
			  a ? "" : ", unmapped", wf ? "faults" : "works");
		if (!wf)
			content[i] = v;
		faults_seen += rf + wf;
		accesses_seen += !rf + !wf;
	}
}

int main(int argc, char **argv)
{
	static const uint64_t flag_set[] = {0, R, R | W, R | X};
	unsigned nops = argc > 1 ? (unsigned)atoi(argv[1]) : rel_scaled(400, 40);
	unsigned long long seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 7;
	struct rng g = {seed};
	struct mmap_window w;
	struct memory_set set;
	struct memory_set_options o;
	struct mapping_backend b = {&mmap_backend_ops, NULL};
	struct sigaction sa;
	uint64_t page = mmap_page_size();
	enum mapping_error e;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	REL_CHECK(mmap_window_init(&w, PAGES * page) == MAPPING_OK, "window");
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.allocator = &memory_set_malloc_allocator;
	o.granule = page;
	o.merge = true;
	REL_CHECK(memory_set_init(&set, &o) == MAPPING_OK, "init");

	/* The window starts inaccessible. */
	probe_window(&set, &w, page, &g);

	/* A flag the backend does not know: the backend's error comes back
	 * unchanged and nothing is added. */
	e = memory_set_map(&set, w.base, page, 8, &b, &w, false);
	REL_CHECK(e == MAPPING_ERR_INVALID_PARAM, "map with flag 8: %d", e);
	REL_CHECK(memory_set_is_empty(&set), "failed map added an area");

	for (unsigned n = 0; n < nops; n++) {
		uint64_t p = rng_below(&g, PAGES);
		uint64_t len = 1 + rng_below(&g, rng_chance(&g, 70) ? 4 : PAGES - p);
		uint64_t start, size;
		struct set_flags sf = {flag_set[rng_below(&g, 4)]};
		unsigned what = (unsigned)rng_below(&g, 10);

		if (len > PAGES - p)
			len = PAGES - p;
		start = w.base + p * page;
		size = len * page;
		snprintf(rel_context, sizeof(rel_context),
			 "seed %llu op %u kind %u page %llu+%llu flags %llu",
			 seed, n, what, (unsigned long long)p,
			 (unsigned long long)len,
			 (unsigned long long)sf.flags);
		if (what < 4) {
			e = memory_set_map(&set, start, size, sf.flags, &b, &w,
					   true);
			memset(&content[p], 0, len);
		} else if (what < 6) {
			e = memory_set_unmap(&set, start, size, &w);
		} else {
			e = memory_set_protect(&set, start, size, set_to, &sf,
					       &w);
		}
		REL_CHECK(e == MAPPING_OK, "operation failed: %s",
			  mapping_strerror(e));
		REL_CHECK(memory_set_check(&set) == NULL, "check: %s",
			  memory_set_check(&set));
		probe_window(&set, &w, page, &g);
	}
	REL_CHECK(memory_set_clear(&set, &w) == MAPPING_OK, "clear");
	probe_window(&set, &w, page, &g);
	memory_set_destroy(&set);
	mmap_window_destroy(&w);
	/* Both outcomes were seen many times, or the test proved nothing. */
	REL_CHECK(faults_seen > nops && accesses_seen > nops,
		  "too few faults (%lu) or accesses (%lu)", faults_seen,
		  accesses_seen);
	printf("hw_protect: %u operations, %lu faults and %lu accesses as "
	       "the set said\n",
	       nops, faults_seen, accesses_seen);
	return 0;
}
