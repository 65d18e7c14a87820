/*
 * Fault injection: for random operation sequences, fail every backend hook
 * call and every allocation of each operation in turn (and, for protect, a
 * second call during the roll-back), then check that the set obeys its
 * failure contract (memory_set.h) and still works afterwards. The
 * operations: map (plain or replacing), unmap, protect and their strict
 * forms, remap in place and to a fixed place, dup (the sequence goes on
 * with the copy), page faults, area limits, clear and merge on and off.
 * Double faults: a second call fails too in protect's roll-back, in the
 * default move of remap_fixed (a backend with split and release but no
 * move hook, or none of them) and in dup's undo. A set with lookups
 * without a lock must never give back a node it had before the operation.
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
	OP_UNMAP_STRICT,
	OP_PROTECT_STRICT,
	OP_REMAP,
	OP_REMAP_FIXED,
	OP_DUP,
	OP_LIMIT, /* size: the limit */
	OP_FAULT, /* start: the address, flags: the access */
	OP_KINDS
};

static const char *const op_name[] = {
	"map", "map-replace", "unmap", "protect", "clear", "merge-on",
	"merge-off", "unmap-strict", "protect-strict", "remap", "remap-fixed",
	"dup", "limit", "fault"};

struct op {
	enum op_kind kind;
	uint64_t start, size, flags, mask;
	uint64_t new_size, new_start; /* remap */
	bool tok; /* map with token_ops (split/release/can_merge/v2) */
	bool nomove; /* with tok: token_nomove_ops (the default move) */
	bool aim; /* move start and size into an area (see aim_op) */
};

struct seq {
	bool merge;       /* merge at init */
	bool lockless;    /* lookups without a lock */
	unsigned prefill; /* ops[0..prefill) build the set; no faults there */
	unsigned n;
	struct op ops[MAX_OPS];
};

/* Two sets and their page tables: dup makes the other one current. */
struct run {
	struct memory_set sets[2];
	struct shadow shs[2];
	int cur;
	struct fail_alloc fa;
	bool lockless; /* its sets let lookups run without a lock */
};

static struct memory_set *cur_set(struct run *r)
{
	return &r->sets[r->cur];
}

static struct shadow *cur_sh(struct run *r)
{
	return &r->shs[r->cur];
}

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
	long move_undo_faults, dup_undo_faults;
	long by_hook[HOOK_KINDS], by_op[OP_KINDS];
} st;

static void set_init(struct run *r, int i, bool merge)
{
	struct memory_set_options o;
	enum mapping_error e;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.merge = merge;
	o.allocator = &fail_allocator;
	o.allocator_ctx = &r->fa;
	o.granule = 0x1000;
	/* A lockless set's writer side (kept nodes, the sequence count) must
	 * keep the same contract. */
	o.lockless_lookups = r->lockless;
	e = memory_set_init(&r->sets[i], &o);
	REL_CHECK(e == MAPPING_OK, "memory_set_init: %d", e);
}

static void run_init(struct run *r, bool merge, bool lockless)
{
	memset(r, 0, sizeof(*r));
	r->lockless = lockless;
	set_init(r, 0, merge);
	inj_reset();
}

/* Tear down: everything unmaps, no node and no token is left. */
static void run_end(struct run *r)
{
	enum mapping_error e = memory_set_clear(cur_set(r), cur_sh(r));

	REL_CHECK(e == MAPPING_OK, "clear after the test: %d", e);
	verify_set(cur_set(r), cur_sh(r));
	REL_CHECK(memory_set_is_empty(cur_set(r)) && cur_sh(r)->n == 0,
		  "clear left areas or pages");
	r->fa.keep_below = 0;
	memory_set_destroy(cur_set(r));
	REL_CHECK(r->fa.live == 0, "%ld nodes leaked", r->fa.live);
	REL_CHECK(inj.tokens_live == 0, "%ld tokens never released",
		  inj.tokens_live);
	shadow_free(&r->shs[0]);
	shadow_free(&r->shs[1]);
}

/*
 * Fork: duplicate into the other set. On success the original is
 * destroyed (its pages are the old process's) and the copy goes on. On a
 * failure the copy must hold what its page table holds: nothing, or the
 * areas whose undo failed; when it is empty and has no lookups without a
 * lock, no memory either. Then it goes.
 */
