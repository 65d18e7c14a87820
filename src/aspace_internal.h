/*
 * The address-space layer's private declarations, shared by its files.
 *
 * Each area of the set carries a struct as_vma (its backend data): the page
 * offset, the anonymous identity (Linux's anon_vma), the object it maps and
 * whether it is accounted (VM_ACCOUNT, which Linux drops or keeps depending
 * on the identity). The set's flags hold the rest of the area's VM_* bits
 * and the id of its name, so that the core merges only areas whose flags
 * and names are equal; aspace_can_merge() adds the rest of Linux's rule, with
 * anonymous identities compared for equality.
 *
 * Linux merges only where a call asks it to (vma_merge() around the range
 * it changed): two areas that became alike some other way (fork, a fault,
 * MREMAP_DONTUNMAP) stay apart until a call merges there. So the set
 * merges only what the merge plan of the running call (aspace_merge.c)
 * joins: it groups the areas around the call's range as Linux would, gives
 * the unfaulted members of each group the identity of the faulted one
 * (Linux's looser rule: an unfaulted area merges with a faulted
 * neighbour), and marks every member but the first to join the one before
 * it; the set's pairwise merging, in whatever order it runs, then ends as
 * Linux's.
 *
 * Calls that make several changes to the set first reserve the nodes and
 * records those changes may need (aspace_reserve()), so that once the first
 * change is made nothing can fail: every call changes nothing or all.
 */
#ifndef MEMORY_SET_ASPACE_INTERNAL_H
#define MEMORY_SET_ASPACE_INTERNAL_H

#include <memory_set/aspace.h>
#include <string.h>

/*
 * The set's flags of an area: the VM_* bits below 2^31 as Linux numbers
 * them, the seal in bit 31 and the name id from bit 32.
 */
#define AS_F_ACCESS (ASPACE_VM_READ | ASPACE_VM_WRITE | ASPACE_VM_EXEC)
#define AS_F_SYNC 0x800000ull /* MAP_SYNC (VM_SYNC) */
#define AS_F_DONTDUMP 0x4000000ull /* VM_DONTDUMP */
#define AS_F_SEALED 0x80000000ull
#define AS_F_NAME_SHIFT 32
#define AS_F_NAME_MASK (0xffffffffull << AS_F_NAME_SHIFT)
#define AS_F_VM (0x7fffffffull)

#define AS_PAGE_ROUND_UP(as, x) \
	(((x) + (as)->page_size - 1) & ~((as)->page_size - 1))

static inline uint32_t as_name_id(uint64_t flags)
{
	return (uint32_t)(flags >> AS_F_NAME_SHIFT);
}

/* An anonymous identity (anon_vma): the areas that hold it share pages. */
struct as_anon {
	uint64_t refs;
	/* Made by fork for a child's area: never merges with an unfaulted one. */
	bool forked;
};

/* One name of the name table (names are kept until the space goes). */
struct as_name {
	char s[ASPACE_NAME_MAX + 1];
};

/* The backend data of one area. */
struct as_vma {
	struct aspace *as;
	uint64_t start; /* the area's first address, kept through splits and moves */
	uint64_t pgoff; /* in pages */
	struct as_anon *anon;
	struct aspace_object *obj;
	bool account; /* VM_ACCOUNT */
	/* The running call's plan merges this area into the one before it;
	 * false between calls. */
	bool join;
	struct as_vma *obj_prev, *obj_next; /* the areas mapping obj */
};

/* An area as it will be once a call is done, for the merge plan. */
struct as_piece {
	uint64_t start, end, flags, pgoff;
	struct aspace_object *obj;
	struct as_anon *anon;
	bool account;
	/* The record this piece keeps if known before the call (NULL: the
	 * record split() makes for it, known by its start). */
	struct as_vma *data;
	/* The call leaves the boundary at start alone: Linux does not try to
	 * merge there (two areas the call does not change). */
	bool keep_left;
	/* Linux merges this piece as a new range that brings its identity
	 * from no area (vma_merge_extend()): a fork child's identity keeps
	 * no unfaulted neighbour away. */
	bool new_range;
};

