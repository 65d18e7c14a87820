/*
 * Linux's system calls, for static riscv64 programs (the generic table of
 * linux_abi.h): what glibc's startup and stdio need, the files of the
 * read-only file system, time and randomness. Results are Linux's: a
 * value, or -errno. A call not here returns -ENOSYS.
 *
 * Memory calls (brk, mmap, munmap, mprotect, mremap) go to the kernel's
 * own ones for now, with their semantics, not Linux's: the port onto the
 * address-space layer replaces linux_memory() whole.
 */
#include "kernel.h"
#include <linux_abi.h>

#define PATH_MAX_LEN 256

/* A NUL-terminated path from user memory. 0, -EFAULT or -ENAMETOOLONG. */
static int user_path(struct proc *p, uint64_t upath, char *path, size_t cap)
{
	for (size_t i = 0; i < cap; i++) {
		if (user_copy(&p->mm, &p->pt, upath + i, &path[i], 1, false))
			return -EFAULT;
		if (!path[i])
			return 0;
	}
	return -ENAMETOOLONG;
}

static struct fd *fd_get(struct proc *p, uint64_t fd)
{
	if (fd >= NFD || p->fds[fd].kind == FD_CLOSED)
		return NULL;
	return &p->fds[fd];
}

void linux_files_init(struct proc *p)
{
	for (int i = 0; i < 3; i++)
		p->fds[i].kind = FD_CONSOLE;
}

/* The file a path names: only absolute paths (the one directory is /). */
static const struct rfile *lookup(struct proc *p, int64_t dirfd,
				  uint64_t upath, long *err)
{
	char path[PATH_MAX_LEN];
	const struct rfile *f;

	*err = user_path(p, upath, path, sizeof(path));
	if (*err)
		return NULL;
	if (path[0] != '/' && dirfd != AT_FDCWD)
		*err = -EBADF;
	else if (!(f = ramfs_lookup(path)))
		*err = -ENOENT;
	else
		return f;
	return NULL;
}

static long sys_openat(struct proc *p, int64_t dirfd, uint64_t upath,
		       uint64_t flags)
{
	long err;
	const struct rfile *f = lookup(p, dirfd, upath, &err);

	if (!f)
		return err;
	if ((flags & O_ACCMODE) != 0)
		return -EROFS;
	for (int fd = 0; fd < NFD; fd++) {
		if (p->fds[fd].kind != FD_CLOSED)
			continue;
		p->fds[fd].kind = FD_FILE;
		p->fds[fd].file = f;
		p->fds[fd].pos = 0;
		return fd;
	}
	return -EMFILE;
}

static long sys_close(struct proc *p, uint64_t fd)
{
	struct fd *f = fd_get(p, fd);

	if (!f)
		return -EBADF;
	f->kind = FD_CLOSED;
	return 0;
}

static long sys_read(struct proc *p, uint64_t fd, uint64_t buf, uint64_t len)
{
	struct fd *f = fd_get(p, fd);
	long n;

	if (!f)
		return -EBADF;
	if (f->kind == FD_CONSOLE)
		return 0; /* the console has no input: end of file */
	n = ramfs_read(p, f->file, f->pos, buf, len);
	if (n > 0)
		f->pos += (uint64_t)n;
	return n;
}

static long sys_lseek(struct proc *p, uint64_t fd, int64_t off, uint64_t whence)
{
	struct fd *f = fd_get(p, fd);
	int64_t base;

	if (!f)
		return -EBADF;
	if (f->kind == FD_CONSOLE)
		return -ESPIPE;
	base = whence == SEEK_SET ? 0 :
	       whence == SEEK_CUR ? (int64_t)f->pos :
	       whence == SEEK_END ? (int64_t)ramfs_size(f->file) : -1;
	if (base < 0 || (off < 0 && -off > base))
		return -EINVAL;
	f->pos = (uint64_t)(base + off);
	return (long)f->pos;
}

static long fd_write(struct proc *p, uint64_t fd, uint64_t buf, uint64_t len)
{
	struct fd *f = fd_get(p, fd);

	if (!f)
		return -EBADF;
	if (f->kind != FD_CONSOLE)
		return -EBADF; /* files are read-only */
	return sys_write(p, buf, len);
}

