/*
 * The Linux side of the address-space oracle; see oracle_host.h.
 *
 * The executor half below runs in a process of its own and must not
 * change its address space but on command: no malloc, no stdio, no
 * library call that might map memory. It keeps what it needs in static
 * buffers and parses /proc/self/maps by hand.
 */
#define _GNU_SOURCE /* mremap, memfd_create, fallocate, MAP_* */

#include "oracle_host.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef SYS_mseal
#define SYS_mseal 462
#endif

#define OX_SOCK 3

uint64_t ox_page_sum(const void *page, size_t size)
{
	const unsigned char *b = page;
	uint64_t h[4] = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull,
			 0x9e3779b97f4a7c15ull, 0xbf58476d1ce4e5b9ull};
	uint64_t any = 0, x;
	size_t i;

	/* Most pages are zero (never written): a quick OR first. */
	for (i = 0; i + 8 <= size; i += 8) {
		memcpy(&x, b + i, 8);
		any |= x;
	}
	if (!any)
		return 0x5a5a5a5a5a5a5a5aull ^ size;
	/* Four lanes of multiply-xorshift over 8-byte words (so that they
	 * run side by side), then mixed: every byte and its place count. */
	for (i = 0; i + 32 <= size; i += 32)
		for (int l = 0; l < 4; l++) {
			memcpy(&x, b + i + 8 * l, 8);
			h[l] = (h[l] ^ x) * 0x100000001b3ull;
			h[l] ^= h[l] >> 29;
		}
	x = h[0] ^ (h[1] * 0xff51afd7ed558ccdull) ^
	    (h[2] * 0xc4ceb9fe1a85ec53ull) ^ (h[3] >> 7 | h[3] << 57);
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x == OX_UNREADABLE ? x + 1 : x;
}

/* ==== the executor ================================================== */

static struct ox_layout xl;
static int x_sock = OX_SOCK, x_mem = -1;
static char x_maps[1024 * 1024];
static unsigned char x_page[65536];
static struct ox_state x_state;

static sigjmp_buf x_jb;
static volatile sig_atomic_t x_armed;
static volatile int x_sig, x_code;
static volatile uint64_t x_addr;

static void x_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!x_armed) {
		/* Not a probe: die of it, the harness sees the socket close. */
		signal(sig, SIG_DFL);
		return;
	}
	x_sig = sig;
	x_code = si->si_code;
	x_addr = (uint64_t)(uintptr_t)si->si_addr;
	siglongjmp(x_jb, 1);
}

static void x_send(const void *msg, size_t len)
{
	if (send(x_sock, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
		_exit(2);
}

static size_t x_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static void x_why(const char *s)
{
	size_t n = x_strlen(s);

	if (n >= sizeof(xl.why))
		n = sizeof(xl.why) - 1;
	memcpy(xl.why, s, n);
	xl.why[n] = 0;
}

/* Read the whole of /proc/self/maps (or another /proc file) into buf. */
static size_t x_read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	if (fd < 0)
		return 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	return n;
}

static uint64_t x_hex(const char **p)
{
	uint64_t v = 0;

	for (;; (*p)++) {
		char c = **p;

		if (c >= '0' && c <= '9')
			v = v * 16 + (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uint64_t)(c - 'a' + 10);
		else
			return v;
	}
}

/* Next line of buf at *p: its range in *lo, *hi; the line is [*p, end). */
static bool x_next_line(const char **p, const char **line, size_t *len,
			uint64_t *lo, uint64_t *hi)
{
	const char *s = *p, *e;

	if (!*s)
		return false;
	e = s;
	while (*e && *e != '\n')
		e++;
	*line = s;
	*len = (size_t)(e - s);
	*lo = x_hex(&s);
	s++;
	*hi = x_hex(&s);
	*p = *e ? e + 1 : e;
	return true;
}

/* Does any mapping meet [lo, hi)? */
static bool x_any_mapped(uint64_t lo, uint64_t hi)
{
	const char *p = x_maps, *line;
	size_t len;
	uint64_t a, b;

	x_read_file("/proc/self/maps", x_maps, sizeof(x_maps));
	while (x_next_line(&p, &line, &len, &a, &b))
		if (a < hi && lo < b)
			return true;
	return false;
}

/* The 47th field of /proc/self/stat: start_brk. */
static uint64_t x_start_brk(void)
{
	char buf[1024];
	const char *p;
	int field = 2;
	uint64_t v = 0;

	x_read_file("/proc/self/stat", buf, sizeof(buf));
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p)
		return 0;
	p++;
	while (*p && field < 47) {
		if (*p == ' ')
			field++;
		p++;
	}
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	return v;
}

