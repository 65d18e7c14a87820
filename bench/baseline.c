/*
 * baseline: the trace language (trace-format.md) over a plain sorted array
 * of areas, the way several C emulators keep their regions: binary search
 * to find, memmove to insert and delete. The bench runs every workload
 * through it and through ms-replay, compares what both print, and sets
 * their times side by side.
 *
 * It does what a real manager over such an array does, and what ms-replay
 * asks of memory_set: each area keeps a data pointer for its backend, and
 * the backend's hooks (the same null hooks ms-replay gives the set, called
 * through the same table of function pointers) are called for each piece
 * it maps, unmaps or protects, and for each area a clear drops.
 *
 *   baseline [--quiet] TRACE
 *
 * Prints what tools/reftrace.py prints. --quiet: nothing per operation; on
 * stderr "ops N secs S ns_per_op X areas A bytes B" (the ms-replay line and
 * the bytes the array holds), timing only the operations.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

/* [start, last]: inclusive, so an area may end at 2^64. */
struct area {
	uint64_t start, last, flags;
	void *data; /* the backend's, handed to its hooks */
};

/* The backend every area has: ms-replay's. */
static const struct mapping_backend backend = { &trace_null_ops, NULL };

static struct area *area;   /* sorted, disjoint */
static size_t n, cap;
static struct area *piece;  /* scratch for the areas replacing a span */
static size_t piece_cap;
static uint64_t granule = 0x1000;
static bool merge;
static volatile uint64_t sink; /* keeps quiet-mode queries from vanishing */

/* A hook failed: the null hooks never do, but a manager checks. */
static void check(enum mapping_error err)
{
	if (err != MAPPING_OK) {
		fprintf(stderr, "baseline: a hook failed\n");
		exit(1);
	}
}

/* The unmap hook for the part of each of area[i..j) inside [start, last]. */
static void unmap_pieces(size_t i, size_t j, uint64_t start, uint64_t last)
{
	for (; i < j; i++) {
		uint64_t s = area[i].start > start ? area[i].start : start;
		uint64_t l = area[i].last < last ? area[i].last : last;

		check(backend.ops->unmap(area[i].data, s, l - s + 1, NULL));
	}
}

static void *grow(void *p, size_t *capp, size_t need, size_t elem)
{
	if (need <= *capp)
		return p;
	while (*capp < need)
		*capp = *capp ? 2 * *capp : 1024;
	p = realloc(p, *capp * elem);
	if (!p) {
		fprintf(stderr, "baseline: out of memory\n");
		exit(1);
	}
	return p;
}