static enum mapping_error run_dup(struct run *r)
{
	int c = !r->cur;
	enum mapping_error e;

	set_init(r, c, false);
	e = memory_set_dup(&r->sets[c], cur_set(r), cur_sh(r), &r->shs[c]);
	r->fa.keep_below = 0;
	if (e != MAPPING_OK) {
		verify_pages(&r->sets[c], &r->shs[c]);
		REL_CHECK(!memory_set_is_empty(&r->sets[c]) || r->lockless ||
				  memory_set_memory_bytes(&r->sets[c]) == 0,
			  "a failed dup left the copy with memory");
		REL_CHECK(inj.nfailed == 2 || r->shs[c].n == 0,
			  "a failed dup left pages in the copy's page table");
		memory_set_destroy(&r->sets[c]);
		shadow_free(&r->shs[c]);
		return e;
	}
	memory_set_destroy(cur_set(r));
	shadow_free(cur_sh(r));
	r->cur = c;
	return MAPPING_OK;
}

/* A fault's answer: BadState without an area, else the flags decide,
 * unless an injected failure answered. */
static enum mapping_error run_fault_op(struct run *r, const struct op *op)
{
	const struct memory_area *want = memory_set_find(cur_set(r), op->start);
	const struct memory_area *got = NULL;
	uint64_t need = op->flags & (MAPPING_ACCESS_USER - 1);
	int failed = inj.nfailed;
	enum mapping_error e;

	e = memory_set_handle_fault(cur_set(r), op->start, op->flags,
				    cur_sh(r), &got);
	REL_CHECK(got == want, "handle_fault gave another area");
	if (inj.nfailed == failed)
		REL_CHECK(e == (!want ? MAPPING_ERR_BAD_STATE
				: (want->flags & need) == need
					? MAPPING_OK
					: MAPPING_ERR_ACCESS_DENIED),
			  "handle_fault returned %d", e);
	return e;
}

/*
 * Random ranges seldom lie inside one area, as remap needs, or have no
 * hole, as the strict forms need to do anything. An aimed op is moved into
 * the area holding its start, or the next one, during the reference run;
 * every replay reaches the same state, so the op stays what it was then.
 */
static void aim_op(struct run *r, struct op *op)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	uint64_t room;

	if (!op->aim)
		return;
	memory_set_iter_init(&it, cur_set(r), op->start);
	a = memory_set_iter_next(&it);
	if (!a)
		return;
	if (!memory_area_contains(a, op->start))
		op->start = a->start;
	room = memory_area_last(a) - op->start + 1; /* 0: 2^64 */
	if (room && op->size > room)
		op->size = room;
	if (op->kind == OP_FAULT)
		op->start += op->mask % (op->size ? op->size : 1);
}

static enum mapping_error run_op(struct run *r, const struct op *op)
{
	struct mapping_backend b = {&plain_ops, NULL};
	struct prot_ctx pc = {op->flags, op->mask};
	struct memory_set *set = cur_set(r);
	struct shadow *sh = cur_sh(r);
	enum mapping_error e;

	/* A lockless set keeps every node it has until destroy: a reader
	 * may be in any of them. */
	r->fa.keep_below = r->lockless ? r->fa.calls + 1 : 0;
	switch (op->kind) {
	case OP_MAP:
	case OP_MAP_REPLACE:
		if (op->tok)
			b = (struct mapping_backend){
				op->nomove ? &token_nomove_ops : &token_ops,
				token_new()};
		e = memory_set_map(set, op->start, op->size, op->flags, &b, sh,
				   op->kind == OP_MAP_REPLACE);
		/* A failed map never took the area: its data is ours again. */
		if (e != MAPPING_OK && op->tok)
			token_drop(b.data);
		return e;
	case OP_UNMAP:
		return memory_set_unmap(set, op->start, op->size, sh);
	case OP_UNMAP_STRICT:
		return memory_set_unmap_strict(set, op->start, op->size, sh);
	case OP_PROTECT:
		return memory_set_protect(set, op->start, op->size,
					  prot_update, &pc, sh);
	case OP_PROTECT_STRICT:
		return memory_set_protect_strict(set, op->start, op->size,
						 prot_update, &pc, sh);
	case OP_REMAP:
		return memory_set_remap(set, op->start, op->size, op->new_size,
					sh);
	case OP_REMAP_FIXED:
		return memory_set_remap_fixed(set, op->start, op->size,
					      op->new_size, op->new_start, sh);
	case OP_DUP:
		return run_dup(r);
	case OP_LIMIT:
		memory_set_set_max_areas(set, op->size);
		return MAPPING_OK;
	case OP_FAULT:
		return run_fault_op(r, op);
	case OP_CLEAR:
		return memory_set_clear(set, sh);
	case OP_MERGE_ON:
	case OP_MERGE_OFF:
		memory_set_set_merge(set, op->kind == OP_MERGE_ON);
		return MAPPING_OK;
	case OP_KINDS:
		break;
	}
	return MAPPING_ERR_INVALID_PARAM;
}

