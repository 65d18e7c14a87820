/*
 * ms-replay: run a trace (trace-format.md) through memory_set and print what
 * tools/reftrace.py prints for it.
 *
 *   ms-replay [--quiet] [--check | --check-full] [--maps] TRACE
 *
 * --quiet  no per-operation lines; on stderr "ops N secs S ns_per_op X
 *          areas A bytes B bytes_per_area C", timing only the operations
 *          (the trace is parsed first); B is memory_set_memory_bytes() at
 *          the end and C is B / A with one decimal (0.0 when A is 0).
 * --check  a backend keeps a shadow page table; after every operation the set
 *          must describe it exactly and pass memory_set_check(), and what the
 *          operation did must be what the trace language says (see check_op()
 *          for how the cost stays O(1) amortised per operation).
 * --check-full  the same, with the whole set checked after every mutation.
 * --maps   instead of the per-operation lines, print the final areas the way
 *          /proc/PID/maps does (memory_set_format_area()), then the size and
 *          "anon" or "file". Flags as strace2trace.py writes them: bit 0 r,
 *          1 w, 2 x, 3 s (shared, else p), 4 file-backed (else anon).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memory_set/malloc.h>
#include <memory_set/memory_set.h>

#include "trace.h"

/*
 * The checking backend's shadow page table: a sorted array of mapped ranges
 * [start, last]. Each range also has the "frame" of its first byte, a number
 * given by the map hook and kept by protect, move and dup, so that a move
 * that does not carry the contents along shows. Touching ranges with equal
 * flags and consecutive frames are joined, so one mapping has one form.
 * Nothing like the set's tree, which is the point.
 */
struct range {
	uint64_t start, last, flags, frame;
};

struct shadow {
	struct range *r;
	size_t n, cap;
	uint64_t next_frame; /* for the next map hook */
	const char *why;     /* first broken hook contract */
	uint64_t lo, hi;     /* what the hooks touched since the last check */
	/* Where the current operation may call hooks: nallow ranges, or any. */
	uint64_t allow_lo[2], allow_hi[2];
	int nallow;          /* -1: anywhere */
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "ms-replay: out of memory\n");
		exit(1);
	}
	return p;
}

/* The first range that ends at or after @addr. */
static size_t sh_index(const struct shadow *s, uint64_t addr)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->r[mid].last < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Is all of [start, last] mapped (with @flags, if @match)? */
static bool sh_covered(const struct shadow *s, uint64_t start, uint64_t last,
		       bool match, uint64_t flags)
{
	uint64_t pos = start;
	size_t i;

	for (i = sh_index(s, start); i < s->n; i++) {
		if (s->r[i].start > pos || (match && s->r[i].flags != flags))
			return false;
		if (s->r[i].last >= last)
			return true;
		pos = s->r[i].last + 1;
	}
	return false;
}

static bool sh_meets(const struct shadow *s, uint64_t start, uint64_t last)
{
	size_t i = sh_index(s, start);

	return i < s->n && s->r[i].start <= last;
}

/* Can @a and @b, in this order, be one range? */
static bool joinable(const struct range *a, const struct range *b)
{
	return a->last + 1 == b->start && a->flags == b->flags &&
	       a->frame + (a->last - a->start) + 1 == b->frame;
}

/* Make [start, last] unmapped. */
static void sh_cut(struct shadow *s, uint64_t start, uint64_t last)
{
	size_t i = sh_index(s, start), j = i, np = 0;
	struct range piece[2];

	while (j < s->n && s->r[j].start <= last)
		j++;
	if (i == j)
		return;
	if (s->r[i].start < start) {
		piece[np] = s->r[i];
		piece[np++].last = start - 1;
	}
	if (s->r[j - 1].last > last) {
		piece[np] = s->r[j - 1];
		piece[np].frame += last + 1 - s->r[j - 1].start;
		piece[np++].start = last + 1;
	}
	if (s->n - (j - i) + np > s->cap) {
		s->cap = 2 * s->cap + 1024;
		s->r = xrealloc(s->r, s->cap * sizeof(*s->r));
	}
	memmove(&s->r[i + np], &s->r[j], (s->n - j) * sizeof(*s->r));
	memcpy(&s->r[i], piece, np * sizeof(*s->r));
	s->n = s->n - (j - i) + np;
}

/* Map @p where nothing is mapped, joining it with its neighbours. */
static void sh_put(struct shadow *s, const struct range *p)
{
	size_t i = sh_index(s, p->start);

	if (s->n == s->cap) {
		s->cap = 2 * s->cap + 1024;
		s->r = xrealloc(s->r, s->cap * sizeof(*s->r));
	}
	memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
	s->r[i] = *p;
	s->n++;
	if (i + 1 < s->n && joinable(&s->r[i], &s->r[i + 1])) {
		s->r[i].last = s->r[i + 1].last;
		memmove(&s->r[i + 1], &s->r[i + 2], (s->n - i - 2) * sizeof(*s->r));
		s->n--;
	}
	if (i > 0 && joinable(&s->r[i - 1], &s->r[i])) {
		s->r[i - 1].last = s->r[i].last;
		memmove(&s->r[i], &s->r[i + 1], (s->n - i - 1) * sizeof(*s->r));
		s->n--;
	}
}

