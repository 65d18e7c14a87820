/*
 * Fault injection: for random operation sequences, fail every backend hook
 * call and every allocation of each operation in turn (and, for protect, a
 * second call during the roll-back), then check that the set obeys its
 * failure contract (memory_set.h) and still works afterwards.
 *
 *   fault_injection [SEQUENCES] [SEED]
 *
 * MS_REL_SCALE scales the default number of sequences.
 */
#include <stdlib.h>
#include <string.h>

#include "rel_support.h"

#define TOP_PAGE_BASE(pages, g) ((uint64_t)0 - (uint64_t)(pages) * (g))
#define MAX_OPS 400

enum op_kind {
	OP_MAP,
	OP_MAP_REPLACE,
	OP_UNMAP,
	OP_PROTECT,
	OP_CLEAR,
	OP_MERGE_ON,
	OP_MERGE_OFF,
};

static const char *const op_name[] = {"map", "map-replace", "unmap",
				      "protect", "clear", "merge-on",
				      "merge-off"};

struct op {
	enum op_kind kind;
	uint64_t start, size, flags, mask;
	bool tok; /* map with token_ops (split/release/can_merge) */
};

struct seq {
	bool merge;       /* merge at init */
	unsigned prefill; /* ops[0..prefill) build the set; no faults there */
	unsigned n;
	struct op ops[MAX_OPS];
};

struct run {
	struct memory_set set;
	struct fail_alloc fa;
	struct shadow sh;
};

struct prot_ctx {
	uint64_t flags, mask;
};

/* The trace language's protect: masked bits take the new value. */
static bool prot_update(void *ctx, uint64_t old_flags, uint64_t *new_flags)
{
	const struct prot_ctx *p = ctx;

	if ((old_flags & p->mask) == (p->flags & p->mask))
		return false;
	*new_flags = (p->flags & p->mask) | (old_flags & ~p->mask);
	return true;
}

/* Statistics printed at the end, to show what was exercised. */
static struct {
	long runs, hook_faults, rollback_faults, alloc_faults, alloc_ok;
	long by_hook[4];
} st;

static void run_init(struct run *r, bool merge)
{
	struct memory_set_options o;
	enum mapping_error e;

	memset(r, 0, sizeof(*r));
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.merge = merge;
	o.allocator = &fail_allocator;
	o.allocator_ctx = &r->fa;
	o.granule = 0x1000;
	e = memory_set_init(&r->set, &o);
	REL_CHECK(e == MAPPING_OK, "memory_set_init: %d", e);
	inj_reset();
}

/* Tear down: everything unmaps, no node and no token is left. */
static void run_end(struct run *r)
{
	enum mapping_error e = memory_set_clear(&r->set, &r->sh);

	REL_CHECK(e == MAPPING_OK, "clear after the test: %d", e);
	verify_set(&r->set, &r->sh);
	REL_CHECK(memory_set_is_empty(&r->set) && r->sh.n == 0,
		  "clear left areas or pages");
	memory_set_destroy(&r->set);
	REL_CHECK(r->fa.live == 0, "%ld nodes leaked", r->fa.live);
	REL_CHECK(inj.tokens_live == 0, "%ld tokens never released",
		  inj.tokens_live);
	shadow_free(&r->sh);
}

static enum mapping_error run_op(struct run *r, const struct op *op)
{
	struct mapping_backend b = {&plain_ops, NULL};
	struct prot_ctx pc = {op->flags, op->mask};
	enum mapping_error e;

	switch (op->kind) {
	case OP_MAP:
	case OP_MAP_REPLACE:
		if (op->tok)
			b = (struct mapping_backend){&token_ops, token_new()};
		e = memory_set_map(&r->set, op->start, op->size, op->flags, &b,
				   &r->sh, op->kind == OP_MAP_REPLACE);
		/* A failed map never took the area: its data is ours again. */
		if (e != MAPPING_OK && op->tok)
			token_drop(b.data);
		return e;
	case OP_UNMAP:
		return memory_set_unmap(&r->set, op->start, op->size, &r->sh);
	case OP_PROTECT:
		return memory_set_protect(&r->set, op->start, op->size,
					  prot_update, &pc, &r->sh);
	case OP_CLEAR:
		return memory_set_clear(&r->set, &r->sh);
	case OP_MERGE_ON:
	case OP_MERGE_OFF:
		memory_set_set_merge(&r->set, op->kind == OP_MERGE_ON);
		return MAPPING_OK;
	}
	return MAPPING_ERR_INVALID_PARAM;
}

