/*
 * Linux as the oracle of the address-space layer, memory contents
 * included.
 *
 * Random sequences of memory calls (mmap with and without hints, fixed,
 * populate, noreserve; munmap, mprotect, mremap in every mode, brk, user
 * loads and stores, the kernel's copies to and from user memory, fork and
 * exit) run on two sides at once and are compared after every call:
 *
 * - Linux: executor processes (oracle_host.c) that make each call in a
 *   window of their own address space;
 * - the other side: the layer over its simulated page table, or, with
 *   --self, a second set of Linux executors (to check the harness itself:
 *   two runs of Linux must agree with each other).
 *
 * After every call: the return value or errno; for every live process,
 * the /proc/self/maps lines of its windows (start, end, perms, offset,
 * device and inode up to a renaming, name), the sum of every mapped
 * page's contents and the program break. Addresses are compared relative
 * to the windows (W: the mmap window's top, H: the start of the break),
 * so an episode replays anywhere.
 *
 * Each episode starts fresh processes on both sides and runs a few
 * hundred calls. Seeds are drawn at run time and printed; the first
 * difference writes a replay file (the episode's calls up to it, as text)
 * into the working directory and prints it, after shrinking it to fewer
 * calls that still show a difference.
 *
 *   aspace_oracle [--ops N] [--seed S] [--self] [--episode N]
 *   aspace_oracle --replay FILE... [--self]
 */
#define _GNU_SOURCE /* MAP_*, MREMAP_*, getrandom */

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "oracle_host.h"
#include "rel_support.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define SKIP 77
#define MAXP 4          /* live processes at most */
#define WIN_PAGES 480   /* the mmap window: not a multiple of 2 MiB, which Linux
			 * would align for huge pages */
#define HOT_PAGES 64    /* its top, where hints and fixed addresses go */
#define HEAP_PAGES 32   /* the heap window */

/* ==== addresses relative to the windows ============================== */

enum base { B_ABS, B_WIN, B_HEAP };

struct raddr {
	int base;
	int64_t off;
};

struct anchors {
	uint64_t page, lo, hi, start_brk, heap_end;
	bool heap_ok;
};

static uint64_t resolve(const struct anchors *an, struct raddr a)
{
	switch (a.base) {
	case B_WIN:
		return an->hi + (uint64_t)a.off;
	case B_HEAP:
		return an->start_brk + (uint64_t)a.off;
	default:
		return (uint64_t)a.off;
	}
}

static struct raddr relate(const struct anchors *an, uint64_t v)
{
	uint64_t span = (an->hi - an->lo) + 1024 * an->page;

	if (v + span >= an->hi && v <= an->hi + span)
		return (struct raddr){B_WIN, (int64_t)(v - an->hi)};
	if (an->heap_ok && v + 1024 * an->page >= an->start_brk &&
	    v <= an->heap_end + 1024 * an->page)
		return (struct raddr){B_HEAP, (int64_t)(v - an->start_brk)};
	return (struct raddr){B_ABS, (int64_t)v};
}

static bool raddr_eq(struct raddr a, struct raddr b)
{
	return a.base == b.base && a.off == b.off;
}

static void raddr_str(char *buf, size_t n, struct raddr a)
{
	static const char tag[] = "AWH";
	int64_t o = a.off;

	if (a.base == B_ABS)
		snprintf(buf, n, "%#" PRIx64, (uint64_t)o);
	else
		snprintf(buf, n, "%c%c%#" PRIx64, tag[a.base],
			 o < 0 ? '-' : '+', o < 0 ? -(uint64_t)o : (uint64_t)o);
}

static bool raddr_parse(const char *s, struct raddr *a)
{
	char *end;

	if (s[0] == 'W' || s[0] == 'H') {
		uint64_t v;

		a->base = s[0] == 'W' ? B_WIN : B_HEAP;
		if (s[1] != '+' && s[1] != '-')
			return false;
		v = strtoull(s + 2, &end, 0);
		a->off = s[1] == '-' ? -(int64_t)v : (int64_t)v;
	} else {
		a->base = B_ABS;
		a->off = (int64_t)strtoull(s, &end, 0);
	}
	return *end == 0 || *end == ' ' || *end == '\n';
}

/* ==== calls ========================================================== */

enum opk {
	K_MMAP,
	K_MUNMAP,
	K_MPROTECT,
	K_MREMAP,
	K_BRK,
	K_MADVISE,
	K_MSEAL,
	K_READ,
	K_WRITE,
	K_COPY_TO,
	K_COPY_FROM,
	K_FORK,
	K_EXIT,
	K_MEMFD,
	K_FTRUNCATE,
	K_FALLOCATE,
	K_PWRITE,
	K_KINDS
};

static const char *const kname[K_KINDS] = {
	"mmap",  "munmap",  "mprotect", "mremap",    "brk",       "madvise",
	"mseal", "read",    "write",    "copy_to",   "copy_from", "fork",
	"exit",  "memfd",   "ftruncate", "fallocate", "pwrite",
};

/*
 * One call. proc: the process that makes it; child: fork's new slot;
 * obj: the memory file (memfd) of a file call or mapping, -1 for none.
 * addr, len, prot, flags, off: as the call takes them; mremap's new
 * length and address in len2, addr2; madvise's advice, mseal's flags,
 * fallocate's mode in flags. n bytes of data (read, write, copies,
 * pwrite) made from seed.
 */
struct op {
	int k, proc, child, obj;
	struct raddr addr, addr2;
	uint64_t len, len2, off;
	int64_t prot, flags;
	uint32_t n, seed;
};

static void op_data(const struct op *o, uint8_t *d)
{
	uint64_t x = o->seed * 0x9e3779b97f4a7c15ull + 1;

	for (uint32_t i = 0; i < o->n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		d[i] = (uint8_t)x;
	}
}

static void op_str(char *buf, size_t n, const struct op *o)
{
	char a[40], a2[40];

	raddr_str(a, sizeof(a), o->addr);
	raddr_str(a2, sizeof(a2), o->addr2);
	snprintf(buf, n,
		 "%s p=%d c=%d o=%d a=%s l=%#" PRIx64 " a2=%s l2=%#" PRIx64
		 " off=%#" PRIx64 " prot=%#" PRIx64 " fl=%#" PRIx64
		 " n=%u s=%u",
		 kname[o->k], o->proc, o->child, o->obj, a, o->len, a2, o->len2,
		 o->off, (uint64_t)o->prot, (uint64_t)o->flags, o->n, o->seed);
}

static const char *field(const char *line, const char *key)
{
	size_t k = strlen(key);

	for (const char *p = line; (p = strstr(p, key)) != NULL; p++)
		if ((p == line || p[-1] == ' ') && p[k] == '=')
			return p + k + 1;
	return NULL;
}

static bool op_parse(const char *line, struct op *o)
{
	const char *v;
	int k;

	memset(o, 0, sizeof(*o));
	for (k = 0; k < K_KINDS; k++) {
		size_t n = strlen(kname[k]);

		if (strncmp(line, kname[k], n) == 0 && line[n] == ' ')
			break;
	}
	if (k == K_KINDS)
		return false;
	o->k = k;
#define NUM(key, dst)                                                        \
	do {                                                                 \
		if (!(v = field(line, key)))                                 \
			return false;                                        \
		dst = (__typeof__(dst))strtoll(v, NULL, 0);                  \
	} while (0)
#define UNUM(key, dst)                                                       \
	do {                                                                 \
		if (!(v = field(line, key)))                                 \
			return false;                                        \
		dst = (__typeof__(dst))strtoull(v, NULL, 0);                 \
	} while (0)
	NUM("p", o->proc);
	NUM("c", o->child);
	NUM("o", o->obj);
	UNUM("l", o->len);
	UNUM("l2", o->len2);
	UNUM("off", o->off);
	UNUM("prot", o->prot);
	UNUM("fl", o->flags);
	UNUM("n", o->n);
	UNUM("s", o->seed);
#undef NUM
#undef UNUM
	if (!(v = field(line, "a")) || !raddr_parse(v, &o->addr) ||
	    !(v = field(line, "a2")) || !raddr_parse(v, &o->addr2))
		return false;
	return o->proc >= 0 && o->proc < MAXP && o->child >= 0 &&
	       o->child < MAXP && o->n <= OX_DATA;
}

/* ==== what a side answers ============================================ */

struct res {
	bool died;           /* the process is gone (Linux: the executor) */
	int64_t ret;
	int err;
	bool is_addr;        /* ret is an address: compare ra */
	struct raddr ra;
	uint64_t done;       /* user access: bytes done before a signal */
	int sig, code;
	struct raddr fault;
	uint8_t data[OX_DATA];
	uint32_t ndata;      /* bytes of data that count */
};

struct mline {
	struct raddr lo, hi;
	char perms[5];
	uint64_t vmf; /* Linux's VM_* bits (smaps VmFlags) */
	uint64_t off, ino;
	unsigned maj, min;
	char name[96];
};

struct pstate {
	uint32_t nl, np;
	struct mline l[OX_LINES];
	struct {
		struct raddr a;
		uint64_t sum;
	} pg[OX_PAGES];
	struct raddr brk;
};

/* Parse maps lines (Linux's format) into st->l, addresses made relative. */
static bool parse_maps(const struct anchors *an, const char *text,
		       struct pstate *st)
{
	const char *p = text;

	st->nl = 0;
	while (*p) {
		struct mline *m = &st->l[st->nl];
		unsigned long long lo, hi, off, ino;
		int used = 0;
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char line[256];

		if (len >= sizeof(line) || st->nl == OX_LINES)
			return false;
		memcpy(line, p, len);
		line[len] = 0;
		p += len + (e ? 1 : 0);
		memset(m, 0, sizeof(*m));
		if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &lo, &hi,
			   m->perms, &off, &m->maj, &m->min, &ino, &used) < 7)
			return false;
		m->lo = relate(an, lo);
		m->hi = relate(an, hi);
		m->off = off;
		m->ino = ino;
		if (used > 0)
			snprintf(m->name, sizeof(m->name), "%s", line + used);
		st->nl++;
	}
	return true;
}

/* ==== sides ========================================================== */

struct side {
	const char *name;
	struct anchors an;
	/* Fresh processes: slot 0 alive, the anchors set (a side that
	 * follows another takes ref's). 0, or -1 with why set (the run is
	 * skipped). */
	int (*start)(struct side *s, const struct anchors *ref, char *why,
		     size_t n);
	/* End the episode: NULL, or what was left behind (a leak). */
	const char *(*stop)(struct side *s);
	void (*run)(struct side *s, const struct op *o, struct res *r);
	/* The state of a live process; false if it is gone. */
	bool (*state)(struct side *s, int proc, struct pstate *st);
	/* Optional: NULL, or the invariant that no longer holds. */
	const char *(*check)(struct side *s);
	/* A failed call changes nothing (the layer; Linux may change part
	 * of the range first). */
	bool atomic;
	/* The VM_* bits the side reports (compared where both do). */
	uint64_t vmf_known;
	void *impl;
};

