/*
 * Fault injection over the address-space layer: a script that makes every
 * call of the layer (private, shared and object memory, faults, fork,
 * mremap's moves, brk, madvise, mseal, names, user copies) is replayed, and
 * at each of its steps every frame allocation, page-table call, record
 * allocation and node allocation is failed in turn. After each failed step:
 *   - a call that returned an error changed nothing (the space's areas,
 *     records, entries, frames and memory are as before it);
 *   - every invariant holds (aspace_check() on each space, every frame's
 *     references counted over the machine);
 * and once the whole script has run, destroying everything leaves no
 * frame, entry, record or node behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

enum kind {
	MMAP,
	MUNMAP,
	MPROTECT,
	MREMAP,
	BRK,
	MADVISE,
	MSEAL,
	NAME,
	WRITE,
	FORK,
	EXIT,
	COPY_TO,
	STRNCPY,
	MEMFD,
	TRUNCATE,
	FALLOCATE,
	PWRITE,
	MMAP_OBJ,
};

struct step {
	enum kind kind;
	int s; /* the space */
	uint64_t a, b,
		c; /* pages from W, lengths in pages (bytes for objects) */
	unsigned long p, f;
};

#define P(x) ((uint64_t)(x))
#define MF (ASPACE_MREMAP_MAYMOVE | ASPACE_MREMAP_FIXED)

static const struct step script[] = {
	{ MMAP, 0, P(0), P(8), 0, RW, PRIV_ANON | FIXED },
	{ WRITE, 0, P(1), 0, 0, 0, 0 },
	{ WRITE, 0, P(6), 0, 0, 0, 0 },
	{ MMAP, 0, P(8), P(4), 0, RW,
	  SHARED_ANON | FIXED | ASPACE_MAP_POPULATE },
	{ MMAP, 0, P(20), P(4), 0, RW,
	  PRIV_ANON | FIXED | ASPACE_MAP_POPULATE },
	{ MMAP, 0, P(2), P(2), 0, RO, PRIV_ANON | FIXED },
	{ MPROTECT, 0, P(0), P(8), 0, RW, 0 },
	{ MPROTECT, 0, P(3), P(2), 0, ASPACE_PROT_EXEC, 0 },
	{ MPROTECT, 0, P(0), P(30), 0, RW, 0 }, /* a hole: ENOMEM */
	{ FORK, 0, 1, 0, 0, 0, 0 },
	{ WRITE, 1, P(1), 0, 0, 0, 0 },
	{ WRITE, 0, P(21), 0, 0, 0, 0 },
	{ COPY_TO, 1, P(6), 0, 0, 0, 0 },
	{ STRNCPY, 1, P(1), 0, 0, 0, 0 },
	{ MREMAP, 0, P(20), P(4), P(6), 0, 0 }, /* in place */
	{ MREMAP, 0, P(20), P(6), P(8), ASPACE_MREMAP_MAYMOVE, 0 }, /* moves */
	{ MREMAP, 0, P(0), P(3), P(3), MF, P(40) }, /* several areas */
	{ MREMAP, 0, P(5), P(2), P(2), MF | ASPACE_MREMAP_DONTUNMAP, P(50) },
	{ MREMAP, 0, P(40), P(2), P(1), MF, P(60) }, /* shrink and move */
	{ MUNMAP, 0, P(6), P(3), 0, 0, 0 },
	{ BRK, 0, P(100), 10, 0, 0, 0 },
	{ BRK, 0, P(104), 0, 0, 0, 0 },
	{ BRK, 0, P(102), 0, 0, 0, 0 },
	{ MADVISE, 0, P(50), P(2), 0, ASPACE_MADV_DONTFORK, 0 },
	{ MADVISE, 1, P(0), P(8), 0, ASPACE_MADV_DONTNEED, 0 },
	{ MADVISE, 0, P(60), P(1), 0, ASPACE_MADV_WIPEONFORK, 0 },
	{ NAME, 0, P(60), P(1), 0, 0, 0 },
	{ MSEAL, 0, P(51), P(1), 0, 0, 0 },
	{ MEMFD, 0, 0, 0, 0, 0, 0 },
	{ PWRITE, 0, 0, 3 * 4096 + 5, 0, 0, 0 },
	{ MMAP_OBJ, 0, P(70), P(4), 0, RW, ASPACE_MAP_SHARED | FIXED },
	{ MMAP_OBJ, 0, P(74), P(2), P(1), RW, ASPACE_MAP_PRIVATE | FIXED },
	{ WRITE, 0, P(70), 0, 0, 0, 0 },
	{ WRITE, 0, P(75), 0, 0, 0, 0 },
	{ FALLOCATE, 0, 0, 6 * 4096, 0, 0, 0 },
	{ TRUNCATE, 0, 4096 + 100, 0, 0, 0, 0 },
	{ FALLOCATE, 0, 10, 4096, 0,
	  ASPACE_FALLOC_FL_PUNCH_HOLE | ASPACE_FALLOC_FL_KEEP_SIZE, 0 },
	{ FORK, 1, 2, 0, 0, 0, 0 },
	{ WRITE, 2, P(0), 0, 0, 0, 0 },
	{ EXIT, 1, 0, 0, 0, 0, 0 },
	{ MUNMAP, 0, P(0), P(200), 0, 0, 0 }, /* a sealed page: EPERM */
	{ MUNMAP, 0, P(0), P(50), 0, 0, 0 },
};

