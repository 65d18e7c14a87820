/*
 * A program that uses an installed memory_set: maps three areas through a
 * backend that only counts calls, protects, unmaps, and checks the answers.
 * Built by tests/install/install_test.cmake twice, with find_package() and
 * with pkg-config.
 */
#include <stdio.h>
#include <string.h>

#include <memory_set/malloc.h>
#include <memory_set/memory_set.h>

static unsigned calls;

static enum mapping_error hook_map(void *data, uint64_t start, uint64_t size,
				   uint64_t flags, void *pt)
{
	(void)data, (void)start, (void)size, (void)flags, (void)pt;
	calls++;
	return MAPPING_OK;
}

static enum mapping_error hook_unmap(void *data, uint64_t start, uint64_t size,
				     void *pt)
{
	(void)data, (void)start, (void)size, (void)pt;
	calls++;
	return MAPPING_OK;
}

static enum mapping_error hook_protect(void *data, uint64_t start,
				       uint64_t size, uint64_t old_flags,
				       uint64_t new_flags, void *pt)
{
	(void)data, (void)start, (void)size, (void)old_flags, (void)new_flags;
	(void)pt;
	calls++;
	return MAPPING_OK;
}

static bool set_write(void *ctx, uint64_t old_flags, uint64_t *new_flags)
{
	(void)ctx;
	if (old_flags & 2)
		return false;
	*new_flags = old_flags | 2;
	return true;
}

static const struct mapping_backend_ops ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = hook_map,
	.unmap = hook_unmap,
	.protect = hook_protect,
};

int main(void)
{
	struct memory_set_options opts;
	struct memory_set set;
	const struct mapping_backend backend = { &ops, NULL };
	const struct memory_area *a;
	int bad = 0;

	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.allocator = &memory_set_malloc_allocator;
	if (memory_set_init(&set, &opts) != MAPPING_OK)
		return 1;
	bad |= memory_set_map(&set, 0x10000, 0x3000, 1, &backend, NULL, false) != MAPPING_OK;
	bad |= memory_set_map(&set, 0x20000, 0x1000, 1, &backend, NULL, false) != MAPPING_OK;
	bad |= memory_set_map(&set, 0x11000, 0x1000, 1, &backend, NULL, false) !=
	       MAPPING_ERR_ALREADY_EXISTS;
	bad |= memory_set_protect(&set, 0x11000, 0x1000, set_write, NULL, NULL) != MAPPING_OK;
	bad |= memory_set_len(&set) != 4;
	a = memory_set_find(&set, 0x11fff);
	bad |= a == NULL || a->start != 0x11000 || a->flags != 3;
	bad |= memory_set_unmap(&set, 0x10000, 0x11000, NULL) != MAPPING_OK;
	bad |= !memory_set_is_empty(&set);
	bad |= memory_set_check(&set) != NULL;
	bad |= mapping_error_to_errno(MAPPING_ERR_NO_MEMORY) != 12;
	memory_set_destroy(&set);
	printf("installed memory_set: %u backend calls, %s\n", calls,
	       bad ? "FAILED" : "ok");
	return bad || calls != 7;
}