/* ---- Linux ----------------------------------------------------------- */

struct lx {
	struct ox_proc p[MAXP];
	pid_t all[256];          /* every executor started, to kill */
	int nall;
	int fd[8];               /* memory files by index */
	struct ox_state st;
};

static int lx_start(struct side *s, const struct anchors *ref, char *why,
		    size_t n)
{
	struct lx *x = s->impl;
	struct ox_layout l;

	(void)ref; /* Linux picks its own windows */
	memset(x->p, 0, sizeof(x->p));
	for (int i = 0; i < MAXP; i++)
		x->p[i].sock = -1;
	for (int i = 0; i < 8; i++)
		x->fd[i] = -1;
	x->nall = 0;
	if (ox_spawn(&x->p[0], WIN_PAGES * (uint64_t)getpagesize(),
		     HEAP_PAGES * (uint64_t)getpagesize(), &l) != 0) {
		snprintf(why, n, "Linux side: %s", l.why);
		if (x->p[0].sock >= 0)
			close(x->p[0].sock);
		ox_kill_all(&x->p[0].pid, 1);
		return -1;
	}
	x->all[x->nall++] = x->p[0].pid;
	s->an = (struct anchors){l.page, l.lo, l.hi, l.start_brk, l.heap_end,
				 l.heap_ok};
	return 0;
}

static const char *lx_stop(struct side *s)
{
	struct lx *x = s->impl;

	for (int i = 0; i < MAXP; i++) {
		if (x->p[i].sock >= 0)
			close(x->p[i].sock);
		x->p[i].sock = -1;
	}
	ox_kill_all(x->all, x->nall);
	x->nall = 0;
	return NULL;
}

/* The executor's command for each call. */
static const uint32_t ox_of[K_KINDS] = {
	[K_MMAP] = OX_MMAP,	      [K_MUNMAP] = OX_MUNMAP,
	[K_MPROTECT] = OX_MPROTECT,   [K_MREMAP] = OX_MREMAP,
	[K_BRK] = OX_BRK,	      [K_MADVISE] = OX_MADVISE,
	[K_MSEAL] = OX_MSEAL,	      [K_READ] = OX_READ,
	[K_WRITE] = OX_WRITE,	      [K_COPY_TO] = OX_COPY_TO,
	[K_COPY_FROM] = OX_COPY_FROM, [K_MEMFD] = OX_MEMFD,
	[K_FTRUNCATE] = OX_FTRUNCATE, [K_FALLOCATE] = OX_FALLOCATE,
	[K_PWRITE] = OX_PWRITE,
};

static void lx_run(struct side *s, const struct op *o, struct res *r)
{
	struct lx *x = s->impl;
	struct ox_proc *p = &x->p[o->proc];
	struct ox_req q;
	struct ox_rep rep;
	uint64_t a = resolve(&s->an, o->addr);

	memset(r, 0, sizeof(*r));
	memset(&q, 0, sizeof(q));
	q.fd = o->obj >= 0 && o->obj < 8 ? x->fd[o->obj] : -1;
	q.n = o->n;
	op_data(o, q.data);
	switch (o->k) {
	case K_FORK:
		if (ox_fork(p, &x->p[o->child], &rep) < 0) {
			r->died = true;
			return;
		}
		if (x->nall < (int)(sizeof(x->all) / sizeof(x->all[0])))
			x->all[x->nall++] = x->p[o->child].pid;
		r->ret = 0; /* pids differ between sides */
		return;
	case K_EXIT:
		ox_exit(p);
		return;
	default:
		break;
	}
	q.op = ox_of[o->k];
	q.a[0] = a;
	q.a[1] = o->len;
	switch (o->k) {
	case K_MMAP:
		q.a[2] = (uint64_t)o->prot;
		q.a[3] = (uint64_t)o->flags;
		q.a[4] = o->off;
		break;
	case K_MPROTECT:
		q.a[2] = (uint64_t)o->prot;
		break;
	case K_MADVISE:
	case K_MSEAL:
		q.a[2] = (uint64_t)o->flags;
		break;
	case K_MREMAP:
		q.a[2] = o->len2;
		q.a[3] = (uint64_t)o->flags;
		q.a[4] = resolve(&s->an, o->addr2);
		break;
	case K_MEMFD:
		snprintf((char *)q.data, sizeof(q.data), "oracle%d", o->obj);
		q.a[0] = (uint64_t)o->flags;
		break;
	case K_FTRUNCATE:
		q.a[0] = o->len;
		break;
	case K_FALLOCATE:
		q.a[0] = (uint64_t)o->flags;
		q.a[1] = o->off;
		q.a[2] = o->len;
		break;
	case K_PWRITE:
		q.a[0] = o->off;
		break;
	default:
		break;
	}
	if (ox_call(p, &q, &rep) != 0) {
		r->died = true;
		return;
	}
	r->ret = rep.ret;
	r->err = rep.err;
	switch (o->k) {
	case K_MMAP:
	case K_MREMAP:
	case K_BRK:
		if (rep.ret != -1 || o->k == K_BRK) {
			r->is_addr = true;
			r->ra = relate(&s->an, (uint64_t)rep.ret);
			r->ret = 0;
		}
		break;
	case K_MEMFD:
		if (rep.ret >= 0 && o->obj >= 0 && o->obj < 8)
			x->fd[o->obj] = (int)rep.ret;
		r->ret = rep.ret >= 0 ? 0 : -1;
		break;
	case K_READ:
	case K_WRITE:
		r->done = rep.done;
		r->sig = rep.sig;
		r->code = rep.code;
		if (rep.sig)
			r->fault = relate(&s->an, rep.fault_addr);
		if (o->k == K_READ) {
			memcpy(r->data, rep.data, rep.done);
			r->ndata = (uint32_t)rep.done;
		}
		break;
	case K_COPY_FROM:
		if (rep.ret > 0) {
			memcpy(r->data, rep.data, (size_t)rep.ret);
			r->ndata = (uint32_t)rep.ret;
		}
		break;
	default:
		break;
	}
}

static bool lx_state(struct side *s, int proc, struct pstate *st)
{
	struct lx *x = s->impl;

	if (ox_get_state(&x->p[proc], &x->st) != 0)
		return false;
	if (!parse_maps(&s->an, x->st.text, st))
		return false;
	for (uint32_t i = 0; i < st->nl; i++)
		st->l[i].vmf = x->st.vmflags[i];
	st->np = x->st.npages;
	for (uint32_t i = 0; i < st->np; i++) {
		st->pg[i].a = relate(&s->an, x->st.pages[i].addr);
		st->pg[i].sum = x->st.pages[i].sum;
	}
	st->brk = s->an.heap_ok ? relate(&s->an, x->st.brk)
				: (struct raddr){B_ABS, 0};
	return true;
}

static struct lx lx_main, lx_other;

static void side_linux(struct side *s, const char *name, struct lx *impl)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->start = lx_start;
	s->stop = lx_stop;
	s->run = lx_run;
	s->state = lx_state;
	s->vmf_known = ~0ull;
	s->impl = impl;
}

/* ---- the layer, over the simulated machine --------------------------- */

#ifdef ORACLE_LAYER
#include <memory_set/aspace.h>
#include <memory_set/aspace_sim.h>

struct ly {
	struct aspace_sim *sim;
	struct aspace as[MAXP];
	void *pt[MAXP];
	bool live[MAXP];
	struct aspace_object *obj[8];
	uint32_t opt_flags;
	uint64_t min_addr, thp_size;
	char *maps;
	size_t maps_cap;
	unsigned char *buf; /* a page */
	char msg[256];
	char model_msg[256]; /* the placement model disagreed */
	unsigned long modelled; /* placements checked against the model */
};

static struct ly ly_main;

