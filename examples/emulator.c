/*
 * A CPU emulator's guest processes on the address-space layer.
 *
 * The guest has 1 MiB of virtual space from 0x400000 and 64 frames of
 * "physical" memory. Each process has a page table of its own: an array of
 * entries, one per guest page. The emulator writes what only it knows, the
 * hooks of struct aspace_ops (its frames and its entries) and its CPU; the
 * layer does the rest as Linux does: mmap placement, demand-zero faults,
 * copy-on-write, fork, mremap, brk, the copies a system call makes to and
 * from guest memory, /proc/PID/maps.
 *
 * It prints what happens; tests/examples compares that with emulator.out.
 * docs/aspace.md walks through it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memory_set/aspace.h>
#include <memory_set/malloc.h>

#define PAGE 4096u
#define GUEST_BASE 0x400000u
#define GUEST_PAGES 256u /* 1 MiB of virtual space */
#define GUEST_END (GUEST_BASE + GUEST_PAGES * PAGE)
#define NFRAMES 64u      /* 256 KiB of physical memory */

#define PRIV_ANON (ASPACE_MAP_PRIVATE | ASPACE_MAP_ANONYMOUS)
#define RX (ASPACE_PROT_READ | ASPACE_PROT_EXEC)
#define RW (ASPACE_PROT_READ | ASPACE_PROT_WRITE)

/* ---- Frames: memory and a reference count each ------------------------ */

static unsigned char frame_mem[NFRAMES][PAGE];
static unsigned frame_ref[NFRAMES]; /* 0: free; >1: shared */

static int frame_alloc(void *ctx, uint64_t *frame)
{
	unsigned f;

	(void)ctx;
	for (f = 0; f < NFRAMES; f++) {
		if (!frame_ref[f]) {
			frame_ref[f] = 1;
			memset(frame_mem[f], 0, PAGE);
			*frame = f;
			return 0;
		}
	}
	return -ASPACE_ENOMEM;
}

static void frame_get(void *ctx, uint64_t frame)
{
	(void)ctx;
	frame_ref[frame]++;
}

static void frame_put(void *ctx, uint64_t frame)
{
	(void)ctx;
	frame_ref[frame]--;
}

static uint64_t frame_refs(void *ctx, uint64_t frame)
{
	(void)ctx;
	return frame_ref[frame];
}

static void *frame_map(void *ctx, uint64_t frame)
{
	(void)ctx;
	return frame_mem[frame];
}

static unsigned frames_used(void)
{
	unsigned f, n = 0;

	for (f = 0; f < NFRAMES; f++)
		n += frame_ref[f] != 0;
	return n;
}

/* ---- Page tables: one entry per guest page ---------------------------- */

struct pte {
	bool present;
	uint8_t rights; /* ASPACE_PTE_* */
	uint16_t frame;
};

struct page_table {
	struct pte e[GUEST_PAGES];
};

static struct pte *pte_of(void *pt, uint64_t va)
{
	return &((struct page_table *)pt)->e[(va - GUEST_BASE) / PAGE];
}

static int pt_map(void *ctx, void *pt, uint64_t va, uint64_t frame,
		  unsigned rights)
{
	struct pte *e = pte_of(pt, va);

	(void)ctx;
	e->present = true;
	e->rights = (uint8_t)rights;
	e->frame = (uint16_t)frame;
	return 0; /* an array needs no memory: pt_map never fails */
}

static void pt_unmap(void *ctx, void *pt, uint64_t va, uint64_t size)
{
	(void)ctx;
	for (; size; va += PAGE, size -= PAGE)
		pte_of(pt, va)->present = false;
}

static void pt_protect(void *ctx, void *pt, uint64_t va, uint64_t size,
		       unsigned rights)
{
	(void)ctx;
	for (; size; va += PAGE, size -= PAGE)
		pte_of(pt, va)->rights = (uint8_t)rights;
}

static bool pt_lookup(void *ctx, void *pt, uint64_t *va, uint64_t end,
		      uint64_t *frame, unsigned *rights)
{
	uint64_t a = *va;

	(void)ctx;
	if (a < GUEST_BASE)
		a = GUEST_BASE;
	if (end > GUEST_END)
		end = GUEST_END;
	for (; a < end; a += PAGE) {
		struct pte *e = pte_of(pt, a);

		if (e->present) {
			*va = a;
			*frame = e->frame;
			*rights = e->rights;
			return true;
		}
	}
	return false;
}

static void *mem_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size);
}

static void mem_free(void *ctx, void *p, size_t size)
{
	(void)ctx, (void)size;
	free(p);
}

