/* Support for the reliability tests; see rel_support.h. */
#include "rel_support.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

char rel_context[256];

void rel_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s:%d: [%s] ", file, line, rel_context);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	/* abort, not exit: libFuzzer and debuggers stop right here. */
	abort();
}

double rel_scale(void)
{
	const char *s = getenv("MS_REL_SCALE");
	double v = s ? atof(s) : 1.0;

	return v > 0 ? v : 1.0;
}

unsigned rel_scaled(unsigned n, unsigned min)
{
	double v = n * rel_scale();

	return v < min ? min : (unsigned)v;
}

bool rel_overcommit_never(void)
{
	FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
	int v = 0;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v == 2;
}

/* ---- random numbers ------------------------------------------------- */
uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

bool rng_chance(struct rng *r, unsigned percent)
{
	return rng_below(r, 100) < percent;
}

/* ---- failing allocator ---------------------------------------------- */
/* Each block is preceded by the number of the call that made it. */
#define FA_HEAD 16

static void *fa_alloc(void *ctx, size_t size)
{
	struct fail_alloc *fa = ctx;
	unsigned char *p;

	REL_CHECK(size == MEMORY_SET_NODE_SIZE, "alloc of %zu bytes", size);
	fa->calls++;
	if (fa->calls == fa->fail_at) {
		fa->failed++;
		return NULL;
	}
	p = malloc(FA_HEAD + size);
	REL_CHECK(p != NULL, "out of memory");
	memcpy(p, &fa->calls, sizeof(fa->calls));
	fa->live++;
	return p + FA_HEAD;
}

static void fa_free(void *ctx, void *ptr, size_t size)
{
	struct fail_alloc *fa = ctx;
	unsigned char *p = (unsigned char *)ptr - FA_HEAD;
	long made;

	REL_CHECK(ptr != NULL, "free(NULL)");
	REL_CHECK(size == MEMORY_SET_NODE_SIZE, "free of %zu bytes", size);
	REL_CHECK(fa->live > 0, "more frees than allocations");
	memcpy(&made, p, sizeof(made));
	REL_CHECK(made >= fa->keep_below,
		  "block of allocation %ld given back, while the blocks of "
		  "allocations before %ld must stay", made, fa->keep_below);
	fa->live--;
	free(p);
}

const struct memory_set_allocator fail_allocator = {
	.version = MEMORY_SET_ALLOCATOR_VERSION,
	.alloc = fa_alloc,
	.free = fa_free,
};

/* ---- shadow page table ---------------------------------------------- */
void shadow_free(struct shadow *sh)
{
	free(sh->r);
	memset(sh, 0, sizeof(*sh));
}

/* Bytes of [s, l] that the shadow maps; *mixed set if any has other flags
 * than want. */
static uint64_t sh_covered(const struct shadow *sh, uint64_t s, uint64_t l,
			   uint64_t want, bool *mixed)
{
	uint64_t n = 0;

	*mixed = false;
	for (size_t i = 0; i < sh->n; i++) {
		const struct srange *r = &sh->r[i];
		uint64_t a = r->start > s ? r->start : s;
		uint64_t b = r->last < l ? r->last : l;

		if (a > b)
			continue;
		n += b - a + 1;
		if (r->flags != want)
			*mixed = true;
	}
	return n;
}

static void sh_insert_at(struct shadow *sh, size_t i, struct srange r)
{
	if (sh->n == sh->cap) {
		sh->cap = sh->cap ? sh->cap * 2 : 16;
		sh->r = realloc(sh->r, sh->cap * sizeof(*sh->r));
		REL_CHECK(sh->r != NULL, "out of memory");
	}
	memmove(&sh->r[i + 1], &sh->r[i], (sh->n - i) * sizeof(*sh->r));
	sh->r[i] = r;
	sh->n++;
}

/* Take [s, l] out of every range (ranges across an end are cut). */
static void sh_carve(struct shadow *sh, uint64_t s, uint64_t l)
{
	for (size_t i = 0; i < sh->n;) {
		struct srange r = sh->r[i];

		if (r.last < s || r.start > l) {
			i++;
			continue;
		}
		memmove(&sh->r[i], &sh->r[i + 1], (sh->n - i - 1) * sizeof(r));
		sh->n--;
		if (r.start < s)
			sh_insert_at(sh, i++, (struct srange){r.start, s - 1, r.flags});
		if (r.last > l)
			sh_insert_at(sh, i++, (struct srange){l + 1, r.last, r.flags});
	}
}

