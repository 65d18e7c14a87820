/*
 * Every mutation reserves, before its first hook, every node it takes.
 *
 * Built with MS_SPARE_KEEP=0, the set keeps no spare node between
 * operations, so a node that an operation takes without having reserved it
 * traps (MEMORY_SET_DEBUG_CHECK turns the core's assertions on, and runs the
 * invariant checker after every mutation). Random map, replace, unmap,
 * protect, remap, move, limit, merge and dup, with a backend whose split()
 * makes new data, so that ownership is checked too: every data token made is
 * released exactly once by the end.
 *
 *   reserve_exact OPS SPAN_PAGES MAX_PAGES SEED [lockless]
 *
 * With lockless, the set lets lookups run without a lock, so it keeps
 * leaves and inner nodes on spare lists of their own.
 */
#include <stdio.h>
#include <stdlib.h>

#include <memory_set/malloc.h>
#include <memory_set/memory_set.h>

static uint64_t rng;
static long live; /* data tokens made and not released */

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void *token(void)
{
	live++;
	return malloc(1);
}

static enum mapping_error ok_map(void *d, uint64_t s, uint64_t z, uint64_t f,
				 void *pt)
{
	(void)d, (void)s, (void)z, (void)f, (void)pt;
	return MAPPING_OK;
}

static enum mapping_error ok_unmap(void *d, uint64_t s, uint64_t z, void *pt)
{
	(void)d, (void)s, (void)z, (void)pt;
	return MAPPING_OK;
}

static enum mapping_error ok_protect(void *d, uint64_t s, uint64_t z,
				     uint64_t o, uint64_t n, void *pt)
{
	(void)d, (void)s, (void)z, (void)o, (void)n, (void)pt;
	return MAPPING_OK;
}

static enum mapping_error tok_split(void *d, uint64_t s, uint64_t z,
				    uint64_t off, void **right)
{
	(void)d, (void)s, (void)z, (void)off;
	*right = token();
	return MAPPING_OK;
}

static void tok_release(void *d, uint64_t s, uint64_t z)
{
	(void)s, (void)z;
	free(d);
	live--;
}

static enum mapping_error tok_dup(void *d, uint64_t s, uint64_t z, uint64_t f,
				  void *spt, void *dpt, void **child)
{
	(void)d, (void)s, (void)z, (void)f, (void)spt, (void)dpt;
	*child = token();
	return MAPPING_OK;
}

static const struct mapping_backend_ops ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = ok_map,
	.unmap = ok_unmap,
	.protect = ok_protect,
	.split = tok_split,
	.release = tok_release,
	.dup = tok_dup,
};

static int fail(long i, const char *what)
{
	fprintf(stderr, "reserve_exact: operation %ld: %s\n", i, what);
	return 1;
}

int main(int argc, char **argv)
{
	struct memory_set_options o = {
		.size = sizeof(o),
		.allocator = &memory_set_malloc_allocator,
	};
	struct memory_set set;
	long ops_n, i;
	uint64_t span, maxp;
	const uint64_t g = 0x1000;

	if (argc != 5 && argc != 6)
		return fprintf(stderr,
			       "usage: reserve_exact OPS SPAN MAX SEED [lockless]\n"),
		       2;
	o.lockless_lookups = argc == 6;
	ops_n = atol(argv[1]);
	span = strtoull(argv[2], NULL, 0);
	maxp = strtoull(argv[3], NULL, 0);
	rng = strtoull(argv[4], NULL, 0) * 0x9e3779b97f4a7c15ull + 1;
	if (memory_set_init(&set, &o) != MAPPING_OK)
		return fail(0, "init");
	for (i = 0; i < ops_n; i++) {
		uint64_t a = rnd() % span * g, b = rnd() % span * g;
		uint64_t z = (rnd() % maxp + 1) * g, z2 = (rnd() % maxp + 1) * g;
		struct mapping_backend be = { &ops, NULL };
		enum mapping_error err = MAPPING_OK;
		const char *bad;

		switch (rnd() % 12) {
		case 0: case 1: case 2: case 3:
			be.data = token();
			err = memory_set_map(&set, a, z, rnd() % 3, &be, NULL,
					     rnd() % 2);
			if (err != MAPPING_OK)
				tok_release(be.data, a, z); /* still ours */
			break;
		case 4:
			err = memory_set_unmap(&set, a, z, NULL);
			break;
		case 5: case 6:
			err = memory_set_protect_flags(&set, a, z, rnd() % 3, 3,
						       NULL);
			break;
		case 7:
			err = memory_set_remap(&set, a, z, z2, NULL);
			break;
		case 8:
			err = memory_set_remap_fixed(&set, a, z, z2, b, NULL);
			break;
		case 9:
			/* Next to itself: the slot of the new area moves when the
			 * old one leaves a leaf's first place. */
			err = memory_set_remap_fixed(&set, a, z, z2, a + z, NULL);
			break;
		case 10:
			memory_set_set_merge(&set, rnd() % 4 != 0);
			memory_set_set_max_areas(&set, rnd() % 2 ? 0 :
					memory_set_len(&set) + rnd() % 3);
			break;
		default:
			if (rnd() % 64 == 0) {
				struct memory_set child;

				if (memory_set_init(&child, &o) != MAPPING_OK ||
				    memory_set_dup(&child, &set, NULL, NULL) !=
					    MAPPING_OK)
					return fail(i, "dup failed");
				if (memory_set_len(&child) != memory_set_len(&set))
					return fail(i, "dup lost areas");
				memory_set_destroy(&set);
				set = child;
			}
			break;
		}
		if (err != MAPPING_OK && err != MAPPING_ERR_INVALID_PARAM &&
		    err != MAPPING_ERR_ALREADY_EXISTS &&
		    err != MAPPING_ERR_BAD_STATE && err != MAPPING_ERR_NO_MEMORY)
			return fail(i, mapping_strerror(err));
		bad = memory_set_check(&set);
		if (bad)
			return fail(i, bad);
	}
	printf("reserve_exact: %ld operations, %llu areas at the end\n", ops_n,
	       (unsigned long long)memory_set_len(&set));
	memory_set_destroy(&set);
	if (live != 0)
		return fail(i, "data tokens made and never released");
	return 0;
}
