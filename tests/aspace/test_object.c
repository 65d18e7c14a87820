/*
 * Shared and file memory: MAP_SHARED anonymous memory (shared across fork,
 * SIGBUS past its object once grown by mremap), memfds (pread, pwrite,
 * ftruncate, fallocate and what each does to the mappings), MAP_SHARED and
 * MAP_PRIVATE of objects with their offsets kept through split, merge and
 * move, and files read a page at a time through the host's hooks. The
 * results are those of Linux 6.18 on this machine kind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define SHARED_OBJ (ASPACE_MAP_SHARED | FIXED)
#define PRIVATE_OBJ (ASPACE_MAP_PRIVATE | FIXED)

static struct aspace_object *memfd(struct tm *m, uint64_t size)
{
	struct aspace_object *o;

	assert_int_equal(aspace_memfd_create(&m->as[0], "m", 0, &o), 0);
	tm_hold(m, o);
	assert_int_equal(aspace_object_truncate(o, size), 0);
	return o;
}

static void map_obj(struct tm *m, int s, int p, int pages, unsigned long prot,
		    unsigned long flags, struct aspace_object *o, int off)
{
	assert_int_equal(c_mmap(m, s, A(p), (uint64_t)pages * PG, prot, flags,
				o, (uint64_t)off * PG),
			 (int64_t)A(p));
}

static void test_shared_anon_grow(void **state)
{
	unsigned char v;
	struct tm m;
	int64_t r;

	(void)state;
	tm_init(&m, NULL);
	map_at(&m, 0, 0, 2, RW, SHARED_ANON);
	poke(&m, 0, A(1), 'x');
	/* Grown, in place or moved: the object keeps its size. */
	r = c_mremap(&m, 0, A(0), 2 * PG, 4 * PG,
		     ASPACE_MREMAP_MAYMOVE | ASPACE_MREMAP_FIXED, A(10));
	assert_int_equal(r, (int64_t)A(10));
	assert_int_equal(peek(&m, 0, A(11)), 'x');
	assert_int_equal(tm_read(&m, 0, A(12), &v, 1), ASPACE_FAULT_SIGBUS);
	assert_int_equal(tm_read(&m, 0, A(13), &v, 1), ASPACE_FAULT_SIGBUS);
	assert_int_equal(c_mremap(&m, 0, A(10), 4 * PG, 6 * PG, 0, 0),
			 (int64_t)A(10));
	assert_int_equal(c_fault(&m, 0, A(15), ASPACE_ACCESS_WRITE),
			 ASPACE_FAULT_SIGBUS);
	/* A page of it moved alone keeps its offset. */
	assert_int_equal(c_mremap(&m, 0, A(11), PG, PG,
				  ASPACE_MREMAP_MAYMOVE | ASPACE_MREMAP_FIXED,
				  A(30)),
			 (int64_t)A(30));
	expect_layout(&m, 0, "10-11 rw-s @0, 12-16 rw-s @2, 30-31 rw-s @1");
	/* old_len 0 duplicates it: the same object, so the same bytes. */
	assert_int_equal(c_mremap(&m, 0, A(30), 0, PG,
				  ASPACE_MREMAP_MAYMOVE | ASPACE_MREMAP_FIXED,
				  A(40)),
			 (int64_t)A(40));
	assert_int_equal(peek(&m, 0, A(40)), 'x');
	poke(&m, 0, A(40), 'y');
	assert_int_equal(peek(&m, 0, A(30)), 'y');
	expect_layout(&m, 0, "10-11 rw-s @0, 12-16 rw-s @2, 30-31 rw-s @1, "
			     "40-41 rw-s @1");
	tm_done(&m);
}