static void sh_add(struct shadow *sh, uint64_t s, uint64_t l, uint64_t flags)
{
	size_t i = 0;

	while (i < sh->n && sh->r[i].start < s)
		i++;
	sh_insert_at(sh, i, (struct srange){s, l, flags});
}

/* ---- injector and hooks --------------------------------------------- */
struct injector inj;

/* Token states by id: 0 unused, 1 alive, 2 released. Ids start at 1 so a
 * token is never NULL. */
static unsigned char *tok_state;
static size_t tok_n, tok_cap;

void inj_reset(void)
{
	/* Token ids are reused only when none is alive, so a stale pointer
	 * from an earlier run cannot look alive. */
	if (inj.tokens_live == 0)
		tok_n = 0;
	long live = inj.tokens_live;
	memset(&inj, 0, sizeof(inj));
	inj.tokens_live = live;
}

void *token_new(void)
{
	if (tok_n + 2 > tok_cap) {
		tok_cap = tok_cap ? tok_cap * 2 : 256;
		tok_state = realloc(tok_state, tok_cap);
		REL_CHECK(tok_state != NULL, "out of memory");
	}
	if (tok_n == 0)
		tok_state[tok_n++] = 0; /* id 0 is never used */
	tok_state[tok_n] = 1;
	inj.tokens_live++;
	return (void *)(uintptr_t)tok_n++;
}

bool token_alive(const void *tok)
{
	uintptr_t id = (uintptr_t)tok;

	return id > 0 && id < tok_n && tok_state[id] == 1;
}

static void token_kill(const void *tok, const char *who)
{
	REL_CHECK(token_alive(tok), "%s of a token that is not alive (%p)", who,
		  tok);
	tok_state[(uintptr_t)tok] = 2;
	inj.tokens_live--;
}

void token_drop(void *tok)
{
	token_kill(tok, "drop");
}

/* Count the call; true if this one must fail. */
static bool inj_call(enum hook_kind kind, uint64_t start, uint64_t size,
		     uint64_t old_flags, uint64_t new_flags)
{
	inj.calls++;
	if (kind != HOOK_SPLIT)
		inj.pt_calls++;
	if (inj.calls != inj.fail_at[0] && inj.calls != inj.fail_at[1])
		return false;
	inj.failed[inj.nfailed++] =
		(struct hook_call){kind, start, size, old_flags, new_flags};
	return true;
}

/* The set must never call a hook with an empty range or one past 2^64.
 * Size 0 stands for 2^64: only the whole space [0, 2^64) has it. */
static void check_range(const char *hook, uint64_t start, uint64_t size)
{
	REL_CHECK(size != 0 || start == 0, "%s hook called with size 0 at %#llx",
		  hook, (unsigned long long)start);
	REL_CHECK(start + (size - 1) >= start,
		  "%s hook called past 2^64: %#llx + %#llx", hook,
		  (unsigned long long)start, (unsigned long long)size);
}

static enum mapping_error h_map(void *data, uint64_t start, uint64_t size,
				uint64_t flags, void *page_table)
{
	struct shadow *sh = page_table;
	uint64_t last = start + (size - 1);
	bool mixed;

	(void)data;
	check_range("map", start, size);
	REL_CHECK(sh_covered(sh, start, last, flags, &mixed) == 0,
		  "map hook over mapped pages at %#llx+%#llx",
		  (unsigned long long)start, (unsigned long long)size);
	if (inj_call(HOOK_MAP, start, size, 0, flags))
		return inj.fail_code;
	sh_add(sh, start, last, flags);
	return MAPPING_OK;
}

static enum mapping_error h_unmap(void *data, uint64_t start, uint64_t size,
				  void *page_table)
{
	struct shadow *sh = page_table;
	uint64_t last = start + (size - 1);
	bool mixed;

	(void)data;
	check_range("unmap", start, size);
	REL_CHECK(sh_covered(sh, start, last, 0, &mixed) == size,
		  "unmap hook over unmapped pages at %#llx+%#llx",
		  (unsigned long long)start, (unsigned long long)size);
	if (inj_call(HOOK_UNMAP, start, size, 0, 0))
		return inj.fail_code;
	sh_carve(sh, start, last);
	return MAPPING_OK;
}

