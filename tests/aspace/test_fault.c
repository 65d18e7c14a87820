/*
 * Page faults and the kernel's access to user memory: demand-zero pages,
 * SIGSEGV's two codes, copy-on-write (the last reference takes the frame
 * without a copy), anonymous identities and the merges they allow or
 * refuse, copies to and from user memory and the bounded string copy.
 */
#include <string.h>

#include "support.h"

static void test_fault_results(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 1, RW, PRIV_ANON);
	map_at(&m, 0, 1, 1, RO, PRIV_ANON);
	map_at(&m, 0, 2, 1, ASPACE_PROT_WRITE, PRIV_ANON);
	map_at(&m, 0, 3, 1, ASPACE_PROT_EXEC, PRIV_ANON);
	map_at(&m, 0, 4, 1, ASPACE_PROT_NONE, PRIV_ANON);
	assert_int_equal(c_fault(&m, 0, A(9), ASPACE_ACCESS_READ),
			 ASPACE_FAULT_SEGV_MAPERR);
	assert_int_equal(c_fault(&m, 0, 0x7ffffffff000ull, ASPACE_ACCESS_READ),
			 ASPACE_FAULT_SEGV_MAPERR);
	assert_int_equal(c_fault(&m, 0, UINT64_MAX, ASPACE_ACCESS_WRITE),
			 ASPACE_FAULT_SEGV_MAPERR);
	assert_int_equal(c_fault(&m, 0, A(0) + 5, ASPACE_ACCESS_WRITE),
			 ASPACE_FAULT_OK);
	assert_int_equal(c_fault(&m, 0, A(0), ASPACE_ACCESS_EXEC),
			 ASPACE_FAULT_SEGV_ACCERR);
	assert_int_equal(c_fault(&m, 0, A(1), ASPACE_ACCESS_WRITE),
			 ASPACE_FAULT_SEGV_ACCERR);
	assert_int_equal(c_fault(&m, 0, A(1), ASPACE_ACCESS_READ),
			 ASPACE_FAULT_OK);
	/* Writing implies reading. */
	assert_int_equal(c_fault(&m, 0, A(2), ASPACE_ACCESS_READ),
			 ASPACE_FAULT_OK);
	/* Execute-only memory is not readable (x86 with protection keys,
	 * riscv, arm64); readable with ASPACE_OPT_EXEC_READABLE. */
	assert_int_equal(c_fault(&m, 0, A(3), ASPACE_ACCESS_READ),
			 ASPACE_FAULT_SEGV_ACCERR);
	assert_int_equal(c_fault(&m, 0, A(3), ASPACE_ACCESS_EXEC),
			 ASPACE_FAULT_OK);
	assert_int_equal(c_fault(&m, 0, A(4), ASPACE_ACCESS_READ),
			 ASPACE_FAULT_SEGV_ACCERR);
	/* Through the MMU: demand-zero pages read zero. */
	assert_int_equal(peek(&m, 0, A(0) + 100), 0);
	poke(&m, 0, A(0) + 100, 42);
	assert_int_equal(peek(&m, 0, A(0) + 100), 42);
	tm_done(&m);
}

static void test_exec_readable(void **state)
{
	struct aspace_options o;
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	tm_options(&m, &o);
	aspace_destroy(&m.as[0]);
	o.flags = ASPACE_OPT_EXEC_READABLE;
	assert_int_equal(aspace_init(&m.as[0], &o), 0);
	map_at(&m, 0, 3, 1, ASPACE_PROT_EXEC, PRIV_ANON);
	assert_int_equal(c_fault(&m, 0, A(3), ASPACE_ACCESS_READ),
			 ASPACE_FAULT_OK);
	assert_int_equal(peek(&m, 0, A(3)), 0);
	tm_done(&m);
}

