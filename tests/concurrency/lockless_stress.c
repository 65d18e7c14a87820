/*
 * Lookups without a lock against a writer (docs/concurrency.md): reader
 * threads call memory_set_find_copy(), memory_set_overlaps(),
 * memory_set_can_access() and memory_set_handle_fault_copy() on a set made
 * with lockless_lookups, taking no lock, while one writer maps (with and
 * without replace), unmaps, protects, remaps in place and moves
 * (memory_set_remap_fixed) in a window of PAGES pages: first near 0 with
 * merging off, then ending at 2^64 with merging on.
 *
 * The writer keeps a model of the areas (a label per page: the pages of an
 * area are the run of pages sharing a label) and, for every version of the
 * set a reader may see, the state of each page in that version. A version
 * is the state after an operation, or one of the states a move publishes
 * on its way (memory_set_remap_fixed() lets readers see the target
 * unmapped, then the tail unmapped, before the move itself). The writer
 * writes those states before it starts the operation, then raises
 * `started` to the operation's last version; after the operation (and the
 * check that the set equals the model, area for area) it raises `done`.
 *
 * A reader takes `done` before its call and `started` after it: the state
 * it saw is that of some version in [done, started] (a commit the reader
 * saw is ordered after the writer's store of `started`, and every version
 * up to `done` is committed before the reader's call), so its answer must
 * equal the answer of one of them, or the test fails.
 *
 * The version states live in a buffer of SLOTS versions; when it is full
 * the writer waits until no reader is inside a call, and starts again from
 * slot 0 (an epoch).
 *
 *   lockless_stress [OPS] [READERS] [SEED]
 *
 * MS_REL_SCALE scales the default OPS. MS_STRESS_STALE=1 makes readers
 * check against the version before the one they started at, which must
 * fail: it shows the comparison can catch a wrong answer.
 */
#define _GNU_SOURCE /* sched_yield with -std=c11 */

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <memory_set/malloc.h>

#include "rel_support.h"

#include "trace.h" /* trace_null_ops: a backend whose hooks all succeed */

#define PAGES 1024u
#define GR 0x1000ull
#define SLOTS 512u
#define MAX_READERS 8u
/* The second phase's window ends at 2^64. */
#define TOP_BASE ((uint64_t)0 - (uint64_t)PAGES * GR)
#define LOW_BASE (0x40000000ull)

/* A page in one version: the area holding it (n == 0: free). */
struct pg {
	uint16_t first, n;
	uint32_t flags;
};

static struct memory_set set;
static struct pg (*slots)[PAGES];  /* slots[v - base]: version v */
static unsigned long base;         /* version in slot 0 */
static uint64_t win;               /* address of page 0 */
static atomic_ulong started;       /* highest version an operation may show */
static atomic_ulong done;          /* every version up to it is committed */
static atomic_uint pause_readers;
static atomic_uint stop;
static atomic_uint active[MAX_READERS];
static bool stale;

/* ---- the backend: every hook succeeds, defaults for move and fault ---- */

/* ---- the writer's model ----------------------------------------------- */

struct model {
	uint32_t lab[PAGES];   /* 0: free; equal labels in a run: one area */
	uint32_t flags[PAGES];
};

static struct model m;
static uint32_t next_label = 1;

/* Give the run of label l from page p on a label of its own. */
static void m_relabel(struct model *x, unsigned p, uint32_t l)
{
	uint32_t nl = next_label++;

	for (; p < PAGES && x->lab[p] == l; p++)
		x->lab[p] = nl;
}

/* Each label names one run: the piece of a cut area after the range gets
 * a new one, so a later grow into the hole cannot join the pieces. */
static void m_cut(struct model *x, unsigned s, unsigned e)
{
	for (unsigned p = s; p < e; p++)
		x->lab[p] = 0;
	if (s > 0 && e < PAGES && x->lab[e] && x->lab[e] == x->lab[s - 1])
		m_relabel(x, e, x->lab[e]);
}

