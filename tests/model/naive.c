/*
 * The naive model: see naive.h. Mutations build a new array from the old one
 * area by area; ranges are handled as [start, last] so that an area ending at
 * 2^64 needs no special case, and sizes are used only as size - 1, which
 * is right for the one area of size 0, [0, 2^64).
 */
#include "naive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t last_of(const struct naive_area *a)
{
	return a->start + (a->size - 1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "naive model: out of memory\n");
		abort();
	}
	return p;
}

/* An operation adds at most two areas: room for the result. */
static struct naive_area *new_array(struct naive *m)
{
	return xmalloc((m->n + 2) * sizeof(struct naive_area));
}

static void set_array(struct naive *m, struct naive_area *a, size_t n)
{
	free(m->a);
	m->a = a;
	m->n = n;
}

static void put(struct naive_area *out, size_t *k, uint64_t start,
		uint64_t last, uint64_t flags)
{
	out[*k].start = start;
	out[*k].size = last - start + 1;
	out[*k].flags = flags;
	(*k)++;
}

/* Start and size multiples of the granule, and the range ends by 2^64. */
static bool range_ok(const struct naive *m, uint64_t start, uint64_t size)
{
	if (start % m->granule || size % m->granule)
		return false;
	return size == 0 || size - 1 <= UINT64_MAX - start;
}

/* With merge on, join every touching pair with equal flags. */
static void merge_all(struct naive *m)
{
	size_t i, k = 0;

	if (!m->merge)
		return;
	for (i = 0; i < m->n; i++) {
		struct naive_area *prev = k ? &m->a[k - 1] : NULL;
		const struct naive_area *a = &m->a[i];

		/* Sizes add modulo 2^64: [0, 2^64) comes out as size 0. */
		if (prev && last_of(prev) + 1 == a->start &&
		    prev->flags == a->flags)
			prev->size += a->size;
		else
			m->a[k++] = *a;
	}
	m->n = k;
}

/* Remove [start, last] from every area: pieces outside the range stay. */
static void cut(struct naive *m, uint64_t start, uint64_t last)
{
	struct naive_area *out = new_array(m);
	size_t i, k = 0;

	for (i = 0; i < m->n; i++) {
		const struct naive_area *a = &m->a[i];
		uint64_t al = last_of(a);

		if (al < start || a->start > last) {
			out[k++] = *a;
			continue;
		}
		if (a->start < start)
			put(out, &k, a->start, start - 1, a->flags);
		if (al > last)
			put(out, &k, last + 1, al, a->flags);
	}
	set_array(m, out, k);
}

void naive_init(struct naive *m)
{
	memset(m, 0, sizeof(*m));
	m->granule = 0x1000;
}

void naive_free(struct naive *m)
{
	free(m->a);
	naive_init(m);
}

enum mapping_error naive_set_granule(struct naive *m, uint64_t g)
{
	if (g == 0 || (g & (g - 1)))
		return MAPPING_ERR_INVALID_PARAM;
	m->granule = g;
	return MAPPING_OK;
}

void naive_set_merge(struct naive *m, bool on)
{
	m->merge = on;
	merge_all(m);
}