/* ---- random sequences ----------------------------------------------- */
static void gen_seq(struct seq *s, struct rng *g)
{
	static const unsigned prefills[] = {0, 0, 0, 24, 60, 160};
	static const uint64_t masks[] = {1, 2, 3, ~(uint64_t)0};
	static const uint64_t limits[] = {0, 0, 3, 8, 20, 60};
	const uint64_t gr = 0x1000;
	unsigned pages, nops;
	uint64_t base;

	memset(s, 0, sizeof(*s));
	s->merge = rng_chance(g, 50);
	s->lockless = rng_chance(g, 30);
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
	for (unsigned i = 0; i < s->prefill; i++) {
		struct op *op = &s->ops[s->n++];

		*op = (struct op){.kind = OP_MAP, .start = base + 2 * i * gr,
				  .size = gr};
		op->flags = rng_below(g, 3);
		op->tok = rng_chance(g, 50);
		op->nomove = op->tok && rng_chance(g, 50);
	}
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
		op->nomove = op->tok && rng_chance(g, 50);
		op->kind = w < 15   ? OP_MAP
			   : w < 30 ? OP_MAP_REPLACE
			   : w < 40 ? OP_UNMAP
			   : w < 50 ? OP_PROTECT
			   : w < 55 ? OP_UNMAP_STRICT
			   : w < 60 ? OP_PROTECT_STRICT
			   : w < 72 ? OP_REMAP
			   : w < 85 ? OP_REMAP_FIXED
			   : w < 87 ? OP_DUP
			   : w < 90 ? OP_LIMIT
			   : w < 95 ? OP_FAULT
			   : w < 96 ? OP_CLEAR
			   : w < 98 ? OP_MERGE_ON
				    : OP_MERGE_OFF;
		op->aim = op->kind >= OP_UNMAP_STRICT &&
			  op->kind != OP_DUP && op->kind != OP_LIMIT &&
			  rng_chance(g, 80);
		if (op->kind == OP_REMAP || op->kind == OP_REMAP_FIXED) {
			/* Small old ranges, so that many lie in one area. */
			if (len > 2 && rng_chance(g, 60))
				op->size = (1 + rng_below(g, 2)) * gr;
			len = 1 + rng_below(g, 8);
			p = rng_below(g, pages - len + 1);
			op->new_size = len * gr;
			op->new_start = base + p * gr;
		} else if (op->kind == OP_LIMIT) {
			op->size = limits[rng_below(g, 6)];
		} else if (op->kind == OP_FAULT) {
			op->mask = rng_next(g); /* the offset in the range */
			if (!op->aim)
				op->start += op->mask % gr;
			op->flags = rng_below(g, 16) |
				    (rng_chance(g, 30) ? MAPPING_ACCESS_USER : 0);
		}
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
		 "seed %llu op %u %s %#llx+%#llx flags %#llx mask %#llx "
		 "new %#llx+%#llx%s merge-init %d fault hook %ld/%ld alloc %ld",
		 seed, k, op_name[op->kind], (unsigned long long)op->start,
		 (unsigned long long)op->size, (unsigned long long)op->flags,
		 (unsigned long long)op->mask,
		 (unsigned long long)op->new_start,
		 (unsigned long long)op->new_size, op->tok ? " tok" : "",
		 s->merge, f->hook[0], f->hook[1], f->alloc);
}

/* Flags of the area of snapshot s holding addr. */
static uint64_t flags_at(const struct snap *s, uint64_t addr)
{
	for (size_t i = 0; i < s->n; i++)
		if (addr >= s->a[i].start &&
		    addr - s->a[i].start <= s->a[i].size - 1)
			return s->a[i].flags;
	REL_FAIL("no area at %#llx", (unsigned long long)addr);
}

