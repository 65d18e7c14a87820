/* The unit tests' mock backends, counting allocator and checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"

/* ---- shadow page table ---------------------------------------------- */

/* Index of the first run whose last byte is >= addr (s->n if none). */
static size_t sh_lower(const struct shadow *s, uint64_t addr)
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

static void sh_insert_at(struct shadow *s, size_t i, struct run r)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->r = realloc(s->r, s->cap * sizeof(*s->r));
		assert_non_null(s->r);
	}
	memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
	s->r[i] = r;
	s->n++;
}

/* Make a run begin at addr, cutting the run that holds it. */
static void sh_cut(struct shadow *s, uint64_t addr)
{
	size_t i = sh_lower(s, addr);

	if (i < s->n && s->r[i].start < addr) {
		struct run right = s->r[i];
		right.off += addr - right.start;
		right.start = addr;
		s->r[i].last = addr - 1;
		sh_insert_at(s, i + 1, right);
	}
}

static bool sh_free(const struct shadow *s, uint64_t start, uint64_t last)
{
	size_t i = sh_lower(s, start);
	return i == s->n || s->r[i].start > last;
}

/*
 * Every page of [start, last] mapped, with flags (unless any_flags) and the
 * offsets a piece starting at start with offset off would have.
 */
static void sh_assert_mapped(const struct shadow *s, uint64_t start,
			     uint64_t last, bool any_flags, uint64_t flags,
			     uint64_t off)
{
	size_t i = sh_lower(s, start);
	uint64_t cur = start;

	for (;;) {
		if (i >= s->n || s->r[i].start > cur)
			fail_msg("hook on unmapped page %#llx",
				 (unsigned long long)cur);
		if (!any_flags && s->r[i].flags != flags)
			fail_msg("hook old_flags %#llx but page %#llx has %#llx",
				 (unsigned long long)flags,
				 (unsigned long long)cur,
				 (unsigned long long)s->r[i].flags);
		if (s->r[i].off + (cur - s->r[i].start) != off + (cur - start))
			fail_msg("hook data does not match page %#llx",
				 (unsigned long long)cur);
		if (s->r[i].last >= last)
			return;
		cur = s->r[i].last + 1;
		i++;
	}
}

static void sh_remove(struct shadow *s, uint64_t start, uint64_t last)
{
	size_t i, j;

	sh_cut(s, start);
	if (last != TOP)
		sh_cut(s, last + 1);
	i = sh_lower(s, start);
	for (j = i; j < s->n && s->r[j].last <= last; j++)
		;
	memmove(&s->r[i], &s->r[j], (s->n - j) * sizeof(*s->r));
	s->n -= j - i;
}

static void sh_set_flags(struct shadow *s, uint64_t start, uint64_t last,
			 uint64_t flags)
{
	size_t i;

	sh_cut(s, start);
	if (last != TOP)
		sh_cut(s, last + 1);
	for (i = sh_lower(s, start); i < s->n && s->r[i].start <= last; i++)
		s->r[i].flags = flags;
}

/*
 * Put the runs of src in [start, last] into dst at start + delta, offsets
 * kept (the same frames); with identity, each offset becomes its new
 * address instead. dst is free there (checked by the callers).
 */
static void sh_copy(struct shadow *dst, const struct shadow *src,
		    uint64_t start, uint64_t last, uint64_t delta,
		    bool identity)
{
	size_t i;

	for (i = sh_lower(src, start); i < src->n && src->r[i].start <= last;
	     i++) {
		struct run r = src->r[i];

		if (r.start < start) {
			r.off += start - r.start;
			r.start = start;
		}
		if (r.last > last)
			r.last = last;
		r.start += delta;
		r.last += delta;
		if (identity)
			r.off = r.start;
		sh_insert_at(dst, sh_lower(dst, r.start), r);
	}
}

/* ---- mock page table ------------------------------------------------- */

void mock_init(struct mock *m, uint64_t page)
{
	memset(m, 0, sizeof(*m));
	m->page = page;
}

void mock_fini(struct mock *m)
{
	free(m->sh.r);
	m->sh.r = NULL;
	m->sh.n = m->sh.cap = 0;
}

void mock_fail_in(struct mock *m, unsigned long n, enum mapping_error err)
{
	assert_true(m->nfail < MOCK_MAX_FAIL);
	m->fail_at[m->nfail] = m->calls + n;
	m->fail_err[m->nfail++] = err;
}

void mock_clear_log(struct mock *m)
{
	m->nlog = 0;
}

/* Count and log a hook call; an error if it must fail. */
static enum mapping_error mock_log_call(struct mock *m, struct hook_call c)
{
	int i;

	m->calls++;
	if (m->nlog == MOCK_LOG) {
		memmove(&m->log[0], &m->log[1], (MOCK_LOG - 1) * sizeof(c));
		m->nlog--;
	}
	m->log[m->nlog++] = c;
	for (i = 0; i < m->nfail; i++) {
		if (m->fail_at[i] == m->calls) {
			m->failed++;
			return m->fail_err[i];
		}
	}
	return MAPPING_OK;
}

/* Check a hook's range, then count and log the call. */
static enum mapping_error mock_enter(struct mock *m, enum hook_kind kind,
				     void *data, uint64_t start, uint64_t size,
				     uint64_t old_flags, uint64_t new_flags)
{
	struct hook_call c = {
		.kind = kind, .start = start, .size = size,
		.old_flags = old_flags, .new_flags = new_flags, .data = data,
	};

	assert_non_null(m);
	/* Size 0 stands for 2^64: only the whole-space area [0, 2^64). */
	if (size == 0 && start != 0)
		fail_msg("hook called with size 0 at %#llx",
			 (unsigned long long)start);
	if (start % m->page || size % m->page)
		fail_msg("hook range %#llx+%#llx not page aligned",
			 (unsigned long long)start, (unsigned long long)size);
	if (size - 1 > TOP - start)
		fail_msg("hook range %#llx+%#llx passes 2^64",
			 (unsigned long long)start, (unsigned long long)size);
	return mock_log_call(m, c);
}

