/*
 * Trace parsing and output; see trace.h. Lines and words are split the way
 * reftrace.py splits them (it reads bytes as latin-1, ends lines at \n, \r\n
 * or \r and splits words on the ASCII separators only), so a trace means the
 * same to both, whatever bytes it holds.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include "trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
	const char *name;
	unsigned char min, max; /* words after the operation */
} ops[] = {
	[T_GRANULE] = { "granule", 1, 1 },  [T_MERGE] = { "merge", 1, 1 },
	[T_MAP] = { "map", 3, 4 },          [T_UNMAP] = { "unmap", 2, 3 },
	[T_PROTECT] = { "protect", 3, 5 },  [T_FIND] = { "find", 1, 1 },
	[T_OVERLAPS] = { "overlaps", 2, 2 }, [T_FREE] = { "free", 5, 5 },
	[T_FREETOP] = { "freetop", 5, 5 },  [T_CLEAR] = { "clear", 0, 0 },
	[T_LEN] = { "len", 0, 0 },          [T_DUMP] = { "dump", 0, 0 },
	[T_REMAP] = { "remap", 3, 4 },      [T_LIMIT] = { "limit", 1, 1 },
	[T_ACCESS] = { "access", 3, 3 },    [T_GAPS] = { "gaps", 2, 2 },
	[T_DUP] = { "dup", 0, 0 },
};

#define MAX_WORDS 6

int trace_read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 1 << 16, n = 0, got;
	char *b = NULL, *nb;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (!b || n == cap) {
			cap = b ? cap * 2 : cap;
			nb = realloc(b, cap);
			if (!nb) {
				fprintf(stderr, "%s: out of memory\n", path);
				goto fail;
			}
			b = nb;
		}
		got = fread(b + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	*buf = b;
	*len = n;
	return 0;
fail:
	free(b);
	if (f != stdin)
		fclose(f);
	return -1;
}

/* reftrace.py's SPACE: what str.split() takes for a separator below 0x80. */
static bool is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\f') || (c >= 0x1c && c <= 0x1f);
}

static bool word_is(const char *w, size_t n, const char *s)
{
	return s[0] == w[0] && strlen(s) == n && memcmp(w, s, n) == 0;
}

/* 0x and hexadecimal digits, or decimal digits; NULL or a reason. */
static const char *parse_num(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (n > 2 && s[0] == '0' && s[1] == 'x') {
		for (i = 2; i < n; i++) {
			unsigned c = (unsigned char)s[i], d;

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
				d = (c | 0x20) - 'a' + 10;
			else
				return "bad number";
			if (x >> 60)
				return "number past 64 bits";
			x = x << 4 | d;
		}
	} else {
		if (n == 0)
			return "bad number";
		for (i = 0; i < n; i++) {
			unsigned d = (unsigned char)s[i] - '0';

			if (d > 9)
				return "bad number";
			if (x > (UINT64_MAX - d) / 10)
				return "number past 64 bits";
			x = x * 10 + d;
		}
	}
	*v = x;
	return NULL;
}

/* Append @n words; the array grows by doubling. */
static int append(struct trace *t, const uint64_t *w, size_t n)
{
	if (t->cap - t->nw < n) {
		size_t cap = t->cap ? t->cap * 2 : 1 << 16;
		uint64_t *nw = realloc(t->w, cap * sizeof(*nw));

		if (!nw)
			return -1;
		t->w = nw;
		t->cap = cap;
	}
	memcpy(t->w + t->nw, w, n * sizeof(*w));
	t->nw += n;
	return 0;
}

/* One line's words into @t; NULL or the reason it is malformed. */
static const char *parse_line(struct trace *t, const char **w, const size_t *wn,
			      size_t nwords, uint64_t line)
{
	uint64_t rec[6], *v = rec + 1; /* head word, then arguments */
	size_t nargs = nwords - 1, nnum = nargs, i;
	unsigned kind;
	bool opt = false;
	const char *why;

	for (kind = 0; kind < sizeof(ops) / sizeof(ops[0]); kind++)
		if (word_is(w[0], wn[0], ops[kind].name))
			break;
	if (kind == sizeof(ops) / sizeof(ops[0]) || nargs < ops[kind].min ||
	    nargs > ops[kind].max)
		return "unknown operation or wrong number of arguments";
	if (kind == T_MERGE) {
		if (!word_is(w[1], wn[1], "on") && !word_is(w[1], wn[1], "off"))
			return "merge takes on or off";
		opt = word_is(w[1], wn[1], "on");
		nnum = 0;
	}
	if (kind == T_MAP && nargs == 4) {
		if (!word_is(w[4], wn[4], "replace"))
			return "the fourth argument of map can only be 'replace'";
		opt = true;
		nnum = 3;
	}
	/* unmap S Z strict, protect S Z F M strict: MASK is then required. */
	if ((kind == T_UNMAP && nargs == 3) || (kind == T_PROTECT && nargs == 5)) {
		if (!word_is(w[nargs], wn[nargs], "strict"))
			return kind == T_UNMAP
				? "the third argument of unmap can only be 'strict'"
				: "the fifth argument of protect can only be 'strict'";
		opt = true;
		nnum = nargs - 1;
	}
	if (kind == T_PROTECT && nargs == 4 && word_is(w[4], wn[4], "strict"))
		return "protect ... strict needs a MASK";
	if (kind == T_REMAP)
		opt = nargs == 4;
	for (i = 0; i < nnum; i++) {
		why = parse_num(w[i + 1], wn[i + 1], &v[i]);
		if (why)
			return why;
	}
	if (kind == T_PROTECT && nnum == 3)
		v[nnum++] = UINT64_MAX;
	if (kind == T_GRANULE && (v[0] == 0 || (v[0] & (v[0] - 1))))
		return "granule must be a power of two";

	rec[0] = kind | (uint64_t)opt << 8 | (uint64_t)nnum << 16 | line << 24;
	if (append(t, rec, 1 + nnum))
		return "out of memory";
	t->nops++;
	return NULL;
}

