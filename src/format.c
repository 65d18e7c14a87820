/* An area as a /proc/PID/maps line, without libc. */
#include <memory_set/memory_set.h>

struct out {
	char *buf;
	size_t len, pos;
};

static void put(struct out *o, char c)
{
	if (o->pos + 1 < o->len)
		o->buf[o->pos] = c;
	o->pos++;
}

static void put_str(struct out *o, const char *s)
{
	while (*s)
		put(o, *s++);
}

/* Lowercase hexadecimal, at least 8 digits; carry puts a 1 above 64 bits. */
static void put_hex(struct out *o, uint64_t v, bool carry)
{
	char d[16];
	int n = 0;

	if (carry) {
		put(o, '1');
		put_str(o, "0000000000000000");
		return;
	}
	do {
		d[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	while (n < 8)
		d[n++] = '0';
	while (n)
		put(o, d[--n]);
}

static void default_perms(void *ctx, uint64_t flags, char perms[4])
{
	(void)ctx;
	perms[0] = flags & 1 ? 'r' : '-';
	perms[1] = flags & 2 ? 'w' : '-';
	perms[2] = flags & 4 ? 'x' : '-';
	perms[3] = flags & 8 ? 's' : 'p';
}

size_t memory_set_format_area(char *buf, size_t len,
			      const struct memory_area *area,
			      memory_set_perms_fn perms, void *ctx)
{
	struct out o = { buf, buf ? len : 0, 0 };
	uint64_t end = area->start + area->size;
	char p[4];
	int i;

	(perms ? perms : default_perms)(ctx, area->flags, p);
	put_hex(&o, area->start, false);
	put(&o, '-');
	/* An area that ends at 2^64 has end 0 modulo 2^64. */
	put_hex(&o, end, end <= area->start);
	put(&o, ' ');
	for (i = 0; i < 4; i++)
		put(&o, p[i]);
	put_str(&o, " 00000000 00:00 0");
	if (buf && len)
		buf[o.pos < len ? o.pos : len - 1] = '\0';
	return o.pos;
}