static enum mapping_error do_map(struct mock *m, void *data, uint64_t start,
				 uint64_t size, uint64_t flags, uint64_t off)
{
	uint64_t last = start + (size - 1);
	enum mapping_error err;

	if (!sh_free(&m->sh, start, last))
		fail_msg("map hook on mapped pages in %#llx+%#llx",
			 (unsigned long long)start, (unsigned long long)size);
	err = mock_enter(m, HOOK_MAP, data, start, size, 0, flags);
	if (err)
		return err;
	sh_insert_at(&m->sh, sh_lower(&m->sh, start),
		     (struct run){ start, last, flags, off });
	return MAPPING_OK;
}

static enum mapping_error do_unmap(struct mock *m, void *data, uint64_t start,
				   uint64_t size, uint64_t off)
{
	uint64_t last = start + (size - 1);
	enum mapping_error err;

	sh_assert_mapped(&m->sh, start, last, true, 0, off);
	err = mock_enter(m, HOOK_UNMAP, data, start, size, 0, 0);
	if (err)
		return err;
	sh_remove(&m->sh, start, last);
	return MAPPING_OK;
}

static enum mapping_error do_protect(struct mock *m, void *data,
				     uint64_t start, uint64_t size,
				     uint64_t old_flags, uint64_t new_flags,
				     uint64_t off)
{
	uint64_t last = start + (size - 1);
	enum mapping_error err;

	sh_assert_mapped(&m->sh, start, last, false, old_flags, off);
	err = mock_enter(m, HOOK_PROTECT, data, start, size, old_flags, new_flags);
	if (err)
		return err;
	sh_set_flags(&m->sh, start, last, new_flags);
	return MAPPING_OK;
}

/* Plain backend: identity offsets. */
static enum mapping_error plain_map(void *data, uint64_t start, uint64_t size,
				    uint64_t flags, void *pt)
{
	return do_map(pt, data, start, size, flags, start);
}

static enum mapping_error plain_unmap(void *data, uint64_t start,
				      uint64_t size, void *pt)
{
	return do_unmap(pt, data, start, size, start);
}

static enum mapping_error plain_protect(void *data, uint64_t start,
					uint64_t size, uint64_t old_flags,
					uint64_t new_flags, void *pt)
{
	return do_protect(pt, data, start, size, old_flags, new_flags, start);
}

const struct mapping_backend_ops mock_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = plain_map,
	.unmap = plain_unmap,
	.protect = plain_protect,
};

static bool merge_all(const struct memory_area *l, const struct memory_area *r)
{
	(void)l;
	(void)r;
	return true;
}

const struct mapping_backend_ops mock_ops_merge_all = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = plain_map,
	.unmap = plain_unmap,
	.protect = plain_protect,
	.can_merge = merge_all,
};

unsigned long mock_released;
uint64_t mock_release_log[MOCK_LOG];
unsigned mock_nrelease;

static void log_release(uint64_t start)
{
	if (mock_nrelease == MOCK_LOG) {
		memmove(&mock_release_log[0], &mock_release_log[1],
			(MOCK_LOG - 1) * sizeof(mock_release_log[0]));
		mock_nrelease--;
	}
	mock_release_log[mock_nrelease++] = start;
}

static void plain_release(void *data, uint64_t start, uint64_t size)
{
	(void)data;
	(void)size;
	mock_released++;
	log_release(start);
}

const struct mapping_backend_ops mock_ops_release = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = plain_map,
	.unmap = plain_unmap,
	.protect = plain_protect,
	.release = plain_release,
};

/* dup with page-table offsets off: copy the source's pages to dst. */
static enum mapping_error do_dup(void *data, uint64_t start, uint64_t size,
				 uint64_t flags, uint64_t off,
				 struct mock *src, struct mock *dst)
{
	uint64_t last = start + (size - 1);
	struct hook_call c = {
		.kind = HOOK_DUP, .start = start, .size = size,
		.new_flags = flags, .data = data, .src_pt = src,
	};
	enum mapping_error err;

	assert_non_null(src);
	assert_non_null(dst);
	if (src == dst)
		fail_msg("dup hook with one page table for both sets");
	sh_assert_mapped(&src->sh, start, last, false, flags, off);
	if (!sh_free(&dst->sh, start, last))
		fail_msg("dup hook onto mapped pages at %#llx",
			 (unsigned long long)start);
	err = mock_log_call(dst, c);
	if (err)
		return err;
	sh_copy(&dst->sh, &src->sh, start, last, 0, false);
	return MAPPING_OK;
}

