/*
 * gentrace: a synthetic memory-set trace (trace-format.md), the same file
 * that tools/gentrace.py writes for the same arguments (it draws the same
 * numbers: Python's Mersenne Twister and its ways of using it are rebuilt
 * here), so the bench needs no Python.
 *
 *   gentrace --areas N --ops M [--mix mixed|fault|churn|kernel|remap]
 *            [--seed S] > FILE
 *
 * First N areas are mapped at page-aligned places in a 47-bit address space,
 * then M operations follow, drawn from a mix:
 *   mixed   find 40%, map 10%, map replace 5%, unmap 15%, protect 15%,
 *           free 10%, overlaps 5%
 *   fault   find 90%, protect 5%, map 2.5%, unmap 2.5%
 *   churn   map 30%, unmap 30%, protect 30%, free 10%
 *   kernel  find 20%, map 10%, map replace 4%, unmap 10%, unmap strict 4%,
 *           protect 10%, protect strict 4%, remap in place 12%, remap move
 *           8%, access 10%, gaps 3%, free 4%, overlaps 0.9%, dup 0.1%, under
 *           a limit of 2N + 64 areas
 *   remap   find 30%, remap in place 30%, remap move 25%, map 7.5%,
 *           unmap 7.5%
 * Ranges are aimed at the areas the generator believes exist (it keeps only
 * their starts), so they split, shrink and cover them.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE ((uint64_t)0x1000)
#define BASE ((uint64_t)0x10000)
#define TOP ((uint64_t)0x7FFFFFFFF000)

/* ---- Python's random.Random: MT19937 seeded by init_by_array ---------- */

static uint32_t mt[624];
static int mti = 625;

static void mt_seed(uint64_t seed)
{
	uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
	int klen = key[1] ? 2 : 1, i = 1, j = 0, k;

	mt[0] = 19650218u;
	for (k = 1; k < 624; k++)
		mt[k] = 1812433253u * (mt[k - 1] ^ (mt[k - 1] >> 30)) + (uint32_t)k;
	for (k = 624 > klen ? 624 : klen; k; k--) {
		mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) +
			key[j] + (uint32_t)j;
		i++, j++;
		if (i >= 624) {
			mt[0] = mt[623];
			i = 1;
		}
		if (j >= klen)
			j = 0;
	}
	for (k = 623; k; k--) {
		mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) -
			(uint32_t)i;
		if (++i >= 624) {
			mt[0] = mt[623];
			i = 1;
		}
	}
	mt[0] = 0x80000000u;
	mti = 624;
}

static uint32_t mt_next(void)
{
	uint32_t y;

	if (mti >= 624) {
		int k;

		for (k = 0; k < 624; k++) {
			y = (mt[k] & 0x80000000u) | (mt[(k + 1) % 624] & 0x7fffffffu);
			mt[k] = mt[(k + 397) % 624] ^ (y >> 1) ^ (y & 1 ? 0x9908b0dfu : 0);
		}
		mti = 0;
	}
	y = mt[mti++];
	y ^= y >> 11;
	y ^= (y << 7) & 0x9d2c5680u;
	y ^= (y << 15) & 0xefc60000u;
	return y ^ (y >> 18);
}

/* random.getrandbits(k), 1 <= k <= 64: 32-bit words, lowest first. */
static uint64_t getrandbits(int k)
{
	uint64_t lo;

	if (k <= 32)
		return mt_next() >> (32 - k);
	lo = mt_next();
	return lo | (uint64_t)(mt_next() >> (64 - k)) << 32;
}

/* random._randbelow(n), n > 0. */
static uint64_t below(uint64_t n)
{
	int k = 0;
	uint64_t r;

	while (k < 64 && n >> k)
		k++;
	if (!k)
		return 0;
	do
		r = getrandbits(k);
	while (r >= n);
	return r;
}

static double random01(void)
{
	uint32_t a = mt_next() >> 5, b = mt_next() >> 6;

	return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

/* random.randrange(lo, hi) */
static int64_t randrange(int64_t lo, int64_t hi)
{
	return lo + (int64_t)below((uint64_t)(hi - lo));
}

/* Area size: min(int(expovariate(1/8)) + 1, 64) pages. */
static uint64_t area_size(void)
{
	long pages = (long)(-log(1.0 - random01()) / 0.125) + 1;

	return (uint64_t)(pages < 64 ? pages : 64) * PAGE;
}

/* ---- The generator's belief: starts and sizes in a blocked sorted list --- */

#define BLK 2048

struct blk {
	uint64_t start[BLK], size[BLK];
};

static struct blk **blk;   /* the blocks in order */
static uint32_t *cnt;      /* entries in each block, never 0 */
static size_t nblk, capblk, total;

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "gentrace: out of memory\n");
		exit(1);
	}
	return p;
}