/*
 * The mapped pieces of [start, last], cut to it, into a buffer that stays
 * valid until the next call; false unless they cover it all (with @flags, if
 * @match).
 */
static struct range *pieces;
static size_t npieces, pieces_cap;

static bool sh_pieces(const struct shadow *s, uint64_t start, uint64_t last,
		      bool match, uint64_t flags)
{
	uint64_t pos = start;
	bool whole = false;
	size_t i;

	npieces = 0;
	for (i = sh_index(s, start); i < s->n && s->r[i].start <= last; i++) {
		struct range p = s->r[i];

		if (p.start < start) {
			p.frame += start - p.start;
			p.start = start;
		}
		if (p.last > last)
			p.last = last;
		if (npieces == pieces_cap) {
			pieces_cap = 2 * pieces_cap + 64;
			pieces = xrealloc(pieces, pieces_cap * sizeof(*pieces));
		}
		pieces[npieces++] = p;
		if (p.start != pos || (match && p.flags != flags))
			return false;
		whole = p.last == last;
		pos = p.last + 1;
	}
	return whole;
}

/* Remember what a hook touched, so the check after the operation covers it. */
static void touched(struct shadow *s, uint64_t start, uint64_t last)
{
	if (start < s->lo)
		s->lo = start;
	if (last > s->hi)
		s->hi = last;
}

static enum mapping_error broken(struct shadow *s, const char *why)
{
	if (!s->why)
		s->why = why;
	return MAPPING_ERR_BAD_STATE;
}

/* A hook's range: not past 2^64, and size 0 only for [0, 2^64). */
static bool range_ok(uint64_t start, uint64_t size)
{
	return size ? size - 1 <= UINT64_MAX - start : start == 0;
}

/* May the current operation touch [start, last]? */
static bool allowed(const struct shadow *s, uint64_t start, uint64_t last)
{
	int i;

	if (s->nallow < 0)
		return true;
	for (i = 0; i < s->nallow; i++)
		if (start >= s->allow_lo[i] && last <= s->allow_hi[i])
			return true;
	return false;
}

/* The checks every page-table hook makes on its range. */
static const char *hook_range(const struct shadow *s, uint64_t start,
			      uint64_t size)
{
	if (!range_ok(start, size))
		return "a hook with a wrapping range";
	if (!allowed(s, start, start + (size - 1)))
		return "a hook outside the range of the operation";
	return NULL;
}

static enum mapping_error chk_map(void *data, uint64_t start, uint64_t size,
				  uint64_t flags, void *pt)
{
	struct shadow *s = pt;
	struct range p = { start, start + (size - 1), flags, s->next_frame };
	const char *why = hook_range(s, start, size);

	(void)data;
	if (why)
		return broken(s, why);
	if (sh_meets(s, p.start, p.last))
		return broken(s, "map hook over mapped memory");
	/* Frames not consecutive with any range mapped before. */
	s->next_frame += (p.last - p.start) + 2;
	touched(s, p.start, p.last);
	sh_put(s, &p);
	return MAPPING_OK;
}

static enum mapping_error chk_unmap(void *data, uint64_t start, uint64_t size,
				    void *pt)
{
	struct shadow *s = pt;
	const char *why = hook_range(s, start, size);

	(void)data;
	if (why)
		return broken(s, why);
	if (!sh_covered(s, start, start + (size - 1), false, 0))
		return broken(s, "unmap hook over unmapped memory");
	touched(s, start, start + (size - 1));
	sh_cut(s, start, start + (size - 1));
	return MAPPING_OK;
}

static enum mapping_error chk_protect(void *data, uint64_t start, uint64_t size,
				      uint64_t old_flags, uint64_t new_flags,
				      void *pt)
{
	struct shadow *s = pt;
	const char *why = hook_range(s, start, size);
	size_t i;

	(void)data;
	if (why)
		return broken(s, why);
	if (old_flags == new_flags)
		return broken(s, "protect hook that changes nothing");
	if (!sh_pieces(s, start, start + (size - 1), true, old_flags))
		return broken(s, "protect hook over memory not mapped with old_flags");
	touched(s, start, start + (size - 1));
	sh_cut(s, start, start + (size - 1));
	for (i = 0; i < npieces; i++) {
		pieces[i].flags = new_flags;
		sh_put(s, &pieces[i]);
	}
	return MAPPING_OK;
}

/* The entries move with their frames: the contents go along. */
static enum mapping_error chk_move(void *data, uint64_t old_start,
				   uint64_t new_start, uint64_t size,
				   uint64_t flags, void *pt)
{
	struct shadow *s = pt;
	const char *why = hook_range(s, old_start, size);
	uint64_t old_last = old_start + (size - 1), new_last;
	size_t i;

	(void)data;
	if (!why)
		why = hook_range(s, new_start, size);
	if (why)
		return broken(s, why);
	new_last = new_start + (size - 1);
	if (old_start <= new_last && new_start <= old_last)
		return broken(s, "move hook with overlapping ranges");
	if (sh_meets(s, new_start, new_last))
		return broken(s, "move hook onto mapped memory");
	if (!sh_pieces(s, old_start, old_last, true, flags))
		return broken(s, "move hook from memory not mapped with its flags");
	touched(s, old_start, old_last);
	touched(s, new_start, new_last);
	sh_cut(s, old_start, old_last);
	for (i = 0; i < npieces; i++) {
		pieces[i].start = pieces[i].start - old_start + new_start;
		pieces[i].last = pieces[i].last - old_start + new_start;
		sh_put(s, &pieces[i]);
	}
	return MAPPING_OK;
}