static uint64_t host_mmap_min_addr(void)
{
	FILE *f = fopen("/proc/sys/vm/mmap_min_addr", "r");
	unsigned long long v = 0;

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* The layer's guards where Linux has its own: PROT_NONE pages of shared
 * anonymous memory, each its own object, which nothing merges with. */
static bool ly_guard(struct aspace *as, uint64_t at, uint64_t page)
{
	int64_t r = aspace_mmap(as, at, page, ASPACE_PROT_NONE,
				ASPACE_MAP_SHARED | ASPACE_MAP_ANONYMOUS |
					ASPACE_MAP_FIXED,
				NULL, 0);

	return r == (int64_t)at;
}

static int ly_start(struct side *s, const struct anchors *ref, char *why,
		    size_t n)
{
	struct ly *y = s->impl;
	struct aspace_options o;
	const struct anchors *an = ref;
	int e;

	s->an = *ref;
	y->model_msg[0] = 0;
	memset(y->live, 0, sizeof(y->live));
	memset(y->obj, 0, sizeof(y->obj));
	y->sim = aspace_sim_new(an->page, 0);
	if (!y->sim || !(y->pt[0] = aspace_sim_pt_new(y->sim))) {
		snprintf(why, n, "layer: no simulated machine");
		return -1;
	}
	if (!y->buf)
		y->buf = malloc(an->page);
	REL_CHECK(y->buf != NULL, "out of memory");
	aspace_sim_options(y->sim, y->pt[0], &o);
	o.flags = y->opt_flags;
	o.mmap_base = an->hi;
	o.mmap_min_addr = y->min_addr;
	o.thp_size = y->thp_size;
	o.start_brk = an->heap_ok ? an->start_brk : 0;
	e = aspace_init(&y->as[0], &o);
	if (e != 0) {
		snprintf(why, n, "layer: aspace_init: %d", e);
		return -1;
	}
	y->live[0] = true;
	if (!ly_guard(&y->as[0], an->lo - an->page, an->page) ||
	    !ly_guard(&y->as[0], an->hi, an->page) ||
	    (an->heap_ok &&
	     (!ly_guard(&y->as[0], an->start_brk - an->page, an->page) ||
	      !ly_guard(&y->as[0], an->heap_end, an->page)))) {
		snprintf(why, n, "layer: cannot map the guards");
		return -1;
	}
	return 0;
}

static const char *ly_stop(struct side *s)
{
	struct ly *y = s->impl;
	struct aspace_sim_stats st;
	const char *msg = NULL;

	for (int i = 0; i < MAXP; i++) {
		if (!y->live[i])
			continue;
		aspace_destroy(&y->as[i]);
		aspace_sim_pt_free(y->sim, y->pt[i]);
		y->live[i] = false;
	}
	for (int i = 0; i < 8; i++)
		if (y->obj[i])
			aspace_object_put(y->obj[i]);
	aspace_sim_stats(y->sim, &st);
	if (st.frames || st.frame_refs || st.entries || st.tables ||
	    st.blocks || st.nodes) {
		snprintf(y->msg, sizeof(y->msg),
			 "left behind after destroy: %" PRIu64 " frames, %" PRIu64
			 " references, %" PRIu64 " entries, %" PRIu64
			 " tables, %" PRIu64 " blocks, %" PRIu64 " nodes",
			 st.frames, st.frame_refs, st.entries, st.tables,
			 st.blocks, st.nodes);
		msg = y->msg;
	}
	aspace_sim_free(y->sim);
	y->sim = NULL;
	return msg;
}

/* A -errno or an address into r as Linux's side gives it. */
static void ly_ret(struct side *s, struct res *r, int64_t v, bool addr)
{
	if (v < 0 && v >= -4095) {
		r->ret = -1;
		r->err = (int)-v;
	} else if (addr) {
		r->is_addr = true;
		r->ra = relate(&s->an, (uint64_t)v);
	} else {
		r->ret = v;
	}
}

static void ly_fault(struct side *s, struct res *r, enum aspace_fault f,
		     uint64_t at)
{
	switch (f) {
	case ASPACE_FAULT_OK:
		return;
	case ASPACE_FAULT_SEGV_MAPERR:
		r->sig = SIGSEGV, r->code = SEGV_MAPERR;
		break;
	case ASPACE_FAULT_SEGV_ACCERR:
		r->sig = SIGSEGV, r->code = SEGV_ACCERR;
		break;
	case ASPACE_FAULT_SIGBUS:
		r->sig = SIGBUS, r->code = BUS_ADRERR;
		break;
	default:
		r->died = true; /* out of memory: Linux would not be */
		return;
	}
	r->fault = relate(&s->an, at);
}

/* The whole /proc/PID/maps text of a process into y->maps. */
static size_t ly_maps(struct ly *y, int proc)
{
	size_t len;

	for (;;) {
		len = aspace_maps(&y->as[proc], y->maps, y->maps_cap);
		if (len < y->maps_cap)
			return len;
		y->maps_cap = len * 2 + 4096;
		y->maps = realloc(y->maps, y->maps_cap);
		REL_CHECK(y->maps != NULL, "out of memory");
	}
}

/*
 * The placement rule, as a model over the process's maps lines: a hint
 * (rounded to a page as the host does, raised to mmap_min_addr) where
 * [hint, hint + len) is free and below the top of user space; else the
 * highest free range that ends at or below the mmap base (the window's
 * top). 0 if the model has nothing to say (no room below the base).
 */
static uint64_t model_place(struct ly *y, int proc, uint64_t hint,
			    uint64_t len, const struct anchors *an)
{
	uint64_t page = an->page, task = 0x7ffffffff000ull, best = 0;
	uint64_t prev_end = 0, lo, hi;
	const char *p;

	len = (len + page - 1) & ~(page - 1);
	if (hint)
		hint = (y->opt_flags & ASPACE_OPT_HINT_ROUND_DOWN)
			       ? hint & ~(page - 1)
			       : (hint + page - 1) & ~(page - 1);
	if (hint && hint < y->min_addr)
		hint = (y->min_addr + page - 1) & ~(page - 1);
	ly_maps(y, proc);
	if (hint && hint + len <= task && hint + len > hint) {
		bool free_here = true;

		for (p = y->maps; *p; p = strchr(p, '\n') + 1) {
			if (sscanf(p, "%" SCNx64 "-%" SCNx64, &lo, &hi) == 2 &&
			    lo < hint + len && hint < hi)
				free_here = false;
			if (!strchr(p, '\n'))
				break;
		}
		if (free_here)
			return hint;
	}
	/* Gaps in address order; the last that fits below the base wins. */
	for (p = y->maps;; p = strchr(p, '\n') + 1) {
		bool more = *p && sscanf(p, "%" SCNx64 "-%" SCNx64, &lo,
					 &hi) == 2;
		uint64_t gs = prev_end, ge = more ? lo : task;
		uint64_t floor = y->min_addr > page ? y->min_addr : page;

		if (ge > an->hi)
			ge = an->hi;
		if (gs < floor)
			gs = floor;
		if (ge > gs && ge - gs >= len)
			best = ge - len;
		if (!more || lo >= an->hi)
			break;
		prev_end = hi;
		if (!strchr(p, '\n'))
			break;
	}
	return best;
}

static void ly_run(struct side *s, const struct op *o, struct res *r)
{
	struct ly *y = s->impl;
	struct aspace *as = &y->as[o->proc];
	uint64_t a = resolve(&s->an, o->addr);
	uint8_t data[OX_DATA];
	struct aspace_object *obj =
		o->obj >= 0 && o->obj < 8 ? y->obj[o->obj] : NULL;
	size_t done = 0;
	int e;

	memset(r, 0, sizeof(*r));
	op_data(o, data);
	switch (o->k) {
	case K_FORK:
		y->pt[o->child] = aspace_sim_pt_new(y->sim);
		e = y->pt[o->child]
			    ? aspace_fork(&y->as[o->child], as, y->pt[o->child])
			    : -ASPACE_ENOMEM;
		if (e != 0) {
			r->died = true;
			return;
		}
		y->live[o->child] = true;
		return;
	case K_EXIT:
		aspace_destroy(as);
		aspace_sim_pt_free(y->sim, y->pt[o->proc]);
		y->live[o->proc] = false;
		return;
	case K_MMAP: {
		bool placed = !(o->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) &&
			      o->len > 0;
		uint64_t want = placed ? model_place(y, o->proc, a, o->len,
						     &s->an)
				       : 0;
		int64_t got = aspace_mmap(as, a, o->len, (unsigned long)o->prot,
					  (unsigned long)o->flags, obj, o->off);

		if (placed && want && !ASPACE_IS_ERR(got)) {
			y->modelled++;
			if ((uint64_t)got != want && !y->model_msg[0])
				snprintf(y->model_msg, sizeof(y->model_msg),
					 "placed at %#" PRIx64 ", the placement "
					 "model says %#" PRIx64,
					 (uint64_t)got, want);
		}
		ly_ret(s, r, got, true);
		return;
	}
	case K_MUNMAP:
		ly_ret(s, r, aspace_munmap(as, a, o->len), false);
		return;
	case K_MPROTECT:
		ly_ret(s, r, aspace_mprotect(as, a, o->len,
					     (unsigned long)o->prot),
		       false);
		return;
	case K_MREMAP:
		ly_ret(s, r,
		       aspace_mremap(as, a, o->len, o->len2,
				     (unsigned long)o->flags,
				     resolve(&s->an, o->addr2)),
		       true);
		return;
	case K_BRK:
		ly_ret(s, r, (int64_t)aspace_brk(as, a), true);
		return;
	case K_MADVISE:
		ly_ret(s, r, aspace_madvise(as, a, o->len, (int)o->flags),
		       false);
		return;
	case K_MSEAL:
		ly_ret(s, r, aspace_mseal(as, a, o->len,
					  (unsigned long)o->flags),
		       false);
		return;
	case K_READ:
	case K_WRITE: {
		enum aspace_fault f = aspace_sim_access(
			as, a, o->k == K_READ ? r->data : data, o->n,
			o->k == K_READ ? ASPACE_ACCESS_READ
				       : ASPACE_ACCESS_WRITE,
			&done);

		r->done = done;
		ly_fault(s, r, f, a + done);
		if (o->k == K_READ)
			r->ndata = (uint32_t)done;
		return;
	}
	case K_COPY_TO:
		/* read(2) from a pipe: all bytes or EFAULT (those before the
		 * bad one written all the same). */
		e = aspace_copy_to_user(as, a, data, o->n, &done);
		ly_ret(s, r, e == 0 ? (int64_t)o->n : e, false);
		return;
	case K_COPY_FROM:
		/* write(2) to a pipe: all bytes, or EFAULT and none. */
		e = aspace_copy_from_user(as, r->data, a, o->n, &done);
		ly_ret(s, r, e == 0 ? (int64_t)o->n : e, false);
		r->ndata = e == 0 ? o->n : 0;
		return;
	case K_MEMFD: {
		char name[32];

		snprintf(name, sizeof(name), "oracle%d", o->obj);
		e = o->obj >= 0 && o->obj < 8
			    ? aspace_memfd_create(as, name,
						  (unsigned)o->flags,
						  &y->obj[o->obj])
			    : -ASPACE_EINVAL;
		ly_ret(s, r, e, false);
		return;
	}
	case K_FTRUNCATE:
		ly_ret(s, r, obj ? aspace_object_truncate(obj, o->len)
				 : -ASPACE_EBADF,
		       false);
		return;
	case K_FALLOCATE:
		ly_ret(s, r, obj ? aspace_object_fallocate(obj, (int)o->flags,
							   o->off, o->len)
				 : -ASPACE_EBADF,
		       false);
		return;
	case K_PWRITE:
		ly_ret(s, r, obj ? aspace_object_write(obj, o->off, data, o->n)
				 : -ASPACE_EBADF,
		       false);
		return;
	}
}

/* aspace_object_pages() callback: the frame at one offset. */
struct obj_find {
	uint64_t off, frame;
	bool found;
};

static void obj_find_page(void *arg, uint64_t offset, uint64_t frame)
{
	struct obj_find *f = arg;

	if (offset == f->off) {
		f->frame = frame;
		f->found = true;
	}
}

/*
 * A page's sum as /proc/PID/mem would read it (FOLL_FORCE: any rights):
 * the frame the page table maps; else what a fault would bring, without
 * taking one: for an area that maps an object, the object's page (its
 * page cache: the whole page, bytes past the end of the object included;
 * zeroes where it holds none; unreadable past the end), zeroes for private
 * anonymous memory.
 */
static uint64_t ly_page_sum(struct ly *y, int proc, uint64_t va,
			    uint64_t page)
{
	uint64_t v = va, frame;
	unsigned rights;
	struct aspace_area_info ai;

	if (aspace_sim_ops.pt_lookup(y->sim, y->pt[proc], &v, va + page,
				     &frame, &rights) &&
	    v == va)
		return ox_page_sum(aspace_sim_ops.frame_map(y->sim, frame),
				   page);
	if (!aspace_area(&y->as[proc], va, &ai))
		return OX_UNREADABLE;
	if (ai.object) {
		struct obj_find f = {ai.pgoff * page + (va - ai.start), 0,
				     false};

		if (f.off >= aspace_object_size(ai.object))
			return OX_UNREADABLE;
		aspace_object_pages(ai.object, obj_find_page, &f);
		if (f.found)
			return ox_page_sum(
				aspace_sim_ops.frame_map(y->sim, f.frame), page);
	}
	memset(y->buf, 0, page);
	return ox_page_sum(y->buf, page);
}

static bool ly_state(struct side *s, int proc, struct pstate *st)
{
	struct ly *y = s->impl;
	const struct anchors *an = &s->an;
	size_t len;
	char *p, *q, *text;
	uint64_t w[2][2] = {{an->lo, an->hi}, {an->start_brk, an->heap_end}};

	if (!y->live[proc])
		return false;
	len = ly_maps(y, proc);
	/* The lines that meet a window, as the executor picks them. */
	text = malloc(len + 1);
	REL_CHECK(text != NULL, "out of memory");
	q = text;
	st->np = 0;
	for (p = y->maps; *p;) {
		char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) + 1 : strlen(p);
		unsigned long long lo, hi;

		if (sscanf(p, "%llx-%llx", &lo, &hi) == 2) {
			bool meets = false;

			for (int k = 0; k < (an->heap_ok ? 2 : 1); k++) {
				uint64_t a = lo > w[k][0] ? lo : w[k][0];
				uint64_t b = hi < w[k][1] ? hi : w[k][1];

				for (; a < b; a += an->page) {
					REL_CHECK(st->np < OX_PAGES,
						  "too many pages");
					st->pg[st->np].a = relate(an, a);
					st->pg[st->np].sum = ly_page_sum(
						y, proc, a, an->page);
					st->np++;
					meets = true;
				}
			}
			if (meets) {
				memcpy(q, p, l);
				q += l;
			}
		}
		p += l;
	}
	*q = 0;
	if (!parse_maps(an, text, st)) {
		free(text);
		return false;
	}
	free(text);
	for (uint32_t i = 0; i < st->nl; i++) {
		struct aspace_area_info ai;

		st->l[i].vmf = aspace_area(&y->as[proc],
					   resolve(an, st->l[i].lo), &ai)
				       ? ai.flags
				       : 0;
	}
	st->brk = an->heap_ok
			  ? relate(an, aspace_brk(&y->as[proc], 0))
			  : (struct raddr){B_ABS, 0};
	return true;
}