/* Out of frames: the fault says so and changes nothing. */
static void test_fault_oom(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 2, RW, PRIV_ANON);
	aspace_sim_fail_after(m.sim, ASPACE_SIM_FRAME, 0);
	assert_int_equal(c_fault(&m, 0, A(0), ASPACE_ACCESS_WRITE),
			 ASPACE_FAULT_OOM);
	assert_false(faulted(&m, 0, A(0)));
	aspace_sim_fail_after(m.sim, ASPACE_SIM_PT, 0);
	assert_int_equal(c_fault(&m, 0, A(0), ASPACE_ACCESS_WRITE),
			 ASPACE_FAULT_OOM);
	aspace_sim_fail_after(m.sim, ASPACE_SIM_ALLOC, 0);
	assert_int_equal(c_fault(&m, 0, A(0), ASPACE_ACCESS_WRITE),
			 ASPACE_FAULT_OOM);
	assert_false(faulted(&m, 0, A(0)));
	/* A read fault needs no identity. */
	aspace_sim_fail_after(m.sim, ASPACE_SIM_ALLOC, 0);
	assert_int_equal(c_fault(&m, 0, A(0), ASPACE_ACCESS_READ),
			 ASPACE_FAULT_OK);
	aspace_sim_fail_after(m.sim, ASPACE_SIM_ALLOC, -1);
	assert_false(faulted(&m, 0, A(0)));
	/* Then the write takes the frame it has (the only reference). */
	assert_int_equal(c_fault(&m, 0, A(0), ASPACE_ACCESS_WRITE),
			 ASPACE_FAULT_OK);
	assert_true(faulted(&m, 0, A(0)));
	tm_done(&m);
}

/* Copy-on-write after fork: a copy while shared, none for the last one. */
static void test_cow(void **state)
{
	struct aspace_sim_stats st;
	struct tm m;
	uint64_t frames;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 2, RW, PRIV_ANON);
	poke(&m, 0, A(0), 'p');
	poke(&m, 0, A(1), 'q');
	tm_fork(&m, 0, 1);
	aspace_sim_stats(m.sim, &st);
	frames = st.frames;
	assert_int_equal(st.frames, 2);
	assert_int_equal(st.frame_refs, 4);
	poke(&m, 1, A(0), 'c');
	assert_int_equal(peek(&m, 0, A(0)), 'p');
	assert_int_equal(peek(&m, 1, A(0)), 'c');
	aspace_sim_stats(m.sim, &st);
	assert_int_equal(st.frames, frames + 1);
	/* The parent now holds its frame alone: its write copies nothing. */
	poke(&m, 0, A(0), 'P');
	aspace_sim_stats(m.sim, &st);
	assert_int_equal(st.frames, frames + 1);
	/* The child goes; the parent's page 1 is its own again, no copy. */
	tm_exit(&m, 1);
	poke(&m, 0, A(1), 'Q');
	aspace_sim_stats(m.sim, &st);
	assert_int_equal(st.frames, 2);
	assert_int_equal(peek(&m, 0, A(0)), 'P');
	assert_int_equal(peek(&m, 0, A(1)), 'Q');
	tm_done(&m);
}

/* A write fault gives the area an identity; a read fault does not. */
static void test_identity(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 2, RW, PRIV_ANON);
	assert_int_equal(peek(&m, 0, A(0)), 0);
	assert_false(faulted(&m, 0, A(0)));
	poke(&m, 0, A(1), 1);
	assert_true(faulted(&m, 0, A(0)));
	/* An unfaulted mapping joins a faulted neighbour, either side. */
	map_at(&m, 0, 2, 2, RW, PRIV_ANON);
	expect_layout(&m, 0, "0-4 rw-p");
	map_at(&m, 0, 10, 2, RW, PRIV_ANON);
	poke(&m, 0, A(10), 1);
	map_at(&m, 0, 8, 2, RW, PRIV_ANON);
	expect_layout(&m, 0, "0-4 rw-p, 8-12 rw-p");
	/* Faulted apart, apart forever (mapped between, moved next). */
	map_at(&m, 0, 4, 4, RW, PRIV_ANON);
	expect_layout(&m, 0, "0-8 rw-p, 8-12 rw-p");
	tm_done(&m);
}

/*
 * Linux's order: a new area between two faulted ones with different
 * identities joins the one before it (not both, not the one after).
 */
static void test_identity_chain(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 2, RW, PRIV_ANON);
	poke(&m, 0, A(0), 1);
	map_at(&m, 0, 4, 2, RW, PRIV_ANON);
	poke(&m, 0, A(4), 1);
	map_at(&m, 0, 2, 2, RW, PRIV_ANON);
	expect_layout(&m, 0, "0-4 rw-p, 4-6 rw-p");
	/* The same through mprotect. */
	map_at(&m, 0, 10, 2, RW, PRIV_ANON);
	poke(&m, 0, A(10), 1);
	map_at(&m, 0, 14, 2, RW, PRIV_ANON);
	poke(&m, 0, A(14), 1);
	map_at(&m, 0, 12, 2, RO, PRIV_ANON);
	assert_int_equal(c_mprotect(&m, 0, A(12), 2 * PG, RW), 0);
	expect_layout(&m, 0, "0-4 rw-p, 4-6 rw-p, 10-14 rw-p, 14-16 rw-p");
	/* Unfaulted, unfaulted, faulted: all three. */
	map_at(&m, 0, 20, 2, RW, PRIV_ANON);
	map_at(&m, 0, 24, 2, RW, PRIV_ANON);
	poke(&m, 0, A(24), 1);
	map_at(&m, 0, 22, 2, RW, PRIV_ANON);
	expect_layout(&m, 0,
		      "0-4 rw-p, 4-6 rw-p, 10-14 rw-p, 14-16 rw-p, 20-26 rw-p");
	assert_true(faulted(&m, 0, A(20)));
	tm_done(&m);
}