/* The child's entries are the parent's: both see the same frames. */
static enum mapping_error chk_dup(void *data, uint64_t start, uint64_t size,
				  uint64_t flags, void *src_pt, void *dst_pt,
				  void **child_data)
{
	struct shadow *src = src_pt, *dst = dst_pt;
	const char *why = hook_range(dst, start, size);
	size_t i;

	if (why) {
		broken(src, why);
		return broken(dst, why);
	}
	if (sh_meets(dst, start, start + (size - 1))) {
		broken(src, "dup hook onto memory the child maps");
		return broken(dst, "dup hook onto memory the child maps");
	}
	if (!sh_pieces(src, start, start + (size - 1), true, flags)) {
		broken(src, "dup hook of memory not mapped with its flags");
		return broken(dst, "dup hook of memory not mapped with its flags");
	}
	touched(dst, start, start + (size - 1));
	for (i = 0; i < npieces; i++)
		sh_put(dst, &pieces[i]);
	*child_data = data;
	return MAPPING_OK;
}

/* The usual access bits, r=1, w=2, x=4, against the area's flags. */
static enum mapping_error chk_fault(void *data, const struct memory_area *area,
				    uint64_t addr, uint64_t access, void *pt)
{
	struct shadow *s = pt;
	size_t i = sh_index(s, addr);

	(void)data;
	if (!memory_area_contains(area, addr))
		return broken(s, "fault hook for an area without the address");
	if (i == s->n || s->r[i].start > addr || s->r[i].flags != area->flags)
		return broken(s, "fault hook where the shadow differs");
	access &= MAPPING_ACCESS_READ | MAPPING_ACCESS_WRITE | MAPPING_ACCESS_EXEC;
	return (area->flags & access) == access ? MAPPING_OK
						: MAPPING_ERR_ACCESS_DENIED;
}

static const struct mapping_backend_ops check_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = chk_map,
	.unmap = chk_unmap,
	.protect = chk_protect,
	.dup = chk_dup,
	.move = chk_move,
	.fault = chk_fault,
};

/* Do the set and the shadow map the same bytes of [lo, hi], alike? */
static bool agree(const struct memory_set *set, const struct shadow *s,
		  uint64_t lo, uint64_t hi)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	size_t i = sh_index(s, lo);
	uint64_t pos = lo;

	memory_set_iter_init(&it, set, lo);
	a = memory_set_iter_next(&it);
	for (;;) {
		const struct range *r = i < s->n ? &s->r[i] : NULL;
		bool has_a = a && a->start <= hi, has_r = r && r->start <= hi;
		uint64_t end;

		if (!has_a || !has_r)
			return has_a == has_r;
		/* From pos, both must map the same next byte, with equal flags. */
		if ((a->start > pos ? a->start : pos) !=
		    (r->start > pos ? r->start : pos) || a->flags != r->flags)
			return false;
		end = memory_area_last(a) < r->last ? memory_area_last(a) : r->last;
		if (end >= hi)
			return true;
		if (memory_area_last(a) == end)
			a = memory_set_iter_next(&it);
		if (r->last == end)
			i++;
		pos = end + 1;
	}
}

/* What check_op() needs to know of the state before a mutation. */
struct before {
	uint64_t len;
	bool has;                 /* an area holds the operation's start */
	uint64_t start, last, flags; /* that area */
	const struct range *kept; /* remap: the entries it must keep */
	size_t nkept;
};

struct replay {
	struct memory_set sets[2];   /* a dup makes the other one current */
	struct shadow shadows[2];
	int cur;
	struct memory_set_options opts;
	struct mapping_backend backend;
	bool print, check, check_full;
	uint64_t since_full; /* mutations since the last whole check */
	uint64_t *gap;       /* the gaps of the last gaps line: start, size */
	size_t ngap, gap_cap;
};

static void print_size(uint64_t size)
{
	if (size)
		out_hex(size);
	else
		out_str("0x10000000000000000"); /* [0, 2^64) */
}

static void print_area(const struct memory_area *a)
{
	out_hex(a->start);
	out_char(' ');
	print_size(a->size);
	out_char(' ');
	out_hex(a->flags);
	out_char('\n');
}

/* Print the result of a set operation; only these errors can be right. */
static void print_result(enum mapping_error err)
{
	out_str(err ? mapping_strerror(err) : "ok");
	out_char('\n');
}

static int fail(const struct trace_op *op, const char *what)
{
	out_flush();
	fprintf(stderr, "line %llu: check failed: %s\n",
		(unsigned long long)op->line, what);
	return -1;
}