static const char *ly_check(struct side *s)
{
	struct ly *y = s->impl;
	struct aspace *spaces[MAXP];
	struct aspace_object *objs[8];
	size_t n = 0, nobj = 0;
	const char *m;

	if (y->model_msg[0]) {
		snprintf(y->msg, sizeof(y->msg), "%s", y->model_msg);
		return y->msg;
	}
	for (int i = 0; i < MAXP; i++) {
		if (!y->live[i])
			continue;
		if ((m = aspace_check(&y->as[i])) != NULL) {
			snprintf(y->msg, sizeof(y->msg),
				 "process %d: aspace_check: %s", i, m);
			return y->msg;
		}
		spaces[n++] = &y->as[i];
	}
	for (int i = 0; i < 8; i++)
		if (y->obj[i])
			objs[nobj++] = y->obj[i];
	if ((m = aspace_sim_check(y->sim, spaces, n, objs, nobj)) != NULL) {
		snprintf(y->msg, sizeof(y->msg), "aspace_sim_check: %s", m);
		return y->msg;
	}
	return NULL;
}

static void side_layer(struct side *s, struct ly *impl)
{
	memset(s, 0, sizeof(*s));
	s->name = "layer";
	s->start = ly_start;
	s->stop = ly_stop;
	s->run = ly_run;
	s->state = ly_state;
	s->check = ly_check;
	s->atomic = true;
	s->vmf_known = ASPACE_VM_READ | ASPACE_VM_WRITE | ASPACE_VM_EXEC |
		       ASPACE_VM_SHARED | ASPACE_VM_MAYREAD |
		       ASPACE_VM_MAYWRITE | ASPACE_VM_MAYEXEC |
		       ASPACE_VM_MAYSHARE | ASPACE_VM_LOCKED |
		       ASPACE_VM_DONTCOPY | ASPACE_VM_DONTEXPAND |
		       ASPACE_VM_ACCOUNT | ASPACE_VM_NORESERVE |
		       ASPACE_VM_WIPEONFORK | ASPACE_VM_NOHUGEPAGE |
		       ASPACE_VM_SEALED | ASPACE_VM_SEQ_READ |
		       ASPACE_VM_RAND_READ;
	s->impl = impl;
	impl->min_addr = host_mmap_min_addr();
#if defined(__x86_64__) || defined(__i386__)
	impl->opt_flags |= ASPACE_OPT_HINT_ROUND_DOWN;
#endif
	/* Root may map below mmap_min_addr (CAP_SYS_RAWIO). */
	if (geteuid() == 0)
		impl->opt_flags |= ASPACE_OPT_LOW_MAP;
	/* Linux with transparent huge pages aligns anonymous mappings of
	 * whole 2 MiB multiples. */
	if (access("/sys/kernel/mm/transparent_hugepage", F_OK) == 0)
		impl->thp_size = 2u << 20;
}
#endif /* ORACLE_LAYER */

/* ==== the generator ================================================== */

struct gen {
	struct rng g;
	struct anchors an; /* of the reference side, for page size */
	bool live[MAXP];
	int nlive;
	bool heap;         /* both sides have a heap window */
	int level;         /* the layer's milestone: 1 private anonymous
			      memory, 2 shared and file memory, 3 madvise
			      and mseal */
	int boot;          /* calls made that set the episode up */
};

/* Memory files (memfd) of an episode, made first in process 0, so that
 * every process forked later has them. */
#define NOBJ 3

static uint64_t gpage(const struct gen *G)
{
	return G->an.page;
}

/* A page-aligned place in the window's hot top, or deeper. */
static struct raddr hot_addr(struct gen *G, unsigned pages_max)
{
	uint64_t pg = rng_below(&G->g, pages_max);

	return (struct raddr){B_WIN, -(int64_t)((pages_max - pg) * gpage(G))};
}

static struct raddr heap_addr(struct gen *G)
{
	int64_t pg = (int64_t)rng_below(&G->g, HEAP_PAGES);

	return (struct raddr){B_HEAP, pg * (int64_t)gpage(G)};
}

/*
 * Keep [*a, *a + *len) inside its window: Linux's side of the windows
 * holds guards and the executor's own memory, which a call must not
 * change. A range that would leave its window is cut at the window's end
 * (never to 0 bytes: moved down if need be).
 */
static void clip(const struct gen *G, struct raddr *a, uint64_t *len)
{
	int64_t lo, hi;

	if (a->base == B_WIN) {
		lo = -(int64_t)(WIN_PAGES * gpage(G));
		hi = 0;
	} else if (a->base == B_HEAP) {
		lo = 0;
		hi = (int64_t)(HEAP_PAGES * gpage(G));
	} else {
		return;
	}
	if (*len > (uint64_t)(hi - lo))
		*len = (uint64_t)(hi - lo);
	if (a->off < lo)
		a->off = lo;
	if (a->off > hi - 1)
		a->off = hi - (int64_t)gpage(G);
	if (a->off + (int64_t)*len > hi)
		*len = (uint64_t)(hi - a->off);
}

/* A random range inside a random line of st (or false if none): whole
 * line half the time. */
static bool pick_line(struct gen *G, const struct pstate *st,
		      struct raddr *a, uint64_t *len)
{
	const struct mline *m;
	uint64_t pages, off, n;

	if (st->nl == 0)
		return false;
	m = &st->l[rng_below(&G->g, st->nl)];
	if (m->lo.base != m->hi.base || m->lo.base == B_ABS)
		return false;
	pages = (uint64_t)(m->hi.off - m->lo.off) / gpage(G);
	if (pages == 0)
		return false;
	off = rng_chance(&G->g, 50) ? 0 : rng_below(&G->g, pages);
	n = rng_chance(&G->g, 50) ? pages - off
				  : 1 + rng_below(&G->g, pages - off);
	*a = m->lo;
	a->off += (int64_t)(off * gpage(G));
	*len = n * gpage(G);
	return true;
}

/* A range for munmap, mprotect and friends: in a line, or anywhere hot. */
static void pick_range(struct gen *G, const struct pstate *st,
		       struct raddr *a, uint64_t *len)
{
	if (rng_chance(&G->g, 60) && pick_line(G, st, a, len)) {
		if (rng_chance(&G->g, 15))
			*len += (1 + rng_below(&G->g, 3)) * gpage(G);
		return;
	}
	if (G->heap && rng_chance(&G->g, 10))
		*a = heap_addr(G);
	else
		*a = hot_addr(G, HOT_PAGES);
	*len = (1 + rng_below(&G->g, rng_chance(&G->g, 75) ? 6 : 24)) *
	       gpage(G);
}

static int rand_prot(struct gen *G)
{
	return (int)rng_below(&G->g, 8);
}

/* Byte-granular place for an access: in a line mostly, near its ends. */
static void pick_access(struct gen *G, const struct pstate *st, struct op *o)
{
	uint64_t len;

	if (rng_chance(&G->g, 85) && pick_line(G, st, &o->addr, &len)) {
		uint64_t at = rng_below(&G->g, len);

		if (rng_chance(&G->g, 20))
			at = len - rng_below(&G->g, 16) - 1; /* cross the end */
		o->addr.off += (int64_t)at;
	} else {
		o->addr = hot_addr(G, HOT_PAGES);
		o->addr.off += (int64_t)rng_below(&G->g, gpage(G));
	}
	o->n = 1 + (uint32_t)rng_below(&G->g, rng_chance(&G->g, 70) ? 16
								     : OX_DATA);
	o->seed = (uint32_t)rng_next(&G->g);
}

