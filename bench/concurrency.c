/*
 * concurrency-bench: lookups without a lock (docs/concurrency.md) against a
 * read-write lock around a default set.
 *
 *   concurrency-bench [SECONDS] [N...]     default: 1 10000 100000
 *
 * N areas of one page, a free page after each. For each N:
 * - one reader looks up random addresses (half in areas) while one writer
 *   unmaps and maps an area again, or changes its flags, at random: on a
 *   lockless set the reader calls memory_set_find_copy() and the writer
 *   takes no lock (it is the only one); on a default set both go through a
 *   pthread rwlock, writers preferred (as rw_threads) or glibc's default,
 *   the reader copying the area under the read lock. The writer runs busy
 *   without touching the set (what the machine alone takes from the
 *   reader), at full speed, at full speed with page-table hooks that take
 *   2 us each, and at 10k operations per second. Prints lookups and writes
 *   per second over SECONDS, and the 99th and 99.9th percentiles of the
 *   time of one lookup (one in 64 is timed).
 * - one thread alone: ns per lookup with memory_set_find(),
 *   memory_set_find_copy() and an uncontended rwlock around
 *   memory_set_find() on a default set, memory_set_find_copy() on a
 *   lockless one; and ns per writer operation in each mode. Fastest of 3
 *   rounds.
 */
#define _GNU_SOURCE /* clock_gettime; the writer-preferring rwlock */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memory_set/malloc.h>
#include <memory_set/memory_set.h>

#define PAGE 0x1000ull
#define BASE 0x10000000ull
#define NADDR (1u << 20) /* random addresses, drawn once */
#define CALLS 2000000u
#define ROUNDS 3

static long hook_ns; /* time each page-table hook takes, 0: none */

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Stand for the page-table work of a hook: a busy wait of hook_ns. */
static void hook_work(void)
{
	double end;

	if (!hook_ns)
		return;
	end = now() + (double)hook_ns * 1e-9;
	while (now() < end)
		;
}

static enum mapping_error nop_map(void *d, uint64_t s, uint64_t n, uint64_t f,
				  void *pt)
{
	(void)d, (void)s, (void)n, (void)f, (void)pt;
	hook_work();
	return MAPPING_OK;
}

static enum mapping_error nop_unmap(void *d, uint64_t s, uint64_t n, void *pt)
{
	(void)d, (void)s, (void)n, (void)pt;
	hook_work();
	return MAPPING_OK;
}

static enum mapping_error nop_protect(void *d, uint64_t s, uint64_t n,
				      uint64_t o, uint64_t f, void *pt)
{
	(void)d, (void)s, (void)n, (void)o, (void)f, (void)pt;
	hook_work();
	return MAPPING_OK;
}

static const struct mapping_backend_ops nop_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = nop_map,
	.unmap = nop_unmap,
	.protect = nop_protect,
};
static const struct mapping_backend backend = {&nop_ops, NULL};

static struct memory_set set;
static pthread_rwlock_t lock;
static bool use_lock;
static atomic_uint stop;
/* Writer: one operation per pace_ns; 0: full speed; -1: a busy loop that
 * never touches the set (what the machine itself takes from the reader). */
static long pace_ns;
static uint64_t *addrs;
static uint64_t nareas;

