/*
 * The fuzz target: bytes decode into operations on a memory set and on the
 * naive model (tests/model), and every result, every query and the whole
 * area list must agree after each one. The set's backend keeps a shadow
 * page table (tests/reliability/rel_support.c) that must agree too, and the
 * invariant checker runs after every operation.
 *
 * Encoding (an input is a list of operations; missing bytes read as 0):
 *   byte 0: bit 0 token backend (split/release/can_merge/dup/move/fault)
 *           instead of the plain one, bit 1 merge at init.
 *   then each operation: one byte OP, low 5 bits the kind:
 *     0-1 map, 2-3 map replace, 4-5 unmap, 6-7 protect, 8 find,
 *     9 overlaps, 10 free, 11 freetop, 12 granule, 13 merge on/off or
 *     clear, 14 iterate from an address, 15 a call with a bad argument,
 *     16 remap in place, 17 remap to a fixed place, 18-19 the same aimed
 *     at an area (ADDR, then a byte: bit 0 start one unit in, bit 1 end
 *     one unit short), 20 limit (a byte, mod 16), 21 access, 22 gaps,
 *     23 unmap strict, 24 protect strict (a byte: bit 0 through the
 *     callback), 25 protect_flags, 26 dup, 27 fault, 28-29 map,
 *     30 unmap, 31 protect.
 *   Operands: remap ADDR SIZE NEWSIZE, remap fixed ADDR SIZE NEWADDR
 *   NEWSIZE (aimed: ADDR BYTE instead of ADDR SIZE), access ADDR BYTE
 *   (a signed offset) SIZE MASK, gaps ADDR ADDR BYTE (bit 0: the last
 *   one less 1), unmap strict ADDR SIZE, protect strict ADDR SIZE BYTE
 *   FLAGS MASK, protect_flags ADDR SIZE FLAGS MASK, fault ADDR BYTE (bits
 *   0-3 access, 4 a caller's bit, 5 bit 7) BYTE (offset).
 *   Inputs written before kinds 16-31 existed have OP < 16 and keep their
 *   meaning.
 *   ADDR byte A: A>>6 = 0: (A&63) units from 0; 1: A&63+1 units below
 *     2^64; 2: (A&63) units above 2^32; 3: 8 raw bytes follow.
 *   SIZE byte S: S>>6 = 0: (S&63) units; 1: up to 2^64 from the start,
 *     S&3 = 0 exactly, 1 one unit past (invalid), 2 one unit short,
 *     3 one byte short; 2: (S&63) units plus one byte; 3: 8 raw bytes.
 *   FLAGS byte F: F&0x80: 8 raw bytes, else F&7.
 *   A unit is the current granule (capped at 2^32).
 * See fuzz/make_corpus.py for the seed inputs, written in this encoding.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_ops.h"
#include "naive.h"
#include "rel_support.h"

#define TOP_MINUS(x) ((uint64_t)0 - (uint64_t)(x))

/* MS_FUZZ_TRACE=1: print each operation as a trace line (trace-format.md)
 * on stderr, so a failing input becomes a trace for tools/reftrace.py. */