static void gen_mmap(struct gen *G, struct op *o)
{
	uint64_t r = rng_below(&G->g, 100), pages;

	pages = 1 + rng_below(&G->g, rng_chance(&G->g, 75) ? 6 : 16);
	o->len = pages * gpage(G);
	if (rng_chance(&G->g, 3))
		o->len -= rng_below(&G->g, gpage(G)); /* rounded up */
	if (rng_chance(&G->g, 1))
		o->len = 0;
	o->prot = rand_prot(G);
	o->flags = MAP_PRIVATE | MAP_ANONYMOUS;
	if (rng_chance(&G->g, 50))
		o->flags |= MAP_NORESERVE;
	if (rng_chance(&G->g, 8))
		o->flags |= MAP_POPULATE;
	if (rng_chance(&G->g, 2))
		o->flags |= MAP_LOCKED; /* populates, VM_LOCKED */
	if (rng_chance(&G->g, 2))
		o->flags |= MAP_STACK; /* VM_NOHUGEPAGE */
	if (r < 35)
		o->addr = (struct raddr){B_ABS, 0}; /* no hint */
	else if (r < 78)
		o->addr = hot_addr(G, HOT_PAGES);
	else if (r < 82) {
		o->addr = hot_addr(G, HOT_PAGES);
		o->addr.off += 1 + (int64_t)rng_below(&G->g, gpage(G) - 1);
	} else if (r < 92 && G->heap)
		o->addr = heap_addr(G);
	else
		o->addr = hot_addr(G, WIN_PAGES);
	if (o->addr.base != B_ABS) {
		if (rng_chance(&G->g, 35))
			o->flags |= MAP_FIXED;
		else if (rng_chance(&G->g, 20))
			o->flags |= MAP_FIXED_NOREPLACE;
	}
	if (G->level >= 2 && rng_chance(&G->g, 30)) {
		/* Shared anonymous memory, or a memory file's, shared or
		 * private. */
		o->flags &= ~(int64_t)(MAP_PRIVATE | MAP_ANONYMOUS);
		if (rng_chance(&G->g, 30)) {
			o->flags |= MAP_SHARED | MAP_ANONYMOUS;
		} else {
			o->obj = (int)rng_below(&G->g, NOBJ);
			o->flags |= rng_chance(&G->g, 60) ? MAP_SHARED
							   : MAP_PRIVATE;
			o->off = rng_below(&G->g, 6) * gpage(G);
			if (rng_chance(&G->g, 2))
				o->off += 1 + rng_below(&G->g, gpage(G) - 1);
		}
		if (rng_chance(&G->g, 3)) {
			/* Validated: bits Linux knows, refuses (0x200, 0x400,
			 * MAP_SYNC), or ignores (MAP_HUGE_* sizes). */
			static const int64_t extra[] = {0, 0x200, 0x400, 0x80000,
							0x40000000};

			o->flags |= MAP_SHARED_VALIDATE |
				    extra[rng_below(&G->g, 5)];
		}
	}
	if (rng_chance(&G->g, 2))
		o->flags &= ~(int64_t)(MAP_PRIVATE | MAP_SHARED); /* EINVAL */
}

static void gen_mremap(struct gen *G, const struct pstate *st, struct op *o)
{
	uint64_t r = rng_below(&G->g, 100);

	pick_range(G, st, &o->addr, &o->len);
	o->len2 = (1 + rng_below(&G->g, 10)) * gpage(G);
	o->addr2 = (struct raddr){B_ABS, 0};
	if (r < 30) {
		o->flags = 0;
	} else if (r < 55) {
		o->flags = MREMAP_MAYMOVE;
	} else if (r < 75) {
		o->flags = MREMAP_MAYMOVE | MREMAP_FIXED;
		o->addr2 = hot_addr(G, HOT_PAGES);
		if (rng_chance(&G->g, 40))
			o->len2 = o->len; /* a move: over several areas too */
	} else if (r < 90) {
		o->flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
		if (rng_chance(&G->g, 80))
			o->len2 = o->len;
		if (rng_chance(&G->g, 50))
			o->addr2 = hot_addr(G, HOT_PAGES);
	} else if (r < 95) {
		o->flags = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
		o->len2 = o->len;
		o->addr2 = hot_addr(G, HOT_PAGES);
	} else {
		/* Refused: fixed without maymove, an unknown flag, a zero
		 * old length of private memory, a misaligned address. */
		switch (rng_below(&G->g, 4)) {
		case 0:
			o->flags = MREMAP_FIXED;
			o->addr2 = hot_addr(G, HOT_PAGES);
			break;
		case 1:
			o->flags = 0x40;
			break;
		case 2:
			o->flags = MREMAP_MAYMOVE;
			o->len = 0;
			break;
		default:
			o->flags = MREMAP_MAYMOVE;
			o->addr.off += 1;
			break;
		}
	}
	if (rng_chance(&G->g, 3))
		o->len2 -= rng_below(&G->g, gpage(G)); /* rounded up */
}

static int pick_live(struct gen *G)
{
	int k = (int)rng_below(&G->g, (uint64_t)G->nlive);

	for (int i = 0; i < MAXP; i++)
		if (G->live[i] && k-- == 0)
			return i;
	return 0;
}

/* The next call, for the process state st of o->proc. */
/* How often each call comes, per thousand, where it can. */
static unsigned weight(const struct gen *G, int k)
{
	switch (k) {
	case K_FORK:
		return G->nlive < MAXP ? 40 : 0;
	case K_EXIT:
		return G->nlive > 1 ? 15 : 0;
	case K_BRK:
		return G->heap ? 50 : 0;
	case K_MMAP:
		return 225;
	case K_MUNMAP:
		return 110;
	case K_MPROTECT:
		return 140;
	case K_MREMAP:
		return 120;
	case K_READ:
		return 80;
	case K_WRITE:
		return 130;
	case K_COPY_TO:
	case K_COPY_FROM:
		return 35;
	case K_FTRUNCATE:
		return G->level >= 2 ? 25 : 0;
	case K_FALLOCATE:
		return G->level >= 2 ? 15 : 0;
	case K_PWRITE:
		return G->level >= 2 ? 15 : 0;
	case K_MADVISE:
		return G->level >= 3 ? 90 : 0;
	case K_MSEAL:
		return G->level >= 3 ? 12 : 0;
	default:
		return 0;
	}
}

static const int64_t advice[] = {
	MADV_DONTNEED,	MADV_DONTNEED, MADV_FREE,   MADV_DONTFORK,
	MADV_DOFORK,	MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_WILLNEED,
	MADV_RANDOM,	MADV_SEQUENTIAL, MADV_NORMAL, MADV_DONTNEED,
};

static void gen_file(struct gen *G, struct op *o)
{
	o->obj = (int)rng_below(&G->g, NOBJ);
	switch (o->k) {
	case K_FTRUNCATE:
		o->len = rng_below(&G->g, 11) * gpage(G);
		if (rng_chance(&G->g, 30))
			o->len += rng_below(&G->g, gpage(G));
		break;
	case K_FALLOCATE: {
		static const int64_t modes[] = {0, 0, FALLOC_FL_KEEP_SIZE,
						FALLOC_FL_PUNCH_HOLE |
							FALLOC_FL_KEEP_SIZE,
						FALLOC_FL_PUNCH_HOLE |
							FALLOC_FL_KEEP_SIZE,
						FALLOC_FL_PUNCH_HOLE};

		o->flags = modes[rng_below(&G->g, 6)];
		o->off = rng_below(&G->g, 10 * gpage(G));
		o->len = rng_below(&G->g, 4 * gpage(G));
		if (rng_chance(&G->g, 50)) {
			o->off &= ~(gpage(G) - 1);
			o->len = (1 + rng_below(&G->g, 4)) * gpage(G);
		}
		break;
	}
	default: /* K_PWRITE */
		o->off = rng_below(&G->g, 10 * gpage(G));
		o->n = 1 + (uint32_t)rng_below(&G->g, OX_DATA);
		o->seed = (uint32_t)rng_next(&G->g);
		break;
	}
}

/* The next call, for the process states sts. */
static void gen_op(struct gen *G, const struct pstate *sts, struct op *o)
{
	unsigned total = 0, r;
	const struct pstate *st;

	memset(o, 0, sizeof(*o));
	o->obj = -1;
	if (G->level >= 2 && G->boot < 2 * NOBJ) {
		/* The memory files first, then their first sizes. */
		o->k = G->boot < NOBJ ? K_MEMFD : K_FTRUNCATE;
		o->obj = G->boot % NOBJ;
		if (o->k == K_FTRUNCATE) {
			gen_file(G, o);
			o->obj = G->boot % NOBJ;
		}
		G->boot++;
		return;
	}
	o->proc = pick_live(G);
	st = &sts[o->proc];
	for (int k = 0; k < K_KINDS; k++)
		total += weight(G, k);
	r = (unsigned)rng_below(&G->g, total);
	for (o->k = 0; r >= weight(G, o->k); o->k++)
		r -= weight(G, o->k);
	switch (o->k) {
	case K_FORK:
		for (int i = 0; i < MAXP; i++)
			if (!G->live[i]) {
				o->child = i;
				break;
			}
		break;
	case K_EXIT:
		break;
	case K_BRK: {
		int64_t at = (int64_t)rng_below(&G->g, HEAP_PAGES + 2) - 1;

		o->addr = (struct raddr){B_HEAP, at * (int64_t)gpage(G)};
		if (rng_chance(&G->g, 40))
			o->addr.off += (int64_t)rng_below(&G->g, gpage(G));
		if (rng_chance(&G->g, 5))
			o->addr = (struct raddr){B_ABS, 0};
		break;
	}
	case K_MMAP:
		gen_mmap(G, o);
		break;
	case K_MUNMAP:
		pick_range(G, st, &o->addr, &o->len);
		break;
	case K_MPROTECT:
		pick_range(G, st, &o->addr, &o->len);
		o->prot = rand_prot(G);
		break;
	case K_MREMAP:
		gen_mremap(G, st, o);
		break;
	case K_MADVISE:
		pick_range(G, st, &o->addr, &o->len);
		o->flags = rng_chance(&G->g, 2)
				   ? 12345
				   : advice[rng_below(&G->g, sizeof(advice) /
								  sizeof(advice[0]))];
		break;
	case K_MSEAL:
		pick_range(G, st, &o->addr, &o->len);
		o->flags = rng_chance(&G->g, 3) ? 1 : 0;
		break;
	case K_FTRUNCATE:
	case K_FALLOCATE:
	case K_PWRITE:
		gen_file(G, o);
		break;
	default:
		pick_access(G, st, o);
		break;
	}
	if (o->k == K_MMAP || o->k == K_MREMAP || o->k == K_BRK ||
	    o->k == K_FTRUNCATE || o->k == K_FALLOCATE || o->k == K_PWRITE ||
	    o->k >= K_READ)
		goto placed;
	/* munmap, mprotect, madvise, mseal: misaligned, or empty. */
	if (rng_chance(&G->g, 2))
		o->addr.off += 1 + (int64_t)rng_below(&G->g, gpage(G) - 1);
	if (rng_chance(&G->g, 1))
		o->len = 0;
placed:
	switch (o->k) {
	case K_MMAP:
		if (o->flags & MAP_FIXED)
			clip(G, &o->addr, &o->len);
		break;
	case K_MREMAP:
		clip(G, &o->addr, &o->len);
		if (o->flags & MREMAP_FIXED)
			clip(G, &o->addr2, &o->len2);
		break;
	case K_MUNMAP:
	case K_MPROTECT:
	case K_MADVISE:
	case K_MSEAL:
		clip(G, &o->addr, &o->len);
		break;
	case K_READ:
	case K_WRITE:
	case K_COPY_TO:
	case K_COPY_FROM: {
		uint64_t n = o->n;

		clip(G, &o->addr, &n);
		o->n = (uint32_t)n;
		break;
	}
	default:
		break;
	}
}

