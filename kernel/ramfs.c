/*
 * A read-only file system in memory: the programs built into the image,
 * as /bin/NAME, and the few /proc files Linux programs read. A /proc file
 * has no bytes of its own: its text is made for the reading process on
 * every read, so a reader that seeks back sees the state of now.
 */
#include <fmt.h>
#include "kernel.h"

#define MAX_FILES 64
#define PATH_MAX_LEN 64
#define GEN_MAX 4096 /* the largest text a /proc file makes */

struct rfile {
	char path[PATH_MAX_LEN];
	const unsigned char *data; /* a program's bytes, or NULL */
	uint64_t size;
	size_t (*gen)(struct proc *p, char *buf, size_t cap);
};

static struct rfile files[MAX_FILES];
static int nfiles;

struct out {
	char *buf;
	size_t n, cap;
};

static void put(void *ctx, char c)
{
	struct out *o = ctx;

	if (o->n < o->cap)
		o->buf[o->n] = c;
	o->n++;
}

/* snprintf, as much as the generators need; returns the length it wanted. */
static size_t format(char *buf, size_t cap, const char *fmt, ...)
{
	struct out o = { buf, 0, cap };
	va_list ap;

	va_start(ap, fmt);
	fmt_print(put, &o, fmt, ap);
	va_end(ap);
	if (cap)
		buf[o.n < cap ? o.n : cap - 1] = 0;
	return o.n;
}

/* Programs may map nothing below this address (USER_MIN). */
static size_t gen_mmap_min_addr(struct proc *p, char *buf, size_t cap)
{
	(void)p;
	return format(buf, cap, "%lu\n", (unsigned long)USER_MIN);
}

static void add(const char *path, const unsigned char *data, uint64_t size,
		size_t (*gen)(struct proc *, char *, size_t))
{
	struct rfile *f = &files[nfiles];

	if (nfiles == MAX_FILES || strlen(path) >= PATH_MAX_LEN)
		panic("ramfs: no room for %s", path);
	memcpy(f->path, path, strlen(path) + 1);
	f->data = data;
	f->size = size;
	f->gen = gen;
	nfiles++;
}

void ramfs_init(void)
{
	char path[PATH_MAX_LEN];

	for (const struct program *prog = user_programs; prog->name; prog++) {
		if (format(path, sizeof(path), "%s%s", RAMFS_BIN, prog->name) >=
		    sizeof(path))
			panic("ramfs: %s: name too long", prog->name);
		add(path, prog->start, (uint64_t)(prog->end - prog->start), NULL);
	}
	add("/proc/sys/vm/mmap_min_addr", NULL, 0, gen_mmap_min_addr);
}

const struct rfile *ramfs_lookup(const char *path)
{
	for (int i = 0; i < nfiles; i++)
		if (!strcmp(files[i].path, path))
			return &files[i];
	return NULL;
}

/* A number for stat, the same for one file each time. */
uint64_t ramfs_ino(const struct rfile *f)
{
	return (uint64_t)(f - files) + 16;
}

/* The size a stat reports: a /proc file says 0, as Linux's do. */
uint64_t ramfs_size(const struct rfile *f)
{
	return f->gen ? 0 : f->size;
}

/*
 * Copy up to @len bytes at @pos of @f, as @p would read them, to user
 * address @ubuf. Returns the count (0 at the end) or -EFAULT.
 */
long ramfs_read(struct proc *p, const struct rfile *f, uint64_t pos,
		uint64_t ubuf, uint64_t len)
{
	static char text[GEN_MAX];
	const char *bytes = (const char *)f->data;
	uint64_t size = f->size;

	if (f->gen) {
		size = f->gen(p, text, sizeof(text));
		if (size > sizeof(text))
			size = sizeof(text);
		bytes = text;
	}
	if (pos >= size)
		return 0;
	if (len > size - pos)
		len = size - pos;
	if (user_copy(&p->mm, &p->pt, ubuf, (void *)(bytes + pos), len, true))
		return -EFAULT;
	return (long)len;
}
