#include <stdio.h>

#include <memory_set/malloc.h> /* the malloc allocator: hosted builds only */
#include <memory_set/memory_set.h>

/* The page table. Here it only counts mapped bytes; a real backend writes
 * page-table entries in these hooks (see docs/backends.md). */
struct page_table {
	uint64_t mapped;
};

static enum mapping_error pt_map(void *data, uint64_t start, uint64_t size,
				 uint64_t flags, void *page_table)
{
	struct page_table *pt = page_table;

	(void)data, (void)start, (void)flags;
	pt->mapped += size;
	return MAPPING_OK;
}

static enum mapping_error pt_unmap(void *data, uint64_t start, uint64_t size,
				   void *page_table)
{
	struct page_table *pt = page_table;

	(void)data, (void)start;
	pt->mapped -= size;
	return MAPPING_OK;
}

static enum mapping_error pt_protect(void *data, uint64_t start,
				     uint64_t size, uint64_t old_flags,
				     uint64_t new_flags, void *page_table)
{
	(void)data, (void)start, (void)size, (void)old_flags, (void)new_flags;
	(void)page_table;
	return MAPPING_OK;
}

static const struct mapping_backend_ops anon_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = pt_map,
	.unmap = pt_unmap,
	.protect = pt_protect,
	/* optional: split, release, can_merge, dup, move, fault */
};

int main(void)
{
	struct memory_set_options opts = {
		.size = sizeof(opts),
		.allocator = &memory_set_malloc_allocator,
		.granule = 4096,
	};
	struct mapping_backend anon = { &anon_ops, NULL };
	struct page_table pt = { 0 };
	const struct memory_area *a;
	struct memory_set_iter it;
	struct memory_set set;
	enum mapping_error err, cleared;
	uint64_t addr;
	char line[80];

	err = memory_set_init(&set, &opts);
	if (err != MAPPING_OK)
		return 1;

	/* 64 KiB at the lowest free address of [0x10000, 0x7fffffffffff]. */
	err = memory_set_find_free_area(&set, 0, 0x10000, 4096, 0x10000,
					0x7fffffffffff, &addr);
	if (err != MAPPING_OK)
		goto out;
	err = memory_set_map(&set, addr, 0x10000, 3 /* rw */, &anon, &pt,
			     false);
	if (err != MAPPING_OK)
		goto out;

	/* Its middle 16 KiB read-only: set flags 1 under mask 3. */
	err = memory_set_protect_flags(&set, addr + 0x4000, 0x4000, 1, 3, &pt);
	if (err != MAPPING_OK)
		goto out;

	/* The area was split in three. Area pointers are valid until the next
	 * change to the set: read what is needed, then change it. */
	a = memory_set_find(&set, addr + 0x5000);
	if (a)
		printf("%#llx is in [%#llx, %#llx), flags %llu\n",
		       (unsigned long long)(addr + 0x5000),
		       (unsigned long long)a->start,
		       (unsigned long long)memory_area_end(a),
		       (unsigned long long)a->flags);
	memory_set_foreach(a, &it, &set) {
		memory_set_format_area(line, sizeof(line), a, NULL, NULL);
		printf("%s\n", line);
	}

	err = memory_set_unmap(&set, addr, 0x4000, &pt);
	if (err != MAPPING_OK)
		goto out;
	printf("%llu areas after unmapping the first 16 KiB\n",
	       (unsigned long long)memory_set_len(&set));
out:
	if (err != MAPPING_OK)
		fprintf(stderr, "memory_set: %s\n", mapping_strerror(err));
	/* destroy() calls no page-table hook: clear() unmaps what is left. */
	cleared = memory_set_clear(&set, &pt);
	memory_set_destroy(&set);
	printf("%llu bytes left mapped\n", (unsigned long long)pt.mapped);
	return err != MAPPING_OK || cleared != MAPPING_OK;
}