static int tracing = -1;

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void tr(const char *fmt, ...)
{
	va_list ap;

	if (tracing < 0)
		tracing = getenv("MS_FUZZ_TRACE") != NULL;
	if (!tracing)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

#define X(v) ((unsigned long long)(v))

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static uint64_t u64(struct in *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | u8(in);
	return v;
}

/* Two sets and page tables, as dup goes on with the copy. */
struct fz {
	struct memory_set sets[2];
	struct shadow shs[2];
	struct memory_set *set; /* the current one */
	struct shadow *sh;
	struct naive m;
	struct fail_alloc fa;
	bool tok;
};

static uint64_t unit(const struct fz *f)
{
	uint64_t g = memory_set_granule(f->set);

	return g > (1ull << 32) ? 1ull << 32 : g;
}

static uint64_t d_addr(struct in *in, const struct fz *f)
{
	uint8_t a = u8(in);
	uint64_t k = a & 63;

	switch (a >> 6) {
	case 0:
		return k * unit(f);
	case 1:
		return TOP_MINUS((k + 1) * unit(f));
	case 2:
		return (1ull << 32) + k * unit(f);
	default:
		return u64(in);
	}
}

static uint64_t d_size(struct in *in, const struct fz *f, uint64_t start)
{
	uint8_t s = u8(in);
	uint64_t k = s & 63, to_top = TOP_MINUS(start);

	switch (s >> 6) {
	case 0:
		return k * unit(f);
	case 1:
		switch (s & 3) {
		case 0:
			return to_top;
		case 1:
			return to_top + unit(f);
		case 2:
			return to_top - unit(f);
		default:
			return to_top - 1;
		}
	case 2:
		return k * unit(f) + 1;
	default:
		return u64(in);
	}
}

static uint64_t d_flags(struct in *in)
{
	uint8_t b = u8(in);

	return (b & 0x80) ? u64(in) : b & 7;
}

static uint64_t d_mask(struct in *in)
{
	static const uint64_t masks[] = {~0ull, ~0ull, ~0ull, ~0ull,
					 1, 2, 3, 4, 5, 6, 7};
	uint8_t b = u8(in);

	return b < 11 ? masks[b] : b == 255 ? u64(in) : masks[b % 4];
}

struct prot_ctx {
	uint64_t flags, mask;
};

static bool prot_update(void *ctx, uint64_t old_flags, uint64_t *new_flags)
{
	const struct prot_ctx *p = ctx;

	if ((old_flags & p->mask) == (p->flags & p->mask))
		return false;
	*new_flags = (p->flags & p->mask) | (old_flags & ~p->mask);
	return true;
}

/* The first area of the model that ends at or after addr, or NULL. */
static const struct naive_area *model_from(const struct fz *f, uint64_t addr)
{
	size_t n = naive_len(&f->m);

	for (size_t i = 0; i < n; i++) {
		const struct naive_area *b = naive_area(&f->m, i);

		if (b->start + (b->size - 1) >= addr)
			return b;
	}
	return NULL;
}

static const char *err_name(enum mapping_error e)
{
	return mapping_strerror(e);
}

#define SAME_ERR(lib, model, what)                                           \
	REL_CHECK((lib) == (model), "%s: library %s, model %s", what,         \
		  err_name(lib), err_name(model))

/* The set, the model and the shadow page table hold the same areas. */
static void compare_all(struct fz *f)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	size_t i = 0, n = naive_len(&f->m);

	verify_set(f->set, f->sh);
	REL_CHECK(memory_set_len(f->set) == n, "len: library %llu, model %zu",
		  (unsigned long long)memory_set_len(f->set), n);
	memory_set_foreach(a, &it, f->set) {
		const struct naive_area *b = naive_area(&f->m, i++);

		REL_CHECK(a->start == b->start && a->size == b->size &&
				  a->flags == b->flags,
			  "area %zu: library %#llx+%#llx/%#llx, model "
			  "%#llx+%#llx/%#llx",
			  i - 1, (unsigned long long)a->start,
			  (unsigned long long)a->size,
			  (unsigned long long)a->flags,
			  (unsigned long long)b->start,
			  (unsigned long long)b->size,
			  (unsigned long long)b->flags);
	}
	REL_CHECK(memory_set_granule(f->set) == f->m.granule, "granule");
	REL_CHECK(memory_set_merge_enabled(f->set) == f->m.merge, "merge");
	REL_CHECK(memory_set_max_areas(f->set) == f->m.max_areas, "limit");
}

static void op_map(struct in *in, struct fz *f, bool replace)
{
	uint64_t start = d_addr(in, f), size = d_size(in, f, start);
	uint64_t flags = d_flags(in);
	struct mapping_backend b = {&plain_ops, NULL};
	enum mapping_error e, em;

	tr("map %#llx %#llx %#llx%s\n", X(start), X(size), X(flags),
	   replace ? " replace" : "");
	if (f->tok)
		b = (struct mapping_backend){&token_ops, token_new()};
	e = memory_set_map(f->set, start, size, flags, &b, f->sh, replace);
	if (e != MAPPING_OK && f->tok)
		token_drop(b.data);
	em = naive_map(&f->m, start, size, flags, replace);
	SAME_ERR(e, em, "map");
}

static void op_protect(struct in *in, struct fz *f)
{
	uint64_t start = d_addr(in, f), size = d_size(in, f, start);
	struct prot_ctx pc;
	enum mapping_error e, em;

	pc.flags = d_flags(in);
	pc.mask = d_mask(in);
	tr("protect %#llx %#llx %#llx %#llx\n", X(start), X(size), X(pc.flags),
	   X(pc.mask));
	e = memory_set_protect(f->set, start, size, prot_update, &pc, f->sh);
	em = naive_protect(&f->m, start, size, pc.flags, pc.mask);
	SAME_ERR(e, em, "protect");
}