static long sys_writev(struct proc *p, uint64_t fd, uint64_t uiov, uint64_t n)
{
	long total = 0;

	if (n > 1024)
		return -EINVAL;
	for (uint64_t i = 0; i < n; i++) {
		struct linux_iovec iov;
		long r;

		if (user_copy(&p->mm, &p->pt, uiov + i * sizeof(iov), &iov,
			      sizeof(iov), false))
			return -EFAULT;
		r = fd_write(p, fd, iov.base, iov.len);
		if (r < 0)
			return total ? total : r;
		total += r;
	}
	return total;
}

static long put_stat(struct proc *p, const struct fd *f,
		     const struct rfile *file, uint64_t ubuf)
{
	struct linux_stat st = { 0 };

	st.st_nlink = 1;
	st.st_blksize = PAGE_SIZE;
	if (f && f->kind == FD_CONSOLE) {
		st.st_mode = S_IFCHR | 0620;
		st.st_rdev = (136 << 8) | 0; /* a terminal, as /dev/pts/0 */
		st.st_ino = 3;
	} else {
		st.st_mode = S_IFREG | 0444;
		st.st_size = (int64_t)ramfs_size(file);
		st.st_blocks = (st.st_size + 511) / 512;
		st.st_ino = ramfs_ino(file);
	}
	if (user_copy(&p->mm, &p->pt, ubuf, &st, sizeof(st), true))
		return -EFAULT;
	return 0;
}

static long sys_newfstatat(struct proc *p, int64_t dirfd, uint64_t upath,
			   uint64_t ubuf, uint64_t flags)
{
	char first;
	long err;

	if (user_copy(&p->mm, &p->pt, upath, &first, 1, false))
		return -EFAULT;
	if (!first && (flags & AT_EMPTY_PATH)) {
		struct fd *f = fd_get(p, (uint64_t)dirfd);

		return f ? put_stat(p, f, f->file, ubuf) : -EBADF;
	}
	const struct rfile *file = lookup(p, dirfd, upath, &err);

	return file ? put_stat(p, NULL, file, ubuf) : err;
}

/* TCGETS on the console: a terminal, so stdio buffers stdout by line. */
static long sys_ioctl(struct proc *p, uint64_t fd, uint64_t req, uint64_t arg)
{
	struct fd *f = fd_get(p, fd);
	struct linux_termios t = {
		.c_iflag = 0x500,  /* ICRNL | IXON */
		.c_oflag = 0x5,    /* OPOST | ONLCR */
		.c_cflag = 0xbf,   /* B38400 | CS8 | CREAD */
		.c_lflag = 0x8a3b, /* ISIG | ICANON | ECHO... | IEXTEN */
	};

	if (!f)
		return -EBADF;
	if (f->kind != FD_CONSOLE || req != TCGETS)
		return -ENOTTY;
	if (user_copy(&p->mm, &p->pt, arg, &t, sizeof(t), true))
		return -EFAULT;
	return 0;
}

/* /proc/self/exe: the program's path in the file system. */
static long sys_readlinkat(struct proc *p, int64_t dirfd, uint64_t upath,
			   uint64_t ubuf, uint64_t len)
{
	char path[PATH_MAX_LEN], exe[PATH_MAX_LEN];
	long err = user_path(p, upath, path, sizeof(path));
	size_t n;

	if (err)
		return err;
	if (strcmp(path, "/proc/self/exe"))
		return lookup(p, dirfd, upath, &err) ? -EINVAL : err;
	n = strlen(RAMFS_BIN) + strlen(p->name);
	if (n >= sizeof(exe))
		return -ENAMETOOLONG;
	memcpy(exe, RAMFS_BIN, strlen(RAMFS_BIN));
	memcpy(exe + strlen(RAMFS_BIN), p->name, strlen(p->name));
	if (n > len)
		n = len; /* cut short, as Linux does, without a NUL */
	if (user_copy(&p->mm, &p->pt, ubuf, exe, n, true))
		return -EFAULT;
	return (long)n;
}

static long sys_prlimit64(struct proc *p, uint64_t pid, uint64_t resource,
			  uint64_t new_limit, uint64_t old_limit)
{
	uint64_t lim[2] = { RLIM_INFINITY, RLIM_INFINITY };

	if (pid && pid != (uint64_t)p->pid)
		return -ESRCH;
	if (resource >= 16)
		return -EINVAL;
	if (new_limit)
		return -EPERM; /* the limits are fixed */
	if (resource == RLIMIT_STACK)
		lim[0] = lim[1] = STACK_SIZE;
	if (old_limit &&
	    user_copy(&p->mm, &p->pt, old_limit, lim, sizeof(lim), true))
		return -EFAULT;
	return 0;
}

