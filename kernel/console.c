/* The console and power-off, through the SBI firmware (OpenSBI). */
#include <stdarg.h>
#include <fmt.h>
#include "kernel.h"

static long sbi_call(long ext, long fid, long arg0, long arg1)
{
	register long a0 asm("a0") = arg0;
	register long a1 asm("a1") = arg1;
	register long a6 asm("a6") = fid;
	register long a7 asm("a7") = ext;

	asm volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
	return a0;
}

static void putc_sbi(void *ctx, char c)
{
	(void)ctx;
	sbi_call(0x01, 0, c, 0); /* legacy console_putchar */
}

void console_write(const char *s, size_t len)
{
	while (len--)
		putc_sbi(NULL, *s++);
}

void printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fmt_print(putc_sbi, NULL, fmt, ap);
	va_end(ap);
}

/* An interrupt at time @when (the time CSR's clock); ~0 for none. */
void timer_set(uint64_t when)
{
	sbi_call(0x54494d45, 0, (long)when, 0); /* TIME: set_timer */
}

uint64_t timer_now(void)
{
	uint64_t t;

	asm volatile("csrr %0, time" : "=r"(t));
	return t;
}

_Noreturn void shutdown(void)
{
	sbi_call(0x53525354, 0, 0, 0); /* SRST: shutdown */
	sbi_call(0x08, 0, 0, 0);       /* legacy shutdown */
	for (;;)
		asm volatile("wfi");
}

_Noreturn void panic(const char *fmt, ...)
{
	va_list ap;

	printf("panic: ");
	va_start(ap, fmt);
	fmt_print(putc_sbi, NULL, fmt, ap);
	va_end(ap);
	printf("\n");
	shutdown();
}

/* MEMORY_SET_ASSERT() of the core, routed here by ms_assert.h. */
void kernel_assert_failed(const char *file, int line, const char *cond)
{
	panic("%s:%d: assertion failed: %s", file, line, cond);
}