static void op_find(struct in *in, struct fz *f)
{
	uint64_t addr = d_addr(in, f);
	const struct memory_area *a;
	const struct naive_area *b;

	if (u8(in) & 1) /* the last byte of a unit */
		addr += unit(f) - 1;
	tr("find %#llx\n", X(addr));
	a = memory_set_find(f->set, addr);
	b = naive_find(&f->m, addr);

	REL_CHECK((a == NULL) == (b == NULL), "find %#llx: %s", (unsigned long long)addr,
		  a ? "only the library finds it" : "only the model finds it");
	if (a)
		REL_CHECK(a->start == b->start && a->size == b->size,
			  "find %#llx: different areas", (unsigned long long)addr);
}

static void op_free(struct in *in, struct fz *f, bool top)
{
	/* One statement each: the order the bytes are read in is fixed. */
	uint64_t hint = u8(in) & 1 ? 0 : d_addr(in, f);
	uint64_t size = d_size(in, f, 0);
	uint8_t al = u8(in);
	uint64_t align = al < 64 ? 1ull << (al % 40) : al == 64 ? 0 : al;
	uint64_t first = u8(in) & 1 ? 0 : d_addr(in, f);
	uint64_t last = UINT64_MAX;
	uint64_t x = 0x5a5a, y = 0xa5a5;
	enum mapping_error e, em;

	if (u8(in) & 1) {
		last = d_addr(in, f);
		if (u8(in) & 1)
			last--; /* the byte before a unit */
	}
	if ((u8(in) & 1) && size == 0)
		size = unit(f);
	tr("%s %#llx %#llx %#llx %#llx %#llx\n", top ? "freetop" : "free",
	   X(hint), X(size), X(align), X(first), X(last));
	e = top ? memory_set_find_free_area_top(f->set, hint, size, align,
						first, last, &x)
		: memory_set_find_free_area(f->set, hint, size, align, first,
					    last, &x);
	em = naive_free_area(&f->m, hint, size, align, first, last, top, &y);
	SAME_ERR(e, em, top ? "freetop" : "free");
	if (e == MAPPING_OK)
		REL_CHECK(x == y,
			  "%s(%#llx, %#llx, %#llx, %#llx, %#llx): library "
			  "%#llx, model %#llx",
			  top ? "freetop" : "free", (unsigned long long)hint,
			  (unsigned long long)size, (unsigned long long)align,
			  (unsigned long long)first, (unsigned long long)last,
			  (unsigned long long)x, (unsigned long long)y);
	else
		REL_CHECK(x == 0x5a5a, "free wrote its result on an error");
}

/* iter_init at addr: next is the first area ending after addr, prev the
 * one before it; walk a few steps each way. */
static void op_iter(struct in *in, struct fz *f)
{
	uint64_t addr = d_addr(in, f);
	struct memory_set_iter it;
	size_t n = naive_len(&f->m), i = 0, k;
	const struct memory_area *a;

	while (i < n) {
		const struct naive_area *b = naive_area(&f->m, i);

		if (b->start + (b->size - 1) >= addr)
			break;
		i++;
	}
	tr("# iterate from %#llx\n", X(addr));
	memory_set_iter_init(&it, f->set, addr);
	for (k = i; k < n && k < i + 4; k++) {
		a = memory_set_iter_next(&it);
		REL_CHECK(a && a->start == naive_area(&f->m, k)->start,
			  "iter_next from %#llx, step %zu",
			  (unsigned long long)addr, k - i);
	}
	if (k == n)
		REL_CHECK(memory_set_iter_next(&it) == NULL,
			  "iter_next past the last area");
	memory_set_iter_init(&it, f->set, addr);
	for (k = i; k > 0 && i - k < 4; k--) {
		a = memory_set_iter_prev(&it);
		REL_CHECK(a && a->start == naive_area(&f->m, k - 1)->start,
			  "iter_prev from %#llx, step %zu",
			  (unsigned long long)addr, i - k);
	}
	if (k == 0)
		REL_CHECK(memory_set_iter_prev(&it) == NULL,
			  "iter_prev before the first area");
}