/*
 * An area's first write fault takes the identity of the area after it, or
 * before it, when they differ only in their rights (anon_vma reuse): later
 * they merge once their rights agree.
 */
static void test_identity_reuse(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 2, RW, PRIV_ANON);
	poke(&m, 0, A(0), 1);
	map_at(&m, 0, 2, 2, RW | ASPACE_PROT_EXEC, PRIV_ANON);
	poke(&m, 0, A(2), 1);
	assert_int_equal(c_mprotect(&m, 0, A(2), 2 * PG, RW), 0);
	expect_layout(&m, 0, "0-4 rw-p");
	/* The area after first. */
	map_at(&m, 0, 12, 2, RW | ASPACE_PROT_EXEC, PRIV_ANON);
	poke(&m, 0, A(12), 1);
	map_at(&m, 0, 10, 2, RW, PRIV_ANON);
	poke(&m, 0, A(10), 1);
	assert_int_equal(c_mprotect(&m, 0, A(12), 2 * PG, RW), 0);
	expect_layout(&m, 0, "0-4 rw-p, 10-14 rw-p");
	/* Other flags (here MAP_NORESERVE) than rights: no reuse. */
	map_at(&m, 0, 20, 2, RW, PRIV_ANON);
	poke(&m, 0, A(20), 1);
	map_at(&m, 0, 22, 2, RW, PRIV_ANON | ASPACE_MAP_NORESERVE);
	poke(&m, 0, A(22), 1);
	map_at(&m, 0, 24, 2, RW, PRIV_ANON);
	expect_layout(
		&m, 0,
		"0-4 rw-p, 10-14 rw-p, 20-22 rw-p, 22-24 rw-p, 24-26 rw-p");
	tm_done(&m);
}

/*
 * Execute-only memory that cannot be read (x86 with protection keys, the
 * default) carries the execute-only key: a neighbour faulted next to it
 * does not take its identity, so they stay apart once alike. Where it can
 * be read (no keys) the neighbour does, and they merge.
 */
static void exec_only_neighbour(uint32_t opt_flags, const char *layout)
{
	struct aspace_options o;
	struct tm m;

	tm_init(&m, NULL);
	tm_options(&m, &o);
	aspace_destroy(&m.as[0]);
	o.flags = opt_flags;
	assert_int_equal(aspace_init(&m.as[0], &o), 0);
	map_at(&m, 0, 0, 13, RW | ASPACE_PROT_EXEC,
	       PRIV_ANON | ASPACE_MAP_NORESERVE);
	assert_int_equal(c_mprotect(&m, 0, A(12), PG, RW), 0);
	poke(&m, 0, A(6), 1);
	assert_int_equal(c_mprotect(&m, 0, A(0), 12 * PG, ASPACE_PROT_EXEC),
			 0);
	poke(&m, 0, A(12), 1);
	assert_int_equal(c_mprotect(&m, 0, A(2), 10 * PG, RW), 0);
	expect_layout(&m, 0, layout);
	tm_done(&m);
}

static void test_identity_exec_only_key(void **state)
{
	(void)state;
	exec_only_neighbour(0, "0-2 --xp, 2-12 rw-p, 12-13 rw-p");
	exec_only_neighbour(ASPACE_OPT_EXEC_READABLE, "0-2 --xp, 2-13 rw-p");
}

