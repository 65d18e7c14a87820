/*
 * An emulator's guest address space on memory_set.
 *
 * The guest has 1 MiB of virtual space from 0x400000 and 64 frames of
 * "physical" memory. Each process has a page table of its own: an array of
 * page entries, one per guest page. memory_set decides which ranges are
 * mapped and with what rights; the backend below applies each decision to
 * the page table:
 *
 * - mmap, munmap, mprotect, mremap: the set's map, unmap, protect_flags and
 *   remap / remap_fixed, through the map, unmap, protect and move hooks;
 * - fork: memory_set_dup, through the dup hook, which shares every frame
 *   copy-on-write;
 * - page faults: the emulated CPU calls memory_set_handle_fault when an
 *   entry does not allow an access; the fault hook hands out a zeroed frame
 *   on first touch and copies a shared frame on the first write;
 * - /proc/PID/maps: memory_set_format_area.
 *
 * It prints what happens; tests/examples compares that with emulator.out.
 */
#include <stdio.h>
#include <string.h>

#include <memory_set/malloc.h>
#include <memory_set/memory_set.h>

#define PAGE 4096u
#define GUEST_BASE 0x400000u
#define GUEST_PAGES 256u /* 1 MiB of virtual space */
#define NFRAMES 64u      /* 256 KiB of physical memory */

#define R MAPPING_ACCESS_READ
#define W MAPPING_ACCESS_WRITE
#define X MAPPING_ACCESS_EXEC

/* ---- physical memory: frames with a reference count ------------------- */

static unsigned char frame_mem[NFRAMES][PAGE];
static unsigned frame_ref[NFRAMES]; /* 0: free; >1: shared copy-on-write */
static unsigned frames_used;

static int frame_alloc(void)
{
	unsigned f;

	for (f = 0; f < NFRAMES; f++) {
		if (!frame_ref[f]) {
			frame_ref[f] = 1;
			frames_used++;
			memset(frame_mem[f], 0, PAGE);
			return (int)f;
		}
	}
	return -1;
}

static void frame_put(unsigned f)
{
	if (--frame_ref[f] == 0)
		frames_used--;
}

/* ---- the page table: one entry per guest page ------------------------- */

enum pte_state {
	PTE_NONE,     /* not mapped: an access faults, the set says SEGV */
	PTE_RESERVED, /* mapped, no frame yet (demand-zero) */
	PTE_PRESENT,  /* mapped to a frame */
};

struct pte {
	uint8_t state;
	uint8_t flags; /* r/w/x as the MMU checks them */
	uint16_t frame;
};

struct page_table {
	struct pte e[GUEST_PAGES];
};

static struct pte *pte_of(struct page_table *pt, uint64_t addr)
{
	return &pt->e[(addr - GUEST_BASE) / PAGE];
}

static bool in_guest(uint64_t start, uint64_t size)
{
	return start >= GUEST_BASE &&
	       size <= (uint64_t)GUEST_PAGES * PAGE - (start - GUEST_BASE);
}

/* ---- the backend: anonymous memory, demand-zero, copy-on-write -------- */

static enum mapping_error anon_map(void *data, uint64_t start, uint64_t size,
				   uint64_t flags, void *page_table)
{
	uint64_t a;

	(void)data;
	if (!in_guest(start, size))
		return MAPPING_ERR_INVALID_PARAM;
	for (a = start; a < start + size; a += PAGE) {
		struct pte *e = pte_of(page_table, a);

		e->state = PTE_RESERVED;
		e->flags = (uint8_t)flags;
	}
	return MAPPING_OK;
}

static enum mapping_error anon_unmap(void *data, uint64_t start,
				     uint64_t size, void *page_table)
{
	uint64_t a;

	(void)data;
	for (a = start; a < start + size; a += PAGE) {
		struct pte *e = pte_of(page_table, a);

		if (e->state == PTE_PRESENT)
			frame_put(e->frame);
		e->state = PTE_NONE;
	}
	return MAPPING_OK;
}

