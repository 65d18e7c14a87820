/*
 * Physical frames: a free list threaded through the free frames, and one
 * reference count per frame so that fork can share pages copy-on-write.
 * Frames are named by their physical address; the kernel reaches their
 * bytes through the direct map.
 */
#include "kernel.h"

#define NFRAMES (RAM_SIZE / PAGE_SIZE)

static uint16_t refs[NFRAMES];
static uint64_t free_list; /* physical address of the first free frame */
static uint64_t nfree;

static uint16_t *ref_of(uint64_t pa)
{
	if (pa < RAM_BASE || pa >= RAM_BASE + RAM_SIZE || pa % PAGE_SIZE)
		panic("frame: bad address %lx", pa);
	return &refs[(pa - RAM_BASE) / PAGE_SIZE];
}

void frame_init(uint64_t first, uint64_t end)
{
	for (uint64_t pa = end - PAGE_SIZE; pa >= first; pa -= PAGE_SIZE) {
		*(uint64_t *)phys_to_virt(pa) = free_list;
		free_list = pa;
		nfree++;
	}
}

uint64_t frame_alloc(void)
{
	uint64_t pa = free_list;

	if (!pa)
		return 0;
	free_list = *(uint64_t *)phys_to_virt(pa);
	nfree--;
	*ref_of(pa) = 1;
	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

void frame_get(uint64_t pa)
{
	uint16_t *r = ref_of(pa);

	if (*r == 0 || *r == UINT16_MAX)
		panic("frame_get: %lx has %u references", pa, *r);
	(*r)++;
}

void frame_put(uint64_t pa)
{
	uint16_t *r = ref_of(pa);

	if (*r == 0)
		panic("frame_put: %lx is free", pa);
	if (--*r == 0) {
		*(uint64_t *)phys_to_virt(pa) = free_list;
		free_list = pa;
		nfree++;
	}
}

unsigned frame_refs(uint64_t pa)
{
	return *ref_of(pa);
}

uint64_t frames_free(void)
{
	return nfree;
}
