/*
 * A simulated machine for the address-space layer (see aspace_sim.h):
 * frames are pages of host memory with a reference count; a page table is a
 * radix tree of 512-way tables over page numbers whose leaves hold the
 * entries; an MMU copies bytes through the entries and calls the layer's
 * fault handler when an entry does not allow an access. Every hook counts
 * its calls, and the calls that may fail can be made to, one at a time.
 */
#include <stdlib.h>
#include <string.h>

#include <memory_set/aspace_sim.h>

#define PT_BITS 9
#define PT_SLOTS (1u << PT_BITS)

struct pt_entry {
	uint64_t frame;
	unsigned rights;
	bool present;
};

struct pt_leaf {
	struct pt_entry e[PT_SLOTS];
	unsigned count; /* present entries */
};

struct pt_node {
	void *slot[PT_SLOTS]; /* pt_node, or pt_leaf at the last level */
};

struct sim_pt {
	struct aspace_sim *sim;
	struct pt_node *root;
	unsigned levels; /* inner levels above the leaves */
	uint64_t entries; /* present entries */
	struct sim_pt *next;
};

struct frame {
	unsigned char *mem; /* NULL: free */
	uint64_t refs;
};

struct aspace_sim {
	uint64_t page_size;
	unsigned page_shift;
	uint64_t max_frames;
	struct frame *frames;
	uint64_t nframes, cap;
	uint64_t *free_idx;
	uint64_t nfree;
	uint64_t used, refs;
	uint64_t blocks, bytes, nodes, flushes, tables;
	uint64_t inodes; /* inode numbers given */
	int64_t countdown[ASPACE_SIM_CALLS];
	uint64_t calls[ASPACE_SIM_CALLS], failures[ASPACE_SIM_CALLS];
	struct sim_pt *pts;
};

/* Should this call of @kind fail? Counts it either way. */
static bool fail(struct aspace_sim *sim, enum aspace_sim_call kind)
{
	sim->calls[kind]++;
	if (sim->countdown[kind] < 0)
		return false;
	if (sim->countdown[kind]-- > 0)
		return false;
	sim->failures[kind]++;
	return true;
}

void aspace_sim_fail_after(struct aspace_sim *sim, enum aspace_sim_call kind,
			   int64_t n)
{
	sim->countdown[kind] = n < 0 ? -1 : n;
}

uint64_t aspace_sim_calls(const struct aspace_sim *sim,
			  enum aspace_sim_call kind)
{
	return sim->calls[kind];
}

uint64_t aspace_sim_failures(const struct aspace_sim *sim,
			     enum aspace_sim_call kind)
{
	return sim->failures[kind];
}

struct aspace_sim *aspace_sim_new(uint64_t page_size, uint64_t max_frames)
{
	struct aspace_sim *sim;
	int k;

	if (!page_size)
		page_size = 4096;
	if (page_size < 4096 || (page_size & (page_size - 1)))
		return NULL;
	sim = calloc(1, sizeof(*sim));
	if (!sim)
		return NULL;
	sim->page_size = page_size;
	while ((1ull << sim->page_shift) < page_size)
		sim->page_shift++;
	sim->max_frames = max_frames;
	for (k = 0; k < ASPACE_SIM_CALLS; k++)
		sim->countdown[k] = -1;
	return sim;
}

/* ---- Frames ----------------------------------------------------------- */

static int frame_alloc(void *ctx, uint64_t *out)
{
	struct aspace_sim *sim = ctx;
	uint64_t f;

	if (fail(sim, ASPACE_SIM_FRAME) ||
	    (sim->max_frames && sim->used >= sim->max_frames))
		return -ASPACE_ENOMEM;
	if (sim->nfree) {
		f = sim->free_idx[--sim->nfree];
	} else {
		if (sim->nframes == sim->cap) {
			uint64_t cap = sim->cap ? 2 * sim->cap : 64;
			struct frame *v =
				realloc(sim->frames, cap * sizeof(*v));
			uint64_t *fv =
				realloc(sim->free_idx, cap * sizeof(*fv));

			if (v)
				sim->frames = v;
			if (fv)
				sim->free_idx = fv;
			if (!v || !fv)
				return -ASPACE_ENOMEM;
			sim->cap = cap;
		}
		f = sim->nframes++;
		sim->frames[f].mem = NULL;
	}
	sim->frames[f].mem = calloc(1, sim->page_size);
	if (!sim->frames[f].mem) {
		sim->free_idx[sim->nfree++] = f;
		return -ASPACE_ENOMEM;
	}
	sim->frames[f].refs = 1;
	sim->used++;
	sim->refs++;
	*out = f;
	return 0;
}