static enum mapping_error anon_protect(void *data, uint64_t start,
				       uint64_t size, uint64_t old_flags,
				       uint64_t new_flags, void *page_table)
{
	uint64_t a;

	(void)data, (void)old_flags;
	for (a = start; a < start + size; a += PAGE)
		pte_of(page_table, a)->flags = (uint8_t)new_flags;
	return MAPPING_OK;
}

/* fork: the child's entries point at the parent's frames, which become
 * shared; the first write on either side copies (see anon_fault). */
static enum mapping_error anon_dup(void *data, uint64_t start, uint64_t size,
				   uint64_t flags, void *src_page_table,
				   void *dst_page_table, void **child_data)
{
	uint64_t a;

	(void)flags;
	for (a = start; a < start + size; a += PAGE) {
		struct pte *src = pte_of(src_page_table, a);

		*pte_of(dst_page_table, a) = *src;
		if (src->state == PTE_PRESENT)
			frame_ref[src->frame]++;
	}
	*child_data = data;
	return MAPPING_OK;
}

/* mremap: the entries move, so the frames (the contents) go with them. */
static enum mapping_error anon_move(void *data, uint64_t old_start,
				    uint64_t new_start, uint64_t size,
				    uint64_t flags, void *page_table)
{
	uint64_t off;

	(void)data, (void)flags;
	if (!in_guest(new_start, size))
		return MAPPING_ERR_INVALID_PARAM;
	for (off = 0; off < size; off += PAGE) {
		struct pte *from = pte_of(page_table, old_start + off);

		*pte_of(page_table, new_start + off) = *from;
		from->state = PTE_NONE;
	}
	return MAPPING_OK;
}

static enum mapping_error anon_fault(void *data,
				     const struct memory_area *area,
				     uint64_t addr, uint64_t access,
				     void *page_table)
{
	struct pte *e = pte_of(page_table, addr);
	uint64_t need = access & (R | W | X);
	int f;

	(void)data;
	if ((area->flags & need) != need)
		return MAPPING_ERR_ACCESS_DENIED;
	if (e->state == PTE_RESERVED) {
		f = frame_alloc();
		if (f < 0)
			return MAPPING_ERR_NO_MEMORY;
		e->frame = (uint16_t)f;
		e->state = PTE_PRESENT;
	} else if ((access & W) && frame_ref[e->frame] > 1) {
		f = frame_alloc();
		if (f < 0)
			return MAPPING_ERR_NO_MEMORY;
		memcpy(frame_mem[f], frame_mem[e->frame], PAGE);
		frame_put(e->frame);
		e->frame = (uint16_t)f;
	}
	return MAPPING_OK;
}

static const struct mapping_backend_ops anon_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = anon_map,
	.unmap = anon_unmap,
	.protect = anon_protect,
	.dup = anon_dup,
	.move = anon_move,
	.fault = anon_fault,
};

static const struct mapping_backend anon = { &anon_ops, NULL };

/* ---- a process and its system calls ----------------------------------- */

struct proc {
	const char *name;
	struct memory_set mm;
	struct page_table pt;
};

static struct proc procs[2];

static bool proc_init(struct proc *p, const char *name)
{
	struct memory_set_options opts = {
		.size = sizeof(opts),
		.allocator = &memory_set_malloc_allocator,
		.granule = PAGE,
		.merge = true, /* touching areas with equal rights are one, as Linux */
	};

	memset(&p->pt, 0, sizeof(p->pt));
	p->name = name;
	return memory_set_init(&p->mm, &opts) == MAPPING_OK;
}

/* A system call's result as Linux gives it: a value or -errno. */
static void say(const char *call, enum mapping_error err)
{
	if (err == MAPPING_OK)
		printf("  %s = 0\n", call);
	else
		printf("  %s = -%d (%s)\n", call, mapping_error_to_errno(err),
		       mapping_strerror(err));
}

/* mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS): the lowest free
 * range of the guest space. */