/* move with page-table offset off at old_start; identity: plain offsets. */
static enum mapping_error do_move(struct mock *m, void *data,
				  uint64_t old_start, uint64_t new_start,
				  uint64_t size, uint64_t flags, uint64_t off,
				  bool identity)
{
	uint64_t last = old_start + (size - 1);
	struct hook_call c = {
		.kind = HOOK_MOVE, .start = old_start, .size = size,
		.old_flags = flags, .new_flags = flags, .data = data,
		.new_start = new_start,
	};
	enum mapping_error err;
	struct shadow tmp = { NULL, 0, 0 };

	assert_non_null(m);
	if (size == 0 || old_start % m->page || new_start % m->page ||
	    size % m->page || size - 1 > TOP - old_start ||
	    size - 1 > TOP - new_start)
		fail_msg("move hook %#llx -> %#llx + %#llx out of range",
			 (unsigned long long)old_start,
			 (unsigned long long)new_start,
			 (unsigned long long)size);
	if (!(last < new_start || new_start + (size - 1) < old_start))
		fail_msg("move hook with overlapping ranges");
	sh_assert_mapped(&m->sh, old_start, last, false, flags, off);
	if (!sh_free(&m->sh, new_start, new_start + (size - 1)))
		fail_msg("move hook onto mapped pages at %#llx",
			 (unsigned long long)new_start);
	err = mock_log_call(m, c);
	if (err)
		return err;
	sh_copy(&tmp, &m->sh, old_start, last, new_start - old_start,
		identity);
	sh_remove(&m->sh, old_start, last);
	sh_copy(&m->sh, &tmp, new_start, new_start + (size - 1), 0, false);
	free(tmp.r);
	return MAPPING_OK;
}

static enum mapping_error plain_dup(void *data, uint64_t start, uint64_t size,
				    uint64_t flags, void *src_pt, void *dst_pt,
				    void **child_data)
{
	enum mapping_error err = do_dup(data, start, size, flags, start,
					src_pt, dst_pt);

	if (err == MAPPING_OK)
		*child_data = data;
	return err;
}

static enum mapping_error plain_move(void *data, uint64_t old_start,
				     uint64_t new_start, uint64_t size,
				     uint64_t flags, void *pt)
{
	return do_move(pt, data, old_start, new_start, size, flags, old_start,
		       true);
}

static enum mapping_error plain_fault(void *data,
				      const struct memory_area *area,
				      uint64_t addr, uint64_t access,
				      void *pt)
{
	struct hook_call c = {
		.kind = HOOK_FAULT, .start = addr, .old_flags = access,
		.data = data, .area = area,
	};
	enum mapping_error err;
	uint64_t need = access & (MAPPING_ACCESS_READ | MAPPING_ACCESS_WRITE |
				  MAPPING_ACCESS_EXEC);

	assert_non_null(pt);
	assert_non_null(area);
	if (!memory_area_contains(area, addr))
		fail_msg("fault hook at %#llx given another area",
			 (unsigned long long)addr);
	if (area->backend.data != data)
		fail_msg("fault hook given another area's data");
	err = mock_log_call(pt, c);
	if (err)
		return err;
	return (area->flags & need) == need ? MAPPING_OK
					    : MAPPING_ERR_ACCESS_DENIED;
}

const struct mapping_backend_ops mock_ops_v2 = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = plain_map,
	.unmap = plain_unmap,
	.protect = plain_protect,
	.dup = plain_dup,
	.move = plain_move,
	.fault = plain_fault,
};

const struct mapping_backend_ops mock_ops_v2_release = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = plain_map,
	.unmap = plain_unmap,
	.protect = plain_protect,
	.release = plain_release,
	.dup = plain_dup,
	.move = plain_move,
	.fault = plain_fault,
};

static enum mapping_error trap_dup(void *data, uint64_t start, uint64_t size,
				   uint64_t flags, void *src_pt, void *dst_pt,
				   void **child_data)
{
	(void)data, (void)start, (void)size, (void)flags;
	(void)src_pt, (void)dst_pt, (void)child_data;
	fail_msg("dup hook of a version 1 table called");
	return MAPPING_ERR_BAD_STATE;
}

static enum mapping_error trap_move(void *data, uint64_t old_start,
				    uint64_t new_start, uint64_t size,
				    uint64_t flags, void *pt)
{
	(void)data, (void)old_start, (void)new_start, (void)size;
	(void)flags, (void)pt;
	fail_msg("move hook of a version 1 table called");
	return MAPPING_ERR_BAD_STATE;
}

static enum mapping_error trap_fault(void *data,
				     const struct memory_area *area,
				     uint64_t addr, uint64_t access, void *pt)
{
	(void)data, (void)area, (void)addr, (void)access, (void)pt;
	fail_msg("fault hook of a version 1 table called");
	return MAPPING_ERR_BAD_STATE;
}

const struct mapping_backend_ops mock_ops_v1_trap = {
	.version = MAPPING_BACKEND_OPS_VERSION_1,
	.map = plain_map,
	.unmap = plain_unmap,
	.protect = plain_protect,
	.dup = trap_dup,
	.move = trap_move,
	.fault = trap_fault,
};

/* ---- owned data: one tag per area, no move hook ----------------------- */

/* Tag states by id: 1 alive, 2 released. Ids start at 1, so a tag is never
 * NULL, and are never reused, so a stale tag cannot look alive. */
#define OWNED_MAX 4096
static unsigned char owned_state[OWNED_MAX];
static unsigned owned_n;
static long owned_live_n;

void *owned_new(void)
{
	if (owned_n + 1 >= OWNED_MAX)
		fail_msg("out of owned tags");
	owned_state[++owned_n] = 1;
	owned_live_n++;
	return (void *)(uintptr_t)owned_n;
}

bool owned_alive(const void *tag)
{
	uintptr_t id = (uintptr_t)tag;

	return id > 0 && id <= owned_n && owned_state[id] == 1;
}

long owned_live(void)
{
	return owned_live_n;
}

static void owned_check(const void *tag, const char *hook)
{
	if (!owned_alive(tag))
		fail_msg("%s hook given a tag that is not alive (%p)", hook,
			 tag);
}

static enum mapping_error owned_map(void *data, uint64_t start, uint64_t size,
				    uint64_t flags, void *pt)
{
	owned_check(data, "map");
	return do_map(pt, data, start, size, flags, start);
}

