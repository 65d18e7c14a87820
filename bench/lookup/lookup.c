/*
 * lookup: what a page fault pays for finding its area, beside what a
 * stream of lookups costs, for every structure in one process, each built
 * from the same population: this tree's memory_set (default and lockless
 * sets), the core of an older commit and Linux's maple tree, with one DRAM
 * access measured in the same run to set the figures against.
 *
 *   lookup [--passes P] [--lookups K] [--dram-mib M] POP...
 *
 * POP: traces whose map lines make the population (gentrace --ops 0). For
 * each, every structure maps those areas; then K addresses, each inside a
 * random area, are looked up P times over, in interleaved passes (every
 * structure once per pass, in an order that turns): "dependent" lookups,
 * each address offset by a value taken from the area the lookup before it
 * found (always 0, but known only once that lookup is done, so no two
 * overlap), and "independent" ones (the same addresses, as many in flight
 * as the core allows). One DRAM access: a pointer chase over M MiB (1024)
 * of 4 KiB pages, one line at a time in a random cyclic order, once per
 * pass. Prints the median of the passes:
 *   dram ns X
 *   lookup areas N peer NAME dependent_ns X independent_ns Y bytes_per_area B
 * and exits 1 if the structures disagree on what they found.
 */
#define _DEFAULT_SOURCE /* madvise, MAP_ANONYMOUS */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "lookup.h"
#include "trace.h"

#ifdef LK_MAPLE
#include "peer.h"
#endif

extern const struct lk_core lk_core_new;
#ifdef LK_OLD
extern const struct lk_core lk_core_old;
#endif

#define MAX_PASSES 64

struct peer {
	const char *name;
	const struct lk_core *core;
	bool lockless;
	void *s;
	double dep[MAX_PASSES], ind[MAX_PASSES];
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); /* as trace_clock() */
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "lookup: out of memory\n");
		exit(1);
	}
	return p;
}

#ifdef LK_MAPLE
/* ---- The maple tree, over bench/maple's glue (one tree at a time) ---- */

static bool maple_open;

static void *maple_new(bool lockless)
{
	if (lockless || maple_open)
		return NULL;
	maple_open = true;
	return &maple_open;
}

static int maple_map(void *s, uint64_t start, uint64_t size, uint64_t flags)
{
	(void)s;
	return mtg_store(start, start + (size - 1), flags, true) ? -1 : 0;
}

static inline uint64_t maple_find(void *s, uint64_t addr)
{
	struct mtg_range r;

	(void)s;
	mtg_walk(addr, &r);
	return r.used ? r.start : 0;
}

LK_LOOPS(maple_chase, maple_stream, maple_find)

static uint64_t maple_len(void *s)
{
	(void)s;
	return mtg_count();
}

static uint64_t maple_bytes(void *s)
{
	(void)s;
	return mtg_bytes();
}

static void maple_close(void *s)
{
	(void)s;
	mtg_destroy();
	maple_open = false;
}

static const struct lk_core lk_core_maple = {
	maple_new, maple_map, maple_chase, maple_stream, maple_len,
	maple_bytes, maple_close,
};
#endif

/* ---- One DRAM access ---------------------------------------------------- */

struct line {
	struct line *next;
	char pad[64 - sizeof(struct line *)];
};

static struct line *dram;
static size_t dram_lines;

/* Link every line of an M MiB buffer of 4 KiB pages into one random cycle
 * (Sattolo's shuffle). */