/* ---- random sequences ----------------------------------------------- */
static void gen_seq(struct seq *s, struct rng *g)
{
	static const unsigned prefills[] = {0, 0, 0, 24, 60, 160};
	static const uint64_t masks[] = {1, 2, 3, ~(uint64_t)0};
	const uint64_t gr = 0x1000;
	unsigned pages, nops;
	uint64_t base;

	memset(s, 0, sizeof(*s));
	s->merge = rng_chance(g, 50);
	s->prefill = prefills[rng_below(g, 6)];
	pages = 2 * s->prefill + 32;
	/* Half the sequences live at the top of the address space, so
	 * ranges end exactly at 2^64. */
	switch (rng_below(g, 3)) {
	case 0:
		base = 0;
		break;
	case 1:
		base = TOP_PAGE_BASE(pages, gr);
		break;
	default:
		base = rng_below(g, 1ull << 40) * gr;
		break;
	}
	/* Alternating areas with few distinct flags: merges and splits. */
	for (unsigned i = 0; i < s->prefill; i++)
		s->ops[s->n++] = (struct op){OP_MAP, base + 2 * i * gr, gr,
					     rng_below(g, 3), 0,
					     rng_chance(g, 50)};
	nops = 6 + (unsigned)rng_below(g, 12);
	for (unsigned i = 0; i < nops; i++) {
		struct op *op = &s->ops[s->n++];
		unsigned w = (unsigned)rng_below(g, 100);
		uint64_t p = rng_below(g, pages), len;

		if (rng_chance(g, 70))
			len = 1 + rng_below(g, 6);
		else
			len = 1 + rng_below(g, pages - p);
		if (len > pages - p)
			len = pages - p;
		op->start = base + p * gr;
		op->size = len * gr;
		op->flags = rng_below(g, 4);
		op->mask = masks[rng_below(g, 4)];
		op->tok = rng_chance(g, 50);
		op->kind = w < 22   ? OP_MAP
			   : w < 44 ? OP_MAP_REPLACE
			   : w < 66 ? OP_UNMAP
			   : w < 92 ? OP_PROTECT
			   : w < 94 ? OP_CLEAR
			   : w < 97 ? OP_MERGE_ON
				    : OP_MERGE_OFF;
	}
}

/* ---- one run with a fault ------------------------------------------- */
struct fault {
	long hook[2];   /* hook call numbers within the op (1-based), 0: none */
	long alloc;     /* allocation number within the op, 0: none */
	enum mapping_error code;
};

struct ref {
	long calls[MAX_OPS], allocs[MAX_OPS];
	enum mapping_error result[MAX_OPS];
	struct snap after[MAX_OPS];
};

static void describe(const struct seq *s, unsigned k, const struct fault *f,
		     unsigned long long seed)
{
	const struct op *op = &s->ops[k];

	snprintf(rel_context, sizeof(rel_context),
		 "seed %llu op %u %s %#llx+%#llx flags %#llx mask %#llx%s "
		 "merge-init %d fault hook %ld/%ld alloc %ld",
		 seed, k, op_name[op->kind], (unsigned long long)op->start,
		 (unsigned long long)op->size, (unsigned long long)op->flags,
		 (unsigned long long)op->mask, op->tok ? " tok" : "",
		 s->merge, f->hook[0], f->hook[1], f->alloc);
}

/* What the set must look like after a hook of op failed (see the failure
 * contract of each function in memory_set.h). */