static enum mapping_error do_map(struct naive *m, uint64_t start,
				 uint64_t size, uint64_t flags, bool replace)
{
	struct naive_area *out;
	size_t i, k = 0;

	if (size == 0 || !range_ok(m, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (naive_overlaps(m, start, size)) {
		if (!replace)
			return MAPPING_ERR_ALREADY_EXISTS;
		cut(m, start, start + (size - 1));
	}
	out = new_array(m);
	for (i = 0; i < m->n && m->a[i].start < start; i++)
		out[k++] = m->a[i];
	put(out, &k, start, start + (size - 1), flags);
	for (; i < m->n; i++)
		out[k++] = m->a[i];
	set_array(m, out, k);
	merge_all(m);
	return MAPPING_OK;
}

static enum mapping_error do_unmap(struct naive *m, uint64_t start,
				   uint64_t size)
{
	if (!range_ok(m, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (size)
		cut(m, start, start + (size - 1));
	return MAPPING_OK;
}

static enum mapping_error do_protect(struct naive *m, uint64_t start,
				     uint64_t size, uint64_t flags,
				     uint64_t mask)
{
	struct naive_area *out;
	uint64_t last;
	size_t i, k = 0;

	if (!range_ok(m, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (size == 0)
		return MAPPING_OK;
	last = start + (size - 1);
	out = new_array(m);
	for (i = 0; i < m->n; i++) {
		const struct naive_area *a = &m->a[i];
		uint64_t al = last_of(a), lo, hi;

		if (al < start || a->start > last ||
		    (a->flags & mask) == (flags & mask)) {
			out[k++] = *a;
			continue;
		}
		lo = a->start > start ? a->start : start;
		hi = al < last ? al : last;
		if (a->start < lo)
			put(out, &k, a->start, lo - 1, a->flags);
		put(out, &k, lo, hi, (flags & mask) | (a->flags & ~mask));
		if (al > hi)
			put(out, &k, hi + 1, al, a->flags);
	}
	set_array(m, out, k);
	merge_all(m);
	return MAPPING_OK;
}

/*
 * The limit rule: an operation runs on a copy of the array and is undone
 * if it left more areas than before and more than the limit.
 */
struct snapshot {
	struct naive_area *a;
	size_t n;
};

static void save(const struct naive *m, struct snapshot *s)
{
	s->n = m->n;
	s->a = NULL;
	if (m->max_areas) {
		s->a = xmalloc(m->n * sizeof(struct naive_area));
		if (m->n)
			memcpy(s->a, m->a, m->n * sizeof(struct naive_area));
	}
}

static enum mapping_error limit(struct naive *m, struct snapshot *s,
				enum mapping_error err)
{
	if (err == MAPPING_OK && m->max_areas && m->n > s->n &&
	    m->n > m->max_areas) {
		set_array(m, s->a, s->n);
		return MAPPING_ERR_NO_MEMORY;
	}
	free(s->a);
	return err;
}

enum mapping_error naive_map(struct naive *m, uint64_t start, uint64_t size,
			     uint64_t flags, bool replace)
{
	struct snapshot s;

	save(m, &s);
	return limit(m, &s, do_map(m, start, size, flags, replace));
}

enum mapping_error naive_unmap(struct naive *m, uint64_t start, uint64_t size)
{
	struct snapshot s;

	save(m, &s);
	return limit(m, &s, do_unmap(m, start, size));
}

enum mapping_error naive_protect(struct naive *m, uint64_t start, uint64_t size,
				 uint64_t flags, uint64_t mask)
{
	struct snapshot s;

	save(m, &s);
	return limit(m, &s, do_protect(m, start, size, flags, mask));
}

void naive_clear(struct naive *m)
{
	m->n = 0;
}

void naive_set_max_areas(struct naive *m, uint64_t max)
{
	m->max_areas = max;
}

/* Does every byte of [start, last] lie in an area with all bits of @mask? */
static bool covered(const struct naive *m, uint64_t start, uint64_t last,
		    uint64_t mask)
{
	uint64_t pos = start;
	size_t i;

	for (i = 0; i < m->n; i++) {
		const struct naive_area *a = &m->a[i];

		if (last_of(a) < pos)
			continue;
		if (a->start > pos || (a->flags & mask) != mask)
			return false;
		if (last_of(a) >= last)
			return true;
		pos = last_of(a) + 1;
	}
	return false;
}

enum mapping_error naive_can_access(const struct naive *m, uint64_t start,
				    uint64_t size, uint64_t mask)
{
	if (size && size - 1 > UINT64_MAX - start)
		return MAPPING_ERR_INVALID_PARAM;
	if (size == 0 || covered(m, start, start + (size - 1), mask))
		return MAPPING_OK;
	return MAPPING_ERR_BAD_STATE;
}

enum mapping_error naive_unmap_strict(struct naive *m, uint64_t start,
				      uint64_t size)
{
	if (!range_ok(m, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (size && !covered(m, start, start + (size - 1), 0))
		return MAPPING_ERR_NO_MEMORY;
	return naive_unmap(m, start, size);
}

enum mapping_error naive_protect_strict(struct naive *m, uint64_t start,
					uint64_t size, uint64_t flags,
					uint64_t mask)
{
	if (!range_ok(m, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	if (size && !covered(m, start, start + (size - 1), 0))
		return MAPPING_ERR_NO_MEMORY;
	return naive_protect(m, start, size, flags, mask);
}

/* The area holding all of [start, start+size), or NULL. */
static struct naive_area *holder(struct naive *m, uint64_t start,
				 uint64_t size)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		struct naive_area *a = &m->a[i];

		if (a->start <= start && last_of(a) >= start)
			return last_of(a) - start >= size - 1 ? a : NULL;
	}
	return NULL;
}

enum mapping_error naive_remap(struct naive *m, uint64_t start, uint64_t size,
			       uint64_t new_size)
{
	struct naive_area *a;
	struct snapshot s;

	if (size == 0 || new_size == 0 || new_size % m->granule ||
	    !range_ok(m, start, size) || !range_ok(m, start, new_size))
		return MAPPING_ERR_INVALID_PARAM;
	a = holder(m, start, size);
	if (!a)
		return MAPPING_ERR_BAD_STATE;
	if (new_size == size)
		return MAPPING_OK;
	if (new_size < size)
		return naive_unmap(m, start + new_size, size - new_size);
	/* Growing: the range ends the area and the space after it is free. */
	if (last_of(a) != start + (size - 1) ||
	    naive_overlaps(m, start + size, new_size - size))
		return MAPPING_ERR_NO_MEMORY;
	save(m, &s);
	a->size += new_size - size; /* modulo 2^64: [0, 2^64) has size 0 */
	merge_all(m);
	return limit(m, &s, MAPPING_OK);
}

enum mapping_error naive_remap_fixed(struct naive *m, uint64_t start,
				     uint64_t size, uint64_t new_size,
				     uint64_t new_start)
{
	const struct naive_area *a;
	struct snapshot s;
	uint64_t flags;

	if (size == 0 || new_size == 0 || !range_ok(m, start, size) ||
	    !range_ok(m, new_start, new_size))
		return MAPPING_ERR_INVALID_PARAM;
	/* [start, start+size) and [new_start, new_start+new_size) overlap? */
	if (start <= new_start + (new_size - 1) &&
	    new_start <= start + (size - 1))
		return MAPPING_ERR_INVALID_PARAM;
	a = holder(m, start, size);
	if (!a)
		return MAPPING_ERR_BAD_STATE;
	flags = a->flags;
	save(m, &s);
	cut(m, start, start + (size - 1));
	return limit(m, &s, do_map(m, new_start, new_size, flags, true));
}


const struct naive_area *naive_find(const struct naive *m, uint64_t addr)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (addr >= m->a[i].start && addr - m->a[i].start <= m->a[i].size - 1)
			return &m->a[i];
	return NULL;
}

bool naive_overlaps(const struct naive *m, uint64_t start, uint64_t size)
{
	uint64_t last;
	size_t i;

	if (size == 0)
		return false;
	last = size - 1 > UINT64_MAX - start ? UINT64_MAX : start + (size - 1);
	for (i = 0; i < m->n; i++)
		if (m->a[i].start <= last && last_of(&m->a[i]) >= start)
			return true;
	return false;
}

/* Free range number @i: the one before area @i (i == n: after the last). */
static bool gap(const struct naive *m, size_t i, uint64_t *lo, uint64_t *hi)
{
	*lo = 0;
	*hi = UINT64_MAX;
	if (i > 0) {
		if (last_of(&m->a[i - 1]) == UINT64_MAX)
			return false;
		*lo = last_of(&m->a[i - 1]) + 1;
	}
	if (i < m->n) {
		if (m->a[i].start == 0)
			return false;
		*hi = m->a[i].start - 1;
	}
	return *lo <= *hi;
}

/* Lowest multiple of @align with [a, a+size) inside [lo, hi]. */
static bool fit_low(uint64_t lo, uint64_t hi, uint64_t size, uint64_t align,
		    uint64_t *out)
{
	uint64_t a;

	if (lo > UINT64_MAX - (align - 1))
		return false;
	a = (lo + (align - 1)) & ~(align - 1);
	if (a > hi || hi - a < size - 1)
		return false;
	*out = a;
	return true;
}

/* Highest multiple of @align with [a, a+size) inside [lo, hi]. */
static bool fit_high(uint64_t lo, uint64_t hi, uint64_t size, uint64_t align,
		     uint64_t *out)
{
	uint64_t a;

	if (hi - lo < size - 1)
		return false;
	a = (hi - (size - 1)) & ~(align - 1);
	if (a < lo)
		return false;
	*out = a;
	return true;
}

/* Walk every free range, lowest first (or highest first), clipped to [lo, hi]. */
enum mapping_error naive_free_area(const struct naive *m, uint64_t hint,
				   uint64_t size, uint64_t align,
				   uint64_t first, uint64_t last, bool top,
				   uint64_t *out)
{
	uint64_t lo = first, hi = last, g0, g1;
	size_t i;

	if (size == 0 || align == 0 || (align & (align - 1)) || first > last)
		return MAPPING_ERR_INVALID_PARAM;
	if (!top && hint > lo)
		lo = hint;
	/* freetop: the range must end at or below hint + size. */
	if (top && hint && hint <= UINT64_MAX - (size - 1) &&
	    hint + (size - 1) < hi)
		hi = hint + (size - 1);
	for (i = 0; i <= m->n; i++) {
		size_t g = top ? m->n - i : i;

		if (!gap(m, g, &g0, &g1))
			continue;
		if (g0 < lo)
			g0 = lo;
		if (g1 > hi)
			g1 = hi;
		if (g0 > g1)
			continue;
		if (top ? fit_high(g0, g1, size, align, out)
			: fit_low(g0, g1, size, align, out))
			return MAPPING_OK;
	}
	return MAPPING_ERR_NO_MEMORY;
}

size_t naive_len(const struct naive *m)
{
	return m->n;
}

const struct naive_area *naive_area(const struct naive *m, size_t i)
{
	return i < m->n ? &m->a[i] : NULL;
}

size_t naive_gaps(const struct naive *m, uint64_t first, uint64_t last,
		  uint64_t *starts, uint64_t *sizes, size_t max)
{
	uint64_t lo, hi;
	size_t i, k = 0;

	if (first > last)
		return 0;
	for (i = 0; i <= m->n; i++) {
		if (!gap(m, i, &lo, &hi) || hi < first || lo > last)
			continue;
		if (lo < first)
			lo = first;
		if (hi > last)
			hi = last;
		if (k < max) {
			starts[k] = lo;
			sizes[k] = hi - lo + 1; /* the whole space: 0 */
		}
		k++;
	}
	return k;
}
