/*
 * Queries: the area holding an address, overlap and access checks, and
 * page faults. None changes the set; a lockless set answers the overlap
 * and access checks through lockless.c.
 */
#include "edit.h"

/* ---- Lookups ---------------------------------------------------------- */

const struct memory_area *memory_set_find(const struct memory_set *set,
					  uint64_t addr)
{
	const struct memory_area *a;
	struct ms_leaf *l;
	unsigned pos;

	if (!set->root)
		return NULL;
	l = memory_set_tree_locate(set, addr, &pos);
	if (pos == 0)
		return NULL;
	a = &l->a[pos - 1];
	return addr - a->start <= a->size - 1 ? a : NULL;
}

bool memory_set_overlaps(const struct memory_set *set, uint64_t start,
			 uint64_t size)
{
	uint64_t last;
	struct ms_leaf *l;
	unsigned pos;

	if (size == 0)
		return false;
	last = size - 1 > U64_MAX - start ? U64_MAX : start + (size - 1);
	if (set->lockless)
		return memory_set_lockless_overlaps(set, start, last);
	if (!set->root)
		return false;
	l = memory_set_tree_locate(set, last, &pos);
	return pos > 0 && area_last(&l->a[pos - 1]) >= start;
}

/*
 * Does every byte of [start, start+size) lie in an area with every bit of
 * mask? size > 0 and the range inside the space. O(log n + k).
 */
static bool range_covered(const struct memory_set *set, uint64_t start,
			  uint64_t size, uint64_t mask)
{
	uint64_t t = start + (size - 1), cur = start;
	struct ms_cursor c;

	memory_set_tree_descend(set, start, &c);
	if (!cur_first_from(&c, start))
		return false;
	do {
		const struct memory_area *a = cur_area(&c);

		if (a->start > cur || (a->flags & mask) != mask)
			return false;
		if (area_last(a) >= t)
			return true;
		cur = area_last(a) + 1;
	} while (cur_next(&c));
	return false;
}

enum mapping_error memory_set_can_access(const struct memory_set *set,
					 uint64_t start, uint64_t size,
					 uint64_t mask)
{
	if (size && size - 1 > U64_MAX - start)
		return MAPPING_ERR_INVALID_PARAM;
	if (size == 0)
		return MAPPING_OK;
	if (set->lockless ?
		    memory_set_lockless_covered(set, start, start + (size - 1),
						mask) :
		    range_covered(set, start, size, mask))
		return MAPPING_OK;
	return MAPPING_ERR_BAD_STATE;
}

/* ---- Page faults ------------------------------------------------------ */

/* The fault() hook of area a, or the default rule. */
static enum mapping_error fault_in(const struct memory_area *a, uint64_t addr,
				   uint64_t access, void *page_table)
{
	const struct mapping_backend_ops *o = a->backend.ops;
	uint64_t need = access & (MAPPING_ACCESS_USER - 1);

	if (has_v2(o) && o->fault)
		return o->fault(a->backend.data, a, addr, access, page_table);
	return (a->flags & need) == need ? MAPPING_OK :
					   MAPPING_ERR_ACCESS_DENIED;
}

enum mapping_error memory_set_handle_fault(const struct memory_set *set,
					   uint64_t addr, uint64_t access,
					   void *page_table,
					   const struct memory_area **area)
{
	const struct memory_area *a = memory_set_find(set, addr);

	if (area)
		*area = a;
	if (!a)
		return MAPPING_ERR_BAD_STATE;
	return fault_in(a, addr, access, page_table);
}

enum mapping_error memory_set_handle_fault_copy(const struct memory_set *set,
						uint64_t addr, uint64_t access,
						void *page_table,
						struct memory_area *copy)
{
	struct memory_area a;

	if (!memory_set_find_copy(set, addr, &a))
		return MAPPING_ERR_BAD_STATE;
	if (copy)
		*copy = a;
	return fault_in(&a, addr, access, page_table);
}