/*
 * What one piece will be once the call is done: its identity and its
 * VM_ACCOUNT. The piece is @data if its record is known before the call,
 * else the record split() makes for the piece starting at @lo.
 */
struct as_assign {
	uint64_t lo;
	struct as_vma *data;
	struct as_anon *anon;
	bool account;
	bool join; /* merges into the piece before it */
};

#define AS_PLAN_INLINE 8

/* The merge plan of one call (see aspace_merge.c). */
struct as_plan {
	struct aspace *as;
	struct as_assign inline_a[AS_PLAN_INLINE];
	struct as_assign *a;
	size_t n, cap;
	struct as_piece last; /* the piece read last */
	bool have_last;
	struct as_anon *group_anon; /* the identity of the group being read */
	bool group_new_range; /* ...brought by a new range's piece */
	size_t group_first; /* its first entry */
	bool failed; /* out of memory while adding */
	bool known_done; /* the entries of known records are applied */
};

/* A change of flags over a range (mprotect, madvise, mseal, names). */
struct as_change {
	uint64_t set, clear; /* bits set, bits cleared (name bits included) */
	bool mprotect; /* Linux's VM_ACCOUNT rules of mprotect */
};

/* ---- aspace.c: the address space, records, the set's backend ---- */
uint64_t aspace_div_small(uint64_t v, uint32_t d, uint32_t *rem);
extern const struct mapping_backend_ops aspace_backend_ops;
void *aspace_alloc(struct aspace *as, size_t size);
void aspace_free(struct aspace *as, void *p, size_t size);
int aspace_reserve(struct aspace *as, uint64_t changes, uint64_t records);
void aspace_unreserve(struct aspace *as);
struct as_vma *aspace_vma_new(struct aspace *as, uint64_t start, uint64_t pgoff,
			      struct aspace_object *obj, bool account);
void aspace_vma_free(struct as_vma *d);
struct as_anon *aspace_anon_new(struct aspace *as, bool forked);
void aspace_anon_put(struct aspace *as, struct as_anon *a);
void aspace_set_anon(struct as_vma *d, struct as_anon *a);
void aspace_piece_new(struct as_piece *p, uint64_t start, uint64_t end,
		      uint64_t flags, struct as_vma *d);
void aspace_piece_of(const struct memory_area *a, uint64_t lo, uint64_t hi,
		     struct as_piece *p);
uint64_t aspace_area_flags(const struct memory_area *a);
bool aspace_private(uint64_t flags);
bool aspace_mprotect_account(uint64_t old_flags, uint64_t new_flags,
			     const struct as_vma *d);
bool aspace_range_mapped(const struct aspace *as, uint64_t start, uint64_t end);
bool aspace_range_sealed(const struct aspace *as, uint64_t start, uint64_t end);

static inline struct as_vma *as_data(const struct memory_area *a)
{
	return (struct as_vma *)a->backend.data;
}

static inline uint64_t as_end(const struct memory_area *a)
{
	return a->start + a->size;
}

/* ---- aspace_pages.c: page-table entries and frames ---- */
unsigned aspace_rights(const struct aspace *as, uint64_t flags, bool write);
bool aspace_lookup(const struct aspace *as, uint64_t *va, uint64_t end,
		   uint64_t *frame, unsigned *rights);
void aspace_zap(struct aspace *as, uint64_t start, uint64_t end);
void aspace_flush(struct aspace *as, uint64_t start, uint64_t size);
int aspace_pt_reserve(struct aspace *as, uint64_t src, uint64_t dst,
		      uint64_t size);
void aspace_move_entries(struct aspace *as, uint64_t src, uint64_t dst,
			 uint64_t size);
void *aspace_frame_map(const struct aspace *as, uint64_t frame);
void aspace_frame_unmap(const struct aspace *as, uint64_t frame, void *p);

