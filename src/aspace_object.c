/*
 * Objects: what MAP_SHARED anonymous memory, memfds and files map. An
 * object is a size and a page cache (page index -> frame, a radix tree of
 * 64-way nodes), plus the list of the area records that map it, so that
 * truncating or punching a hole can take the pages out of every mapping
 * (Linux's i_mmap). The cache holds one reference to each of its frames;
 * every entry mapping one holds another.
 *
 * A file object asks its host for each page once (read_page) and keeps it.
 * MAP_SHARED anonymous memory is an object of the mapping's size made by
 * mmap (Linux's shmem_zero_setup(), "/dev/zero (deleted)"); growing the
 * mapping does not grow it, so pages past its end give SIGBUS.
 */
#include "aspace_internal.h"

#define PC_SHIFT 6
#define PC_SLOTS (1u << PC_SHIFT)
#define PC_MAX_HEIGHT 11 /* 64 bits of page index, 6 at a time */
/*
 * The most nodes one insert allocates: a tree of height 1 grown to the
 * full height (PC_MAX_HEIGHT - 1 new roots) whose path leaves the new
 * roots at the top (PC_MAX_HEIGHT - 1 more nodes down to the leaf).
 */
#define PC_MAX_NEW (2 * (PC_MAX_HEIGHT - 1))
#define MFD_NAME_MAX 249
#define SIZE_MAX_OBJ 0x7fffffffffffffffull

enum obj_kind { OBJ_SHMEM, OBJ_MEMFD, OBJ_FILE };

struct pc_node {
	uint64_t present; /* slots in use */
	uint64_t fresh; /* leaf slots a running fallocate() filled */
	union {
		struct pc_node *child[PC_SLOTS];
		uint64_t frame[PC_SLOTS];
	} u;
};

struct aspace_object {
	const struct aspace_ops *ops;
	void *ctx;
	uint64_t page_size;
	unsigned page_shift;
	uint64_t refs;
	uint64_t size;
	unsigned mode;
	enum obj_kind kind;
	const struct aspace_file_ops *fops;
	void *file;
	uint32_t major, minor;
	uint64_t ino;
	struct as_vma *maps;
	struct pc_node *root;
	unsigned height; /* levels of the tree; it covers 64^height pages */
	char name[256];
};

/* ---- The page cache ---------------------------------------------------- */

static unsigned slot(uint64_t idx, unsigned level)
{
	return (unsigned)(idx >> (PC_SHIFT * level)) & (PC_SLOTS - 1);
}

static bool covered(const struct aspace_object *o, uint64_t idx)
{
	return o->height >= PC_MAX_HEIGHT ||
	       (o->height && idx >> (PC_SHIFT * o->height) == 0);
}

static bool pc_find(const struct aspace_object *o, uint64_t idx,
		    uint64_t *frame)
{
	const struct pc_node *n = o->root;
	unsigned level;

	if (!covered(o, idx))
		return false;
	for (level = o->height - 1; level > 0; level--) {
		if (!(n->present & (1ull << slot(idx, level))))
			return false;
		n = n->u.child[slot(idx, level)];
	}
	if (!(n->present & (1ull << slot(idx, 0))))
		return false;
	*frame = n->u.frame[slot(idx, 0)];
	return true;
}

static struct pc_node *pc_node_new(struct aspace_object *o)
{
	struct pc_node *n = o->ops->alloc(o->ctx, sizeof(*n));

	if (n)
		memset(n, 0, sizeof(*n));
	return n;
}

static void pc_node_free(struct aspace_object *o, struct pc_node *n)
{
	o->ops->free(o->ctx, n, sizeof(*n));
}

/* Height a tree needs to cover page @idx, at least @h and 1. */
static unsigned height_for(uint64_t idx, unsigned h)
{
	if (!h)
		h = 1;
	while (h < PC_MAX_HEIGHT && idx >> (PC_SHIFT * h))
		h++;
	return h;
}

/*
 * Nodes that storing page @idx needs: new roots up to height @h, then the
 * missing nodes of its path (a missing child at level L means L new nodes).
 */
