/*
 * Support for the unit tests: a mock page-table backend over a shadow page
 * table, a file-like backend that keeps an offset per area, a counting
 * allocator, and helpers that call the set and then check it against the
 * shadow (and, on an error that must change nothing, against a snapshot).
 *
 * The shadow stores runs [start, last] (inclusive, so a run may end at 2^64)
 * of pages with their flags and an "offset": the page-table value of the
 * run's first byte. Plain areas map identity (offset == address); file areas
 * map their file offset. Comparing the set's areas and the shadow run by run,
 * after both are coalesced, is comparing them page for page.
 */
#ifndef UNIT_MOCK_H
#define UNIT_MOCK_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <memory_set/memory_set.h>

#define TOP UINT64_MAX /* last address of the space; 2^64 itself is not a value */

/* ---- shadow page table ---------------------------------------------- */
struct run {
	uint64_t start, last, flags, off;
};

struct shadow {
	struct run *r;
	size_t n, cap;
};

/* ---- mock page table: what every hook receives as page_table ---------- */
enum hook_kind {
	HOOK_MAP,
	HOOK_UNMAP,
	HOOK_PROTECT,
	HOOK_DUP,   /* logged in the destination's mock */
	HOOK_MOVE,
	HOOK_FAULT, /* start: the address, old_flags: the access */
};

struct hook_call {
	enum hook_kind kind;
	uint64_t start, size, old_flags, new_flags;
	void *data;
	uint64_t new_start;             /* move: the target */
	void *src_pt;                   /* dup: the source page table */
	const struct memory_area *area; /* fault: the area given */
};

#define MOCK_MAX_FAIL 8
#define MOCK_LOG 256

struct mock {
	struct shadow sh;
	uint64_t page;       /* every hook range is a multiple of this */
	unsigned long calls; /* page-table hook calls so far */
	/* Page-table hook calls (1-based, counted in calls) that fail. */
	unsigned long fail_at[MOCK_MAX_FAIL];
	enum mapping_error fail_err[MOCK_MAX_FAIL];
	int nfail;
	unsigned long failed;      /* how many hook calls failed */
	unsigned long split_calls; /* split hook calls so far */
	unsigned long split_fail_at;
	/* The last MOCK_LOG page-table hook calls, oldest first. */
	struct hook_call log[MOCK_LOG];
	unsigned nlog;
};

void mock_init(struct mock *m, uint64_t page);
void mock_fini(struct mock *m);
/* Make page-table hook call number calls+n (n >= 1) fail with err. */
void mock_fail_in(struct mock *m, unsigned long n, enum mapping_error err);
void mock_clear_log(struct mock *m);

/* A backend with identity offsets; its data is an opaque tag. */
extern const struct mapping_backend_ops mock_ops;
/* The same hooks, plus a can_merge that allows merging any two areas. */
extern const struct mapping_backend_ops mock_ops_merge_all;
/* The same hooks, plus release (counted in mock_released). */
extern const struct mapping_backend_ops mock_ops_release;
extern unsigned long mock_released;
/* Starts of the areas released (plain and file), oldest first. */
extern uint64_t mock_release_log[MOCK_LOG];
extern unsigned mock_nrelease;

/*
 * Version 2: mock_ops with dup (the child shares the data, the source's
 * pages are copied), move (the pages move) and fault (allowed when the
 * flags have the access bits r=1 w=2 x=4, else AccessDenied). Every call
 * is logged and counted for failure injection like the page-table hooks.
 */
extern const struct mapping_backend_ops mock_ops_v2;
/* The same with release (counted in mock_released). */
extern const struct mapping_backend_ops mock_ops_v2_release;
/* Version 1 with dup, move and fault set to hooks that fail the test: the
 * set must not read past the hooks of the table's version. */
extern const struct mapping_backend_ops mock_ops_v1_trap;

/* ---- file-like backend: per-area data with a file offset --------------- */
/*
 * Each area owns its own file_data: split makes a new one for the right part
 * (offset advanced), release frees it, can_merge allows only continuous
 * offsets, dup makes a new one for the child, move carries it to the new
 * address. All live ones are tracked so a test can see each released
 * exactly once and none leaked.
 */
struct file_data {
	uint64_t file_off; /* file offset of the area's first byte */
	uint64_t vaddr;    /* the address that file_off maps at */
	int live;
	unsigned id;
};

extern const struct mapping_backend_ops file_ops;
struct file_data *file_data_new(uint64_t file_off, uint64_t vaddr);
/* Free a file_data the set never took (its map failed). */
void file_data_drop(struct file_data *d);
long file_data_live(void);
/* Make split hook call number split_calls+n fail with NO_MEMORY. */
void file_split_fail_in(struct mock *m, unsigned long n);