/* The last address of [start, start+size), cut at 2^64; start for size 0. */
static uint64_t last_of(uint64_t start, uint64_t size)
{
	if (size == 0)
		return start;
	return size - 1 > UINT64_MAX - start ? UINT64_MAX : start + (size - 1);
}

/* Widen [*lo, *hi] to whole areas of the set and ranges of the shadow. */
static void widen(const struct memory_set *set, const struct shadow *s,
		  uint64_t *lo, uint64_t *hi)
{
	const struct memory_area *a;
	size_t i;

	if (*lo) {
		a = memory_set_find(set, --*lo);
		i = sh_index(s, *lo);
		if (a && a->start < *lo)
			*lo = a->start;
		if (i < s->n && s->r[i].start < *lo)
			*lo = s->r[i].start;
	}
	if (*hi != UINT64_MAX) {
		a = memory_set_find(set, ++*hi);
		i = sh_index(s, *hi);
		if (a && memory_area_last(a) > *hi)
			*hi = memory_area_last(a);
		if (i < s->n && s->r[i].start <= *hi && s->r[i].last > *hi)
			*hi = s->r[i].last;
	}
}

/* Where a mutation may call hooks (and where it is compared afterwards). */
static void allow(struct shadow *s, const struct trace_op *op)
{
	const uint64_t *a = op->arg;

	s->nallow = 1;
	s->allow_lo[0] = a[0];
	switch (op->kind) {
	case T_MAP:
	case T_UNMAP:
	case T_PROTECT:
		s->allow_hi[0] = last_of(a[0], a[1]);
		break;
	case T_REMAP:
		if (op->opt) {
			s->allow_hi[0] = last_of(a[0], a[1]);
			s->allow_lo[1] = a[3];
			s->allow_hi[1] = last_of(a[3], a[2]);
			s->nallow = 2;
		} else {
			s->allow_hi[0] = last_of(a[0], a[1] > a[2] ? a[1] : a[2]);
		}
		break;
	case T_CLEAR:
	case T_DUP:
		s->nallow = -1;
		break;
	default: /* the queries and settings call no hook */
		s->nallow = 0;
		break;
	}
}

static bool is_mutation(unsigned kind)
{
	return kind == T_MAP || kind == T_UNMAP || kind == T_PROTECT ||
	       kind == T_REMAP;
}

/* Does the shadow hold at @to the entries @b->kept had, moved there? */
static bool kept(const struct shadow *s, const struct before *b, uint64_t from,
		 uint64_t to, uint64_t last)
{
	size_t i;

	sh_pieces(s, to, last, false, 0);
	if (npieces != b->nkept)
		return false;
	for (i = 0; i < npieces; i++)
		if (pieces[i].start != b->kept[i].start - from + to ||
		    pieces[i].last != b->kept[i].last - from + to ||
		    pieces[i].frame != b->kept[i].frame)
			return false;
	return true;
}

/*
 * What a remap did, against the trace language: it may succeed only on a
 * range inside one area, leaves the old place free (a move) and the new one
 * mapped with the area's flags, the first min(size, new size) bytes with the
 * frames they had; it may fail with BadState only when no area held the
 * range, and with NoMemory only if growing in place could not be done or the
 * area limit may have stopped it. A remap that maps anew instead of moving
 * (or growing) loses the entries' frames, and shows.
 */
static const char *check_remap(const struct replay *r,
			       const struct trace_op *op,
			       enum mapping_error err, const struct before *b)
{
	const struct shadow *s = &r->shadows[r->cur];
	const uint64_t *a = op->arg;
	uint64_t size = a[1], new_size = a[2], keep;
	uint64_t to = op->opt ? a[3] : a[0];
	bool inside = b->has && size && size - 1 <= b->last - a[0];

	if (err == MAPPING_ERR_BAD_STATE)
		return inside ? "remap says BadState for a range inside an area"
			      : NULL;
	if (err == MAPPING_ERR_NO_MEMORY) {
		if (!inside)
			return "remap says NoMemory for a range not in an area";
		if (memory_set_max_areas(&r->sets[r->cur]) ||
		    (!op->opt && new_size > size &&
		     (b->last != a[0] + (size - 1) ||
		      sh_meets(s, a[0] + size, a[0] + (new_size - 1)))))
			return NULL;
		return "remap says NoMemory where it can be done";
	}
	if (err != MAPPING_OK)
		return NULL;
	if (!inside)
		return "remap succeeded on a range not inside one area";
	if (op->opt && sh_meets(s, a[0], a[0] + (size - 1)))
		return "remap left memory mapped at the old place";
	if (!op->opt && new_size < size &&
	    sh_meets(s, a[0] + new_size, a[0] + (size - 1)))
		return "remap left the cut tail mapped";
	if (!new_size || !sh_covered(s, to, last_of(to, new_size), true, b->flags))
		return "remap did not map the new range with the area's flags";
	keep = size < new_size ? size : new_size;
	if (!kept(s, b, a[0], to, last_of(to, keep)))
		return "remap did not keep the contents";
	return NULL;
}

