/*
 * The address-space layer's fuzz target: bytes decode into calls of the
 * layer on up to four address spaces of one simulated machine (mmap,
 * munmap, mprotect, mremap, brk, madvise, mseal, names, page faults,
 * loads and stores through the MMU, user copies, fork, exit, memfds and
 * their sizes), with failures injected into the machine's frames, page
 * tables, records and nodes. After every call: the layer's checker on each
 * space, the machine's count of every frame's references, and, when the
 * call failed, a picture of the space equal to the one before it. At the
 * end everything is destroyed and nothing may be left. Any breach aborts.
 *
 * Encoding (missing bytes read as 0; fuzz/make_corpus_aspace.py writes
 * the seeds in it):
 *   byte 0: options: bit 0 hints rounded down, bit 1 execute-only pages
 *           readable, bit 2 THP alignment of 16 pages, bit 3 at most 64
 *           frames (else 4096: MAP_POPULATE of a huge range stops there).
 *   then each call: a byte K (the kind, K % 24, and the space, K / 24 % 4),
 *   a byte choosing one of the memfds made so far, and the call's operands,
 *   each a byte: PAGE (in a window of 64 pages; 255: a
 *   raw 8-byte address follows), LEN (pages, 0-15; 255: a raw 8-byte
 *   length), PROT (bits 0-2 the rights, bit 3 PROT_SEM, bit 4 a bad bit),
 *   FLAGS (see mmap_flags()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memory_set/aspace_sim.h>

#include "snap.h"

#define PG 4096ull
#define WIN 0x40000000ull
#define NSP 4
#define NOBJ 2

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint64_t u64(struct in *in)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | u8(in);
	return v;
}

static uint64_t page(struct in *in)
{
	uint8_t b = u8(in);

	return b == 255 ? u64(in) : WIN + (uint64_t)(b & 63) * PG;
}

static uint64_t len(struct in *in)
{
	uint8_t b = u8(in);

	return b == 255 ? u64(in) : (uint64_t)(b & 15) * PG;
}

static unsigned long prot(struct in *in)
{
	uint8_t b = u8(in);

	return (b & 7) | (b & 8 ? ASPACE_PROT_SEM : 0) | (b & 16 ? 0x10 : 0);
}

static unsigned long mmap_flags(struct in *in)
{
	uint8_t b = u8(in);
	static const unsigned long types[] = {
		ASPACE_MAP_PRIVATE,
		ASPACE_MAP_SHARED,
		ASPACE_MAP_DROPPABLE,
		ASPACE_MAP_SHARED_VALIDATE,
	};
	unsigned long f = types[b & 3];

	if (!(b & 4))
		f |= ASPACE_MAP_ANONYMOUS;
	if (b & 8)
		f |= ASPACE_MAP_FIXED;
	if (b & 16)
		f |= ASPACE_MAP_FIXED_NOREPLACE;
	if (b & 32)
		f |= ASPACE_MAP_POPULATE;
	if (b & 64)
		f |= ASPACE_MAP_NORESERVE;
	if (b & 128)
		f |= ASPACE_MAP_STACK | ASPACE_MAP_LOCKED;
	return f;
}

struct machine {
	struct aspace_sim *sim;
	struct aspace as[NSP];
	void *pt[NSP];
	bool live[NSP];
	struct aspace_object *obj[NOBJ];
	size_t nobj;
};

static void breach(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_aspace: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	abort();
}

static void check_all(struct machine *m)
{
	struct aspace *spaces[NSP];
	const char *err;
	size_t n = 0;
	int s;

	for (s = 0; s < NSP; s++) {
		if (!m->live[s])
			continue;
		if ((err = aspace_check(&m->as[s])))
			breach("aspace_check", err);
		spaces[n++] = &m->as[s];
	}
	if ((err = aspace_sim_check(m->sim, spaces, n, m->obj, m->nobj)))
		breach("aspace_sim_check", err);
}

static const int advice[] = {
	ASPACE_MADV_NORMAL,
	ASPACE_MADV_RANDOM,
	ASPACE_MADV_SEQUENTIAL,
	ASPACE_MADV_WILLNEED,
	ASPACE_MADV_DONTNEED,
	ASPACE_MADV_FREE,
	ASPACE_MADV_DONTFORK,
	ASPACE_MADV_DOFORK,
	ASPACE_MADV_WIPEONFORK,
	ASPACE_MADV_KEEPONFORK,
	5,
	1000,
};
static const char *const names[] = { "a", "heap", NULL, "x y", "bad$" };

/* One call; true if it failed (and so must have changed nothing). */
static bool call(struct machine *m, int s, unsigned kind, struct in *in)
{
	struct aspace *as = &m->as[s];
	uint8_t pick = u8(in);
	struct aspace_object *o = m->nobj ? m->obj[pick % m->nobj] : NULL;
	uint64_t a, b, c;
	unsigned long p, f;
	char buf[256];
	int64_t r;
	int child;

	switch (kind) {
	case 0:
	case 1:
	case 2:
		a = page(in);
		b = len(in);
		p = prot(in);
		f = mmap_flags(in);
		r = aspace_mmap(as, a, b, p, f,
				(f & ASPACE_MAP_ANONYMOUS) ? NULL : o,
				(uint64_t)(u8(in) & 7) * PG);
		return ASPACE_IS_ERR(r);
	case 3:
	case 4:
		a = page(in);
		return aspace_munmap(as, a, len(in)) < 0;
	case 5:
	case 6:
		a = page(in);
		b = len(in);
		return aspace_mprotect(as, a, b, prot(in)) < 0;
	case 7:
	case 8:
		a = page(in);
		b = len(in);
		c = len(in);
		f = u8(in) & 7;
		r = aspace_mremap(as, a, b, c, f, page(in));
		return ASPACE_IS_ERR(r);
	case 9:
		a = page(in) + (u8(in) & 7);
		return aspace_brk(as, a) != a;
	case 10:
		a = page(in);
		b = len(in);
		return aspace_madvise(as, a, b,
				      advice[u8(in) % (sizeof(advice) /
						       sizeof(advice[0]))]) < 0;
	case 11:
		a = page(in);
		return aspace_mseal(as, a, len(in), u8(in) == 1) < 0;
	case 12:
		a = page(in);
		b = len(in);
		return aspace_set_name(as, a, b,
				       names[u8(in) % (sizeof(names) /
						       sizeof(names[0]))]) < 0;
	case 13:
	case 14:
		/* A load or a store through the MMU: partial by nature. */
		a = page(in) + u8(in) * 17;
		b = u8(in) & 63;
		memset(buf, kind, sizeof(buf));
		aspace_sim_access(as, a, buf, b,
				  kind == 13 ? ASPACE_ACCESS_READ :
					       ASPACE_ACCESS_WRITE,
				  NULL);
		return false;
	case 15: {
		enum aspace_fault res;

		a = page(in) + u8(in) * 17;
		f = u8(in) & 7;
		res = aspace_fault(as, a, (unsigned)f);
		/* A write ending in SIGBUS may leave the area an identity, as
		 * Linux; no other failed fault changes anything. */
		return res != ASPACE_FAULT_OK &&
		       !(res == ASPACE_FAULT_SIGBUS && (f & ASPACE_ACCESS_WRITE));
	}
	case 16:
		a = page(in) + u8(in) * 31;
		b = u8(in);
		if (u8(in) & 1)
			aspace_copy_to_user(as, a, buf, b, NULL);
		else
			aspace_strncpy_from_user(as, buf, a, b);
		return false;
	case 17:
		for (child = 0; child < NSP && m->live[child]; child++)
			;
		if (child == NSP)
			return false;
		m->pt[child] = aspace_sim_pt_new(m->sim);
		if (!aspace_fork(&m->as[child], as, m->pt[child])) {
			m->live[child] = true;
			return false;
		}
		aspace_sim_pt_free(m->sim, m->pt[child]);
		return true;
	case 18:
		if (s == 0)
			return false;
		aspace_destroy(as);
		aspace_sim_pt_free(m->sim, m->pt[s]);
		m->live[s] = false;
		return false;
	case 19:
		if (m->nobj == NOBJ)
			return false;
		if (aspace_memfd_create(as, "f", u8(in) & 0x1b,
					&m->obj[m->nobj]))
			return false; /* not a change of the space */
		m->nobj++;
		return false;
	case 20:
		if (!o)
			return false;
		a = (uint64_t)u8(in) * 97;
		aspace_object_write(o, a, buf, u8(in));
		return false;
	case 21:
		if (!o)
			return false;
		return aspace_object_truncate(o, (uint64_t)u8(in) * 1000) < 0;
	case 22:
		if (!o)
			return false;
		a = (uint64_t)u8(in) * 500;
		b = (uint64_t)u8(in) * 700;
		return aspace_object_fallocate(o, u8(in) & 3, a, b) < 0;
	default: {
		/* Fail a machine call of some kind, the n-th from now. */
		uint8_t x = u8(in);

		aspace_sim_fail_after(m->sim, (enum aspace_sim_call)(x % 4),
				      (x / 4) % 8);
		return false;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct machine m;
	struct aspace_options o;
	struct aspace_sim_stats st;
	uint8_t opts = u8(&in);
	size_t i, calls = 0;
	int s;

	memset(&m, 0, sizeof(m));
	m.sim = aspace_sim_new(PG, opts & 8 ? 64 : 4096);
	m.pt[0] = aspace_sim_pt_new(m.sim);
	if (!m.sim || !m.pt[0])
		breach("out of memory", NULL);
	aspace_sim_options(m.sim, m.pt[0], &o);
	o.flags = (opts & 1 ? ASPACE_OPT_HINT_ROUND_DOWN : 0) |
		  (opts & 2 ? ASPACE_OPT_EXEC_READABLE : 0);
	o.thp_size = opts & 4 ? 16 * PG : 0;
	o.start_brk = WIN + 40 * PG;
	o.max_map_count = 200;
	if (aspace_init(&m.as[0], &o))
		breach("aspace_init", NULL);
	m.live[0] = true;
	while (in.n && calls++ < 400) {
		uint8_t k = u8(&in);
		unsigned kind = k % 24;
		char *before;
		bool failed;

		s = (k / 24) % NSP;
		if (!m.live[s])
			s = 0;
		before = aspace_snap(m.sim, &m.as[s], m.pt[s], m.obj, m.nobj);
		failed = call(&m, s, kind, &in);
		check_all(&m);
		if (failed && m.live[s] && before) {
			char *after = aspace_snap(m.sim, &m.as[s], m.pt[s],
						  m.obj, m.nobj);

			if (after && strcmp(before, after)) {
				fprintf(stderr, "--- before\n%s--- after\n%s",
					before, after);
				breach("a failed call changed the space", NULL);
			}
			free(after);
		}
		free(before);
	}
	aspace_sim_fail_after(m.sim, ASPACE_SIM_FRAME, -1);
	aspace_sim_fail_after(m.sim, ASPACE_SIM_PT, -1);
	aspace_sim_fail_after(m.sim, ASPACE_SIM_ALLOC, -1);
	aspace_sim_fail_after(m.sim, ASPACE_SIM_NODE, -1);
	for (s = 0; s < NSP; s++)
		if (m.live[s])
			aspace_destroy(&m.as[s]);
	for (i = 0; i < m.nobj; i++)
		aspace_object_put(m.obj[i]);
	aspace_sim_stats(m.sim, &st);
	if (st.frames || st.frame_refs || st.entries || st.blocks || st.nodes)
		breach("a leak after everything was destroyed", NULL);
	aspace_sim_free(m.sim);
	return 0;
}
