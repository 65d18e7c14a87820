/* An exact picture of an address space (see snap.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snap.h"

void aspace_bprintf(struct aspace_buf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	while (!b->oom) {
		va_start(ap, fmt);
		k = b->p ? vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap) : 0;
		va_end(ap);
		if (b->p && k >= 0 && (size_t)k < b->cap - b->n) {
			b->n += (size_t)k;
			return;
		}
		b->cap = b->cap ? 2 * b->cap + (size_t)k : 4096;
		char *p = realloc(b->p, b->cap);

		if (!p)
			b->oom = true;
		else
			b->p = p;
	}
}

char *aspace_snap(struct aspace_sim *sim, struct aspace *as, void *pt,
		  struct aspace_object *const *objs, size_t nobjs)
{
	struct aspace_area_info inf;
	struct aspace_sim_stats st;
	struct aspace_buf b = { NULL, 0, 0, false };
	uint64_t va = 0, frame, pos;
	unsigned rights;
	char line[512];
	size_t i;

	aspace_bprintf(&b, "%s", "");
	for (;;) {
		pos = va;
		if (!aspace_maps_line(as, &pos, line, sizeof(line)))
			break;
		aspace_area(as, pos - 1, &inf);
		aspace_bprintf(&b, "%s  flags %#llx pgoff %llu anon %d obj %p\n", line,
			(unsigned long long)inf.flags,
			(unsigned long long)inf.pgoff, inf.anon,
			(void *)inf.object);
		va = pos;
	}
	va = 0;
	while (aspace_sim_ops.pt_lookup(sim, pt, &va, UINT64_MAX, &frame,
					&rights)) {
		aspace_bprintf(&b, "pte %llx frame %llu rights %u\n",
			(unsigned long long)va, (unsigned long long)frame,
			rights);
		va += 4096;
	}
	aspace_bprintf(&b, "brk %llx areas %llu\n",
		(unsigned long long)aspace_brk(as, 0),
		(unsigned long long)aspace_areas(as));
	for (i = 0; i < nobjs; i++)
		aspace_bprintf(&b, "object %zu size %llu\n", i,
			(unsigned long long)aspace_object_size(objs[i]));
	aspace_sim_stats(sim, &st);
	aspace_bprintf(&b,
		"frames %llu refs %llu entries %llu blocks %llu bytes %llu\n",
		(unsigned long long)st.frames,
		(unsigned long long)st.frame_refs,
		(unsigned long long)st.entries, (unsigned long long)st.blocks,
		(unsigned long long)st.bytes);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