/*
 * The pages after a hook of remap_fixed failed (memory_set.h): the steps
 * before it stay done, the failing one is not. A failing unmap in the
 * target leaves as memory_set_unmap(); else the target is free, the tail
 * (when the new size is smaller) gone unless its unmap failed, and the
 * area at the old place, but after a failing map of the rest of a larger
 * new range: moved and not grown.
 */
static void want_remap_fixed(struct snap *want, const struct op *op,
			     const struct hook_call *hc)
{
	uint64_t moved = op->size < op->new_size ? op->size : op->new_size;
	uint64_t flags = flags_at(want, op->start);

	if (hc->kind == HOOK_UNMAP && hc->start >= op->new_start &&
	    hc->start - op->new_start < op->new_size) {
		snap_remove(want, op->new_start, hc->start - op->new_start);
		return;
	}
	snap_remove(want, op->new_start, op->new_size);
	if (hc->kind == HOOK_MAP && op->new_size > op->size &&
	    hc->start == op->new_start + moved) {
		snap_remove(want, op->start, op->size);
		snap_set_pages(want, op->new_start, moved, flags);
		return;
	}
	if (op->new_size < op->size &&
	    !(hc->kind == HOOK_UNMAP && hc->start == op->start + moved))
		snap_remove(want, op->start + moved, op->size - moved);
	if (inj.nfailed < 2)
		return;
	/* The default move's undo failed too: the moved pages are at both
	 * places (the new range's unmap failed) or at neither (the old
	 * range's map failed). */
	hc = &inj.failed[1];
	st.move_undo_faults++;
	if (hc->kind == HOOK_UNMAP && hc->start == op->new_start)
		snap_set_pages(want, op->new_start, moved, flags);
	else if (hc->kind == HOOK_MAP && hc->start == op->start)
		snap_remove(want, op->start, moved);
	else
		REL_FAIL("remap_fixed's undo called another hook");
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
	st.by_op[op->kind]++;
	if (hc->kind == HOOK_SPLIT) {
		/* split() runs before any page-table hook: nothing changes. */
		REL_CHECK(snap_identical(before, after),
			  "a failed split changed the set");
		st.by_hook[HOOK_SPLIT]++;
		return;
	}
	st.by_hook[hc->kind]++;
	switch (op->kind) {
	case OP_PROTECT:
	case OP_PROTECT_STRICT:
	case OP_REMAP_FIXED: /* the default move unmaps its map again */
		break;
	case OP_DUP:
		/* Each area before the failing one is unmapped again. */
		REL_CHECK(calls_in_op == 2 * f->hook[0] - 1,
			  "dup: %ld hook calls, failing at %ld", calls_in_op,
			  f->hook[0]);
		break;
	default:
		REL_CHECK(calls_in_op == f->hook[0],
			  "%ld hook calls after a failure",
			  calls_in_op - f->hook[0]);
	}

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
	case OP_UNMAP_STRICT:
		REL_CHECK(hc->kind == HOOK_UNMAP, "unmap called another hook");
		snap_remove(&want, op->start, hc->start - op->start);
		break;
	case OP_CLEAR:
		REL_CHECK(hc->kind == HOOK_UNMAP, "clear called another hook");
		snap_remove(&want, 0, hc->start);
		break;
	case OP_REMAP:
		/* One unmap (shrink) or one map (grow): nothing changed. */
		REL_CHECK(hc->kind == HOOK_UNMAP || hc->kind == HOOK_MAP,
			  "remap called another hook");
		break;
	case OP_DUP:
		/* The failed copy is gone (run_dup checked it against its
		 * page table); the original is untouched, data included. */
		REL_CHECK(hc->kind == HOOK_DUP || hc->kind == HOOK_MAP,
			  "dup called another hook");
		if (inj.nfailed == 2) {
			REL_CHECK(inj.failed[1].kind == HOOK_UNMAP,
				  "dup's undo called another hook");
			st.dup_undo_faults++;
		}
		REL_CHECK(snap_identical(before, after),
			  "a failed dup changed the original");
		break;
	case OP_FAULT:
		REL_CHECK(hc->kind == HOOK_FAULT, "fault called another hook");
		REL_CHECK(snap_identical(before, after), "a fault changed the set");
		break;
	case OP_REMAP_FIXED:
	case OP_PROTECT:
	case OP_PROTECT_STRICT:
		if (op->kind == OP_REMAP_FIXED) {
			want_remap_fixed(&want, op, hc);
		} else {
			REL_CHECK(hc->kind == HOOK_PROTECT,
				  "protect called another hook");
			/* Rolled back page for page, except a piece whose
			 * roll-back failed: it keeps the new flags. */
			if (inj.nfailed == 2) {
				const struct hook_call *rb = &inj.failed[1];

				st.rollback_faults++;
				REL_CHECK(rb->kind == HOOK_PROTECT,
					  "roll-back called another hook");
				snap_set_pages(&want, rb->start, rb->size,
					       rb->old_flags);
			}
		}
		if (!same_pages(&want, after)) {
			snap_print(stderr, "before", before);
			snap_print(stderr, "expected pages", &want);
			snap_print(stderr, "after", after);
			REL_FAIL("%s did not leave the pages as documented",
				 op_name[op->kind]);
		}
		snap_free(&want);
		return;
	case OP_MERGE_ON:
	case OP_MERGE_OFF:
	case OP_LIMIT:
	case OP_KINDS:
		REL_FAIL("%s called a hook", op_name[op->kind]);
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
	run_init(&r, s->merge, s->lockless);
	for (unsigned i = 0; i < k; i++)
		run_op(&r, &s->ops[i]);
	verify_set(cur_set(&r), cur_sh(&r));
	snap_take(&before, cur_set(&r));
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

	verify_set(cur_set(&r), cur_sh(&r));
	snap_take(&after, cur_set(&r));
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
				  s->ops[k].kind != OP_MERGE_OFF &&
				  s->ops[k].kind != OP_LIMIT &&
				  s->ops[k].kind != OP_FAULT,
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
		    s->ops[i].kind == OP_MERGE_OFF ||
		    s->ops[i].kind == OP_LIMIT)
			REL_CHECK(inj.pt_calls == pt,
				  "set_merge called a page-table hook");
		verify_set(cur_set(&r), cur_sh(&r));
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
		uint64_t start, size, flags, new_size, new_start;
	} ops[] = {
		{OP_MAP, 0, TOP_PAGE_BASE(2, 0x1000), 1, 0, 0},
		{OP_PROTECT, 0x10000, 0x4000, 2, 0, 0},
		{OP_PROTECT, 0x10000, 0x4000, 1, 0, 0},
		{OP_UNMAP, 0x20000, 0x1000, 0, 0, 0},
		{OP_MAP, 0x20000, 0x1000, 1, 0, 0},
		{OP_MAP_REPLACE, 0x8000, 0x8000, 3, 0, 0},
		{OP_MAP_REPLACE, 0x8000, 0x8000, 1, 0, 0},
		/* Moves inside the whole-space area: the target cuts it. */
		{OP_DUP, 0, 0, 0, 0, 0},
		{OP_FAULT, 0x123456, 0, 1, 0, 0},
		{OP_REMAP_FIXED, 0x10000, 0x4000, 0, 0x4000, 0x100000},
		{OP_REMAP_FIXED, 0x200000, 0x2000, 0, 0x4000, 0x1000},
		{OP_REMAP, 0x100000, 0x4000, 0, 0x6000, 0},
		{OP_REMAP_FIXED, 0x100000, 0x6000, 0, 0x6000, 0x10000},
		{OP_PROTECT, 0, TOP_PAGE_BASE(1, 0x1000), 2, 0, 0},
		{OP_MERGE_OFF, 0, 0, 0, 0, 0},
		{OP_PROTECT, 0, TOP_PAGE_BASE(2, 0x1000), 1, 0, 0},
		{OP_MERGE_ON, 0, 0, 0, 0, 0},
		{OP_UNMAP, 0x1000, TOP_PAGE_BASE(2, 0x1000), 0, 0, 0},
		{OP_CLEAR, 0, 0, 0, 0, 0},
	};

	memset(s, 0, sizeof(*s));
	s->merge = true;
	s->prefill = 2;
	s->ops[s->n++] = (struct op){.kind = OP_MAP, .start = top,
				     .size = 0x1000, .flags = 1,
				     .mask = ~0ull, .tok = tok};
	s->ops[s->n++] = (struct op){.kind = OP_MAP,
				     .start = TOP_PAGE_BASE(2, 0x1000),
				     .size = 0x1000, .flags = 1,
				     .mask = ~0ull, .tok = tok};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		s->ops[s->n++] = (struct op){
			.kind = ops[i].kind, .start = ops[i].start,
			.size = ops[i].size, .flags = ops[i].flags,
			.mask = ~0ull, .new_size = ops[i].new_size,
			.new_start = ops[i].new_start, .tok = tok};
}