int trace_parse(struct trace *t, const char *buf, size_t len, const char *name)
{
	const char *p = buf, *end = buf + len;
	uint64_t line = 0;

	memset(t, 0, sizeof(*t));
	while (p < end) {
		const char *w[MAX_WORDS], *q, *eol;
		size_t wn[MAX_WORDS], nwords = 0;
		const char *why = NULL;

		line++;
		/* A line ends at \n, \r\n or \r; # starts a comment. */
		for (eol = p; eol < end && *eol != '\n' && *eol != '\r'; eol++)
			;
		q = memchr(p, '#', (size_t)(eol - p));
		if (!q)
			q = eol;
		while (p < q) {
			while (p < q && is_space((unsigned char)*p))
				p++;
			if (p == q)
				break;
			if (nwords == MAX_WORDS) {
				why = "unknown operation or wrong number of arguments";
				break;
			}
			w[nwords] = p;
			while (p < q && !is_space((unsigned char)*p))
				p++;
			wn[nwords] = (size_t)(p - w[nwords]);
			nwords++;
		}
		if (!why && nwords)
			why = parse_line(t, w, wn, nwords, line);
		if (why) {
			fprintf(stderr, "%s: line %llu: %s\n", name,
				(unsigned long long)line, why);
			trace_free(t);
			return -1;
		}
		p = eol;
		if (p + 1 < end && p[0] == '\r' && p[1] == '\n')
			p += 2;
		else if (p < end)
			p++;
	}
	return 0;
}

void trace_free(struct trace *t)
{
	free(t->w);
	memset(t, 0, sizeof(*t));
}

/* Output: one large buffer, written out whenever it fills. */
static char obuf[1 << 20];
static size_t olen;
static bool ofail;

static void out_room(size_t n)
{
	if (olen + n > sizeof(obuf)) {
		if (fwrite(obuf, 1, olen, stdout) != olen)
			ofail = true;
		olen = 0;
	}
}

void out_str(const char *s)
{
	size_t n = strlen(s);

	out_room(n);
	memcpy(obuf + olen, s, n);
	olen += n;
}

void out_char(char c)
{
	out_room(1);
	obuf[olen++] = c;
}

void out_hex(uint64_t v)
{
	char tmp[16];
	int n = 0;

	out_room(18);
	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	obuf[olen++] = '0';
	obuf[olen++] = 'x';
	while (n)
		obuf[olen++] = tmp[--n];
}

void out_dec(uint64_t v)
{
	char tmp[20];
	int n = 0;

	out_room(20);
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		obuf[olen++] = tmp[--n];
}

int out_flush(void)
{
	out_room(sizeof(obuf));
	if (fflush(stdout) != 0)
		ofail = true;
	return ofail ? -1 : 0;
}

static enum mapping_error null_map(void *data, uint64_t start, uint64_t size,
				   uint64_t flags, void *pt)
{
	(void)data, (void)start, (void)size, (void)flags, (void)pt;
	return MAPPING_OK;
}

static enum mapping_error null_unmap(void *data, uint64_t start, uint64_t size,
				     void *pt)
{
	(void)data, (void)start, (void)size, (void)pt;
	return MAPPING_OK;
}

static enum mapping_error null_protect(void *data, uint64_t start, uint64_t size,
				       uint64_t old_flags, uint64_t new_flags,
				       void *pt)
{
	(void)data, (void)start, (void)size, (void)old_flags, (void)new_flags;
	(void)pt;
	return MAPPING_OK;
}

const struct mapping_backend_ops trace_null_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = null_map,
	.unmap = null_unmap,
	.protect = null_protect,
};

bool trace_prot_update(void *ctx, uint64_t old, uint64_t *new_flags)
{
	const struct trace_prot *p = ctx;

	if ((old & p->mask) == (p->flags & p->mask))
		return false;
	*new_flags = (p->flags & p->mask) | (old & ~p->mask);
	return true;
}

int trace_load(struct trace *t, const char *path)
{
	size_t len;
	char *buf;
	int rc;

	if (trace_read_file(path, &buf, &len))
		return -1;
	rc = trace_parse(t, buf, len, path);
	free(buf);
	return rc;
}

double trace_clock(void)
{
	struct timespec ts;

	/* The CPU time of this thread: on a shared machine, time spent waiting
	 * for a CPU is not the program's. */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void trace_quiet_line(uint64_t nops, double secs, uint64_t areas,
		      uint64_t bytes)
{
	fprintf(stderr,
		"ops %llu secs %.6f ns_per_op %.1f areas %llu bytes %llu bytes_per_area %.1f\n",
		(unsigned long long)nops, secs,
		nops ? secs * 1e9 / (double)nops : 0.0,
		(unsigned long long)areas, (unsigned long long)bytes,
		areas ? (double)bytes / (double)areas : 0.0);
}