static void check_hook_failure(const struct op *op, const struct snap *before,
			       const struct snap *after, long calls_in_op,
			       const struct fault *f)
{
	const struct hook_call *hc = &inj.failed[0];
	struct snap want = {0};

	REL_CHECK(inj.nfailed >= 1, "the failing call never came");
	if (hc->kind == HOOK_SPLIT) {
		/* split() runs before any page-table hook: nothing changes. */
		REL_CHECK(snap_identical(before, after),
			  "a failed split changed the set");
		st.by_hook[HOOK_SPLIT]++;
		return;
	}
	st.by_hook[hc->kind]++;
	if (op->kind != OP_PROTECT)
		REL_CHECK(calls_in_op == f->hook[0],
			  "%ld hook calls after a failure",
			  calls_in_op - f->hook[0]);

	want.a = malloc((before->n + 1) * sizeof(*want.a));
	REL_CHECK(want.a != NULL, "out of memory");
	memcpy(want.a, before->a, before->n * sizeof(*want.a));
	want.n = before->n;

	switch (op->kind) {
	case OP_MAP:
		REL_CHECK(hc->kind == HOOK_MAP, "map called another hook");
		break;
	case OP_MAP_REPLACE:
		/* Failing unmap: pieces before it are gone. Failing map: the
		 * whole range is free. The new area is never added. */
		if (hc->kind == HOOK_UNMAP)
			snap_remove(&want, op->start, hc->start - op->start);
		else
			snap_remove(&want, op->start, op->size);
		break;
	case OP_UNMAP:
		REL_CHECK(hc->kind == HOOK_UNMAP, "unmap called another hook");
		snap_remove(&want, op->start, hc->start - op->start);
		break;
	case OP_CLEAR:
		REL_CHECK(hc->kind == HOOK_UNMAP, "clear called another hook");
		snap_remove(&want, 0, hc->start);
		break;
	case OP_PROTECT:
		REL_CHECK(hc->kind == HOOK_PROTECT, "protect called another hook");
		/* Rolled back page for page, except a piece whose roll-back
		 * failed: it keeps the new flags. */
		if (inj.nfailed == 2) {
			const struct hook_call *rb = &inj.failed[1];

			st.rollback_faults++;
			REL_CHECK(rb->kind == HOOK_PROTECT,
				  "roll-back called another hook");
			snap_set_pages(&want, rb->start, rb->size,
				       rb->old_flags);
		}
		if (!same_pages(&want, after)) {
			snap_print(stderr, "before", before);
			snap_print(stderr, "expected pages", &want);
			snap_print(stderr, "after", after);
			REL_FAIL("protect did not roll back as documented");
		}
		snap_free(&want);
		return;
	case OP_MERGE_ON:
	case OP_MERGE_OFF:
		REL_FAIL("set_merge called a hook");
	}
	if (!snap_equal(&want, after)) {
		snap_print(stderr, "before", before);
		snap_print(stderr, "expected", &want);
		snap_print(stderr, "after", after);
		REL_FAIL("partial failure left the wrong areas");
	}
	snap_free(&want);
}

/* Replay s with the fault f armed during op k; check everything. Returns
 * the number of hook calls op k made. */
static long run_fault(const struct seq *s, unsigned k, const struct fault *f,
		      const struct ref *ref, unsigned long long seed)
{
	struct run r;
	struct snap before, after;
	long calls0, pt0, allocs0, tokens0;
	enum mapping_error e;

	describe(s, k, f, seed);
	st.runs++;
	run_init(&r, s->merge);
	for (unsigned i = 0; i < k; i++)
		run_op(&r, &s->ops[i]);
	verify_set(&r.set, &r.sh);
	snap_take(&before, &r.set);
	calls0 = inj.calls;
	pt0 = inj.pt_calls;
	allocs0 = r.fa.calls;
	tokens0 = inj.tokens_live;

	inj.fail_code = f->code;
	inj.fail_at[0] = f->hook[0] ? calls0 + f->hook[0] : 0;
	inj.fail_at[1] = f->hook[1] ? calls0 + f->hook[1] : 0;
	r.fa.fail_at = f->alloc ? allocs0 + f->alloc : 0;
	e = run_op(&r, &s->ops[k]);
	inj.fail_at[0] = inj.fail_at[1] = 0;
	r.fa.fail_at = 0;

	verify_set(&r.set, &r.sh);
	snap_take(&after, &r.set);
	if (f->hook[0]) {
		REL_CHECK(e == f->code, "returned %d, the hook failed with %d",
			  e, f->code);
		check_hook_failure(&s->ops[k], &before, &after,
				   inj.calls - calls0, f);
		st.hook_faults++;
	} else {
		REL_CHECK(r.fa.failed == 1, "allocation %ld never came",
			  f->alloc);
		REL_CHECK(s->ops[k].kind != OP_CLEAR &&
				  s->ops[k].kind != OP_MERGE_ON &&
				  s->ops[k].kind != OP_MERGE_OFF,
			  "%s allocated, but cannot report NoMemory",
			  op_name[s->ops[k].kind]);
		if (e == MAPPING_ERR_NO_MEMORY) {
			/* Nothing changed and no page-table hook ran; split
			 * data made on the way was released. */
			REL_CHECK(snap_identical(&before, &after),
				  "NoMemory changed the set");
			REL_CHECK(inj.pt_calls == pt0,
				  "NoMemory after %ld page-table calls",
				  inj.pt_calls - pt0);
			REL_CHECK(inj.tokens_live == tokens0,
				  "NoMemory leaked %ld split tokens",
				  inj.tokens_live - tokens0);
			st.alloc_faults++;
		} else {
			/* The set did without that block: then the outcome
			 * must be the one of the run without a fault. */
			REL_CHECK(e == ref->result[k] &&
					  snap_equal(&after, &ref->after[k]),
				  "failed allocation gave %d, not NoMemory "
				  "nor the normal outcome",
				  e);
			st.alloc_ok++;
		}
	}
	snap_free(&before);
	snap_free(&after);
	calls0 = inj.calls - calls0;

	/* The set keeps working after the failure. */
	for (unsigned i = k + 1; i < s->n; i++) {
		long pt = inj.pt_calls;

		run_op(&r, &s->ops[i]);
		if (s->ops[i].kind == OP_MERGE_ON ||
		    s->ops[i].kind == OP_MERGE_OFF)
			REL_CHECK(inj.pt_calls == pt,
				  "set_merge called a page-table hook");
		verify_set(&r.set, &r.sh);
	}
	run_end(&r);
	return calls0;
}