static enum mapping_error h_protect(void *data, uint64_t start, uint64_t size,
				    uint64_t old_flags, uint64_t new_flags,
				    void *page_table)
{
	struct shadow *sh = page_table;
	uint64_t last = start + (size - 1);
	bool mixed;

	(void)data;
	check_range("protect", start, size);
	REL_CHECK(sh_covered(sh, start, last, old_flags, &mixed) == size,
		  "protect hook over unmapped pages at %#llx+%#llx",
		  (unsigned long long)start, (unsigned long long)size);
	REL_CHECK(!mixed, "protect hook: pages at %#llx+%#llx are not %#llx",
		  (unsigned long long)start, (unsigned long long)size,
		  (unsigned long long)old_flags);
	if (inj_call(HOOK_PROTECT, start, size, old_flags, new_flags))
		return inj.fail_code;
	sh_carve(sh, start, last);
	sh_add(sh, start, last, new_flags);
	return MAPPING_OK;
}

static enum mapping_error h_split(void *data, uint64_t start, uint64_t size,
				  uint64_t offset, void **right_data)
{
	REL_CHECK(token_alive(data), "split of a released token");
	/* offset < size, where size 0 is 2^64 */
	REL_CHECK(offset > 0 && offset - 1 < size - 1,
		  "split at offset %#llx of an area of %#llx bytes",
		  (unsigned long long)offset, (unsigned long long)size);
	if (inj_call(HOOK_SPLIT, start, size, offset, 0))
		return inj.fail_code;
	*right_data = token_new();
	return MAPPING_OK;
}

static void h_release(void *data, uint64_t start, uint64_t size)
{
	REL_CHECK(size != 0 || start == 0, "release of size 0 at %#llx",
		  (unsigned long long)start);
	token_kill(data, "release");
}

static bool h_can_merge(const struct memory_area *left,
			const struct memory_area *right)
{
	REL_CHECK(token_alive(left->backend.data) &&
			  token_alive(right->backend.data),
		  "can_merge with a released token");
	REL_CHECK(left->flags == right->flags, "can_merge of unequal flags");
	return true;
}

static enum mapping_error h_dup(void *data, uint64_t start, uint64_t size,
				uint64_t flags, void *src_pt, void *dst_pt,
				void **child_data)
{
	struct shadow *src = src_pt, *dst = dst_pt;
	uint64_t last = start + (size - 1);
	bool mixed;

	check_range("dup", start, size);
	REL_CHECK(src != NULL && dst != NULL && src != dst,
		  "dup hook without two page tables");
	REL_CHECK(token_alive(data), "dup of a released token");
	REL_CHECK(sh_covered(src, start, last, flags, &mixed) == size && !mixed,
		  "dup hook: source pages at %#llx+%#llx are not %#llx",
		  (unsigned long long)start, (unsigned long long)size,
		  (unsigned long long)flags);
	REL_CHECK(sh_covered(dst, start, last, flags, &mixed) == 0,
		  "dup hook onto mapped pages at %#llx+%#llx",
		  (unsigned long long)start, (unsigned long long)size);
	if (inj_call(HOOK_DUP, start, size, 0, flags))
		return inj.fail_code;
	sh_add(dst, start, last, flags);
	*child_data = token_new();
	return MAPPING_OK;
}

static enum mapping_error h_move(void *data, uint64_t old_start,
				 uint64_t new_start, uint64_t size,
				 uint64_t flags, void *page_table)
{
	struct shadow *sh = page_table;
	uint64_t last = old_start + (size - 1), nlast = new_start + (size - 1);
	bool mixed;

	check_range("move", old_start, size);
	check_range("move", new_start, size);
	REL_CHECK(token_alive(data), "move of a released token");
	REL_CHECK(last < new_start || nlast < old_start,
		  "move hook with overlapping ranges");
	REL_CHECK(sh_covered(sh, old_start, last, flags, &mixed) == size &&
			  !mixed,
		  "move hook: pages at %#llx+%#llx are not %#llx",
		  (unsigned long long)old_start, (unsigned long long)size,
		  (unsigned long long)flags);
	REL_CHECK(sh_covered(sh, new_start, nlast, flags, &mixed) == 0,
		  "move hook onto mapped pages at %#llx",
		  (unsigned long long)new_start);
	if (inj_call(HOOK_MOVE, old_start, size, new_start, flags))
		return inj.fail_code;
	sh_carve(sh, old_start, last);
	sh_add(sh, new_start, nlast, flags);
	return MAPPING_OK;
}