/* The other mutations: their results, as far as the shadow shows them. */
static const char *check_mutation(const struct replay *r,
				  const struct trace_op *op,
				  enum mapping_error err, const struct before *b)
{
	const struct shadow *s = &r->shadows[r->cur];
	const uint64_t *a = op->arg;
	uint64_t len = memory_set_len(&r->sets[r->cur]);
	uint64_t max = memory_set_max_areas(&r->sets[r->cur]);
	size_t i;

	if (err != MAPPING_OK) {
		if (s->lo <= s->hi)
			return "an operation that failed called a hook";
		if (len != b->len)
			return "an operation that failed changed the areas";
	}
	if (err == MAPPING_ERR_NO_MEMORY && !max && op->kind != T_REMAP &&
	    (!op->opt || op->kind == T_MAP || a[1] == 0 ||
	     sh_covered(s, a[0], last_of(a[0], a[1]), false, 0)))
		return "NoMemory without a hole or a limit";
	if (err == MAPPING_OK && max && len > max && len > b->len)
		return "more areas than the limit";
	if (op->kind == T_REMAP)
		return check_remap(r, op, err, b);
	if (err != MAPPING_OK || a[1] == 0)
		return NULL;
	if (op->kind == T_MAP && !sh_covered(s, a[0], last_of(a[0], a[1]), true, a[2]))
		return "map did not map the range with its flags";
	if (op->kind == T_UNMAP && sh_meets(s, a[0], last_of(a[0], a[1])))
		return "unmap left memory mapped";
	if (op->kind == T_PROTECT) {
		sh_pieces(s, a[0], last_of(a[0], a[1]), false, 0);
		for (i = 0; i < npieces; i++)
			if ((pieces[i].flags & a[3]) != (a[2] & a[3]))
				return "protect left flags unchanged";
	}
	return NULL;
}

/* access START SIZE MASK, and the fault handler at START, against the shadow. */
static const char *check_access(const struct replay *r, const uint64_t *a,
				enum mapping_error err)
{
	const struct memory_set *set = &r->sets[r->cur];
	const struct shadow *s = &r->shadows[r->cur];
	const struct memory_area *area;
	enum mapping_error want = MAPPING_OK;
	uint64_t acc = a[2] & (MAPPING_ACCESS_READ | MAPPING_ACCESS_WRITE |
			       MAPPING_ACCESS_EXEC);
	size_t i;

	if (a[1] && a[1] - 1 > UINT64_MAX - a[0])
		want = MAPPING_ERR_INVALID_PARAM;
	else if (a[1] && !sh_pieces(s, a[0], a[0] + (a[1] - 1), false, 0))
		want = MAPPING_ERR_BAD_STATE;
	for (i = 0; want == MAPPING_OK && a[1] && i < npieces; i++)
		if ((pieces[i].flags & a[2]) != a[2])
			want = MAPPING_ERR_BAD_STATE;
	if (err != want)
		return "access disagrees with the shadow";

	i = sh_index(s, a[0]);
	if (i == s->n || s->r[i].start > a[0])
		want = MAPPING_ERR_BAD_STATE;
	else if ((s->r[i].flags & acc) != acc)
		want = MAPPING_ERR_ACCESS_DENIED;
	else
		want = MAPPING_OK;
	err = memory_set_handle_fault(set, a[0], acc, (void *)s, &area);
	if (s->why)
		return s->why;
	if (err != want || (want == MAPPING_ERR_BAD_STATE) != (area == NULL) ||
	    (area && !memory_area_contains(area, a[0])))
		return "the fault handler disagrees with the shadow";
	return NULL;
}

/* The gaps found, both ways, against the shadow's free ranges. */
static const char *check_gaps(const struct replay *r, uint64_t first,
			      uint64_t last)
{
	const struct shadow *s = &r->shadows[r->cur];
	struct memory_set_gap_iter gi;
	uint64_t pos = first, start, size;
	size_t i, k = 0;
	bool more = first <= last;

	for (i = sh_index(s, first); more && i < s->n && s->r[i].start <= last;
	     i++) {
		if (s->r[i].start > pos) {
			if (k == r->ngap || r->gap[2 * k] != pos ||
			    r->gap[2 * k + 1] != s->r[i].start - pos)
				return "gaps disagree with the shadow";
			k++;
		}
		more = s->r[i].last < last;
		pos = s->r[i].last + 1;
	}
	if (more) {
		if (k == r->ngap || r->gap[2 * k] != pos ||
		    r->gap[2 * k + 1] != last - pos + 1)
			return "gaps disagree with the shadow";
		k++;
	}
	if (k != r->ngap)
		return "gaps disagree with the shadow";
	memory_set_gap_iter_init_end(&gi, &r->sets[r->cur], first, last);
	while (memory_set_gap_prev(&gi, &start, &size)) {
		if (k == 0 || r->gap[2 * k - 2] != start ||
		    r->gap[2 * k - 1] != size)
			return "gaps found backwards differ";
		k--;
	}
	return k ? "gaps found backwards differ" : NULL;
}