/*
 * The whole space as one area: with merge on, [0, 2^64 - 4K) meets
 * [2^64 - 4K, 2^64) and they become [0, 2^64), of size 0. Then it is cut,
 * protected, replaced and cleared, with faults as for random sequences.
 */
static void whole_space_seq(struct seq *s, bool tok)
{
	const uint64_t top = TOP_PAGE_BASE(1, 0x1000);
	static const struct {
		enum op_kind kind;
		uint64_t start, size, flags;
	} ops[] = {
		{OP_MAP, 0, TOP_PAGE_BASE(2, 0x1000), 1},
		{OP_PROTECT, 0x10000, 0x4000, 2},
		{OP_PROTECT, 0x10000, 0x4000, 1},
		{OP_UNMAP, 0x20000, 0x1000, 0},
		{OP_MAP, 0x20000, 0x1000, 1},
		{OP_MAP_REPLACE, 0x8000, 0x8000, 3},
		{OP_MAP_REPLACE, 0x8000, 0x8000, 1},
		{OP_PROTECT, 0, TOP_PAGE_BASE(1, 0x1000), 2},
		{OP_MERGE_OFF, 0, 0, 0},
		{OP_PROTECT, 0, TOP_PAGE_BASE(2, 0x1000), 1},
		{OP_MERGE_ON, 0, 0, 0},
		{OP_UNMAP, 0x1000, TOP_PAGE_BASE(2, 0x1000), 0},
		{OP_CLEAR, 0, 0, 0},
	};

	memset(s, 0, sizeof(*s));
	s->merge = true;
	s->prefill = 2;
	s->ops[s->n++] = (struct op){OP_MAP, top, 0x1000, 1, ~0ull, tok};
	s->ops[s->n++] = (struct op){OP_MAP, TOP_PAGE_BASE(2, 0x1000), 0x1000,
				     1, ~0ull, tok};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		s->ops[s->n++] = (struct op){ops[i].kind, ops[i].start,
					     ops[i].size, ops[i].flags, ~0ull,
					     tok};
}

static void run_seq(unsigned long long seed, struct ref *ref)
{
	static const enum mapping_error codes[] = {
		MAPPING_ERR_BAD_STATE, MAPPING_ERR_NO_MEMORY,
		MAPPING_ERR_INVALID_PARAM, MAPPING_ERR_ALREADY_EXISTS};
	struct rng g = {seed};
	struct seq *s = malloc(sizeof(*s));
	struct run r;

	REL_CHECK(s != NULL, "out of memory");
	/* Seeds 0 and 1: the whole space, plain and token backends. */
	if (seed < 2)
		whole_space_seq(s, seed == 1);
	else
		gen_seq(s, &g);

	/* Reference run: no fault; count the calls and allocations of each
	 * op and keep its outcome. */
	snprintf(rel_context, sizeof(rel_context), "seed %llu reference",
		 seed);
	run_init(&r, s->merge);
	for (unsigned i = 0; i < s->n; i++) {
		long c = inj.calls, a = r.fa.calls;

		ref->result[i] = run_op(&r, &s->ops[i]);
		ref->calls[i] = inj.calls - c;
		ref->allocs[i] = r.fa.calls - a;
		snap_take(&ref->after[i], &r.set);
		if (seed < 2 && i == 2)
			REL_CHECK(ref->after[i].n == 1 &&
					  ref->after[i].a[0].start == 0 &&
					  ref->after[i].a[0].size == 0,
				  "the whole space did not become one area");
		if (i >= s->prefill)
			verify_set(&r.set, &r.sh);
	}
	verify_set(&r.set, &r.sh);
	run_end(&r);

	for (unsigned k = s->prefill; k < s->n; k++) {
		for (long n = 1; n <= ref->calls[k]; n++) {
			struct fault f = {{n, 0}, 0, codes[(k + n) % 4]};
			long made = run_fault(s, k, &f, ref, seed);

			/* Fail each later call too: protect's roll-back. */
			for (long m = n + 1; m <= made; m++) {
				f.hook[1] = m;
				run_fault(s, k, &f, ref, seed);
			}
		}
		for (long a = 1; a <= ref->allocs[k]; a++) {
			struct fault f = {{0, 0}, a, MAPPING_OK};

			run_fault(s, k, &f, ref, seed);
		}
	}
	for (unsigned i = 0; i < s->n; i++)
		snap_free(&ref->after[i]);
	free(s);
}