static enum mapping_error owned_unmap(void *data, uint64_t start,
				      uint64_t size, void *pt)
{
	owned_check(data, "unmap");
	return do_unmap(pt, data, start, size, start);
}

static enum mapping_error owned_protect(void *data, uint64_t start,
					uint64_t size, uint64_t old_flags,
					uint64_t new_flags, void *pt)
{
	owned_check(data, "protect");
	return do_protect(pt, data, start, size, old_flags, new_flags, start);
}

static enum mapping_error owned_split(void *data, uint64_t start,
				      uint64_t size, uint64_t offset,
				      void **right_data)
{
	(void)start, (void)size, (void)offset;
	owned_check(data, "split");
	*right_data = owned_new();
	return MAPPING_OK;
}

static void owned_release(void *data, uint64_t start, uint64_t size)
{
	(void)start, (void)size;
	owned_check(data, "release");
	owned_state[(uintptr_t)data] = 2;
	owned_live_n--;
}

static bool owned_can_merge(const struct memory_area *l,
			    const struct memory_area *r)
{
	owned_check(l->backend.data, "can_merge");
	owned_check(r->backend.data, "can_merge");
	return true;
}

const struct mapping_backend_ops owned_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = owned_map,
	.unmap = owned_unmap,
	.protect = owned_protect,
	.split = owned_split,
	.release = owned_release,
	.can_merge = owned_can_merge,
};

/* ---- file-like backend ------------------------------------------------ */

static long file_live;
/* The data of the map being checked (t_map_b): the set may not take it. */
static const void *file_pending;
static bool file_pending_dropped; /* released (merged away) since */
static unsigned file_ids;
static struct mock *file_split_mock; /* where split failures are counted */

struct file_data *file_data_new(uint64_t file_off, uint64_t vaddr)
{
	struct file_data *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->file_off = file_off;
	d->vaddr = vaddr;
	d->live = 1;
	d->id = ++file_ids;
	file_live++;
	return d;
}

void file_data_drop(struct file_data *d)
{
	assert_int_equal(d->live, 1);
	if (d == file_pending)
		file_pending_dropped = true;
	d->live = 0;
	file_live--;
	free(d);
}

long file_data_live(void)
{
	return file_live;
}

void file_split_fail_in(struct mock *m, unsigned long n)
{
	file_split_mock = m;
	m->split_fail_at = m->split_calls + n;
}

static uint64_t file_off_at(const struct file_data *d, uint64_t addr)
{
	return d->file_off + (addr - d->vaddr);
}

static struct file_data *file_live_data(void *data)
{
	struct file_data *d = data;

	assert_non_null(d);
	if (d->live != 1)
		fail_msg("file hook on released data %u", d->id);
	return d;
}

static enum mapping_error file_map(void *data, uint64_t start, uint64_t size,
				   uint64_t flags, void *pt)
{
	struct file_data *d = file_live_data(data);
	return do_map(pt, data, start, size, flags, file_off_at(d, start));
}

static enum mapping_error file_unmap(void *data, uint64_t start,
				     uint64_t size, void *pt)
{
	struct file_data *d = file_live_data(data);
	return do_unmap(pt, data, start, size, file_off_at(d, start));
}

static enum mapping_error file_protect(void *data, uint64_t start,
				       uint64_t size, uint64_t old_flags,
				       uint64_t new_flags, void *pt)
{
	struct file_data *d = file_live_data(data);
	return do_protect(pt, data, start, size, old_flags, new_flags,
			  file_off_at(d, start));
}

static enum mapping_error file_split(void *data, uint64_t start, uint64_t size,
				     uint64_t offset, void **right_data)
{
	struct file_data *d = file_live_data(data);

	if (offset == 0 || offset >= size)
		fail_msg("split at offset %#llx of an area of size %#llx",
			 (unsigned long long)offset, (unsigned long long)size);
	/* Each area's data begins where the area does (see file_split). */
	if (d->vaddr != start)
		fail_msg("split of the area at %#llx given start %#llx",
			 (unsigned long long)d->vaddr,
			 (unsigned long long)start);
	if (file_split_mock) {
		file_split_mock->split_calls++;
		if (file_split_mock->split_calls == file_split_mock->split_fail_at)
			return MAPPING_ERR_NO_MEMORY;
	}
	*right_data = file_data_new(file_off_at(d, start + offset),
				    start + offset);
	return MAPPING_OK;
}

static void file_release(void *data, uint64_t start, uint64_t size)
{
	struct file_data *d = file_live_data(data);

	(void)size;
	if (d->vaddr != start)
		fail_msg("release of the area at %#llx given start %#llx",
			 (unsigned long long)d->vaddr,
			 (unsigned long long)start);
	log_release(start);
	file_data_drop(d);
}

/* The child gets its own data, at the same file offset. */
static enum mapping_error file_dup(void *data, uint64_t start, uint64_t size,
				   uint64_t flags, void *src_pt, void *dst_pt,
				   void **child_data)
{
	struct file_data *d = file_live_data(data);
	enum mapping_error err;

	if (d->vaddr != start)
		fail_msg("dup of the area at %#llx given start %#llx",
			 (unsigned long long)d->vaddr,
			 (unsigned long long)start);
	err = do_dup(data, start, size, flags, file_off_at(d, start), src_pt,
		     dst_pt);
	if (err == MAPPING_OK)
		*child_data = file_data_new(d->file_off, d->vaddr);
	return err;
}

