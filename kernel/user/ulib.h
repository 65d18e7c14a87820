/* The user programs' library: system calls, printf, checks. */
#ifndef ULIB_H
#define ULIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <abi.h>

long syscall5(long n, long a0, long a1, long a2, long a3, long a4);

static inline _Noreturn void exit(int code)
{
	syscall5(SYS_exit, code, 0, 0, 0, 0);
	__builtin_unreachable();
}

static inline long fork(void) { return syscall5(SYS_fork, 0, 0, 0, 0, 0); }
static inline long wait(int *status, uint64_t *addr)
{
	return syscall5(SYS_wait, (long)status, (long)addr, 0, 0, 0);
}
static inline void yield(void) { syscall5(SYS_yield, 0, 0, 0, 0, 0); }
static inline long getpid(void) { return syscall5(SYS_getpid, 0, 0, 0, 0, 0); }
static inline long brk(uint64_t addr) { return syscall5(SYS_brk, (long)addr, 0, 0, 0, 0); }
static inline long mmap(uint64_t addr, uint64_t len, int prot, int flags)
{
	return syscall5(SYS_mmap, (long)addr, (long)len, prot, flags, 0);
}
static inline long munmap(uint64_t addr, uint64_t len)
{
	return syscall5(SYS_munmap, (long)addr, (long)len, 0, 0, 0);
}
static inline long mprotect(uint64_t addr, uint64_t len, int prot)
{
	return syscall5(SYS_mprotect, (long)addr, (long)len, prot, 0, 0);
}
static inline long mremap(uint64_t old, uint64_t old_len, uint64_t new_len,
			  int flags, uint64_t new_addr)
{
	return syscall5(SYS_mremap, (long)old, (long)old_len, (long)new_len,
			flags, (long)new_addr);
}
static inline long maps(char *buf, uint64_t len)
{
	return syscall5(SYS_maps, (long)buf, (long)len, 0, 0, 0);
}
static inline long debug(int op) { return syscall5(SYS_debug, op, 0, 0, 0, 0); }

/* Anonymous private memory, as most tests want it. */
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The number of areas, from the maps text (-1 if it does not fit). */
long count_areas(void);

/* Fork a child that runs fn(arg) and exits 0; return what wait() saw. */
int run_child(void (*fn)(uint64_t), uint64_t arg, uint64_t *fault_addr);

/* A child must have exited with @code; a failure says how it ended. */
void expect_exit(const char *what, int status, int code);

/*
 * Fork a child that runs fn(addr): it must be killed for @reason at @addr.
 * A failure says what happened instead ("not killed (exit 0)").
 */
void expect_kill(const char *what, void (*fn)(uint64_t), uint64_t addr,
		 int reason);

/* One access, for a child that may die of it. */
static inline void load(uint64_t addr)
{
	(void)*(volatile uint64_t *)addr;
}

static inline void store(uint64_t addr)
{
	*(volatile uint64_t *)addr = 1;
}

extern const char *test_name;
extern int test_failures;

/*
 * A failed check: printed as "NAME: check failed..." (the test script shows
 * these lines under a program's FAIL) and counted; the test goes on.
 */
#define FAILED(...)                                                         \
	do {                                                                \
		printf("%s: check failed: ", test_name);                    \
		printf(__VA_ARGS__);                                        \
		printf("\n");                                               \
		test_failures++;                                            \
	} while (0)

/* A check that can fail, named by its line and condition. */
#define CHECK(cond, ...)                                                    \
	do {                                                                \
		if (!(cond)) {                                              \
			printf("%s: check failed at line %d: %s: ",         \
			       test_name, __LINE__, #cond);                 \
			printf(__VA_ARGS__);                                \
			printf("\n");                                       \
			test_failures++;                                    \
		}                                                           \
	} while (0)

/* Each program defines test_name and main; main's return is the exit code. */
int main(void);

#endif
