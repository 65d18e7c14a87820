/* The typed wrapper, used as a program would: typed hooks over the mock. */
#include <string.h>

#include <memory_set/typed.h>

#include "mock.h"

enum prot { P_R = 1, P_W = 2, P_X = 4 };

/* Page table: the mock. Data: a tag (plain) or a file_data (file). */
struct tag {
	int id;
};

MEMORY_SET_TYPED(vm, enum prot, struct mock, struct tag);
MEMORY_SET_TYPED(fvm, uint32_t, struct mock, struct file_data);

static unsigned long typed_calls;

/* The typed hooks forward to the mock's untyped ones, which check every
 * call against the shadow page table. */
static enum mapping_error vm_hook_map(struct tag *t, uint64_t start,
				      uint64_t size, enum prot flags,
				      struct mock *pt)
{
	typed_calls++;
	return mock_ops.map(t, start, size, (uint64_t)flags, pt);
}

static enum mapping_error vm_hook_unmap(struct tag *t, uint64_t start,
					uint64_t size, struct mock *pt)
{
	typed_calls++;
	return mock_ops.unmap(t, start, size, pt);
}

static enum mapping_error vm_hook_protect(struct tag *t, uint64_t start,
					  uint64_t size, enum prot old_flags,
					  enum prot new_flags, struct mock *pt)
{
	typed_calls++;
	return mock_ops.protect(t, start, size, (uint64_t)old_flags,
				(uint64_t)new_flags, pt);
}

MEMORY_SET_TYPED_BACKEND(vm, vm_ops, vm_hook_map, vm_hook_unmap,
			 vm_hook_protect);

static enum mapping_error f_map(struct file_data *d, uint64_t start,
				uint64_t size, uint32_t flags, struct mock *pt)
{
	return file_ops.map(d, start, size, flags, pt);
}

static enum mapping_error f_unmap(struct file_data *d, uint64_t start,
				  uint64_t size, struct mock *pt)
{
	return file_ops.unmap(d, start, size, pt);
}

static enum mapping_error f_protect(struct file_data *d, uint64_t start,
				    uint64_t size, uint32_t old_flags,
				    uint32_t new_flags, struct mock *pt)
{
	return file_ops.protect(d, start, size, old_flags, new_flags, pt);
}

static unsigned long f_splits, f_releases, f_merges;

static enum mapping_error f_split(struct file_data *d, uint64_t start,
				  uint64_t size, uint64_t offset,
				  struct file_data **right)
{
	void *r = NULL;
	enum mapping_error err = file_ops.split(d, start, size, offset, &r);

	f_splits++;
	*right = r;
	return err;
}

static void f_release(struct file_data *d, uint64_t start, uint64_t size)
{
	f_releases++;
	file_ops.release(d, start, size);
}

static bool f_can_merge(struct file_data *l, struct file_data *r,
			const struct memory_area *la,
			const struct memory_area *ra)
{
	assert_ptr_equal(l, la->backend.data);
	assert_ptr_equal(r, ra->backend.data);
	f_merges++;
	return file_ops.can_merge(la, ra);
}

MEMORY_SET_TYPED_BACKEND_FULL(fvm, fvm_ops, f_map, f_unmap, f_protect,
			      f_split, f_release, f_can_merge);

static bool add_write(void *ctx, enum prot old_flags, enum prot *new_flags)
{
	(*(int *)ctx)++;
	if (old_flags & P_W)
		return false;
	*new_flags = (enum prot)(old_flags | P_W);
	return true;
}

static struct memory_set_options options(struct count_alloc *ca)
{
	struct memory_set_options o;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.allocator = &count_allocator;
	o.allocator_ctx = ca;
	return o;
}