/* Block and offset of entry @i (i == total: one past the last entry). */
static size_t locate(size_t i, size_t *off)
{
	size_t b = 0;

	while (b + 1 < nblk && i >= cnt[b])
		i -= cnt[b++];
	*off = i;
	return b;
}

/* bisect.bisect_left over the starts. */
static size_t bisect_left(uint64_t v)
{
	size_t b = 0, before = 0, lo = 0, hi;

	while (b < nblk && blk[b]->start[cnt[b] - 1] < v)
		before += cnt[b++];
	if (b == nblk)
		return total;
	hi = cnt[b];
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (blk[b]->start[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return before + lo;
}

static void new_block(size_t b)
{
	if (nblk == capblk) {
		capblk = capblk ? 2 * capblk : 64;
		blk = xrealloc(blk, capblk * sizeof(*blk));
		cnt = xrealloc(cnt, capblk * sizeof(*cnt));
	}
	memmove(&blk[b + 1], &blk[b], (nblk - b) * sizeof(*blk));
	memmove(&cnt[b + 1], &cnt[b], (nblk - b) * sizeof(*cnt));
	blk[b] = xrealloc(NULL, sizeof(struct blk));
	cnt[b] = 0;
	nblk++;
}

static void insert(size_t i, uint64_t start, uint64_t size)
{
	size_t o, b;
	struct blk *p;

	if (!nblk)
		new_block(0);
	b = locate(i, &o);
	if (cnt[b] == BLK) { /* split the full block in halves */
		new_block(b + 1);
		memcpy(blk[b + 1]->start, &blk[b]->start[BLK / 2], BLK / 2 * 8);
		memcpy(blk[b + 1]->size, &blk[b]->size[BLK / 2], BLK / 2 * 8);
		cnt[b] = cnt[b + 1] = BLK / 2;
		if (o > BLK / 2) {
			b++;
			o -= BLK / 2;
		}
	}
	p = blk[b];
	memmove(&p->start[o + 1], &p->start[o], (cnt[b] - o) * 8);
	memmove(&p->size[o + 1], &p->size[o], (cnt[b] - o) * 8);
	p->start[o] = start;
	p->size[o] = size;
	cnt[b]++;
	total++;
}

/* del starts[i:j], sizes[i:j] */
static void delete(size_t i, size_t j)
{
	size_t o = 0, n = j - i, b = i < total ? locate(i, &o) : nblk;

	total -= n;
	while (n) {
		size_t m = cnt[b] - o < n ? cnt[b] - o : n;
		struct blk *p = blk[b];

		memmove(&p->start[o], &p->start[o + m], (cnt[b] - o - m) * 8);
		memmove(&p->size[o], &p->size[o + m], (cnt[b] - o - m) * 8);
		cnt[b] -= (uint32_t)m;
		n -= m;
		if (cnt[b]) {
			b++;
		} else {
			free(p);
			nblk--;
			memmove(&blk[b], &blk[b + 1], (nblk - b) * sizeof(*blk));
			memmove(&cnt[b], &cnt[b + 1], (nblk - b) * sizeof(*cnt));
		}
		o = 0;
	}
}

static void get(size_t i, uint64_t *start, uint64_t *size)
{
	size_t o, b = locate(i, &o);

	*start = blk[b]->start[o];
	*size = blk[b]->size[o];
}

static void set_size(size_t i, uint64_t size)
{
	size_t o, b = locate(i, &o);

	blk[b]->size[o] = size;
}

/* ---- The workload ------------------------------------------------------ */

enum {
	FIND, MAP, MAPR, UNMAP, PROTECT, FREE, OVERLAPS,
	UNMAPS, PROTECTS, REMAP, MOVE, ACCESS, GAPS, DUP, /* need an area */
};

#define MAX_OPS 14

struct mix {
	const char *name;
	int n;
	int limited; /* starts with a limit of 2N + 64 areas */
	int op[MAX_OPS];
	double cum[MAX_OPS]; /* cumulative weights, as random.choices() adds them */
};

static const struct mix mixes[] = {
	{ "mixed", 7, 0, { FIND, MAP, MAPR, UNMAP, PROTECT, FREE, OVERLAPS },
	  { 40, 50, 55, 70, 85, 95, 100 } },
	{ "fault", 4, 0, { FIND, PROTECT, MAP, UNMAP }, { 90, 95, 97.5, 100 } },
	{ "churn", 4, 0, { MAP, UNMAP, PROTECT, FREE }, { 30, 60, 90, 100 } },
	/* Thousandths: 200 100 40 100 40 100 40 120 80 100 30 40 9 1. */
	{ "kernel", 14, 1,
	  { FIND, MAP, MAPR, UNMAP, UNMAPS, PROTECT, PROTECTS, REMAP, MOVE,
	    ACCESS, GAPS, FREE, OVERLAPS, DUP },
	  { 200, 300, 340, 440, 480, 580, 620, 740, 820, 920, 950, 990, 999,
	    1000 } },
	/* Thousandths: 300 300 250 75 75. */
	{ "remap", 5, 0, { FIND, REMAP, MOVE, MAP, UNMAP },
	  { 300, 600, 850, 925, 1000 } },
};

#define NMIXES (sizeof(mixes) / sizeof(mixes[0]))

/* Where ranges are aimed: at or near an area believed to exist. */
static uint64_t aim(void)
{
	uint64_t s, size;
	int64_t a;

	if (!total)
		return BASE + (uint64_t)randrange(0, 1 << 24) * PAGE;
	get(below(total), &s, &size);
	a = (int64_t)s + randrange(-2, size / PAGE > 1 ? (int64_t)(size / PAGE) : 1) *
		(int64_t)PAGE;
	return a > (int64_t)BASE ? (uint64_t)a : BASE;
}

static uint64_t pick(const uint64_t *v, int n)
{
	return v[below((uint64_t)n)];
}

/* A believed area @k and a range [*s, *s + *size) inside it. */
static size_t inside(uint64_t *s, uint64_t *size)
{
	size_t k = (size_t)below(total);
	uint64_t start, asize, pages, off;

	get(k, &start, &asize);
	pages = asize / PAGE;
	off = below(pages);
	*s = start + off * PAGE;
	*size = (1 + below(pages - off)) * PAGE;
	return k;
}

static void usage(void)
{
	fprintf(stderr, "usage: gentrace --areas N --ops M "
			"[--mix mixed|fault|churn|kernel|remap] [--seed S]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const uint64_t flags4[] = { 1, 3, 5, 7 };
	static const uint64_t flags5[] = { 0, 1, 3, 5, 7 };
	static const uint64_t masks[] = { 0, 1, 2, 3, 4, 5, 7 };
	static const uint64_t aligns[] = { PAGE, PAGE, PAGE, 0x10000, 0x200000 };
	long long areas = -1, ops = -1, seed = 1;
	const struct mix *mix = &mixes[0];
	unsigned char *kind;
	uint64_t addr, hi, s, size, align, start, asize, nsize, to;
	long long n;
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		char *end;
		long long v = strtoll(argv[i + 1], &end, 10);

		if (!strcmp(argv[i], "--mix")) {
			size_t m;

			for (m = 0; m < NMIXES && strcmp(argv[i + 1], mixes[m].name);
			     m++)
				;
			if (m == NMIXES)
				usage();
			mix = &mixes[m];
			continue;
		}
		if (*end || v < 0)
			usage();
		if (!strcmp(argv[i], "--areas"))
			areas = v;
		else if (!strcmp(argv[i], "--ops"))
			ops = v;
		else if (!strcmp(argv[i], "--seed"))
			seed = v;
		else
			usage();
	}
	if (i != argc || areas < 0 || ops < 0)
		usage();

	mt_seed((uint64_t)seed);
	printf("# gentrace --areas %lld --ops %lld --mix %s --seed %lld\n",
	       areas, ops, mix->name, seed);
	printf("granule 0x1000\n");

	/* Population: areas of 1..64 pages, gaps of 0..64 pages. */
	addr = BASE + (uint64_t)randrange(0, 1 << 20) * PAGE;
	for (n = 0; n < areas; n++) {
		size = area_size();
		addr += (uint64_t)randrange(0, 65) * PAGE;
		printf("map 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 "\n", addr,
		       size, pick(flags4, 4));
		insert(total, addr, size);
		addr += size;
	}
	hi = addr;
	if (mix->limited)
		printf("limit %lld\n", 2 * areas + 64);

	/* random.choices() draws every operation before any is written. */
	kind = xrealloc(NULL, (size_t)ops + 1);
	for (n = 0; n < ops; n++) {
		double x = random01() * mix->cum[mix->n - 1];
		int k = 0;

		while (k < mix->n - 1 && !(x < mix->cum[k]))
			k++;
		kind[n] = (unsigned char)mix->op[k];
	}

	for (n = 0; n < ops; n++) {
		size_t a, b, k;

		if (kind[n] >= UNMAPS && !total) {
			printf("len\n");
			continue;
		}
		switch (kind[n]) {
		case FIND:
			if (random01() < 0.85 && total) {
				get(below(total), &s, &size);
				s += below(size);
			} else {
				s = below(TOP);
			}
			printf("find 0x%" PRIx64 "\n", s);
			break;
		case MAP:
		case MAPR:
			s = kind[n] == MAPR ? aim()
				: (uint64_t)randrange(BASE / PAGE, hi / PAGE) * PAGE;
			size = area_size();
			printf("map 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 "%s\n",
			       s, size, pick(flags4, 4),
			       kind[n] == MAPR ? " replace" : "");
			insert(bisect_left(s), s, size);
			break;
		case UNMAP:
			s = aim();
			size = (uint64_t)randrange(1, 96) * PAGE;
			printf("unmap 0x%" PRIx64 " 0x%" PRIx64 "\n", s, size);
			a = bisect_left(s);
			b = bisect_left(s + size);
			delete(a, b);
			break;
		case PROTECT:
			s = aim();
			size = (uint64_t)randrange(1, 96) * PAGE;
			printf("protect 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64
			       " 0x7\n", s, size, pick(flags5, 5));
			break;
		case FREE:
			size = (uint64_t)randrange(1, 256) * PAGE;
			align = pick(aligns, 5);
			s = aim();
			printf("free 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64
			       " 0x%" PRIx64 " 0x%" PRIx64 "\n", s, size, align,
			       BASE, TOP - 1);
			break;
		case OVERLAPS:
			s = aim();
			size = (uint64_t)randrange(1, 32) * PAGE;
			printf("overlaps 0x%" PRIx64 " 0x%" PRIx64 "\n", s, size);
			break;
		case UNMAPS:
		case PROTECTS:
			inside(&s, &size);
			if (random01() < 0.25) /* now and then into a hole */
				size += (uint64_t)randrange(1, 16) * PAGE;
			if (kind[n] == UNMAPS)
				printf("unmap 0x%" PRIx64 " 0x%" PRIx64 " strict\n",
				       s, size);
			else
				printf("protect 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64
				       " 0x7 strict\n", s, size, pick(flags5, 5));
			break;
		case REMAP: /* in place: mostly a tail of an area, which may grow */
			k = inside(&s, &size);
			get(k, &start, &asize);
			if (random01() < 0.75)
				size = start + asize - s;
			nsize = (uint64_t)randrange(1, (int64_t)(2 * size / PAGE) + 8) *
				PAGE;
			printf("remap 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 "\n", s,
			       size, nsize);
			if (s + size == start + asize)
				set_size(k, s - start + nsize);
			break;
		case MOVE:
			k = inside(&s, &size);
			get(k, &start, &asize);
			nsize = (uint64_t)randrange(1, 64) * PAGE;
			to = (uint64_t)randrange(BASE / PAGE, hi / PAGE) * PAGE;
			printf("remap 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64
			       " 0x%" PRIx64 "\n", s, size, nsize, to);
			if (s == start)
				delete(k, k + 1);
			else
				set_size(k, s - start);
			insert(bisect_left(to), to, nsize);
			break;
		case ACCESS:
			get(below(total), &start, &asize);
			s = start + below(asize);
			size = below(start + asize - s + PAGE); /* may pass the end */
			printf("access 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 "\n",
			       s, size, pick(masks, 7));
			break;
		case GAPS:
			s = aim();
			size = (uint64_t)randrange(1, 256) * PAGE;
			printf("gaps 0x%" PRIx64 " 0x%" PRIx64 "\n", s, s + size - 1);
			break;
		case DUP:
			printf("dup\n");
			break;
		}
	}
	printf("len\n");
	free(kind);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "gentrace: error writing the trace\n");
		return 1;
	}
	return 0;
}