static uint64_t sys_mmap(struct proc *p, uint64_t len, uint64_t prot)
{
	uint64_t addr;
	enum mapping_error err;

	err = memory_set_find_free_area(&p->mm, 0, len, PAGE, GUEST_BASE,
					GUEST_BASE + GUEST_PAGES * PAGE - 1,
					&addr);
	if (err == MAPPING_OK)
		err = memory_set_map(&p->mm, addr, len, prot, &anon, &p->pt,
				     false);
	if (err != MAPPING_OK) {
		say("mmap", err);
		return 0;
	}
	printf("  mmap(%#llx bytes) = %#llx\n", (unsigned long long)len,
	       (unsigned long long)addr);
	return addr;
}

/* mremap(old, size, new_size, MREMAP_MAYMOVE): in place if it can, else
 * moved to the lowest free range (the contents move with the frames). */
static uint64_t sys_mremap(struct proc *p, uint64_t old, uint64_t size,
			   uint64_t new_size)
{
	enum mapping_error err;
	uint64_t addr = old;

	err = memory_set_remap(&p->mm, old, size, new_size, &p->pt);
	if (err == MAPPING_ERR_NO_MEMORY) {
		err = memory_set_find_free_area(&p->mm, 0, new_size, PAGE,
						GUEST_BASE,
						GUEST_BASE +
						GUEST_PAGES * PAGE - 1,
						&addr);
		if (err == MAPPING_OK)
			err = memory_set_remap_fixed(&p->mm, old, size,
						     new_size, addr, &p->pt);
	}
	if (err != MAPPING_OK) {
		say("mremap", err);
		return 0;
	}
	printf("  mremap(%#llx, %#llx -> %#llx) = %#llx%s\n",
	       (unsigned long long)old, (unsigned long long)size,
	       (unsigned long long)new_size, (unsigned long long)addr,
	       addr == old ? " (in place)" : " (moved)");
	return addr;
}

/* fork(): the child gets a copy of the address space. */
static bool sys_fork(struct proc *parent, struct proc *child, const char *name)
{
	enum mapping_error err;

	if (!proc_init(child, name))
		return false;
	err = memory_set_dup(&child->mm, &parent->mm, &parent->pt, &child->pt);
	say("fork", err);
	return err == MAPPING_OK;
}

/* ---- the emulated CPU ------------------------------------------------- */

/* Translate addr for an access, faulting as a real MMU would: the entry
 * allows it, or the set's fault entry point decides. NULL: SIGSEGV. */
static unsigned char *mmu(struct proc *p, uint64_t addr, uint64_t access)
{
	const struct memory_area *area;
	enum mapping_error err;
	struct pte *e;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (in_guest(addr, 1)) {
			e = pte_of(&p->pt, addr);
			if (e->state == PTE_PRESENT &&
			    (e->flags & access) == access &&
			    !((access & W) && frame_ref[e->frame] > 1))
				return &frame_mem[e->frame][addr % PAGE];
		}
		err = memory_set_handle_fault(&p->mm, addr, access, &p->pt,
					      &area);
		if (err != MAPPING_OK) {
			printf("  %s: %s at %#llx: SIGSEGV (%s)\n", p->name,
			       access & W ? "write" : "read",
			       (unsigned long long)addr,
			       err == MAPPING_ERR_BAD_STATE ? "SEGV_MAPERR" :
			       err == MAPPING_ERR_ACCESS_DENIED ? "SEGV_ACCERR" :
			       mapping_strerror(err));
			return NULL;
		}
	}
	return NULL;
}

static void poke(struct proc *p, uint64_t addr, const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		unsigned char *b = mmu(p, addr + i, W);

		if (!b)
			return;
		*b = (unsigned char)s[i];
	}
	printf("  %s: wrote \"%s\" at %#llx\n", p->name, s,
	       (unsigned long long)addr);
}