static bool x_guard(uint64_t at, uint64_t page)
{
	void *g = mmap((void *)(uintptr_t)at, page, PROT_NONE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	return g == (void *)(uintptr_t)at;
}

static bool x_guard_over(uint64_t at, uint64_t page)
{
	void *g = mmap((void *)(uintptr_t)at, page, PROT_NONE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	return g == (void *)(uintptr_t)at;
}

#define X_PROBE (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

static int x_setup(uint64_t win, uint64_t heap)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), s;
	void *p;

	xl.page = page;
	/* The window with a page on each side, top-down below the mmap
	 * base; the sides become guards, the middle is freed. */
	p = mmap(NULL, win + 2 * page, PROT_NONE, X_PROBE, -1, 0);
	if (p == MAP_FAILED) {
		x_why("cannot reserve the mmap window");
		return -1;
	}
	xl.lo = (uint64_t)(uintptr_t)p + page;
	xl.hi = xl.lo + win;
	if (!x_guard_over(xl.lo - page, page) || !x_guard_over(xl.hi, page) ||
	    munmap((void *)(uintptr_t)xl.lo, win) != 0) {
		x_why("cannot guard the mmap window");
		return -1;
	}
	/* Fill every gap above the window: a probe that lands above it
	 * stays; one that lands in the window shows no gap of its size is
	 * left above. */
	for (s = page; s * 2 <= win; s *= 2)
		;
	for (; s >= page; s /= 2) {
		for (;;) {
			uint64_t q;

			p = mmap(NULL, s, PROT_NONE, X_PROBE, -1, 0);
			if (p == MAP_FAILED) {
				x_why("a probe failed");
				return -1;
			}
			q = (uint64_t)(uintptr_t)p;
			if (q > xl.hi) {
				xl.fillers++;
				continue;
			}
			munmap(p, s);
			if (q != xl.hi - s) {
				x_why("a probe landed below the window's top");
				return -1;
			}
			break;
		}
	}
	if (x_any_mapped(xl.lo, xl.hi)) {
		x_why("the mmap window is not free");
		return -1;
	}
	/* The heap window: from the break, if no heap was made yet, with
	 * guards below and above. */
	xl.start_brk = x_start_brk();
	xl.brk = (uint64_t)syscall(SYS_brk, 0);
	xl.heap_end = xl.start_brk + heap;
	xl.heap_ok = xl.start_brk != 0 && xl.brk == xl.start_brk &&
		     xl.start_brk % page == 0 &&
		     !x_any_mapped(xl.start_brk - page, xl.heap_end + page) &&
		     x_guard(xl.start_brk - page, page) &&
		     x_guard(xl.heap_end, page);
	return 0;
}

/* The VmFlags mnemonics of /proc/PID/smaps and Linux's VM_* bits. */
static const struct {
	char name[3];
	uint64_t bit;
} x_vmf[] = {
	{"rd", OX_VM_READ},	  {"wr", OX_VM_WRITE},
	{"ex", OX_VM_EXEC},	  {"sh", OX_VM_SHARED},
	{"mr", OX_VM_MAYREAD},	  {"mw", OX_VM_MAYWRITE},
	{"me", OX_VM_MAYEXEC},	  {"ms", OX_VM_MAYSHARE},
	{"lo", OX_VM_LOCKED},	  {"sr", OX_VM_SEQ_READ},
	{"rr", OX_VM_RAND_READ},  {"dc", OX_VM_DONTCOPY},
	{"de", OX_VM_DONTEXPAND}, {"ac", OX_VM_ACCOUNT},
	{"nr", OX_VM_NORESERVE},  {"wf", OX_VM_WIPEONFORK},
	{"hg", OX_VM_HUGEPAGE},	  {"nh", OX_VM_NOHUGEPAGE},
	{"sl", OX_VM_SEALED},
};