static unsigned nodes_needed(const struct aspace_object *o, uint64_t idx,
			     unsigned h)
{
	const struct pc_node *n = o->root;
	unsigned level;

	if (!o->height)
		return h;
	for (level = h - 1; level > 0; level--) {
		if (level >= o->height) {
			/* A new root: slot 0 leads down to the old root. */
			if (slot(idx, level))
				return (h - o->height) + level;
			continue;
		}
		if (!(n->present & (1ull << slot(idx, level))))
			return (h - o->height) + level;
		n = n->u.child[slot(idx, level)];
	}
	return h - o->height;
}

/*
 * Store @frame at @idx (absent); @fresh marks it as a running fallocate()'s.
 * Every node the path needs is allocated first, so a failure changes
 * nothing.
 */
static int pc_insert(struct aspace_object *o, uint64_t idx, uint64_t frame,
		     bool fresh)
{
	struct pc_node *nodes[PC_MAX_NEW], *n;
	unsigned h = height_for(idx, o->height), need, used, level, s;

	need = nodes_needed(o, idx, h);
	for (used = 0; used < need; used++) {
		if (!(nodes[used] = pc_node_new(o))) {
			while (used)
				pc_node_free(o, nodes[--used]);
			return -ASPACE_ENOMEM;
		}
	}
	/*
	 * The commit takes exactly the nodes nodes_needed() counted: new
	 * roots, then one per missing level of the path. clang's analyzer
	 * does not carry that count out of nodes_needed()'s loop, and so
	 * takes nodes[used] for unset.
	 */
	/* NOLINTBEGIN(clang-analyzer-core.uninitialized.Assign) */
	used = 0;
	if (!o->height) {
		o->root = nodes[used++];
		o->height = h;
	}
	while (o->height < h) {
		n = nodes[used++];
		n->u.child[0] = o->root;
		n->present = 1;
		o->root = n;
		o->height++;
	}
	n = o->root;
	for (level = o->height - 1; level > 0; level--) {
		s = slot(idx, level);
		if (!(n->present & (1ull << s))) {
			n->u.child[s] = nodes[used++];
			n->present |= 1ull << s;
		}
		n = n->u.child[s];
	}
	/* NOLINTEND(clang-analyzer-core.uninitialized.Assign) */
	s = slot(idx, 0);
	n->u.frame[s] = frame;
	n->present |= 1ull << s;
	if (fresh)
		n->fresh |= 1ull << s;
	return 0;
}

enum pc_op {
	PC_VISIT, /* call fn */
	PC_DROP, /* call fn, take the page out */
	PC_DROP_FRESH, /* the same, for fresh pages only */
	PC_KEEP_FRESH, /* fresh pages become ordinary ones */
};

/*
 * Apply @op to every page from index @lo to @hi (inclusive) under @n, which
 * is at @level and starts at page @base. Empty nodes are freed; true: @n
 * itself is now empty.
 */
static bool pc_walk(struct aspace_object *o, struct pc_node *n, unsigned level,
		    uint64_t base, uint64_t lo, uint64_t hi, enum pc_op op,
		    void (*fn)(void *, uint64_t, uint64_t), void *arg)
{
	uint64_t span = 1ull << (PC_SHIFT * level), start, bit;
	unsigned s;

	for (s = 0; s < PC_SLOTS; s++) {
		start = base + s * span;
		bit = 1ull << s;
		if (!(n->present & bit) || start + (span - 1) < lo ||
		    start > hi)
			continue;
		if (level) {
			if (pc_walk(o, n->u.child[s], level - 1, start, lo, hi,
				    op, fn, arg)) {
				pc_node_free(o, n->u.child[s]);
				n->present &= ~bit;
			}
			continue;
		}
		if (op == PC_KEEP_FRESH) {
			n->fresh &= ~bit;
			continue;
		}
		if (op == PC_DROP_FRESH && !(n->fresh & bit))
			continue;
		if (fn)
			fn(arg, start, n->u.frame[s]);
		if (op != PC_VISIT) {
			n->present &= ~bit;
			n->fresh &= ~bit;
		}
	}
	return !n->present;
}

