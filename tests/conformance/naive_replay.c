/*
 * naive-replay TRACE: run a trace through the naive model (tests/model) and
 * print what reftrace.py prints. The suite compares its output with the
 * expected files too, so the model that judges the randomized tests is itself
 * held to the reference.
 */
#include <stdio.h>
#include <stdlib.h>

#include "naive.h"
#include "trace.h"

static void print_area(const struct naive_area *a)
{
	out_hex(a->start);
	out_char(' ');
	if (a->size)
		out_hex(a->size);
	else
		out_str("0x10000000000000000"); /* [0, 2^64) */
	out_char(' ');
	out_hex(a->flags);
	out_char('\n');
}

/* gaps FIRST LAST: the count, then each gap; sizes 0 stand for 2^64. */
static void print_gaps(const struct naive *m, uint64_t first, uint64_t last)
{
	size_t n = naive_gaps(m, first, last, NULL, NULL, 0), i;
	uint64_t *v = malloc((2 * n + 1) * sizeof(*v));

	if (!v) {
		fprintf(stderr, "naive-replay: out of memory\n");
		exit(1);
	}
	naive_gaps(m, first, last, v, v + n, n);
	out_str("gaps ");
	out_dec(n);
	out_char('\n');
	for (i = 0; i < n; i++) {
		out_hex(v[i]);
		out_char(' ');
		if (v[n + i])
			out_hex(v[n + i]);
		else
			out_str("0x10000000000000000");
		out_char('\n');
	}
	free(v);
}

static void print_result(enum mapping_error err)
{
	out_str(err ? mapping_strerror(err) : "ok");
	out_char('\n');
}

int main(int argc, char **argv)
{
	const struct naive_area *found;
	const uint64_t *p, *end;
	struct naive m;
	struct trace t;
	uint64_t addr;
	size_t i;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: naive-replay TRACE\n");
		return 2;
	}
	if (trace_load(&t, argv[1]))
		return 1;
	naive_init(&m);
	for (p = t.w, end = t.w + t.nw; p < end;) {
		struct trace_op op;
		const uint64_t *a;
		enum mapping_error err;

		p = trace_next(p, &op);
		a = op.arg;
		switch (op.kind) {
		case T_GRANULE:
			naive_set_granule(&m, a[0]);
			break;
		case T_MERGE:
			naive_set_merge(&m, op.opt);
			break;
		case T_MAP:
			print_result(naive_map(&m, a[0], a[1], a[2], op.opt));
			break;
		case T_UNMAP:
			print_result(op.opt ? naive_unmap_strict(&m, a[0], a[1])
				     : naive_unmap(&m, a[0], a[1]));
			break;
		case T_PROTECT:
			print_result(op.opt ? naive_protect_strict(&m, a[0], a[1],
								   a[2], a[3])
				     : naive_protect(&m, a[0], a[1], a[2], a[3]));
			break;
		case T_REMAP:
			print_result(op.opt ? naive_remap_fixed(&m, a[0], a[1],
								a[2], a[3])
				     : naive_remap(&m, a[0], a[1], a[2]));
			break;
		case T_LIMIT:
			naive_set_max_areas(&m, a[0]);
			break;
		case T_ACCESS:
			err = naive_can_access(&m, a[0], a[1], a[2]);
			out_str(err == MAPPING_OK ? "yes"
				: err == MAPPING_ERR_BAD_STATE ? "no"
				: mapping_strerror(err));
			out_char('\n');
			break;
		case T_GAPS:
			print_gaps(&m, a[0], a[1]);
			break;
		case T_DUP:
			/* The copy holds what the original held. */
			out_str("ok\n");
			break;
		case T_FIND:
			found = naive_find(&m, a[0]);
			if (found)
				print_area(found);
			else
				out_str("none\n");
			break;
		case T_OVERLAPS:
			out_str(naive_overlaps(&m, a[0], a[1]) ? "yes\n" : "no\n");
			break;
		case T_FREE:
		case T_FREETOP:
			err = naive_free_area(&m, a[0], a[1], a[2], a[3], a[4],
					      op.kind == T_FREETOP, &addr);
			if (err == MAPPING_OK) {
				out_hex(addr);
				out_char('\n');
			} else {
				out_str(err == MAPPING_ERR_NO_MEMORY ? "none"
					: mapping_strerror(err));
				out_char('\n');
			}
			break;
		case T_CLEAR:
			naive_clear(&m);
			out_str("ok\n");
			break;
		case T_LEN:
			out_dec(naive_len(&m));
			out_char('\n');
			break;
		case T_DUMP:
			out_str("len ");
			out_dec(naive_len(&m));
			out_char('\n');
			for (i = 0; i < naive_len(&m); i++)
				print_area(naive_area(&m, i));
			break;
		}
	}
	rc = out_flush() ? 1 : 0;
	naive_free(&m);
	trace_free(&t);
	return rc;
}
