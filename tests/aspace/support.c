/* Support for the address-space layer's tests (see support.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snap.h"
#include "support.h"

void tm_options(struct tm *m, struct aspace_options *o)
{
	aspace_sim_options(m->sim, m->pt[0], o);
}

void tm_init(struct tm *m, const struct aspace_options *o)
{
	struct aspace_options d;

	memset(m, 0, sizeof(*m));
	m->sim = aspace_sim_new(PG, 0);
	assert_non_null(m->sim);
	m->pt[0] = aspace_sim_pt_new(m->sim);
	assert_non_null(m->pt[0]);
	if (!o) {
		tm_options(m, &d);
		o = &d;
	}
	assert_int_equal(aspace_init(&m->as[0], o), 0);
	m->live[0] = true;
	tm_check(m);
}

void tm_fork(struct tm *m, int parent, int child)
{
	assert_false(m->live[child]);
	m->pt[child] = aspace_sim_pt_new(m->sim);
	assert_non_null(m->pt[child]);
	assert_int_equal(
		aspace_fork(&m->as[child], &m->as[parent], m->pt[child]), 0);
	m->live[child] = true;
	tm_check(m);
}

void tm_exit(struct tm *m, int s)
{
	assert_true(m->live[s]);
	aspace_destroy(&m->as[s]);
	m->live[s] = false;
	aspace_sim_pt_free(m->sim, m->pt[s]);
	m->pt[s] = NULL;
	tm_check(m);
}

void tm_hold(struct tm *m, struct aspace_object *obj)
{
	assert_true(m->nobjs < sizeof(m->objs) / sizeof(m->objs[0]));
	m->objs[m->nobjs++] = obj;
}

void tm_check(struct tm *m)
{
	struct aspace *spaces[SPACES];
	const char *err;
	size_t n = 0;
	int s;

	for (s = 0; s < SPACES; s++) {
		if (!m->live[s])
			continue;
		err = aspace_check(&m->as[s]);
		if (err)
			fail_msg("space %d: %s", s, err);
		spaces[n++] = &m->as[s];
	}
	err = aspace_sim_check(m->sim, spaces, n, m->objs, m->nobjs);
	if (err)
		fail_msg("machine: %s", err);
}

void tm_done(struct tm *m)
{
	struct aspace_sim_stats st;
	size_t i;
	int s;

	for (s = 0; s < SPACES; s++)
		if (m->live[s])
			tm_exit(m, s);
	for (i = 0; i < m->nobjs; i++)
		aspace_object_put(m->objs[i]);
	aspace_sim_stats(m->sim, &st);
	assert_int_equal(st.frames, 0);
	assert_int_equal(st.frame_refs, 0);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.blocks, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.nodes, 0);
	aspace_sim_free(m->sim);
}

/* ---- Snapshots and layouts ------------------------------------------ */

char *tm_snap(struct tm *m, int s)
{
	char *p = aspace_snap(m->sim, &m->as[s], m->pt[s], m->objs, m->nobjs);

	assert_non_null(p);
	return p;
}

/* ---- Layouts ---------------------------------------------------------- */

void expect_layout_at(struct tm *m, int s, const char *layout, const char *file,
		      int line)
{
	struct aspace_buf got = { NULL, 0, 0, false };
	uint64_t pos = W;
	char l[512];
	const char *sep = "";

	aspace_bprintf(&got, "%s", "");
	while (aspace_maps_line(&m->as[s], &pos, l, sizeof(l))) {
		unsigned long long start, end, off;
		char perms[5], dev[16], name[256];
		unsigned long long ino;
		struct aspace_area_info inf;
		int k;

		name[0] = '\0';
		k = sscanf(l, "%llx-%llx %4s %llx %15s %llu %255[^\n]", &start,
			   &end, perms, &off, dev, &ino, name);
		assert_true(k >= 6);
		if (start >= A(1 << 20))
			break;
		aspace_area(&m->as[s], start, &inf);
		aspace_bprintf(&got, "%s%lld-%lld %s", sep,
			(long long)(start - W) / (long long)PG,
			(long long)(end - W) / (long long)PG, perms);
		if (inf.object)
			aspace_bprintf(&got, " @%llu", off / PG);
		else if (name[0])
			aspace_bprintf(&got, " %s", name);
		sep = ", ";
	}
	assert_false(got.oom);
	if (strcmp(got.p, layout)) {
		print_error("expected: %s\n     got: %s\n", layout, got.p);
		free(got.p);
		_fail(file, line);
	}
	free(got.p);
}

/* ---- Memory ------------------------------------------------------------ */