static void test_memfd_create(void **state)
{
	struct aspace_object *o;
	char name[260];
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	memset(name, 'n', sizeof(name));
	name[250] = '\0';
	assert_int_equal(aspace_memfd_create(&m.as[0], name, 0, &o),
			 -ASPACE_EINVAL);
	name[249] = '\0';
	assert_int_equal(aspace_memfd_create(&m.as[0], name, 0, &o), 0);
	aspace_object_put(o);
	assert_int_equal(aspace_memfd_create(&m.as[0], "x", 0x100, &o),
			 -ASPACE_EINVAL);
	assert_int_equal(aspace_memfd_create(&m.as[0], "x",
					     ASPACE_MFD_NOEXEC_SEAL |
						     ASPACE_MFD_EXEC,
					     &o),
			 -ASPACE_EINVAL);
	assert_int_equal(aspace_memfd_create(&m.as[0], "x",
					     ASPACE_MFD_CLOEXEC |
						     ASPACE_MFD_ALLOW_SEALING,
					     &o),
			 0);
	tm_hold(&m, o);
	assert_int_equal(aspace_object_size(o), 0);
	tm_done(&m);
}

static void test_memfd_io(void **state)
{
	struct aspace_object *o;
	char buf[16];
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	o = memfd(&m, 0);
	assert_int_equal(aspace_object_write(o, 3 * PG - 2, "abcd", 4), 4);
	assert_int_equal(aspace_object_size(o), 3 * PG + 2);
	assert_int_equal(aspace_object_read(o, 3 * PG - 2, buf, 16), 4);
	assert_memory_equal(buf, "abcd", 4);
	assert_int_equal(aspace_object_read(o, 0, buf, 4), 4);
	assert_memory_equal(buf, "\0\0\0\0", 4);
	assert_int_equal(aspace_object_read(o, 4 * PG, buf, 4), 0);
	assert_int_equal(aspace_object_write(o, (1ull << 63) - 2, "abcd", 4),
			 -ASPACE_EFBIG);
	/* Mapped: the same bytes, both ways. */
	map_obj(&m, 0, 0, 4, RW, SHARED_OBJ, o, 0);
	assert_int_equal(peek(&m, 0, A(3)), 'c');
	poke(&m, 0, A(1), 'w');
	assert_int_equal(aspace_object_read(o, PG, buf, 1), 1);
	assert_int_equal(buf[0], 'w');
	/* Past its end: SIGBUS, the mapping's length notwithstanding. */
	assert_int_equal(c_fault(&m, 0, A(3) + 5, ASPACE_ACCESS_READ),
			 ASPACE_FAULT_OK);
	assert_int_equal(tm_read(&m, 0, A(3) + 100, buf, 1), ASPACE_FAULT_OK);
	assert_int_equal(buf[0], 0);
	expect_layout(&m, 0, "0-4 rw-s @0");
	map_obj(&m, 0, 10, 1, RW, SHARED_OBJ, o, 100);
	assert_int_equal(c_fault(&m, 0, A(10), ASPACE_ACCESS_READ),
			 ASPACE_FAULT_SIGBUS);
	tm_done(&m);
}

/* A private mapping sees the object until it writes a page: then that
 * page is its own. */
static void test_private_object(void **state)
{
	struct aspace_object *o;
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	o = memfd(&m, 4 * PG);
	map_obj(&m, 0, 0, 4, RW, SHARED_OBJ, o, 0);
	map_obj(&m, 0, 10, 4, RW, PRIVATE_OBJ, o, 0);
	poke(&m, 0, A(0), 'a');
	assert_int_equal(peek(&m, 0, A(10)), 'a');
	assert_false(faulted(&m, 0, A(10)));
	poke(&m, 0, A(11), 'B');
	assert_true(faulted(&m, 0, A(10)));
	assert_int_equal(aspace_object_write(o, PG, "Z", 1), 1);
	assert_int_equal(aspace_object_write(o, 0, "Y", 1), 1);
	assert_int_equal(peek(&m, 0, A(10)), 'Y');
	assert_int_equal(peek(&m, 0, A(11)), 'B');
	assert_int_equal(peek(&m, 0, A(1)), 'Z');
	/* MADV_DONTNEED drops the private copy: the object shows again. */
	assert_int_equal(c_madvise(&m, 0, A(11), PG, ASPACE_MADV_DONTNEED), 0);
	assert_int_equal(peek(&m, 0, A(11)), 'Z');
	/* ... and the shared mapping's pages come back as they were. */
	assert_int_equal(c_madvise(&m, 0, A(0), 4 * PG, ASPACE_MADV_DONTNEED),
			 0);
	assert_int_equal(peek(&m, 0, A(0)), 'Y');
	/* Fork: the shared mapping shared, the private one copy-on-write. */
	tm_fork(&m, 0, 1);
	poke(&m, 1, A(2), 's');
	poke(&m, 1, A(12), 'p');
	assert_int_equal(peek(&m, 0, A(2)), 's');
	assert_int_equal(peek(&m, 0, A(12)), 's');
	tm_done(&m);
}

