/*
 * Linux's system calls, for static riscv64 programs (the generic table of
 * linux_abi.h): what glibc's startup and stdio need, the files of the
 * read-only file system and memfds, fork and wait, time and randomness.
 * Results are Linux's: a value, or -errno. A call not here returns -ENOSYS.
 *
 * The memory calls (brk, mmap, munmap, mprotect, mremap, madvise, mseal,
 * prctl's area names, memfd_create, ftruncate, fallocate) are the
 * address-space layer's, which has Linux's semantics and errno results:
 * here they only find the object behind a file descriptor.
 */
#include "kernel.h"
#include <linux_abi.h>

#define PATH_MAX_LEN 256

/* A NUL-terminated string from user memory: 0, -EFAULT or @too_long. */
static int user_string(struct proc *p, uint64_t ustr, char *buf, size_t cap,
		       int too_long)
{
	int64_t n = aspace_strncpy_from_user(&p->as, buf, ustr, cap);

	if (n < 0)
		return (int)n;
	return (size_t)n == cap ? too_long : 0;
}

static int user_path(struct proc *p, uint64_t upath, char *path, size_t cap)
{
	return user_string(p, upath, path, cap, -ENAMETOOLONG);
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

/* The lowest free descriptor, or -EMFILE. */
static int fd_free(struct proc *p)
{
	for (int fd = 0; fd < NFD; fd++)
		if (p->fds[fd].kind == FD_CLOSED)
			return fd;
	return -EMFILE;
}

static void fd_close(struct fd *f)
{
	if (f->kind == FD_MEMFD)
		aspace_object_put(f->obj);
	f->kind = FD_CLOSED;
}

/* fork: the child's descriptors are the parent's (a memfd's one more reference). */
void linux_files_fork(struct proc *child, const struct proc *parent)
{
	memcpy(child->fds, parent->fds, sizeof(child->fds));
	for (int fd = 0; fd < NFD; fd++)
		if (child->fds[fd].kind == FD_MEMFD)
			aspace_object_get(child->fds[fd].obj);
}

void linux_files_close(struct proc *p)
{
	for (int fd = 0; fd < NFD; fd++)
		fd_close(&p->fds[fd]);
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
	int fd = fd_free(p);

	if (fd >= 0)
		p->fds[fd] = (struct fd){ .kind = FD_FILE, .file = f };
	return fd;
}

static long sys_close(struct proc *p, uint64_t fd)
{
	struct fd *f = fd_get(p, fd);

	if (!f)
		return -EBADF;
	fd_close(f);
	return 0;
}

/*
 * read() and write() of a memfd: the object's bytes at *@pos, a chunk at a
 * time through the kernel (pread and pwrite of the layer); *@pos moves on.
 */
static long memfd_io(struct proc *p, struct fd *f, uint64_t *pos, uint64_t buf,
		     uint64_t len, bool write)
{
	char chunk[256];
	uint64_t done = 0;

	while (done < len) {
		uint64_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
		int64_t r;
		int err;

		if (write) {
			err = copy_from_user(p, chunk, buf + done, n);
			r = err ? err : aspace_object_write(f->obj, *pos, chunk, n);
		} else {
			r = aspace_object_read(f->obj, *pos, chunk, n);
			err = r > 0 ? copy_to_user(p, buf + done, chunk, (size_t)r) : 0;
			r = err ? err : r;
		}
		if (r <= 0)
			return done ? (long)done : (long)r;
		*pos += (uint64_t)r;
		done += (uint64_t)r;
		if ((uint64_t)r < n)
			break;
	}
	return (long)done;
}

/* read() at *@pos, or pread() at a position of its own. */
static long fd_read(struct proc *p, struct fd *f, uint64_t *pos, uint64_t buf,
		    uint64_t len)
{
	long n;

	if (f->kind == FD_CONSOLE)
		return 0; /* the console has no input: end of file */
	if (f->kind == FD_MEMFD)
		return memfd_io(p, f, pos, buf, len, false);
	n = ramfs_read(p, f->file, *pos, buf, len);
	if (n > 0)
		*pos += (uint64_t)n;
	return n;
}

static long sys_read(struct proc *p, uint64_t fd, uint64_t buf, uint64_t len)
{
	struct fd *f = fd_get(p, fd);

	return f ? fd_read(p, f, &f->pos, buf, len) : -EBADF;
}

/* pread64 and pwrite64: at @off, the file position unchanged. */
static long sys_pio(struct proc *p, uint64_t fd, uint64_t buf, uint64_t len,
		    int64_t off, bool write)
{
	struct fd *f = fd_get(p, fd);
	uint64_t pos = (uint64_t)off;

	if (!f)
		return -EBADF;
	if (f->kind == FD_CONSOLE)
		return -ESPIPE;
	if (off < 0)
		return -EINVAL;
	if (!write)
		return fd_read(p, f, &pos, buf, len);
	return f->kind == FD_MEMFD ? memfd_io(p, f, &pos, buf, len, true) : -EBADF;
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
	       whence != SEEK_END ? -1 :
	       f->kind == FD_MEMFD ? (int64_t)aspace_object_size(f->obj) :
	       (int64_t)ramfs_size(f->file);
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
	if (f->kind == FD_MEMFD)
		return memfd_io(p, f, &f->pos, buf, len, true);
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

		if (copy_from_user(p, &iov, uiov + i * sizeof(iov), sizeof(iov)))
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
	} else if (f && f->kind == FD_MEMFD) {
		st.st_mode = S_IFREG | 0777;
		st.st_size = (int64_t)aspace_object_size(f->obj);
		st.st_blocks = (st.st_size + 511) / 512;
	} else {
		st.st_mode = S_IFREG | 0444;
		st.st_size = (int64_t)ramfs_size(file);
		st.st_blocks = (st.st_size + 511) / 512;
		st.st_ino = ramfs_ino(file);
	}
	return copy_to_user(p, ubuf, &st, sizeof(st));
}