static enum mapping_error h_fault(void *data, const struct memory_area *area,
				  uint64_t addr, uint64_t access,
				  void *page_table)
{
	uint64_t need = access & (MAPPING_ACCESS_USER - 1);

	REL_CHECK(page_table != NULL, "fault hook without a page table");
	REL_CHECK(memory_area_contains(area, addr) && area->backend.data == data,
		  "fault hook at %#llx given another area",
		  (unsigned long long)addr);
	REL_CHECK(token_alive(data), "fault on a released token");
	if (inj_call(HOOK_FAULT, addr, 1, access, 0))
		return inj.fail_code;
	return (area->flags & need) == need ? MAPPING_OK
					    : MAPPING_ERR_ACCESS_DENIED;
}

const struct mapping_backend_ops plain_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = h_map,
	.unmap = h_unmap,
	.protect = h_protect,
};

const struct mapping_backend_ops token_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = h_map,
	.unmap = h_unmap,
	.protect = h_protect,
	.split = h_split,
	.release = h_release,
	.can_merge = h_can_merge,
	.dup = h_dup,
	.move = h_move,
	.fault = h_fault,
};

const struct mapping_backend_ops token_nomove_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = h_map,
	.unmap = h_unmap,
	.protect = h_protect,
	.split = h_split,
	.release = h_release,
	.can_merge = h_can_merge,
	.dup = h_dup,
	.fault = h_fault,
};

bool is_token_ops(const struct mapping_backend_ops *ops)
{
	return ops == &token_ops || ops == &token_nomove_ops;
}

/* ---- snapshots ------------------------------------------------------ */
void snap_take(struct snap *s, const struct memory_set *set)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	size_t n = (size_t)memory_set_len(set), i = 0;

	s->a = malloc((n ? n : 1) * sizeof(*s->a));
	REL_CHECK(s->a != NULL, "out of memory");
	memory_set_foreach(a, &it, set) {
		REL_CHECK(i < n, "iteration gives more areas than len %zu", n);
		s->a[i++] = (struct area_rec){a->start, a->size, a->flags,
					      a->backend.ops, a->backend.data};
	}
	REL_CHECK(i == n, "iteration gives %zu areas, len %zu", i, n);
	s->n = n;
}

void snap_free(struct snap *s)
{
	free(s->a);
	s->a = NULL;
	s->n = 0;
}

bool snap_equal(const struct snap *x, const struct snap *y)
{
	if (x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++) {
		const struct area_rec *a = &x->a[i], *b = &y->a[i];

		if (a->start != b->start || a->size != b->size ||
		    a->flags != b->flags || a->ops != b->ops)
			return false;
	}
	return true;
}

bool snap_identical(const struct snap *x, const struct snap *y)
{
	if (!snap_equal(x, y))
		return false;
	for (size_t i = 0; i < x->n; i++)
		if (x->a[i].data != y->a[i].data)
			return false;
	return true;
}

void snap_print(FILE *f, const char *title, const struct snap *s)
{
	fprintf(f, "%s: %zu areas\n", title, s->n);
	for (size_t i = 0; i < s->n; i++)
		fprintf(f, "  %#llx %#llx %#llx%s\n",
			(unsigned long long)s->a[i].start,
			(unsigned long long)s->a[i].size,
			(unsigned long long)s->a[i].flags,
			is_token_ops(s->a[i].ops) ? " tok" : "");
}

void snap_remove(struct snap *s, uint64_t start, uint64_t size)
{
	struct area_rec *out;
	size_t n = 0;
	uint64_t last = start + (size - 1);

	if (size == 0)
		return;
	out = malloc((s->n + 1) * sizeof(*out));
	REL_CHECK(out != NULL, "out of memory");
	for (size_t i = 0; i < s->n; i++) {
		struct area_rec a = s->a[i];
		uint64_t alast = a.start + (a.size - 1);

		if (alast < start || a.start > last) {
			out[n++] = a;
			continue;
		}
		if (a.start < start) {
			struct area_rec l = a;
			l.size = start - a.start;
			out[n++] = l;
		}
		if (alast > last) {
			struct area_rec r = a;
			r.start = last + 1;
			r.size = alast - last;
			out[n++] = r;
		}
	}
	free(s->a);
	s->a = out;
	s->n = n;
}

void snap_set_pages(struct snap *s, uint64_t start, uint64_t size,
		    uint64_t flags)
{
	size_t i = 0;

	snap_remove(s, start, size);
	s->a = realloc(s->a, (s->n + 1) * sizeof(*s->a));
	REL_CHECK(s->a != NULL, "out of memory");
	while (i < s->n && s->a[i].start < start)
		i++;
	memmove(&s->a[i + 1], &s->a[i], (s->n - i) * sizeof(*s->a));
	s->a[i] = (struct area_rec){start, size, flags, NULL, NULL};
	s->n++;
}

