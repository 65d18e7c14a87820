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

/* Version 2: dup, move and fault as typed hooks over mock_ops_v2's. */
static unsigned long v2_calls;

static enum mapping_error vm_hook_dup(struct tag *t, uint64_t start,
				      uint64_t size, enum prot flags,
				      struct mock *src, struct mock *dst,
				      struct tag **child)
{
	void *c = NULL;
	enum mapping_error err;

	v2_calls++;
	err = mock_ops_v2.dup(t, start, size, (uint64_t)flags, src, dst, &c);
	*child = c;
	return err;
}

static enum mapping_error vm_hook_move(struct tag *t, uint64_t old_start,
				       uint64_t new_start, uint64_t size,
				       enum prot flags, struct mock *pt)
{
	v2_calls++;
	return mock_ops_v2.move(t, old_start, new_start, size,
				(uint64_t)flags, pt);
}

static enum mapping_error vm_hook_fault(struct tag *t,
					const struct memory_area *area,
					uint64_t addr, uint64_t access,
					struct mock *pt)
{
	v2_calls++;
	return mock_ops_v2.fault(t, area, addr, access, pt);
}

MEMORY_SET_TYPED_HOOK(vm, map, vm2_map, vm_hook_map);
MEMORY_SET_TYPED_HOOK(vm, unmap, vm2_unmap, vm_hook_unmap);
MEMORY_SET_TYPED_HOOK(vm, protect, vm2_protect, vm_hook_protect);
MEMORY_SET_TYPED_HOOK(vm, dup, vm2_dup, vm_hook_dup);
MEMORY_SET_TYPED_HOOK(vm, move, vm2_move, vm_hook_move);
MEMORY_SET_TYPED_HOOK(vm, fault, vm2_fault, vm_hook_fault);