/* ---- owned data: a tag per area ---------------------------------------- */
/*
 * A backend whose areas each own a tag: split() makes a new one, release()
 * ends it (a second release fails the test), can_merge() allows any merge;
 * map, unmap and protect as mock_ops. No dup and no move hook, so dup and
 * remap_fixed take their defaults. check_env() checks that every area's
 * tag is alive and no other area's.
 */
extern const struct mapping_backend_ops owned_ops;
void *owned_new(void);
bool owned_alive(const void *tag);
long owned_live(void);

/* ---- counting allocator ------------------------------------------------ */
struct count_alloc {
	long live;          /* blocks handed out and not freed */
	unsigned long calls; /* alloc() calls so far */
	unsigned long frees; /* free() calls so far */
	unsigned long fail_from; /* calls numbered >= this return NULL; 0: never */
	unsigned long failed;
	/* Giving back a block made by a call numbered below this fails the
	 * test (env_fini() clears it before destroy). */
	unsigned long keep_below;
};
extern const struct memory_set_allocator count_allocator;

/* ---- the set under test, its mock and its allocator -------------------- */
struct env {
	struct memory_set set;
	struct mock m;
	struct count_alloc ca;
	uint64_t tag; /* the plain backend's data points here */
	struct mapping_backend plain;
	/* Live file data held outside this set (another env, after a dup). */
	long file_others;
	bool lockless; /* the set was made with lockless_lookups */
};

/* Set up with granule (0: default) and merge; mock page = granule or 4096. */
void env_init(struct env *e, uint64_t granule, bool merge);
/* The same with another allocator (ctx NULL: e->ca). */
void env_init_alloc(struct env *e, uint64_t granule, bool merge,
		    const struct memory_set_allocator *alloc, void *ctx);
/* A second env (a dup's child, default granule, merge off) while another
 * holds file_others live file data. */
void env_init_child(struct env *e, long file_others);
/* A second env like a dup's child, whose set has lockless_lookups. */
void env_init_lockless(struct env *e, bool merge);
/* Clear through the backend, check, destroy and check nothing is leaked. */
void env_fini(struct env *e);

/*
 * Check the set against the shadow page for page, memory_set_check, the
 * iterators both ways, find and overlaps at every area's ends and gaps, and
 * the merge rule when merge is on.
 */
void check_env(struct env *e);

/* Operations on e->set that check it afterwards; an error that must change
 * nothing (InvalidParam, AlreadyExists, NoMemory) is also checked to call no
 * hook and leave every area as it was. */
enum mapping_error t_map(struct env *e, uint64_t start, uint64_t size,
			 uint64_t flags, bool replace);
enum mapping_error t_map_b(struct env *e, uint64_t start, uint64_t size,
			   uint64_t flags, const struct mapping_backend *b,
			   bool replace);
enum mapping_error t_unmap(struct env *e, uint64_t start, uint64_t size);
/* Protect with the trace language's rule: FLAGS under MASK. */
enum mapping_error t_protect(struct env *e, uint64_t start, uint64_t size,
			     uint64_t flags, uint64_t mask);
enum mapping_error t_protect_fn(struct env *e, uint64_t start, uint64_t size,
				memory_set_update_fn fn, void *ctx);
enum mapping_error t_clear(struct env *e);
/* The strict forms; a hole gives NoMemory and is checked to change nothing. */
enum mapping_error t_unmap_strict(struct env *e, uint64_t start,
				  uint64_t size);
enum mapping_error t_protect_strict(struct env *e, uint64_t start,
				    uint64_t size, uint64_t flags,
				    uint64_t mask);
enum mapping_error t_protect_flags(struct env *e, uint64_t start,
				   uint64_t size, uint64_t flags,
				   uint64_t mask, bool strict);
/* Remap in place and move; BadState is also checked to change nothing. */
enum mapping_error t_remap(struct env *e, uint64_t start, uint64_t size,
			   uint64_t new_size);
enum mapping_error t_remap_fixed(struct env *e, uint64_t start, uint64_t size,
				 uint64_t new_size, uint64_t new_start);

/* The update rule of the trace language's protect. */
struct mask_update {
	uint64_t flags, mask;
	unsigned long calls;
};
bool mask_update(void *ctx, uint64_t old_flags, uint64_t *new_flags);

/* Snapshot of a set's areas, to see that an operation changed nothing. */
struct snap {
	struct memory_area *a;
	size_t n;
};
void snap_take(struct snap *s, const struct memory_set *set);
void snap_assert_same(const struct snap *s, const struct memory_set *set);
void snap_free(struct snap *s);

/* Number of areas, counted by walking the set. */
size_t walk_count(const struct memory_set *set);
/* Assert the area holding addr is exactly [start, start+size) with flags. */
void assert_area(const struct memory_set *set, uint64_t addr, uint64_t start,
		 uint64_t size, uint64_t flags);

/* splitmix64 */
uint64_t rnd_next(uint64_t *s);
uint64_t rnd_below(uint64_t *s, uint64_t n);

#endif /* UNIT_MOCK_H */