enum aspace_fault tm_read(struct tm *m, int s, uint64_t va, void *buf,
			  size_t len)
{
	enum aspace_fault f = aspace_sim_access(&m->as[s], va, buf, len,
						ASPACE_ACCESS_READ, NULL);

	tm_check(m);
	return f;
}

enum aspace_fault tm_write(struct tm *m, int s, uint64_t va, const void *buf,
			   size_t len)
{
	enum aspace_fault f = aspace_sim_access(&m->as[s], va, (void *)buf, len,
						ASPACE_ACCESS_WRITE, NULL);

	tm_check(m);
	return f;
}

unsigned char peek(struct tm *m, int s, uint64_t va)
{
	unsigned char v = 0;

	assert_int_equal(tm_read(m, s, va, &v, 1), ASPACE_FAULT_OK);
	return v;
}

void poke(struct tm *m, int s, uint64_t va, unsigned char v)
{
	assert_int_equal(tm_write(m, s, va, &v, 1), ASPACE_FAULT_OK);
}

bool faulted(struct tm *m, int s, uint64_t va)
{
	struct aspace_area_info inf;

	assert_true(aspace_area(&m->as[s], va, &inf));
	return inf.anon;
}

/* ---- Checked calls ------------------------------------------------------ */

/* After a call: the invariants; after a failure: nothing changed. */
static void after(struct tm *m, int s, char *before, bool failed)
{
	char *now;

	tm_check(m);
	if (failed) {
		now = tm_snap(m, s);
		if (strcmp(before, now))
			fail_msg(
				"a failed call changed the space:\n--- before\n%s--- after\n%s",
				before, now);
		free(now);
	}
	free(before);
}

int64_t c_mmap(struct tm *m, int s, uint64_t addr, uint64_t len,
	       unsigned long prot, unsigned long flags,
	       struct aspace_object *obj, uint64_t off)
{
	char *b = tm_snap(m, s);
	int64_t r = aspace_mmap(&m->as[s], addr, len, prot, flags, obj, off);

	after(m, s, b, ASPACE_IS_ERR(r));
	return r;
}

int c_munmap(struct tm *m, int s, uint64_t addr, uint64_t len)
{
	char *b = tm_snap(m, s);
	int r = aspace_munmap(&m->as[s], addr, len);

	after(m, s, b, r < 0);
	return r;
}

int c_mprotect(struct tm *m, int s, uint64_t addr, uint64_t len,
	       unsigned long prot)
{
	char *b = tm_snap(m, s);
	int r = aspace_mprotect(&m->as[s], addr, len, prot);

	after(m, s, b, r < 0);
	return r;
}

int64_t c_mremap(struct tm *m, int s, uint64_t addr, uint64_t old_len,
		 uint64_t new_len, unsigned long flags, uint64_t new_addr)
{
	char *b = tm_snap(m, s);
	int64_t r = aspace_mremap(&m->as[s], addr, old_len, new_len, flags,
				  new_addr);

	after(m, s, b, ASPACE_IS_ERR(r));
	return r;
}

uint64_t c_brk(struct tm *m, int s, uint64_t brk)
{
	char *b = tm_snap(m, s);
	uint64_t r = aspace_brk(&m->as[s], brk);

	/* brk fails by returning the old break: then nothing changed. */
	after(m, s, b, r != brk);
	return r;
}

int c_madvise(struct tm *m, int s, uint64_t addr, uint64_t len, int advice)
{
	char *b = tm_snap(m, s);
	int r = aspace_madvise(&m->as[s], addr, len, advice);

	after(m, s, b, r < 0);
	return r;
}

int c_mseal(struct tm *m, int s, uint64_t addr, uint64_t len)
{
	char *b = tm_snap(m, s);
	int r = aspace_mseal(&m->as[s], addr, len, 0);

	after(m, s, b, r < 0);
	return r;
}

int c_name(struct tm *m, int s, uint64_t addr, uint64_t len, const char *name)
{
	char *b = tm_snap(m, s);
	int r = aspace_set_name(&m->as[s], addr, len, name);

	after(m, s, b, r < 0);
	return r;
}

enum aspace_fault c_fault(struct tm *m, int s, uint64_t addr, unsigned access)
{
	char *b = tm_snap(m, s);
	enum aspace_fault r = aspace_fault(&m->as[s], addr, access);

	after(m, s, b, r != ASPACE_FAULT_OK);
	return r;
}

void map_at(struct tm *m, int s, int p, int pages, unsigned long prot,
	    unsigned long flags)
{
	int64_t r = c_mmap(m, s, A(p), (uint64_t)pages * PG, prot,
			   flags | FIXED, NULL, 0);

	assert_int_equal(r, (int64_t)A(p));
}