#define NSTEPS (sizeof(script) / sizeof(script[0]))

struct run {
	struct tm m;
	struct aspace_object *memfd;
};

/* Run one step; 0 or the negative errno / fault it failed with. */
static int64_t step(struct run *r, const struct step *st)
{
	struct tm *m = &r->m;
	struct aspace *as = &m->as[st->s];
	char buf[64] = "hi";
	unsigned char v = 0x5a;
	int64_t x;

	/* Steps on a space or object an earlier failure did not make. */
	if (!m->live[st->s] || (st->kind == FORK && m->live[st->a]))
		return 0;
	if (!r->memfd && (st->kind == PWRITE || st->kind == TRUNCATE ||
			  st->kind == FALLOCATE || st->kind == MMAP_OBJ))
		return 0;
	switch (st->kind) {
	case MMAP:
		x = aspace_mmap(as, A(st->a), st->b * PG, st->p, st->f, NULL,
				0);
		return ASPACE_IS_ERR(x) ? x : 0;
	case MMAP_OBJ:
		x = aspace_mmap(as, A(st->a), st->b * PG, st->p, st->f,
				r->memfd, st->c * PG);
		return ASPACE_IS_ERR(x) ? x : 0;
	case MUNMAP:
		return aspace_munmap(as, A(st->a), st->b * PG);
	case MPROTECT:
		return aspace_mprotect(as, A(st->a), st->b * PG, st->p);
	case MREMAP:
		x = aspace_mremap(as, A(st->a), st->b * PG, st->c * PG, st->p,
				  A(st->f));
		return ASPACE_IS_ERR(x) ? x : 0;
	case BRK:
		return aspace_brk(as, A(st->a) + st->b) == A(st->a) + st->b ?
			       0 :
			       -ASPACE_ENOMEM;
	case MADVISE:
		return aspace_madvise(as, A(st->a), st->b * PG, (int)st->p);
	case MSEAL:
		return aspace_mseal(as, A(st->a), st->b * PG, 0);
	case NAME:
		return aspace_set_name(as, A(st->a), st->b * PG, "name");
	case WRITE:
		return -(int64_t)aspace_sim_access(as, A(st->a) + 7, &v, 1,
						   ASPACE_ACCESS_WRITE, NULL);
	case COPY_TO:
		return aspace_copy_to_user(as, A(st->a) - 1, buf, 3, NULL);
	case STRNCPY:
		x = aspace_strncpy_from_user(as, buf, A(st->a), sizeof(buf));
		return x < 0 ? x : 0;
	case FORK:
		m->pt[st->a] = aspace_sim_pt_new(m->sim);
		x = aspace_fork(&m->as[st->a], as, m->pt[st->a]);
		if (x)
			aspace_sim_pt_free(m->sim, m->pt[st->a]);
		else
			m->live[st->a] = true;
		return x;
	case EXIT:
		tm_exit(m, st->s);
		return 0;
	case MEMFD:
		x = aspace_memfd_create(as, "fi", 0, &r->memfd);
		if (!x)
			tm_hold(m, r->memfd);
		return x;
	case PWRITE:
		x = aspace_object_write(r->memfd, st->a, "data", 4);
		return x < 0 ? x : 0;
	case TRUNCATE:
		return aspace_object_truncate(r->memfd, st->a);
	case FALLOCATE:
		return aspace_object_fallocate(r->memfd, (int)st->p, st->a,
					       st->b);
	}
	return 0;
}

