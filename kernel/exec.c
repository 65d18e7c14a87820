/*
 * Starting a program: its ELF64 segments, a stack, and on that stack what
 * Linux puts there (argc, argv, envp, the auxiliary vector), so that a
 * static glibc program finds its program headers (and so its TLS), the
 * page size and its random bytes as it does on Linux.
 *
 * The segments are mapped from the program's file as Linux's loader maps
 * them (load_segment()): its file part as a private mapping of the file
 * (an object of the address-space layer over the ramfs file, whose page
 * cache reads the image), the rest of the bss as anonymous memory, and the
 * bss's part of the last file page zeroed. A later segment replaces a page
 * an earlier one shares.
 */
#include "kernel.h"
#include <linux_abi.h>

struct elf_header {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf_segment {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

#define ET_EXEC 2
#define EM_RISCV 243
#define PT_LOAD 1
#define PF_X 1
#define PF_W 2
#define PF_R 4
#define MAX_PHNUM 16

/* What the hart has, for AT_HWCAP: one bit per letter of rv64imafdc. */
#define HWCAP(c) (1ul << ((c) - 'a'))
#define RISCV_HWCAP (HWCAP('i') | HWCAP('m') | HWCAP('a') | HWCAP('f') | \
		     HWCAP('d') | HWCAP('c'))

#define ANON_FIXED (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)

static uint64_t prot_of(uint32_t pf)
{
	/* ELF says x=1, w=2, r=4; mmap says r=1, w=2, x=4. */
	return (pf & PF_R ? PROT_READ : 0) | (pf & PF_W ? PROT_WRITE : 0) |
	       (pf & PF_X ? PROT_EXEC : 0);
}

/*
 * Map segment @s of the file @obj, as Linux's elf_load(): the pages of its
 * file part privately from the file, the pages past them anonymous, and
 * in a writable segment the rest of the last file page zeroed (padzero()).
 * Unlike Linux, every page is populated (MAP_POPULATE), so that a program
 * that takes every frame there is (oom) still has its own.
 */
static int load_segment(struct proc *p, const struct elf_segment *s,
			struct aspace_object *obj)
{
	static const char zeros[PAGE_SIZE];
	uint64_t start = PAGE_ROUND_DOWN(s->vaddr), prot = prot_of(s->flags);
	uint64_t file_end = s->filesz ? PAGE_ROUND_UP(s->vaddr + s->filesz) :
					start;
	uint64_t end = PAGE_ROUND_UP(s->vaddr + s->memsz);
	int64_t r = 0;