static uint64_t x_vmflags(const char *p, const char *end)
{
	uint64_t v = 0;

	while (p + 2 <= end) {
		if (p[0] != ' ') {
			for (size_t i = 0; i < sizeof(x_vmf) / sizeof(x_vmf[0]);
			     i++)
				if (p[0] == x_vmf[i].name[0] &&
				    p[1] == x_vmf[i].name[1])
					v |= x_vmf[i].bit;
			p += 2;
		} else {
			p++;
		}
	}
	return v;
}

/* The windows' lines, their flags and page sums, into x_state: from
 * /proc/self/smaps, whose VmFlags line follows each maps line. */
static void x_collect(void)
{
	const char *p = x_maps;
	struct ox_state *st = &x_state;
	bool in = false;

	st->brk = (uint64_t)syscall(SYS_brk, 0);
	st->nlines = st->npages = st->text_len = 0;
	x_read_file("/proc/self/smaps", x_maps, sizeof(x_maps));
	while (*p) {
		const char *line = p, *e = p;
		size_t len;
		uint64_t a, b;

		while (*e && *e != '\n')
			e++;
		len = (size_t)(e - line);
		p = *e ? e + 1 : e;
		if (!((*line >= '0' && *line <= '9') ||
		      (*line >= 'a' && *line <= 'f'))) {
			/* An attribute of the last maps line. */
			if (in && len > 8 && memcmp(line, "VmFlags:", 8) == 0)
				st->vmflags[st->nlines - 1] |=
					x_vmflags(line + 8, e);
			/* A protection key (x86: execute-only memory). */
			if (in && len > 14 &&
			    memcmp(line, "ProtectionKey:", 14) == 0) {
				const char *k = line + 14;

				while (*k == ' ')
					k++;
				if (*k != '0')
					st->vmflags[st->nlines - 1] |= OX_VM_PKEY;
			}
			continue;
		}
		a = x_hex(&line);
		line++;
		b = x_hex(&line);
		line = e - len;
		in = false;
		for (int w = 0; w < (xl.heap_ok ? 2 : 1); w++) {
			uint64_t r[2][2] = {{xl.lo, xl.hi},
					    {xl.start_brk, xl.heap_end}};
			uint64_t s = a > r[w][0] ? a : r[w][0];
			uint64_t t = b < r[w][1] ? b : r[w][1];

			if (s >= t)
				continue;
			if (st->nlines == OX_LINES ||
			    st->text_len + len + 1 > sizeof(st->text))
				_exit(3);
			memcpy(st->text + st->text_len, line, len);
			st->text_len += (uint32_t)len;
			st->text[st->text_len++] = '\n';
			st->vmflags[st->nlines++] = 0;
			in = true;
			for (; s < t; s += xl.page) {
				ssize_t n = pread(x_mem, x_page, xl.page,
						  (off_t)s);
				struct ox_page *pg = &st->pages[st->npages];

				if (st->npages == OX_PAGES)
					_exit(3);
				pg->addr = s;
				pg->sum = n == (ssize_t)xl.page
						  ? ox_page_sum(x_page, xl.page)
						  : OX_UNREADABLE;
				st->npages++;
			}
		}
	}
	st->text[st->text_len] = 0;
}

/* A user access of n bytes at addr under a fault handler. */
static void x_access(const struct ox_req *q, struct ox_rep *r, bool write)
{
	volatile unsigned char *p = (unsigned char *)(uintptr_t)q->a[0];
	volatile uint64_t i = 0;

	x_sig = 0;
	x_armed = 1;
	if (sigsetjmp(x_jb, 1) == 0) {
		for (i = 0; i < q->n; i++) {
			if (write)
				p[i] = q->data[i];
			else
				r->data[i] = p[i];
		}
	} else {
		r->sig = x_sig;
		r->code = x_code;
		r->fault_addr = x_addr;
	}
	x_armed = 0;
	r->done = i;
}

/* The kernel copying to or from user memory: a pipe's read(2) into the
 * range, or its write(2) from the range. */