static uint64_t next_rand(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

static void die(const char *what, enum mapping_error err)
{
	fprintf(stderr, "concurrency-bench: %s: %s\n", what,
		mapping_strerror(err));
	exit(1);
}

static void make_set(bool lockless, uint64_t n)
{
	struct memory_set_options o;
	enum mapping_error e;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.allocator = &memory_set_malloc_allocator;
	o.lockless_lookups = lockless;
	e = memory_set_init(&set, &o);
	if (e != MAPPING_OK)
		die("init", e);
	/* Flags alternate so that nothing could merge. */
	for (uint64_t i = 0; i < n; i++) {
		e = memory_set_map(&set, BASE + 2 * i * PAGE, PAGE, 1 + (i & 1),
				   &backend, NULL, false);
		if (e != MAPPING_OK)
			die("map", e);
	}
}

/* One writer operation on a random area; keeps the count. */
static void churn_once(uint64_t *rs)
{
	uint64_t i = next_rand(rs) % nareas, start = BASE + 2 * i * PAGE;
	uint64_t flags = 1 + (i & 1);
	enum mapping_error e;

	if (use_lock)
		pthread_rwlock_wrlock(&lock);
	if (next_rand(rs) & 1) {
		e = memory_set_unmap(&set, start, PAGE, NULL);
		if (e == MAPPING_OK)
			e = memory_set_map(&set, start, PAGE, flags, &backend,
					   NULL, false);
	} else {
		/* Toggle a bit the neighbours do not share, and back later. */
		e = memory_set_protect_flags(&set, start, PAGE,
					     next_rand(rs) & 4, 4, NULL);
	}
	if (use_lock)
		pthread_rwlock_unlock(&lock);
	if (e != MAPPING_OK)
		die("churn", e);
}

static bool lookup(uint64_t addr, struct memory_area *copy)
{
	const struct memory_area *a;

	if (!use_lock)
		return memory_set_find_copy(&set, addr, copy);
	pthread_rwlock_rdlock(&lock);
	a = memory_set_find(&set, addr);
	if (a)
		*copy = *a;
	pthread_rwlock_unlock(&lock);
	return a != NULL;
}

struct count {
	unsigned long n;
	uint64_t sum; /* keeps the lookups from being optimised away */
};

/* Latencies of one lookup in 64, in ns: the reader's waits show there. */
#define NSAMPLES (1u << 20)
static uint32_t samples[NSAMPLES];
static unsigned nsamples;

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void *reader(void *arg)
{
	struct count *c = arg;
	struct memory_area a;
	unsigned k = 0;

	nsamples = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t t0 = now_ns(), t;

		if (lookup(addrs[k], &a))
			c->sum += a.start;
		t = now_ns() - t0;
		if (nsamples < NSAMPLES)
			samples[nsamples++] = t > UINT32_MAX ? UINT32_MAX
							     : (uint32_t)t;
		k = (k + 1) & (NADDR - 1);
		for (unsigned j = 1; j < 64; j++, k = (k + 1) & (NADDR - 1))
			if (lookup(addrs[k], &a))
				c->sum += a.start;
		c->n += 64;
	}
	return NULL;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

/* The q-quantile of the samples (after sorting them). */
static double quantile(double q)
{
	if (!nsamples)
		return 0;
	return samples[(unsigned)(q * (nsamples - 1))];
}

static void *writer(void *arg)
{
	struct count *c = arg;
	struct timespec next;
	uint64_t rs = 99;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (pace_ns < 0)
			continue; /* busy, but never touches the set */
		churn_once(&rs);
		c->n++;
		if (!pace_ns)
			continue;
		next.tv_nsec += pace_ns;
		if (next.tv_nsec >= 1000000000) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	return NULL;
}

/* One reader and one writer for secs seconds: lookups/s, writes/s. */
static void contended(double secs, double *rps, double *wps, double *p99,
		      double *p999)
{
	struct count rc = {0, 0}, wc = {0, 0};
	pthread_t r, w;
	double t0, t;
	struct timespec nap = {(time_t)secs,
			       (long)((secs - (double)(time_t)secs) * 1e9)};

	atomic_store(&stop, 0);
	t0 = now();
	if (pthread_create(&r, NULL, reader, &rc) ||
	    pthread_create(&w, NULL, writer, &wc)) {
		fprintf(stderr, "concurrency-bench: pthread_create\n");
		exit(1);
	}
	nanosleep(&nap, NULL);
	atomic_store(&stop, 1);
	pthread_join(r, NULL);
	pthread_join(w, NULL);
	t = now() - t0;
	*rps = (double)rc.n / t;
	*wps = (double)wc.n / t;
	qsort(samples, nsamples, sizeof(samples[0]), cmp_u32);
	*p99 = quantile(0.99);
	*p999 = quantile(0.999);
	if (rc.sum == 1)
		putchar(' ');
}

enum lone { FIND, FIND_COPY, LOCKED_FIND };

/* ns per lookup in one thread, fastest of ROUNDS. */
static double alone(enum lone how)
{
	double best = 1e30;
	uint64_t sum = 0;

	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now(), t;

		for (unsigned i = 0; i < CALLS; i++) {
			uint64_t addr = addrs[i & (NADDR - 1)];
			const struct memory_area *a;
			struct memory_area c;

			switch (how) {
			case FIND:
				a = memory_set_find(&set, addr);
				sum += a ? a->start : 0;
				break;
			case FIND_COPY:
				if (memory_set_find_copy(&set, addr, &c))
					sum += c.start;
				break;
			case LOCKED_FIND:
				pthread_rwlock_rdlock(&lock);
				a = memory_set_find(&set, addr);
				sum += a ? a->start : 0;
				pthread_rwlock_unlock(&lock);
				break;
			}
		}
		t = (now() - t0) * 1e9 / CALLS;
		if (t < best)
			best = t;
	}
	if (sum == 1)
		putchar(' ');
	return best;
}

/* ns per writer operation in one thread, fastest of ROUNDS. */
static double churn_alone(void)
{
	double best = 1e30;
	uint64_t rs = 5;

	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now(), t;

		for (unsigned i = 0; i < CALLS / 10; i++)
			churn_once(&rs);
		t = (now() - t0) * 1e9 / (CALLS / 10);
		if (t < best)
			best = t;
	}
	return best;
}

#define MODES 3
#define LOADS 4
static const char *const mode_names[MODES] = {
	"lockless", "rwlock(wr) + default", "rwlock(rd) + default"};
/* The writer: busy elsewhere; full speed; full speed with hooks of 2 us;
 * 10k ops/s. */
static const struct {
	const char *name;
	long pace_ns, hook_ns;
} loads[LOADS] = {
	{"busy, no writes", -1, 0},
	{"full speed", 0, 0},
	{"full, 2us hooks", 0, 2000},
	{"10k ops/s", 100000, 0},
};

