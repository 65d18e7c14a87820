/*
 * A Linux program, built with riscv64-linux-gnu-gcc -static against
 * glibc, run on the kernel's Linux ABI: glibc's startup (TLS through
 * AT_PHDR, brk, RELRO mprotect), stdio on the console, malloc, the files
 * of the read-only file system, the auxiliary vector, time, randomness,
 * memory (files and memfds mapped, fork, mseal, /proc/self/maps), and the
 * errors Linux gives where the kernel has no such thing. Exits 0 when
 * every check holds.
 */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static int failures;

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (!(cond)) {                                             \
			printf("hello: check failed at line %d: %s: ",     \
			       __LINE__, #cond);                           \
			printf(__VA_ARGS__);                               \
			printf("\n");                                      \
			failures++;                                        \
		}                                                          \
	} while (0)

static __thread int tls_word = 42; /* found through AT_PHDR's PT_TLS */
static char bss_page[8192];        /* bss past the file's last page */
static volatile double half = 0.5; /* the FPU, saved with the process */

extern char __ehdr_start[]; /* the ELF header, where the first segment maps it */

static void startup(int argc, char **argv)
{
	CHECK(argc == 1 && argv[0] && !strcmp(argv[0], "/bin/hello"),
	      "argc %d argv[0] %s", argc, argv[0] ? argv[0] : "(null)");
	CHECK(argv[1] == NULL && environ && environ[0] == NULL, "argv, envp end");
	CHECK(tls_word == 42, "TLS %d", tls_word);
	CHECK(getauxval(AT_PAGESZ) == 4096, "AT_PAGESZ %lu", getauxval(AT_PAGESZ));
	CHECK(getauxval(AT_PHDR) == (unsigned long)__ehdr_start + 64 &&
	      getauxval(AT_PHENT) == 56 && getauxval(AT_PHNUM) >= 2,
	      "AT_PHDR %lx AT_PHENT %lu AT_PHNUM %lu", getauxval(AT_PHDR),
	      getauxval(AT_PHENT), getauxval(AT_PHNUM));
	CHECK(getauxval(AT_RANDOM) != 0, "AT_RANDOM");
	CHECK(getauxval(AT_HWCAP) & (1ul << ('d' - 'a')), "AT_HWCAP %lx",
	      getauxval(AT_HWCAP));
	CHECK(getauxval(AT_CLKTCK) == 100, "AT_CLKTCK %lu", getauxval(AT_CLKTCK));
	CHECK(getauxval(AT_SECURE) == 0 && getuid() == 0 && getegid() == 0,
	      "AT_SECURE, ids");
	for (size_t i = 0; i < sizeof(bss_page); i++)
		if (bss_page[i]) {
			CHECK(0, "bss byte %zu is %d", i, bss_page[i]);
			break;
		}
	CHECK(half * 4 == 2.0, "floating point");
}

static void heap(void)
{
	char *small = malloc(100), *big = malloc(200000);
	void *top = sbrk(0);

	CHECK(small && big, "malloc");
	if (small && big) {
		memset(small, 1, 100);
		memset(big, 2, 200000);
		CHECK(small[99] == 1 && big[199999] == 2, "malloc'ed memory");
	}
	free(big);
	free(small);
	CHECK(sbrk(4096) == top && sbrk(0) == (char *)top + 4096, "sbrk");
}

static void files(void)
{
	char buf[64], link[64];
	struct stat st;
	ssize_t n;
	int fd = open("/proc/sys/vm/mmap_min_addr", O_RDONLY);

	CHECK(fd >= 3, "open mmap_min_addr: %d errno %d", fd, errno);
	n = read(fd, buf, sizeof(buf) - 1);
	CHECK(n == 6 && !memcmp(buf, "65536\n", 6), "read %zd", n);
	CHECK(read(fd, buf, sizeof(buf)) == 0, "end of file");
	CHECK(lseek(fd, 1, SEEK_SET) == 1 && read(fd, buf, 2) == 2 &&
	      !memcmp(buf, "55", 2), "lseek and read again");
	CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode), "fstat");
	CHECK(close(fd) == 0 && close(fd) == -1 && errno == EBADF, "close");

	FILE *f = fopen("/proc/sys/vm/mmap_min_addr", "r");
	unsigned long min = 0;

	CHECK(f && fscanf(f, "%lu", &min) == 1 && min == 65536, "fscanf %lu", min);
	if (f)
		fclose(f);

	CHECK(stat("/bin/hello", &st) == 0 && st.st_size > 4096, "stat /bin/hello");
	CHECK(open("/nowhere", O_RDONLY) == -1 && errno == ENOENT, "ENOENT");
	CHECK(open("/bin/hello", O_WRONLY) == -1 && errno == EROFS, "EROFS");
	n = readlink("/proc/self/exe", link, sizeof(link));
	CHECK(n == 10 && !memcmp(link, "/bin/hello", 10), "readlink %zd", n);
	CHECK(isatty(1) && !isatty(3), "the console is a terminal");
	CHECK(lseek(1, 0, SEEK_CUR) == -1 && errno == ESPIPE, "lseek console");

	struct iovec iov[2] = { { "hello: ", 7 }, { "writev\n", 7 } };

	CHECK(writev(1, iov, 2) == 14, "writev");
}