static const struct aspace_ops guest_ops = {
	.version = ASPACE_OPS_VERSION,
	.alloc = mem_alloc,
	.free = mem_free,
	.frame_alloc = frame_alloc,
	.frame_get = frame_get,
	.frame_put = frame_put,
	.frame_refs = frame_refs,
	.frame_map = frame_map,
	.pt_map = pt_map,
	.pt_unmap = pt_unmap,
	.pt_protect = pt_protect,
	.pt_lookup = pt_lookup,
	/* optional: frame_unmap, tlb_flush, pt_reserve, pt_trim, next_ino */
};

/* ---- A process -------------------------------------------------------- */

struct proc {
	const char *name;
	struct aspace as;
	struct page_table pt;
};

static struct proc procs[2];

static void proc_init(struct proc *p, const char *name)
{
	struct aspace_options o;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.ops = &guest_ops;
	o.page_table = &p->pt;
	o.allocator = &memory_set_malloc_allocator;
	/* The guest's user space: mmap places from the top down. */
	o.mmap_min_addr = GUEST_BASE;
	o.mmap_base = o.task_size = GUEST_END;
	o.unmapped_base = GUEST_BASE;
	o.start_brk = GUEST_BASE + 16 * PAGE;
	p->name = name;
	if (aspace_init(&p->as, &o)) {
		fprintf(stderr, "aspace_init failed\n");
		exit(1);
	}
}

/* ---- The emulated CPU ------------------------------------------------- */

/*
 * Translate @va for an access: the entry allows it, or it is a page fault
 * and the layer decides (the page is there now: retry; or the signal Linux
 * would send). NULL: the process got that signal.
 */
static unsigned char *mmu(struct proc *p, uint64_t va, unsigned access)
{
	static const char *const sig[] = { "", "SIGSEGV (SEGV_MAPERR)",
					   "SIGSEGV (SEGV_ACCERR)", "SIGBUS",
					   "out of memory" };
	unsigned need = access == ASPACE_ACCESS_WRITE ? ASPACE_PTE_WRITE :
							ASPACE_PTE_READ;
	enum aspace_fault f;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (va >= GUEST_BASE && va < GUEST_END) {
			struct pte *e = pte_of(&p->pt, va);

			if (e->present && (e->rights & need))
				return &frame_mem[e->frame][va % PAGE];
		}
		f = aspace_fault(&p->as, va, access);
		if (f != ASPACE_FAULT_OK) {
			printf("  %s: %s at %#llx: %s\n", p->name,
			       access == ASPACE_ACCESS_WRITE ? "write" : "read",
			       (unsigned long long)va, sig[f]);
			return NULL;
		}
	}
	return NULL;
}

static void poke(struct proc *p, uint64_t va, const char *s)
{
	unsigned char *b;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (!(b = mmu(p, va + i, ASPACE_ACCESS_WRITE)))
			return;
		*b = (unsigned char)s[i];
	}
	printf("  %s: wrote \"%s\" at %#llx\n", p->name, s,
	       (unsigned long long)va);
}

static void peek(struct proc *p, uint64_t va, size_t n)
{
	char s[32];
	unsigned char *b;
	size_t i;

	for (i = 0; i < n && i + 1 < sizeof(s); i++) {
		if (!(b = mmu(p, va + i, ASPACE_ACCESS_READ)))
			return;
		s[i] = *b ? (char)*b : '.';
	}
	s[i] = '\0';
	printf("  %s: read \"%s\" at %#llx\n", p->name, s,
	       (unsigned long long)va);
}

/* ---- System calls: the layer's calls, one for one --------------------- */

/* A call's result as Linux gives it: an address or a value, or -errno. */
static int64_t say(const char *call, int64_t r)
{
	if (ASPACE_IS_ERR(r))
		printf("  %s = -%lld\n", call, -(long long)r);
	else if (r > 0xffff)
		printf("  %s = %#llx\n", call, (unsigned long long)r);
	else
		printf("  %s = %lld\n", call, (long long)r);
	return r;
}

/* write(1, buf, len): the kernel copies the guest's bytes out. */
static int64_t sys_write(struct proc *p, uint64_t buf, size_t len)
{
	char s[32];
	size_t done;
	int err;

	if (len >= sizeof(s))
		return -ASPACE_EINVAL;
	err = aspace_copy_from_user(&p->as, s, buf, len, &done);
	if (err)
		return err;
	s[done] = '\0';
	printf("  %s's stdout: \"%s\"\n", p->name, s);
	return (int64_t)done;
}

static void maps(struct proc *p)
{
	char buf[2048];

	aspace_maps(&p->as, buf, sizeof(buf));
	printf("  %s's /proc/PID/maps:\n%s", p->name, buf);
}

