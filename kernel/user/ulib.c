/* The user programs' library. */
#include <stdarg.h>
#include <fmt.h>
#include "ulib.h"

int test_failures;

long syscall5(long n, long a0, long a1, long a2, long a3, long a4)
{
	register long r0 asm("a0") = a0;
	register long r1 asm("a1") = a1;
	register long r2 asm("a2") = a2;
	register long r3 asm("a3") = a3;
	register long r4 asm("a4") = a4;
	register long r7 asm("a7") = n;

	asm volatile("ecall" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r3), "r"(r4),
		     "r"(r7) : "memory");
	return r0;
}

__attribute__((section(".text.start"))) void _start(void)
{
	exit(main());
}

struct out {
	char buf[200];
	size_t n;
};

static void flush(struct out *o)
{
	syscall5(SYS_write, 1, (long)o->buf, (long)o->n, 0, 0);
	o->n = 0;
}

static void put(void *ctx, char c)
{
	struct out *o = ctx;

	o->buf[o->n++] = c;
	if (o->n == sizeof(o->buf))
		flush(o);
}

void printf(const char *fmt, ...)
{
	struct out o = { .n = 0 };
	va_list ap;

	va_start(ap, fmt);
	fmt_print(put, &o, fmt, ap);
	va_end(ap);
	if (o.n)
		flush(&o);
}

long count_areas(void)
{
	static char text[256 * 1024];
	long n = maps(text, sizeof(text)), lines = 0;

	if (n < 0 || n > (long)sizeof(text))
		return -1;
	for (long i = 0; i < n; i++)
		lines += text[i] == '\n';
	return lines;
}

int run_child(void (*fn)(uint64_t), uint64_t arg, uint64_t *fault_addr)
{
	int status = -1;
	long pid = fork();

	if (pid == 0) {
		fn(arg);
		exit(test_failures ? 1 : 0);
	}
	if (pid < 0) {
		printf("%s: fork: %ld\n", test_name, pid);
		test_failures++;
		return -1;
	}
	if (wait(&status, fault_addr) != pid) {
		printf("%s: wait did not return the child\n", test_name);
		test_failures++;
	}
	return status;
}

void expect_exit(const char *what, int status, int code)
{
	if (status == -1)
		return; /* no child: run_child said why */
	if (!WIFEXITED(status))
		FAILED("%s: killed as \"%s\", expected exit %d", what,
		       kill_reason_name(WKILLREASON(status)), code);
	else if (WEXITSTATUS(status) != code)
		FAILED("%s: exit %d, expected exit %d", what,
		       WEXITSTATUS(status), code);
}

void expect_kill(const char *what, void (*fn)(uint64_t), uint64_t addr,
		 int reason)
{
	uint64_t fault = 0;
	int status = run_child(fn, addr, &fault);

	if (status == -1)
		return; /* no child: run_child said why */
	if (WIFEXITED(status))
		FAILED("%s: not killed (exit %d)", what, WEXITSTATUS(status));
	else if (WKILLREASON(status) != reason)
		FAILED("%s: killed as \"%s\", expected \"%s\"", what,
		       kill_reason_name(WKILLREASON(status)),
		       kill_reason_name(reason));
	else if (fault != addr)
		FAILED("%s: killed at 0x%lx, expected 0x%lx", what,
		       (unsigned long)fault, (unsigned long)addr);
}