static void time_and_chance(void)
{
	struct timespec a, b;
	unsigned char r1[32] = { 0 }, r2[32] = { 0 };
	struct rlimit rl;

	CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0, "clock_gettime");
	for (volatile int i = 0; i < 100000; i++)
		;
	CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0 &&
	      (b.tv_sec > a.tv_sec ||
	       (b.tv_sec == a.tv_sec && b.tv_nsec > a.tv_nsec)), "time goes on");
	CHECK(time(NULL) >= 0, "time");
	CHECK(getrandom(r1, sizeof(r1), 0) == 32 &&
	      getrandom(r2, sizeof(r2), GRND_NONBLOCK) == 32 &&
	      memcmp(r1, r2, sizeof(r1)), "getrandom");
	CHECK(getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur > 65536,
	      "RLIMIT_STACK");
}

/* Is @what in a line of /proc/self/maps? */
static int in_maps(const char *what)
{
	char line[512];
	int found = 0;
	FILE *maps = fopen("/proc/self/maps", "r");

	while (maps && fgets(line, sizeof(line), maps))
		found |= strstr(line, what) != NULL;
	if (maps)
		fclose(maps);
	return found;
}

static void memory(void)
{
	int fd = open("/bin/hello", O_RDONLY), status = -1;
	char *file = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	char buf[4];

	/* A private mapping of a file: its bytes, written only in the copy. */
	CHECK(file != MAP_FAILED && !memcmp(file, "\177ELF", 4), "mmap /bin/hello");
	if (file != MAP_FAILED) {
		file[0] = 'X';
		CHECK(pread(fd, buf, 4, 0) == 4 && !memcmp(buf, "\177ELF", 4),
		      "a private write reached the file");
		munmap(file, 8192);
	}
	CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) ==
	      MAP_FAILED && errno == EACCES, "shared writable over a read-only file");
	close(fd);
	CHECK(in_maps("/bin/hello") && in_maps("[stack]") && in_maps("[heap]"),
	      "/proc/self/maps names the program, the stack and the heap");

	/* A memfd: written, mapped shared, seen both ways. */
	fd = memfd_create("hello", MFD_CLOEXEC);
	CHECK(fd >= 0 && write(fd, "abc", 3) == 3 && ftruncate(fd, 4096) == 0,
	      "memfd %d errno %d", fd, errno);
	char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	CHECK(shared != MAP_FAILED && !memcmp(shared, "abc", 3), "memfd mapped");
	if (shared != MAP_FAILED) {
		shared[1] = 'B';
		CHECK(pread(fd, buf, 3, 0) == 3 && !memcmp(buf, "aBc", 3),
		      "a shared write reads back from the memfd");
	}
	CHECK(in_maps("/memfd:hello (deleted)"), "the memfd in /proc/self/maps");

	/* fork: the child's writes to private memory stay its own, shared
	 * memory is shared. */
	char *private = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	private[0] = 'p';
	pid_t pid = fork();

	if (pid == 0) {
		private[0] = 'c';
		shared[0] = 'C';
		_exit(getpid() == (int)syscall(SYS_gettid) ? 7 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && status == 7 << 8,
	      "fork and wait: %d, status %x", pid, status);
	CHECK(private[0] == 'p' && shared[0] == 'C', "copy-on-write and shared: %c %c",
	      private[0], shared[0]);
	CHECK(waitpid(-1, &status, 0) == -1 && errno == ECHILD, "no child left");

	/* mseal: the sealed mapping stays. */
	CHECK(syscall(462, private, 4096, 0) == 0, "mseal");
	CHECK(munmap(private, 4096) == -1 && errno == EPERM && private[0] == 'p',
	      "munmap of a sealed mapping");
	munmap(shared, 4096);
	close(fd);
}

static void what_is_missing(void)
{
	errno = 0;
	CHECK(syscall(1000) == -1 && errno == ENOSYS, "unknown call: %d", errno);
	/*
	 * posix_spawn() and system() start with clone(CLONE_VM | CLONE_VFORK),
	 * an error here: system() then reports a shell that exited 127.
	 */
	char *args[] = { "/bin/hello", NULL };
	pid_t pid;
	int err = posix_spawn(&pid, "/bin/hello", NULL, NULL, args, environ);
	int status = system("true");

	CHECK(err == ENOSYS, "posix_spawn returned %d", err);
	CHECK(status == 127 << 8, "system() returned %x", status);
}

int main(int argc, char **argv)
{
	printf("hello from a static glibc program\n");
	startup(argc, argv);
	heap();
	files();
	time_and_chance();
	memory();
	what_is_missing();
	printf("hello: %d failures\n", failures);
	return failures != 0;
}