/* First area whose last address is at or after @addr. */
static size_t first_ending_at_or_after(uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (area[mid].last < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* First area that starts after @addr. */
static size_t first_starting_after(uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (area[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Put piece[0..np) where area[i..j) were, then merge around them if on. */
static void replace(size_t i, size_t j, size_t np)
{
	size_t k, end;

	if (np != j - i) {
		area = grow(area, &cap, n - (j - i) + np, sizeof(*area));
		memmove(&area[i + np], &area[j], (n - j) * sizeof(*area));
		n = n - (j - i) + np;
	}
	memcpy(&area[i], piece, np * sizeof(*area));
	if (!merge)
		return;
	/* As reftrace.py: pairs from i - 1 up to one past the pieces. */
	for (k = i ? i - 1 : 0;;) {
		end = i + np + 1 < n - 1 ? i + np + 1 : n - 1;
		if (n == 0 || k >= end)
			break;
		if (area[k].last + 1 == area[k + 1].start &&
		    area[k].flags == area[k + 1].flags &&
		    area[k].data == area[k + 1].data) {
			area[k].last = area[k + 1].last;
			memmove(&area[k + 1], &area[k + 2],
				(n - k - 2) * sizeof(*area));
			n--;
		} else {
			k++;
		}
	}
}

static void merge_all(void)
{
	size_t k, out = 0;

	for (k = 0; k < n; k++) {
		if (out && area[out - 1].last + 1 == area[k].start &&
		    area[out - 1].flags == area[k].flags &&
		    area[out - 1].data == area[k].data)
			area[out - 1].last = area[k].last;
		else
			area[out++] = area[k];
	}
	n = out;
}

/* Start and size on the granule, and the range not past 2^64. */
static bool range_ok(uint64_t start, uint64_t size)
{
	return !(start & (granule - 1)) && !(size & (granule - 1)) &&
	       (size == 0 || size - 1 <= UINT64_MAX - start);
}

static const char *map(uint64_t start, uint64_t size, uint64_t flags,
		       bool replace_overlap)
{
	uint64_t last = start + (size - 1);
	size_t i, j, np = 0;

	if (size == 0 || !range_ok(start, size))
		return "InvalidParam";
	i = first_ending_at_or_after(start);
	j = first_starting_after(last);
	if (i < j && !replace_overlap)
		return "AlreadyExists";
	unmap_pieces(i, j, start, last);
	check(backend.ops->map(backend.data, start, size, flags, NULL));
	piece = grow(piece, &piece_cap, 3, sizeof(*piece));
	if (i < j && area[i].start < start)
		piece[np++] = (struct area){ area[i].start, start - 1,
					     area[i].flags, area[i].data };
	piece[np++] = (struct area){ start, last, flags, backend.data };
	if (i < j && area[j - 1].last > last)
		piece[np++] = (struct area){ last + 1, area[j - 1].last,
					     area[j - 1].flags, area[j - 1].data };
	replace(i, j, np);
	return "ok";
}

static const char *unmap(uint64_t start, uint64_t size)
{
	uint64_t last = start + (size - 1);
	size_t i, j, np = 0;

	if (!range_ok(start, size))
		return "InvalidParam";
	if (size == 0)
		return "ok";
	i = first_ending_at_or_after(start);
	j = first_starting_after(last);
	if (i == j)
		return "ok";
	unmap_pieces(i, j, start, last);
	piece = grow(piece, &piece_cap, 2, sizeof(*piece));
	if (area[i].start < start)
		piece[np++] = (struct area){ area[i].start, start - 1,
					     area[i].flags, area[i].data };
	if (area[j - 1].last > last)
		piece[np++] = (struct area){ last + 1, area[j - 1].last,
					     area[j - 1].flags, area[j - 1].data };
	replace(i, j, np);
	return "ok";
}

static const char *protect(uint64_t start, uint64_t size, uint64_t flags,
			   uint64_t mask)
{
	uint64_t last = start + (size - 1);
	size_t i, j, k, np = 0;

	if (!range_ok(start, size))
		return "InvalidParam";
	if (size == 0)
		return "ok";
	i = first_ending_at_or_after(start);
	j = first_starting_after(last);
	if (i == j)
		return "ok";
	piece = grow(piece, &piece_cap, j - i + 2, sizeof(*piece));
	for (k = i; k < j; k++) {
		struct area a = area[k];
		uint64_t s = a.start > start ? a.start : start;
		uint64_t l = a.last < last ? a.last : last;
		uint64_t nf = (flags & mask) | (a.flags & ~mask);

		if ((a.flags & mask) == (flags & mask)) {
			piece[np++] = a;
			continue;
		}
		check(backend.ops->protect(a.data, s, l - s + 1, a.flags, nf,
					   NULL));
		if (a.start < start)
			piece[np++] = (struct area){ a.start, start - 1, a.flags,
						     a.data };
		piece[np++] = (struct area){ s, l, nf, a.data };
		if (a.last > last)
			piece[np++] = (struct area){ last + 1, a.last, a.flags,
						     a.data };
	}
	replace(i, j, np);
	return "ok";
}

static const struct area *find(uint64_t addr)
{
	size_t i = first_ending_at_or_after(addr);

	return i < n && area[i].start <= addr ? &area[i] : NULL;
}

static bool overlaps(uint64_t start, uint64_t size)
{
	uint64_t last = size - 1 <= UINT64_MAX - start ? start + (size - 1)
						       : UINT64_MAX;
	size_t i = first_ending_at_or_after(start);

	return size && i < n && area[i].start <= last;
}

/* Lowest A >= max(hint, first), aligned, with [A, A+size) free in [first, last]. */
static int free_low(uint64_t hint, uint64_t size, uint64_t align,
		    uint64_t first, uint64_t last, uint64_t *out)
{
	uint64_t cur = first > hint ? first : hint;
	size_t k;

	if (cur > last)
		return -1;
	for (k = first_ending_at_or_after(cur);; k++) {
		bool final = k == n || area[k].start > last;
		uint64_t gap_last = final ? last : area[k].start - 1;

		if (final || area[k].start > cur) {
			uint64_t a;

			if (align - 1 > UINT64_MAX - cur)
				return -1; /* no aligned address at or above cur */
			a = (cur + (align - 1)) & ~(align - 1);
			if (a <= gap_last && size - 1 <= gap_last - a) {
				*out = a;
				return 0;
			}
		}
		if (final || area[k].last >= last)
			return -1;
		if (area[k].last + 1 > cur)
			cur = area[k].last + 1;
	}
}

/*
 * Highest A, aligned, with [A, A+size) free in [first, last] and, if hint is
 * not 0, A + size <= hint + size.
 */
static int free_top(uint64_t hint, uint64_t size, uint64_t align,
		    uint64_t first, uint64_t last, uint64_t *out)
{
	uint64_t top = last; /* last usable byte of the gap being tried */
	size_t i, k;

	if (hint && size - 1 <= UINT64_MAX - hint && hint + (size - 1) < top)
		top = hint + (size - 1);
	if (top < first)
		return -1;
	i = first_ending_at_or_after(first);
	k = first_starting_after(top);
	for (;;) {
		/* The gap between area k - 1 (or first) and top. */
		const struct area *b = k > i ? &area[k - 1] : NULL;
		bool room = !b || b->last != UINT64_MAX; /* nothing above 2^64 */
		uint64_t floor = b && room && b->last + 1 > first ? b->last + 1
								  : first;

		if (room && top >= size - 1) {
			uint64_t a = (top - (size - 1)) & ~(align - 1);

			if (a >= floor) {
				*out = a;
				return 0;
			}
		}
		if (!b || b->start == 0)
			return -1;
		top = b->start - 1;
		k--;
	}
}

static void print_area(const struct area *a)
{
	out_hex(a->start);
	out_char(' ');
	out_hex(a->last - a->start + 1);
	out_char(' ');
	out_hex(a->flags);
	out_char('\n');
}

static void run(const struct trace *t, bool print)
{
	const uint64_t *p = t->w, *end = t->w + t->nw;

	while (p < end) {
		const struct area *found;
		const char *res = NULL;
		struct trace_op op;
		const uint64_t *a;
		uint64_t addr = 0;
		size_t k;
		int rc;

		p = trace_next(p, &op);
		a = op.arg;
		switch (op.kind) {
		case T_GRANULE:
			granule = a[0];
			break;
		case T_MERGE:
			merge = op.opt;
			if (merge)
				merge_all();
			break;
		case T_MAP:
			res = map(a[0], a[1], a[2], op.opt);
			break;
		case T_UNMAP:
			res = unmap(a[0], a[1]);
			break;
		case T_PROTECT:
			res = protect(a[0], a[1], a[2], a[3]);
			break;
		case T_FIND:
			found = find(a[0]);
			if (!print)
				sink += found ? found->start : 1;
			else if (found)
				print_area(found);
			else
				res = "none";
			break;
		case T_OVERLAPS:
			res = overlaps(a[0], a[1]) ? "yes" : "no";
			break;
		case T_FREE:
		case T_FREETOP:
			if (a[1] == 0 || a[2] == 0 || (a[2] & (a[2] - 1)) ||
			    a[3] > a[4]) {
				res = "InvalidParam";
				break;
			}
			rc = (op.kind == T_FREE ? free_low : free_top)(
				a[0], a[1], a[2], a[3], a[4], &addr);
			if (!print)
				sink += rc ? 1 : addr;
			else if (rc)
				res = "none";
			else
				out_hex(addr);
			if (print && !rc)
				out_char('\n');
			break;
		case T_CLEAR:
			for (k = 0; k < n; k++)
				check(backend.ops->unmap(area[k].data, area[k].start,
							 area[k].last - area[k].start + 1,
							 NULL));
			n = 0;
			res = "ok";
			break;
		case T_LEN:
			if (print) {
				out_dec(n);
				out_char('\n');
			}
			break;
		case T_DUMP:
			if (!print)
				break;
			out_str("len ");
			out_dec(n);
			out_char('\n');
			for (k = 0; k < n; k++)
				print_area(&area[k]);
			break;
		}
		if (print && res) {
			out_str(res);
			out_char('\n');
		} else if (res) {
			sink += (unsigned char)res[0];
		}
	}
}

int main(int argc, char **argv)
{
	bool quiet = argc == 3 && !strcmp(argv[1], "--quiet");
	const char *path = argv[argc - 1];
	struct trace t;
	double secs;

	if (argc != 2 + quiet || path[0] == '-') {
		fprintf(stderr, "usage: baseline [--quiet] TRACE\n");
		return 2;
	}
	if (trace_load(&t, path))
		return 1;

	secs = trace_clock();
	run(&t, !quiet);
	secs = trace_clock() - secs;
	if (quiet)
		trace_quiet_line(t.nops, secs, n, cap * sizeof(*area));
	trace_free(&t);
	free(area);
	free(piece);
	return out_flush() ? 1 : 0;
}
