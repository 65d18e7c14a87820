/* A backend over mmap/mprotect/munmap on a reserved window; see
 * mmap_backend.h. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE */

#include "mmap_backend.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif

#define ALL_FLAGS (MMAP_BACKEND_READ | MMAP_BACKEND_WRITE | MMAP_BACKEND_EXEC)

uint64_t mmap_page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (uint64_t)p : 4096;
}

static enum mapping_error from_errno(int err)
{
	switch (err) {
	case ENOMEM:
		return MAPPING_ERR_NO_MEMORY;
	case EINVAL:
		return MAPPING_ERR_INVALID_PARAM;
	default:
		return MAPPING_ERR_BAD_STATE;
	}
}

static int to_prot(uint64_t flags)
{
	return ((flags & MMAP_BACKEND_READ) ? PROT_READ : 0) |
	       ((flags & MMAP_BACKEND_WRITE) ? PROT_WRITE : 0) |
	       ((flags & MMAP_BACKEND_EXEC) ? PROT_EXEC : 0);
}

/* The range lies inside the window and is addressable by this process. */
static int in_window(const struct mmap_window *w, uint64_t start,
		     uint64_t size)
{
	return w != NULL && size != 0 && start >= w->base &&
	       start - w->base <= w->size && size <= w->size - (start - w->base) &&
	       (uintptr_t)start == start;
}

/* Replace [start, start+size) by a fresh mapping with prot. */
static enum mapping_error remap(uint64_t start, uint64_t size, int prot,
				int extra)
{
	void *p = mmap((void *)(uintptr_t)start, (size_t)size, prot,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | extra, -1, 0);

	return p == MAP_FAILED ? from_errno(errno) : MAPPING_OK;
}

enum mapping_error mmap_window_init(struct mmap_window *w, size_t size)
{
	uint64_t page = mmap_page_size();
	void *p;

	if (w == NULL || size == 0)
		return MAPPING_ERR_INVALID_PARAM;
	size = (size + page - 1) & ~(page - 1);
	p = mmap(NULL, size, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return from_errno(errno);
	w->base = (uint64_t)(uintptr_t)p;
	w->size = size;
	return MAPPING_OK;
}

void mmap_window_destroy(struct mmap_window *w)
{
	if (w != NULL && w->size != 0)
		munmap((void *)(uintptr_t)w->base, (size_t)w->size);
	if (w != NULL)
		w->size = 0;
}

static enum mapping_error mb_map(void *data, uint64_t start, uint64_t size,
				 uint64_t flags, void *page_table)
{
	(void)data;
	if (!in_window(page_table, start, size) || (flags & ~(uint64_t)ALL_FLAGS))
		return MAPPING_ERR_INVALID_PARAM;
	return remap(start, size, to_prot(flags), 0);
}

static enum mapping_error mb_unmap(void *data, uint64_t start, uint64_t size,
				   void *page_table)
{
	(void)data;
	if (!in_window(page_table, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	/* Back to the reservation in one step: the memory is discarded and
	 * the range never becomes free for another mmap of the process. */
	return remap(start, size, PROT_NONE, MAP_NORESERVE);
}

static enum mapping_error mb_protect(void *data, uint64_t start, uint64_t size,
				     uint64_t old_flags, uint64_t new_flags,
				     void *page_table)
{
	(void)data;
	(void)old_flags;
	if (!in_window(page_table, start, size) ||
	    (new_flags & ~(uint64_t)ALL_FLAGS))
		return MAPPING_ERR_INVALID_PARAM;
	if (mprotect((void *)(uintptr_t)start, (size_t)size,
		     to_prot(new_flags)) != 0)
		return from_errno(errno);
	return MAPPING_OK;
}

const struct mapping_backend_ops mmap_backend_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = mb_map,
	.unmap = mb_unmap,
	.protect = mb_protect,
};