static enum mapping_error nop_map(void *d, uint64_t s, uint64_t n, uint64_t fl,
				  void *pt)
{
	(void)d, (void)s, (void)n, (void)fl, (void)pt;
	return MAPPING_OK;
}

/*
 * Remap, in place or to new_start. Aimed: the old range is an area of the
 * model (the one at or after ADDR), maybe less a unit at either end, so
 * that it lies in one area far more often than random ranges do.
 */
static void op_remap(struct in *in, struct fz *f, bool fixed, bool aimed)
{
	uint64_t start = d_addr(in, f), size;
	uint64_t new_size, new_start = 0, u = unit(f);
	enum mapping_error e, em;

	if (aimed) {
		const struct naive_area *b = model_from(f, start);
		uint8_t k = u8(in);

		start = b ? b->start : start;
		size = b ? b->size : u;
		if ((k & 1) && size > u) {
			start += u;
			size -= u;
		}
		if ((k & 2) && size > u)
			size -= u;
	} else {
		size = d_size(in, f, start);
	}
	if (fixed) {
		new_start = d_addr(in, f);
		new_size = d_size(in, f, new_start);
		tr("remap %#llx %#llx %#llx %#llx\n", X(start), X(size),
		   X(new_size), X(new_start));
		e = memory_set_remap_fixed(f->set, start, size, new_size,
					   new_start, f->sh);
		em = naive_remap_fixed(&f->m, start, size, new_size, new_start);
	} else {
		new_size = d_size(in, f, start);
		tr("remap %#llx %#llx %#llx\n", X(start), X(size), X(new_size));
		e = memory_set_remap(f->set, start, size, new_size, f->sh);
		em = naive_remap(&f->m, start, size, new_size);
	}
	SAME_ERR(e, em, "remap");
}

static void op_access(struct in *in, struct fz *f)
{
	uint64_t start = d_addr(in, f), size, mask;
	uint8_t off = u8(in);
	enum mapping_error e, em;

	start += off & 0x80 ? 0 - (uint64_t)(off & 0x7f) : off;
	size = d_size(in, f, start);
	mask = d_mask(in);
	tr("access %#llx %#llx %#llx\n", X(start), X(size), X(mask));
	e = memory_set_can_access(f->set, start, size, mask);
	em = naive_can_access(&f->m, start, size, mask);
	SAME_ERR(e, em, "access");
}

/* The gap iterator both ways against the model's gaps. */
static void op_gaps(struct in *in, struct fz *f)
{
	uint64_t first = d_addr(in, f), last = d_addr(in, f);
	struct memory_set_gap_iter gi;
	uint64_t *st, *sz, s, z;
	size_t n, k;

	if (u8(in) & 1)
		last--; /* the byte before a unit */
	tr("gaps %#llx %#llx\n", X(first), X(last));
	n = naive_gaps(&f->m, first, last, NULL, NULL, 0);
	st = malloc((n + 1) * sizeof(*st));
	sz = malloc((n + 1) * sizeof(*sz));
	REL_CHECK(st && sz, "out of memory");
	REL_CHECK(naive_gaps(&f->m, first, last, st, sz, n) == n, "gaps");
	memory_set_gap_iter_init(&gi, f->set, first, last);
	for (k = 0; memory_set_gap_next(&gi, &s, &z); k++)
		REL_CHECK(k < n && s == st[k] && z == sz[k],
			  "gap %zu of [%#llx, %#llx]: library %#llx+%#llx", k,
			  X(first), X(last), X(s), X(z));
	REL_CHECK(k == n, "gaps: library %zu, model %zu", k, n);
	memory_set_gap_iter_init_end(&gi, f->set, first, last);
	for (k = n; memory_set_gap_prev(&gi, &s, &z);) {
		REL_CHECK(k > 0, "gap_prev gives more gaps than %zu", n);
		k--;
		REL_CHECK(s == st[k] && z == sz[k],
			  "gap_prev %zu of [%#llx, %#llx]: library %#llx+%#llx",
			  k, X(first), X(last), X(s), X(z));
	}
	REL_CHECK(k == 0, "gap_prev gives too few gaps");
	free(st);
	free(sz);
}

