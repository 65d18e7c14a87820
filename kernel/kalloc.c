/*
 * The kernel's heap: memory for the address-space layer's records (one
 * per area, identities, objects and their page caches, the merge plan of a
 * call). A binary buddy allocator over one static arena: a block of 2^k
 * bytes (32 bytes to the whole arena) is split in two buddies on demand,
 * and two free buddies join again, so that after a program every byte is
 * back as one block and the kernel can check that nothing leaked.
 *
 * The caller says the size again on free (as the layer's free hook does),
 * so an allocated block needs no header; a free block holds its list links
 * and its order is noted in free_order[], which is how a freed block finds
 * out whether its buddy is free too.
 */
#include "kernel.h"

#define MIN_SHIFT 5                      /* 32 bytes */
#define ORDERS 17                        /* up to 32 << 16: 2 MiB */
#define HEAP_SIZE (1ul << (MIN_SHIFT + ORDERS - 1))

struct block {
	struct block *next, *prev;
};

static unsigned char heap[HEAP_SIZE] __attribute__((aligned(PAGE_SIZE)));
static struct block *free_list[ORDERS];
/* For each 32-byte unit: 1 + the order of the free block starting there, or 0. */
static unsigned char free_order[HEAP_SIZE >> MIN_SHIFT];
static uint64_t used;

static void push(unsigned order, struct block *b)
{
	b->prev = NULL;
	b->next = free_list[order];
	if (b->next)
		b->next->prev = b;
	free_list[order] = b;
	free_order[((unsigned char *)b - heap) >> MIN_SHIFT] = (unsigned char)(order + 1);
}

static void unlink_block(unsigned order, struct block *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		free_list[order] = b->next;
	if (b->next)
		b->next->prev = b->prev;
	free_order[((unsigned char *)b - heap) >> MIN_SHIFT] = 0;
}

static unsigned order_of(size_t size)
{
	unsigned order = 0;

	while (order < ORDERS && (1ul << (MIN_SHIFT + order)) < size)
		order++;
	return order;
}

void kalloc_init(void)
{
	push(ORDERS - 1, (struct block *)heap);
}

/* @size bytes, 32-byte aligned; NULL when no block is large enough. */
void *kalloc(size_t size)
{
	unsigned want = order_of(size), order = want;
	struct block *b;

	while (order < ORDERS && !free_list[order])
		order++;
	if (order == ORDERS)
		return NULL;
	b = free_list[order];
	unlink_block(order, b);
	while (order > want) { /* keep the first half, free the second */
		order--;
		push(order, (struct block *)((unsigned char *)b +
					     (1ul << (MIN_SHIFT + order))));
	}
	used += 1ul << (MIN_SHIFT + want);
	return b;
}

void kfree(void *ptr, size_t size)
{
	unsigned order = order_of(size);
	uint64_t off = (uint64_t)((unsigned char *)ptr - heap);

	if (!ptr)
		return;
	if (off >= HEAP_SIZE || off % (1ul << (MIN_SHIFT + order)))
		panic("kfree: %p is no block of %lu bytes", ptr, (unsigned long)size);
	used -= 1ul << (MIN_SHIFT + order);
	while (order < ORDERS - 1) {
		uint64_t buddy = off ^ (1ul << (MIN_SHIFT + order));

		if (free_order[buddy >> MIN_SHIFT] != order + 1)
			break;
		unlink_block(order, (struct block *)(heap + buddy));
		off &= ~(1ul << (MIN_SHIFT + order));
		order++;
	}
	push(order, (struct block *)(heap + off));
}

/* Bytes in use, for the leak check after each program. */
uint64_t kalloc_used(void)
{
	return used;
}