static void peek(struct proc *p, uint64_t addr, size_t n)
{
	char s[32];
	size_t i;

	for (i = 0; i < n && i + 1 < sizeof(s); i++) {
		unsigned char *b = mmu(p, addr + i, R);

		if (!b)
			return;
		s[i] = *b ? (char)*b : '.';
	}
	s[i] = '\0';
	printf("  %s: read \"%s\" at %#llx\n", p->name, s,
	       (unsigned long long)addr);
}

/* /proc/PID/maps, and how many frames the process reaches. */
static void maps(struct proc *p)
{
	const struct memory_area *a;
	struct memory_set_iter it;
	unsigned resident = 0, i;
	char line[96];

	for (i = 0; i < GUEST_PAGES; i++)
		resident += p->pt.e[i].state == PTE_PRESENT;
	printf("  %s maps: %llu areas, resident pages: %u\n", p->name,
	       (unsigned long long)memory_set_len(&p->mm), resident);
	memory_set_foreach(a, &it, &p->mm) {
		memory_set_format_area(line, sizeof(line), a, NULL, NULL);
		printf("    %s\n", line);
	}
}

int main(void)
{
	struct proc *a = &procs[0], *b = &procs[1];
	uint64_t heap, text, buf;
	int failed = 0;

	if (!proc_init(a, "A"))
		return 1;

	puts("mmap: three mappings; the last two touch with equal rights");
	text = sys_mmap(a, 2 * PAGE, R | X);
	heap = sys_mmap(a, 4 * PAGE, R | W);
	buf = sys_mmap(a, 2 * PAGE, R | W);
	if (!text || !heap || !buf)
		return 1;
	maps(a); /* heap and buf: one area */

	puts("page faults: first touch maps a zeroed frame");
	poke(a, heap, "hello");
	peek(a, heap, 8);
	poke(a, text, "x");            /* r-x: the write is refused */
	peek(a, GUEST_BASE + 0x80000, 1); /* nothing mapped there */

	puts("mprotect: one page of the heap read-only splits it");
	say("mprotect(heap+0x1000, 0x1000, PROT_READ)",
	    memory_set_protect_flags_strict(&a->mm, heap + PAGE, PAGE, R,
					    R | W | X, &a->pt));
	poke(a, heap + PAGE, "no");
	/* Linux's mprotect refuses a range with a hole; so does strict. */
	say("mprotect over a hole",
	    memory_set_protect_flags_strict(&a->mm, buf, 0x10000, R,
					    R | W | X, &a->pt));
	maps(a);

	puts("fork: the child shares every frame copy-on-write");
	if (!sys_fork(a, b, "B"))
		return 1;
	printf("  frames in use: %u\n", frames_used);
	poke(b, heap, "HELLO"); /* B's first write copies the frame */
	peek(a, heap, 5);
	peek(b, heap, 5);
	printf("  frames in use: %u\n", frames_used);

	puts("mremap: grow in place while the space after is free, else move");
	buf = sys_mremap(a, buf, 2 * PAGE, 3 * PAGE);
	heap = sys_mremap(a, heap, PAGE, 8 * PAGE); /* its first page */
	if (!buf || !heap)
		return 1;
	peek(a, heap, 5); /* the contents moved with the frames */
	maps(a);

	puts("munmap: a hole is fine for munmap, not for the strict form");
	say("munmap(buf, 0x10000) strict",
	    memory_set_unmap_strict(&a->mm, buf, 0x10000, &a->pt));
	say("munmap(buf, 0x3000)", memory_set_unmap(&a->mm, buf, 3 * PAGE,
						     &a->pt));
	peek(a, buf, 1);
	maps(a);
	maps(b);

	puts("exit: both address spaces go, and every frame with them");
	failed |= memory_set_clear(&a->mm, &a->pt) != MAPPING_OK;
	failed |= memory_set_clear(&b->mm, &b->pt) != MAPPING_OK;
	memory_set_destroy(&a->mm);
	memory_set_destroy(&b->mm);
	printf("  frames in use: %u\n", frames_used);
	return failed || frames_used != 0;
}