/*
 * A write past the end of a private mapping of an object ends in SIGBUS,
 * and the area keeps the identity the write took first (Linux's
 * do_cow_fault()): its pieces get identities of their own in a fork's
 * child, and stay apart there. A read past the end takes none.
 */
static void test_sigbus_identity(void **state)
{
	unsigned char v = 1;
	struct aspace_object *o;
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	o = memfd(&m, 0);
	map_obj(&m, 0, 0, 6, RW, PRIVATE_OBJ, o, 3);
	map_obj(&m, 0, 10, 2, RW, PRIVATE_OBJ, o, 0);
	assert_int_equal(tm_read(&m, 0, A(10), &v, 1), ASPACE_FAULT_SIGBUS);
	assert_false(faulted(&m, 0, A(10)));
	assert_int_equal(tm_write(&m, 0, A(0), &v, 1), ASPACE_FAULT_SIGBUS);
	assert_true(faulted(&m, 0, A(0)));
	assert_int_equal(c_mprotect(&m, 0, A(1), 4 * PG,
				    ASPACE_PROT_WRITE | ASPACE_PROT_EXEC),
			 0);
	tm_fork(&m, 0, 1);
	assert_int_equal(c_mprotect(&m, 1, A(1), 5 * PG, ASPACE_PROT_WRITE), 0);
	expect_layout(&m, 1, "0-1 rw-p @3, 1-5 -w-p @4, 5-6 -w-p @8, "
			     "10-12 rw-p @0");
	/* Its copy through the kernel is the same fault. */
	assert_int_equal(aspace_copy_to_user(&m.as[0], A(11), &v, 1, NULL),
			 -ASPACE_EFAULT);
	assert_true(faulted(&m, 0, A(11)));
	tm_done(&m);
}

/* The inode number maps shows for the area at @va of space @s. */
static unsigned long long ino_at(struct tm *m, int s, uint64_t va)
{
	unsigned long long ino = 0;
	uint64_t pos = va;
	char line[512];

	assert_true(aspace_maps_line(&m->as[s], &pos, line, sizeof(line)) > 0);
	assert_int_equal(sscanf(line, "%*s %*s %*s %*s %llu", &ino), 1);
	return ino;
}

/*
 * Inode numbers of the objects the layer makes are the machine's: a fork's
 * child and its parent never give one number to two objects, through the
 * host's hook (the simulated machine's counter) or without it.
 */