static void m_insert(struct model *x, unsigned s, unsigned e, uint32_t flags)
{
	uint32_t l = next_label++;

	for (unsigned p = s; p < e; p++) {
		x->lab[p] = l;
		x->flags[p] = flags;
	}
}

/* The run of pages of the area holding page p: [*s, *e). */
static void m_area(const struct model *x, unsigned p, unsigned *s, unsigned *e)
{
	unsigned a = p, b = p + 1;

	while (a > 0 && x->lab[a - 1] == x->lab[p])
		a--;
	while (b < PAGES && x->lab[b] == x->lab[p])
		b++;
	*s = a;
	*e = b;
}

static bool m_any(const struct model *x, unsigned s, unsigned e)
{
	for (unsigned p = s; p < e; p++)
		if (x->lab[p])
			return true;
	return false;
}

/* Touching areas with equal flags become one (every area has the same
 * backend and NULL data, so the default can_merge() allows it). */
static void m_merge(struct model *x)
{
	for (unsigned p = 1; p < PAGES; p++)
		if (x->lab[p] && x->lab[p - 1] && x->lab[p] != x->lab[p - 1] &&
		    x->flags[p] == x->flags[p - 1]) {
			uint32_t old = x->lab[p];

			for (unsigned q = p; q < PAGES && x->lab[q] == old; q++)
				x->lab[q] = x->lab[p - 1];
		}
}

/* protect_flags: the part inside [s, e) of each area whose flags change
 * becomes an area of its own. */
static void m_protect(struct model *x, unsigned s, unsigned e, uint32_t flags,
		      uint32_t mask)
{
	unsigned p = s;

	while (p < e) {
		uint32_t nf = (flags & mask) | (x->flags[p] & ~mask);
		uint32_t l = x->lab[p], nl;

		if (!l || nf == x->flags[p]) {
			p++;
			continue;
		}
		nl = next_label++;
		for (; p < e && x->lab[p] == l; p++) {
			x->lab[p] = nl;
			x->flags[p] = nf;
		}
		if (p < PAGES && x->lab[p] == l)
			m_relabel(x, p, l); /* the piece after the range */
	}
}

static void m_snap(const struct model *x, struct pg *out)
{
	unsigned s, e;

	for (unsigned p = 0; p < PAGES; p = e) {
		if (!x->lab[p]) {
			out[p] = (struct pg){0, 0, 0};
			e = p + 1;
			continue;
		}
		m_area(x, p, &s, &e);
		for (unsigned q = s; q < e; q++)
			out[q] = (struct pg){(uint16_t)s, (uint16_t)(e - s),
					     x->flags[s]};
	}
}

/* The set holds exactly the model's areas. */
static void verify(const char *op)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	unsigned p = 0, s, e, n = 0;

	memory_set_foreach(a, &it, &set) {
		while (p < PAGES && !m.lab[p])
			p++;
		REL_CHECK(p < PAGES, "after %s: area at %#llx not in the model",
			  op, (unsigned long long)a->start);
		m_area(&m, p, &s, &e);
		REL_CHECK(a->start == win + s * GR &&
				  a->size == (uint64_t)(e - s) * GR &&
				  a->flags == m.flags[s],
			  "after %s: area [%#llx +%#llx] flags %llu, model "
			  "pages [%u, %u) flags %u",
			  op, (unsigned long long)a->start,
			  (unsigned long long)a->size,
			  (unsigned long long)a->flags, s, e, m.flags[s]);
		p = e;
		n++;
	}
	while (p < PAGES && !m.lab[p])
		p++;
	REL_CHECK(p == PAGES, "after %s: model page %u missing", op, p);
	REL_CHECK(n == memory_set_len(&set), "after %s: len", op);
}

/* ---- the writer ------------------------------------------------------- */

static unsigned long ver; /* the last version written */

