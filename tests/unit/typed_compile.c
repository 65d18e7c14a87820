/*
 * Compile-time checks of the typed wrapper. CASE 0 is correct and must
 * compile; each other CASE changes one thing to a wrong type and must not
 * (see compile_case.cmake). Never linked: only compiled.
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
#endif

int typed_compile_uses(void);
int typed_compile_uses(void)
{
	struct va sa;
	struct vb sb;
	struct pt_a pa;
	struct pt_b pb;
	struct obj_a oa;
	struct obj_b ob;
	struct va_backend ba = { &a_ops, &oa };
	struct vb_backend bb = { &b_ops, &ob };
	int r = 0;

	r += va_map(&sa, 0, 0x1000, 1, &ba, &pa, false);
	r += vb_map(&sb, 0, 0x1000, 1, &bb, &pb, false);
#if CASE == 1
	/* vb's page table to va. */
	r += va_map(&sa, 0, 0x1000, 1, &ba, &pb, false);
#elif CASE == 2
	/* vb's data in va's backend. */
	{
		struct va_backend bad = { &a_ops, &ob };
		r += va_map(&sa, 0, 0x1000, 1, &bad, &pa, false);
	}
#elif CASE == 3
	/* vb's ops table in va's backend. */
	{
		struct va_backend bad = { &b_ops, &oa };
		r += va_map(&sa, 0, 0x1000, 1, &bad, &pa, false);
	}
#elif CASE == 4 || CASE == 5
	(void)bad_ops;
#elif CASE == 6
	/* vb's backend to va. */
	r += va_map(&sa, 0, 0x1000, 1, &bb, &pa, false);
#endif
	r += va_unmap(&sa, 0, 0x1000, &pa);
	r += va_clear(&sa, &pa);
	return r;
}