static long sys_newfstatat(struct proc *p, int64_t dirfd, uint64_t upath,
			   uint64_t ubuf, uint64_t flags)
{
	char first;
	long err;

	if (copy_from_user(p, &first, upath, 1))
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
	return copy_to_user(p, arg, &t, sizeof(t));
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
	if (copy_to_user(p, ubuf, exe, n))
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
	if (old_limit && copy_to_user(p, old_limit, lim, sizeof(lim)))
		return -EFAULT;
	return 0;
}

static long sys_getrandom(struct proc *p, uint64_t buf, uint64_t len)
{
	unsigned char chunk[64];

	for (uint64_t done = 0; done < len;) {
		uint64_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);

		random_bytes(chunk, n);
		if (copy_to_user(p, buf + done, chunk, n))
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
	return copy_to_user(p, uts, &ts, sizeof(ts));
}

/* fork: clone without CLONE_VM, a new stack or any thread flag. */
static long sys_clone(struct proc *p, const uint64_t *a)
{
	const uint64_t fork_flags = CSIGNAL | CLONE_PARENT_SETTID |
				    CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
	int tid;
	long pid;

	if ((a[0] & ~fork_flags) || a[1])
		return -ENOSYS; /* threads and vfork (system()'s): not here */
	pid = proc_fork(p);
	if (pid < 0)
		return pid;
	/* As Linux, a tid that cannot be written is not the fork's failure;
	 * CLONE_CHILD_CLEARTID has nobody to wake: one thread a process. */
	tid = (int)pid;
	if (a[0] & CLONE_CHILD_SETTID)
		copy_to_user(proc_find((int)pid), a[4], &tid, sizeof(tid));
	if (a[0] & CLONE_PARENT_SETTID)
		copy_to_user(p, a[2], &tid, sizeof(tid));
	return pid;
}

/* wait4(pid, status, 0, rusage): pid -1 (or a group: any child) or one child. */
static long sys_wait4(struct proc *p, int64_t pid, uint64_t status,
		      uint64_t options, uint64_t rusage)
{
	static const char no_usage[144];

	if (options)
		return -EINVAL; /* no WNOHANG, WUNTRACED... */
	if (rusage && copy_to_user(p, rusage, no_usage, sizeof(no_usage)))
		return -EFAULT;
	return proc_wait(p, pid > 0 ? (int)pid : -1, status, 0);
}

