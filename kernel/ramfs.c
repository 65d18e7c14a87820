/*
 * A read-only file system in memory: the programs built into the image,
 * as /bin/NAME, and the few /proc files Linux programs read. A /proc file
 * has no bytes of its own: its text is made for the reading process on
 * every read, a piece (a line) at a time, so a reader that seeks back sees
 * the state of now, and a long text needs no buffer of its size.
 */
#include <fmt.h>
#include "kernel.h"
#include <linux_abi.h>

#define MAX_FILES 64
#define PATH_MAX_LEN 64
#define PIECE_MAX 512 /* the longest piece (a maps line) a /proc file makes */

/*
 * A /proc file's text, a piece at a time: the piece after @cursor (0 at
 * first) into @buf, its length (0 at the end); @cursor moves past it.
 */
typedef size_t gen_fn(struct proc *p, uint64_t *cursor, char *buf, size_t cap);

struct rfile {
	char path[PATH_MAX_LEN];
	const unsigned char *data; /* a program's bytes, or NULL */
	uint64_t size;
	gen_fn *gen;
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

/* mmap places nothing below this address (USER_MIN). */
static size_t gen_mmap_min_addr(struct proc *p, uint64_t *cursor, char *buf,
				size_t cap)
{
	(void)p;
	if ((*cursor)++)
		return 0;
	return format(buf, cap, "%lu\n", (unsigned long)USER_MIN);
}

/* /proc/self/maps: the layer's lines, one area each. */
static size_t gen_maps(struct proc *p, uint64_t *cursor, char *buf, size_t cap)
{
	return aspace_maps_line(&p->as, cursor, buf, cap);
}

static void add(const char *path, const unsigned char *data, uint64_t size,
		gen_fn *gen)
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
	add("/proc/self/maps", NULL, 0, gen_maps);
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

/* A program's bytes (NULL for a /proc file). */
const unsigned char *ramfs_data(const struct rfile *f)
{
	return f->data;
}

/* The size a stat reports: a /proc file says 0, as Linux's do. */
uint64_t ramfs_size(const struct rfile *f)
{
	return f->gen ? 0 : f->size;
}

/* A page of a program's file, for the layer's page cache of its object. */
static int read_page(void *file, uint64_t offset, uint64_t frame)
{
	const struct rfile *f = file;
	uint64_t n = f->size - offset < PAGE_SIZE ? f->size - offset : PAGE_SIZE;

	memcpy(phys_to_virt(frame), f->data + offset, n);
	return 0;
}

static const struct aspace_file_ops rfile_ops = {
	.version = ASPACE_FILE_OPS_VERSION,
	.read_page = read_page,
};

/*
 * A new object of the layer over @f, read-only, for mmap and exec: one
 * reference, the caller's. -ENODEV for a /proc file, or the layer's error.
 */
int ramfs_object(struct proc *p, const struct rfile *f,
		 struct aspace_object **obj)
{
	if (f->gen)
		return -ENODEV;
	return aspace_object_create_file(&p->as, &rfile_ops, (void *)f, f->size,
					 ASPACE_OBJ_READ, f->path, 0, 1,
					 ramfs_ino(f), obj);
}

/*
 * Copy up to @len bytes at @pos of @f, as @p would read them, to user
 * address @ubuf. Returns the count (0 at the end) or -EFAULT.
 */
long ramfs_read(struct proc *p, const struct rfile *f, uint64_t pos,
		uint64_t ubuf, uint64_t len)
{
	char piece[PIECE_MAX];
	uint64_t cursor = 0, at = 0, done = 0;
	size_t n;
	int err;

	if (!f->gen) {
		if (pos >= f->size)
			return 0;
		if (len > f->size - pos)
			len = f->size - pos;
		err = copy_to_user(p, ubuf, f->data + pos, len);
		return err ? err : (long)len;
	}
	/* The text from its start: the pieces before @pos are skipped. */
	while (done < len && (n = f->gen(p, &cursor, piece, sizeof(piece)))) {
		if (n >= sizeof(piece))
			panic("ramfs: %s: a piece longer than %d bytes", f->path,
			      PIECE_MAX - 1);
		if (at + n > pos) {
			uint64_t from = pos > at ? pos - at : 0;
			uint64_t m = n - from < len - done ? n - from : len - done;

			err = copy_to_user(p, ubuf + done, piece + from, m);
			if (err)
				return done ? (long)done : err;
			done += m;
		}
		at += n;
	}
	return (long)done;
}