/* Wait until no reader is inside a call; they stay out until resume(). */
static void quiesce(unsigned nreaders)
{
	atomic_store(&pause_readers, 1);
	for (unsigned i = 0; i < nreaders; i++)
		while (atomic_load(&active[i]))
			sched_yield();
}

/* A new epoch: the current state in slot 0. */
static void resume(void)
{
	base = ver;
	m_snap(&m, slots[0]);
	atomic_store(&pause_readers, 0);
}

static void put_version(const struct model *x)
{
	ver++;
	m_snap(x, slots[ver - base]);
}

enum op_kind { OP_MAP, OP_UNMAP, OP_PROTECT, OP_REMAP, OP_MOVE };
static const char *const op_names[] = {"map", "unmap", "protect", "remap",
				       "remap_fixed"};

struct op {
	enum op_kind kind;
	unsigned p, n, nn, ns; /* pages: start, size, new size, new start */
	uint32_t flags, mask;
	bool replace;
	enum mapping_error want;
};

/* Pick an operation and apply it to the model; a move also writes the
 * versions it shows on its way. */
static void plan(struct rng *g, struct op *o)
{
	unsigned p = (unsigned)rng_below(g, PAGES), what, as, ae;
	struct model tmp;

	memset(o, 0, sizeof(*o));
	o->want = MAPPING_OK;
	o->flags = (uint32_t)rng_below(g, 8);
	what = (unsigned)rng_below(g, 100);
	if (what >= 70 && !m.lab[p])
		what = (unsigned)rng_below(g, 70); /* remaps need an area */
	if (what < 30) {
		o->kind = OP_MAP;
		o->replace = rng_chance(g, 60);
		o->p = p;
		o->n = 1 + (unsigned)rng_below(g, 8);
		if (o->n > PAGES - p)
			o->n = PAGES - p;
		if (!o->replace && m_any(&m, p, p + o->n)) {
			o->want = MAPPING_ERR_ALREADY_EXISTS;
			return;
		}
		m_cut(&m, p, p + o->n);
		m_insert(&m, p, p + o->n, o->flags);
	} else if (what < 50) {
		o->kind = OP_UNMAP;
		o->p = p;
		o->n = 1 + (unsigned)rng_below(g, 12);
		if (o->n > PAGES - p)
			o->n = PAGES - p;
		m_cut(&m, p, p + o->n);
	} else if (what < 70) {
		o->kind = OP_PROTECT;
		o->mask = 1 + (uint32_t)rng_below(g, 7);
		o->p = p;
		o->n = 1 + (unsigned)rng_below(g, 16);
		if (o->n > PAGES - p)
			o->n = PAGES - p;
		m_protect(&m, p, p + o->n, o->flags, o->mask);
	} else if (what < 85) {
		/* In place: a range of the area at p, sometimes past its end. */
		o->kind = OP_REMAP;
		m_area(&m, p, &as, &ae);
		o->p = as + (unsigned)rng_below(g, ae - as);
		o->n = 1 + (unsigned)rng_below(g, ae - o->p + 1);
		if (o->n > PAGES - o->p)
			o->n = PAGES - o->p;
		o->nn = rng_chance(g, 50) ? o->n + 1 + (unsigned)rng_below(g, 4)
					  : 1 + (unsigned)rng_below(g, o->n);
		if (o->nn > PAGES - o->p) {
			/* Past 2^64 at the top; below, a grow out of the
			 * window becomes a no-op. */
			if (win == TOP_BASE) {
				o->want = MAPPING_ERR_INVALID_PARAM;
				return;
			}
			o->nn = o->n;
		}
		if (o->p + o->n > ae) {
			o->want = MAPPING_ERR_BAD_STATE;
			return;
		}
		if (o->nn < o->n) {
			m_cut(&m, o->p + o->nn, o->p + o->n);
		} else if (o->nn > o->n) {
			if (o->p + o->n != ae ||
			    m_any(&m, o->p + o->n, o->p + o->nn)) {
				o->want = MAPPING_ERR_NO_MEMORY;
				return;
			}
			for (unsigned q = o->p + o->n; q < o->p + o->nn; q++) {
				m.lab[q] = m.lab[o->p];
				m.flags[q] = m.flags[o->p];
			}
		}
	} else {
		/* Move a range of the area at p; the target may cut areas. */
		o->kind = OP_MOVE;
		m_area(&m, p, &as, &ae);
		o->p = as + (unsigned)rng_below(g, ae - as);
		o->n = 1 + (unsigned)rng_below(g, ae - o->p);
		o->nn = 1 + (unsigned)rng_below(g, o->n + 4);
		o->ns = (unsigned)rng_below(g, PAGES - o->nn + 1);
		o->flags = m.flags[o->p];
		if (o->p < o->ns + o->nn && o->ns < o->p + o->n) {
			o->want = MAPPING_ERR_INVALID_PARAM;
			return;
		}
		/* On its way: the target unmapped, then the tail. */
		tmp = m;
		m_cut(&tmp, o->ns, o->ns + o->nn);
		put_version(&tmp);
		if (o->nn < o->n) {
			m_cut(&tmp, o->p + o->nn, o->p + o->n);
			put_version(&tmp);
		}
		m_cut(&m, o->ns, o->ns + o->nn);
		m_cut(&m, o->p, o->p + o->n);
		m_insert(&m, o->ns, o->ns + o->nn, o->flags);
	}
}

