/*
 * The kernel's own accesses to user memory, a system call's result written
 * into a buffer, obey the page as the process's own would: into a page the
 * process may not write the call fails with EFAULT and writes nothing; into
 * a page shared copy-on-write with another process it breaks the sharing,
 * and the other process's copy stays as it was. A read from a page the
 * process may not read fails with EFAULT too, and so does an address in
 * the kernel's half.
 */
#include "ulib.h"

const char *test_name = "uaccess";

#define P PAGE_SIZE
#define RW (PROT_READ | PROT_WRITE)
#define WORDS (P / sizeof(uint64_t))
#define OLD 0x5a5a5a5a00000000ull

static long shared;

static void fill(long page)
{
	for (uint64_t w = 0; w < WORDS; w++)
		((volatile uint64_t *)page)[w] = OLD + w;
}

/* Does the page hold what fill() wrote, untouched? */
static bool kept(long page)
{
	for (uint64_t w = 0; w < WORDS; w++)
		if (((volatile uint64_t *)page)[w] != OLD + w)
			return false;
	return true;
}

/* A system call that writes its result into user memory: the maps text. */
static long kernel_writes(long buf)
{
	return maps((char *)buf, P);
}

/* Did it write there? The text starts with the first area's address. */
static bool written(long page)
{
	char c = *(volatile char *)page;

	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void not_writable(void)
{
	long a = mmap(0, 3 * P, RW, ANON), r;
	int status = 0;

	CHECK(a > 0, "mmap %ld", a);
	fill(a);
	fill(a + P); /* a + 2 * P is never touched */
	CHECK(mprotect(a, 3 * P, PROT_READ) == 0, "mprotect");

	r = kernel_writes(a);
	CHECK(r == -EFAULT, "maps() into a read-only page returned %ld", r);
	CHECK(kept(a), "maps() wrote into a read-only page");
	r = kernel_writes(a + 2 * P);
	CHECK(r == -EFAULT, "maps() into a read-only page never touched: %ld", r);
	CHECK(*(volatile uint64_t *)(a + 2 * P) == 0,
	      "maps() wrote into a read-only page never touched");

	long pid = fork();

	if (pid == 0)
		exit(3);
	r = wait((int *)(a + P), NULL);
	CHECK(r == -EFAULT, "wait() with its status in a read-only page: %ld", r);
	CHECK(kept(a + P), "wait() wrote its status into a read-only page");
	CHECK(wait(&status, NULL) == -ECHILD, "the child was reaped all the same");

	/* PROT_NONE: neither written nor read, and the data is still there. */
	CHECK(mprotect(a, P, PROT_NONE) == 0, "PROT_NONE");
	r = kernel_writes(a);
	CHECK(r == -EFAULT, "maps() into a PROT_NONE page: %ld", r);
	r = syscall5(SYS_write, 1, a, 8, 0, 0);
	CHECK(r == -EFAULT, "write() from a PROT_NONE page: %ld", r);
	CHECK(mprotect(a, P, PROT_READ) == 0 && kept(a),
	      "the PROT_NONE page lost its data");
	CHECK(munmap(a, 3 * P) == 0, "munmap");
}

/* The child writes through the kernel into its copy of a shared page. */
static void child_kernel_writes(uint64_t unused)
{
	long r;

	(void)unused;
	CHECK(kept(shared), "the child does not see the parent's data");
	r = kernel_writes(shared);
	CHECK(r > 0 && written(shared),
	      "maps() into a copy-on-write page in the child: %ld", r);
}

static void copy_on_write(void)
{
	int status = -1;
	long r;

	shared = mmap(0, P, RW, ANON);
	CHECK(shared > 0, "mmap %ld", shared);
	fill(shared);

	status = run_child(child_kernel_writes, 0, NULL);
	expect_exit("the child that writes", status, 0);
	CHECK(kept(shared),
	      "the child's maps() into a shared page changed the parent's copy");

	/* The child runs once the parent waits: after the parent's write. */
	long pid = fork();

	if (pid == 0) {
		CHECK(kept(shared), "the parent's maps() into a shared page "
		      "changed the child's copy");
		exit(test_failures != 0);
	}
	r = kernel_writes(shared);
	CHECK(r > 0 && written(shared),
	      "maps() into a copy-on-write page in the parent: %ld", r);
	CHECK(wait(&status, NULL) == pid, "wait");
	expect_exit("the child that looks", status, 0);
	CHECK(munmap(shared, P) == 0, "munmap");
}

/*
 * A pointer into the kernel's half is no user memory: the kernel's copies
 * refuse it both ways, rather than write into itself or read itself out.
 */
static void kernel_addresses(void)
{
	long r = kernel_writes(KERNEL_VA);

	CHECK(r == -EFAULT, "maps() into the kernel: %ld", r);
	r = syscall5(SYS_write, 1, KERNEL_VA, 8, 0, 0);
	CHECK(r == -EFAULT, "write() from the kernel: %ld", r);
	r = kernel_writes(DIRECT_MAP + RAM_BASE + ((uint64_t)RAM_MB << 20) - P);
	CHECK(r == -EFAULT, "maps() into the direct map's last frame: %ld", r);
}

int main(void)
{
	not_writable();
	copy_on_write();
	kernel_addresses();
	printf("uaccess: %d failures\n", test_failures);
	return test_failures != 0;
}