static void x_copy(const struct ox_req *q, struct ox_rep *r, bool to_user)
{
	int fds[2];
	void *user = (void *)(uintptr_t)q->a[0];
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
		r->ret = -1;
		r->err = errno;
		return;
	}
	if (to_user) {
		if (write(fds[1], q->data, q->n) != (ssize_t)q->n)
			_exit(4);
		n = read(fds[0], user, q->n);
	} else {
		n = write(fds[1], user, q->n);
		if (n > 0 && read(fds[0], r->data, (size_t)n) != n)
			_exit(4);
	}
	r->ret = n;
	r->err = n < 0 ? errno : 0;
	close(fds[0]);
	close(fds[1]);
}

static void x_fork(struct msghdr *mh)
{
	struct cmsghdr *c = CMSG_FIRSTHDR(mh);
	struct ox_rep r;
	int nfd;
	pid_t pid;

	memset(&r, 0, sizeof(r));
	if (!c || c->cmsg_type != SCM_RIGHTS)
		_exit(5);
	memcpy(&nfd, CMSG_DATA(c), sizeof(nfd));
	pid = fork();
	if (pid == 0) {
		close(x_sock);
		x_sock = nfd;
		/* /proc/self/mem opened before is the parent's memory. */
		close(x_mem);
		x_mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
		if (x_mem < 0)
			_exit(6);
		return;
	}
	close(nfd);
	r.ret = pid;
	r.err = pid < 0 ? errno : 0;
	x_send(&r, sizeof(r));
}

static void x_serve(const struct ox_req *q, struct ox_rep *r)
{
	long ret = 0;
	void *p;

	switch (q->op) {
	case OX_MMAP:
		p = mmap((void *)(uintptr_t)q->a[0], q->a[1], (int)q->a[2],
			 (int)q->a[3], q->fd, (off_t)q->a[4]);
		ret = p == MAP_FAILED ? -1 : (long)(uintptr_t)p;
		break;
	case OX_MUNMAP:
		ret = munmap((void *)(uintptr_t)q->a[0], q->a[1]);
		break;
	case OX_MPROTECT:
		ret = mprotect((void *)(uintptr_t)q->a[0], q->a[1],
			       (int)q->a[2]);
		break;
	case OX_MREMAP:
		p = mremap((void *)(uintptr_t)q->a[0], q->a[1], q->a[2],
			   (int)q->a[3], (void *)(uintptr_t)q->a[4]);
		ret = p == MAP_FAILED ? -1 : (long)(uintptr_t)p;
		break;
	case OX_BRK:
		/* The raw call: it answers with the break, never -1. */
		ret = syscall(SYS_brk, q->a[0]);
		break;
	case OX_MADVISE:
		ret = madvise((void *)(uintptr_t)q->a[0], q->a[1],
			      (int)q->a[2]);
		break;
	case OX_MSEAL:
		ret = syscall(SYS_mseal, q->a[0], q->a[1], q->a[2]);
		break;
	case OX_READ:
	case OX_WRITE:
		x_access(q, r, q->op == OX_WRITE);
		return;
	case OX_COPY_TO:
	case OX_COPY_FROM:
		x_copy(q, r, q->op == OX_COPY_TO);
		return;
	case OX_MEMFD: {
		char name[OX_DATA];

		memcpy(name, q->data, sizeof(name));
		name[sizeof(name) - 1] = 0;
		ret = memfd_create(name, (unsigned)q->a[0]);
		break;
	}
	case OX_FTRUNCATE:
		ret = ftruncate(q->fd, (off_t)q->a[0]);
		break;
	case OX_FALLOCATE:
		ret = fallocate(q->fd, (int)q->a[0], (off_t)q->a[1],
				(off_t)q->a[2]);
		break;
	case OX_PWRITE:
		ret = pwrite(q->fd, q->data, q->n, (off_t)q->a[0]);
		break;
	default:
		ret = -1;
		errno = ENOSYS;
		break;
	}
	r->ret = ret;
	r->err = ret == -1 ? errno : 0;
}