static void op_protect_strict(struct in *in, struct fz *f, bool strict)
{
	uint64_t start = d_addr(in, f), size = d_size(in, f, start);
	struct prot_ctx pc;
	bool fn = strict && (u8(in) & 1);
	enum mapping_error e, em;

	pc.flags = d_flags(in);
	pc.mask = d_mask(in);
	tr("protect %#llx %#llx %#llx %#llx%s\n", X(start), X(size),
	   X(pc.flags), X(pc.mask), strict ? " strict" : "");
	if (fn)
		e = memory_set_protect_strict(f->set, start, size, prot_update,
					      &pc, f->sh);
	else if (strict)
		e = memory_set_protect_flags_strict(f->set, start, size,
						    pc.flags, pc.mask, f->sh);
	else
		e = memory_set_protect_flags(f->set, start, size, pc.flags,
					     pc.mask, f->sh);
	em = strict ? naive_protect_strict(&f->m, start, size, pc.flags,
					   pc.mask)
		    : naive_protect(&f->m, start, size, pc.flags, pc.mask);
	SAME_ERR(e, em, strict ? "protect strict" : "protect_flags");
}

static void set_init(struct fz *f, int i, bool merge)
{
	struct memory_set_options o;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.merge = merge;
	o.allocator = &fail_allocator;
	o.allocator_ctx = &f->fa;
	REL_CHECK(memory_set_init(&f->sets[i], &o) == MAPPING_OK, "init");
}

/* Fork: the copy goes on, the original is destroyed; the model is the
 * same for both. */
static void op_dup(struct fz *f)
{
	int c = f->set == &f->sets[0];

	tr("dup\n");
	set_init(f, c, false);
	SAME_ERR(memory_set_dup(&f->sets[c], f->set, f->sh, &f->shs[c]),
		 MAPPING_OK, "dup");
	memory_set_destroy(f->set);
	shadow_free(f->sh);
	f->set = &f->sets[c];
	f->sh = &f->shs[c];
}

static void op_fault(struct in *in, struct fz *f)
{
	uint64_t addr = d_addr(in, f);
	uint8_t b = u8(in);
	uint64_t access = (b & 15) | (b & 16 ? MAPPING_ACCESS_USER : 0) |
			  (b & 32 ? 0x80 : 0);
	const struct naive_area *m;
	const struct memory_area *a = NULL;
	enum mapping_error e, em;

	addr += u8(in); /* anywhere in the page */
	tr("# fault %#llx %#llx\n", X(addr), X(access));
	m = naive_find(&f->m, addr);
	e = memory_set_handle_fault(f->set, addr, access, f->sh, &a);
	em = !m ? MAPPING_ERR_BAD_STATE
		: (m->flags & access & (MAPPING_ACCESS_USER - 1)) ==
				  (access & (MAPPING_ACCESS_USER - 1))
			? MAPPING_OK
			: MAPPING_ERR_ACCESS_DENIED;
	SAME_ERR(e, em, "fault");
	REL_CHECK(a == memory_set_find(f->set, addr), "fault: another area");
}

/* Calls with a bad argument: InvalidParam and nothing changes. */
static void op_bad(struct in *in, struct fz *f)
{
	static const struct mapping_backend_ops v0 = {
		.version = 0, .map = nop_map};
	static const struct mapping_backend_ops no_hooks = {
		.version = MAPPING_BACKEND_OPS_VERSION, .map = nop_map};
	uint8_t k = u8(in) % 4;
	uint64_t start = d_addr(in, f), size = d_size(in, f, start);
	struct mapping_backend b = {k == 0 ? &v0 : &no_hooks, NULL};
	enum mapping_error e;

	if (size == 0)
		size = unit(f);
	tr("# bad argument %u at %#llx %#llx\n", k, X(start), X(size));
	if (k < 2)
		e = memory_set_map(f->set, start, size, 1, &b, f->sh,
				   u8(in) & 1);
	else if (k == 2)
		e = memory_set_map(f->set, start, size, 1, NULL, f->sh,
				   u8(in) & 1);
	else
		e = memory_set_protect(f->set, start, size, NULL, NULL,
				       f->sh);
	SAME_ERR(e, MAPPING_ERR_INVALID_PARAM, "bad argument");
}