	if (file_end > start)
		r = aspace_mmap(&p->as, start, file_end - start, prot,
				MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, obj,
				PAGE_ROUND_DOWN(s->offset));
	if (r >= 0 && end > file_end)
		r = aspace_mmap(&p->as, file_end, end - file_end, prot,
				ANON_FIXED | MAP_POPULATE, NULL, 0);
	if (r >= 0 && s->filesz && s->memsz > s->filesz && (prot & PROT_WRITE))
		r = copy_to_user(p, s->vaddr + s->filesz, zeros,
				 file_end - (s->vaddr + s->filesz));
	return r < 0 ? (int)r : 0;
}

/* The segment headers, checked against the file and the user window. */
static int check_segment(const struct elf_segment *s, uint64_t file_size)
{
	if (s->filesz > s->memsz || s->offset > file_size ||
	    s->filesz > file_size - s->offset)
		return -ENOEXEC;
	if (s->vaddr < USER_MIN || s->memsz > USER_TOP - s->vaddr)
		return -ENOEXEC;
	/* A page of the file lands on a page of memory, as mmap would put it. */
	if (s->vaddr % PAGE_SIZE != s->offset % PAGE_SIZE)
		return -ENOEXEC;
	return 0;
}

/* A small generator for AT_RANDOM and getrandom(): not for secrets. */
void random_bytes(void *buf, size_t len)
{
	static uint64_t state;
	unsigned char *b = buf;

	if (!state)
		state = timer_now() | 1;
	for (size_t i = 0; i < len; i++) {
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		b[i] = (unsigned char)(state >> 24);
	}
}

/*
 * The initial stack, built in a buffer and copied below USER_TOP at once:
 * from sp up, argc, argv[], NULL, envp[] (empty), NULL, the auxiliary
 * vector, then AT_RANDOM's 16 bytes and the one string, the program's
 * path (argv[0] and AT_EXECFN). sp is 16-byte aligned. Returns sp, or 0
 * when the stack cannot be written.
 */
static uint64_t initial_stack(struct proc *p, const char *path,
			      const uint64_t *aux, int naux)
{
	uint64_t words[64];
	size_t path_len = strlen(path) + 1;
	uint64_t top = USER_TOP;
	uint64_t str = top - path_len;
	uint64_t rnd = (str - 16) & ~15ul;
	int n = 0;

	words[n++] = 1;     /* argc */
	words[n++] = str;   /* argv[0] */
	words[n++] = 0;
	words[n++] = 0;     /* no environment */
	for (int i = 0; i < naux; i += 2) {
		words[n++] = aux[i];
		words[n++] = aux[i] == AT_RANDOM ? rnd :
			     aux[i] == AT_EXECFN ? str : aux[i + 1];
	}
	words[n++] = AT_NULL;
	words[n++] = 0;

	uint64_t sp = (rnd - (uint64_t)n * 8) & ~15ul;
	unsigned char random[16];

	random_bytes(random, sizeof(random));
	if (copy_to_user(p, str, path, path_len) ||
	    copy_to_user(p, rnd, random, sizeof(random)) ||
	    copy_to_user(p, sp, words, (size_t)n * 8))
		return 0;
	return sp;
}

/*
 * Load the static ELF64 executable at @path, a ramfs file, into @p, a
 * fresh process: its PT_LOAD segments with their permissions, a lazy
 * stack, the heap right after the last segment (Linux's start_brk without
 * randomization), registers at the entry point.
 * Returns 0, -ENOENT, -ENOEXEC (not a static riscv64 executable) or
 * -ENOMEM.
 */
int exec_load(struct proc *p, const char *path)
{
	const struct rfile *f = ramfs_lookup(path);
	const unsigned char *image = f ? ramfs_data(f) : NULL;
	uint64_t size = f ? ramfs_size(f) : 0, end = 0, phdr = 0;
	const struct elf_header *eh = (const void *)image;
	struct aspace_object *obj;
	int err;

	if (!image)
		return -ENOENT;

	if (size < sizeof(*eh) || memcmp(eh->ident, "\177ELF", 4) ||
	    eh->ident[4] != 2 /* 64-bit */ || eh->ident[5] != 1 /* LE */ ||
	    eh->type != ET_EXEC || eh->machine != EM_RISCV ||
	    eh->phentsize != sizeof(struct elf_segment) ||
	    eh->phnum == 0 || eh->phnum > MAX_PHNUM ||
	    eh->phoff > size || (uint64_t)eh->phnum * eh->phentsize > size - eh->phoff)
		return -ENOEXEC;
	const struct elf_segment *ph = (const void *)(image + eh->phoff);

	err = ramfs_object(p, f, &obj);
	if (err)
		return err;
	for (int i = 0; i < eh->phnum && !err; i++) {
		const struct elf_segment *s = &ph[i];

		if (s->type != PT_LOAD || s->memsz == 0)
			continue;
		err = check_segment(s, size);
		if (!err)
			err = load_segment(p, s, obj);
		if (s->vaddr + s->memsz > end)
			end = s->vaddr + s->memsz;
		/* The program headers, where a segment brings them in. */
		if (eh->phoff >= s->offset && eh->phoff - s->offset < s->filesz)
			phdr = s->vaddr + (eh->phoff - s->offset);
	}
	aspace_object_put(obj); /* the areas hold it now */
	if (err)
		return err;
	if (!end)
		return -ENOEXEC;
	int64_t r = aspace_mmap(&p->as, USER_TOP - STACK_SIZE, STACK_SIZE,
				PROT_READ | PROT_WRITE, ANON_FIXED, NULL, 0);

	if (r < 0)
		return (int)r;

	const uint64_t aux[] = {
		AT_PHDR, phdr, AT_PHENT, sizeof(struct elf_segment),
		AT_PHNUM, eh->phnum, AT_PAGESZ, PAGE_SIZE, AT_BASE, 0,
		AT_FLAGS, 0, AT_ENTRY, eh->entry, AT_UID, 0, AT_EUID, 0,
		AT_GID, 0, AT_EGID, 0, AT_HWCAP, RISCV_HWCAP, AT_CLKTCK, 100,
		AT_SECURE, 0, AT_RANDOM, 0, AT_EXECFN, 0,
	};
	uint64_t sp = initial_stack(p, path, aux, sizeof(aux) / sizeof(aux[0]));

	if (!sp)
		return -ENOMEM;
	aspace_set_brk(&p->as, end);
	p->tf.epc = eh->entry;
	p->tf.x[1] = sp;
	return 0;
}