void ox_executor_main(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = x_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	x_mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	if (x_mem < 0)
		_exit(6);
	for (;;) {
		struct ox_req q;
		struct ox_rep r;
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = {&q, sizeof(q)};
		struct msghdr mh;
		ssize_t n;

		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		n = recvmsg(x_sock, &mh, MSG_CMSG_CLOEXEC);
		if (n != (ssize_t)sizeof(q))
			_exit(n == 0 ? 0 : 7);
		memset(&r, 0, sizeof(r));
		switch (q.op) {
		case OX_SETUP:
			r.ret = x_setup(q.a[0], q.a[1]);
			memcpy(r.data, &xl, sizeof(xl));
			break;
		case OX_FORK:
			x_fork(&mh);
			continue;
		case OX_EXIT:
			_exit(0);
		case OX_STATE:
			x_collect();
			x_send(&x_state, sizeof(x_state));
			continue;
		default:
			x_serve(&q, &r);
			break;
		}
		x_send(&r, sizeof(r));
	}
}

/* ==== the harness's side ============================================ */

_Static_assert(sizeof(struct ox_layout) <= OX_DATA, "layout fits a reply");

/* An executor that does not answer in this time counts as gone. */
static void h_timeout(int sock)
{
	struct timeval tv = {30, 0};

	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int h_recv(struct ox_proc *p, void *buf, size_t len)
{
	ssize_t n;

	do
		n = recv(p->sock, buf, len, 0);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}

static int h_send(struct ox_proc *p, const struct ox_req *req, int fd)
{
	struct iovec iov = {(void *)req, sizeof(*req)};
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh;

	if (p->sock < 0)
		return -1;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	}
	return sendmsg(p->sock, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(*req)
		       ? 0
		       : -1;
}

int ox_call(struct ox_proc *p, const struct ox_req *req, struct ox_rep *rep)
{
	memset(rep, 0, sizeof(*rep));
	if (h_send(p, req, -1) != 0 || h_recv(p, rep, sizeof(*rep)) != 0)
		return -1;
	return 0;
}

int ox_get_state(struct ox_proc *p, struct ox_state *st)
{
	struct ox_req q;

	memset(&q, 0, sizeof(q));
	q.op = OX_STATE;
	if (h_send(p, &q, -1) != 0 || h_recv(p, st, sizeof(*st)) != 0)
		return -1;
	return 0;
}

int ox_fork(struct ox_proc *p, struct ox_proc *child, struct ox_rep *rep)
{
	struct ox_req q;
	int sv[2];

	memset(&q, 0, sizeof(q));
	memset(rep, 0, sizeof(*rep));
	q.op = OX_FORK;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	if (h_send(p, &q, sv[1]) != 0 || h_recv(p, rep, sizeof(*rep)) != 0 ||
	    rep->ret <= 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[1]);
	h_timeout(sv[0]);
	child->pid = (pid_t)rep->ret;
	child->sock = sv[0];
	return child->pid;
}

int ox_spawn(struct ox_proc *p, uint64_t win_bytes, uint64_t heap_bytes,
	     struct ox_layout *layout)
{
	struct ox_req q;
	struct ox_rep r;
	int sv[2];
	pid_t pid;

	memset(layout, 0, sizeof(*layout));
	/* Executors forked by executors come back to the harness when
	 * their parent dies, to be reaped here; until then they are
	 * zombies, so their pids are never reused under a kill. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (dup2(sv[1], OX_SOCK) != OX_SOCK)
			_exit(126);
		execl("/proc/self/exe", "aspace_oracle", "--executor",
		      (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	h_timeout(sv[0]);
	p->pid = pid;
	p->sock = sv[0];
	memset(&q, 0, sizeof(q));
	q.op = OX_SETUP;
	q.a[0] = win_bytes;
	q.a[1] = heap_bytes;
	if (ox_call(p, &q, &r) != 0) {
		snprintf(layout->why, sizeof(layout->why),
			 "the executor did not start");
		return -1;
	}
	memcpy(layout, r.data, sizeof(*layout));
	return r.ret == 0 ? 0 : -1;
}

void ox_exit(struct ox_proc *p)
{
	struct ox_req q;

	memset(&q, 0, sizeof(q));
	q.op = OX_EXIT;
	h_send(p, &q, -1);
	close(p->sock);
	p->sock = -1;
}

void ox_kill_all(const pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	/* In the order they were started: each executor's parent is reaped
	 * before it, so by then it has come back to this process (the
	 * subreaper) and is reaped here too. */
	for (int i = 0; i < n; i++)
		while (pids[i] > 0 && waitpid(pids[i], NULL, 0) < 0 &&
		       errno == EINTR)
			;
}
