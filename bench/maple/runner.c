/*
 * maple-peer: the trace language (trace-format.md) over Linux's maple tree,
 * the way mm/ keeps a process's areas since Linux 6.1 (without the
 * vm_area_struct behind each range): areas are ranges of an
 * MT_FLAGS_ALLOC_RANGE tree whose entries are the flags, mas_walk() finds,
 * mas_store_gfp() maps, unmaps and protects, mas_empty_area() and
 * mas_empty_area_rev() search free space. The bench runs it beside ms-replay
 * and the sorted-array baseline on the same traces.
 *
 *   maple-peer [--quiet] TRACE
 *
 * Prints what ms-replay prints for the operations it has (granule, map,
 * unmap, protect, find, overlaps, free, freetop, clear, len, dump); any
 * other operation, and flags of 2^63 or more, stop it with a message.
 * --quiet: nothing per operation; on stderr "ops N secs S ns_per_op X
 * areas A bytes B", B the bytes of the tree's nodes in use, timing only the
 * operations.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"
#include "trace.h"

static volatile uint64_t sink; /* keeps quiet-mode queries from vanishing */

static void print_area(const struct mtg_range *a)
{
	out_hex(a->start);
	out_char(' ');
	out_hex(a->last - a->start + 1);
	out_char(' ');
	out_hex(a->flags);
	out_char('\n');
}

static void unsupported(const struct trace_op *op, const char *path)
{
	fprintf(stderr, "maple-peer: %s: line %llu: operation not supported\n",
		path, (unsigned long long)op->line);
	exit(1);
}

static void run(const struct trace *t, bool print, const char *path)
{
	const uint64_t *p = t->w, *end = t->w + t->nw;

	while (p < end) {
		const char *res = NULL;
		struct mtg_range r;
		struct trace_op op;
		const uint64_t *a;
		uint64_t addr = 0, from;
		bool found;
		int rc;

		p = trace_next(p, &op);
		a = op.arg;
		switch (op.kind) {
		case T_GRANULE:
			peer_granule = a[0];
			break;
		case T_MERGE:
			if (op.opt)
				unsupported(&op, path);
			break;
		case T_MAP:
			if (a[2] >> 63) /* the tree's entries hold 63 bits */
				unsupported(&op, path);
			res = peer_map(a[0], a[1], a[2], op.opt);
			break;
		case T_UNMAP:
			if (op.opt)
				unsupported(&op, path);
			res = peer_unmap(a[0], a[1]);
			break;
		case T_PROTECT:
			if (op.opt || a[2] >> 63)
				unsupported(&op, path);
			res = peer_protect(a[0], a[1], a[2], a[3]);
			break;
		case T_FIND:
			found = peer_lookup(a[0], &r);
			if (!print)
				sink += found ? r.start : 1;
			else if (found)
				print_area(&r);
			else
				res = "none";
			break;
		case T_OVERLAPS:
			res = peer_overlaps(a[0], a[1]) ? "yes" : "no";
			break;
		case T_FREE:
		case T_FREETOP:
			if (a[1] == 0 || a[2] == 0 || (a[2] & (a[2] - 1)) ||
			    a[3] > a[4]) {
				res = "InvalidParam";
				break;
			}
			rc = (op.kind == T_FREE ? peer_free_low : peer_free_top)(
				a[0], a[1], a[2], a[3], a[4], &addr);
			if (!print)
				sink += rc ? 1 : addr;
			else if (rc)
				res = "none";
			else
				out_hex(addr);
			if (print && !rc)
				out_char('\n');
			break;
		case T_CLEAR:
			mtg_destroy();
			res = "ok";
			break;
		case T_LEN:
			if (print) {
				out_dec(mtg_count());
				out_char('\n');
			}
			break;
		case T_DUMP:
			if (!print)
				break;
			out_str("len ");
			out_dec(mtg_count());
			out_char('\n');
			for (from = 0; mtg_find(from, UINT64_MAX, &r);) {
				print_area(&r);
				if (r.last == UINT64_MAX)
					break;
				from = r.last + 1;
			}
			break;
		default:
			unsupported(&op, path);
		}
		if (print && res) {
			out_str(res);
			out_char('\n');
		} else if (res) {
			sink += (unsigned char)res[0];
		}
	}
}

int main(int argc, char **argv)
{
	bool quiet = argc == 3 && !strcmp(argv[1], "--quiet");
	const char *path = argv[argc - 1];
	struct trace t;
	double secs;

	if (argc != 2 + quiet || path[0] == '-') {
		fprintf(stderr, "usage: maple-peer [--quiet] TRACE\n");
		return 2;
	}
	if (trace_load(&t, path))
		return 1;
	mtg_init();

	secs = trace_clock();
	run(&t, !quiet, path);
	secs = trace_clock() - secs;
	if (quiet)
		trace_quiet_line(t.nops, secs, mtg_count(), mtg_bytes());
	trace_free(&t);
	mtg_destroy();
	return out_flush() ? 1 : 0;
}