static enum mapping_error apply(const struct op *o)
{
	struct mapping_backend b = {&trace_null_ops, NULL};
	uint64_t s = win + o->p * GR, n = o->n * GR, nn = o->nn * GR;

	switch (o->kind) {
	case OP_MAP:
		return memory_set_map(&set, s, n, o->flags, &b, NULL,
				      o->replace);
	case OP_UNMAP:
		return memory_set_unmap(&set, s, n, NULL);
	case OP_PROTECT:
		return memory_set_protect_flags(&set, s, n, o->flags, o->mask,
						NULL);
	case OP_REMAP:
		return memory_set_remap(&set, s, n, nn, NULL);
	case OP_MOVE:
		return memory_set_remap_fixed(&set, s, n, nn,
					      win + o->ns * GR, NULL);
	}
	return MAPPING_ERR_INVALID_PARAM;
}

static void write_once(struct rng *g)
{
	struct op o;
	enum mapping_error got;
	char what[160];

	plan(g, &o);
	if (memory_set_merge_enabled(&set))
		m_merge(&m);
	put_version(&m);
	/* Before the first change: a reader that sees a commit of this
	 * operation then sees `started` too (the commit is a release). */
	atomic_store(&started, ver);
	got = apply(&o);
	snprintf(what, sizeof(what),
		 "%s of pages [%u +%u] (new size %u, at %u, flags %u, mask %u,"
		 " replace %d)", op_names[o.kind], o.p, o.n, o.nn, o.ns,
		 o.flags, o.mask, o.replace);
	REL_CHECK(got == o.want, "%s returned %d, expected %d", what, got,
		  o.want);
	verify(what);
	atomic_store(&done, ver);
}

static void run_writer(unsigned nops, unsigned nreaders, uint64_t seed)
{
	struct rng g = {seed};

	for (unsigned i = 0; i < nops; i++) {
		if (i == nops / 2) {
			/* Second phase: at the top of the space, merging on. */
			quiesce(nreaders);
			REL_CHECK(memory_set_clear(&set, NULL) == MAPPING_OK,
				  "clear");
			memset(&m, 0, sizeof(m));
			win = TOP_BASE;
			memory_set_set_merge(&set, true);
			resume();
		} else if (ver + 3 - base >= SLOTS) {
			quiesce(nreaders);
			resume();
		}
		write_once(&g);
		if (i % 64 == 0)
			sched_yield();
	}
}

