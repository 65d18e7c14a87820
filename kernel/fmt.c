/* printf-style formatting, shared by the kernel and the user programs. */
#include <stdint.h>
#include <fmt.h>

static void put_number(void (*put)(void *, char), void *ctx, uint64_t v,
		       unsigned base, int width, char pad)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (width-- > n)
		put(ctx, pad);
	while (n)
		put(ctx, digits[--n]);
}

void fmt_print(void (*put)(void *ctx, char c), void *ctx, const char *fmt,
	       va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(ctx, *fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, is_long = 0;

		if (*fmt == '0')
			pad = *fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l')
			is_long = 1, fmt++;

		int64_t sv;
		const char *s;

		switch (*fmt) {
		case 'd':
			sv = is_long ? va_arg(ap, int64_t) : va_arg(ap, int);
			if (sv < 0) {
				put(ctx, '-');
				sv = -sv;
			}
			put_number(put, ctx, (uint64_t)sv, 10, width, pad);
			break;
		case 'u':
			put_number(put, ctx, is_long ? va_arg(ap, uint64_t) :
				   va_arg(ap, unsigned), 10, width, pad);
			break;
		case 'x':
			put_number(put, ctx, is_long ? va_arg(ap, uint64_t) :
				   va_arg(ap, unsigned), 16, width, pad);
			break;
		case 'p':
			put(ctx, '0');
			put(ctx, 'x');
			put_number(put, ctx, (uint64_t)(uintptr_t)va_arg(ap, void *),
				   16, width, pad);
			break;
		case 's':
			for (s = va_arg(ap, const char *); s && *s; s++)
				put(ctx, *s);
			break;
		case 'c':
			put(ctx, (char)va_arg(ap, int));
			break;
		case '\0':
			return;
		default:
			put(ctx, *fmt);
			break;
		}
	}
}