static struct frame *frame_of(struct aspace_sim *sim, uint64_t f)
{
	if (f >= sim->nframes || !sim->frames[f].mem)
		abort(); /* the layer used a frame it does not hold */
	return &sim->frames[f];
}

static void frame_get(void *ctx, uint64_t f)
{
	struct aspace_sim *sim = ctx;

	frame_of(sim, f)->refs++;
	sim->refs++;
}

static void frame_put(void *ctx, uint64_t f)
{
	struct aspace_sim *sim = ctx;
	struct frame *fr = frame_of(sim, f);

	sim->refs--;
	if (--fr->refs)
		return;
	free(fr->mem);
	fr->mem = NULL;
	sim->used--;
	sim->free_idx[sim->nfree++] = f;
}

static uint64_t frame_refs(void *ctx, uint64_t f)
{
	return frame_of(ctx, f)->refs;
}

static void *frame_map(void *ctx, uint64_t f)
{
	return frame_of(ctx, f)->mem;
}

/* ---- Memory ----------------------------------------------------------- */

static void *sim_alloc(void *ctx, size_t size)
{
	struct aspace_sim *sim = ctx;
	void *p;

	if (fail(sim, ASPACE_SIM_ALLOC) || !(p = malloc(size)))
		return NULL;
	sim->blocks++;
	sim->bytes += size;
	return p;
}

static void sim_free(void *ctx, void *p, size_t size)
{
	struct aspace_sim *sim = ctx;

	if (!p)
		return;
	sim->blocks--;
	sim->bytes -= size;
	free(p);
}

static void *node_alloc(void *ctx, size_t size)
{
	struct aspace_sim *sim = ctx;
	void *p;

	if (fail(sim, ASPACE_SIM_NODE) || !(p = malloc(size)))
		return NULL;
	sim->nodes++;
	return p;
}

static void node_free(void *ctx, void *p, size_t size)
{
	struct aspace_sim *sim = ctx;

	(void)size;
	if (p) {
		sim->nodes--;
		free(p);
	}
}

const struct memory_set_allocator aspace_sim_node_allocator = {
	.version = MEMORY_SET_ALLOCATOR_VERSION,
	.alloc = node_alloc,
	.free = node_free,
};

/* ---- Page tables ------------------------------------------------------ */

void *aspace_sim_pt_new(struct aspace_sim *sim)
{
	struct sim_pt *pt = calloc(1, sizeof(*pt));
	unsigned bits = 64 - sim->page_shift;

	if (!pt)
		return NULL;
	pt->sim = sim;
	pt->levels = (bits + PT_BITS - 1) / PT_BITS - 1;
	pt->next = sim->pts;
	sim->pts = pt;
	sim->tables++;
	return pt;
}

static void free_tree(struct aspace_sim *sim, void *n, unsigned level)
{
	struct pt_node *node = n;
	unsigned i;

	if (!n)
		return;
	if (level) {
		for (i = 0; i < PT_SLOTS; i++)
			free_tree(sim, node->slot[i], level - 1);
	}
	free(n); /* entries keep their frames' references: a leak to see */
}

void aspace_sim_pt_free(struct aspace_sim *sim, void *p)
{
	struct sim_pt *pt = p, **link;

	if (!pt)
		return;
	for (link = &sim->pts; *link; link = &(*link)->next)
		if (*link == pt) {
			*link = pt->next;
			break;
		}
	free_tree(sim, pt->root, pt->levels);
	sim->tables--;
	free(pt);
}

static unsigned index_at(const struct sim_pt *pt, uint64_t page, unsigned level)
{
	(void)pt;
	return (unsigned)(page >> (PT_BITS * level)) & (PT_SLOTS - 1);
}

/* The leaf holding page @page, made if @make (NULL if it cannot be). */
static struct pt_leaf *leaf(struct sim_pt *pt, uint64_t page, bool make)
{
	void **slot = (void **)&pt->root;
	unsigned level;