static void pc_range(struct aspace_object *o, uint64_t lo, uint64_t hi,
		     enum pc_op op, void (*fn)(void *, uint64_t, uint64_t),
		     void *arg)
{
	if (!o->height || lo > hi)
		return;
	if (pc_walk(o, o->root, o->height - 1, 0, lo, hi, op, fn, arg)) {
		pc_node_free(o, o->root);
		o->root = NULL;
		o->height = 0;
	}
}

static void put_frame(void *arg, uint64_t idx, uint64_t frame)
{
	struct aspace_object *o = arg;

	(void)idx;
	o->ops->frame_put(o->ctx, frame);
}

/* ---- Pages ------------------------------------------------------------ */

/* Pages an object of @size bytes has. */
static uint64_t npages(const struct aspace_object *o, uint64_t size)
{
	return (size >> o->page_shift) + !!(size & (o->page_size - 1));
}

bool aspace_obj_inside(const struct aspace_object *obj, uint64_t pgoff,
		       uint64_t page_size)
{
	(void)page_size;
	return pgoff < npages(obj, obj->size);
}

bool aspace_obj_holds(const struct aspace_object *obj, uint64_t pgoff,
		      uint64_t frame)
{
	uint64_t f;

	return pc_find(obj, pgoff, &f) && f == frame;
}

/*
 * The object's page @pgoff, made (zeroed, or read from the file) if the
 * cache has none (then *@made is set, if not NULL). The cache keeps the
 * reference; the caller takes its own. -ASPACE_ENOMEM, or the host's error
 * for a page it could not read.
 */
int aspace_obj_page(struct aspace_object *obj, uint64_t pgoff, uint64_t *frame,
		    bool *made)
{
	int err;

	if (made)
		*made = false;
	if (pc_find(obj, pgoff, frame))
		return 0;
	if (obj->ops->frame_alloc(obj->ctx, frame))
		return -ASPACE_ENOMEM;
	if (obj->kind == OBJ_FILE &&
	    (err = obj->fops->read_page(obj->file, pgoff << obj->page_shift,
					*frame))) {
		obj->ops->frame_put(obj->ctx, *frame);
		return err < 0 ? err : -ASPACE_EFAULT;
	}
	if (pc_insert(obj, pgoff, *frame, false)) {
		obj->ops->frame_put(obj->ctx, *frame);
		return -ASPACE_ENOMEM;
	}
	if (made)
		*made = true;
	return 0;
}

/* Take page @pgoff, which a failed fault just made, out of the cache. */
void aspace_obj_unmake(struct aspace_object *obj, uint64_t pgoff)
{
	pc_range(obj, pgoff, pgoff, PC_DROP, put_frame, obj);
}

/* ---- Mappings --------------------------------------------------------- */

void aspace_obj_link(struct as_vma *d)
{
	struct aspace_object *o = d->obj;

	o->refs++;
	d->obj_prev = NULL;
	d->obj_next = o->maps;
	if (o->maps)
		o->maps->obj_prev = d;
	o->maps = d;
}

void aspace_obj_unlink(struct as_vma *d)
{
	struct aspace_object *o = d->obj;

	if (d->obj_prev)
		d->obj_prev->obj_next = d->obj_next;
	else
		o->maps = d->obj_next;
	if (d->obj_next)
		d->obj_next->obj_prev = d->obj_prev;
	d->obj = NULL;
	aspace_object_put(o);
}

/*
 * Take the pages from index @lo up out of every mapping whose area shows
 * them: all entries with @cows (truncation: private copies too, as
 * Linux's even_cows), else only the entries that map the object's own
 * pages (punching a hole keeps private copies). Up to index @hi.
 */
static void unmap_pages(struct aspace_object *o, uint64_t lo, uint64_t hi,
			bool cows)
{
	const struct memory_area *a;
	struct as_vma *d;
	uint64_t first, last, va, end, frame, f;
	unsigned rights;

	for (d = o->maps; d; d = d->obj_next) {
		struct aspace *as = d->as;

		a = memory_set_find(&as->set, d->start);
		if (!a || as_data(a) != d)
			continue;
		first = d->pgoff > lo ? d->pgoff : lo;
		last = d->pgoff + (a->size >> as->page_shift) - 1;
		if (last > hi)
			last = hi;
		if (first > last)
			continue;
		va = a->start + ((first - d->pgoff) << as->page_shift);
		end = a->start + ((last - d->pgoff + 1) << as->page_shift);
		if (cows || !aspace_private(a->flags)) {
			aspace_zap(as, va, end);
			continue;
		}
		while (aspace_lookup(as, &va, end, &frame, &rights)) {
			if (pc_find(o,
				    d->pgoff +
					    ((va - a->start) >> as->page_shift),
				    &f) &&
			    f == frame)
				aspace_zap(as, va, va + as->page_size);
			va += as->page_size;
		}
	}
}