static void inodes_across_fork(const struct aspace_ops *ops)
{
	struct aspace_options o;
	struct aspace_object *f;
	struct tm m;

	tm_init(&m, NULL);
	tm_options(&m, &o);
	aspace_destroy(&m.as[0]);
	o.ops = ops;
	assert_int_equal(aspace_init(&m.as[0], &o), 0);
	map_at(&m, 0, 0, 2, RW, SHARED_ANON);
	tm_fork(&m, 0, 1);
	map_at(&m, 1, 4, 2, RW, SHARED_ANON);
	map_at(&m, 0, 8, 2, RW, SHARED_ANON);
	assert_int_equal(aspace_memfd_create(&m.as[1], "f", 0, &f), 0);
	tm_hold(&m, f);
	assert_int_equal(aspace_object_truncate(f, PG), 0);
	map_obj(&m, 1, 8, 1, RW, SHARED_OBJ, f, 0);
	assert_int_equal(ino_at(&m, 1, A(0)), ino_at(&m, 0, A(0)));
	assert_int_not_equal(ino_at(&m, 1, A(4)), ino_at(&m, 1, A(0)));
	assert_int_not_equal(ino_at(&m, 0, A(8)), ino_at(&m, 1, A(4)));
	assert_int_not_equal(ino_at(&m, 1, A(8)), ino_at(&m, 0, A(8)));
	assert_int_not_equal(ino_at(&m, 1, A(8)), ino_at(&m, 1, A(4)));
	assert_int_not_equal(ino_at(&m, 1, A(8)), ino_at(&m, 1, A(0)));
	tm_done(&m);
}

static void test_inodes(void **state)
{
	struct aspace_ops no_hook = aspace_sim_ops;

	(void)state;
	inodes_across_fork(&aspace_sim_ops);
	no_hook.next_ino = NULL;
	inodes_across_fork(&no_hook);
}

static void test_truncate(void **state)
{
	struct aspace_object *o;
	unsigned char v;
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	o = memfd(&m, 4 * PG);
	map_obj(&m, 0, 0, 4, RW, SHARED_OBJ, o, 0);
	map_obj(&m, 0, 10, 4, RW, PRIVATE_OBJ, o, 0);
	poke(&m, 0, A(0), 'a');
	poke(&m, 0, A(1) + 50, 'b');
	poke(&m, 0, A(2), 'c');
	poke(&m, 0, A(13), 'Q'); /* a private copy */
	poke(&m, 0, A(12), 'P');
	assert_int_equal(aspace_object_truncate(o, 1ull << 63), -ASPACE_EINVAL);
	assert_int_equal(aspace_object_truncate(o, PG + 10), 0);
	tm_check(&m);
	/* Past the end: SIGBUS, in shared and private mappings (copies too). */
	assert_int_equal(tm_read(&m, 0, A(2), &v, 1), ASPACE_FAULT_SIGBUS);
	assert_int_equal(tm_read(&m, 0, A(13), &v, 1), ASPACE_FAULT_SIGBUS);
	/* The part of the last page past the end reads zero. */
	assert_int_equal(peek(&m, 0, A(0)), 'a');
	assert_int_equal(peek(&m, 0, A(1) + 9), 0);
	assert_int_equal(peek(&m, 0, A(1) + 50), 0);
	/* Grown again: zeroes, the private copies gone. */
	assert_int_equal(aspace_object_truncate(o, 4 * PG), 0);
	assert_int_equal(peek(&m, 0, A(2)), 0);
	assert_int_equal(peek(&m, 0, A(12)), 0);
	assert_int_equal(peek(&m, 0, A(13)), 0);
	tm_check(&m);
	tm_done(&m);
}