	for (level = pt->levels + 1; level-- > 0;) {
		if (!*slot) {
			if (!make)
				return NULL;
			*slot = calloc(1, level ? sizeof(struct pt_node) :
						  sizeof(struct pt_leaf));
			if (!*slot)
				return NULL;
		}
		if (!level)
			return *slot;
		slot = &((struct pt_node *)*slot)
				->slot[index_at(pt, page, level)];
	}
	return NULL;
}

static int pt_map(void *ctx, void *p, uint64_t va, uint64_t frame,
		  unsigned rights)
{
	struct aspace_sim *sim = ctx;
	struct sim_pt *pt = p;
	uint64_t page = va >> sim->page_shift;
	struct pt_leaf *l;
	struct pt_entry *e;

	/* Only a call that needs a table may fail (as a real page table). */
	l = leaf(pt, page, false);
	if (!l && (fail(sim, ASPACE_SIM_PT) || !(l = leaf(pt, page, true))))
		return -ASPACE_ENOMEM;
	e = &l->e[page & (PT_SLOTS - 1)];
	if (!e->present) {
		l->count++;
		pt->entries++;
	}
	e->frame = frame;
	e->rights = rights;
	e->present = true;
	return 0;
}

static int pt_reserve(void *ctx, void *p, uint64_t va, uint64_t size)
{
	struct aspace_sim *sim = ctx;
	uint64_t page = va >> sim->page_shift;
	uint64_t end = page + (size >> sim->page_shift);

	for (; page < end; page = (page | (PT_SLOTS - 1)) + 1) {
		if (leaf(p, page, false))
			continue;
		if (fail(sim, ASPACE_SIM_PT) || !leaf(p, page, true))
			return -ASPACE_ENOMEM;
	}
	return 0;
}

/*
 * The next present entry at or after page *page and before @end, skipping
 * missing tables and empty leaves whole; *page becomes its page.
 */
static struct pt_entry *next_entry(struct sim_pt *pt, uint64_t *page,
				   uint64_t end)
{
	while (*page < end && pt->root) {
		void *n = pt->root, *c;
		unsigned level = pt->levels; /* the level of n */
		struct pt_leaf *l;

		while (level > 0 &&
		       (c = ((struct pt_node *)n)
				    ->slot[index_at(pt, *page, level)])) {
			n = c;
			level--;
		}
		if (level > 0) {
			/* The child holding *page is missing: skip all it covers. */
			uint64_t span = 1ull << (PT_BITS * level);
			uint64_t next = (*page & ~(span - 1)) + span;

			if (next <= *page)
				return NULL;
			*page = next;
			continue;
		}
		l = n;
		if (!l->count) {
			*page = (*page | (PT_SLOTS - 1)) + 1;
			continue;
		}
		for (; *page < end; ++*page) {
			struct pt_entry *e = &l->e[*page & (PT_SLOTS - 1)];

			if (e->present)
				return e;
			if ((*page & (PT_SLOTS - 1)) == PT_SLOTS - 1) {
				++*page;
				break;
			}
		}
	}
	return NULL;
}

static void pt_unmap(void *ctx, void *p, uint64_t va, uint64_t size)
{
	struct aspace_sim *sim = ctx;
	struct sim_pt *pt = p;
	uint64_t page = va >> sim->page_shift,
		 end = page + (size >> sim->page_shift);
	struct pt_entry *e;

	while ((e = next_entry(pt, &page, end))) {
		struct pt_leaf *l = leaf(pt, page, false);

		e->present = false;
		l->count--;
		pt->entries--;
		page++;
	}
}

static void pt_protect(void *ctx, void *p, uint64_t va, uint64_t size,
		       unsigned rights)
{
	struct aspace_sim *sim = ctx;
	uint64_t page = va >> sim->page_shift,
		 end = page + (size >> sim->page_shift);
	struct pt_entry *e;

	while ((e = next_entry(p, &page, end))) {
		e->rights = rights;
		page++;
	}
}

static bool pt_lookup(void *ctx, void *p, uint64_t *va, uint64_t end,
		      uint64_t *frame, unsigned *rights)
{
	struct aspace_sim *sim = ctx;
	uint64_t page = *va >> sim->page_shift;
	uint64_t last = (end - 1) >> sim->page_shift;
	struct pt_entry *e;

	if (end <= *va)
		return false;
	e = next_entry(p, &page, last + 1);
	if (!e)
		return false;
	*va = page << sim->page_shift;
	*frame = e->frame;
	*rights = e->rights;
	return true;
}