struct row {
	double rps[MODES][LOADS], wps[MODES][LOADS];
	double p99[MODES][LOADS], p999[MODES][LOADS];
	double ns_find, ns_copy, ns_locked, ns_lockless;
	double ns_write[2]; /* default, lockless */
};

/* A new lock: writers preferred (as rw_threads), or glibc's default,
 * which prefers readers. */
static void new_lock(bool prefer_writer)
{
	pthread_rwlockattr_t la;

	pthread_rwlockattr_init(&la);
#ifdef __GLIBC__
	if (prefer_writer)
		pthread_rwlockattr_setkind_np(
			&la, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#else
	(void)prefer_writer;
#endif
	pthread_rwlock_destroy(&lock);
	pthread_rwlock_init(&lock, &la);
	pthread_rwlockattr_destroy(&la);
}

static void run_loads(double secs, struct row *row, int mode)
{
	for (int l = 0; l < LOADS; l++) {
		pace_ns = loads[l].pace_ns;
		hook_ns = loads[l].hook_ns;
		contended(secs, &row->rps[mode][l], &row->wps[mode][l],
			  &row->p99[mode][l], &row->p999[mode][l]);
	}
	pace_ns = hook_ns = 0;
}

static void measure(uint64_t n, double secs, struct row *row)
{
	uint64_t rs = 1;

	nareas = n;
	for (unsigned i = 0; i < NADDR; i++)
		addrs[i] = BASE + (next_rand(&rs) % (2 * n)) * PAGE +
			   next_rand(&rs) % PAGE;

	make_set(true, n);
	use_lock = false;
	run_loads(secs, row, 0);
	row->ns_lockless = alone(FIND_COPY);
	row->ns_write[1] = churn_alone();
	memory_set_destroy(&set);

	make_set(false, n);
	use_lock = true;
	new_lock(true);
	run_loads(secs, row, 1);
	new_lock(false);
	run_loads(secs, row, 2);
	row->ns_locked = alone(LOCKED_FIND);
	use_lock = false;
	row->ns_write[0] = churn_alone();
	row->ns_find = alone(FIND);
	row->ns_copy = alone(FIND_COPY);
	memory_set_destroy(&set);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	uint64_t def[] = {10000, 100000}, *ns = def;
	int count = 2;
	struct row *rows;

	if (secs <= 0)
		secs = 1.0;
	if (argc > 2) {
		count = argc - 2;
		ns = calloc((size_t)count, sizeof(*ns));
		for (int i = 0; ns && i < count; i++) {
			ns[i] = strtoull(argv[i + 2], NULL, 0);
			if (ns[i] < 1 || ns[i] > (1ull << 24)) {
				fprintf(stderr, "usage: concurrency-bench "
						"[SECONDS] [N...] (1 <= N <= 2^24)\n");
				return 2;
			}
		}
	}
	addrs = malloc(NADDR * sizeof(*addrs));
	rows = calloc((size_t)count, sizeof(*rows));
	if (!ns || !addrs || !rows) {
		fprintf(stderr, "concurrency-bench: out of memory\n");
		return 1;
	}
	pthread_rwlock_init(&lock, NULL);
	for (int i = 0; i < count; i++)
		measure(ns[i], secs, &rows[i]);

	printf("1 reader + 1 writer (unmap+map or protect of a random area), "
	       "%.1f s each\n", secs);
	printf("%9s  %-16s %-21s %12s %10s %8s %8s\n", "areas", "writer",
	       "mode", "lookups/s", "writes/s", "p99 ns", "p99.9 ns");
	for (int i = 0; i < count; i++)
		for (int l = 0; l < LOADS; l++)
			for (int m = 0; m < MODES; m++)
				printf("%9llu  %-16s %-21s %12.0f %10.0f "
				       "%8.0f %8.0f\n",
				       (unsigned long long)ns[i], loads[l].name,
				       mode_names[m], rows[i].rps[m][l],
				       rows[i].wps[m][l], rows[i].p99[m][l],
				       rows[i].p999[m][l]);
	printf("\none thread, ns per call (fastest of %d)\n", ROUNDS);
	printf("%9s  %10s %10s %12s %10s   %10s %10s\n", "areas", "find",
	       "find_copy", "rwlock+find", "find_copy", "write", "write");
	printf("%9s  %10s %10s %12s %10s   %10s %10s\n", "", "default",
	       "default", "default", "lockless", "default", "lockless");
	for (int i = 0; i < count; i++)
		printf("%9llu  %10.1f %10.1f %12.1f %10.1f   %10.1f %10.1f\n",
		       (unsigned long long)ns[i], rows[i].ns_find,
		       rows[i].ns_copy, rows[i].ns_locked, rows[i].ns_lockless,
		       rows[i].ns_write[0], rows[i].ns_write[1]);
	pthread_rwlock_destroy(&lock);
	free(rows);
	free(addrs);
	if (ns != def)
		free(ns);
	return 0;
}