static bool dram_init(size_t mib)
{
	size_t n = mib << 14, i;
	uint32_t *order;

	if (n == 0)
		return false;
	dram = mmap(NULL, n * sizeof(*dram), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (dram == MAP_FAILED) {
		dram = NULL;
		return false;
	}
#ifdef MADV_NOHUGEPAGE
	madvise(dram, n * sizeof(*dram), MADV_NOHUGEPAGE);
#endif
	order = xmalloc(n * sizeof(*order));
	for (i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	for (i = n - 1; i > 0; i--) {
		size_t j = next_rand() % i;
		uint32_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < n; i++)
		dram[order[i]].next = &dram[order[(i + 1) % n]];
	free(order);
	dram_lines = n;
	return true;
}

/* ns per step of the chase. */
static double dram_chase(size_t steps)
{
	static struct line *p;
	double t;
	size_t i;

	if (!p)
		p = dram;
	t = now();
	for (i = 0; i < steps; i++)
		p = p->next;
	t = now() - t;
	__asm__ volatile("" : : "r"(p));
	return t * 1e9 / (double)steps;
}

/* ---- The run ------------------------------------------------------------ */

struct pop {
	uint64_t *start, *size;
	size_t n;
};

static void load_pop(const char *path, struct pop *pop)
{
	const uint64_t *p, *end;
	struct trace t;
	size_t cap = 0;

	if (trace_load(&t, path))
		exit(1);
	pop->n = 0;
	pop->start = pop->size = NULL;
	for (p = t.w, end = t.w + t.nw; p < end;) {
		struct trace_op op;

		p = trace_next(p, &op);
		if (op.kind != T_MAP)
			continue;
		if (pop->n == cap) {
			cap = cap ? 2 * cap : 1024;
			pop->start = realloc(pop->start, cap * sizeof(uint64_t));
			pop->size = realloc(pop->size, cap * sizeof(uint64_t));
			if (!pop->start || !pop->size) {
				fprintf(stderr, "lookup: out of memory\n");
				exit(1);
			}
		}
		pop->start[pop->n] = op.arg[0];
		pop->size[pop->n++] = op.arg[1];
	}
	trace_free(&t);
	if (pop->n == 0) {
		fprintf(stderr, "lookup: %s maps nothing\n", path);
		exit(1);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: lookup [--passes P] [--lookups K] "
			"[--dram-mib M] POP...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct peer peers[] = {
		{ "memory_set", &lk_core_new, false, NULL, { 0 }, { 0 } },
		{ "lockless", &lk_core_new, true, NULL, { 0 }, { 0 } },
#ifdef LK_OLD
		{ LK_OLD, &lk_core_old, false, NULL, { 0 }, { 0 } },
#endif
#ifdef LK_MAPLE
		{ "maple", &lk_core_maple, false, NULL, { 0 }, { 0 } },
#endif
	};
	const int np = (int)(sizeof(peers) / sizeof(peers[0]));
	double dram_ns[MAX_PASSES * 16];
	int passes = 9, nd = 0, arg, status = 0;
	size_t lookups = 300000, dram_mib = 1024;

	for (arg = 1; arg < argc && argv[arg][0] == '-'; arg += 2) {
		long v;

		if (arg + 1 >= argc)
			usage();
		v = atol(argv[arg + 1]);
		if (!strcmp(argv[arg], "--passes") && v > 0 && v <= MAX_PASSES)
			passes = (int)v;
		else if (!strcmp(argv[arg], "--lookups") && v > 0)
			lookups = (size_t)v;
		else if (!strcmp(argv[arg], "--dram-mib") && v >= 0)
			dram_mib = (size_t)v;
		else
			usage();
	}
	if (arg == argc || argc - arg > 16)
		usage();
#ifdef LK_MAPLE
	mtg_init();
#endif
	if (!dram_init(dram_mib))
		fprintf(stderr, "lookup: no DRAM chase (%zu MiB)\n", dram_mib);

	for (; arg < argc; arg++) {
		uint64_t *addr = xmalloc(lookups * sizeof(*addr)), want = 0;
		struct pop pop;
		size_t i;
		int p, k;

		load_pop(argv[arg], &pop);
		for (k = 0; k < np; k++) {
			struct peer *e = &peers[k];

			e->s = e->core->open(e->lockless);
			if (!e->s) {
				fprintf(stderr, "lookup: %s: cannot open\n", e->name);
				return 1;
			}
			for (i = 0; i < pop.n; i++)
				if (e->core->map(e->s, pop.start[i], pop.size[i],
						 3 + (i & 4))) {
					fprintf(stderr, "lookup: %s: map failed\n",
						e->name);
					return 1;
				}
			if (e->core->len(e->s) != pop.n) {
				fprintf(stderr, "lookup: %s holds %llu areas, not %zu\n",
					e->name, (unsigned long long)e->core->len(e->s),
					pop.n);
				return 1;
			}
		}
		for (i = 0; i < lookups; i++) {
			size_t a = next_rand() % pop.n;
			uint64_t pages = pop.size[a] >> 12;

			addr[i] = pop.start[a] + (next_rand() % pages << 12) +
				  (next_rand() & 0xfff);
			want += pop.start[a];
		}
		for (p = 0; p < passes; p++) {
			if (dram && nd < (int)(sizeof(dram_ns) / sizeof(dram_ns[0])))
				dram_ns[nd++] = dram_chase(lookups < 1000000 ? 1000000 :
							   lookups);
			for (k = 0; k < np; k++) {
				struct peer *e = &peers[(k + p) % np];
				uint64_t got[2];
				double t0, t1, t2;

				t0 = now();
				got[0] = e->core->chase(e->s, addr, lookups);
				t1 = now();
				got[1] = e->core->stream(e->s, addr, lookups);
				t2 = now();
				e->dep[p] = (t1 - t0) * 1e9 / (double)lookups;
				e->ind[p] = (t2 - t1) * 1e9 / (double)lookups;
				if (got[0] != want || got[1] != want) {
					fprintf(stderr, "lookup: %s found other areas\n",
						e->name);
					status = 1;
				}
			}
		}
		for (k = 0; k < np; k++) {
			struct peer *e = &peers[k];

			printf("lookup areas %zu peer %s dependent_ns %.1f "
			       "independent_ns %.1f bytes_per_area %.1f\n",
			       pop.n, e->name, median(e->dep, passes),
			       median(e->ind, passes),
			       (double)e->core->bytes(e->s) / (double)pop.n);
			fflush(stdout);
			e->core->close(e->s);
		}
		free(addr);
		free(pop.start);
		free(pop.size);
	}
	if (nd)
		printf("dram ns %.1f\n", median(dram_ns, nd));
	else
		printf("dram ns -\n");
	return status;
}