/* Free the leaves of [va, va+size) (and tables above them) left empty. */
static bool trim(struct aspace_sim *sim, void **slot, unsigned level,
		 uint64_t base, uint64_t lo, uint64_t hi)
{
	unsigned i;

	if (!*slot)
		return true;
	if (!level) {
		if (((struct pt_leaf *)*slot)->count)
			return false;
	} else {
		struct pt_node *n = *slot;
		uint64_t span = 1ull << (PT_BITS * level);
		bool empty = true;

		for (i = 0; i < PT_SLOTS; i++) {
			uint64_t start = base + i * span;

			if (n->slot[i] && start <= hi &&
			    start + (span - 1) >= lo)
				trim(sim, &n->slot[i], level - 1, start, lo,
				     hi);
			if (n->slot[i])
				empty = false;
		}
		if (!empty)
			return false;
	}
	free(*slot);
	*slot = NULL;
	return true;
}

static void pt_trim(void *ctx, void *p, uint64_t va, uint64_t size)
{
	struct aspace_sim *sim = ctx;
	struct sim_pt *pt = p;

	if (!size)
		return;
	trim(sim, (void **)&pt->root, pt->levels, 0, va >> sim->page_shift,
	     (va + size - 1) >> sim->page_shift);
}

static void tlb_flush(void *ctx, void *pt, uint64_t va, uint64_t size)
{
	struct aspace_sim *sim = ctx;

	(void)pt, (void)va, (void)size;
	sim->flushes++;
}

/* Inode numbers: one counter for the machine, as Linux's get_next_ino(). */
static uint64_t next_ino(void *ctx)
{
	struct aspace_sim *sim = ctx;

	sim->inodes++;
	return sim->inodes;
}

const struct aspace_ops aspace_sim_ops = {
	.version = ASPACE_OPS_VERSION,
	.alloc = sim_alloc,
	.free = sim_free,
	.frame_alloc = frame_alloc,
	.frame_get = frame_get,
	.frame_put = frame_put,
	.frame_refs = frame_refs,
	.frame_map = frame_map,
	.pt_map = pt_map,
	.pt_unmap = pt_unmap,
	.pt_protect = pt_protect,
	.pt_lookup = pt_lookup,
	.tlb_flush = tlb_flush,
	.pt_reserve = pt_reserve,
	.pt_trim = pt_trim,
	.next_ino = next_ino,
};

void aspace_sim_options(struct aspace_sim *sim, void *pt,
			struct aspace_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->size = sizeof(*opts);
	opts->ops = &aspace_sim_ops;
	opts->ctx = sim;
	opts->page_table = pt;
	opts->allocator = &aspace_sim_node_allocator;
	opts->allocator_ctx = sim;
	opts->page_size = sim->page_size;
}

void aspace_sim_stats(const struct aspace_sim *sim, struct aspace_sim_stats *st)
{
	const struct sim_pt *pt;

	memset(st, 0, sizeof(*st));
	st->frames = sim->used;
	st->frame_refs = sim->refs;
	for (pt = sim->pts; pt; pt = pt->next)
		st->entries += pt->entries;
	st->tables = sim->tables;
	st->blocks = sim->blocks;
	st->bytes = sim->bytes;
	st->nodes = sim->nodes;
	st->flushes = sim->flushes;
}

void aspace_sim_free(struct aspace_sim *sim)
{
	uint64_t f;

	if (!sim)
		return;
	while (sim->pts)
		aspace_sim_pt_free(sim, sim->pts);
	for (f = 0; f < sim->nframes; f++)
		free(sim->frames[f].mem);
	free(sim->frames);
	free(sim->free_idx);
	free(sim);
}

/* ---- The MMU ---------------------------------------------------------- */

static struct pt_entry *entry_of(struct aspace_sim *sim, void *pt, uint64_t va)
{
	struct pt_leaf *l = leaf(pt, va >> sim->page_shift, false);
	struct pt_entry *e;

	if (!l)
		return NULL;
	e = &l->e[(va >> sim->page_shift) & (PT_SLOTS - 1)];
	return e->present ? e : NULL;
}