/* The frames move, and the data now describes the new address. */
static enum mapping_error file_move(void *data, uint64_t old_start,
				    uint64_t new_start, uint64_t size,
				    uint64_t flags, void *pt)
{
	struct file_data *d = file_live_data(data);
	enum mapping_error err;

	if (d->vaddr != old_start)
		fail_msg("move of the area at %#llx given start %#llx",
			 (unsigned long long)d->vaddr,
			 (unsigned long long)old_start);
	err = do_move(pt, data, old_start, new_start, size, flags,
		      file_off_at(d, old_start), false);
	if (err == MAPPING_OK)
		d->vaddr = new_start;
	return err;
}

static bool file_can_merge(const struct memory_area *l,
			   const struct memory_area *r)
{
	const struct file_data *dl = l->backend.data, *dr = r->backend.data;

	return file_off_at(dl, r->start) == file_off_at(dr, r->start);
}

const struct mapping_backend_ops file_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = file_map,
	.unmap = file_unmap,
	.protect = file_protect,
	.split = file_split,
	.release = file_release,
	.can_merge = file_can_merge,
	.dup = file_dup,
	.move = file_move,
};

/* ---- counting allocator ------------------------------------------------ */

/* Each block is preceded by the number of the call that made it. */
#define COUNT_HEAD 16

static void *count_alloc(void *ctx, size_t size)
{
	struct count_alloc *ca = ctx;
	unsigned char *p;

	assert_int_equal(size, MEMORY_SET_NODE_SIZE);
	ca->calls++;
	if (ca->fail_from && ca->calls >= ca->fail_from) {
		ca->failed++;
		return NULL;
	}
	p = malloc(COUNT_HEAD + size);
	assert_non_null(p);
	memcpy(p, &ca->calls, sizeof(ca->calls));
	ca->live++;
	return p + COUNT_HEAD;
}

static void count_free(void *ctx, void *ptr, size_t size)
{
	struct count_alloc *ca = ctx;
	unsigned char *p = (unsigned char *)ptr - COUNT_HEAD;
	unsigned long made;

	assert_int_equal(size, MEMORY_SET_NODE_SIZE);
	assert_non_null(ptr);
	assert_true(ca->live > 0);
	memcpy(&made, p, sizeof(made));
	if (made < ca->keep_below)
		fail_msg("block of allocation %lu given back, while the "
			 "blocks of allocations before %lu must stay",
			 made, ca->keep_below);
	ca->live--;
	ca->frees++;
	free(p);
}

const struct memory_set_allocator count_allocator = {
	.version = MEMORY_SET_ALLOCATOR_VERSION,
	.alloc = count_alloc,
	.free = count_free,
};

/* ---- env ---------------------------------------------------------------- */

static void env_setup(struct env *e, uint64_t granule, bool merge,
		      const struct memory_set_allocator *alloc, void *ctx,
		      long file_others, bool lockless);

void env_init(struct env *e, uint64_t granule, bool merge)
{
	env_init_alloc(e, granule, merge, &count_allocator, NULL);
}

void env_init_alloc(struct env *e, uint64_t granule, bool merge,
		    const struct memory_set_allocator *alloc, void *ctx)
{
	if (file_live != 0) {
		file_live = 0; /* so the next tests start clean */
		fail_msg("file data leaked by an earlier test");
	}
	file_split_mock = &e->m; /* count split calls */
	env_setup(e, granule, merge, alloc, ctx, 0, false);
}

void env_init_child(struct env *e, long file_others)
{
	env_setup(e, 0, false, &count_allocator, NULL, file_others, false);
}

void env_init_lockless(struct env *e, bool merge)
{
	env_setup(e, 0, merge, &count_allocator, NULL, 0, true);
}

static void env_setup(struct env *e, uint64_t granule, bool merge,
		      const struct memory_set_allocator *alloc, void *ctx,
		      long file_others, bool lockless)
{
	struct memory_set_options o;

	memset(e, 0, sizeof(*e));
	mock_init(&e->m, granule ? granule : 4096);
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.merge = merge;
	o.allocator = alloc;
	o.allocator_ctx = ctx ? ctx : &e->ca;
	o.granule = granule;
	o.lockless_lookups = lockless;
	e->lockless = lockless;
	assert_int_equal(memory_set_init(&e->set, &o), MAPPING_OK);
	e->plain.ops = &mock_ops;
	e->plain.data = &e->tag;
	e->file_others = file_others;
	check_env(e);
}

void env_fini(struct env *e)
{
	assert_int_equal(t_clear(e), MAPPING_OK);
	assert_int_equal(e->m.sh.n, 0);
	assert_true(memory_set_is_empty(&e->set));
	e->ca.keep_below = 0;
	memory_set_destroy(&e->set);
	assert_int_equal(e->ca.live, 0);
	assert_int_equal(file_data_live(), e->file_others);
	if (file_split_mock == &e->m)
		file_split_mock = NULL;
	mock_fini(&e->m);
}

/* ---- checks --------------------------------------------------------------- */

static uint64_t area_off(const struct memory_area *a)
{
	if (a->backend.ops == &file_ops)
		return file_off_at(a->backend.data, a->start);
	return a->start;
}

/* Append r to v[*n], joining it to the previous run when continuous. */
static void coalesce(struct run *v, size_t *n, struct run r)
{
	if (*n > 0) {
		struct run *p = &v[*n - 1];
		if (p->last != TOP && p->last + 1 == r.start &&
		    p->flags == r.flags &&
		    p->off + (r.start - p->start) == r.off) {
			p->last = r.last;
			return;
		}
	}
	v[(*n)++] = r;
}

static bool may_merge(const struct memory_area *l, const struct memory_area *r)
{
	if (l->backend.ops != r->backend.ops || l->flags != r->flags)
		return false;
	if (l->backend.ops->can_merge)
		return l->backend.ops->can_merge(l, r);
	return l->backend.data == r->backend.data;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a;
	uintptr_t y = (uintptr_t)*(void *const *)b;
	return x < y ? -1 : x > y;
}

