/*
 * Private: the B+tree under a memory set.
 *
 * Leaves hold areas in address order. Inner nodes hold, for each child, the
 * lowest start, the last address and the largest free gap strictly inside
 * the child: enough to descend by address and to find free space without
 * visiting subtrees that cannot hold it. Gaps between two children are
 * computed from their neighbouring summaries, so no area stores its gap.
 */
#ifndef MEMORY_SET_TREE_H
#define MEMORY_SET_TREE_H

#include <memory_set/memory_set.h>

#define MS_LEAF_MAX 14
#define MS_LEAF_MIN 5 /* low so that sequential maps leave leaves 10/14 full */
#define MS_INNER_MAX 16
#define MS_INNER_MIN 8
/* Far above any reachable height: 2 * 8^14 * 5 areas need a height of 16. */
#define MS_MAX_HEIGHT 24
/*
 * Spare nodes kept between operations, so splits rarely call the allocator.
 * Tests build with 0 to prove that every operation reserves what it uses.
 */
#ifndef MS_SPARE_KEEP
#define MS_SPARE_KEEP 8
#endif

struct ms_inner;

struct ms_node {
	struct ms_inner *parent;
	uint16_t count; /* areas in a leaf, children in an inner node */
	uint16_t leaf;
};

struct ms_leaf {
	struct ms_node h;
	struct memory_area a[MS_LEAF_MAX];
};

struct ms_inner {
	struct ms_node h;
	uint64_t min[MS_INNER_MAX];  /* lowest start in the child */
	uint64_t last[MS_INNER_MAX]; /* last address of the child's last area */
	uint64_t gap[MS_INNER_MAX];  /* largest free gap inside the child */
	struct ms_node *child[MS_INNER_MAX];
};

_Static_assert(sizeof(struct ms_leaf) <= MEMORY_SET_NODE_SIZE, "leaf too big");
_Static_assert(sizeof(struct ms_inner) <= MEMORY_SET_NODE_SIZE, "inner too big");

#ifndef MEMORY_SET_ASSERT
#ifdef MEMORY_SET_DEBUG_CHECK
#define MEMORY_SET_ASSERT(x) ((x) ? (void)0 : __builtin_trap())
#else
#define MEMORY_SET_ASSERT(x) ((void)0)
#endif
#endif

#endif /* MEMORY_SET_TREE_H */
