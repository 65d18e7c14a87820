/*
 * Compile-time checks of the typed wrapper. CASE 0 is correct and must
 * compile; each other CASE changes one thing to a wrong type and must not
 * (see compile_case.cmake), as C11 with no warning flag at all and as C++.
 * Never linked: only compiled.
 */
#include <memory_set/typed.h>

struct pt_a { int a; };
struct pt_b { int b; };
struct obj_a { int a; };
struct obj_b { int b; };

MEMORY_SET_TYPED(va, uint32_t, struct pt_a, struct obj_a);
MEMORY_SET_TYPED(vb, uint32_t, struct pt_b, struct obj_b);

static enum mapping_error a_map(struct obj_a *o, uint64_t s, uint64_t n,
				uint32_t f, struct pt_a *pt)
{
	(void)o, (void)s, (void)n, (void)f, (void)pt;
	return MAPPING_OK;
}

static enum mapping_error a_unmap(struct obj_a *o, uint64_t s, uint64_t n,
				  struct pt_a *pt)
{
	(void)o, (void)s, (void)n, (void)pt;
	return MAPPING_OK;
}

static enum mapping_error a_protect(struct obj_a *o, uint64_t s, uint64_t n,
				    uint32_t of, uint32_t nf, struct pt_a *pt)
{
	(void)o, (void)s, (void)n, (void)of, (void)nf, (void)pt;
	return MAPPING_OK;
}

/* The same hooks for vb, so vb has a backend of its own. */
static enum mapping_error b_map(struct obj_b *o, uint64_t s, uint64_t n,
				uint32_t f, struct pt_b *pt)
{
	(void)o, (void)s, (void)n, (void)f, (void)pt;
	return MAPPING_OK;
}

static enum mapping_error b_unmap(struct obj_b *o, uint64_t s, uint64_t n,
				  struct pt_b *pt)
{
	(void)o, (void)s, (void)n, (void)pt;
	return MAPPING_OK;
}

static enum mapping_error b_protect(struct obj_b *o, uint64_t s, uint64_t n,
				    uint32_t of, uint32_t nf, struct pt_b *pt)
{
	(void)o, (void)s, (void)n, (void)of, (void)nf, (void)pt;
	return MAPPING_OK;
}

MEMORY_SET_TYPED_BACKEND(va, a_ops, a_map, a_unmap, a_protect);
MEMORY_SET_TYPED_BACKEND(vb, b_ops, b_map, b_unmap, b_protect);

static bool a_update(void *ctx, uint32_t old_flags, uint32_t *new_flags)
{
	(void)ctx;
	*new_flags = old_flags | 2u;
	return true;
}

static enum mapping_error a_dup(struct obj_a *o, uint64_t s, uint64_t n,
				uint32_t f, struct pt_a *src, struct pt_a *dst,
				struct obj_a **child)
{
	(void)s, (void)n, (void)f, (void)src, (void)dst;
	*child = o;
	return MAPPING_OK;
}

static enum mapping_error a_fault(struct obj_a *o, const struct memory_area *a,
				  uint64_t addr, uint64_t access, struct pt_a *pt)
{
	(void)o, (void)a, (void)addr, (void)access, (void)pt;
	return MAPPING_OK;
}

MEMORY_SET_TYPED_HOOK(va, dup, a_dup_hook, a_dup);
MEMORY_SET_TYPED_HOOK(va, fault, a_fault_hook, a_fault);

#if CASE == 4
/* A typed backend whose map hook takes the other data type. */
MEMORY_SET_TYPED_BACKEND(va, bad_ops, b_map, a_unmap, a_protect);
#elif CASE == 5
/* A typed backend whose unmap hook takes the other page-table type. */
static enum mapping_error a_unmap_pt_b(struct obj_a *o, uint64_t s, uint64_t n,
				       struct pt_b *pt)
{
	(void)o, (void)s, (void)n, (void)pt;
	return MAPPING_OK;
}
MEMORY_SET_TYPED_BACKEND(va, bad_ops, a_map, a_unmap_pt_b, a_protect);
#elif CASE == 12
/* A dup hook whose child data is of the other data type. */
static enum mapping_error a_dup_obj_b(struct obj_a *o, uint64_t s, uint64_t n,
				      uint32_t f, struct pt_a *src,
				      struct pt_a *dst, struct obj_b **child)
{
	(void)o, (void)s, (void)n, (void)f, (void)src, (void)dst;
	*child = NULL;
	return MAPPING_OK;
}
MEMORY_SET_TYPED_HOOK(va, dup, bad_hook, a_dup_obj_b);
#elif CASE == 13
/* A fault hook that takes the other page-table type. */
static enum mapping_error a_fault_pt_b(struct obj_a *o,
				       const struct memory_area *a,
				       uint64_t addr, uint64_t access,
				       struct pt_b *pt)
{
	(void)o, (void)a, (void)addr, (void)access, (void)pt;
	return MAPPING_OK;
}
MEMORY_SET_TYPED_HOOK(va, fault, bad_hook, a_fault_pt_b);
#elif CASE == 14
/* An update callback over the untyped flags. */
static bool raw_update(void *ctx, uint64_t old_flags, uint64_t *new_flags)
{
	(void)ctx;
	*new_flags = old_flags;
	return true;
}
#endif