/*
 * After an operation in --check mode: the hooks kept their contract and
 * stayed in the operation's range, the set describes the shadow exactly
 * there (and in the areas around), what a mutation did is what the trace
 * language says as far as the shadow shows it, and what a query answered is
 * true of the shadow. The whole set (memory_set_check() and a full
 * comparison) is checked after a mutation whenever the mutations since the
 * last whole check reach 1/64 of the areas: after each one while there are
 * fewer than 64, and at O(1) amortised cost per operation on large sets.
 * --check-full: after each one. merge, clear and dup: always.
 */
static int check_op(struct replay *r, const struct trace_op *op,
		    enum mapping_error err, const struct memory_area *found,
		    uint64_t addr, const struct before *b)
{
	struct memory_set *set = &r->sets[r->cur];
	struct shadow *s = &r->shadows[r->cur];
	const uint64_t *a = op->arg;
	const char *why = NULL;
	bool whole = op->kind == T_MERGE || op->kind == T_CLEAR ||
		     op->kind == T_DUP;
	int i;

	if (s->why)
		return fail(op, s->why);
	if (err != MAPPING_OK && err != MAPPING_ERR_INVALID_PARAM &&
	    !(err == MAPPING_ERR_ALREADY_EXISTS && op->kind == T_MAP) &&
	    !(err == MAPPING_ERR_NO_MEMORY &&
	      (is_mutation(op->kind) || op->kind == T_FREE ||
	       op->kind == T_FREETOP)) &&
	    !(err == MAPPING_ERR_BAD_STATE &&
	      (op->kind == T_REMAP || op->kind == T_ACCESS)))
		return fail(op, mapping_strerror(err));

	if (is_mutation(op->kind)) {
		why = check_mutation(r, op, err, b);
		if (why)
			return fail(op, why);
		/* The hooks stayed in these ranges: compare them. */
		for (i = 0; i < s->nallow; i++) {
			uint64_t lo = s->allow_lo[i], hi = s->allow_hi[i];

			widen(set, s, &lo, &hi);
			if (!agree(set, s, lo, hi))
				return fail(op, "the set and the shadow page table differ");
		}
		r->since_full++;
		whole = r->check_full || r->since_full * 64 >= memory_set_len(set);
	}
	s->lo = UINT64_MAX;
	s->hi = 0;
	if (whole) {
		r->since_full = 0;
		why = memory_set_check(set);
		if (why)
			return fail(op, why);
		if (!agree(set, s, 0, UINT64_MAX))
			return fail(op, "the set and the shadow page table differ");
	}
	if (op->kind == T_FIND) {
		size_t k = sh_index(s, a[0]);
		bool mapped = k < s->n && s->r[k].start <= a[0];

		if (mapped != (found != NULL) ||
		    (found && (!memory_area_contains(found, a[0]) ||
			       found->flags != s->r[k].flags)))
			return fail(op, "find disagrees with the shadow");
	}
	if ((op->kind == T_FREE || op->kind == T_FREETOP) && err == MAPPING_OK &&
	    (!range_ok(addr, a[1]) || addr < a[3] ||
	     addr + (a[1] - 1) > a[4] || (addr & (a[2] - 1)) ||
	     (op->kind == T_FREE && addr < a[0]) ||
	     (op->kind == T_FREETOP && a[0] && addr > a[0]) ||
	     sh_meets(s, addr, addr + (a[1] - 1))))
		return fail(op, "free area is not free or outside the limits");
	if (op->kind == T_ACCESS)
		why = check_access(r, a, err);
	if (op->kind == T_GAPS)
		why = check_gaps(r, a[0], a[1]);
	return why ? fail(op, why) : 0;
}

/* gaps FIRST LAST: collect them (check_op() looks at them too), then print. */
static void gaps(struct replay *r, uint64_t first, uint64_t last)
{
	struct memory_set_gap_iter gi;
	uint64_t start, size;
	size_t i;

	r->ngap = 0;
	memory_set_gap_iter_init(&gi, &r->sets[r->cur], first, last);
	while (memory_set_gap_next(&gi, &start, &size)) {
		if (r->ngap == r->gap_cap) {
			r->gap_cap = 2 * r->gap_cap + 16;
			r->gap = xrealloc(r->gap, 2 * r->gap_cap * sizeof(*r->gap));
		}
		r->gap[2 * r->ngap] = start;
		r->gap[2 * r->ngap + 1] = size;
		r->ngap++;
	}
	if (!r->print)
		return;
	out_str("gaps ");
	out_dec(r->ngap);
	out_char('\n');
	for (i = 0; i < r->ngap; i++) {
		out_hex(r->gap[2 * i]);
		out_char(' ');
		print_size(r->gap[2 * i + 1]);
		out_char('\n');
	}
}

/*
 * dup: copy the set (and the shadow, through the dup hook), destroy the
 * original and go on with the copy. --check: the copy must hold the same
 * areas and settings, and its shadow the same entries.
 */
static enum mapping_error do_dup(struct replay *r)
{
	struct memory_set *parent = &r->sets[r->cur], *child = &r->sets[!r->cur];
	struct shadow *sp = &r->shadows[r->cur], *sc = &r->shadows[!r->cur];
	const struct memory_area *x, *y;
	struct memory_set_iter ix, iy;
	enum mapping_error err;

