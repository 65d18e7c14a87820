/*
 * Support for the reliability tests: a seeded random generator, a failing
 * allocator, a backend that keeps a shadow page table and can fail its Nth
 * call, snapshots of a set's areas, and the comparisons between them.
 */
#ifndef REL_SUPPORT_H
#define REL_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <memory_set/memory_set.h>

/* Report a failed check with its place and stop the test. */
#define REL_FAIL(...)                                                        \
	rel_fail(__FILE__, __LINE__, __VA_ARGS__)
#define REL_CHECK(cond, ...)                                                 \
	do {                                                                 \
		if (!(cond))                                                 \
			REL_FAIL(__VA_ARGS__);                               \
	} while (0)

/* Printed before the message of a failure (the seed, the step). */
extern char rel_context[256];

#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 3, 4)))
#endif
void rel_fail(const char *file, int line, const char *fmt, ...);

/* Scale factor for loop counts: MS_REL_SCALE in the environment (default 1),
 * so slow runs (valgrind) can ask for less. Never below a minimum. */
double rel_scale(void);
unsigned rel_scaled(unsigned n, unsigned min);

/* Is vm.overcommit_memory 2 (never)? Linux then ignores MAP_NORESERVE, and
 * its accounting flags keep apart mappings the oracles expect merged. */
bool rel_overcommit_never(void);

/* ---- random numbers (splitmix64: small, good enough, reproducible) ---- */
struct rng {
	uint64_t s;
};
uint64_t rng_next(struct rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);
bool rng_chance(struct rng *r, unsigned percent);

/* ---- failing allocator ---------------------------------------------- */
struct fail_alloc {
	long live;      /* blocks handed out and not yet freed */
	long calls;     /* alloc() calls so far */
	long fail_at;   /* the call number that returns NULL; 0: never */
	long failed;    /* how many calls returned NULL */
	/* Giving back a block made by a call numbered below this fails the
	 * test (0: any block may come back). */
	long keep_below;
};
extern const struct memory_set_allocator fail_allocator;

/* ---- shadow page table ---------------------------------------------- */
/* Ranges [start, last] (inclusive, so a range may end at 2^64), sorted. */
struct srange {
	uint64_t start, last, flags;
};
struct shadow {
	struct srange *r;
	size_t n, cap;
};
void shadow_free(struct shadow *sh);

/* ---- the failing, checking backend ---------------------------------- */
enum hook_kind {
	HOOK_MAP,
	HOOK_UNMAP,
	HOOK_PROTECT,
	HOOK_SPLIT,
	HOOK_DUP,   /* start, size, new_flags: the area's */
	HOOK_MOVE,  /* start: the old range, old_flags: the new start */
	HOOK_FAULT, /* start: the address, old_flags: the access */
	HOOK_KINDS
};

struct hook_call {
	enum hook_kind kind;
	uint64_t start, size, old_flags, new_flags;
};

/*
 * Global, as the split hook gets no page-table pointer. Every hook call
 * (map, unmap, protect, split, dup, move, fault) is numbered from 1; the
 * calls whose numbers are in fail_at[] fail with fail_code and change
 * nothing.
 */
struct injector {
	long calls;             /* hook calls so far (split included) */
	long pt_calls;          /* page-table hook calls so far */
	long fail_at[2];        /* 0: unused */
	enum mapping_error fail_code;
	int nfailed;
	struct hook_call failed[2]; /* the calls that were made to fail */
	long tokens_live;       /* per-area data tokens alive */
};
extern struct injector inj;
void inj_reset(void);

/* A backend without optional hooks: data is NULL, areas merge on flags;
 * dup, move and fault take their defaults. */
extern const struct mapping_backend_ops plain_ops;
/* A backend whose areas each own a token: split() makes one, release()
 * frees it, can_merge() allows any merge, dup() copies the source shadow's
 * pages to the destination's and makes the child's token, move() moves the
 * pages, fault() allows an access whose bits below MAPPING_ACCESS_USER
 * the flags have (as the default does). Checks
 * use-after-release. */
extern const struct mapping_backend_ops token_ops;
/* The same without a move hook: remap_fixed takes its default move. */
extern const struct mapping_backend_ops token_nomove_ops;
bool is_token_ops(const struct mapping_backend_ops *ops);
void *token_new(void);
/* The caller gives back a token the set never took (a failed map). */
void token_drop(void *tok);
bool token_alive(const void *tok);

/* ---- snapshots and comparisons -------------------------------------- */
struct area_rec {
	uint64_t start, size, flags;
	const struct mapping_backend_ops *ops;
	const void *data;
};
struct snap {
	struct area_rec *a;
	size_t n;
};
void snap_take(struct snap *s, const struct memory_set *set);
void snap_free(struct snap *s);
/* Same areas (range, flags, ops); snap_identical also compares data. */
bool snap_equal(const struct snap *x, const struct snap *y);
bool snap_identical(const struct snap *x, const struct snap *y);
void snap_print(FILE *f, const char *title, const struct snap *s);
/* Remove [start, start+size) from s (areas across an end shrink). */
void snap_remove(struct snap *s, uint64_t start, uint64_t size);
/* Give [start, start+size) the flags (pages only: ops and data are NULL). */
void snap_set_pages(struct snap *s, uint64_t start, uint64_t size,
		    uint64_t flags);

/*
 * Everything that must hold after any operation, failed or not: the
 * invariant checker passes, iteration agrees with len, the set and the
 * shadow describe the same pages with the same flags, and every area's
 * token is alive and owned by that area alone. Fails the test otherwise.
 */
void verify_set(const struct memory_set *set, const struct shadow *sh);
/* The same but for the tokens: for a set whose tokens are not the only ones
 * alive (a failed dup's copy). */
void verify_pages(const struct memory_set *set, const struct shadow *sh);

/* Page-for-page comparison of two area lists: same pages, same flags. */
bool same_pages(const struct snap *x, const struct snap *y);

#endif /* REL_SUPPORT_H */