static const struct va_backend_ops a_cow_ops = { {
	MAPPING_BACKEND_OPS_VERSION, 0u, a_ops_map_, a_ops_unmap_,
	a_ops_protect_, NULL, NULL, NULL, a_dup_hook, NULL, a_fault_hook } };

int typed_compile_uses(void);
int typed_compile_uses(void)
{
	struct va sa, child;
	struct vb sb;
	struct pt_a pa, pa2;
	struct pt_b pb;
	struct obj_a oa;
	struct obj_b ob;
	struct va_backend ba = memory_set_typed_backend(va, &a_ops, &oa);
	struct va_backend cow = memory_set_typed_backend(va, &a_cow_ops, &oa);
	struct vb_backend bb = memory_set_typed_backend(vb, &b_ops, &ob);
	const struct memory_area *area = NULL;
	int r = 0;

	r += memory_set_typed_map(va, &sa, 0, 0x1000, 1, &ba, &pa, false);
	r += memory_set_typed_map(va, &sa, 0x1000, 0x1000, 1, &cow, &pa, false);
	r += memory_set_typed_map(vb, &sb, 0, 0x1000, 1, &bb, &pb, false);
	r += memory_set_typed_protect(va, &sa, 0, 0x1000, a_update, NULL, &pa);
	r += memory_set_typed_protect_flags(va, &sa, 0, 0x1000, 1, 3, &pa);
	r += memory_set_typed_remap(va, &sa, 0, 0x1000, 0x2000, &pa);
	r += memory_set_typed_dup(va, &child, &sa, &pa, &pa2);
	r += memory_set_typed_handle_fault(va, &sa, 0, MAPPING_ACCESS_READ, &pa,
					   &area);
	r += (int)memory_set_typed_len(va, &sa);
#if CASE == 1
	/* vb's page table to va. */
	r += memory_set_typed_map(va, &sa, 0, 0x1000, 1, &ba, &pb, false);
#elif CASE == 2
	/* vb's data in va's backend. */
	{
		struct va_backend bad = memory_set_typed_backend(va, &a_ops, &ob);
		r += memory_set_typed_map(va, &sa, 0, 0x1000, 1, &bad, &pa, false);
	}
#elif CASE == 3
	/* vb's ops table in va's backend. */
	{
		struct va_backend bad = memory_set_typed_backend(va, &b_ops, &oa);
		r += memory_set_typed_map(va, &sa, 0, 0x1000, 1, &bad, &pa, false);
	}
#elif CASE == 4 || CASE == 5
	(void)bad_ops;
#elif CASE == 6
	/* vb's backend to va. */
	r += memory_set_typed_map(va, &sa, 0, 0x1000, 1, &bb, &pa, false);
#elif CASE == 7
	/* vb's page table to unmap. */
	r += memory_set_typed_unmap(va, &sa, 0, 0x1000, &pb);
#elif CASE == 8
	/* vb's page table to remap. */
	r += memory_set_typed_remap(va, &sa, 0, 0x1000, 0x2000, &pb);
#elif CASE == 9
	/* vb's set as the source of a dup into a va set. */
	r += memory_set_typed_dup(va, &child, &sb, &pa, &pa2);
#elif CASE == 10
	/* vb's page table to the fault entry point. */
	r += memory_set_typed_handle_fault(va, &sa, 0, MAPPING_ACCESS_READ, &pb,
					   &area);
#elif CASE == 11
	/* vb's page table to protect_flags. */
	r += memory_set_typed_protect_flags(va, &sa, 0, 0x1000, 1, 3, &pb);
#elif CASE == 12 || CASE == 13
	(void)bad_hook;
#elif CASE == 14
	/* An update callback of the untyped flags to a typed protect. */
	r += memory_set_typed_protect(va, &sa, 0, 0x1000, raw_update, NULL, &pa);
#elif CASE == 15
	/* vb's set to a read-only function. */
	area = memory_set_typed_find(va, &sb, 0);
#endif
	r += memory_set_typed_unmap(va, &sa, 0, 0x1000, &pa);
	r += memory_set_typed_clear(va, &sa, &pa);
	return r + (area != NULL);
}