/* ==== comparison ===================================================== */

struct report {
	char *buf;
	size_t len, cap;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void rp(struct report *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!r)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(r->buf + r->len, r->cap - r->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (r->len + (size_t)n < r->cap)
			break;
		r->cap = (r->cap + (size_t)n) * 2;
		r->buf = realloc(r->buf, r->cap);
		REL_CHECK(r->buf != NULL, "out of memory");
	}
	r->len += (size_t)n;
}

static void res_str(char *buf, size_t n, const struct op *o,
		    const struct res *r)
{
	char a[40], f[40];

	if (r->died) {
		snprintf(buf, n, "the process died");
		return;
	}
	raddr_str(a, sizeof(a), r->ra);
	raddr_str(f, sizeof(f), r->fault);
	if (o->k == K_READ || o->k == K_WRITE)
		snprintf(buf, n, "%" PRIu64 " bytes done%s%s sig %d code %d at %s",
			 r->done, r->sig ? "," : "", r->sig ? " then" : "",
			 r->sig, r->code, r->sig ? f : "-");
	else if (r->is_addr)
		snprintf(buf, n, "%s", a);
	else
		snprintf(buf, n, "%" PRId64 " errno %d (%s)", r->ret, r->err,
			 r->err ? strerror(r->err) : "-");
}

/* Host differences that are not the layer's: x86 protection keys make a
 * load from an execute-only page fault (SEGV_PKUERR, code 4). */
#define SEGV_PKUERR_CODE 4

static bool same_res(const struct op *o, const struct res *a,
		     const struct res *b)
{
	if (a->died || b->died)
		return a->died == b->died;
	if (a->err != b->err || a->is_addr != b->is_addr)
		return false;
	if (a->is_addr ? !raddr_eq(a->ra, b->ra) : a->ret != b->ret)
		return false;
	if (o->k == K_READ || o->k == K_WRITE) {
		int ca = a->code, cb = b->code;

		/* Modulo the host: a key fault is an access fault. */
		if (a->sig == SIGSEGV && ca == SEGV_PKUERR_CODE)
			ca = SEGV_ACCERR;
		if (b->sig == SIGSEGV && cb == SEGV_PKUERR_CODE)
			cb = SEGV_ACCERR;
		if (a->done != b->done || a->sig != b->sig || ca != cb)
			return false;
		if (a->sig && !raddr_eq(a->fault, b->fault))
			return false;
	}
	return a->ndata == b->ndata && memcmp(a->data, b->data, a->ndata) == 0;
}

static void line_str(char *buf, size_t n, const struct mline *m)
{
	char lo[40], hi[40];

	raddr_str(lo, sizeof(lo), m->lo);
	raddr_str(hi, sizeof(hi), m->hi);
	snprintf(buf, n,
		 "%s-%s %s %08" PRIx64 " %02x:%02x %" PRIu64 " %s (VM %#" PRIx64
		 ")",
		 lo, hi, m->perms, m->off, m->maj, m->min, m->ino, m->name,
		 m->vmf);
}

/* Device and inode numbers are each side's own: they must correspond one
 * to one through the episode. */
struct idmap {
	int n;
	struct {
		uint64_t a, b;
	} e[64];
};

static uint64_t dev_ino(const struct mline *m)
{
	return ((uint64_t)m->maj << 56) ^ ((uint64_t)m->min << 48) ^ m->ino;
}

static bool same_id(struct idmap *im, const struct mline *a,
		    const struct mline *b)
{
	uint64_t x = dev_ino(a), y = dev_ino(b);

	if ((x == 0) != (y == 0))
		return false;
	if (x == 0)
		return true;
	for (int i = 0; i < im->n; i++)
		if (im->e[i].a == x || im->e[i].b == y)
			return im->e[i].a == x && im->e[i].b == y;
	if (im->n < 64) {
		im->e[im->n].a = x;
		im->e[im->n].b = y;
		im->n++;
	}
	return true;
}

static bool same_line(struct idmap *im, const struct mline *a,
		      const struct mline *b, uint64_t vmf_mask)
{
	return raddr_eq(a->lo, b->lo) && raddr_eq(a->hi, b->hi) &&
	       strcmp(a->perms, b->perms) == 0 && a->off == b->off &&
	       ((a->vmf ^ b->vmf) & vmf_mask) == 0 &&
	       strcmp(a->name, b->name) == 0 && same_id(im, a, b);
}

static void print_lines(struct report *r, const char *who,
			const struct pstate *st)
{
	char buf[256];

	rp(r, "  %s:\n", who);
	for (uint32_t i = 0; i < st->nl; i++) {
		line_str(buf, sizeof(buf), &st->l[i]);
		rp(r, "    %s\n", buf);
	}
}

static bool same_state(struct idmap *im, int proc, const struct side *A,
		       const struct pstate *a, const struct side *B,
		       const struct pstate *b, struct report *r)
{
	bool same = a->nl == b->nl && raddr_eq(a->brk, b->brk);
	char x[40], y[40];

	for (uint32_t i = 0; same && i < a->nl; i++)
		same = same_line(im, &a->l[i], &b->l[i],
				 A->vmf_known & B->vmf_known);
	if (!same) {
		raddr_str(x, sizeof(x), a->brk);
		raddr_str(y, sizeof(y), b->brk);
		rp(r, "process %d: the maps lines differ (break %s on %s, %s on %s)\n",
		   proc, x, A->name, y, B->name);
		print_lines(r, A->name, a);
		print_lines(r, B->name, b);
		return false;
	}
	same = a->np == b->np;
	for (uint32_t i = 0; same && i < a->np; i++)
		same = raddr_eq(a->pg[i].a, b->pg[i].a) &&
		       a->pg[i].sum == b->pg[i].sum;
	if (!same) {
		rp(r, "process %d: page contents differ\n", proc);
		for (uint32_t i = 0; i < a->np || i < b->np; i++) {
			bool d = i >= a->np || i >= b->np ||
				 !raddr_eq(a->pg[i].a, b->pg[i].a) ||
				 a->pg[i].sum != b->pg[i].sum;

			if (!d)
				continue;
			raddr_str(x, sizeof(x), i < a->np ? a->pg[i].a : b->pg[i].a);
			rp(r, "  page %s: %s %016" PRIx64 ", %s %016" PRIx64 "\n",
			   x, A->name, i < a->np ? a->pg[i].sum : 0, B->name,
			   i < b->np ? b->pg[i].sum : 0);
		}
	}
	return same;
}

/* ==== episodes ======================================================= */

/* The calls the layer has so far: its milestone (see struct gen). */
#ifndef ORACLE_LEVEL
#define ORACLE_LEVEL 3
#endif
static int level = ORACLE_LEVEL;
static bool trace; /* print every call and its result */

struct episode {
	struct op *ops;
	size_t n, cap;
};

static void ep_add(struct episode *e, const struct op *o)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 256;
		e->ops = realloc(e->ops, e->cap * sizeof(*e->ops));
		REL_CHECK(e->ops != NULL, "out of memory");
	}
	e->ops[e->n++] = *o;
}

static struct pstate st_a[MAXP], st_b[MAXP];

/* Counts of what was compared, to show the run meant something. */
static struct {
	unsigned long calls, ok, failed, faults, pages, forks, episodes;
	unsigned long kind[K_KINDS];
} stats;

static bool setup_ok(const struct side *A, const struct side *B)
{
	return A->an.page == B->an.page;
}

/* Describe call i and its difference in r; the message is the rest. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void differ(struct report *r, size_t i, const struct op *o,
		   const char *fmt, ...)
{
	char os[256], msg[512];
	va_list ap;

	op_str(os, sizeof(os), o);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rp(r, "call %zu: %s\n%s", i, os, msg);
}

/* Compare every live process of both sides; false (and r told) at the
 * first difference. */
static bool compare_all(struct side *A, struct side *B, const bool *live,
			struct idmap *im, size_t i, const struct op *o,
			struct report *r)
{
	for (int p = 0; p < MAXP; p++) {
		if (!live[p])
			continue;
		if (!A->state(A, p, &st_a[p]) || !B->state(B, p, &st_b[p])) {
			differ(r, i, o, "  process %d is gone\n", p);
			return false;
		}
		if (!same_state(im, p, A, &st_a[p], B, &st_b[p], NULL)) {
			differ(r, i, o, "%s", "");
			same_state(im, p, A, &st_a[p], B, &st_b[p], r);
			return false;
		}
		stats.pages += st_a[p].np;
	}
	return true;
}

static struct pstate st_tmp; /* a state read between comparisons */

static unsigned long mirrored; /* partial failures of Linux mirrored */

static unsigned long healed; /* Linux's splits of a failed call undone */

/* The calls that healed Linux after the last failed call, which the other
 * side then makes too (heal_splits()). */
#define MAX_HEAL 32
static struct op heal_ops[MAX_HEAL];
static unsigned nheal;

/* Linux's state of the call's process after a failed call (healed). */
static struct pstate st_lx_after;

static int perms_prot(const char *perms)
{
	return (perms[0] == 'r' ? PROT_READ : 0) |
	       (perms[1] == 'w' ? PROT_WRITE : 0) |
	       (perms[2] == 'x' ? PROT_EXEC : 0);
}

/* Two lines one piece of an area would make: same attributes, and for a
 * file, offsets that follow on. The names may differ: [heap] goes by
 * where a piece lies (it must meet the heap's range). */
static bool same_area(const struct mline *a, const struct mline *b)
{
	return raddr_eq(a->hi, b->lo) && strcmp(a->perms, b->perms) == 0 &&
	       a->vmf == b->vmf && a->ino == b->ino && a->maj == b->maj &&
	       a->min == b->min &&
	       (strcmp(a->name, b->name) == 0 || a->ino == 0) &&
	       (a->ino == 0 ||
		b->off == a->off + (uint64_t)(a->hi.off - a->lo.off));
}