int main(void)
{
	struct proc *a = &procs[0], *b = &procs[1];
	int64_t text, data, buf, more;
	const char *err;

	proc_init(a, "A");
	puts("mmap: placed from the top down; touching areas with equal flags merge");
	text = say("mmap(NULL, 8K, r-x)",
		   aspace_mmap(&a->as, 0, 2 * PAGE, RX, PRIV_ANON, NULL, 0));
	data = say("mmap(NULL, 16K, rw-)",
		   aspace_mmap(&a->as, 0, 4 * PAGE, RW, PRIV_ANON, NULL, 0));
	buf = say("mmap(NULL, 8K, rw-)",
		  aspace_mmap(&a->as, 0, 2 * PAGE, RW, PRIV_ANON, NULL, 0));
	more = say("mmap(0x440000, 8K, rw-)",
		   aspace_mmap(&a->as, 0x440000, 2 * PAGE, RW, PRIV_ANON,
			       NULL, 0));
	say("mmap(text, 4K, MAP_FIXED_NOREPLACE)",
	    aspace_mmap(&a->as, (uint64_t)text, PAGE, ASPACE_PROT_READ,
			PRIV_ANON | ASPACE_MAP_FIXED_NOREPLACE, NULL, 0));
	say("brk(start + 100)",
	    (int64_t)aspace_brk(&a->as, GUEST_BASE + 16 * PAGE + 100));
	if (ASPACE_IS_ERR(text) || ASPACE_IS_ERR(data) || ASPACE_IS_ERR(buf) ||
	    ASPACE_IS_ERR(more))
		return 1;
	maps(a);

	puts("faults: a zeroed frame at the first touch; SIGSEGV otherwise");
	poke(a, (uint64_t)data, "hello");
	peek(a, (uint64_t)data, 8);
	poke(a, (uint64_t)text, "x");
	peek(a, GUEST_BASE + 0x80000, 1);

	puts("system calls copy guest memory, faulting as the guest would");
	say("write(1, data, 5)", sys_write(a, (uint64_t)data, 5));
	say("write(1, 0x480000, 5)", sys_write(a, GUEST_BASE + 0x80000, 5));

	puts("mprotect: one page of data read-only splits it");
	say("mprotect(data+4K, 4K, r--)",
	    aspace_mprotect(&a->as, (uint64_t)data + PAGE, PAGE,
			    ASPACE_PROT_READ));
	poke(a, (uint64_t)data + PAGE, "no");
	/* A hole in the range: ENOMEM, and nothing changed. */
	say("mprotect(more, up to text's end, r--)",
	    aspace_mprotect(&a->as, (uint64_t)more,
			    (uint64_t)text + 2 * PAGE - (uint64_t)more,
			    ASPACE_PROT_READ));
	maps(a);

	puts("fork: every frame shared copy-on-write");
	if (aspace_fork(&b->as, &a->as, &b->pt))
		return 1;
	b->name = "B";
	printf("  frames in use: %u\n", frames_used());
	poke(b, (uint64_t)data, "HELLO"); /* B's first write copies the frame */
	peek(a, (uint64_t)data, 5);
	peek(b, (uint64_t)data, 5);
	printf("  frames in use: %u\n", frames_used());

	puts("mremap: grow in place while the space after is free, else move "
	     "(written memory keeps its page offset: no merge where it lands)");
	more = say("mremap(more, 8K, 12K, MREMAP_MAYMOVE)",
		   aspace_mremap(&a->as, (uint64_t)more, 2 * PAGE, 3 * PAGE,
				 ASPACE_MREMAP_MAYMOVE, 0));
	data = say("mremap(data, 4K, 32K, MREMAP_MAYMOVE)",
		   aspace_mremap(&a->as, (uint64_t)data, PAGE, 8 * PAGE,
				 ASPACE_MREMAP_MAYMOVE, 0));
	if (ASPACE_IS_ERR(more) || ASPACE_IS_ERR(data))
		return 1;
	peek(a, (uint64_t)data, 5); /* the contents moved with the frames */
	maps(a);

	puts("munmap: holes in the range are fine");
	say("munmap(more, 64K)", aspace_munmap(&a->as, (uint64_t)more, 0x10000));
	peek(a, (uint64_t)more, 1);
	maps(a);
	maps(b);
	if ((err = aspace_check(&a->as)) || (err = aspace_check(&b->as)))
		printf("  check: %s\n", err);

	puts("exit: both spaces go, and every frame with them");
	aspace_destroy(&a->as);
	aspace_destroy(&b->as);
	printf("  frames in use: %u\n", frames_used());
	return err || frames_used() != 0;
}
