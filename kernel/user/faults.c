/*
 * Bad accesses kill the process, and its parent's wait() says why and
 * where: an address in no area, or an access the area does not allow.
 */
#include "ulib.h"

const char *test_name = "faults";

#define P PAGE_SIZE

static void fetch(uint64_t addr)
{
	((void (*)(void))addr)();
}

static void exit_seven(uint64_t unused)
{
	(void)unused;
	exit(7);
}

int main(void)
{
	long a = mmap(0, 4 * P, PROT_READ | PROT_WRITE, ANON);

	CHECK(a > 0, "mmap %ld", a);
	store(a + P); /* populated before the fork, shared after it */

	CHECK(mprotect(a + P, P, PROT_READ) == 0, "mprotect");
	expect_kill("store to a read-only page", store, a + P + 8, KILL_DENIED);
	CHECK(munmap(a + 2 * P, P) == 0, "munmap");
	expect_kill("load from unmapped", load, a + 2 * P + 16, KILL_UNMAPPED);
	CHECK(mprotect(a + 3 * P, P, PROT_NONE) == 0, "PROT_NONE");
	expect_kill("load from PROT_NONE", load, a + 3 * P, KILL_DENIED);

	/* A ret instruction in data: fetching it is not allowed. */
	*(volatile uint32_t *)a = 0x00008067;
	expect_kill("fetch from rw- memory", fetch, a, KILL_DENIED);
	expect_kill("store to text", store, (uint64_t)&main & ~7ul, KILL_DENIED);
	expect_kill("load below the stack", load, USER_TOP - STACK_SIZE - 8,
		    KILL_UNMAPPED);
	expect_kill("load from page 0", load, 0, KILL_UNMAPPED);

	/* The kernel's half is in the page table, but not for U-mode. */
	expect_kill("load from the kernel", load, KERNEL_VA, KILL_UNMAPPED);
	expect_kill("fetch from the kernel", fetch, KERNEL_VA, KILL_UNMAPPED);
	expect_kill("store to the direct map's last frame", store,
		    DIRECT_MAP + RAM_BASE + ((uint64_t)RAM_MB << 20) - 8,
		    KILL_UNMAPPED);
	/* Between the halves, no address is valid at all. */
	expect_kill("load above user space", load, USER_TOP, KILL_UNMAPPED);
	expect_kill("load below the kernel's half", load, DIRECT_MAP - 8,
		    KILL_UNMAPPED);

	/* A store to a read-only page at the same place works in the parent
	 * after mprotect: the child's death changed nothing here. */
	CHECK(mprotect(a + P, P, PROT_READ | PROT_WRITE) == 0, "mprotect back");
	store(a + P);

	int status = run_child(exit_seven, 0, NULL);

	expect_exit("exit(7)", status, 7);
	CHECK(wait(&status, NULL) == -ECHILD, "wait without children");
	CHECK(syscall5(SYS_write, 1, a + 2 * P, 8, 0, 0) == -EFAULT,
	      "write() from unmapped memory is EFAULT, not a kill");
	printf("faults: %d failures\n", test_failures);
	return test_failures != 0;
}