/*
 * A failed munmap, or a MAP_FIXED mapping refused over a sealed area, or a
 * refused brk, may leave Linux with an area split where the range starts
 * (the split comes before the check that fails, and is not undone): two
 * lines where there was one, alike in all but their range. The layer
 * changes nothing. Heal Linux: mprotect the second piece to another
 * protection and back, and Linux merges it into the first again. The other
 * protection is one no neighbour has (so nothing else merges) and not
 * writable (so the accounting flags come back as they were, unless the
 * piece is anonymous memory that never held a page: Linux then drops its
 * VM_ACCOUNT, and the pieces stay apart). The other side makes the same
 * calls afterwards (mirror_heals()), so both sides end alike either way.
 * Returns false (r told) if Linux cannot be healed.
 */
static bool heal_splits(struct side *A, size_t i, const struct op *o,
			struct report *r)
{
	int proc = o->proc;
	const struct pstate *pre = &st_a[proc];
	struct pstate *post = &st_lx_after;

	nheal = 0;
	if (!A->state(A, proc, post))
		return true; /* told by the comparison that follows */
	for (uint32_t j = 1; j < post->nl; j++) {
		const struct mline *a = &post->l[j - 1], *b = &post->l[j];
		bool inside = false;
		static const int others[] = {PROT_NONE, PROT_READ,
					     PROT_READ | PROT_EXEC};
		int orig = perms_prot(b->perms), other = -1;
		struct op m;
		struct res res;

		for (uint32_t k = 0; k < pre->nl && !inside; k++)
			inside = pre->l[k].lo.base == b->lo.base &&
				 pre->l[k].lo.off < b->lo.off &&
				 b->lo.off < pre->l[k].hi.off;
		if (!inside || !same_area(a, b))
			continue;
		for (int k = 0; k < 3 && other < 0; k++)
			if (others[k] != orig &&
			    (j + 1 == post->nl ||
			     !raddr_eq(post->l[j + 1].lo, b->hi) ||
			     perms_prot(post->l[j + 1].perms) != others[k]))
				other = others[k];
		memset(&m, 0, sizeof(m));
		m.k = K_MPROTECT;
		m.proc = proc;
		m.obj = -1;
		m.addr = b->lo;
		m.len = (uint64_t)(b->hi.off - b->lo.off);
		m.prot = other;
		if (nheal + 2 > MAX_HEAL) {
			differ(r, i, o, "  %s: more than %d splits to heal\n",
			       A->name, MAX_HEAL / 2);
			return false;
		}
		heal_ops[nheal++] = m;
		A->run(A, &m, &res);
		if (!res.err) {
			m.prot = orig;
			heal_ops[nheal++] = m;
			A->run(A, &m, &res);
		}
		if (res.err) {
			differ(r, i, o, "  %s: cannot merge back its split at "
					"line %u: errno %d\n",
			       A->name, j, res.err);
			return false;
		}
		healed++;
		if (!A->state(A, proc, post))
			return true;
		j = 0; /* the lines moved */
	}
	return true;
}

/*
 * Side B makes the calls that healed Linux (once after_failure() found it
 * unchanged by the failed call): each must succeed there too, and both
 * sides are then compared as after any call.
 */
static bool mirror_heals(struct side *B, size_t i, const struct op *o,
			 struct report *r)
{
	for (unsigned k = 0; k < nheal; k++) {
		struct res res;

		B->run(B, &heal_ops[k], &res);
		if (res.err) {
			differ(r, i, o, "  %s: a call that healed Linux fails: "
					"errno %d\n", B->name, res.err);
			return false;
		}
	}
	nheal = 0;
	return true;
}

/* Did [lo, hi) change between two states of one side: its lines or its
 * pages' sums? */
static bool range_changed(const struct side *S, const struct pstate *x,
			  const struct pstate *y, uint64_t lo, uint64_t hi)
{
	uint64_t sx = 0, sy = 0;

	for (int w = 0; w < 2; w++) {
		const struct pstate *st = w ? y : x;
		uint64_t *sum = w ? &sy : &sx;

		for (uint32_t k = 0; k < st->nl; k++) {
			uint64_t a = resolve(&S->an, st->l[k].lo);
			uint64_t b = resolve(&S->an, st->l[k].hi);

			if (a < hi && lo < b)
				*sum = (*sum ^ a ^ (b << 1) ^ st->l[k].vmf) *
				       0x100000001b3ull;
		}
		for (uint32_t k = 0; k < st->np; k++) {
			uint64_t a = resolve(&S->an, st->pg[k].a);

			if (a >= lo && a < hi)
				*sum = (*sum ^ a ^ st->pg[k].sum) *
				       0x100000001b3ull;
		}
	}
	return sx != sy;
}

/* Run the calls Linux made before it failed on B, piece by piece: pre's
 * areas in [start, end) in order, op applied to each (moved to new + its
 * offset for mremap), up to one B refuses; mprotect stops at a hole too. */
static void mirror_pieces(struct side *B, const struct pstate *pre,
			  const struct op *o, uint64_t start, uint64_t end)
{
	uint64_t pos = start;

	for (uint32_t k = 0; k < pre->nl; k++) {
		uint64_t lo = resolve(&B->an, pre->l[k].lo);
		uint64_t hi = resolve(&B->an, pre->l[k].hi);
		struct op piece = *o;
		struct res res;

		if (hi <= start || lo >= end)
			continue;
		lo = lo > start ? lo : start;
		hi = hi < end ? hi : end;
		if (lo > pos && o->k == K_MPROTECT)
			break;
		piece.addr = relate(&B->an, lo);
		piece.len = hi - lo;
		if (o->k == K_MREMAP) {
			piece.len2 = hi - lo;
			piece.addr2.off += (int64_t)(lo - start);
		}
		B->run(B, &piece, &res);
		if (res.err)
			break;
		mirrored++;
		pos = hi;
	}
}

/*
 * After a call that failed alike on both sides, where B is atomic: B must
 * be as it was before the call (st_b, the state last compared). Where
 * Linux changes things before it fails, B is then asked for the same
 * changes, as Linux made them, and goes on from Linux's state:
 * - mprotect: the areas from the start, one by one, up to the first hole
 *   or the first area that refuses (sealed, the object's mode);
 * - madvise: every area in the range, holes skipped, up to the first that
 *   refuses (sealed, not anonymous);
 * - mremap with MREMAP_FIXED, where Linux's target range changed: a move
 *   of the same length goes area by area (Linux 6.17 on) and stops at the
 *   first area that refuses (sealed); a shrinking move unmaps the target
 *   first, then the old range's tail, and the tail may refuse.
 * A piece that B refuses ends it, as it ends Linux's walk. Arguments Linux
 * refuses before it changes anything (a misaligned start) mirror nothing.
 * Returns false (r told) if B changed anything by failing.
 */
static bool after_failure(struct side *A, struct side *B, size_t i,
			  const struct op *o, struct report *r)
{
	const struct pstate *pre = &st_b[o->proc];
	struct idmap same = {0}, *im = &same;
	uint64_t page = B->an.page, start = resolve(&B->an, o->addr), end;
	uint64_t to = resolve(&B->an, o->addr2);

	if (o->k == K_READ || o->k == K_WRITE || o->k == K_COPY_TO ||
	    o->k == K_COPY_FROM || o->k == K_FORK || o->k == K_EXIT ||
	    o->k == K_BRK)
		return true; /* a copy's bytes before the fault stay */
	if (!B->state(B, o->proc, &st_tmp)) {
		differ(r, i, o, "  process %d is gone\n", o->proc);
		return false;
	}
	if (!same_state(im, o->proc, B, pre, B, &st_tmp, NULL)) {
		differ(r, i, o, "  %s changed on a failed call (before, after):\n",
		       B->name);
		same_state(im, o->proc, B, pre, B, &st_tmp, r);
		return false;
	}
	if (start % page)
		return true;
	end = start + ((o->len + page - 1) & ~(page - 1));
	if (o->k == K_MPROTECT || o->k == K_MADVISE) {
		mirror_pieces(B, pre, o, start, end);
	} else if (o->k == K_MREMAP && (o->flags & MREMAP_FIXED) &&
		   to % page == 0) {
		uint64_t nlen = (o->len2 + page - 1) & ~(page - 1);
		struct op m = *o;
		struct res res;

		if (!range_changed(A, &st_a[o->proc], &st_lx_after, to,
				   to + nlen))
			return true;
		if (nlen == end - start) {
			mirror_pieces(B, pre, o, start, end);
			return true;
		}
		m.k = K_MUNMAP;
		m.len = nlen;
		m.addr = o->addr2;
		B->run(B, &m, &res);
		if (!res.err && nlen < end - start) {
			m.addr = relate(&B->an, start + nlen);
			m.len = end - start - nlen;
			B->run(B, &m, &res);
		}
		mirrored++;
	}
	return true;
}

/*
 * Run one episode on sides A (Linux) and B: the calls of *given if replay,
 * else nops calls drawn from g and appended to *given. Compares after each
 * call; on the first difference describes it in *r and returns its index;
 * returns -1 if all agree, -2 if the sides could not start.
 */
static long run_episode(struct side *A, struct side *B, struct rng *g,
			struct episode *given, size_t nops, bool replay,
			struct report *r)
{
	struct gen G;
	struct idmap im = {0};
	char why[256];
	const char *msg;
	long bad = -1;
	size_t n = replay ? given->n : nops, i;
	struct op o;