/* Pages with flags, as ranges: touching ranges of equal flags joined. */
static size_t coalesce(const struct srange *in, size_t n, struct srange *out)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		if (m > 0 && out[m - 1].last != UINT64_MAX &&
		    out[m - 1].last + 1 == in[i].start &&
		    out[m - 1].flags == in[i].flags)
			out[m - 1].last = in[i].last;
		else
			out[m++] = in[i];
	}
	return m;
}

static struct srange *snap_ranges(const struct snap *s)
{
	struct srange *r = malloc((s->n + 1) * sizeof(*r));

	REL_CHECK(r != NULL, "out of memory");
	for (size_t i = 0; i < s->n; i++)
		r[i] = (struct srange){s->a[i].start,
				       s->a[i].start + (s->a[i].size - 1),
				       s->a[i].flags};
	return r;
}

static bool same_ranges(const struct srange *x, size_t nx,
			const struct srange *y, size_t ny)
{
	struct srange *cx = malloc((nx + 1) * sizeof(*cx));
	struct srange *cy = malloc((ny + 1) * sizeof(*cy));
	size_t mx, my;
	bool same;

	REL_CHECK(cx && cy, "out of memory");
	mx = coalesce(x, nx, cx);
	my = coalesce(y, ny, cy);
	same = mx == my && memcmp(cx, cy, mx * sizeof(*cx)) == 0;
	free(cx);
	free(cy);
	return same;
}

bool same_pages(const struct snap *x, const struct snap *y)
{
	struct srange *rx = snap_ranges(x), *ry = snap_ranges(y);
	bool same = same_ranges(rx, x->n, ry, y->n);

	free(rx);
	free(ry);
	return same;
}

static void print_shadow(const struct shadow *sh)
{
	fprintf(stderr, "shadow: %zu ranges\n", sh->n);
	for (size_t i = 0; i < sh->n; i++)
		fprintf(stderr, "  %#llx..%#llx %#llx\n",
			(unsigned long long)sh->r[i].start,
			(unsigned long long)sh->r[i].last,
			(unsigned long long)sh->r[i].flags);
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a;
	uintptr_t y = (uintptr_t)*(void *const *)b;

	return x < y ? -1 : x > y;
}

void verify_pages(const struct memory_set *set, const struct shadow *sh)
{
	const char *why = memory_set_check(set);
	struct snap s;
	struct srange *r;

	REL_CHECK(why == NULL, "memory_set_check: %s", why);
	snap_take(&s, set);
	r = snap_ranges(&s);
	if (!same_ranges(r, s.n, sh->r, sh->n)) {
		snap_print(stderr, "set", &s);
		print_shadow(sh);
		REL_FAIL("set and page table disagree");
	}
	free(r);
	snap_free(&s);
}

void verify_set(const struct memory_set *set, const struct shadow *sh)
{
	struct snap s;
	const void **toks;
	size_t ntok = 0;

	verify_pages(set, sh);
	snap_take(&s, set);
	REL_CHECK(memory_set_is_empty(set) == (s.n == 0), "is_empty wrong");

	/* Walking backwards gives the same areas. */
	{
		struct memory_set_iter it;
		const struct memory_area *a;
		size_t i = s.n;

		memory_set_iter_init_end(&it, set);
		while ((a = memory_set_iter_prev(&it)) != NULL) {
			REL_CHECK(i > 0, "iter_prev gives too many areas");
			i--;
			REL_CHECK(a->start == s.a[i].start &&
					  a->size == s.a[i].size,
				  "iter_prev disagrees at area %zu", i);
		}
		REL_CHECK(i == 0, "iter_prev gives too few areas");
	}

	/* Each token is alive and belongs to one area only. */
	toks = malloc((s.n + 1) * sizeof(*toks));
	REL_CHECK(toks != NULL, "out of memory");
	for (size_t i = 0; i < s.n; i++) {
		if (!is_token_ops(s.a[i].ops))
			continue;
		REL_CHECK(token_alive(s.a[i].data),
			  "area %#llx has a released token",
			  (unsigned long long)s.a[i].start);
		toks[ntok++] = s.a[i].data;
	}
	qsort(toks, ntok, sizeof(*toks), cmp_ptr);
	for (size_t i = 1; i < ntok; i++)
		REL_CHECK(toks[i] != toks[i - 1], "two areas share a token");
	REL_CHECK((long)ntok == inj.tokens_live,
		  "%zu tokens in the set, %ld alive", ntok, inj.tokens_live);
	free(toks);
	snap_free(&s);
}