uint8_t *aspace_sim_byte(struct aspace_sim *sim, void *pt, uint64_t va,
			 unsigned access)
{
	struct pt_entry *e = entry_of(sim, pt, va);
	unsigned need = access & ASPACE_ACCESS_WRITE ? ASPACE_PTE_WRITE :
			access & ASPACE_ACCESS_EXEC  ? ASPACE_PTE_EXEC :
						       ASPACE_PTE_READ;

	if (!e || (e->rights & need) != need)
		return NULL;
	return frame_of(sim, e->frame)->mem + (va & (sim->page_size - 1));
}

enum aspace_fault aspace_sim_access(struct aspace *as, uint64_t va, void *buf,
				    size_t len, unsigned access, size_t *done)
{
	struct aspace_sim *sim = as->ctx;
	enum aspace_fault f = ASPACE_FAULT_OK;
	unsigned char *p = buf, *b;
	size_t i = 0, n;
	int tries;

	while (i < len) {
		uint64_t at = va + i;

		for (tries = 0; !(b = aspace_sim_byte(sim, as->pt, at, access));
		     tries++) {
			f = tries < 2 ? aspace_fault(as, at, access) :
					ASPACE_FAULT_SEGV_ACCERR;
			if (f != ASPACE_FAULT_OK)
				goto out;
		}
		n = sim->page_size - (at & (sim->page_size - 1));
		if (n > len - i)
			n = len - i;
		if (access & ASPACE_ACCESS_WRITE)
			memcpy(b, p + i, n);
		else
			memcpy(p + i, b, n);
		i += n;
	}
out:
	if (done)
		*done = i;
	return f;
}

/* ---- The whole-machine check ------------------------------------------ */

struct expect {
	struct aspace_sim *sim;
	uint64_t *refs; /* expected references of each frame */
	struct aspace_object **seen;
	size_t nseen, cap;
	bool oom;
};

static void count_page(void *arg, uint64_t off, uint64_t frame)
{
	struct expect *x = arg;

	(void)off;
	if (frame < x->sim->nframes)
		x->refs[frame]++;
}

static void count_object(void *arg, struct aspace_object *obj)
{
	struct expect *x = arg;
	size_t i;

	for (i = 0; i < x->nseen; i++)
		if (x->seen[i] == obj)
			return;
	if (x->nseen == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 16;
		struct aspace_object **v =
			realloc(x->seen, cap * sizeof(struct aspace_object *));

		if (!v) {
			x->oom = true;
			return;
		}
		x->seen = v;
		x->cap = cap;
	}
	x->seen[x->nseen++] = obj;
	aspace_object_pages(obj, count_page, x);
}

const char *aspace_sim_check(const struct aspace_sim *csim,
			     struct aspace *const *spaces, size_t n,
			     struct aspace_object *const *objs, size_t nobj)
{
	struct aspace_sim *sim = (struct aspace_sim *)csim;
	struct expect x = { sim, NULL, NULL, 0, 0, false };
	const char *err = NULL;
	struct sim_pt *pt;
	uint64_t f, page, used = 0, refs = 0;
	size_t i;

	x.refs = calloc(sim->nframes ? sim->nframes : 1, sizeof(*x.refs));
	if (!x.refs)
		return "out of memory for the check";
	for (pt = sim->pts; pt; pt = pt->next) {
		struct pt_entry *e;

		page = 0;
		while ((e = next_entry(pt, &page,
				       UINT64_MAX >> sim->page_shift))) {
			if (e->frame >= sim->nframes ||
			    !sim->frames[e->frame].mem) {
				err = "an entry maps a free frame";
				goto out;
			}
			x.refs[e->frame]++;
			page++;
		}
	}
	for (i = 0; i < n; i++)
		aspace_objects(spaces[i], count_object, &x);
	for (i = 0; i < nobj; i++)
		count_object(&x, objs[i]);
	if (x.oom) {
		err = "out of memory for the check";
		goto out;
	}
	for (f = 0; f < sim->nframes; f++) {
		if (!sim->frames[f].mem)
			continue;
		used++;
		refs += sim->frames[f].refs;
		if (sim->frames[f].refs != x.refs[f]) {
			err = sim->frames[f].refs > x.refs[f] ?
				      "a frame has more references than holders (a leak)" :
				      "a frame has fewer references than holders";
			goto out;
		}
	}
	if (used != sim->used || refs != sim->refs)
		err = "the frame counters are wrong";
out:
	free(x.refs);
	free(x.seen);
	return err;
}
