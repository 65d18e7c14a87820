/*
 * A file backend: areas that show a file, each with the file offset of its
 * first byte, kept right through splits, merges and moves.
 *
 * Each area owns one struct fmap. split() makes the data of the part after
 * the cut (its offset advanced by the cut), release() frees data the set
 * gives back, can_merge() joins only areas whose offsets continue, move()
 * carries the data to the new address. Every hook call is printed, so the
 * output (checked against file_backend.out by tests/examples) shows when the
 * set calls what, and who owns each struct fmap: see docs/backends.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memory_set/malloc.h>
#include <memory_set/memory_set.h>

#define PAGE 4096u
#define BASE 0x10000u
#define NPAGES 64u

/* The file: 16 pages, page p filled with the letter 'A' + p. */
static unsigned char file_bytes[16 * PAGE];

/* The page table: for each page, the file byte it shows (or NULL). */
struct page_table {
	const unsigned char *page[NPAGES];
};

/* Per-area data: the address vaddr shows file byte off. The set keeps
 * vaddr equal to the area's start (split() and move() see to it). */
struct fmap {
	uint64_t off, vaddr;
	unsigned id;
};

static unsigned next_id = 1;
static long fmaps_live;

static struct fmap *fmap_new(uint64_t off, uint64_t vaddr)
{
	struct fmap *m = malloc(sizeof(*m));

	if (!m)
		return NULL;
	m->off = off;
	m->vaddr = vaddr;
	m->id = next_id++;
	fmaps_live++;
	return m;
}

static enum mapping_error file_map(void *data, uint64_t start, uint64_t size,
				   uint64_t flags, void *page_table)
{
	struct page_table *pt = page_table;
	struct fmap *m = data;
	uint64_t a;

	(void)flags;
	printf("    map     #%u [%#llx, +%#llx)\n", m->id,
	       (unsigned long long)start, (unsigned long long)size);
	for (a = start; a < start + size; a += PAGE)
		pt->page[(a - BASE) / PAGE] = file_bytes + m->off +
					      (a - m->vaddr);
	return MAPPING_OK;
}

static enum mapping_error file_unmap(void *data, uint64_t start,
				     uint64_t size, void *page_table)
{
	struct page_table *pt = page_table;
	struct fmap *m = data;
	uint64_t a;

	printf("    unmap   #%u [%#llx, +%#llx)\n", m->id,
	       (unsigned long long)start, (unsigned long long)size);
	for (a = start; a < start + size; a += PAGE)
		pt->page[(a - BASE) / PAGE] = NULL;
	return MAPPING_OK;
}

static enum mapping_error file_protect(void *data, uint64_t start,
				       uint64_t size, uint64_t old_flags,
				       uint64_t new_flags, void *page_table)
{
	(void)data, (void)start, (void)size, (void)old_flags;
	(void)new_flags, (void)page_table;
	return MAPPING_OK;
}

/* The part from start+offset on gets data of its own, its offset advanced:
 * the part before keeps m. Called before any page-table hook, so failing
 * here (no memory) changes nothing. */
static enum mapping_error file_split(void *data, uint64_t start,
				     uint64_t size, uint64_t offset,
				     void **right_data)
{
	struct fmap *m = data, *r;

	(void)size;
	r = fmap_new(m->off + (start + offset - m->vaddr), start + offset);
	if (!r)
		return MAPPING_ERR_NO_MEMORY;
	printf("    split   #%u at +%#llx: #%u at %#llx, file offset %#llx\n",
	       m->id, (unsigned long long)offset, r->id,
	       (unsigned long long)r->vaddr, (unsigned long long)r->off);
	*right_data = r;
	return MAPPING_OK;
}

/* The set gives m back: no area holds it any more. */
static void file_release(void *data, uint64_t start, uint64_t size)
{
	struct fmap *m = data;

	printf("    release #%u [%#llx, +%#llx)\n", m->id,
	       (unsigned long long)start, (unsigned long long)size);
	fmaps_live--;
	free(m);
}

/* Touching areas are one mapping of the file only if the offsets go on. */
static bool file_can_merge(const struct memory_area *left,
			   const struct memory_area *right)
{
	const struct fmap *l = left->backend.data, *r = right->backend.data;

	return r->off - l->off == right->start - left->start;
}

/* The page-table entries move with the area, and so does its data. */
static enum mapping_error file_move(void *data, uint64_t old_start,
				    uint64_t new_start, uint64_t size,
				    uint64_t flags, void *page_table)
{
	struct page_table *pt = page_table;
	struct fmap *m = data;
	uint64_t i;

	(void)flags;
	printf("    move    #%u [%#llx, +%#llx) to %#llx\n", m->id,
	       (unsigned long long)old_start, (unsigned long long)size,
	       (unsigned long long)new_start);
	for (i = 0; i < size / PAGE; i++) {
		pt->page[(new_start - BASE) / PAGE + i] =
			pt->page[(old_start - BASE) / PAGE + i];
		pt->page[(old_start - BASE) / PAGE + i] = NULL;
	}
	m->vaddr += new_start - old_start;
	return MAPPING_OK;
}

