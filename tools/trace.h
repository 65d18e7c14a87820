/*
 * Reading and writing the trace language (trace-format.md): a parser that
 * turns a whole trace into a packed array of operations before anything
 * runs, and a buffered writer for the printed results. Shared by ms-replay
 * and the conformance tests.
 */
#ifndef MS_TRACE_H
#define MS_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memory_set/mapping.h>

enum trace_kind {
	T_GRANULE,  /* arg: granule */
	T_MERGE,    /* opt: on */
	T_MAP,      /* arg: start size flags; opt: replace */
	T_UNMAP,    /* arg: start size; opt: strict */
	T_PROTECT,  /* arg: start size flags mask (all ones if not given);
		     * opt: strict */
	T_FIND,     /* arg: addr */
	T_OVERLAPS, /* arg: start size */
	T_FREE,     /* arg: hint size align first last */
	T_FREETOP,  /* the same */
	T_CLEAR,
	T_LEN,
	T_DUMP,
	T_REMAP,    /* arg: start size new_size [new_start]; opt: a move */
	T_LIMIT,    /* arg: max_areas */
	T_ACCESS,   /* arg: start size mask */
	T_GAPS,     /* arg: first last */
	T_DUP,
};

/*
 * The parsed trace. Each operation is a head word (kind in bits 0-7, opt in
 * bit 8, argument count in bits 16-23, line number from bit 24) followed by
 * its arguments: 16 bytes for a find, so millions of lines stay small.
 */
struct trace {
	uint64_t *w;
	size_t nw;
	size_t cap;
	uint64_t nops;
};

struct trace_op {
	unsigned kind;
	bool opt;
	uint64_t line;
	const uint64_t *arg;
};

/* Read the file @path whole ("-": standard input). 0, or -1 with a message. */
int trace_read_file(const char *path, char **buf, size_t *len);

/*
 * Parse @len bytes of @buf into @t. On a malformed line print
 * "NAME: line N: reason" on stderr and return -1 (@t is then freed).
 */
int trace_parse(struct trace *t, const char *buf, size_t len, const char *name);

void trace_free(struct trace *t);

/* Read and parse the file @path whole: 0, or -1 with a message. */
int trace_load(struct trace *t, const char *path);

/* Seconds of CPU time the calling thread has used, to time the operations
 * alone (time spent waiting for a CPU on a busy machine not counted). */
double trace_clock(void);

/*
 * The --quiet line every replayer prints on stderr: "ops N secs S
 * ns_per_op X areas A bytes B bytes_per_area C" (C is 0.0 with no areas).
 */
void trace_quiet_line(uint64_t nops, double secs, uint64_t areas,
		      uint64_t bytes);

/* Decode the operation at @p into @op; returns the next one. */
static inline const uint64_t *trace_next(const uint64_t *p, struct trace_op *op)
{
	op->kind = p[0] & 0xff;
	op->opt = (p[0] >> 8) & 1;
	op->line = p[0] >> 24;
	op->arg = p + 1;
	return p + 1 + ((p[0] >> 16) & 0xff);
}

/* Buffered standard output: written in large blocks, flushed by out_flush(). */
void out_str(const char *s);
void out_hex(uint64_t v);  /* 0x..., lowercase, no leading zeros */
void out_dec(uint64_t v);
void out_char(char c);
/* Flush; -1 if writing failed. */
int out_flush(void);

/* A backend whose page table is imaginary: every hook succeeds. */
extern const struct mapping_backend_ops trace_null_ops;

/* The protect rule of the trace language: FLAGS under MASK. */
struct trace_prot {
	uint64_t flags, mask;
};

/* memory_set_update_fn for a struct trace_prot: leave an area whole when
 * old & mask == flags & mask, else give it (flags & mask) | (old & ~mask). */
bool trace_prot_update(void *ctx, uint64_t old, uint64_t *new_flags);

#endif /* MS_TRACE_H */