static void run(struct in *in)
{
	struct fz f;
	uint8_t b = u8(in);

	memset(&f, 0, sizeof(f));
	inj_reset();
	f.tok = b & 1;
	f.set = &f.sets[0];
	f.sh = &f.shs[0];
	set_init(&f, 0, b & 2);
	naive_init(&f.m);
	naive_set_merge(&f.m, b & 2);
	tr("# %s backend\n%s", f.tok ? "token" : "plain",
	   b & 2 ? "merge on\n" : "");

	for (unsigned step = 0; in->n > 0; step++) {
		uint8_t op = u8(in);

		snprintf(rel_context, sizeof(rel_context), "step %u op %u",
			 step, op & 31);
		switch (op & 31) {
		case 0:
		case 1:
		case 28:
		case 29:
			op_map(in, &f, false);
			break;
		case 2:
		case 3:
			op_map(in, &f, true);
			break;
		case 4:
		case 5:
		case 30: {
			uint64_t s = d_addr(in, &f), n = d_size(in, &f, s);

			tr("unmap %#llx %#llx\n", X(s), X(n));
			SAME_ERR(memory_set_unmap(f.set, s, n, f.sh),
				 naive_unmap(&f.m, s, n), "unmap");
			break;
		}
		case 6:
		case 7:
		case 31:
			op_protect(in, &f);
			break;
		case 8:
			op_find(in, &f);
			break;
		case 9: {
			uint64_t s = d_addr(in, &f), n = d_size(in, &f, s);

			tr("overlaps %#llx %#llx\n", X(s), X(n));
			REL_CHECK(memory_set_overlaps(f.set, s, n) ==
					  naive_overlaps(&f.m, s, n),
				  "overlaps %#llx+%#llx",
				  (unsigned long long)s, (unsigned long long)n);
			break;
		}
		case 10:
		case 11:
			op_free(in, &f, (op & 15) == 11);
			break;
		case 12: {
			uint8_t g = u8(in);
			uint64_t gr = g < 200 ? 1ull << (g % 24)
				      : g < 250 ? (uint64_t)g * 3
						: u64(in);

			tr("%sgranule %#llx\n", gr & (gr - 1) || !gr ? "# bad " : "",
			   X(gr));
			SAME_ERR(memory_set_set_granule(f.set, gr),
				 naive_set_granule(&f.m, gr), "granule");
			break;
		}
		case 13: {
			uint8_t w = u8(in) % 3;

			tr("%s\n", w == 2 ? "clear" : w ? "merge on" : "merge off");
			if (w == 2) {
				SAME_ERR(memory_set_clear(f.set, f.sh),
					 MAPPING_OK, "clear");
				naive_clear(&f.m);
			} else {
				memory_set_set_merge(f.set, w);
				naive_set_merge(&f.m, w);
			}
			break;
		}
		case 14:
			op_iter(in, &f);
			break;
		case 15:
			op_bad(in, &f);
			break;
		case 16:
		case 17:
		case 18:
		case 19:
			op_remap(in, &f, op & 1, op & 2);
			break;
		case 20: {
			uint64_t n = u8(in) % 16;

			tr("limit %llu\n", X(n));
			memory_set_set_max_areas(f.set, n);
			naive_set_max_areas(&f.m, n);
			REL_CHECK(memory_set_max_areas(f.set) == n, "limit");
			break;
		}
		case 21:
			op_access(in, &f);
			break;
		case 22:
			op_gaps(in, &f);
			break;
		case 23: {
			uint64_t s = d_addr(in, &f), n = d_size(in, &f, s);

			tr("unmap %#llx %#llx strict\n", X(s), X(n));
			SAME_ERR(memory_set_unmap_strict(f.set, s, n, f.sh),
				 naive_unmap_strict(&f.m, s, n), "unmap strict");
			break;
		}
		case 24:
		case 25:
			op_protect_strict(in, &f, (op & 31) == 24);
			break;
		case 26:
			op_dup(&f);
			break;
		default:
			op_fault(in, &f);
			break;
		}
		compare_all(&f);
	}
	snprintf(rel_context, sizeof(rel_context), "end");
	REL_CHECK(memory_set_clear(f.set, f.sh) == MAPPING_OK, "clear");
	naive_clear(&f.m);
	compare_all(&f);
	memory_set_destroy(f.set);
	REL_CHECK(f.fa.live == 0, "%ld nodes leaked", f.fa.live);
	REL_CHECK(inj.tokens_live == 0, "%ld tokens leaked", inj.tokens_live);
	naive_free(&f.m);
	shadow_free(&f.shs[0]);
	shadow_free(&f.shs[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};

	run(&in);
	return 0;
}