static void test_fallocate(void **state)
{
	struct aspace_sim_stats st;
	struct aspace_object *o;
	struct tm m;
	char *before, *after;

	(void)state;
	tm_init(&m, NULL);
	o = memfd(&m, 4 * PG);
	map_obj(&m, 0, 0, 4, RW, SHARED_OBJ, o, 0);
	map_obj(&m, 0, 10, 4, RW, PRIVATE_OBJ, o, 0);
	poke(&m, 0, A(0), 'a');
	poke(&m, 0, A(0) + 40, 'A');
	poke(&m, 0, A(2), 'c');
	poke(&m, 0, A(12), 'C'); /* a private copy */
	assert_int_equal(aspace_object_fallocate(o, ASPACE_FALLOC_FL_PUNCH_HOLE,
						 0, PG),
			 -ASPACE_EOPNOTSUPP);
	assert_int_equal(aspace_object_fallocate(o, 0, 0, 0), -ASPACE_EINVAL);
	assert_int_equal(aspace_object_fallocate(o, 0, 1ull << 63, 10),
			 -ASPACE_EINVAL);
	assert_int_equal(aspace_object_fallocate(o, 0x10, 0, 10),
			 -ASPACE_EOPNOTSUPP);
	assert_int_equal(aspace_object_fallocate(o, 0, (1ull << 63) - 4096,
						 8192),
			 -ASPACE_EFBIG);
	/* A hole: the shared mapping reads zero there, the private copy
	 * stays (Linux does not unmap private copies for a hole). */
	assert_int_equal(aspace_object_fallocate(o,
						 ASPACE_FALLOC_FL_PUNCH_HOLE |
							 ASPACE_FALLOC_FL_KEEP_SIZE,
						 2 * PG, PG),
			 0);
	tm_check(&m);
	assert_int_equal(peek(&m, 0, A(2)), 0);
	assert_int_equal(peek(&m, 0, A(12)), 'C');
	/* A partial hole zeroes the bytes in place. */
	assert_int_equal(aspace_object_fallocate(o,
						 ASPACE_FALLOC_FL_PUNCH_HOLE |
							 ASPACE_FALLOC_FL_KEEP_SIZE,
						 10, 40),
			 0);
	assert_int_equal(peek(&m, 0, A(0)), 'a');
	assert_int_equal(peek(&m, 0, A(0) + 40), 0);
	assert_int_equal(aspace_object_size(o), 4 * PG);
	/* Allocation: KEEP_SIZE keeps it, mode 0 grows it. */
	assert_int_equal(aspace_object_fallocate(o, ASPACE_FALLOC_FL_KEEP_SIZE,
						 0, 100 * PG),
			 0);
	assert_int_equal(aspace_object_size(o), 4 * PG);
	assert_int_equal(aspace_object_fallocate(o, 0, 0, 6 * PG), 0);
	assert_int_equal(aspace_object_size(o), 6 * PG);
	tm_check(&m);
	/* Out of frames half way: what this call allocated goes again. */
	aspace_object_truncate(o, 0);
	before = tm_snap(&m, 0);
	aspace_sim_fail_after(m.sim, ASPACE_SIM_FRAME, 3);
	assert_int_equal(aspace_object_fallocate(o, 0, 0, 8 * PG),
			 -ASPACE_ENOMEM);
	after = tm_snap(&m, 0);
	assert_string_equal(before, after);
	free(before);
	free(after);
	/* Truncating to 0 took every page, the private copy included. */
	aspace_sim_stats(m.sim, &st);
	assert_int_equal(st.frames, 0);
	tm_done(&m);
}

/* The offsets of object mappings through merges, splits and moves. */
static void test_object_offsets(void **state)
{
	struct aspace_object *o;
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	o = memfd(&m, 16 * PG);
	map_obj(&m, 0, 0, 4, RW, SHARED_OBJ, o, 0);
	map_obj(&m, 0, 4, 4, RW, SHARED_OBJ, o, 4);
	map_obj(&m, 0, 8, 2, RW, SHARED_OBJ, o, 9);
	map_obj(&m, 0, 10, 2, RO, PRIVATE_OBJ, o, 2);
	expect_layout(&m, 0, "0-8 rw-s @0, 8-10 rw-s @9, 10-12 r--p @2");
	poke(&m, 0, A(5), 'f');
	assert_int_equal(c_mprotect(&m, 0, A(2), 3 * PG, RO), 0);
	expect_layout(&m, 0, "0-2 rw-s @0, 2-5 r--s @2, 5-8 rw-s @5, "
			     "8-10 rw-s @9, 10-12 r--p @2");
	assert_int_equal(c_munmap(&m, 0, A(5), PG), 0);
	expect_layout(&m, 0, "0-2 rw-s @0, 2-5 r--s @2, 6-8 rw-s @6, "
			     "8-10 rw-s @9, 10-12 r--p @2");
	assert_int_equal(c_mremap(&m, 0, A(2), 3 * PG, 3 * PG,
				  ASPACE_MREMAP_MAYMOVE | ASPACE_MREMAP_FIXED,
				  A(20)),
			 (int64_t)A(20));
	assert_int_equal(c_mprotect(&m, 0, A(20), 3 * PG, RW), 0);
	map_obj(&m, 0, 23, 1, RW, SHARED_OBJ, o, 5);
	expect_layout(&m, 0, "0-2 rw-s @0, 6-8 rw-s @6, 8-10 rw-s @9, "
			     "10-12 r--p @2, 20-24 rw-s @2");
	assert_int_equal(peek(&m, 0, A(23)), 'f');
	tm_done(&m);
}