/* ---- the readers ------------------------------------------------------ */

enum q_kind { Q_FIND, Q_OVERLAPS, Q_ACCESS, Q_FAULT, Q_KINDS };
static const char *const q_names[] = {"find_copy", "overlaps", "can_access",
				      "handle_fault_copy"};

struct query {
	enum q_kind kind;
	uint64_t addr, size, mask;
};

/* What a call returned, or should have. */
struct answer {
	bool found;
	enum mapping_error err;
	struct memory_area a;
};

struct reader_stats {
	unsigned long calls, found, straddles, skipped;
	unsigned long widest;
};

static struct reader_stats stats[MAX_READERS];

static bool page_of(uint64_t addr, unsigned *p)
{
	uint64_t off = addr - win;

	if (off >= (uint64_t)PAGES * GR)
		return false;
	*p = (unsigned)(off / GR);
	return true;
}

static const struct pg *page_in(const struct pg *st, uint64_t addr)
{
	unsigned p;

	return page_of(addr, &p) && st[p].n ? &st[p] : NULL;
}

/* Call fn for each page [start, start+size) touches, cut at 2^64; stop
 * when it returns false. */
static bool each_page(uint64_t start, uint64_t size, const struct pg *st,
		      bool (*fn)(const struct pg *, uint64_t), uint64_t arg)
{
	uint64_t last = size - 1 > UINT64_MAX - start ? UINT64_MAX
						      : start + (size - 1);

	for (uint64_t a = start;;) {
		if (!fn(page_in(st, a), arg))
			return false;
		if ((a | (GR - 1)) >= last)
			return true;
		a = (a | (GR - 1)) + 1;
	}
}

static bool is_free(const struct pg *pg, uint64_t arg)
{
	(void)arg;
	return pg == NULL;
}

static bool has_mask(const struct pg *pg, uint64_t mask)
{
	return pg && (pg->flags & mask) == mask;
}

static void expect(const struct query *q, const struct pg *st,
		   struct answer *want)
{
	const struct pg *pg = page_in(st, q->addr);

	memset(want, 0, sizeof(*want));
	want->found = pg != NULL;
	if (pg) {
		want->a.start = win + pg->first * GR;
		want->a.size = pg->n * GR;
		want->a.flags = pg->flags;
		want->a.backend.ops = &trace_null_ops;
	}
	switch (q->kind) {
	case Q_FIND:
		break;
	case Q_OVERLAPS:
		want->found = q->size &&
			      !each_page(q->addr, q->size, st, is_free, 0);
		break;
	case Q_ACCESS:
		if (q->size && q->size - 1 > UINT64_MAX - q->addr)
			want->err = MAPPING_ERR_INVALID_PARAM;
		else if (q->size &&
			 !each_page(q->addr, q->size, st, has_mask, q->mask))
			want->err = MAPPING_ERR_BAD_STATE;
		break;
	case Q_FAULT:
		if (!pg)
			want->err = MAPPING_ERR_BAD_STATE;
		else if ((pg->flags & q->mask) != q->mask)
			want->err = MAPPING_ERR_ACCESS_DENIED;
		break;
	default:
		break;
	}
}

static bool same_area(const struct memory_area *x, const struct memory_area *y)
{
	return x->start == y->start && x->size == y->size &&
	       x->flags == y->flags && x->backend.ops == y->backend.ops &&
	       x->backend.data == y->backend.data;
}

static bool agree(const struct query *q, const struct answer *got,
		  const struct answer *want)
{
	switch (q->kind) {
	case Q_FIND:
		return got->found == want->found &&
		       (!want->found || same_area(&got->a, &want->a));
	case Q_OVERLAPS:
		return got->found == want->found;
	case Q_ACCESS:
		return got->err == want->err;
	case Q_FAULT:
		return got->err == want->err &&
		       (!want->found || same_area(&got->a, &want->a));
	default:
		return false;
	}
}