/* Zero [from, to) of page @idx, if the cache has it. */
static void zero_part(struct aspace_object *o, uint64_t idx, uint64_t from,
		      uint64_t to)
{
	uint64_t frame;
	char *p;

	if (from >= to || !pc_find(o, idx, &frame))
		return;
	p = o->ops->frame_map(o->ctx, frame);
	memset(p + from, 0, to - from);
	if (o->ops->frame_unmap)
		o->ops->frame_unmap(o->ctx, frame, p);
}

/* ---- The API ------------------------------------------------------------ */

static struct aspace_object *obj_new(struct aspace *as, enum obj_kind kind)
{
	struct aspace_object *o = as->ops->alloc(as->ctx, sizeof(*o));

	if (!o)
		return NULL;
	memset(o, 0, sizeof(*o));
	o->ops = as->ops;
	o->ctx = as->ctx;
	o->page_size = as->page_size;
	o->page_shift = as->page_shift;
	o->refs = 1;
	o->kind = kind;
	o->mode = ASPACE_OBJ_READ | ASPACE_OBJ_WRITE;
	o->minor = 1; /* Linux's shmem device, 00:01 */
	if (kind != OBJ_FILE)
		o->ino = as->ops->next_ino ? as->ops->next_ino(as->ctx) :
					     (uint64_t)(uintptr_t)o;
	return o;
}

/* @a, @b and @c (any may be NULL) one after the other into @dst. */
static size_t name_copy(char *dst, size_t cap, const char *a, const char *b,
			const char *c)
{
	size_t n = 0;
	const char *parts[3] = { a, b, c };
	int i;

	for (i = 0; i < 3; i++)
		for (const char *s = parts[i]; s && *s && n + 1 < cap; s++)
			dst[n++] = *s;
	dst[n] = '\0';
	return n;
}

int aspace_shmem_new(struct aspace *as, uint64_t size,
		     struct aspace_object **obj)
{
	struct aspace_object *o = obj_new(as, OBJ_SHMEM);

	if (!o)
		return -ASPACE_ENOMEM;
	o->size = size;
	name_copy(o->name, sizeof(o->name), "/dev/zero (deleted)", NULL, NULL);
	*obj = o;
	return 0;
}

bool aspace_obj_shmem(const struct aspace_object *obj)
{
	return obj->kind == OBJ_SHMEM;
}

unsigned aspace_obj_mode(const struct aspace_object *obj)
{
	return obj->mode;
}

size_t aspace_obj_describe(const struct aspace_object *obj, char *buf,
			   size_t len, uint32_t *major, uint32_t *minor,
			   uint64_t *ino)
{
	*major = obj->major;
	*minor = obj->minor;
	*ino = obj->ino;
	return name_copy(buf, len, obj->name, NULL, NULL);
}

int aspace_memfd_create(struct aspace *as, const char *name, unsigned flags,
			struct aspace_object **obj)
{
	const unsigned known = ASPACE_MFD_CLOEXEC | ASPACE_MFD_ALLOW_SEALING |
			       ASPACE_MFD_NOEXEC_SEAL | ASPACE_MFD_EXEC;
	struct aspace_object *o;
	size_t n = 0;

	if (flags & ~known)
		return -ASPACE_EINVAL;
	if ((flags & ASPACE_MFD_NOEXEC_SEAL) && (flags & ASPACE_MFD_EXEC))
		return -ASPACE_EINVAL;
	while (name && name[n])
		if (++n > MFD_NAME_MAX)
			return -ASPACE_EINVAL;
	o = obj_new(as, OBJ_MEMFD);
	if (!o)
		return -ASPACE_ENOMEM;
	name_copy(o->name, sizeof(o->name), "/memfd:", name, " (deleted)");
	*obj = o;
	return 0;
}

