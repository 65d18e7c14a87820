/*
 * The kernel's access to user memory: copies to and from an address space
 * and a bounded string copy. Each page is reached as the process's own
 * access would reach it: through its entry when the entry allows the
 * access, else through the fault path (demand-zero, copy-on-write break),
 * and the copy stops with EFAULT at the first byte the process could not
 * access (no area, no right, past an object's end).
 */
#include "aspace_internal.h"

/* The frame of page @va for @access, faulting it in; 0 or -errno. */
static int user_page(struct aspace *as, uint64_t va, unsigned access,
		     uint64_t *frame)
{
	unsigned need = access == ASPACE_ACCESS_WRITE ? ASPACE_PTE_WRITE :
							ASPACE_PTE_READ;
	enum aspace_fault f;
	unsigned rights;
	uint64_t at;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		at = va;
		if (aspace_lookup(as, &at, va + as->page_size, frame,
				  &rights) &&
		    (rights & need) == need)
			return 0;
		f = aspace_fault(as, va, access);
		if (f == ASPACE_FAULT_OOM)
			return -ASPACE_ENOMEM;
		if (f != ASPACE_FAULT_OK)
			return -ASPACE_EFAULT;
	}
	return -ASPACE_EFAULT;
}

/* Copy @len bytes between @buf and user address @uva, a page at a time. */
static int copy(struct aspace *as, uint64_t uva, void *buf, size_t len,
		unsigned access, size_t *done)
{
	uint64_t mask = as->page_size - 1, frame, n;
	char *p = buf, *f;
	size_t copied = 0;
	int err = 0;

	while (copied < len) {
		if (uva + copied < uva || uva + copied >= as->task_size) {
			err = -ASPACE_EFAULT;
			break;
		}
		err = user_page(as, (uva + copied) & ~mask, access, &frame);
		if (err)
			break;
		n = as->page_size - ((uva + copied) & mask);
		if (n > len - copied)
			n = len - copied;
		f = aspace_frame_map(as, frame);
		if (access == ASPACE_ACCESS_WRITE)
			memcpy(f + ((uva + copied) & mask), p + copied, n);
		else
			memcpy(p + copied, f + ((uva + copied) & mask), n);
		aspace_frame_unmap(as, frame, f);
		copied += n;
	}
	if (done)
		*done = copied;
	return err;
}

int aspace_copy_from_user(struct aspace *as, void *dst, uint64_t src,
			  size_t len, size_t *done)
{
	return copy(as, src, dst, len, ASPACE_ACCESS_READ, done);
}

int aspace_copy_to_user(struct aspace *as, uint64_t dst, const void *src,
			size_t len, size_t *done)
{
	return copy(as, dst, (void *)src, len, ASPACE_ACCESS_WRITE, done);
}

int64_t aspace_strncpy_from_user(struct aspace *as, char *dst, uint64_t src,
				 size_t count)
{
	uint64_t mask = as->page_size - 1, frame;
	size_t got = 0, n, i;
	const char *f;
	int err;

	while (got < count) {
		if (src + got < src || src + got >= as->task_size)
			return -ASPACE_EFAULT;
		err = user_page(as, (src + got) & ~mask, ASPACE_ACCESS_READ,
				&frame);
		if (err)
			return err;
		n = as->page_size - ((src + got) & mask);
		if (n > count - got)
			n = count - got;
		f = (const char *)aspace_frame_map(as, frame) +
		    ((src + got) & mask);
		for (i = 0; i < n && f[i]; i++)
			dst[got + i] = f[i];
		if (i < n)
			dst[got + i] = '\0';
		aspace_frame_unmap(as, frame,
				   (void *)(f - ((src + got) & mask)));
		if (i < n)
			return (int64_t)(got + i);
		got += n;
	}
	return (int64_t)count;
}