/* ---- aspace_merge.c: Linux's merge rule and the merge plan ---- */
bool aspace_compatible(const struct aspace *as, const struct as_piece *l,
		       const struct as_piece *r);
bool aspace_can_merge(const struct memory_area *l, const struct memory_area *r);
void aspace_plan_init(struct as_plan *p, struct aspace *as);
void aspace_plan_add(struct as_plan *p, const struct as_piece *piece);
void aspace_plan_add_area(struct as_plan *p, const struct memory_area *a,
			  uint64_t lo, uint64_t hi, bool keeps_data);
int aspace_plan_start(struct as_plan *p);
void aspace_plan_stop(struct as_plan *p);
void aspace_plan_apply_known(struct aspace *as);
void aspace_plan_apply_new(struct aspace *as, struct as_vma *d);
void aspace_plan_insert(struct as_plan *p, uint64_t start, uint64_t end,
			const struct as_piece *mid);

/* ---- aspace_fork.c ---- */
enum mapping_error aspace_hk_dup(void *data, uint64_t start, uint64_t size,
				 uint64_t flags, void *src_pt, void *dst_pt,
				 void **child_data);

/* ---- aspace_fault.c ---- */
enum aspace_fault aspace_fault_area(struct aspace *as,
				    const struct memory_area *a, uint64_t addr,
				    unsigned access);
void aspace_populate(struct aspace *as, uint64_t start, uint64_t end,
		     bool write);

/* ---- aspace_object.c ---- */
void aspace_obj_link(struct as_vma *d);
void aspace_obj_unlink(struct as_vma *d);
int aspace_obj_page(struct aspace_object *obj, uint64_t pgoff, uint64_t *frame,
		    bool *made);
void aspace_obj_unmake(struct aspace_object *obj, uint64_t pgoff);
bool aspace_obj_holds(const struct aspace_object *obj, uint64_t pgoff,
		      uint64_t frame);
bool aspace_obj_inside(const struct aspace_object *obj, uint64_t pgoff,
		       uint64_t page_size);
int aspace_shmem_new(struct aspace *as, uint64_t size,
		     struct aspace_object **obj);
bool aspace_obj_shmem(const struct aspace_object *obj);
unsigned aspace_obj_mode(const struct aspace_object *obj);
size_t aspace_obj_describe(const struct aspace_object *obj, char *buf,
			   size_t len, uint32_t *major, uint32_t *minor,
			   uint64_t *ino);

/* ---- aspace_mmap.c ---- */
int aspace_unmap(struct aspace *as, uint64_t start, uint64_t end);
int aspace_change_range(struct aspace *as, uint64_t start, uint64_t end,
			const struct as_change *c);
int aspace_change_flags(struct aspace *as, uint64_t start, uint64_t end,
			const struct as_change *c);
int64_t aspace_unmapped_area(struct aspace *as, uint64_t hint, uint64_t len,
			     bool thp);
int aspace_map_fixed(struct aspace *as, uint64_t start, uint64_t end,
		     uint64_t flags, struct as_vma *d, bool replace);

/* ---- aspace_names.c ---- */
const char *aspace_name_of(const struct aspace *as, uint64_t flags);
int aspace_names_copy(struct aspace *child, const struct aspace *parent);
void aspace_names_free(struct aspace *as);

/* ---- aspace_madvise.c ---- */
typedef int (*as_visit_fn)(struct aspace *as, const struct memory_area *a,
			   void *arg);
int aspace_walk_check(struct aspace *as, uint64_t start, uint64_t end,
		      as_visit_fn visit, void *arg);
/* The range argument of madvise, mseal and the naming call: 0 with *end set
 * (== addr for an empty range), or -EINVAL for an unaligned address, a
 * length that rounds to 0 or a range that wraps. */
int aspace_range_arg(const struct aspace *as, uint64_t addr, uint64_t len,
		     uint64_t *end);

#endif /* MEMORY_SET_ASPACE_INTERNAL_H */
