/**
 * @file aspace.h
 * @brief The address space: Linux's memory system calls (mmap, munmap,
 * mprotect, mremap, brk, madvise, mseal, fork, page faults, copies to and
 * from user memory, /proc/PID/maps) over a memory_set, on any page table.
 *
 * An optional layer over the core: the core builds and works without it.
 * Freestanding like the core (no libc beyond memcpy, memset, memmove and
 * memcmp, no global state). The layer never touches hardware: the host
 * implements ::aspace_ops (page-table entries, physical frames, memory for
 * the layer's records) and the layer decides every entry, frame reference
 * and area, as Linux does.
 *
 * @par Results
 * Every call returns 0, or an address, or a negative Linux errno
 * (::ASPACE_EINVAL ...: the asm-generic values, written as constants so no
 * host <errno.h> is needed). A function returning an address returns a value
 * for which ASPACE_IS_ERR() is false on success. The errno of each argument
 * combination is the one Linux 6.18 gives; docs/aspace.md has the table and
 * the known differences.
 *
 * @par Failure atomicity
 * A call that fails changes nothing: no area, no page-table entry, no frame
 * reference, no object size. This is stronger than Linux, which can change
 * part of the range before it fails (mprotect over a hole, madvise over a
 * sealed area, a failed mremap); the layer returns the same errno with the
 * address space as it was. Running out of frames, of memory for records or
 * of page-table memory is reported as ::ASPACE_ENOMEM (::ASPACE_FAULT_OOM
 * for a fault) and leaks nothing. The one exception is MAP_POPULATE and
 * MADV_WILLNEED-like population, which Linux treats as best effort: the
 * mapping succeeds and the pages that could not be populated come on demand.
 *
 * @par Merging
 * Areas merge as Linux's do, so that aspace_maps() prints the lines
 * /proc/PID/maps would: equal flags (with Linux's accounting bits), page
 * offsets that follow on, the same object and name, and compatible
 * anonymous identities (an area gets one at its first write fault; two
 * areas faulted separately never merge, an unfaulted area merges with a
 * faulted neighbour unless that one was inherited through fork).
 *
 * @par Locking
 * The layer has no lock. Every call on an address space needs exclusive
 * access to it (page faults included: a fault may give an area its
 * anonymous identity). Objects (memfd, files, MAP_SHARED anonymous memory)
 * may be mapped in several address spaces; calls that change an object
 * (aspace_object_truncate(), aspace_object_fallocate(), ...) or that map,
 * unmap or fault it need the host to serialise them against each other (one
 * lock over the objects is enough).
 */
#ifndef MEMORY_SET_ASPACE_H
#define MEMORY_SET_ASPACE_H