static const struct mapping_backend_ops file_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = file_map,
	.unmap = file_unmap,
	.protect = file_protect,
	.split = file_split,
	.release = file_release,
	.can_merge = file_can_merge,
	.move = file_move,
};

/* Each area, with its data's offset; and every page of the page table
 * checked to show the file byte that offset says. */
static int show(const struct memory_set *set, const struct page_table *pt)
{
	const struct memory_area *a;
	struct memory_set_iter it;
	int bad = 0;

	memory_set_foreach(a, &it, set) {
		const struct fmap *m = a->backend.data;
		uint64_t p;

		printf("  %#llx-%#llx file offset %#llx (#%u) pages ",
		       (unsigned long long)a->start,
		       (unsigned long long)memory_area_end(a),
		       (unsigned long long)m->off, m->id);
		bad |= m->vaddr != a->start;
		for (p = a->start; p < memory_area_end(a); p += PAGE) {
			const unsigned char *b = pt->page[(p - BASE) / PAGE];

			bad |= b != file_bytes + m->off + (p - a->start);
			putchar(b ? *b : '?');
		}
		putchar('\n');
	}
	if (bad)
		puts("  the page table disagrees with the offsets");
	return bad;
}

static enum mapping_error map_file(struct memory_set *set,
				   struct page_table *pt, uint64_t start,
				   uint64_t size, uint64_t off)
{
	struct mapping_backend b = { &file_ops, fmap_new(off, start) };
	enum mapping_error err;

	if (!b.data)
		return MAPPING_ERR_NO_MEMORY;
	printf("map [%#llx, +%#llx) at file offset %#llx as #%u\n",
	       (unsigned long long)start, (unsigned long long)size,
	       (unsigned long long)off, ((struct fmap *)b.data)->id);
	err = memory_set_map(set, start, size, 1, &b, pt, false);
	/* On failure the set never took the data: it is still ours. */
	if (err != MAPPING_OK) {
		fmaps_live--;
		free(b.data);
	}
	return err;
}

int main(void)
{
	static struct page_table pt;
	struct memory_set_options opts = {
		.size = sizeof(opts),
		.allocator = &memory_set_malloc_allocator,
		.merge = true,
	};
	struct memory_set set;
	int bad = 0;
	unsigned i;

	for (i = 0; i < sizeof(file_bytes); i++)
		file_bytes[i] = (unsigned char)('A' + i / PAGE);
	if (memory_set_init(&set, &opts) != MAPPING_OK)
		return 1;

	bad |= map_file(&set, &pt, 0x10000, 8 * PAGE, 0) != MAPPING_OK;
	bad |= show(&set, &pt);

	puts("unmap [0x12000, +0x2000): the area splits around the hole");
	bad |= memory_set_unmap(&set, 0x12000, 2 * PAGE, &pt) != MAPPING_OK;
	bad |= show(&set, &pt);

	puts("unmap [0x10000, +0x1000): the head goes, the rest is a split");
	bad |= memory_set_unmap(&set, 0x10000, PAGE, &pt) != MAPPING_OK;
	bad |= show(&set, &pt);

	puts("map the hole again at its own offset: all three merge");
	bad |= map_file(&set, &pt, 0x12000, 2 * PAGE, 2 * PAGE) != MAPPING_OK;
	bad |= show(&set, &pt);

	puts("a touching mapping whose offset does not go on: no merge");
	bad |= map_file(&set, &pt, 0x18000, PAGE, 15 * PAGE) != MAPPING_OK;
	bad |= show(&set, &pt);

	puts("mremap [0x13000, +0x2000) to 0x30000: the middle moves");
	bad |= memory_set_remap_fixed(&set, 0x13000, 2 * PAGE, 2 * PAGE,
				      0x30000, &pt) != MAPPING_OK;
	bad |= show(&set, &pt);

	puts("mremap [0x30000, +0x2000) to +0x3000 in place: map() grows it");
	bad |= memory_set_remap(&set, 0x30000, 2 * PAGE, 3 * PAGE, &pt) !=
	       MAPPING_OK;
	bad |= show(&set, &pt);

	puts("clear");
	bad |= memory_set_clear(&set, &pt) != MAPPING_OK;
	memory_set_destroy(&set);
	printf("file data still allocated: %ld\n", fmaps_live);
	return bad || fmaps_live != 0;
}