static void ask(const struct query *q, struct answer *got)
{
	/* A marker: the copy must stay untouched when nothing is found. */
	memset(&got->a, 0xa5, sizeof(got->a));
	got->err = MAPPING_OK;
	got->found = false;
	switch (q->kind) {
	case Q_FIND:
		got->found = memory_set_find_copy(&set, q->addr, &got->a);
		break;
	case Q_OVERLAPS:
		got->found = memory_set_overlaps(&set, q->addr, q->size);
		break;
	case Q_ACCESS:
		got->err = memory_set_can_access(&set, q->addr, q->size,
						 q->mask);
		break;
	case Q_FAULT:
		got->err = memory_set_handle_fault_copy(&set, q->addr, q->mask,
							NULL, &got->a);
		got->found = got->err != MAPPING_ERR_BAD_STATE;
		break;
	default:
		break;
	}
}

static bool untouched(const struct memory_area *a)
{
	struct memory_area marker;

	memset(&marker, 0xa5, sizeof(marker));
	return memcmp(a, &marker, sizeof(marker)) == 0;
}

/* The area matters to find_copy and handle_fault_copy only. */
static void print_answer(const struct query *q, const struct answer *a)
{
	fprintf(stderr, "found %d, err %d", a->found, a->err);
	if (q->kind == Q_FIND || q->kind == Q_FAULT)
		fprintf(stderr, ", area [%#llx +%#llx] flags %llu",
			(unsigned long long)a->a.start,
			(unsigned long long)a->a.size,
			(unsigned long long)a->a.flags);
}

static void report(unsigned id, const struct query *q, const struct answer *got,
		   unsigned long lo, unsigned long hi)
{
	fprintf(stderr, "reader %u: %s(%#llx, size %#llx, mask %llu) gave ",
		id, q_names[q->kind], (unsigned long long)q->addr,
		(unsigned long long)q->size, (unsigned long long)q->mask);
	print_answer(q, got);
	fprintf(stderr, "; versions [%lu, %lu] (epoch from %lu) say:\n", lo,
		hi, base);
	for (unsigned long v = lo; v <= hi; v++) {
		struct answer w;

		expect(q, slots[v - base], &w);
		fprintf(stderr, "  version %lu: ", v);
		print_answer(q, &w);
		fputc('\n', stderr);
	}
}

static void read_once(unsigned id, struct rng *g)
{
	struct reader_stats *st = &stats[id];
	struct query q;
	struct answer got, want;
	unsigned long lo, hi, v;

	q.kind = (enum q_kind)rng_below(g, Q_KINDS);
	/* Anywhere in the window and a few pages around it. */
	q.addr = win - 4 * GR + rng_below(g, (PAGES + 8) * GR);
	q.size = rng_chance(g, 5) ? 0 : 1 + rng_below(g, 8 * GR);
	q.mask = rng_below(g, 8);
	if (q.kind == Q_FAULT && q.mask == 0)
		q.mask = MAPPING_ACCESS_READ;

	lo = atomic_load_explicit(&done, memory_order_acquire);
	ask(&q, &got);
	hi = atomic_load_explicit(&started, memory_order_acquire);
	REL_CHECK(lo >= base && lo <= hi && hi - base < SLOTS,
		  "versions [%lu, %lu] outside the epoch from %lu", lo, hi,
		  base);
	st->calls++;
	st->found += got.found;
	st->straddles += hi > lo;
	if (hi - lo > st->widest)
		st->widest = hi - lo;
	if (!got.found && q.kind != Q_OVERLAPS && q.kind != Q_ACCESS &&
	    !untouched(&got.a)) {
		report(id, &q, &got, lo, hi);
		REL_FAIL("reader %u: the copy was written though no area "
			 "was found", id);
	}
	if (stale) {
		/* The check of the checker: a version the reader cannot
		 * have seen. */
		if (lo == base) {
			st->skipped++;
			return;
		}
		lo = hi = lo - 1;
	}
	for (v = lo; v <= hi; v++) {
		expect(&q, slots[v - base], &want);
		if (agree(&q, &got, &want))
			return;
	}
	report(id, &q, &got, lo, hi);
	REL_FAIL("reader %u: %s's answer matches no version it overlapped",
		 id, q_names[q.kind]);
}

