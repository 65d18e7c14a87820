/*
 * Support for the address-space layer's tests: a simulated machine with up
 * to four address spaces, calls that check every invariant after they
 * return (the layer's checker on each space, the machine's check of every
 * frame's references), snapshots that prove a failed call changed nothing,
 * and expected layouts written as short strings.
 */
#ifndef ASPACE_SUPPORT_H
#define ASPACE_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <memory_set/aspace_sim.h>

#define PG 4096ull
#define W 0x10000000ull /* the tests' window: layouts are given from here */
#define A(p) (W + (uint64_t)(p)*PG)
#define SPACES 4

#define PRIV_ANON (ASPACE_MAP_PRIVATE | ASPACE_MAP_ANONYMOUS)
#define SHARED_ANON (ASPACE_MAP_SHARED | ASPACE_MAP_ANONYMOUS)
#define FIXED ASPACE_MAP_FIXED
#define RW (ASPACE_PROT_READ | ASPACE_PROT_WRITE)
#define RO ASPACE_PROT_READ

struct tm {
	struct aspace_sim *sim;
	struct aspace as[SPACES];
	void *pt[SPACES];
	bool live[SPACES];
	struct aspace_object *objs[8]; /* objects the test holds a reference to */
	size_t nobjs;
};

/* A machine with space 0 made from options @o (NULL: the defaults). */
void tm_init(struct tm *m, const struct aspace_options *o);
/* The options tm_init() gives, for a test to change before. */
void tm_options(struct tm *m, struct aspace_options *o);
/* fork space @parent into space @child; asserts success. */
void tm_fork(struct tm *m, int parent, int child);
/* Destroy space @s. */
void tm_exit(struct tm *m, int s);
/* Every invariant of every live space and of the machine. */
void tm_check(struct tm *m);
/* Destroy everything; asserts nothing leaked (frames, entries, memory). */
void tm_done(struct tm *m);
/* Keep a reference to @obj (dropped by tm_done). */
void tm_hold(struct tm *m, struct aspace_object *obj);

/* An exact picture of space @s: areas, records, entries, counters. */
char *tm_snap(struct tm *m, int s);

/*
 * Assert the areas of space @s inside the window are @layout: areas
 * separated by ", ", each "FIRST-END PERMS" in pages from W, optionally
 * followed by " NAME" (as maps shows it) or, for an area mapping an
 * object, " @OFFSET" (its offset in pages), e.g. "0-4 rw-p, 4-8 r--p
 * [heap], 9-10 rw-s @2".
 */
#define expect_layout(m, s, layout) \
	expect_layout_at(m, s, layout, __FILE__, __LINE__)
void expect_layout_at(struct tm *m, int s, const char *layout, const char *file,
		      int line);

/* Bytes at @va through the MMU (faulting as the process would). */
enum aspace_fault tm_read(struct tm *m, int s, uint64_t va, void *buf,
			  size_t len);
enum aspace_fault tm_write(struct tm *m, int s, uint64_t va, const void *buf,
			   size_t len);
/* One byte; asserts the access succeeds. */
unsigned char peek(struct tm *m, int s, uint64_t va);
void poke(struct tm *m, int s, uint64_t va, unsigned char v);
/* Does the area at @va have an anonymous identity? */
bool faulted(struct tm *m, int s, uint64_t va);

/*
 * Checked calls: each runs the call on space @s, checks every invariant,
 * and when the call fails checks that it changed nothing. They return what
 * the call returned.
 */
int64_t c_mmap(struct tm *m, int s, uint64_t addr, uint64_t len,
	       unsigned long prot, unsigned long flags,
	       struct aspace_object *obj, uint64_t off);
int c_munmap(struct tm *m, int s, uint64_t addr, uint64_t len);
int c_mprotect(struct tm *m, int s, uint64_t addr, uint64_t len,
	       unsigned long prot);
int64_t c_mremap(struct tm *m, int s, uint64_t addr, uint64_t old_len,
		 uint64_t new_len, unsigned long flags, uint64_t new_addr);
uint64_t c_brk(struct tm *m, int s, uint64_t brk);
int c_madvise(struct tm *m, int s, uint64_t addr, uint64_t len, int advice);
int c_mseal(struct tm *m, int s, uint64_t addr, uint64_t len);
int c_name(struct tm *m, int s, uint64_t addr, uint64_t len, const char *name);
enum aspace_fault c_fault(struct tm *m, int s, uint64_t addr, unsigned access);

/* mmap of @pages pages at page @p of the window, MAP_FIXED; asserts success. */
void map_at(struct tm *m, int s, int p, int pages, unsigned long prot,
	    unsigned long flags);

#endif /* ASPACE_SUPPORT_H */