/* A host file: read a page at a time (once), its size, its open mode. */
static struct aspace_sim *test_sim; /* the frames' machine */

struct file {
	char bytes[3 * 4096 + 100];
	int reads;
	bool broken_page2;
};

static int read_page(void *file, uint64_t offset, uint64_t frame)
{
	struct file *f = file;
	unsigned char *p = aspace_sim_ops.frame_map(test_sim, frame);
	uint64_t n = sizeof(f->bytes) - offset;

	f->reads++;
	if (f->broken_page2 && offset == 2 * PG)
		return -ASPACE_EINTR;
	memcpy(p, f->bytes + offset, n < PG ? n : PG);
	return 0;
}

static const struct aspace_file_ops file_ops = {
	.version = ASPACE_FILE_OPS_VERSION,
	.read_page = read_page,
};

static void test_file(void **state)
{
	static struct file f;
	struct aspace_object *o, *bad;
	struct aspace_file_ops v0 = file_ops;
	unsigned char v;
	char line[256];
	uint64_t pos = 0;
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	test_sim = m.sim;
	memset(&f, 0, sizeof(f));
	f.bytes[0] = 'h';
	f.bytes[PG] = 'i';
	f.bytes[3 * PG + 99] = 'z';
	v0.version = 0;
	assert_int_equal(aspace_object_create_file(&m.as[0], &v0, &f,
						   sizeof(f.bytes),
						   ASPACE_OBJ_READ, "/x", 0,
						   0, 1, &bad),
			 -ASPACE_EINVAL);
	assert_int_equal(aspace_object_create_file(&m.as[0], &file_ops, &f,
						   sizeof(f.bytes),
						   ASPACE_OBJ_READ,
						   "/etc/hostname", 0xfe, 0,
						   733, &o),
			 0);
	tm_hold(&m, o);
	/* Opened read-only: no writable shared mapping, now or later. */
	assert_int_equal(c_mmap(&m, 0, A(0), PG, RW, SHARED_OBJ, o, 0),
			 -ASPACE_EACCES);
	map_obj(&m, 0, 0, 4, RO, SHARED_OBJ, o, 0);
	assert_int_equal(c_mprotect(&m, 0, A(0), PG, RW), -ASPACE_EACCES);
	map_obj(&m, 0, 10, 4, RW, PRIVATE_OBJ, o, 0);
	/* The line Linux printed for that file at that address. */
	assert_int_equal(c_mmap(&m, 0, 0x7fb75b873000ull, PG, RO, SHARED_OBJ, o,
				0),
			 0x7fb75b873000ll);
	pos = 0x7fb75b873000ull;
	assert_int_equal(aspace_maps_line(&m.as[0], &pos, line, sizeof(line)),
			 87);
	assert_string_equal(line,
			    "7fb75b873000-7fb75b874000 r--s 00000000 fe:00 733"
			    "                        /etc/hostname\n");
	assert_int_equal(peek(&m, 0, A(0)), 'h');
	assert_int_equal(peek(&m, 0, A(10)), 'h');
	assert_int_equal(peek(&m, 0, A(11)), 'i');
	assert_int_equal(peek(&m, 0, A(3) + 99), 'z');
	assert_int_equal(tm_read(&m, 0, A(3) + 100, &v, 1), ASPACE_FAULT_OK);
	assert_int_equal(f.reads, 3); /* each page once: the page cache */
	poke(&m, 0, A(10), 'H');
	assert_int_equal(peek(&m, 0, A(0)), 'h');
	/* A page the host cannot read: SIGBUS, and nothing kept. */
	f.broken_page2 = true;
	assert_int_equal(c_fault(&m, 0, A(2), ASPACE_ACCESS_READ),
			 ASPACE_FAULT_SIGBUS);
	f.broken_page2 = false;
	assert_int_equal(peek(&m, 0, A(2)), 0);
	assert_int_equal(aspace_object_fallocate(o, 0, 0, PG),
			 -ASPACE_EOPNOTSUPP);
	tm_done(&m);
}