/* A fixed pool that runs out: NoMemory, nothing changed, and every node
 * comes back to the pool on destroy. */
static void pool_exhaustion(void)
{
	enum { NODES = 3 };
	static uint64_t buf[MEMORY_SET_POOL_BYTES(NODES) / 8];
	struct memory_set_pool pool;
	struct memory_set set;
	struct memory_set_options o;
	struct mapping_backend b = {&plain_ops, NULL};
	struct shadow sh = {0};
	enum mapping_error e = MAPPING_OK;
	uint64_t i;
	long nomem = 0;

	snprintf(rel_context, sizeof(rel_context), "pool exhaustion");
	inj_reset();
	REL_CHECK(memory_set_pool_init(&pool, buf, sizeof(buf)) == MAPPING_OK,
		  "pool_init");
	REL_CHECK(memory_set_pool_available(&pool) == NODES, "pool size");
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.allocator = &memory_set_pool_allocator;
	o.allocator_ctx = &pool;
	REL_CHECK(memory_set_init(&set, &o) == MAPPING_OK, "init");
	/* Alternating flags so nothing merges: each map adds an area. */
	for (i = 0; i < 100000 && e == MAPPING_OK; i++) {
		struct snap before, after;

		snap_take(&before, &set);
		e = memory_set_map(&set, i * 0x2000, 0x1000, i & 1, &b, &sh,
				   false);
		verify_set(&set, &sh);
		snap_take(&after, &set);
		if (e == MAPPING_ERR_NO_MEMORY) {
			nomem++;
			REL_CHECK(snap_identical(&before, &after),
				  "NoMemory changed the set");
		} else {
			REL_CHECK(e == MAPPING_OK, "map: %d", e);
		}
		snap_free(&before);
		snap_free(&after);
	}
	REL_CHECK(nomem == 1, "the pool never ran out");
	e = memory_set_clear(&set, &sh);
	REL_CHECK(e == MAPPING_OK, "clear: %d", e);
	memory_set_destroy(&set);
	REL_CHECK(memory_set_pool_available(&pool) == NODES,
		  "%llu of %d nodes back in the pool",
		  (unsigned long long)memory_set_pool_available(&pool), NODES);
	shadow_free(&sh);
	printf("pool: ran out after %llu areas\n", (unsigned long long)(i - 1));
}

int main(int argc, char **argv)
{
	unsigned nseq = argc > 1 ? (unsigned)atoi(argv[1])
				 : rel_scaled(300, 4);
	unsigned long long seed0 = argc > 2 ? strtoull(argv[2], NULL, 0) : 0;
	struct ref *ref = calloc(1, sizeof(*ref));

	REL_CHECK(ref != NULL, "out of memory");
	pool_exhaustion();
	for (unsigned i = 0; i < nseq; i++)
		run_seq(seed0 + i, ref);
	free(ref);
	printf("fault_injection: %u sequences, %ld runs, %ld hook faults "
	       "(map %ld unmap %ld protect %ld split %ld), %ld roll-back "
	       "faults, %ld allocation faults (+%ld absorbed)\n",
	       nseq, st.runs, st.hook_faults, st.by_hook[HOOK_MAP],
	       st.by_hook[HOOK_UNMAP], st.by_hook[HOOK_PROTECT],
	       st.by_hook[HOOK_SPLIT], st.rollback_faults, st.alloc_faults,
	       st.alloc_ok);
	/* Each kind of fault must have been exercised, or the test proves
	 * nothing. */
	if (nseq >= 20)
		REL_CHECK(st.by_hook[HOOK_MAP] && st.by_hook[HOOK_UNMAP] &&
				  st.by_hook[HOOK_PROTECT] &&
				  st.by_hook[HOOK_SPLIT] &&
				  st.rollback_faults && st.alloc_faults,
			  "a kind of fault was never injected");
	return 0;
}