	if (memory_set_init(child, &r->opts) != MAPPING_OK)
		return MAPPING_ERR_INVALID_PARAM;
	free(sc->r);
	memset(sc, 0, sizeof(*sc));
	sc->next_frame = sp->next_frame;
	sc->lo = UINT64_MAX;
	sc->nallow = -1;
	err = memory_set_dup(child, parent, r->check ? sp : NULL,
			     r->check ? sc : NULL);
	if (err != MAPPING_OK) {
		memory_set_destroy(child);
		return err;
	}
	if (r->check && !sp->why && !sc->why) {
		memory_set_iter_init(&ix, parent, 0);
		memory_set_iter_init(&iy, child, 0);
		do {
			x = memory_set_iter_next(&ix);
			y = memory_set_iter_next(&iy);
		} while (x && y && x->start == y->start && x->size == y->size &&
			 x->flags == y->flags);
		if (x || y || memory_set_len(parent) != memory_set_len(child) ||
		    memory_set_granule(parent) != memory_set_granule(child) ||
		    memory_set_merge_enabled(parent) !=
			    memory_set_merge_enabled(child) ||
		    memory_set_max_areas(parent) != memory_set_max_areas(child))
			sc->why = "dup: the copy differs from the set";
		else if (sp->n != sc->n ||
			 (sp->n && memcmp(sp->r, sc->r, sp->n * sizeof(*sp->r))))
			sc->why = "dup: the copy's page table differs";
	}
	if (!sc->why)
		sc->why = sp->why;
	memory_set_destroy(parent);
	free(sp->r);
	memset(sp, 0, sizeof(*sp));
	r->cur = !r->cur;
	return MAPPING_OK;
}

/* --check: what check_op() needs of the state before the operation. */
static struct range *kept_buf;
static size_t kept_cap;

static void before(struct replay *r, const struct trace_op *op,
		   struct before *b)
{
	const struct memory_set *set = &r->sets[r->cur];
	struct shadow *s = &r->shadows[r->cur];
	const uint64_t *a = op->arg;
	const struct memory_area *found;
	uint64_t keep;

	allow(s, op);
	if (!is_mutation(op->kind))
		return;
	found = memory_set_find(set, a[0]);
	b->len = memory_set_len(set);
	b->has = found != NULL;
	if (found) {
		b->start = found->start;
		b->last = memory_area_last(found);
		b->flags = found->flags;
	}
	/* Only a remap inside one area keeps entries; the rest can fail. */
	keep = a[1] < a[2] ? a[1] : a[2];
	if (op->kind != T_REMAP || !keep || !found ||
	    keep - 1 > b->last - a[0])
		return;
	sh_pieces(s, a[0], last_of(a[0], keep), false, 0);
	if (npieces > kept_cap) {
		kept_cap = npieces;
		kept_buf = xrealloc(kept_buf, kept_cap * sizeof(*kept_buf));
	}
	memcpy(kept_buf, pieces, npieces * sizeof(*pieces));
	b->kept = kept_buf;
	b->nkept = npieces;
}

static int run(struct replay *r, const struct trace *t)
{
	const uint64_t *p = t->w, *end = t->w + t->nw;

	while (p < end) {
		struct memory_set *set = &r->sets[r->cur];
		struct shadow *s = &r->shadows[r->cur];
		void *pt = r->check ? s : NULL;
		enum mapping_error err = MAPPING_OK;
		const struct memory_area *found = NULL;
		struct memory_set_iter it;
		struct trace_op op;
		struct before b = { 0 };
		uint64_t addr = 0;
		const uint64_t *a;
		bool yes;

		p = trace_next(p, &op);
		a = op.arg;
		if (r->check)
			before(r, &op, &b);
		switch (op.kind) {
		case T_GRANULE:
			err = memory_set_set_granule(set, a[0]);
			break;
		case T_MERGE:
			memory_set_set_merge(set, op.opt);
			break;
		case T_MAP:
			err = memory_set_map(set, a[0], a[1], a[2], &r->backend,
					     pt, op.opt);
			if (r->print)
				print_result(err);
			break;
		case T_UNMAP:
			err = (op.opt ? memory_set_unmap_strict : memory_set_unmap)(
				set, a[0], a[1], pt);
			if (r->print)
				print_result(err);
			break;
		case T_PROTECT:
			err = (op.opt ? memory_set_protect_flags_strict
				      : memory_set_protect_flags)(
				set, a[0], a[1], a[2], a[3], pt);
			if (r->print)
				print_result(err);
			break;
		case T_REMAP:
			if (op.opt)
				err = memory_set_remap_fixed(set, a[0], a[1], a[2],
							     a[3], pt);
			else
				err = memory_set_remap(set, a[0], a[1], a[2], pt);
			if (r->print)
				print_result(err);
			break;
		case T_LIMIT:
			memory_set_set_max_areas(set, a[0]);
			break;
		case T_ACCESS:
			err = memory_set_can_access(set, a[0], a[1], a[2]);
			if (r->print) {
				out_str(err == MAPPING_OK ? "yes"
					: err == MAPPING_ERR_BAD_STATE ? "no"
					: mapping_strerror(err));
				out_char('\n');
			}
			break;
		case T_GAPS:
			gaps(r, a[0], a[1]);
			break;
		case T_DUP:
			err = do_dup(r);
			if (r->print)
				print_result(err);
			break;
		case T_FIND:
			found = memory_set_find(set, a[0]);
			if (r->print && found)
				print_area(found);
			else if (r->print)
				out_str("none\n");
			break;
		case T_OVERLAPS:
			yes = memory_set_overlaps(set, a[0], a[1]);
			if (r->print)
				out_str(yes ? "yes\n" : "no\n");
			break;
		case T_FREE:
		case T_FREETOP:
			err = (op.kind == T_FREE ? memory_set_find_free_area
						 : memory_set_find_free_area_top)(
				set, a[0], a[1], a[2], a[3], a[4], &addr);
			if (r->print && err == MAPPING_OK) {
				out_hex(addr);
				out_char('\n');
			} else if (r->print) {
				out_str(err == MAPPING_ERR_NO_MEMORY ? "none"
					: mapping_strerror(err));
				out_char('\n');
			}
			break;
		case T_CLEAR:
			err = memory_set_clear(set, pt);
			if (r->print)
				print_result(err);
			break;
		case T_LEN:
			if (r->print) {
				out_dec(memory_set_len(set));
				out_char('\n');
			}
			break;
		case T_DUMP:
			if (!r->print)
				break;
			out_str("len ");
			out_dec(memory_set_len(set));
			out_char('\n');
			memory_set_foreach(found, &it, set)
				print_area(found);
			found = NULL;
			break;
		}
		if (r->check && check_op(r, &op, err, found, addr, &b))
			return -1;
	}
	return 0;
}

