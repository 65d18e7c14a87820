/*
 * ms-replay: run a trace (trace-format.md) through memory_set and print what
 * tools/reftrace.py prints for it.
 *
 *   ms-replay [--quiet] [--check | --check-full] [--maps] TRACE
 *
 * --quiet  no per-operation lines; "ops N secs S ns_per_op X areas A" on
 *          stderr, timing only the operations (the trace is parsed first).
 * --check  a backend keeps a shadow page table; after every operation the set
 *          must describe it exactly and pass memory_set_check() (see
 *          check_op() for how the cost stays O(1) amortised per operation).
 * --check-full  the same, with the whole set checked after every mutation.
 * --maps   instead of the per-operation lines, print the final areas the way
 *          /proc/PID/maps does (flags as strace2trace.py writes them: bit 0
 *          r, 1 w, 2 x, 3 shared, 4 file-backed).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memory_set/malloc.h>
#include <memory_set/memory_set.h>

#include "trace.h"

/*
 * The checking backend's shadow page table: a sorted array of mapped ranges
 * [start, last], touching ranges of equal flags joined so that one mapping
 * has one form. Nothing like the set's tree, which is the point.
 */
struct range {
	uint64_t start, last, flags;
};

struct shadow {
	struct range *r;
	size_t n, cap;
	const char *why;   /* first broken hook contract */
	uint64_t lo, hi;   /* what the hooks touched since the last check */
};

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