static const struct vm_backend_ops vm2_ops = { {
	MAPPING_BACKEND_OPS_VERSION, 0u, vm2_map, vm2_unmap, vm2_protect,
	NULL, NULL, NULL, vm2_dup, vm2_move, vm2_fault } };

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
	struct vm_backend b1 = memory_set_typed_backend(vm, &vm_ops, &t1);
	struct vm_backend b2 = { &vm_ops, &t2 };
	struct vm_backend none = { NULL, &t1 };
	const struct memory_area *a;
	struct memory_set_iter it;
	uint64_t addr;
	int asked = 0;

	(void)state;
	mock_init(&pt, 4096);
	assert_int_equal(memory_set_typed_init(vm, &set, &o), MAPPING_OK);
	assert_true(memory_set_typed_is_empty(vm, &set));
	assert_int_equal(memory_set_typed_granule(vm, &set), 4096);
	/* Options' granule 0 is the default; set_granule takes no 0. */
	assert_int_equal(memory_set_typed_set_granule(vm, &set, 3),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(memory_set_typed_set_granule(vm, &set, 0),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(vm_granule(&set), 4096);
	assert_false(memory_set_typed_merge_enabled(vm, &set));

	assert_int_equal(memory_set_typed_map(vm, &set, 0x10000, 0x4000, P_R,
					      &b1, &pt, false), MAPPING_OK);
	/* The function form is the same call. */
	assert_int_equal(vm_map(&set, 0x14000, 0x4000, P_R, &b2, &pt, false),
			 MAPPING_OK);
	assert_int_equal(memory_set_typed_map(vm, &set, 0x12000, 0x1000, P_R,
					      &b2, &pt, false),
			 MAPPING_ERR_ALREADY_EXISTS);
	assert_int_equal(memory_set_typed_map(vm, &set, 0x20000, 0x1000, P_R,
					      NULL, &pt, false),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(memory_set_typed_map(vm, &set, 0x20000, 0x1000, P_R,
					      &none, &pt, false),
			 MAPPING_ERR_INVALID_PARAM);
	assert_int_equal(typed_calls, 2);
	assert_int_equal(memory_set_typed_len(vm, &set), 2);

	a = memory_set_typed_find(vm, &set, 0x15000);
	assert_non_null(a);
	assert_int_equal(vm_area_flags(a), P_R);
	assert_ptr_equal(vm_area_data(a), &t2);
	assert_int_equal(vm_area_data(a)->id, 2);
	assert_true(memory_set_typed_overlaps(vm, &set, 0x13000, 0x2000));
	assert_false(memory_set_typed_overlaps(vm, &set, 0x18000, 0x2000));

	/* A typed update callback: add W to the middle, splitting both. */
	assert_int_equal(memory_set_typed_protect(vm, &set, 0x12000, 0x4000,
						  add_write, &asked, &pt),
			 MAPPING_OK);
	assert_true(asked >= 2);
	assert_int_equal(memory_set_typed_len(vm, &set), 4);
	assert_int_equal(vm_area_flags(vm_find(&set, 0x13000)), P_R | P_W);
	assert_int_equal(vm_area_flags(vm_find(&set, 0x11000)), P_R);
	assert_int_equal(memory_set_typed_protect(vm, &set, 0x10000, 0x1000,
						  NULL, NULL, &pt),
			 MAPPING_ERR_INVALID_PARAM);
	/* The trace language's rule: X under mask X only. */
	assert_int_equal(memory_set_typed_protect_mask(vm, &set, 0x10000,
						       0x8000, P_X, P_X, &pt),
			 MAPPING_OK);
	assert_int_equal(vm_area_flags(vm_find(&set, 0x13000)),
			 P_R | P_W | P_X);
	assert_int_equal(vm_area_flags(vm_find(&set, 0x10000)), P_R | P_X);
	assert_null(memory_set_typed_check(vm, &set));

	/* Free space, both ways. */
	assert_int_equal(memory_set_typed_find_free_area(vm, &set, 0x10000,
							 0x1000, 0x1000, 0,
							 UINT64_MAX, &addr),
			 MAPPING_OK);
	assert_int_equal(addr, 0x18000);
	assert_int_equal(memory_set_typed_find_free_area_top(vm, &set, 0x17000,
							     0x1000, 0x1000, 0,
							     UINT64_MAX, &addr),
			 MAPPING_OK);
	assert_int_equal(addr, 0xf000);

	/* Iterators over the typed set. */
	memory_set_typed_iter_init(vm, &it, &set, 0x12800);
	assert_int_equal(memory_set_iter_next(&it)->start, 0x12000);
	memory_set_typed_iter_init_end(vm, &it, &set);
	assert_int_equal(memory_set_iter_prev(&it)->start, 0x16000);
	assert_int_equal(walk_count(&set.raw), memory_set_typed_len(vm, &set));

	assert_int_equal(memory_set_typed_unmap(vm, &set, 0x11000, 0x2000, &pt),
			 MAPPING_OK);
	assert_null(memory_set_typed_find(vm, &set, 0x12000));
	memory_set_typed_set_merge(vm, &set, true);
	assert_true(memory_set_typed_merge_enabled(vm, &set));
	assert_null(memory_set_typed_check(vm, &set));
	assert_int_equal(memory_set_typed_clear(vm, &set, &pt), MAPPING_OK);
	assert_int_equal(pt.sh.n, 0);
	assert_true(memory_set_typed_is_empty(vm, &set));
	memory_set_typed_destroy(vm, &set);
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
	assert_int_equal(memory_set_typed_init(fvm, &set, &o), MAPPING_OK);
	b = memory_set_typed_backend(fvm, &fvm_ops,
				     file_data_new(0x100000, 0x10000));
	assert_int_equal(memory_set_typed_map(fvm, &set, 0x10000, 0x8000, 1, &b,
					      &pt, false), MAPPING_OK);
	/* Split in the middle: the right part's data has its offset. */
	assert_int_equal(memory_set_typed_unmap(fvm, &set, 0x12000, 0x2000, &pt),
			 MAPPING_OK);
	assert_true(f_splits >= 1);
	d = fvm_area_data(memory_set_typed_find(fvm, &set, 0x14000));
	assert_int_equal(d->file_off + (0x14000 - d->vaddr), 0x104000);
	/* Joining continuous offsets: can_merge asked, the right released. */
	b.data = file_data_new(0x102000, 0x12000);
	assert_int_equal(memory_set_typed_map(fvm, &set, 0x12000, 0x2000, 1, &b,
					      &pt, false), MAPPING_OK);
	assert_true(f_merges >= 1);
	assert_int_equal(memory_set_typed_len(fvm, &set), 1);
	assert_int_equal(file_data_live(), 1);
	assert_true(f_releases >= 2);
	assert_int_equal(fvm_area_flags(fvm_find(&set, 0x17000)), 1u);
	assert_null(memory_set_typed_check(fvm, &set));
	assert_int_equal(memory_set_typed_clear(fvm, &set, &pt), MAPPING_OK);
	assert_int_equal(file_data_live(), 0);
	memory_set_typed_destroy(fvm, &set);
	assert_int_equal(ca.live, 0);
	mock_fini(&pt);
}

/* The version-2 functions through the checked forms: each reaches the core
 * and the typed hooks with the right arguments. */
static void test_typed_v2(void **state)
{
	struct count_alloc ca = { 0 };
	struct memory_set_options o = options(&ca);
	struct vm set, child;
	struct mock pt, cpt;
	struct tag t = { 9 };
	struct vm_backend b = memory_set_typed_backend(vm, &vm2_ops, &t);
	const struct memory_area *a = NULL;
	struct memory_set_gap_iter gi;
	uint64_t gs, gz;
	unsigned long before;

	(void)state;
	mock_init(&pt, 4096);
	mock_init(&cpt, 4096);
	assert_int_equal(memory_set_typed_init(vm, &set, &o), MAPPING_OK);
	assert_int_equal(memory_set_typed_init(vm, &child, &o), MAPPING_OK);
	assert_int_equal(memory_set_typed_map(vm, &set, 0x10000, 0x4000,
					      P_R | P_W, &b, &pt, false),
			 MAPPING_OK);

	/* Faults: allowed, denied, outside every area. */
	before = v2_calls;
	assert_int_equal(memory_set_typed_handle_fault(vm, &set, 0x11000,
						       MAPPING_ACCESS_WRITE,
						       &pt, &a), MAPPING_OK);
	assert_non_null(a);
	assert_int_equal(a->start, 0x10000);
	assert_int_equal(memory_set_typed_handle_fault(vm, &set, 0x11000,
						       MAPPING_ACCESS_EXEC,
						       &pt, &a),
			 MAPPING_ERR_ACCESS_DENIED);
	assert_int_equal(v2_calls, before + 2);
	assert_int_equal(memory_set_typed_handle_fault(vm, &set, 0x20000,
						       MAPPING_ACCESS_READ,
						       &pt, &a),
			 MAPPING_ERR_BAD_STATE);
	assert_null(a);
	assert_int_equal(memory_set_typed_can_access(vm, &set, 0x10000, 0x4000,
						     P_R | P_W), MAPPING_OK);
	assert_int_equal(memory_set_typed_can_access(vm, &set, 0x10000, 0x5000,
						     P_R),
			 MAPPING_ERR_BAD_STATE);

	/* protect_flags and the strict forms: a hole refuses, changes none. */
	assert_int_equal(memory_set_typed_protect_flags(vm, &set, 0x11000,
							0x1000, P_R,
							P_R | P_W, &pt),
			 MAPPING_OK);
	assert_int_equal(vm_area_flags(vm_find(&set, 0x11000)), P_R);
	assert_int_equal(memory_set_typed_len(vm, &set), 3);
	assert_int_equal(memory_set_typed_protect_flags_strict(vm, &set,
							       0x10000, 0x8000,
							       P_R, P_R | P_W,
							       &pt),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(vm_area_flags(vm_find(&set, 0x10000)), P_R | P_W);
	assert_int_equal(memory_set_typed_unmap_strict(vm, &set, 0x10000,
						       0x8000, &pt),
			 MAPPING_ERR_NO_MEMORY);
	assert_int_equal(memory_set_typed_len(vm, &set), 3);

	/* Remap in place, then move: the move hook runs. */
	assert_int_equal(memory_set_typed_remap(vm, &set, 0x12000, 0x2000,
						0x4000, &pt), MAPPING_OK);
	assert_area(&set.raw, 0x15000, 0x12000, 0x4000, P_R | P_W);
	before = v2_calls;
	assert_int_equal(memory_set_typed_remap_fixed(vm, &set, 0x12000,
						      0x4000, 0x4000,
						      0x40000, &pt),
			 MAPPING_OK);
	assert_true(v2_calls > before);
	assert_area(&set.raw, 0x41000, 0x40000, 0x4000, P_R | P_W);
	assert_null(vm_find(&set, 0x12000));

	/* The area limit. */
	memory_set_typed_set_max_areas(vm, &set, 3);
	assert_int_equal(memory_set_typed_max_areas(vm, &set), 3);
	assert_int_equal(memory_set_typed_map(vm, &set, 0x30000, 0x1000, P_R,
					      &b, &pt, false),
			 MAPPING_ERR_NO_MEMORY);
	memory_set_typed_set_max_areas(vm, &set, 0);

	/* Gaps of [0x10000, 0x4ffff]: between and after the three areas. */
	memory_set_typed_gap_iter_init(vm, &gi, &set, 0x10000, 0x4ffff);
	assert_true(memory_set_gap_next(&gi, &gs, &gz));
	assert_int_equal(gs, 0x12000);
	assert_int_equal(gz, 0x2e000);
	assert_true(memory_set_gap_next(&gi, &gs, &gz));
	assert_int_equal(gs, 0x44000);
	assert_int_equal(gz, 0xc000);
	assert_false(memory_set_gap_next(&gi, &gs, &gz));

	/* Dup: the child has the same areas, made by the typed dup hook. */
	before = v2_calls;
	assert_int_equal(memory_set_typed_dup(vm, &child, &set, &pt, &cpt),
			 MAPPING_OK);
	assert_int_equal(v2_calls, before + memory_set_typed_len(vm, &set));
	assert_int_equal(memory_set_typed_len(vm, &child),
			 memory_set_typed_len(vm, &set));
	assert_ptr_equal(vm_area_data(vm_find(&child, 0x40000)), &t);
	assert_null(memory_set_typed_check(vm, &child));

	assert_int_equal(memory_set_typed_clear(vm, &child, &cpt), MAPPING_OK);
	assert_int_equal(memory_set_typed_clear(vm, &set, &pt), MAPPING_OK);
	assert_int_equal(pt.sh.n, 0);
	assert_int_equal(cpt.sh.n, 0);
	memory_set_typed_destroy(vm, &child);
	memory_set_typed_destroy(vm, &set);
	assert_int_equal(ca.live, 0);
	mock_fini(&pt);
	mock_fini(&cpt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_typed_plain),
		cmocka_unit_test(test_typed_full),
		cmocka_unit_test(test_typed_v2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