static bool is_protect(const struct op *op)
{
	return op->kind == OP_PROTECT || op->kind == OP_PROTECT_STRICT;
}

/*
 * Which later hook call m of op (the first failing at call n, the op then
 * making `made` calls) fails too: each of protect's roll-back and of
 * remap_fixed's (at most one call); in dup's undo, which makes one call per
 * area before the failing one, the first, the last and one in between.
 */
static bool second_fault(const struct op *op, long n, long m, long made)
{
	if (is_protect(op) || op->kind == OP_REMAP_FIXED)
		return true;
	return op->kind == OP_DUP &&
	       (m == n + 1 || m == made || m == (n + 1 + made) / 2);
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
	run_init(&r, s->merge, s->lockless);
	for (unsigned i = 0; i < s->n; i++) {
		long c = inj.calls, a = r.fa.calls;

		aim_op(&r, &s->ops[i]);
		ref->result[i] = run_op(&r, &s->ops[i]);
		ref->calls[i] = inj.calls - c;
		ref->allocs[i] = r.fa.calls - a;
		snap_take(&ref->after[i], cur_set(&r));
		if (seed < 2 && i == 2)
			REL_CHECK(ref->after[i].n == 1 &&
					  ref->after[i].a[0].start == 0 &&
					  ref->after[i].a[0].size == 0,
				  "the whole space did not become one area");
		if (i >= s->prefill)
			verify_set(cur_set(&r), cur_sh(&r));
	}
	verify_set(cur_set(&r), cur_sh(&r));
	run_end(&r);

	for (unsigned k = s->prefill; k < s->n; k++) {
		for (long n = 1; n <= ref->calls[k]; n++) {
			struct fault f = {{n, 0}, 0, codes[(k + n) % 4]};
			long made = run_fault(s, k, &f, ref, seed);

			/* Fail a later call too: the roll-back or undo. */
			for (long m = n + 1; m <= made; m++) {
				if (!second_fault(&s->ops[k], n, m, made))
					continue;
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
	       "(map %ld unmap %ld protect %ld split %ld dup %ld move %ld "
	       "fault %ld), %ld roll-back faults, undo faults: %ld in moves, "
	       "%ld in dups, %ld allocation faults (+%ld absorbed)\n",
	       nseq, st.runs, st.hook_faults, st.by_hook[HOOK_MAP],
	       st.by_hook[HOOK_UNMAP], st.by_hook[HOOK_PROTECT],
	       st.by_hook[HOOK_SPLIT], st.by_hook[HOOK_DUP],
	       st.by_hook[HOOK_MOVE], st.by_hook[HOOK_FAULT],
	       st.rollback_faults, st.move_undo_faults, st.dup_undo_faults,
	       st.alloc_faults, st.alloc_ok);
	printf("hook faults by operation:");
	for (int i = 0; i < OP_KINDS; i++)
		if (st.by_op[i])
			printf(" %s %ld", op_name[i], st.by_op[i]);
	printf("\n");
	/* Each kind of fault must have been exercised, or the test proves
	 * nothing. */
	if (nseq >= 20) {
		for (int i = 0; i < HOOK_KINDS; i++)
			REL_CHECK(st.by_hook[i], "hook kind %d never failed", i);
		REL_CHECK(st.by_op[OP_UNMAP_STRICT] &&
				  st.by_op[OP_PROTECT_STRICT] &&
				  st.by_op[OP_REMAP] &&
				  st.by_op[OP_REMAP_FIXED] && st.by_op[OP_DUP],
			  "a new operation never saw a failing hook");
		REL_CHECK(st.rollback_faults && st.move_undo_faults &&
				  st.dup_undo_faults && st.alloc_faults,
			  "a kind of fault was never injected");
	}
	return 0;
}