int aspace_object_create_file(struct aspace *as,
			      const struct aspace_file_ops *fops, void *file,
			      uint64_t size, unsigned mode, const char *path,
			      uint32_t dev_major, uint32_t dev_minor,
			      uint64_t ino, struct aspace_object **obj)
{
	struct aspace_object *o;

	if (!fops || fops->version < 1 || !fops->read_page ||
	    size > SIZE_MAX_OBJ)
		return -ASPACE_EINVAL;
	o = obj_new(as, OBJ_FILE);
	if (!o)
		return -ASPACE_ENOMEM;
	o->fops = fops;
	o->file = file;
	o->size = size;
	o->mode = mode;
	o->major = dev_major;
	o->minor = dev_minor;
	o->ino = ino;
	name_copy(o->name, sizeof(o->name), path, NULL, NULL);
	*obj = o;
	return 0;
}

void aspace_object_get(struct aspace_object *obj)
{
	obj->refs++;
}

void aspace_object_put(struct aspace_object *obj)
{
	if (!obj || --obj->refs)
		return;
	pc_range(obj, 0, UINT64_MAX, PC_DROP, put_frame, obj);
	if (obj->kind == OBJ_FILE && obj->fops->release)
		obj->fops->release(obj->file);
	obj->ops->free(obj->ctx, obj, sizeof(*obj));
}

uint64_t aspace_object_size(const struct aspace_object *obj)
{
	return obj->size;
}

/* Drop the pages from index @lo on (every mapping of them first). */
static void drop_from(struct aspace_object *o, uint64_t lo, bool cows)
{
	unmap_pages(o, lo, UINT64_MAX, cows);
	pc_range(o, lo, UINT64_MAX, PC_DROP, put_frame, o);
}

int aspace_object_truncate(struct aspace_object *obj, uint64_t size)
{
	uint64_t keep;

	if (size > SIZE_MAX_OBJ)
		return -ASPACE_EINVAL;
	if (size < obj->size) {
		keep = npages(obj, size);
		drop_from(obj, keep, true);
		if (size & (obj->page_size - 1))
			zero_part(obj, keep - 1, size & (obj->page_size - 1),
				  obj->page_size);
	}
	obj->size = size;
	return 0;
}

/* Punch [offset, end): whole pages go, the parts of pages at its ends read zero. */
static void punch(struct aspace_object *o, uint64_t offset, uint64_t end)
{
	uint64_t mask = o->page_size - 1, first, last, head, to;

	first = (offset + mask) >> o->page_shift;
	last = end >> o->page_shift; /* the first page not wholly inside */
	if (first < last) {
		unmap_pages(o, first, last - 1, false);
		pc_range(o, first, last - 1, PC_DROP, put_frame, o);
	}
	head = offset >> o->page_shift;
	if (offset & mask) {
		to = end - (head << o->page_shift);
		zero_part(o, head, offset & mask,
			  to < o->page_size ? to : o->page_size);
	}
	if ((end & mask) && (!(offset & mask) || last != head))
		zero_part(o, last, 0, end & mask);
}

int aspace_object_fallocate(struct aspace_object *obj, int mode,
			    uint64_t offset, uint64_t len)
{
	uint64_t end, idx, last, frame;

	if (offset > SIZE_MAX_OBJ || len > SIZE_MAX_OBJ || !len)
		return -ASPACE_EINVAL;
	if (mode & ~(ASPACE_FALLOC_FL_KEEP_SIZE | ASPACE_FALLOC_FL_PUNCH_HOLE))
		return -ASPACE_EOPNOTSUPP;
	if ((mode & ASPACE_FALLOC_FL_PUNCH_HOLE) &&
	    !(mode & ASPACE_FALLOC_FL_KEEP_SIZE))
		return -ASPACE_EOPNOTSUPP;
	end = offset + len;
	if (end > SIZE_MAX_OBJ)
		return -ASPACE_EFBIG;
	if (obj->kind == OBJ_FILE)
		return -ASPACE_EOPNOTSUPP;
	if (mode & ASPACE_FALLOC_FL_PUNCH_HOLE) {
		punch(obj, offset, end);
		return 0;
	}
	last = (end - 1) >> obj->page_shift;
	for (idx = offset >> obj->page_shift; idx <= last; idx++) {
		if (pc_find(obj, idx, &frame))
			continue;
		if (obj->ops->frame_alloc(obj->ctx, &frame))
			goto undo;
		if (pc_insert(obj, idx, frame, true)) {
			obj->ops->frame_put(obj->ctx, frame);
			goto undo;
		}
	}
	pc_range(obj, offset >> obj->page_shift, last, PC_KEEP_FRESH, NULL,
		 NULL);
	if (!(mode & ASPACE_FALLOC_FL_KEEP_SIZE) && end > obj->size)
		obj->size = end;
	return 0;
undo:
	/* Out of memory: the pages this call made go again (shmem_undo_range). */
	pc_range(obj, offset >> obj->page_shift, last, PC_DROP_FRESH, put_frame,
		 obj);
	return -ASPACE_ENOMEM;
}