/* Steps whose failure is not all-or-nothing: a store that faults half way
 * (the bytes before it are written), and pwrite (short writes). */
static bool partial(enum kind k)
{
	return k == WRITE || k == PWRITE || k == COPY_TO;
}

static void replay(struct run *r, size_t upto)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	tm_init(&r->m, NULL);
	aspace_set_brk(&r->m.as[0], A(100));
	for (i = 0; i < upto; i++)
		step(r, &script[i]);
	tm_check(&r->m);
}

/* A picture of every live space and the machine. */
static char *picture(struct run *r)
{
	char *all = NULL;
	size_t n = 0;
	int s;

	for (s = 0; s < SPACES; s++) {
		char *p;
		size_t k;

		if (!r->m.live[s])
			continue;
		p = tm_snap(&r->m, s);
		k = strlen(p);
		all = realloc(all, n + k + 1);
		memcpy(all + n, p, k + 1);
		n += k;
		free(p);
	}
	return all;
}

static void test_fault_injection(void **state)
{
	enum aspace_sim_call kinds[] = { ASPACE_SIM_FRAME, ASPACE_SIM_PT,
					 ASPACE_SIM_ALLOC, ASPACE_SIM_NODE };
	const char *names[] = { "frame", "page table", "record", "node" };
	unsigned long injected = 0, failed_calls = 0;
	struct run r;
	size_t i, k;
	int64_t n, res;

	(void)state;
	for (i = 0; i < NSTEPS; i++) {
		for (k = 0; k < 4; k++) {
			for (n = 0;; n++) {
				uint64_t before_fails;
				char *before, *after;

				replay(&r, i);
				print_message("step %zu, %s failure %lld\n", i,
					      names[k], (long long)n);
				before = picture(&r);
				before_fails =
					aspace_sim_failures(r.m.sim, kinds[k]);
				aspace_sim_fail_after(r.m.sim, kinds[k], n);
				res = step(&r, &script[i]);
				aspace_sim_fail_after(r.m.sim, kinds[k], -1);
				tm_check(&r.m);
				if (aspace_sim_failures(r.m.sim, kinds[k]) ==
				    before_fails) {
					free(before);
					tm_done(&r.m);
					break;
				}
				injected++;
				if (res < 0 && !partial(script[i].kind)) {
					failed_calls++;
					after = picture(&r);
					if (strcmp(before, after))
						fail_msg(
							"the call failed with %lld and changed the spaces\n--- before\n%s--- after\n%s",
							(long long)res, before,
							after);
					free(after);
				}
				free(before);
				/* The rest of the script still runs, and ends clean. */
				for (size_t j = i + 1; j < NSTEPS; j++)
					step(&r, &script[j]);
				tm_check(&r.m);
				tm_done(&r.m);
			}
		}
	}
	print_message("fault injection: %zu steps, %lu failures injected, %lu "
		      "calls failed and changed nothing, no leak\n",
		      (size_t)NSTEPS, injected, failed_calls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_injection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