/* MAP_SHARED_VALIDATE refuses flags Linux does not know for an object. */
static void test_shared_validate(void **state)
{
	struct aspace_object *o;
	struct tm m;

	(void)state;
	tm_init(&m, NULL);
	o = memfd(&m, 4 * PG);
	assert_int_equal(c_mmap(&m, 0, A(0), PG, RW,
				ASPACE_MAP_SHARED_VALIDATE |
					ASPACE_MAP_FIXED_NOREPLACE,
				o, 0),
			 -ASPACE_EOPNOTSUPP);
	assert_int_equal(c_mmap(&m, 0, A(0), PG, RW,
				ASPACE_MAP_SHARED_VALIDATE | FIXED |
					ASPACE_MAP_SYNC,
				o, 0),
			 -ASPACE_EOPNOTSUPP);
	/* The huge-page size bits are legacy flags. */
	map_obj(&m, 0, 0, 1, RW, ASPACE_MAP_SHARED_VALIDATE | FIXED | 0x40000000,
		o, 0);
	/* Plain MAP_SHARED ignores what it does not know. */
	map_obj(&m, 0, 1, 1, RW, ASPACE_MAP_SHARED | FIXED | ASPACE_MAP_SYNC,
		o, 1);
	assert_int_equal(c_mmap(&m, 0, A(0), PG, RW,
				ASPACE_MAP_SHARED | ASPACE_MAP_FIXED_NOREPLACE,
				o, 0),
			 -ASPACE_EEXIST);
	/* MAP_SYNC made VM_SYNC, as Linux (an area of its own). */
	expect_layout(&m, 0, "0-1 rw-s @0, 1-2 rw-s @1");
	/* The same object from two unrelated spaces: the same bytes. */
	m.pt[2] = aspace_sim_pt_new(m.sim);
	{
		struct aspace_options opts;

		aspace_sim_options(m.sim, m.pt[2], &opts);
		assert_int_equal(aspace_init(&m.as[2], &opts), 0);
		m.live[2] = true;
	}
	map_obj(&m, 2, 30, 2, RW, SHARED_OBJ, o, 0);
	poke(&m, 2, A(31), 'u');
	assert_int_equal(peek(&m, 0, A(1)), 'u');
	tm_done(&m);
}

/*
 * The page cache's radix tree over sparse pages: each write below needs
 * the tree to grow by one or several levels (the path under a new root
 * through slot 0 or another), or a missing node at some level of a tree
 * already tall enough, and each is first made to fail at every one of the
 * allocations it makes, changing nothing. Pages are 4 KiB: 2^51 of them
 * is the largest object (offsets below 2^63), 9 levels of 64.
 */
struct seen_pages {
	uint64_t off[16];
	size_t n;
};