static void test_copy_user(void **state)
{
	char buf[3 * 4096], out[3 * 4096];
	struct tm m;
	size_t done, i;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 2, RW, PRIV_ANON);
	map_at(&m, 0, 2, 1, RO, PRIV_ANON);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7);
	/* Across pages, faulting them in. */
	assert_int_equal(
		aspace_copy_to_user(&m.as[0], A(0) + 100, buf, 5000, &done), 0);
	assert_int_equal(done, 5000);
	tm_check(&m);
	assert_int_equal(aspace_copy_from_user(&m.as[0], out, A(0) + 100, 5000,
					       &done),
			 0);
	assert_memory_equal(out, buf, 5000);
	/* Into a read-only page: EFAULT at its first byte. */
	assert_int_equal(aspace_copy_to_user(&m.as[0], A(2) - 10, buf, 20,
					     &done),
			 -ASPACE_EFAULT);
	assert_int_equal(done, 10);
	/* Reading it is fine (zero), past it is a hole. */
	assert_int_equal(aspace_copy_from_user(&m.as[0], out, A(2) + 4000, 200,
					       &done),
			 -ASPACE_EFAULT);
	assert_int_equal(done, 96);
	assert_int_equal(out[0], 0);
	assert_int_equal(aspace_copy_from_user(&m.as[0], out, A(0), 0, &done),
			 0);
	assert_int_equal(done, 0);
	/* Past the top of user space. */
	assert_int_equal(aspace_copy_from_user(&m.as[0], out, UINT64_MAX - 4,
					       10, NULL),
			 -ASPACE_EFAULT);
	tm_check(&m);
	tm_done(&m);
}

/* A copy into a copy-on-write page breaks the sharing: the other side keeps its bytes. */
static void test_copy_user_cow(void **state)
{
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 1, RW, PRIV_ANON);
	poke(&m, 0, A(0), 'a');
	tm_fork(&m, 0, 1);
	assert_int_equal(aspace_copy_to_user(&m.as[1], A(0), "b", 1, NULL), 0);
	tm_check(&m);
	assert_int_equal(peek(&m, 0, A(0)), 'a');
	assert_int_equal(peek(&m, 1, A(0)), 'b');
	/* Out of frames during the copy: ENOMEM. */
	tm_fork(&m, 0, 2);
	aspace_sim_fail_after(m.sim, ASPACE_SIM_FRAME, 0);
	assert_int_equal(aspace_copy_to_user(&m.as[2], A(0), "c", 1, NULL),
			 -ASPACE_ENOMEM);
	tm_check(&m);
	assert_int_equal(peek(&m, 2, A(0)), 'a');
	tm_done(&m);
}

static void test_strncpy_user(void **state)
{
	char s[64];
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 2, RW, PRIV_ANON);
	assert_int_equal(
		aspace_copy_to_user(&m.as[0], A(1) - 3, "hello", 6, NULL), 0);
	/* Across a page boundary, NUL included. */
	memset(s, 'x', sizeof(s));
	assert_int_equal(
		aspace_strncpy_from_user(&m.as[0], s, A(1) - 3, sizeof(s)), 5);
	assert_string_equal(s, "hello");
	/* Count reached before the NUL: count, and no NUL written. */
	memset(s, 'x', sizeof(s));
	assert_int_equal(aspace_strncpy_from_user(&m.as[0], s, A(1) - 3, 3), 3);
	assert_memory_equal(s, "helx", 4);
	assert_int_equal(aspace_strncpy_from_user(&m.as[0], s, A(1) - 3, 0), 0);
	/* No NUL before a hole: EFAULT. */
	assert_int_equal(aspace_copy_to_user(&m.as[0], A(2) - 2, "ab", 2, NULL),
			 0);
	assert_int_equal(aspace_strncpy_from_user(&m.as[0], s, A(2) - 2,
						  sizeof(s)),
			 -ASPACE_EFAULT);
	/* A NUL just before the hole is fine. */
	assert_int_equal(aspace_copy_to_user(&m.as[0], A(2) - 1, "", 1, NULL),
			 0);
	assert_int_equal(
		aspace_strncpy_from_user(&m.as[0], s, A(2) - 2, sizeof(s)), 1);
	assert_string_equal(s, "a");
	assert_int_equal(aspace_strncpy_from_user(&m.as[0], s, A(5), sizeof(s)),
			 -ASPACE_EFAULT);
	tm_check(&m);
	tm_done(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_results),
		cmocka_unit_test(test_exec_readable),
		cmocka_unit_test(test_fault_oom),
		cmocka_unit_test(test_cow),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_identity_chain),
		cmocka_unit_test(test_identity_reuse),
		cmocka_unit_test(test_identity_exec_only_key),
		cmocka_unit_test(test_copy_user),
		cmocka_unit_test(test_copy_user_cow),
		cmocka_unit_test(test_strncpy_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
