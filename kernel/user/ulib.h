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

extern const char *test_name;
extern int test_failures;

/* A check that can fail: a failure is printed and counted, the test goes on. */
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