static void see_page(void *arg, uint64_t offset, uint64_t frame)
{
	struct seen_pages *sp = arg;

	(void)frame;
	assert_true(sp->n < 16);
	sp->off[sp->n++] = offset;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_page_cache_sparse(void **state)
{
	static const uint64_t orders[3][8] = {
		{ 5, 64 * 3 + 1, (7ull << 18) + 2, 0, 5ull << 12,
		  (1ull << 51) - 1, 1ull << 48, 64 * 3 + 2 },
		{ 0, (1ull << 51) - 1, 1ull << 48, 5, (7ull << 18) + 2,
		  5ull << 12, 64 * 3 + 1, 64 * 3 + 2 },
		{ (1ull << 51) - 1, 1ull << 48, 0, 64 * 3 + 2, 5,
		  (7ull << 18) + 2, 64 * 3 + 1, 5ull << 12 },
	};
	struct aspace_sim_stats st0, st;
	struct seen_pages sp;
	uint64_t want[8];
	unsigned char b;
	struct tm m;
	int o, i, j, k;

	(void)state;
	tm_init(&m, NULL);
	for (o = 0; o < 3; o++) {
		struct aspace_object *obj = memfd(&m, 0);
		uint64_t size = 0, blocks;

		aspace_sim_stats(m.sim, &st0);
		for (i = 0; i < 8; i++) {
			uint64_t off = orders[o][i] * PG + 7;

			b = (unsigned char)(0x40 + i);
			aspace_sim_stats(m.sim, &st);
			blocks = st.blocks;
			for (k = 0;; k++) {
				int64_t r;

				aspace_sim_fail_after(m.sim, ASPACE_SIM_ALLOC, k);
				r = aspace_object_write(obj, off, &b, 1);
				aspace_sim_fail_after(m.sim, ASPACE_SIM_ALLOC, -1);
				if (r == 1)
					break;
				assert_int_equal(r, -ASPACE_ENOMEM);
				assert_true(k < 16);
				aspace_sim_stats(m.sim, &st);
				assert_int_equal(st.frames, st0.frames + i);
				assert_int_equal(aspace_object_size(obj), size);
				sp.n = 0;
				aspace_object_pages(obj, see_page, &sp);
				assert_int_equal(sp.n, i);
			}
			/* Each allocation it made was one of those failed. */
			aspace_sim_stats(m.sim, &st);
			assert_int_equal(st.blocks - blocks, k);
			if (off + 1 > size)
				size = off + 1;
			assert_int_equal(aspace_object_size(obj), size);
			want[i] = orders[o][i] * PG;
			tm_check(&m);
		}
		/* Every byte where it was put, in a page zero around it. */
		for (i = 0; i < 8; i++) {
			assert_int_equal(aspace_object_read(obj, orders[o][i] * PG + 7,
							    &b, 1),
					 1);
			assert_int_equal(b, 0x40 + i);
			assert_int_equal(aspace_object_read(obj, orders[o][i] * PG + 6,
							    &b, 1),
					 1);
			assert_int_equal(b, 0);
		}
		qsort(want, 8, sizeof(want[0]), cmp_u64);
		sp.n = 0;
		aspace_object_pages(obj, see_page, &sp);
		assert_int_equal(sp.n, 8);
		for (j = 0; j < 8; j++)
			assert_int_equal(sp.off[j], want[j]);
		aspace_sim_stats(m.sim, &st);
		assert_int_equal(st.frames, st0.frames + 8);
		/* Only those pages; truncated to nothing, every page and node goes. */
		assert_int_equal(aspace_object_truncate(obj, 0), 0);
		aspace_sim_stats(m.sim, &st);
		assert_int_equal(st.frames, st0.frames);
		assert_int_equal(st.blocks, st0.blocks);
	}
	tm_done(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_anon_grow),
		cmocka_unit_test(test_memfd_create),
		cmocka_unit_test(test_memfd_io),
		cmocka_unit_test(test_private_object),
		cmocka_unit_test(test_sigbus_identity),
		cmocka_unit_test(test_inodes),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_fallocate),
		cmocka_unit_test(test_object_offsets),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_shared_validate),
		cmocka_unit_test(test_page_cache_sparse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