void check_env(struct env *e)
{
	const struct memory_set *set = &e->set;
	const struct shadow *sh = &e->m.sh;
	const char *msg;
	const struct memory_area **v, *a;
	struct memory_set_iter it;
	struct run *sr, *hr;
	void **fd, **ot;
	size_t n, k = 0, nsr = 0, nhr = 0, nfd = 0, not = 0, j;
	uint64_t page = e->m.page;
	/* Queries never write to the set nor allocate: compare afterwards. */
	struct memory_set before;
	unsigned long allocs = e->ca.calls;

	memcpy(&before, set, sizeof(before)); /* bytes, padding included */
	msg = memory_set_check(set);
	if (msg)
		fail_msg("memory_set_check: %s", msg);
	n = memory_set_len(set);
	assert_int_equal(memory_set_is_empty(set), n == 0);
	v = calloc(n + 1, sizeof(*v));
	sr = calloc(n + 1, sizeof(*sr));
	hr = calloc(sh->n + 1, sizeof(*hr));
	fd = calloc(n + 1, sizeof(*fd));
	ot = calloc(n + 1, sizeof(*ot));
	assert_true(v && sr && hr && fd && ot);

	memory_set_foreach(a, &it, set) {
		assert_true(k < n);
		v[k++] = a;
	}
	assert_int_equal(k, n);
	assert_null(memory_set_iter_next(&it));
	memory_set_iter_init_end(&it, set);
	for (j = n; j-- > 0;)
		assert_ptr_equal(memory_set_iter_prev(&it), v[j]);
	assert_null(memory_set_iter_prev(&it));

	for (j = 0; j < n; j++) {
		uint64_t last, gap;

		a = v[j];
		/* Size 0 stands for 2^64: only the whole space, [0, 2^64). */
		assert_true(a->size > 0 || (a->start == 0 && n == 1));
		assert_true(a->size - 1 <= TOP - a->start);
		assert_int_equal(a->start % page, 0);
		assert_int_equal(a->size % page, 0);
		last = memory_area_last(a);
		if (j > 0)
			assert_true(memory_area_last(v[j - 1]) < a->start);
		assert_ptr_equal(memory_set_find(set, a->start), a);
		assert_ptr_equal(memory_set_find(set, last), a);
		assert_true(memory_set_overlaps(set, a->start, 1));
		assert_true(memory_set_overlaps(set, last, 1));
		memory_set_iter_init(&it, set, a->start);
		assert_ptr_equal(memory_set_iter_next(&it), a);
		memory_set_iter_init(&it, set, last);
		assert_ptr_equal(memory_set_iter_next(&it), a);
		/* The gap before a, if any. */
		gap = j ? memory_area_last(v[j - 1]) + 1 : 0;
		if (a->start > gap) {
			assert_null(memory_set_find(set, gap));
			assert_null(memory_set_find(set, a->start - 1));
			assert_false(memory_set_overlaps(set, gap, a->start - gap));
			memory_set_iter_init(&it, set, gap);
			assert_ptr_equal(memory_set_iter_next(&it), a);
			memory_set_iter_init(&it, set, a->start - 1);
			assert_ptr_equal(memory_set_iter_prev(&it),
					 j ? v[j - 1] : NULL);
		}
		if (j > 0 && memory_set_merge_enabled(set) &&
		    memory_area_last(v[j - 1]) + 1 == a->start &&
		    may_merge(v[j - 1], a))
			fail_msg("merge on but areas at %#llx and %#llx separate",
				 (unsigned long long)v[j - 1]->start,
				 (unsigned long long)a->start);
		coalesce(sr, &nsr, (struct run){ a->start, last, a->flags,
						 area_off(a) });
		if (a->backend.ops == &file_ops) {
			struct file_data *d = a->backend.data;
			if (d->live != 1)
				fail_msg("area %#llx holds released data",
					 (unsigned long long)a->start);
			fd[nfd++] = d;
		}
		if (a->backend.ops == &owned_ops) {
			if (!owned_alive(a->backend.data))
				fail_msg("area %#llx holds a released tag",
					 (unsigned long long)a->start);
			ot[not++] = a->backend.data;
		}
	}
	/* The gap after the last area. */
	if (n == 0 || memory_area_last(v[n - 1]) != TOP) {
		uint64_t g = n ? memory_area_last(v[n - 1]) + 1 : 0;
		assert_null(memory_set_find(set, g));
		assert_null(memory_set_find(set, TOP));
		assert_false(memory_set_overlaps(set, g, TOP - g));
		assert_false(memory_set_overlaps(set, TOP, 1));
		memory_set_iter_init(&it, set, g);
		assert_null(memory_set_iter_next(&it));
		memory_set_iter_init(&it, set, g);
		assert_ptr_equal(memory_set_iter_prev(&it), n ? v[n - 1] : NULL);
	}

	/* Page for page: the coalesced set and the coalesced shadow agree. */
	for (j = 0; j < sh->n; j++)
		coalesce(hr, &nhr, sh->r[j]);
	for (j = 0; j < nsr && j < nhr; j++) {
		if (memcmp(&sr[j], &hr[j], sizeof(sr[j])) != 0)
			fail_msg("set and page table differ: set run %#llx-%#llx "
				 "flags %#llx off %#llx, page table %#llx-%#llx "
				 "flags %#llx off %#llx",
				 (unsigned long long)sr[j].start,
				 (unsigned long long)sr[j].last,
				 (unsigned long long)sr[j].flags,
				 (unsigned long long)sr[j].off,
				 (unsigned long long)hr[j].start,
				 (unsigned long long)hr[j].last,
				 (unsigned long long)hr[j].flags,
				 (unsigned long long)hr[j].off);
	}
	if (nsr != nhr)
		fail_msg("set has %zu runs, page table %zu", nsr, nhr);

	/* Small sets: also ask find about every page of their span. */
	if (n > 0 && (memory_area_last(v[n - 1]) - v[0]->start) / page < 8192) {
		uint64_t addr = v[0]->start;
		for (;;) {
			size_t i = sh_lower(sh, addr);
			bool mapped = i < sh->n && sh->r[i].start <= addr;
			a = memory_set_find(set, addr);
			assert_int_equal(a != NULL, mapped);
			if (a)
				assert_int_equal(a->flags, sh->r[i].flags);
			if (addr >= memory_area_last(v[n - 1]) - (page - 1))
				break;
			addr += page;
		}
	}

	/* File data: each area its own live object, and no other alive but
	 * the one a map being checked was given, if the set did not take it. */
	qsort(fd, nfd, sizeof(*fd), cmp_ptr);
	for (j = 1; j < nfd; j++)
		if (fd[j] == fd[j - 1])
			fail_msg("two areas share one file data");
	if (file_pending && !file_pending_dropped &&
	    bsearch(&file_pending, fd, nfd, sizeof(*fd),
				    cmp_ptr) == NULL)
		nfd++;
	assert_int_equal(nfd + e->file_others, file_data_live());
	qsort(ot, not, sizeof(*ot), cmp_ptr);
	for (j = 1; j < not; j++)
		if (ot[j] == ot[j - 1])
			fail_msg("two areas share one owned tag");

	if (memcmp(&before, set, sizeof(before)) != 0)
		fail_msg("a query changed the set");
	assert_int_equal(e->ca.calls, allocs);

	free(v);
	free(sr);
	free(hr);
	free(fd);
	free(ot);
}