/* The memfd's object behind @fd for ftruncate and fallocate, or NULL and *err. */
static struct aspace_object *fd_object(struct proc *p, uint64_t fd, long *err,
				       long not_object)
{
	struct fd *f = fd_get(p, fd);

	*err = !f ? -EBADF : f->kind != FD_MEMFD ? not_object : 0;
	return *err ? NULL : f->obj;
}

/*
 * mmap: anonymous memory, a memfd's object, or a program's file, for which
 * each mmap makes an object of its own (read-only: MAP_SHARED with
 * PROT_WRITE is EACCES).
 */
static long sys_mmap(struct proc *p, const uint64_t *a)
{
	struct aspace_object *obj = NULL, *file = NULL;
	struct fd *f = fd_get(p, a[4]);
	int64_t r;

	if (!(a[3] & MAP_ANONYMOUS)) {
		if (!f)
			return -EBADF;
		if (f->kind == FD_FILE && (r = ramfs_object(p, f->file, &file)))
			return r;
		if (f->kind == FD_CONSOLE)
			return -ENODEV;
		obj = f->kind == FD_MEMFD ? f->obj : file;
	}
	r = aspace_mmap(&p->as, a[0], a[1], a[2], a[3], obj, a[5]);
	if (file)
		aspace_object_put(file); /* the area holds it, if one was made */
	return r;
}

static long sys_memfd_create(struct proc *p, uint64_t uname, uint64_t flags)
{
	char name[250]; /* Linux's longest memfd name, 249, and the NUL */
	struct aspace_object *obj;
	int fd = fd_free(p);
	int err = user_string(p, uname, name, sizeof(name), -EINVAL);

	if (err)
		return err;
	if (fd < 0)
		return fd;
	err = aspace_memfd_create(&p->as, name, (unsigned)flags, &obj);
	if (err)
		return err;
	p->fds[fd] = (struct fd){ .kind = FD_MEMFD, .obj = obj };
	return fd;
}

/* prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, name): area names. */
static long sys_prctl(struct proc *p, const uint64_t *a)
{
	char name[ASPACE_NAME_MAX + 1];
	int err;

	if (a[0] != PR_SET_VMA || a[1] != PR_SET_VMA_ANON_NAME)
		return -EINVAL;
	if (!a[4])
		return aspace_set_name(&p->as, a[2], a[3], NULL);
	err = user_string(p, a[4], name, sizeof(name), -EINVAL);
	return err ? err : aspace_set_name(&p->as, a[2], a[3], name);
}

/*
 * The memory calls: the layer's, one for one. -ENOSYS if @nr is not one
 * of them.
 */
static long linux_memory(struct proc *p, uint64_t nr, const uint64_t *a)
{
	struct aspace_object *obj;
	long err;

	switch (nr) {
	case LNR_brk:
		return (long)aspace_brk(&p->as, a[0]);
	case LNR_mmap:
		return sys_mmap(p, a);
	case LNR_munmap:
		return aspace_munmap(&p->as, a[0], a[1]);
	case LNR_mprotect:
		return aspace_mprotect(&p->as, a[0], a[1], a[2]);
	case LNR_mremap:
		return aspace_mremap(&p->as, a[0], a[1], a[2], a[3], a[4]);
	case LNR_madvise:
		return aspace_madvise(&p->as, a[0], a[1], (int)a[2]);
	case LNR_mseal:
		return aspace_mseal(&p->as, a[0], a[1], a[2]);
	case LNR_prctl:
		return sys_prctl(p, a);
	case LNR_memfd_create:
		return sys_memfd_create(p, a[0], a[1]);
	case LNR_ftruncate:
		obj = fd_object(p, a[0], &err, -EINVAL);
		return obj ? aspace_object_truncate(obj, a[1]) : err;
	case LNR_fallocate:
		obj = fd_object(p, a[0], &err, -ENODEV);
		return obj ? aspace_object_fallocate(obj, (int)a[1], a[2], a[3]) :
			     err;
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
	case LNR_pread64:
	case LNR_pwrite64:
		return sys_pio(p, a[0], a[1], a[2], (int64_t)a[3],
			       TF_A(tf, 7) == LNR_pwrite64);
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
		return sys_clone(p, a);
	case LNR_wait4:
		return sys_wait4(p, (int64_t)a[0], a[1], a[2], a[3]);
	}
	return linux_memory(p, TF_A(tf, 7), a);
}