/* Make [start, last] unmapped, or mapped with @flags if @present. */
static void sh_set(struct shadow *s, uint64_t start, uint64_t last,
		   bool present, uint64_t flags)
{
	size_t i = sh_index(s, start), j = i, np = 0, k;
	struct range piece[3];

	while (j < s->n && s->r[j].start <= last)
		j++;
	if (i < j && s->r[i].start < start)
		piece[np++] = (struct range){ s->r[i].start, start - 1, s->r[i].flags };
	if (present)
		piece[np++] = (struct range){ start, last, flags };
	if (i < j && s->r[j - 1].last > last)
		piece[np++] = (struct range){ last + 1, s->r[j - 1].last, s->r[j - 1].flags };
	if (s->n + np > s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->r = realloc(s->r, s->cap * sizeof(*s->r));
		if (!s->r) {
			fprintf(stderr, "ms-replay: out of memory\n");
			exit(1);
		}
	}
	memmove(&s->r[i + np], &s->r[j], (s->n - j) * sizeof(*s->r));
	memcpy(&s->r[i], piece, np * sizeof(*s->r));
	s->n = s->n - (j - i) + np;

	for (k = i ? i - 1 : 0; k + 1 < s->n && k <= i + np;) {
		if (s->r[k].last + 1 == s->r[k + 1].start &&
		    s->r[k].flags == s->r[k + 1].flags) {
			s->r[k].last = s->r[k + 1].last;
			memmove(&s->r[k + 1], &s->r[k + 2],
				(s->n - k - 2) * sizeof(*s->r));
			s->n--;
		} else {
			k++;
		}
	}
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

static enum mapping_error chk_map(void *data, uint64_t start, uint64_t size,
				  uint64_t flags, void *pt)
{
	struct shadow *s = pt;

	(void)data;
	if (!range_ok(start, size))
		return broken(s, "map hook with an wrapping range");
	if (sh_meets(s, start, start + (size - 1)))
		return broken(s, "map hook over mapped memory");
	touched(s, start, start + (size - 1));
	sh_set(s, start, start + (size - 1), true, flags);
	return MAPPING_OK;
}

static enum mapping_error chk_unmap(void *data, uint64_t start, uint64_t size,
				    void *pt)
{
	struct shadow *s = pt;

	(void)data;
	if (!range_ok(start, size))
		return broken(s, "unmap hook with an wrapping range");
	if (!sh_covered(s, start, start + (size - 1), false, 0))
		return broken(s, "unmap hook over unmapped memory");
	touched(s, start, start + (size - 1));
	sh_set(s, start, start + (size - 1), false, 0);
	return MAPPING_OK;
}

static enum mapping_error chk_protect(void *data, uint64_t start, uint64_t size,
				      uint64_t old_flags, uint64_t new_flags,
				      void *pt)
{
	struct shadow *s = pt;

	(void)data;
	if (!range_ok(start, size))
		return broken(s, "protect hook with an wrapping range");
	if (old_flags == new_flags)
		return broken(s, "protect hook that changes nothing");
	if (!sh_covered(s, start, start + (size - 1), true, old_flags))
		return broken(s, "protect hook over memory not mapped with old_flags");
	touched(s, start, start + (size - 1));
	sh_set(s, start, start + (size - 1), true, new_flags);
	return MAPPING_OK;
}

static const struct mapping_backend_ops check_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = chk_map,
	.unmap = chk_unmap,
	.protect = chk_protect,
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

struct replay {
	struct memory_set set;
	struct mapping_backend backend;
	struct shadow shadow;
	bool print, check, check_full;
	uint64_t since_full; /* mutations since the last whole check */
};

/* The protect mask rule of the trace language. */
static void print_area(const struct memory_area *a)
{
	out_hex(a->start);
	out_char(' ');
	if (a->size)
		out_hex(a->size);
	else
		out_str("0x10000000000000000"); /* [0, 2^64) */
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

/* Widen [*lo, *hi] to whole areas of the set and ranges of the shadow. */
static void widen(const struct replay *r, uint64_t *lo, uint64_t *hi)
{
	const struct shadow *s = &r->shadow;
	const struct memory_area *a;
	size_t i;

	if (*lo) {
		a = memory_set_find(&r->set, --*lo);
		i = sh_index(s, *lo);
		if (a && a->start < *lo)
			*lo = a->start;
		if (i < s->n && s->r[i].start < *lo)
			*lo = s->r[i].start;
	}
	if (*hi != UINT64_MAX) {
		a = memory_set_find(&r->set, ++*hi);
		i = sh_index(s, *hi);
		if (a && memory_area_last(a) > *hi)
			*hi = memory_area_last(a);
		if (i < s->n && s->r[i].start <= *hi && s->r[i].last > *hi)
			*hi = s->r[i].last;
	}
}

/*
 * After an operation in --check mode: the hooks kept their contract, the set
 * describes the shadow exactly where the operation and its hooks reached
 * (and the areas around), and what a query answered is true of the shadow.
 * The whole set (memory_set_check() and a full comparison) is checked after
 * a mutation whenever the mutations since the last whole check reach 1/64 of
 * the areas: after each one while there are fewer than 64, and at O(1)
 * amortised cost per operation on large sets. --check-full: after each one.
 */
static int check_op(struct replay *r, const struct trace_op *op,
		    enum mapping_error err, const struct memory_area *found,
		    uint64_t addr)
{
	struct shadow *s = &r->shadow;
	const uint64_t *a = op->arg;
	uint64_t lo = s->lo, hi = s->hi;
	const char *why;
	bool whole = op->kind == T_MERGE || op->kind == T_CLEAR;

	if (s->why)
		return fail(op, s->why);
	if (err != MAPPING_OK && err != MAPPING_ERR_INVALID_PARAM &&
	    err != MAPPING_ERR_ALREADY_EXISTS &&
	    !(err == MAPPING_ERR_NO_MEMORY &&
	      (op->kind == T_FREE || op->kind == T_FREETOP)))
		return fail(op, mapping_strerror(err));
	s->lo = UINT64_MAX;
	s->hi = 0;

	if (op->kind == T_MAP || op->kind == T_UNMAP || op->kind == T_PROTECT) {
		/* Queries take the set const: only these can change it. */
		uint64_t last = a[1] == 0 ? a[0]
			: a[1] - 1 > UINT64_MAX - a[0] ? UINT64_MAX
			: a[0] + (a[1] - 1);

		lo = a[0] < lo ? a[0] : lo;
		hi = last > hi ? last : hi;
		widen(r, &lo, &hi);
		if (!agree(&r->set, s, lo, hi))
			return fail(op, "the set and the shadow page table differ");
		r->since_full++;
		whole = r->check_full ||
			r->since_full * 64 >= memory_set_len(&r->set);
	}
	if (whole) {
		r->since_full = 0;
		why = memory_set_check(&r->set);
		if (why)
			return fail(op, why);
		if (!agree(&r->set, s, 0, UINT64_MAX))
			return fail(op, "the set and the shadow page table differ");
	}
	if (op->kind == T_FIND) {
		size_t i = sh_index(s, a[0]);
		bool mapped = i < s->n && s->r[i].start <= a[0];

		if (mapped != (found != NULL) ||
		    (found && (!memory_area_contains(found, a[0]) ||
			       found->flags != s->r[i].flags)))
			return fail(op, "find disagrees with the shadow");
	}
	if ((op->kind == T_FREE || op->kind == T_FREETOP) && err == MAPPING_OK &&
	    (!range_ok(addr, a[1]) || addr < a[3] ||
	     addr + (a[1] - 1) > a[4] || (addr & (a[2] - 1)) ||
	     (op->kind == T_FREE && addr < a[0]) ||
	     (op->kind == T_FREETOP && a[0] && addr > a[0]) ||
	     sh_meets(s, addr, addr + (a[1] - 1))))
		return fail(op, "free area is not free or outside the limits");
	return 0;
}

static int run(struct replay *r, const struct trace *t)
{
	const uint64_t *p = t->w, *end = t->w + t->nw;
	struct memory_set *set = &r->set;
	void *pt = r->check ? &r->shadow : NULL;

	while (p < end) {
		enum mapping_error err = MAPPING_OK;
		const struct memory_area *found = NULL;
		struct memory_set_iter it;
		struct trace_op op;
		struct trace_prot prot;
		uint64_t addr = 0;
		const uint64_t *a;
		bool yes;

		p = trace_next(p, &op);
		a = op.arg;
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
			err = memory_set_unmap(set, a[0], a[1], pt);
			if (r->print)
				print_result(err);
			break;
		case T_PROTECT:
			prot.flags = a[2];
			prot.mask = a[3];
			err = memory_set_protect(set, a[0], a[1], trace_prot_update,
						 &prot, pt);
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
		if (r->check && check_op(r, &op, err, found, addr))
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
		uint64_t f = a->flags;

		human_size(size, sizeof(size), a->size);
		snprintf(line, sizeof(line), "%08llx-%08llx %c%c%c%c %7s %s\n",
			 (unsigned long long)a->start,
			 (unsigned long long)memory_area_end(a),
			 f & 1 ? 'r' : '-', f & 2 ? 'w' : '-',
			 f & 4 ? 'x' : '-', f & 8 ? 's' : 'p', size,
			 f & 16 ? "file" : "anon");
		out_str(line);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: ms-replay [--quiet] [--check | --check-full] [--maps] TRACE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct replay r;
	struct memory_set_options opts = {
		.size = sizeof(opts),
		.allocator = &memory_set_malloc_allocator,
	};
	bool quiet = false, maps = false;
	const char *path = NULL;
	struct timespec t0, t1;
	struct trace t;
	double secs;
	size_t len;
	char *buf;
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
	if (trace_read_file(path, &buf, &len))
		return 1;
	rc = trace_parse(&t, buf, len, path);
	free(buf);
	if (rc)
		return 1;

	if (memory_set_init(&r.set, &opts) != MAPPING_OK) {
		fprintf(stderr, "ms-replay: memory_set_init failed\n");
		return 1;
	}
	r.backend.ops = r.check ? &check_ops : &trace_null_ops;
	r.shadow.lo = UINT64_MAX;
	r.print = !quiet && !maps;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = run(&r, &t);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == 0 && r.check && (memory_set_check(&r.set) ||
				   !agree(&r.set, &r.shadow, 0, UINT64_MAX))) {
		fprintf(stderr, "end of trace: check failed: %s\n",
			memory_set_check(&r.set) ? memory_set_check(&r.set)
			: "the set and the shadow page table differ");
		rc = -1;
	}
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;

	if (rc == 0 && maps)
		print_maps(&r.set);
	if (rc == 0 && quiet)
		fprintf(stderr, "ops %llu secs %.6f ns_per_op %.1f areas %llu\n",
			(unsigned long long)t.nops, secs,
			t.nops ? secs * 1e9 / (double)t.nops : 0.0,
			(unsigned long long)memory_set_len(&r.set));
	if (out_flush()) {
		fprintf(stderr, "ms-replay: error writing the output\n");
		rc = -1;
	}
	memory_set_destroy(&r.set);
	free(r.shadow.r);
	trace_free(&t);
	return rc ? 1 : 0;
}