/* 4K, 132K, 1.5M, 8G: sizes as a person reads them. */
static void human_size(char *buf, size_t len, uint64_t size)
{
	static const char unit[] = "KMGTPE";
	uint64_t div = 1024;
	int u = 0;

	if (size == 0) {
		snprintf(buf, len, "16E"); /* [0, 2^64) */
		return;
	}
	while (u < 5 && size >= div * 1024) {
		div *= 1024;
		u++;
	}
	if (size % div == 0 || size >= 100 * div)
		snprintf(buf, len, "%llu%c", (unsigned long long)(size / div),
			 unit[u]);
	else
		snprintf(buf, len, "%.1f%c", (double)size / (double)div,
			 unit[u]);
}

static void print_maps(const struct memory_set *set)
{
	const struct memory_area *a;
	struct memory_set_iter it;

	memory_set_foreach(a, &it, set) {
		char line[128], size[32];

		/* The library's line fits: 2 x 17 digits and 26 more. */
		memory_set_format_area(line, sizeof(line), a, NULL, NULL);
		out_str(line);
		human_size(size, sizeof(size), a->size);
		snprintf(line, sizeof(line), " %7s %s\n", size,
			 a->flags & 16 ? "file" : "anon");
		out_str(line);
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ms-replay [--quiet] [--check | --check-full] [--maps] TRACE\n"
		"  --maps flags: bit 0 r, 1 w, 2 x, 3 s (else p), 4 file (else anon)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct replay r;
	bool quiet = false, maps = false;
	const char *path = NULL;
	struct memory_set *set;
	struct trace t;
	double secs;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quiet"))
			quiet = true;
		else if (!strcmp(argv[i], "--check"))
			r.check = true;
		else if (!strcmp(argv[i], "--check-full"))
			r.check = r.check_full = true;
		else if (!strcmp(argv[i], "--maps"))
			maps = true;
		else if ((argv[i][0] == '-' && argv[i][1]) || path)
			usage();
		else
			path = argv[i];
	}
	if (!path)
		usage();
	if (trace_load(&t, path))
		return 1;

	r.opts.size = sizeof(r.opts);
	r.opts.allocator = &memory_set_malloc_allocator;
	if (memory_set_init(&r.sets[0], &r.opts) != MAPPING_OK) {
		fprintf(stderr, "ms-replay: memory_set_init failed\n");
		return 1;
	}
	r.backend.ops = r.check ? &check_ops : &trace_null_ops;
	r.shadows[0].lo = UINT64_MAX;
	r.print = !quiet && !maps;

	secs = trace_clock();
	rc = run(&r, &t);
	secs = trace_clock() - secs;
	set = &r.sets[r.cur];
	if (rc == 0 && r.check && (memory_set_check(set) ||
				   !agree(set, &r.shadows[r.cur], 0, UINT64_MAX))) {
		fprintf(stderr, "end of trace: check failed: %s\n",
			memory_set_check(set) ? memory_set_check(set)
			: "the set and the shadow page table differ");
		rc = -1;
	}

	if (rc == 0 && maps)
		print_maps(set);
	if (rc == 0 && quiet)
		trace_quiet_line(t.nops, secs, memory_set_len(set),
				 memory_set_memory_bytes(set));
	if (out_flush()) {
		fprintf(stderr, "ms-replay: error writing the output\n");
		rc = -1;
	}
	memory_set_destroy(set);
	free(r.shadows[0].r);
	free(r.shadows[1].r);
	free(r.gap);
	free(pieces);
	free(kept_buf);
	trace_free(&t);
	return rc ? 1 : 0;
}