void snap_take(struct snap *s, const struct memory_set *set)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	size_t k = 0;

	s->n = memory_set_len(set);
	s->a = calloc(s->n + 1, sizeof(*s->a));
	assert_non_null(s->a);
	memory_set_foreach(a, &it, set) {
		assert_true(k < s->n);
		s->a[k++] = *a;
	}
	assert_int_equal(k, s->n);
}

void snap_assert_same(const struct snap *s, const struct memory_set *set)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	size_t k = 0;

	assert_int_equal(memory_set_len(set), s->n);
	memory_set_foreach(a, &it, set) {
		assert_true(k < s->n);
		assert_int_equal(a->start, s->a[k].start);
		assert_int_equal(a->size, s->a[k].size);
		assert_int_equal(a->flags, s->a[k].flags);
		assert_ptr_equal(a->backend.ops, s->a[k].backend.ops);
		assert_ptr_equal(a->backend.data, s->a[k].backend.data);
		k++;
	}
	assert_int_equal(k, s->n);
}

void snap_free(struct snap *s)
{
	free(s->a);
	s->a = NULL;
}

size_t walk_count(const struct memory_set *set)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	size_t k = 0;

	memory_set_foreach(a, &it, set)
		k++;
	return k;
}

void assert_area(const struct memory_set *set, uint64_t addr, uint64_t start,
		 uint64_t size, uint64_t flags)
{
	const struct memory_area *a = memory_set_find(set, addr);

	if (!a)
		fail_msg("no area at %#llx", (unsigned long long)addr);
	assert_int_equal(a->start, start);
	assert_int_equal(a->size, size);
	assert_int_equal(a->flags, flags);
}

/* ---- operations that check ------------------------------------------------ */

/* Before an operation: what it must not change if it fails early. */
struct before {
	struct snap s;
	unsigned long calls, failed, released, splits, alloc_failed;
	long live;
};

static void before_take(struct env *e, struct before *b)
{
	snap_take(&b->s, &e->set);
	b->calls = e->m.calls;
	b->failed = e->m.failed;
	b->released = mock_released;
	b->live = file_data_live();
	b->splits = e->m.split_calls;
	b->alloc_failed = e->ca.failed;
}

/* bad_state_early: the operation reports BadState before any hook. */
static void after_check_ex(struct env *e, struct before *b,
			   enum mapping_error err, bool bad_state_early)
{
	bool early = err == MAPPING_ERR_INVALID_PARAM ||
		     err == MAPPING_ERR_ALREADY_EXISTS ||
		     err == MAPPING_ERR_NO_MEMORY ||
		     (bad_state_early && err == MAPPING_ERR_BAD_STATE);

	/* A hook that failed with one of these codes is not an early error. */
	if (early && e->m.failed == b->failed) {
		assert_int_equal(e->m.calls, b->calls);
		snap_assert_same(&b->s, &e->set);
		assert_int_equal(mock_released, b->released);
		assert_int_equal(file_data_live(), b->live);
		/* Out of memory: known before any backend call, split too. */
		if (err == MAPPING_ERR_NO_MEMORY && e->ca.failed > b->alloc_failed)
			assert_int_equal(e->m.split_calls, b->splits);
	}
	snap_free(&b->s);
	check_env(e);
}

static void after_check(struct env *e, struct before *b, enum mapping_error err)
{
	after_check_ex(e, b, err, false);
}

enum mapping_error t_map_b(struct env *e, uint64_t start, uint64_t size,
			   uint64_t flags, const struct mapping_backend *b,
			   bool replace)
{
	struct before bf;
	enum mapping_error err;

	before_take(e, &bf);
	if (b && b->ops == &file_ops) {
		file_pending = b->data;
		file_pending_dropped = false;
	}
	err = memory_set_map(&e->set, start, size, flags, b, &e->m, replace);
	after_check(e, &bf, err);
	file_pending = NULL;
	if (err == MAPPING_OK) {
		const struct memory_area *a = memory_set_find(&e->set, start);
		assert_non_null(a);
		assert_int_equal(a->flags, flags);
		assert_true(memory_area_contains(a, start + (size - 1)));
	}
	return err;
}

