/*
 * ms-bench: what the set's own structures cost. Runs a trace through the
 * library with a null backend, as ms-replay --quiet does, and prints on
 * stderr "ops N secs S ns_per_op X areas A bytes B", B being
 * memory_set_memory_bytes() at the end.
 *
 *   ms-bench TRACE
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <memory_set/malloc.h>
#include <memory_set/memory_set.h>

#include "trace.h"

static void run(struct memory_set *set, const struct trace *t)
{
	static const struct mapping_backend backend = { &trace_null_ops, NULL };
	const uint64_t *p = t->w, *end = t->w + t->nw;
	uint64_t addr;

	while (p < end) {
		struct trace_op op;
		struct trace_prot prot;
		const uint64_t *a;

		p = trace_next(p, &op);
		a = op.arg;
		switch (op.kind) {
		case T_GRANULE:
			memory_set_set_granule(set, a[0]);
			break;
		case T_MERGE:
			memory_set_set_merge(set, op.opt);
			break;
		case T_MAP:
			memory_set_map(set, a[0], a[1], a[2], &backend, NULL, op.opt);
			break;
		case T_UNMAP:
			memory_set_unmap(set, a[0], a[1], NULL);
			break;
		case T_PROTECT:
			prot.flags = a[2];
			prot.mask = a[3];
			memory_set_protect(set, a[0], a[1], trace_prot_update, &prot, NULL);
			break;
		case T_FIND:
			memory_set_find(set, a[0]);
			break;
		case T_OVERLAPS:
			memory_set_overlaps(set, a[0], a[1]);
			break;
		case T_FREE:
			memory_set_find_free_area(set, a[0], a[1], a[2], a[3], a[4],
						  &addr);
			break;
		case T_FREETOP:
			memory_set_find_free_area_top(set, a[0], a[1], a[2], a[3],
						      a[4], &addr);
			break;
		case T_CLEAR:
			memory_set_clear(set, NULL);
			break;
		default: /* len and dump print; here there is nothing to print */
			break;
		}
	}
}

int main(int argc, char **argv)
{
	struct memory_set_options opts = {
		.size = sizeof(opts),
		.allocator = &memory_set_malloc_allocator,
	};
	struct memory_set set;
	struct timespec t0, t1;
	struct trace t;
	double secs;
	size_t len;
	char *buf;

	if (argc != 2) {
		fprintf(stderr, "usage: ms-bench TRACE\n");
		return 2;
	}
	if (trace_read_file(argv[1], &buf, &len) ||
	    trace_parse(&t, buf, len, argv[1]))
		return 1;
	free(buf);
	if (memory_set_init(&set, &opts) != MAPPING_OK) {
		fprintf(stderr, "ms-bench: memory_set_init failed\n");
		return 1;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	run(&set, &t);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	fprintf(stderr, "ops %llu secs %.6f ns_per_op %.1f areas %llu bytes %llu\n",
		(unsigned long long)t.nops, secs,
		t.nops ? secs * 1e9 / (double)t.nops : 0.0,
		(unsigned long long)memory_set_len(&set),
		(unsigned long long)memory_set_memory_bytes(&set));
	memory_set_destroy(&set);
	trace_free(&t);
	return 0;
}
