/*
 * /proc/PID/maps lines, as Linux's show_map_vma() prints them:
 *
 *   START-END PERMS OFFSET MAJOR:MINOR INODE [padding NAME]
 *
 * addresses and the offset in lowercase hexadecimal of at least 8 digits,
 * the device numbers of at least 2, the inode in decimal, a space after it;
 * a name is padded to column 73 (Linux's width on 64-bit machines) and
 * follows a space. Freestanding: no libc.
 */
#include "aspace_internal.h"

#define NAME_COLUMN 72 /* 25 + sizeof(void *) * 6 - 1 on 64 bits */

struct out {
	char *buf;
	size_t len, n;
};

static void out_init(struct out *o, char *buf, size_t len)
{
	o->buf = buf;
	o->len = len;
	o->n = 0;
}

static void put(struct out *o, char c)
{
	if (o->n + 1 < o->len)
		o->buf[o->n] = c;
	o->n++;
}

static void puts_(struct out *o, const char *s)
{
	while (*s)
		put(o, *s++);
}

static void put_hex(struct out *o, uint64_t v, int width)
{
	char d[16];
	int n = 0;

	do {
		d[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	while (width-- > n)
		put(o, '0');
	while (n)
		put(o, d[--n]);
}

static void put_dec(struct out *o, uint64_t v)
{
	char d[20];
	uint32_t r;
	int n = 0;

	do {
		v = aspace_div_small(v, 10, &r);
		d[n++] = (char)('0' + r);
	} while (v);
	while (n)
		put(o, d[--n]);
}

static void terminate(struct out *o)
{
	if (o->len)
		o->buf[o->n < o->len ? o->n : o->len - 1] = '\0';
}

static void line(const struct aspace *as, const struct memory_area *a,
		 struct out *o)
{
	const struct as_vma *d = as_data(a);
	const char *name = aspace_name_of(as, a->flags);
	uint64_t end = as_end(a), pgoff = 0, ino = 0;
	uint32_t major = 0, minor = 0;
	char path[160];
	const char *special = NULL;
	size_t start_col = o->n;

	path[0] = '\0';
	if (d->obj) {
		aspace_obj_describe(d->obj, path, sizeof(path), &major, &minor,
				    &ino);
		pgoff = d->pgoff << as->page_shift;
	}
	put_hex(o, a->start, 8);
	put(o, '-');
	put_hex(o, end, 8);
	put(o, ' ');
	put(o, a->flags & ASPACE_VM_READ ? 'r' : '-');
	put(o, a->flags & ASPACE_VM_WRITE ? 'w' : '-');
	put(o, a->flags & ASPACE_VM_EXEC ? 'x' : '-');
	put(o, a->flags & ASPACE_VM_MAYSHARE ? 's' : 'p');
	put(o, ' ');
	put_hex(o, pgoff, 8);
	put(o, ' ');
	put_hex(o, major, 2);
	put(o, ':');
	put_hex(o, minor, 2);
	put(o, ' ');
	put_dec(o, ino);
	put(o, ' ');
	if (!d->obj && a->start < as->brk && end > as->start_brk)
		special = "[heap]";
	else if (!d->obj && as->start_stack && a->start <= as->start_stack &&
		 end >= as->start_stack)
		special = "[stack]";
	if (!d->obj && !special && !name)
		goto done;
	while (o->n - start_col < NAME_COLUMN)
		put(o, ' ');
	put(o, ' ');
	if (d->obj && name) {
		puts_(o, "[anon_shmem:");
		puts_(o, name);
		put(o, ']');
	} else if (d->obj) {
		puts_(o, path);
	} else if (special) {
		puts_(o, special);
	} else {
		puts_(o, "[anon:");
		puts_(o, name);
		put(o, ']');
	}
done:
	put(o, '\n');
}

size_t aspace_maps_line(const struct aspace *as, uint64_t *pos, char *buf,
			size_t len)
{
	struct out o;
	struct memory_set_iter it;
	const struct memory_area *a;

	out_init(&o, buf, len);
	memory_set_iter_init(&it, &as->set, *pos);
	a = memory_set_iter_next(&it);
	if (a) {
		line(as, a, &o);
		*pos = as_end(a);
	}
	terminate(&o);
	return o.n;
}

size_t aspace_maps(const struct aspace *as, char *buf, size_t len)
{
	struct out o;
	struct memory_set_iter it;
	const struct memory_area *a;

	out_init(&o, buf, len);
	memory_set_foreach(a, &it, &as->set) line(as, a, &o);
	terminate(&o);
	return o.n;
}