	memset(&o, 0, sizeof(o));
	if (A->start(A, NULL, why, sizeof(why)) != 0) {
		rp(r, "%s\n", why);
		return -2;
	}
	if (B->start(B, &A->an, why, sizeof(why)) != 0) {
		A->stop(A);
		rp(r, "%s\n", why);
		return -2;
	}
	REL_CHECK(setup_ok(A, B), "the sides' pages differ");
	memset(&G, 0, sizeof(G));
	if (g)
		G.g = *g;
	G.an = A->an;
	G.live[0] = true;
	G.nlive = 1;
	G.heap = A->an.heap_ok && B->an.heap_ok;
	G.level = level;
	memset(st_a, 0, sizeof(st_a));
	memset(st_b, 0, sizeof(st_b));
	if (!compare_all(A, B, G.live, &im, 0, &o, r))
		bad = 0;
	for (i = 0; i < n && bad < 0; i++) {
		struct res ra, rb;

		if (replay) {
			o = given->ops[i];
			if (!G.live[o.proc] ||
			    (o.k == K_FORK && G.live[o.child]))
				continue; /* dropped by shrinking */
			if (!G.heap && (o.k == K_BRK ||
					o.addr.base == B_HEAP))
				continue;
		} else {
			gen_op(&G, st_a, &o);
			ep_add(given, &o);
		}
		A->run(A, &o, &ra);
		B->run(B, &o, &rb);
		stats.calls++;
		stats.kind[o.k]++;
		if (!ra.died && ra.err == 0)
			stats.ok++;
		else
			stats.failed++;
		if (ra.sig)
			stats.faults++;
		if (trace) {
			char os[256], x[160];

			op_str(os, sizeof(os), &o);
			res_str(x, sizeof(x), &o, &ra);
			printf("%zu: %s -> %s\n", i, os, x);
		}
		if (!same_res(&o, &ra, &rb)) {
			char x[160], y[160];

			res_str(x, sizeof(x), &o, &ra);
			res_str(y, sizeof(y), &o, &rb);
			differ(r, i, &o, "  %s: %s\n  %s: %s\n", A->name, x,
			       B->name, y);
			bad = (long)i;
			break;
		}
		if (B->check && (msg = B->check(B)) != NULL) {
			differ(r, i, &o, "  %s: %s\n", B->name, msg);
			bad = (long)i;
			break;
		}
		if (B->atomic && !rb.died && (rb.err || o.k == K_BRK) &&
		    (!heal_splits(A, i, &o, r) ||
		     !after_failure(A, B, i, &o, r) ||
		     !mirror_heals(B, i, &o, r))) {
			bad = (long)i;
			break;
		}
		if (o.k == K_FORK) {
			G.live[o.child] = true;
			G.nlive++;
			stats.forks++;
		} else if (o.k == K_EXIT) {
			G.live[o.proc] = false;
			G.nlive--;
		}
		if (!compare_all(A, B, G.live, &im, i, &o, r))
			bad = (long)i;
		else if (trace && G.live[o.proc]) {
			struct report t = {0};

			print_lines(&t, A->name, &st_a[o.proc]);
			printf("%s", t.buf ? t.buf : "");
			free(t.buf);
		}
	}
	if (g)
		*g = G.g;
	A->stop(A);
	if ((msg = B->stop(B)) != NULL && bad < 0 && i > 0) {
		differ(r, i - 1, &o, "  at the end, %s: %s\n", B->name, msg);
		bad = (long)(i - 1);
	}
	stats.episodes++;
	return bad;
}

/* ==== replay files =================================================== */

static void write_replay(FILE *f, const struct episode *e, size_t upto,
			 uint64_t seed)
{
	char os[256];

	fprintf(f, "# aspace_oracle replay (seed %#" PRIx64 "): one call a line;"
		   " run with aspace_oracle --replay FILE\n", seed);
	for (size_t i = 0; i <= upto && i < e->n; i++) {
		op_str(os, sizeof(os), &e->ops[i]);
		fprintf(f, "%s\n", os);
	}
}

static bool read_replay(const char *path, struct episode *e)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int ln = 0;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		struct op o;

		ln++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (!op_parse(line, &o)) {
			fprintf(stderr, "%s:%d: cannot parse: %s", path, ln, line);
			fclose(f);
			return false;
		}
		ep_add(e, &o);
	}
	fclose(f);
	return true;
}

/*
 * Fewer calls that still show a difference: drop chunks of calls
 * (halves, then quarters, ... single calls) while the replay still fails,
 * within a time budget. Forks and exits stay consistent: a replay skips a
 * call whose process is not alive.
 */
static void shrink(struct side *A, struct side *B, struct episode *e,
		   long *bad, double budget)
{
	struct timespec t0, t;
	size_t chunk;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	e->n = (size_t)*bad + 1;
	for (chunk = e->n / 2; chunk >= 1; chunk /= 2) {
		for (size_t at = 0; at + 1 < e->n;) {
			struct episode c = {0};
			long b;
			size_t end = at + chunk < e->n - 1 ? at + chunk : e->n - 1;

			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((double)(t.tv_sec - t0.tv_sec) > budget)
				return;
			for (size_t i = 0; i < e->n; i++)
				if (i < at || i >= end)
					ep_add(&c, &e->ops[i]);
			b = run_episode(A, B, NULL, &c, 0, true, NULL);
			if (b >= 0) {
				free(e->ops);
				*e = c;
				e->n = (size_t)b + 1;
				*bad = b;
			} else {
				free(c.ops);
				at = end;
			}
		}
		if (chunk == 1)
			break;
	}
}

/* ==== main =========================================================== */

#ifdef ORACLE_LAYER
static sigjmp_buf probe_jb;

static void probe_handler(int sig)
{
	(void)sig;
	siglongjmp(probe_jb, 1);
}

/* Can this host's processes read execute-only memory? (Not on x86 with
 * protection keys, nor arm64 with execute-only support.) */
static bool host_exec_readable(void)
{
	struct sigaction sa, old;
	volatile bool ok = false;
	volatile unsigned char *p = mmap(NULL, 4096, PROT_EXEC,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return true;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = probe_handler;
	sigaction(SIGSEGV, &sa, &old);
	if (sigsetjmp(probe_jb, 1) == 0) {
		(void)p[0];
		ok = true;
	}
	sigaction(SIGSEGV, &old, NULL);
	munmap((void *)p, 4096);
	return ok;
}
#endif

static void usage(void)
{
	fprintf(stderr,
		"usage: aspace_oracle [--ops N] [--seed S] [--episode N] [--self]\n"
		"                     [--level 1|2|3]\n"
		"       aspace_oracle --replay FILE... [--self]\n");
	exit(2);
}

/* Report a difference: the description, the replay file, shrunk. */
static int report_difference(struct side *A, struct side *B,
			     struct episode *e, long bad, uint64_t seed,
			     struct report *r)
{
	char path[64], dir[512];
	FILE *f;
	struct report r2 = {0};

	fprintf(stderr, "aspace_oracle: DIFFERENCE (seed %#" PRIx64 ")\n%s",
		seed, r->buf);
	shrink(A, B, e, &bad, 60.0);
	snprintf(path, sizeof(path), "aspace_oracle-%016" PRIx64 ".replay",
		 seed);
	f = fopen(path, "w");
	if (f) {
		write_replay(f, e, (size_t)bad, seed);
		fclose(f);
	}
	/* The shrunk replay's own difference. */
	if (run_episode(A, B, NULL, e, 0, true, &r2) >= 0)
		fprintf(stderr, "shrunk to %zu calls:\n%s", e->n, r2.buf);
	write_replay(stderr, e, (size_t)bad, seed);
	if (!getcwd(dir, sizeof(dir)))
		snprintf(dir, sizeof(dir), ".");
	fprintf(stderr, "replay file: %s/%s (aspace_oracle --replay %s%s)\n",
		dir, path, path, B->impl == &lx_other ? " --self" : "");
	free(r2.buf);
	return 1;
}

int main(int argc, char **argv)
{
	unsigned long nops = rel_scaled(12000, 10000), per = 300;
	uint64_t seed = 0;
	bool have_seed = false, self = false;
	const char *replay[64];
	int nreplay = 0;
	struct side A, B;
	struct report r = {0};
	struct rng g;

	if (argc == 2 && strcmp(argv[1], "--executor") == 0)
		ox_executor_main();
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
			nops = strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			seed = strtoull(argv[++i], NULL, 0);
			have_seed = true;
		} else if (strcmp(argv[i], "--episode") == 0 && i + 1 < argc)
			per = strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--replay") == 0 && i + 1 < argc &&
			 nreplay < 64)
			replay[nreplay++] = argv[++i];
		else if (nreplay > 0 && nreplay < 64 && argv[i][0] != '-')
			replay[nreplay++] = argv[i]; /* --replay A B C */
		else if (strcmp(argv[i], "--self") == 0)
			self = true;
		else if (strcmp(argv[i], "--level") == 0 && i + 1 < argc)
			level = atoi(argv[++i]);
		else if (strcmp(argv[i], "--trace") == 0)
			trace = true;
		else
			usage();
	}
	if (rel_overcommit_never()) {
		printf("aspace_oracle: skipped, vm.overcommit_memory is 2\n");
		return SKIP;
	}
	side_linux(&A, "linux", &lx_main);
	if (self) {
		level = 3; /* Linux has it all */
		side_linux(&B, "linux-again", &lx_other);
	} else {
#ifdef ORACLE_LAYER
		side_layer(&B, &ly_main);
		if (host_exec_readable())
			ly_main.opt_flags |= ASPACE_OPT_EXEC_READABLE;
#else
		fprintf(stderr, "aspace_oracle: built without the layer; "
				"--self only\n");
		return SKIP;
#endif
	}

	if (nreplay) {
		int failed = 0;

		for (int k = 0; k < nreplay; k++) {
			struct episode e = {0};
			long bad;

			r.len = 0;
			if (!read_replay(replay[k], &e))
				return 2;
			bad = run_episode(&A, &B, NULL, &e, 0, true, &r);
			if (bad == -2) {
				fprintf(stderr, "aspace_oracle: %s", r.buf);
				return SKIP;
			}
			if (bad >= 0) {
				fprintf(stderr, "aspace_oracle: %s: DIFFERENCE\n%s",
					replay[k], r.buf);
				failed++;
			} else {
				printf("aspace_oracle: %zu calls of %s agree\n",
				       e.n, replay[k]);
			}
			free(e.ops);
		}
		free(r.buf);
		return failed ? 1 : 0;
	}
	if (!have_seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	printf("aspace_oracle: seed %#" PRIx64 " (again: aspace_oracle --seed %#"
	       PRIx64 "%s)\n", seed, seed, self ? " --self" : "");
	fflush(stdout);
	g.s = seed;
	while (stats.calls < nops) {
		struct episode e = {0};
		uint64_t ep_seed = rng_next(&g);
		struct rng eg = {ep_seed};
		long bad = run_episode(&A, &B, &eg, &e, per, false, &r);

		if (bad == -2) {
			printf("aspace_oracle: skipped: %s", r.buf);
			return SKIP;
		}
		if (bad >= 0)
			return report_difference(&A, &B, &e, bad, seed, &r);
		free(e.ops);
	}
	printf("aspace_oracle: %lu calls in %lu episodes agree (%lu succeeded, "
	       "%lu refused, %lu faults, %lu forks, %lu pages compared, "
	       "%lu pieces of Linux's partial failures mirrored, %lu of its "
	       "splits healed)\n",
	       stats.calls, stats.episodes, stats.ok, stats.failed,
	       stats.faults, stats.forks, stats.pages, mirrored, healed);
	for (int k = 0; k < K_KINDS; k++)
		if (stats.kind[k])
			printf("  %-10s %lu\n", kname[k], stats.kind[k]);
	free(r.buf);
	return 0;
}