static void test_typed_plain(void **state)
{
	struct count_alloc ca = { 0 };
	struct memory_set_options o = options(&ca);
	struct vm set;
	struct mock pt;
	struct tag t1 = { 1 }, t2 = { 2 };
	struct vm_backend b1 = { &vm_ops, &t1 }, b2 = { &vm_ops, &t2 };
	struct vm_backend none = { NULL, &t1 };
	const struct memory_area *a;
	struct memory_set_iter it;
	uint64_t addr;
	int asked = 0;

	(void)state;
	mock_init(&pt, 4096);
	assert_int_equal(vm_init(&set, &o), MAPPING_OK);
	assert_true(vm_is_empty(&set));
	assert_int_equal(vm_granule(&set), 4096);
	assert_int_equal(vm_set_granule(&set, 3), MAPPING_ERR_INVALID_PARAM);
	assert_false(vm_merge_enabled(&set));

	assert_int_equal(vm_map(&set, 0x10000, 0x4000, P_R, &b1, &pt, false),
			 MAPPING_OK);
	assert_int_equal(vm_map(&set, 0x14000, 0x4000, P_R, &b2, &pt, false),
			 MAPPING_OK);
	assert_int_equal(vm_map(&set, 0x12000, 0x1000, P_R, &b2, &pt, false),
			 MAPPING_ERR_ALREADY_EXISTS);
	assert_int_equal(vm_map(&set, 0x20000, 0x1000, P_R, NULL, &pt, false),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(vm_map(&set, 0x20000, 0x1000, P_R, &none, &pt, false),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(typed_calls, 2);
	assert_int_equal(vm_len(&set), 2);

	a = vm_find(&set, 0x15000);
	assert_non_null(a);
	assert_int_equal(vm_area_flags(a), P_R);
	assert_ptr_equal(vm_area_data(a), &t2);
	assert_int_equal(vm_area_data(a)->id, 2);
	assert_true(vm_overlaps(&set, 0x13000, 0x2000));
	assert_false(vm_overlaps(&set, 0x18000, 0x2000));

	/* A typed update callback: add W to the middle, splitting both. */
	assert_int_equal(vm_protect(&set, 0x12000, 0x4000, add_write, &asked,
				    &pt), MAPPING_OK);
	assert_true(asked >= 2);
	assert_int_equal(vm_len(&set), 4);
	assert_int_equal(vm_area_flags(vm_find(&set, 0x13000)), P_R | P_W);
	assert_int_equal(vm_area_flags(vm_find(&set, 0x11000)), P_R);
	assert_int_equal(vm_protect(&set, 0x10000, 0x1000, NULL, NULL, &pt),
			 MAPPING_ERR_INVALID_PARAM);
	/* The trace language's rule: X under mask X only. */
	assert_int_equal(vm_protect_mask(&set, 0x10000, 0x8000, P_X, P_X, &pt),
			 MAPPING_OK);
	assert_int_equal(vm_area_flags(vm_find(&set, 0x13000)),
			 P_R | P_W | P_X);
	assert_int_equal(vm_area_flags(vm_find(&set, 0x10000)), P_R | P_X);
	assert_null(vm_check(&set));

	/* Free space, both ways. */
	assert_int_equal(vm_find_free_area(&set, 0x10000, 0x1000, 0x1000, 0,
					   UINT64_MAX, &addr), MAPPING_OK);
	assert_int_equal(addr, 0x18000);
	assert_int_equal(vm_find_free_area_top(&set, 0x17000, 0x1000, 0x1000,
					       0, UINT64_MAX, &addr),
			 MAPPING_OK);
	assert_int_equal(addr, 0xf000);

	/* Iterators over the typed set. */
	vm_iter_init(&it, &set, 0x12800);
	assert_int_equal(memory_set_iter_next(&it)->start, 0x12000);
	vm_iter_init_end(&it, &set);
	assert_int_equal(memory_set_iter_prev(&it)->start, 0x16000);
	assert_int_equal(walk_count(&set.raw), vm_len(&set));

	assert_int_equal(vm_unmap(&set, 0x11000, 0x2000, &pt), MAPPING_OK);
	assert_null(vm_find(&set, 0x12000));
	vm_set_merge(&set, true);
	assert_true(vm_merge_enabled(&set));
	assert_null(vm_check(&set));
	assert_int_equal(vm_clear(&set, &pt), MAPPING_OK);
	assert_int_equal(pt.sh.n, 0);
	assert_true(vm_is_empty(&set));
	vm_destroy(&set);
	vm_destroy(NULL);
	assert_int_equal(ca.live, 0);
	mock_fini(&pt);
}

/* The full typed backend: split, release and can_merge reach the typed
 * hooks with the right data. */
static void test_typed_full(void **state)
{
	struct count_alloc ca = { 0 };
	struct memory_set_options o = options(&ca);
	struct fvm set;
	struct mock pt;
	struct fvm_backend b;
	const struct file_data *d;

	(void)state;
	o.merge = true;
	mock_init(&pt, 4096);
	assert_int_equal(fvm_init(&set, &o), MAPPING_OK);
	b.ops = &fvm_ops;
	b.data = file_data_new(0x100000, 0x10000);
	assert_int_equal(fvm_map(&set, 0x10000, 0x8000, 1, &b, &pt, false),
			 MAPPING_OK);
	/* Split in the middle: the right part's data has its offset. */
	assert_int_equal(fvm_unmap(&set, 0x12000, 0x2000, &pt), MAPPING_OK);
	assert_true(f_splits >= 1);
	d = fvm_area_data(fvm_find(&set, 0x14000));
	assert_int_equal(d->file_off + (0x14000 - d->vaddr), 0x104000);
	/* Joining continuous offsets: can_merge asked, the right released. */
	b.data = file_data_new(0x102000, 0x12000);
	assert_int_equal(fvm_map(&set, 0x12000, 0x2000, 1, &b, &pt, false),
			 MAPPING_OK);
	assert_true(f_merges >= 1);
	assert_int_equal(fvm_len(&set), 1);
	assert_int_equal(file_data_live(), 1);
	assert_true(f_releases >= 2);
	assert_int_equal(fvm_area_flags(fvm_find(&set, 0x17000)), 1u);
	assert_null(fvm_check(&set));
	assert_int_equal(fvm_clear(&set, &pt), MAPPING_OK);
	assert_int_equal(file_data_live(), 0);
	fvm_destroy(&set);
	assert_int_equal(ca.live, 0);
	mock_fini(&pt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_typed_plain),
		cmocka_unit_test(test_typed_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