int64_t aspace_object_read(struct aspace_object *obj, uint64_t offset,
			   void *buf, size_t len)
{
	uint64_t mask = obj->page_size - 1, frame, n, done = 0, at;
	char *p;
	int err;

	if (offset >= obj->size)
		return 0;
	if (len > obj->size - offset)
		len = obj->size - offset;
	while (done < len) {
		at = offset + done;
		n = obj->page_size - (at & mask);
		if (n > len - done)
			n = len - done;
		if (!pc_find(obj, at >> obj->page_shift, &frame)) {
			if (obj->kind != OBJ_FILE) {
				/* A hole reads zero and stays a hole. */
				memset((char *)buf + done, 0, n);
				done += n;
				continue;
			}
			err = aspace_obj_page(obj, at >> obj->page_shift,
					      &frame, NULL);
			if (err)
				return done ? (int64_t)done : err;
		}
		p = obj->ops->frame_map(obj->ctx, frame);
		memcpy((char *)buf + done, p + (at & mask), n);
		if (obj->ops->frame_unmap)
			obj->ops->frame_unmap(obj->ctx, frame, p);
		done += n;
	}
	return (int64_t)done;
}

int64_t aspace_object_write(struct aspace_object *obj, uint64_t offset,
			    const void *buf, size_t len)
{
	uint64_t mask = obj->page_size - 1, frame, n, done = 0, end;
	char *p;

	if (!len)
		return 0;
	end = offset + len;
	if (offset > SIZE_MAX_OBJ || end > SIZE_MAX_OBJ || end < offset)
		return -ASPACE_EFBIG;
	while (done < len) {
		uint64_t at = offset + done;

		n = obj->page_size - (at & mask);
		if (n > len - done)
			n = len - done;
		if (aspace_obj_page(obj, at >> obj->page_shift, &frame, NULL))
			return done ? (int64_t)done : -ASPACE_ENOMEM;
		p = obj->ops->frame_map(obj->ctx, frame);
		memcpy(p + (at & mask), (const char *)buf + done, n);
		if (obj->ops->frame_unmap)
			obj->ops->frame_unmap(obj->ctx, frame, p);
		done += n;
		if (offset + done > obj->size)
			obj->size = offset + done;
	}
	return (int64_t)done;
}

struct pages_arg {
	void (*fn)(void *, uint64_t, uint64_t);
	void *arg;
	unsigned shift;
};

static void page_at(void *arg, uint64_t idx, uint64_t frame)
{
	struct pages_arg *pa = arg;

	pa->fn(pa->arg, idx << pa->shift, frame);
}

void aspace_object_pages(const struct aspace_object *obj,
			 void (*fn)(void *arg, uint64_t offset, uint64_t frame),
			 void *arg)
{
	struct pages_arg pa = { fn, arg, obj->page_shift };

	pc_range((struct aspace_object *)obj, 0, UINT64_MAX, PC_VISIT, page_at,
		 &pa);
}

void aspace_objects(const struct aspace *as,
		    void (*fn)(void *arg, struct aspace_object *obj), void *arg)
{
	const struct memory_area *a;
	struct memory_set_iter it;

	memory_set_foreach(a, &it, &as->set) if (as_data(a)->obj)
		fn(arg, as_data(a)->obj);
}