static void *reader(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	struct rng g = {0x5eed0000u + id};
	unsigned long seen = 0;
	unsigned idle = 0;

	for (;;) {
		/* Many calls and no new version: let the writer run (a host
		 * that runs one thread at a time, as valgrind does). */
		if (atomic_load_explicit(&done, memory_order_relaxed) != seen) {
			seen = atomic_load_explicit(&done,
						    memory_order_relaxed);
			idle = 0;
		} else if (++idle % 256 == 0) {
			sched_yield();
		}
		/* Announce, then look: the writer announces, then looks
		 * (sequentially consistent), so one of them sees the other. */
		atomic_store(&active[id], 1);
		if (atomic_load(&pause_readers)) {
			atomic_store(&active[id], 0);
			while (atomic_load(&pause_readers) &&
			       !atomic_load(&stop))
				sched_yield();
			if (atomic_load(&stop))
				break;
			continue;
		}
		read_once(id, &g);
		atomic_store(&active[id], 0);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned nops = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0)
				 : rel_scaled(400000, 2000);
	unsigned nreaders = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 2;
	uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 13;
	const char *e = getenv("MS_STRESS_STALE");
	struct memory_set_options o;
	pthread_t th[MAX_READERS];
	struct reader_stats sum = {0, 0, 0, 0, 0};

	if (nreaders < 1 || nreaders > MAX_READERS)
		nreaders = 2;
	stale = e && *e && strcmp(e, "0") != 0;
	snprintf(rel_context, sizeof(rel_context), "seed %llu",
		 (unsigned long long)seed);
	slots = calloc(SLOTS, sizeof(*slots));
	REL_CHECK(slots != NULL, "out of memory");
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.allocator = &memory_set_malloc_allocator;
	o.lockless_lookups = true;
	REL_CHECK(memory_set_init(&set, &o) == MAPPING_OK, "init");
	win = LOW_BASE;
	m_snap(&m, slots[0]);

	for (unsigned i = 0; i < nreaders; i++)
		REL_CHECK(pthread_create(&th[i], NULL, reader,
					 (void *)(uintptr_t)i) == 0,
			  "pthread_create");
	run_writer(nops, nreaders, seed);
	quiesce(nreaders);
	atomic_store(&stop, 1);
	for (unsigned i = 0; i < nreaders; i++) {
		pthread_join(th[i], NULL);
		sum.calls += stats[i].calls;
		sum.found += stats[i].found;
		sum.straddles += stats[i].straddles;
		sum.skipped += stats[i].skipped;
		if (stats[i].widest > sum.widest)
			sum.widest = stats[i].widest;
	}
	REL_CHECK(memory_set_check(&set) == NULL, "check after the run");
	/* Every answer was checked; this makes sure there were some. */
	REL_CHECK(sum.calls > 0 && sum.found > 0,
		  "readers made %lu calls, %lu found an area", sum.calls,
		  sum.found);
	REL_CHECK(memory_set_clear(&set, NULL) == MAPPING_OK, "clear");
	memory_set_destroy(&set);
	free(slots);
	printf("lockless_stress: %u operations, %lu versions; %u readers: "
	       "%lu calls, %lu found, %lu overlapped a change (up to %lu "
	       "versions)%s\n",
	       nops, ver, nreaders, sum.calls, sum.found, sum.straddles,
	       sum.widest, stale ? " [stale check]" : "");
	return 0;
}