static long sys_getrandom(struct proc *p, uint64_t buf, uint64_t len)
{
	unsigned char chunk[64];

	for (uint64_t done = 0; done < len;) {
		uint64_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);

		random_bytes(chunk, n);
		if (user_copy(&p->mm, &p->pt, buf + done, chunk, n, true))
			return done ? (long)done : -EFAULT;
		done += n;
	}
	return (long)len;
}

/* Every clock counts from boot: there is no calendar. */
static long sys_clock_gettime(struct proc *p, uint64_t clock, uint64_t uts)
{
	uint64_t t = timer_now();
	struct linux_timespec ts = {
		.tv_sec = (int64_t)(t / TIMER_HZ),
		.tv_nsec = (int64_t)((t % TIMER_HZ) * (1000000000ul / TIMER_HZ)),
	};

	switch (clock) {
	case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW:
	case CLOCK_REALTIME_COARSE: case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
		break;
	default:
		return -EINVAL;
	}
	if (user_copy(&p->mm, &p->pt, uts, &ts, sizeof(ts), true))
		return -EFAULT;
	return 0;
}

/*
 * The memory calls, on the kernel's own code for now (anonymous private
 * memory only; Linux's errno rules and flags are not all there): replaced
 * whole by the port onto the address-space layer. -ENOSYS if @nr is not
 * one of them.
 */
static long linux_memory(struct proc *p, uint64_t nr, const uint64_t *a)
{
	switch (nr) {
	case LNR_brk:
		return sys_brk(p, a[0]);
	case LNR_mmap:
		/* MAP_STACK and MAP_NORESERVE change nothing on Linux either. */
		return sys_mmap(p, a[0], a[1], a[2],
				a[3] & ~(LMAP_STACK | LMAP_NORESERVE));
	case LNR_munmap:
		return sys_munmap(p, a[0], a[1]);
	case LNR_mprotect:
		return sys_mprotect(p, a[0], a[1], a[2]);
	case LNR_mremap:
		return sys_mremap(p, a[0], a[1], a[2], a[3], a[4]);
	}
	return -ENOSYS;
}

long linux_syscall(struct proc *p)
{
	struct trapframe *tf = &p->tf;
	uint64_t a[6];

	for (int i = 0; i < 6; i++)
		a[i] = TF_A(tf, i);
	switch (TF_A(tf, 7)) {
	case LNR_exit:
	case LNR_exit_group:
		proc_exit(p, (int)(a[0] & 0xff) << 8);
		return 0;
	case LNR_read:
		return sys_read(p, a[0], a[1], a[2]);
	case LNR_write:
		return fd_write(p, a[0], a[1], a[2]);
	case LNR_writev:
		return sys_writev(p, a[0], a[1], a[2]);
	case LNR_openat:
		return sys_openat(p, (int64_t)a[0], a[1], a[2]);
	case LNR_close:
		return sys_close(p, a[0]);
	case LNR_lseek:
		return sys_lseek(p, a[0], (int64_t)a[1], a[2]);
	case LNR_newfstatat:
		return sys_newfstatat(p, (int64_t)a[0], a[1], a[2], a[3]);
	case LNR_fstat: {
		struct fd *f = fd_get(p, a[0]);

		return f ? put_stat(p, f, f->file, a[1]) : -EBADF;
	}
	case LNR_ioctl:
		return sys_ioctl(p, a[0], a[1], a[2]);
	case LNR_readlinkat:
		return sys_readlinkat(p, (int64_t)a[0], a[1], a[2], a[3]);
	case LNR_set_tid_address:
	case LNR_getpid:
	case LNR_gettid:
		return p->pid;
	case LNR_set_robust_list:
		return a[1] == 24 ? 0 : -EINVAL; /* one thread, never robust-unlocked */
	case LNR_prlimit64:
		return sys_prlimit64(p, a[0], a[1], a[2], a[3]);
	case LNR_getrandom:
		return sys_getrandom(p, a[0], a[1]);
	case LNR_clock_gettime:
		return sys_clock_gettime(p, a[0], a[1]);
	case LNR_getuid:
	case LNR_geteuid:
	case LNR_getgid:
	case LNR_getegid:
		return 0;
	case LNR_clone:
		/* No threads, and no fork yet: system() gets an error back. */
		return -ENOSYS;
	}
	return linux_memory(p, TF_A(tf, 7), a);
}