enum mapping_error t_map(struct env *e, uint64_t start, uint64_t size,
			 uint64_t flags, bool replace)
{
	return t_map_b(e, start, size, flags, &e->plain, replace);
}

enum mapping_error t_unmap(struct env *e, uint64_t start, uint64_t size)
{
	struct before bf;
	enum mapping_error err;

	before_take(e, &bf);
	err = memory_set_unmap(&e->set, start, size, &e->m);
	after_check(e, &bf, err);
	if (err == MAPPING_OK && size == 0)
		assert_int_equal(e->m.calls, bf.calls);
	if (err == MAPPING_OK)
		assert_false(memory_set_overlaps(&e->set, start, size));
	return err;
}

enum mapping_error t_protect_fn(struct env *e, uint64_t start, uint64_t size,
				memory_set_update_fn fn, void *ctx)
{
	struct before bf;
	enum mapping_error err;

	before_take(e, &bf);
	err = memory_set_protect(&e->set, start, size, fn, ctx, &e->m);
	after_check(e, &bf, err);
	if (err == MAPPING_OK && size == 0)
		assert_int_equal(e->m.calls, bf.calls);
	return err;
}

bool mask_update(void *ctx, uint64_t old_flags, uint64_t *new_flags)
{
	struct mask_update *u = ctx;

	u->calls++;
	if ((old_flags & u->mask) == (u->flags & u->mask))
		return false;
	*new_flags = (u->flags & u->mask) | (old_flags & ~u->mask);
	return true;
}

enum mapping_error t_protect(struct env *e, uint64_t start, uint64_t size,
			     uint64_t flags, uint64_t mask)
{
	struct mask_update u = { flags, mask, 0 };
	return t_protect_fn(e, start, size, mask_update, &u);
}

enum mapping_error t_clear(struct env *e)
{
	struct before bf;
	enum mapping_error err;

	before_take(e, &bf);
	err = memory_set_clear(&e->set, &e->m);
	after_check(e, &bf, err);
	if (err == MAPPING_OK)
		assert_true(memory_set_is_empty(&e->set));
	return err;
}

/* ---- random numbers ----------------------------------------------------- */

uint64_t rnd_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t rnd_below(uint64_t *s, uint64_t n)
{
	return rnd_next(s) % n;
}

/* ---- the strict forms and remap ------------------------------------------ */

enum mapping_error t_unmap_strict(struct env *e, uint64_t start,
				  uint64_t size)
{
	struct before bf;
	enum mapping_error err;

	before_take(e, &bf);
	err = memory_set_unmap_strict(&e->set, start, size, &e->m);
	after_check(e, &bf, err);
	if (err == MAPPING_OK)
		assert_false(memory_set_overlaps(&e->set, start, size));
	return err;
}

enum mapping_error t_protect_strict(struct env *e, uint64_t start,
				    uint64_t size, uint64_t flags,
				    uint64_t mask)
{
	struct mask_update u = { flags, mask, 0 };
	struct before bf;
	enum mapping_error err;

	before_take(e, &bf);
	err = memory_set_protect_strict(&e->set, start, size, mask_update, &u,
					&e->m);
	after_check(e, &bf, err);
	return err;
}

enum mapping_error t_protect_flags(struct env *e, uint64_t start,
				   uint64_t size, uint64_t flags,
				   uint64_t mask, bool strict)
{
	struct before bf;
	enum mapping_error err;

	before_take(e, &bf);
	if (strict)
		err = memory_set_protect_flags_strict(&e->set, start, size,
						      flags, mask, &e->m);
	else
		err = memory_set_protect_flags(&e->set, start, size, flags,
					       mask, &e->m);
	after_check(e, &bf, err);
	if (err == MAPPING_OK && size == 0)
		assert_int_equal(e->m.calls, bf.calls);
	return err;
}

enum mapping_error t_remap(struct env *e, uint64_t start, uint64_t size,
			   uint64_t new_size)
{
	struct before bf;
	enum mapping_error err;

	before_take(e, &bf);
	err = memory_set_remap(&e->set, start, size, new_size, &e->m);
	after_check_ex(e, &bf, err, true);
	if (err == MAPPING_OK) {
		const struct memory_area *a = memory_set_find(&e->set, start);

		assert_non_null(a);
		assert_true(memory_area_contains(a, start + (new_size - 1)));
		if (new_size == size)
			assert_int_equal(e->m.calls, bf.calls);
		if (new_size < size)
			assert_false(memory_set_overlaps(&e->set,
							 start + new_size,
							 size - new_size));
	}
	return err;
}

enum mapping_error t_remap_fixed(struct env *e, uint64_t start, uint64_t size,
				 uint64_t new_size, uint64_t new_start)
{
	struct before bf;
	enum mapping_error err;
	uint64_t flags = 0;
	const struct memory_area *a = memory_set_find(&e->set, start);

	if (a)
		flags = a->flags;
	before_take(e, &bf);
	err = memory_set_remap_fixed(&e->set, start, size, new_size,
				     new_start, &e->m);
	after_check_ex(e, &bf, err, true);
	if (err == MAPPING_OK) {
		a = memory_set_find(&e->set, new_start);
		assert_non_null(a);
		assert_int_equal(a->flags, flags);
		assert_true(memory_area_contains(a,
						 new_start + (new_size - 1)));
		assert_false(memory_set_overlaps(&e->set, start, size));
	}
	return err;
}
