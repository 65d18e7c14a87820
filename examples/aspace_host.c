/*
 * A host for the address-space layer: the smallest one worth writing. The
 * machine has 64 frames of 4 KiB and a guest space of 1 MiB from 0x400000;
 * a page table is an array of entries, one per guest page. The host writes
 * the hooks of struct aspace_ops (frames, entries) and the layer does the
 * rest: mmap placement, faults, copy-on-write, fork, mremap, maps lines.
 *
 * It prints what happens; tests/examples compares that with
 * aspace_host.out. docs/aspace.md walks through it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memory_set/aspace.h>
#include <memory_set/malloc.h>

#define PAGE 4096u
#define GUEST_BASE 0x400000u
#define GUEST_PAGES 256u
#define NFRAMES 64u

/* ---- Frames: memory and a reference count each ------------------------ */

static unsigned char frame_mem[NFRAMES][PAGE];
static unsigned frame_ref[NFRAMES];

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
	if (end > GUEST_BASE + GUEST_PAGES * PAGE)
		end = GUEST_BASE + GUEST_PAGES * PAGE;
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
	/* optional: frame_unmap, tlb_flush, pt_reserve, pt_trim */
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
	o.mmap_base = o.task_size = GUEST_BASE + GUEST_PAGES * PAGE;
	o.unmapped_base = GUEST_BASE;
	o.start_brk = GUEST_BASE + 16 * PAGE;
	p->name = name;
	if (aspace_init(&p->as, &o)) {
		fprintf(stderr, "aspace_init failed\n");
		exit(1);
	}
}

/* The emulated CPU: an access the entry allows goes through; anything
 * else is a page fault, and the layer decides. */
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
		if (va >= GUEST_BASE && va < GUEST_BASE + GUEST_PAGES * PAGE) {
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

static void maps(struct proc *p)
{
	char buf[2048];

	aspace_maps(&p->as, buf, sizeof(buf));
	printf("  %s's /proc/PID/maps:\n%s", p->name, buf);
}

static unsigned frames_used(void)
{
	unsigned f, n = 0;

	for (f = 0; f < NFRAMES; f++)
		n += frame_ref[f] != 0;
	return n;
}

static int64_t say(const char *call, int64_t r)
{
	if (ASPACE_IS_ERR(r))
		printf("  %s = -%lld\n", call, -(long long)r);
	else
		printf("  %s = %#llx\n", call, (unsigned long long)r);
	return r;
}

int main(void)
{
	struct proc *a = &procs[0], *b = &procs[1];
	int64_t heap, buf, text;
	const char *err;

	proc_init(a, "A");
	puts("mmap: placed from the top down; touching areas with equal flags merge");
	text = say("mmap(NULL, 8K, r-x)",
		   aspace_mmap(&a->as, 0, 2 * PAGE,
			       ASPACE_PROT_READ | ASPACE_PROT_EXEC,
			       ASPACE_MAP_PRIVATE | ASPACE_MAP_ANONYMOUS, NULL,
			       0));
	buf = say("mmap(NULL, 16K, rw-)",
		  aspace_mmap(&a->as, 0, 4 * PAGE,
			      ASPACE_PROT_READ | ASPACE_PROT_WRITE,
			      ASPACE_MAP_PRIVATE | ASPACE_MAP_ANONYMOUS, NULL,
			      0));
	say("mmap(text, 4K, MAP_FIXED_NOREPLACE)",
	    aspace_mmap(&a->as, (uint64_t)text, PAGE, ASPACE_PROT_READ,
			ASPACE_MAP_PRIVATE | ASPACE_MAP_ANONYMOUS |
				ASPACE_MAP_FIXED_NOREPLACE,
			NULL, 0));
	heap = (int64_t)aspace_brk(&a->as, GUEST_BASE + 16 * PAGE + 100);
	printf("  brk(+100) = %#llx\n", (unsigned long long)heap);
	maps(a);

	puts("faults: a zeroed frame at the first touch; SIGSEGV otherwise");
	poke(a, (uint64_t)buf, "hello");
	peek(a, (uint64_t)buf, 8);
	poke(a, (uint64_t)text, "x");
	peek(a, GUEST_BASE + 0x80000, 1);

	puts("fork: every frame shared copy-on-write");
	if (aspace_fork(&b->as, &a->as, &b->pt))
		return 1;
	b->name = "B";
	printf("  frames in use: %u\n", frames_used());
	poke(b, (uint64_t)buf, "HELLO");
	peek(a, (uint64_t)buf, 5);
	peek(b, (uint64_t)buf, 5);
	printf("  frames in use: %u\n", frames_used());

	puts("mremap: no room to grow in place, so it moves, pages and all");
	buf = say("mremap(buf, 16K, 32K, MREMAP_MAYMOVE)",
		  aspace_mremap(&a->as, (uint64_t)buf, 4 * PAGE, 8 * PAGE,
				ASPACE_MREMAP_MAYMOVE, 0));
	peek(a, (uint64_t)buf, 5);
	maps(a);

	puts("mprotect over a hole: ENOMEM, and nothing changed");
	say("mprotect(buf, up to text's end, r--)",
	    aspace_mprotect(&a->as, (uint64_t)buf,
			    (uint64_t)text + 2 * PAGE - (uint64_t)buf,
			    ASPACE_PROT_READ));
	maps(a);
	if ((err = aspace_check(&a->as)) || (err = aspace_check(&b->as)))
		printf("  check: %s\n", err);

	puts("exit: both spaces go, and every frame with them");
	aspace_destroy(&a->as);
	aspace_destroy(&b->as);
	printf("  frames in use: %u\n", frames_used());
	return frames_used() != 0;
}