#include <memory_set/memory_set.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @name Error numbers
 * Linux's asm-generic errno values; calls return them negated.
 * @{
 */
#define ASPACE_EPERM 1       /**< operation not permitted (sealed area, low address) */
#define ASPACE_ENOENT 2      /**< no such object */
#define ASPACE_EINTR 4       /**< interrupted */
#define ASPACE_EBADF 9       /**< no object where one is needed */
#define ASPACE_EAGAIN 11     /**< try again (locked memory limits) */
#define ASPACE_ENOMEM 12     /**< out of memory, no room, a hole in the range */
#define ASPACE_EACCES 13     /**< the object's mode forbids the protection */
#define ASPACE_EFAULT 14     /**< bad user address */
#define ASPACE_EBUSY 16      /**< busy */
#define ASPACE_EEXIST 17     /**< MAP_FIXED_NOREPLACE over an area */
#define ASPACE_ENODEV 19     /**< the object cannot be mapped */
#define ASPACE_EINVAL 22     /**< bad argument */
#define ASPACE_EFBIG 27      /**< object too large */
#define ASPACE_ENOSPC 28     /**< no space in the object */
#define ASPACE_ESPIPE 29     /**< illegal seek */
#define ASPACE_ENOSYS 38     /**< not implemented */
#define ASPACE_EOVERFLOW 75  /**< offset + length overflows */
#define ASPACE_EOPNOTSUPP 95 /**< operation not supported */
/** @} */

/** @brief True if @p x, a return value of a call giving an address, is a -errno. */
#define ASPACE_IS_ERR(x) ((uint64_t)(int64_t)(x) >= (uint64_t)-4095)

/**
 * @brief The negative Linux errno for a core error (mapping_error_to_errno()
 * negated; 0 for MAPPING_OK).
 */
int aspace_errno(enum mapping_error err);

/**
 * @name mmap and mprotect protections (Linux values)
 * @{
 */
#define ASPACE_PROT_NONE 0x0 /**< no access */
#define ASPACE_PROT_READ 0x1 /**< readable */
#define ASPACE_PROT_WRITE 0x2 /**< writable (and readable) */
#define ASPACE_PROT_EXEC 0x4 /**< executable */
#define ASPACE_PROT_SEM 0x8               /**< accepted, ignored */
#define ASPACE_PROT_GROWSDOWN 0x01000000  /**< mprotect: EINVAL (no growing areas) */
#define ASPACE_PROT_GROWSUP 0x02000000    /**< mprotect: EINVAL */
/** @} */

/**
 * @name mmap flags (asm-generic values)
 * @{
 */
#define ASPACE_MAP_SHARED 0x01 /**< shared with every mapping of the object (and across fork) */
#define ASPACE_MAP_PRIVATE 0x02 /**< private: copy-on-write */
#define ASPACE_MAP_SHARED_VALIDATE 0x03 /**< MAP_SHARED that refuses unknown flags */
#define ASPACE_MAP_DROPPABLE 0x08 /**< private anonymous memory the kernel may drop (never dropped here) */
#define ASPACE_MAP_TYPE 0x0f /**< the bits of the mapping type */
#define ASPACE_MAP_FIXED 0x10 /**< exactly at the address, replacing what is there */
#define ASPACE_MAP_ANONYMOUS 0x20 /**< no object: zeroed memory */
#define ASPACE_MAP_GROWSDOWN 0x0100 /**< a stack that grows down: not supported (EINVAL) */
#define ASPACE_MAP_DENYWRITE 0x0800 /**< ignored */
#define ASPACE_MAP_EXECUTABLE 0x1000 /**< ignored */
#define ASPACE_MAP_LOCKED 0x2000 /**< populated and VM_LOCKED */
#define ASPACE_MAP_NORESERVE 0x4000 /**< not accounted (VM_NORESERVE) */
#define ASPACE_MAP_POPULATE 0x8000 /**< fault the pages in now (best effort) */
#define ASPACE_MAP_NONBLOCK 0x10000 /**< with MAP_POPULATE: populate nothing */
#define ASPACE_MAP_STACK 0x20000 /**< VM_NOHUGEPAGE, as Linux with THP */
#define ASPACE_MAP_HUGETLB 0x40000 /**< huge pages: not supported (EINVAL) */
#define ASPACE_MAP_SYNC 0x80000 /**< VM_SYNC (an area of its own) */
#define ASPACE_MAP_FIXED_NOREPLACE 0x100000 /**< exactly at the address, EEXIST if anything is there */
#define ASPACE_MAP_UNINITIALIZED 0x4000000 /**< ignored */
/** @} */

/**
 * @name mremap flags
 * @{
 */
#define ASPACE_MREMAP_MAYMOVE 1 /**< may move when it cannot grow in place */
#define ASPACE_MREMAP_FIXED 2 /**< move to new_addr, replacing what is there */
#define ASPACE_MREMAP_DONTUNMAP 4 /**< keep the old range mapped, empty */
/** @} */

/**
 * @name madvise advice (Linux values)
 * Those listed are implemented; any other value is ::ASPACE_EINVAL.
 * @{
 */
#define ASPACE_MADV_NORMAL 0      /**< clears VM_SEQ_READ and VM_RAND_READ (areas split and merge as Linux's) */
#define ASPACE_MADV_RANDOM 1      /**< sets VM_RAND_READ (no other effect here) */
#define ASPACE_MADV_SEQUENTIAL 2  /**< sets VM_SEQ_READ (no other effect here) */
#define ASPACE_MADV_WILLNEED 3    /**< no-op after the checks */
#define ASPACE_MADV_DONTNEED 4    /**< drop the pages: private memory reads zero again */
#define ASPACE_MADV_FREE 8        /**< private anonymous only; contents kept (no memory pressure) */
#define ASPACE_MADV_DONTFORK 10   /**< fork leaves the range out of the child */
#define ASPACE_MADV_DOFORK 11     /**< undo DONTFORK */
#define ASPACE_MADV_WIPEONFORK 18 /**< private anonymous only: the child gets zeroes */
#define ASPACE_MADV_KEEPONFORK 19 /**< undo WIPEONFORK */
/** @} */

/**
 * @name Area flags
 * Linux's VM_* bits of an area, as aspace_area_info.flags reports them.
 * Two touching areas merge only when these are equal.
 * @{
 */
#define ASPACE_VM_READ 0x1ull /**< readable */
#define ASPACE_VM_WRITE 0x2ull /**< writable */
#define ASPACE_VM_EXEC 0x4ull /**< executable */
#define ASPACE_VM_SHARED 0x8ull /**< shared and writable */
#define ASPACE_VM_MAYREAD 0x10ull /**< may become readable */
#define ASPACE_VM_MAYWRITE 0x20ull /**< may become writable */
#define ASPACE_VM_MAYEXEC 0x40ull /**< may become executable */
#define ASPACE_VM_MAYSHARE 0x80ull /**< shared (maps shows s) */
#define ASPACE_VM_LOCKED 0x2000ull /**< MAP_LOCKED */
#define ASPACE_VM_SEQ_READ 0x8000ull      /**< MADV_SEQUENTIAL */
#define ASPACE_VM_RAND_READ 0x10000ull    /**< MADV_RANDOM */
#define ASPACE_VM_DONTCOPY 0x20000ull     /**< MADV_DONTFORK */
#define ASPACE_VM_DONTEXPAND 0x40000ull /**< may not grow (not set by the layer) */
#define ASPACE_VM_ACCOUNT 0x100000ull     /**< private writable memory is committed */
#define ASPACE_VM_NORESERVE 0x200000ull   /**< MAP_NORESERVE */
#define ASPACE_VM_WIPEONFORK 0x2000000ull /**< MADV_WIPEONFORK */
#define ASPACE_VM_DROPPABLE 0x8000000ull  /**< MAP_DROPPABLE */
#define ASPACE_VM_NOHUGEPAGE 0x40000000ull /**< MAP_STACK sets it, as Linux with THP */
#define ASPACE_VM_SEALED 0x8000000000000000ull /**< mseal() */
/** @} */

/**
 * @name Page-table entry rights
 * What the layer asks of an entry (aspace_ops.pt_map, pt_protect). An entry
 * with no right still holds its frame (a PROT_NONE page keeps its data). A
 * frame shared copy-on-write is never given the write right.
 * @{
 */
#define ASPACE_PTE_READ 0x1u /**< loads allowed */
#define ASPACE_PTE_WRITE 0x2u /**< stores allowed */
#define ASPACE_PTE_EXEC 0x4u /**< instruction fetches allowed */
/** @} */

/**
 * @name Access kinds of a fault or a user copy
 * The MAPPING_ACCESS_* values of the core.
 * @{
 */
#define ASPACE_ACCESS_READ 1u /**< a load */
#define ASPACE_ACCESS_WRITE 2u /**< a store */
#define ASPACE_ACCESS_EXEC 4u /**< an instruction fetch */
/** @} */

/** Version of ::aspace_ops this header describes. */
#define ASPACE_OPS_VERSION 1u

/**
 * @brief What the host implements: memory for records, frames and page-table
 * entries. Keep one `const` instance; @c ctx of every hook is the context
 * given in ::aspace_options (a frame allocator, the machine).
 *
 * @par Frames
 * A frame is a page of physical memory named by a 64-bit handle the host
 * chooses (an address, an index). The layer counts references: one per
 * page-table entry that maps the frame, one per object page that holds it.
 * frame_alloc() returns a zeroed frame with one reference, frame_put()
 * frees it at the last.
 *
 * @par Page tables
 * @c pt is the page-table pointer of the address space (options.page_table).
 * Addresses and sizes are multiples of the page size. pt_map() and
 * pt_reserve() are the only page-table hooks that may fail (they may need a
 * table): pt_unmap() and pt_protect() change only entries that exist, and
 * cannot fail. The layer
 * drops the frame references of entries it removes itself; pt_unmap() only
 * clears entries. After a change that removes or narrows rights the layer
 * calls tlb_flush() for the range (a host whose pt_* hooks flush themselves
 * leaves it NULL).
 *
 * Required: every hook but those marked optional.
 */
struct aspace_ops {
	/** ::ASPACE_OPS_VERSION. Version 0 is rejected. */
	uint32_t version;
	/** Must be zero. */
	uint32_t reserved;

	/** Memory for the layer's records (per-area data, objects), 8-aligned; NULL when out. */
	void *(*alloc)(void *ctx, size_t size);
	/** Give back @p size bytes at @p ptr from alloc(). */
	void (*free)(void *ctx, void *ptr, size_t size);

	/** A zeroed frame with one reference into @p *frame; ::ASPACE_ENOMEM (negated) when none. */
	int (*frame_alloc)(void *ctx, uint64_t *frame);
	/** One more reference to @p frame. */
	void (*frame_get)(void *ctx, uint64_t frame);
	/** One reference less; the frame is free at the last. */
	void (*frame_put)(void *ctx, uint64_t frame);
	/** References to @p frame: a copy-on-write fault takes a frame with one reference without copying. */
	uint64_t (*frame_refs)(void *ctx, uint64_t frame);
	/**
	 * The bytes of @p frame, readable and writable by the layer (a kernel's
	 * direct map, an emulator's host pointer). Used for copies to and from
	 * user memory, copy-on-write copies and partial zeroing.
	 */
	void *(*frame_map)(void *ctx, uint64_t frame);
	/** Optional: done with the pointer frame_map() gave. Default: nothing. */
	void (*frame_unmap)(void *ctx, uint64_t frame, void *ptr);

	/**
	 * Make the entry of page @p va map @p frame with @p rights
	 * (ASPACE_PTE_*), replacing what it held (the layer has taken care of
	 * the old frame's reference). Fails only for want of page-table memory:
	 * return -::ASPACE_ENOMEM and leave the entry as it was.
	 */
	int (*pt_map)(void *ctx, void *pt, uint64_t va, uint64_t frame,
		      unsigned rights);
	/** Clear every entry of [va, va+size), present or not. Never fails. */
	void (*pt_unmap)(void *ctx, void *pt, uint64_t va, uint64_t size);
	/** Give every entry present in [va, va+size) the rights @p rights. Never fails. */
	void (*pt_protect)(void *ctx, void *pt, uint64_t va, uint64_t size,
			   unsigned rights);
	/**
	 * The first entry holding a frame at or after @p *va and below @p end:
	 * set @p *va to its page, @p *frame and @p *rights (those last given by
	 * pt_map() or pt_protect()) and return true; false if none. A host
	 * walks its tables and skips missing ones, so that a sparse range is
	 * cheap.
	 */
	bool (*pt_lookup)(void *ctx, void *pt, uint64_t *va, uint64_t end,
			  uint64_t *frame, unsigned *rights);
	/** Optional: flush [va, va+size) of @p pt from the TLBs. Default: nothing. */
	void (*tlb_flush)(void *ctx, void *pt, uint64_t va, uint64_t size);
	/**
	 * Optional: make pt_map() of any page of [va, va+size) succeed until
	 * the layer's call returns (allocate the tables the range needs; no
	 * entry changes). Return 0 or -::ASPACE_ENOMEM. The layer reserves
	 * before it moves entries (mremap), so that a move never fails half
	 * done. Default (NULL): pt_map() never fails, as for a page table that
	 * needs no memory (an emulator's array of entries).
	 */
	int (*pt_reserve)(void *ctx, void *pt, uint64_t va, uint64_t size);
	/**
	 * Optional: [va, va+size) maps nothing any more; free the tables that
	 * now map nothing (Linux's free_pgtables). pt_unmap() itself never
	 * frees a table. Default: nothing (tables stay until the host frees the
	 * page table).
	 */
	void (*pt_trim)(void *ctx, void *pt, uint64_t va, uint64_t size);
	/**
	 * Optional: the inode number of a new object the layer makes
	 * (MAP_SHARED anonymous memory, a memfd), shown in maps: distinct
	 * for every object of the machine, whichever address space made it
	 * (Linux's get_next_ino()). Default: a number made from the object's
	 * address, distinct among the objects alive at once.
	 */
	uint64_t (*next_ino)(void *ctx);
};

/**
 * @name Options
 * Bits of aspace_options.flags.
 * @{
 */
/** Reads of an execute-only area are allowed (x86 without protection keys). */
#define ASPACE_OPT_EXEC_READABLE 0x1u
/** MAP_FIXED below mmap_min_addr is allowed (Linux: CAP_SYS_RAWIO). */
#define ASPACE_OPT_LOW_MAP 0x2u
/** A hint not on a page boundary is rounded down (x86), not up (generic Linux). */
#define ASPACE_OPT_HINT_ROUND_DOWN 0x4u
/** @} */

/** @brief Options of aspace_init(). Zero-initialise, then set fields. */
struct aspace_options {
	/** sizeof(struct aspace_options), for forward compatibility. */
	uint32_t size;
	/** ASPACE_OPT_* bits. */
	uint32_t flags;
	/** The host's hooks (required). */
	const struct aspace_ops *ops;
	/** Their context, passed to every hook. */
	void *ctx;
	/** The page table the hooks get as @c pt. */
	void *page_table;
	/** Where the set's nodes come from (required; see memory_set_options). */
	const struct memory_set_allocator *allocator;
	/** The allocator's context. */
	void *allocator_ctx;
	/** Page size, a power of two from 4096 up; 0: 4096. */
	uint64_t page_size;
	/** End of user space (Linux TASK_SIZE); 0: 0x7ffffffff000 (x86-64, 47 bits). */
	uint64_t task_size;
	/** Top-down placement starts below it; 0: task_size - 128 MiB. */
	uint64_t mmap_base;
	/** Lowest address of a placed mapping, and of a hint; 0: 65536. */
	uint64_t mmap_min_addr;
	/** Bottom-up placement, when top-down finds nothing, starts here; 0: task_size / 3. */
	uint64_t unmapped_base;
	/** Most areas (vm.max_map_count); 0: 65530. */
	uint64_t max_map_count;
	/**
	 * Private anonymous mappings without a hint whose length is a multiple
	 * of it are aligned to it (Linux with transparent huge pages: 2 MiB);
	 * 0: none.
	 */
	uint64_t thp_size;
	/** Start of the heap (brk); 0: no heap until aspace_set_brk(). */
	uint64_t start_brk;
	/** An address in the stack area (named [stack]); 0: none. */
	uint64_t start_stack;
};

/**
 * @brief An address space. Embed it anywhere, but do not move it once
 * initialised (the set's allocator points back to it); its fields are
 * private.
 */
struct aspace {
	struct memory_set set;        /**< private: the areas */
	const struct aspace_ops *ops; /**< private */
	void *ctx;                    /**< private */
	void *pt;                     /**< private */
	const struct memory_set_allocator *allocator; /**< private */
	void *allocator_ctx;          /**< private */
	uint64_t page_size;           /**< private */
	unsigned page_shift;          /**< private */
	uint32_t flags;               /**< private */
	uint64_t task_size;           /**< private */
	uint64_t mmap_base;           /**< private */
	uint64_t mmap_min_addr;       /**< private */
	uint64_t unmapped_base;       /**< private */
	uint64_t max_map_count;       /**< private */
	uint64_t thp_size;            /**< private */
	uint64_t start_brk;           /**< private */
	uint64_t brk;                 /**< private */
	uint64_t start_stack;         /**< private */
	void *plan;                   /**< private: the merge plan of the running call */
	void *node_reserve;           /**< private: nodes reserved for the running call */
	void *rec_reserve;            /**< private: records reserved for the running call */
	void *names;                  /**< private: the name table */
	uint32_t nnames;              /**< private: its size */
	bool pt_reserved;             /**< private: tables reserved, do not trim */
	struct aspace *forking;       /**< private: the child of a running fork */
};

/**
 * @brief Make @p as an empty address space.
 * @return 0; -::ASPACE_EINVAL if @p as or @p opts is NULL, opts->size is too
 *         small, the ops or the allocator are missing or of version 0, a
 *         required hook is NULL, the page size is not a power of two of
 *         4096 or more, or the addresses are not page-aligned or out of
 *         order (mmap_min_addr < mmap_base <= task_size).
 */
int aspace_init(struct aspace *as, const struct aspace_options *opts);

/**
 * @brief Unmap everything (every entry cleared, every frame and object
 * reference dropped) and free every record. @p as may be NULL. The page
 * table itself is the host's.
 */
void aspace_destroy(struct aspace *as);

/**
 * @brief fork(): make @p child, uninitialised, a copy of @p parent over the
 * page table @p child_page_table (empty). Private areas become
 * copy-on-write in both (the parent's writable entries lose their write
 * right); shared areas map the same frames; MADV_DONTFORK areas are left
 * out; MADV_WIPEONFORK areas are empty (zero) in the child. The heap and
 * stack settings are copied.
 * @return 0; -::ASPACE_ENOMEM (records, nodes or page-table memory): the
 *         parent is as it was and @p child is not initialised.
 */
int aspace_fork(struct aspace *child, struct aspace *parent,
		void *child_page_table);

/** @brief The object type behind MAP_SHARED anonymous memory, memfds and files. */
struct aspace_object;

/**
 * @brief mmap(): map @p len bytes at @p addr (a hint, or exact with
 * MAP_FIXED / MAP_FIXED_NOREPLACE) with @p prot and @p flags; @p obj NULL
 * with MAP_ANONYMOUS, else the object to map from byte @p offset (the layer
 * takes a reference to it for as long as an area maps it).
 *
 * Placement: a hint (rounded to a page, raised to mmap_min_addr) is taken
 * when the range there is free and below task_size; otherwise the highest
 * free range below mmap_base, else the lowest from unmapped_base up.
 * MAP_POPULATE populates the pages (best effort, as Linux).
 *
 * @return the address, or -::ASPACE_EINVAL (len 0, no or bad mapping type,
 *         misaligned MAP_FIXED address or offset, MAP_HUGETLB,
 *         MAP_GROWSDOWN, unknown flags with MAP_SHARED_VALIDATE, an object
 *         with MAP_ANONYMOUS missing), -::ASPACE_ENOMEM (too long, no room,
 *         past task_size, the area limit, out of memory), -::ASPACE_EEXIST
 *         (MAP_FIXED_NOREPLACE over an area), -::ASPACE_EPERM (below
 *         mmap_min_addr, or MAP_FIXED over a sealed area), -::ASPACE_EBADF
 *         (no object without MAP_ANONYMOUS), -::ASPACE_EACCES (the object's
 *         mode), -::ASPACE_EOVERFLOW (offset + len wraps).
 */
int64_t aspace_mmap(struct aspace *as, uint64_t addr, uint64_t len,
		    unsigned long prot, unsigned long flags,
		    struct aspace_object *obj, uint64_t offset);

/**
 * @brief munmap(). Holes are fine.
 * @return 0; -::ASPACE_EINVAL (misaligned, len 0, past task_size);
 *         -::ASPACE_EPERM (a sealed area in the range); -::ASPACE_ENOMEM
 *         (a split over the area limit, out of memory).
 */
int aspace_munmap(struct aspace *as, uint64_t addr, uint64_t len);

/**
 * @brief mprotect().
 * @return 0 (len 0 included); -::ASPACE_EINVAL (misaligned, unknown bits,
 *         PROT_GROWSDOWN/UP); -::ASPACE_ENOMEM (a hole in the range, past
 *         task_size, out of memory); -::ASPACE_EACCES (more than the
 *         object's mode allows); -::ASPACE_EPERM (a sealed area). Nothing
 *         changes on any error (Linux changes the areas before a hole).
 */
int aspace_mprotect(struct aspace *as, uint64_t addr, uint64_t len,
		    unsigned long prot);

/**
 * @brief mremap(): resize the mapping at @p old_addr in place, or move it
 * (MREMAP_MAYMOVE: when it cannot grow in place; MREMAP_FIXED: to
 * @p new_addr, replacing what is there; MREMAP_DONTUNMAP: the old range
 * stays mapped, empty). The pages move with their contents. An
 * @p old_len of 0 with MREMAP_MAYMOVE duplicates a shared mapping. A range
 * over several areas moves whole (Linux 6.17 and later).
 * @return the new address, or a negative errno as Linux 6.18; nothing
 *         changes on any error.
 */
int64_t aspace_mremap(struct aspace *as, uint64_t old_addr, uint64_t old_len,
		      uint64_t new_len, unsigned long flags,
		      uint64_t new_addr);

/**
 * @brief brk(): move the end of the heap to @p brk with Linux's rules (never
 * below start_brk; growing needs a free range with one free page after it;
 * shrinking unmaps). A failed move changes nothing.
 * @return the break after the call (the old one on failure), as Linux.
 */
uint64_t aspace_brk(struct aspace *as, uint64_t brk);

/**
 * @brief Set where the heap starts (exec): start_brk and brk become
 * @p start_brk (page-aligned up), with no heap area. Areas are not changed.
 */
void aspace_set_brk(struct aspace *as, uint64_t start_brk);

/** @brief Set the address whose area /proc/PID/maps names [stack]. */
void aspace_set_stack(struct aspace *as, uint64_t start_stack);

/**
 * @brief madvise() with the ASPACE_MADV_* advice.
 * @return 0; -::ASPACE_EINVAL (misaligned, unknown advice, MADV_FREE or
 *         WIPEONFORK on an area that is not private anonymous, DONTNEED or
 *         FREE on a locked area); -::ASPACE_ENOMEM (a hole in the range:
 *         nothing changes, where Linux advises the mapped parts); -::ASPACE_EPERM (a
 *         discarding advice on a sealed read-only private anonymous area, a
 *         flag change on a sealed area).
 */
int aspace_madvise(struct aspace *as, uint64_t addr, uint64_t len, int advice);

/**
 * @brief mseal(): seal [addr, addr+len): its areas refuse munmap, mremap,
 * mprotect, MAP_FIXED over them and discarding madvise on read-only private
 * anonymous memory, with ::ASPACE_EPERM, changing nothing.
 * @return 0 (len 0 included); -::ASPACE_EINVAL (misaligned, flags not 0,
 *         wraps); -::ASPACE_ENOMEM (a hole, past task_size).
 */
int aspace_mseal(struct aspace *as, uint64_t addr, uint64_t len,
		 unsigned long flags);

/** Longest area name (PR_SET_VMA_ANON_NAME), terminating NUL excluded. */
#define ASPACE_NAME_MAX 79

/**
 * @brief prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME): name the anonymous areas of
 * [addr, addr+len) (`[anon:NAME]` in maps, `[anon_shmem:NAME]` for shared
 * anonymous memory), or clear their name when @p name is NULL. The layer
 * keeps its own copy.
 * @return 0; -::ASPACE_EINVAL (misaligned, a name longer than
 *         ::ASPACE_NAME_MAX or with a character outside printable ASCII or
 *         one of `[]\$\``);
 *         -::ASPACE_EBADF (an area mapping a memfd or a file);
 *         -::ASPACE_ENOMEM (a hole: nothing changes, where Linux names the
 *         mapped parts); -::ASPACE_EAGAIN (out of memory, as Linux).
 */
int aspace_set_name(struct aspace *as, uint64_t addr, uint64_t len,
		    const char *name);

/**
 * @brief What a page fault comes to (the signal Linux sends, if any).
 */
enum aspace_fault {
	ASPACE_FAULT_OK = 0,         /**< the page is there now: retry the access */
	ASPACE_FAULT_SEGV_MAPERR = 1, /**< no area: SIGSEGV, SEGV_MAPERR */
	ASPACE_FAULT_SEGV_ACCERR = 2, /**< the area forbids it: SIGSEGV, SEGV_ACCERR */
	ASPACE_FAULT_SIGBUS = 3,     /**< past the end of the object: SIGBUS, BUS_ADRERR */
	ASPACE_FAULT_OOM = 4,        /**< out of frames or memory (Linux's OOM path) */
};

/**
 * @brief Handle a page fault at @p addr of the kind @p access
 * (ASPACE_ACCESS_*): map a zeroed frame on first touch, the object's page
 * of a file or shared mapping, or break copy-on-write (the last reference
 * takes the frame without a copy). On ::ASPACE_FAULT_OK the entry allows the
 * access; any other result changes nothing, but for what Linux does too: a
 * write to a private mapping of an object that ends in
 * ::ASPACE_FAULT_SIGBUS leaves the area the anonymous identity the write
 * took first (aspace_area_info.anon; it decides merges).
 */
enum aspace_fault aspace_fault(struct aspace *as, uint64_t addr,
			       unsigned access);

/**
 * @brief copy_from_user(): copy @p len bytes at user address @p src into
 * @p dst, faulting pages in as the process's own reads would.
 * @param as the address space
 * @param dst the kernel's buffer
 * @param src the user address
 * @param len bytes to copy
 * @param[out] done if not NULL, the bytes copied (all of them on success).
 * @return 0; -::ASPACE_EFAULT at the first byte the process could not read
 *         (the bytes before it are copied); -::ASPACE_ENOMEM out of frames.
 */
int aspace_copy_from_user(struct aspace *as, void *dst, uint64_t src,
			  size_t len, size_t *done);

/**
 * @brief copy_to_user(): as aspace_copy_from_user() for writes; a write into
 * a copy-on-write page breaks the sharing, into a read-only one fails.
 */
int aspace_copy_to_user(struct aspace *as, uint64_t dst, const void *src,
			size_t len, size_t *done);

/**
 * @brief strncpy_from_user(): copy the string at @p src, NUL included, into
 * @p dst, at most @p count bytes.
 * @return its length (NUL excluded) if a NUL came within @p count bytes,
 *         else @p count (@p dst then has no NUL); -::ASPACE_EFAULT if a byte
 *         before the NUL could not be read; -::ASPACE_ENOMEM.
 */
int64_t aspace_strncpy_from_user(struct aspace *as, char *dst, uint64_t src,
				 size_t count);

/**
 * @brief One area as the layer sees it (aspace_area()).
 */
struct aspace_area_info {
	uint64_t start;    /**< first address */
	uint64_t end;      /**< one past the last */
	uint64_t flags;    /**< ASPACE_VM_* */
	uint64_t pgoff;    /**< page offset (in pages): the object's, or address-based for anonymous memory */
	struct aspace_object *object; /**< the object mapped (MAP_SHARED anonymous included), NULL for private anonymous */
	const char *name;  /**< PR_SET_VMA_ANON_NAME name, or NULL */
	bool anon;         /**< has an anonymous identity (written to since mapped, or inherited) */
};

/**
 * @brief The area holding @p addr into @p info.
 * @return true if one does (else @p info is untouched).
 */
bool aspace_area(const struct aspace *as, uint64_t addr,
		 struct aspace_area_info *info);

/**
 * @brief The /proc/PID/maps line, newline included, of the first area that
 * ends after @p *pos, into @p buf (NUL-terminated when @p len > 0); @p *pos
 * becomes that area's end. Columns and padding as Linux prints them, with
 * [heap], [stack], [anon:NAME], /dev/zero (deleted), /memfd:NAME (deleted)
 * or the object's name.
 * @return the line's length as snprintf() (0: no area after @p *pos).
 */
size_t aspace_maps_line(const struct aspace *as, uint64_t *pos, char *buf,
			size_t len);

/**
 * @brief Every line of /proc/PID/maps into @p buf, as snprintf().
 * @return the length of the whole text.
 */
size_t aspace_maps(const struct aspace *as, char *buf, size_t len);

/**
 * @brief The layer's invariant checker, for tests and debug builds: the
 * core's memory_set_check(); every area's flags, data and page offset
 * consistent, and no two touching areas Linux would have merged; every
 * page-table entry inside an area, with rights the area allows (no write
 * right on a private page whose frame has other references), mapping a
 * frame with a reference, the object's frame for a shared page.
 * O(n + pages mapped).
 * @return NULL if all hold, else a static message.
 */
const char *aspace_check(const struct aspace *as);

/** @brief Number of areas. */
uint64_t aspace_areas(const struct aspace *as);

/* ---- Objects: MAP_SHARED anonymous memory, memfd, files ---------------- */

/** Version of ::aspace_file_ops this header describes. */
#define ASPACE_FILE_OPS_VERSION 1u

/**
 * @brief A file the host backs an object with: the layer caches its pages
 * in the object (the page cache) and asks for each one once.
 */
struct aspace_file_ops {
	/** ::ASPACE_FILE_OPS_VERSION. */
	uint32_t version;
	/** Must be zero. */
	uint32_t reserved;
	/**
	 * Fill @p frame (zeroed) with the file's bytes at @p offset (a page
	 * boundary below the file's size). Return 0 or a negative errno (the
	 * fault is then ::ASPACE_FAULT_SIGBUS).
	 */
	int (*read_page)(void *file, uint64_t offset, uint64_t frame);
	/** Optional: write a shared page back (aspace_object_sync()). Default: nothing. */
	int (*write_page)(void *file, uint64_t offset, uint64_t frame);
	/** Optional: the object is gone; the host may drop @p file. */
	void (*release)(void *file);
};

/** @name memfd_create() flags
 * The Linux values the layer knows.
 * @{
 */
#define ASPACE_MFD_CLOEXEC 0x1u       /**< accepted, the host's */
#define ASPACE_MFD_ALLOW_SEALING 0x2u /**< accepted */
#define ASPACE_MFD_NOEXEC_SEAL 0x8u   /**< accepted (the host's file mode) */
#define ASPACE_MFD_EXEC 0x10u         /**< accepted */
/** @} */

/** @name Object open modes
 * Which protections a MAP_SHARED mapping of the object may have.
 * @{
 */
#define ASPACE_OBJ_READ 0x1u /**< readable */
#define ASPACE_OBJ_WRITE 0x2u /**< writable */
/** @} */

/**
 * @brief memfd_create(): a new, empty object of size 0, shown in maps as
 * `/memfd:NAME (deleted)`, readable and writable, with one reference (the
 * caller's, an open file's). It belongs to the machine of @p as (its ops,
 * context and page size), not to @p as: any address space of that machine
 * may map it.
 * @return 0; -::ASPACE_EINVAL (name longer than 249 bytes, unknown flags,
 *         MFD_NOEXEC_SEAL with MFD_EXEC); -::ASPACE_ENOMEM.
 */
int aspace_memfd_create(struct aspace *as, const char *name, unsigned flags,
			struct aspace_object **obj);

/**
 * @brief An object over a host file of @p size bytes, shown in maps as
 * @p path (the layer keeps a copy) with device @p dev_major:@p dev_minor
 * and inode @p ino. @p mode is ASPACE_OBJ_* (a file opened read-only
 * refuses writable shared mappings with ::ASPACE_EACCES). One reference,
 * the caller's; the machine is that of @p as, as for aspace_memfd_create().
 * @return 0; -::ASPACE_EINVAL (no read_page hook, version 0);
 *         -::ASPACE_ENOMEM.
 */
int aspace_object_create_file(struct aspace *as,
			      const struct aspace_file_ops *fops, void *file,
			      uint64_t size, unsigned mode, const char *path,
			      uint32_t dev_major, uint32_t dev_minor,
			      uint64_t ino, struct aspace_object **obj);

/** @brief One more reference to @p obj (an open file descriptor, say). */
void aspace_object_get(struct aspace_object *obj);

/** @brief Drop a reference; the object goes with the last (areas hold one each). */
void aspace_object_put(struct aspace_object *obj);

/** @brief The object's size in bytes. */
uint64_t aspace_object_size(const struct aspace_object *obj);

/**
 * @brief ftruncate(): set the size. Shrinking drops the pages past the new
 * end from every mapping (shared and the private copies of them, as Linux)
 * and the part of a partial page past it reads as zeroes; accesses past the
 * end then get ::ASPACE_FAULT_SIGBUS.
 * @return 0; -::ASPACE_EINVAL (a size past 2^63); -::ASPACE_EPERM (sealed).
 */
int aspace_object_truncate(struct aspace_object *obj, uint64_t size);

/** @name fallocate() modes
 * @{
 */
#define ASPACE_FALLOC_FL_KEEP_SIZE 0x01 /**< do not change the size */
#define ASPACE_FALLOC_FL_PUNCH_HOLE 0x02 /**< free the range (with KEEP_SIZE) */
/** @} */

/**
 * @brief fallocate(): mode 0 allocates [offset, offset+len) and grows the
 * size to cover it; KEEP_SIZE allocates without growing; PUNCH_HOLE |
 * KEEP_SIZE frees the range (its pages read zero again, in every mapping).
 * @return 0; -::ASPACE_EINVAL (len 0, negative range, PUNCH_HOLE without
 *         KEEP_SIZE, unknown mode); -::ASPACE_EFBIG (past 2^63);
 *         -::ASPACE_ENOMEM (out of frames: nothing changes);
 *         -::ASPACE_EOPNOTSUPP (a file object's host cannot).
 */
int aspace_object_fallocate(struct aspace_object *obj, int mode,
			    uint64_t offset, uint64_t len);

/**
 * @brief pread(): copy up to @p len bytes of the object from @p offset.
 * @return the bytes copied (0 at or past the end); -::ASPACE_ENOMEM.
 */
int64_t aspace_object_read(struct aspace_object *obj, uint64_t offset,
			   void *buf, size_t len);

/**
 * @brief pwrite(): copy @p len bytes into the object at @p offset, growing
 * it as a write to a file does.
 * @return @p len, or fewer if out of frames after some were written;
 *         -::ASPACE_EFBIG (past 2^63); -::ASPACE_ENOMEM (none written).
 */
int64_t aspace_object_write(struct aspace_object *obj, uint64_t offset,
			    const void *buf, size_t len);

/**
 * @brief Call @p fn for every page the object holds (its page cache), in
 * offset order: for leak checks over frames.
 */
void aspace_object_pages(const struct aspace_object *obj,
			 void (*fn)(void *arg, uint64_t offset, uint64_t frame),
			 void *arg);

/**
 * @brief Call @p fn for the object of every area of @p as that maps one, in
 * address order (an object mapped by several areas comes once per area).
 */
void aspace_objects(const struct aspace *as,
		    void (*fn)(void *arg, struct aspace_object *obj),
		    void *arg);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_SET_ASPACE_H */
