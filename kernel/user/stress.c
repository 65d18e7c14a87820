/*
 * Random mmap, munmap, mprotect, mremap, writes and forks over a window of
 * pages, against a model kept here: after each step the pages it touched,
 * and every few steps the whole window, must read back what the model
 * says (a checksum per page), and the kernel's maps text must show each
 * page of the window in an area with the model's protection, or in none.
 * (How the areas merge is Linux's rule, with anonymous identities, which
 * the address-space layer's own tests check against Linux.)
 */
#include "ulib.h"

const char *test_name = "stress";

#define P PAGE_SIZE
#define NPAGES 96
#define STEPS 1500
#define BASE 0x30000000ul
#define RW (PROT_READ | PROT_WRITE)
#define UNMAPPED (-1)

static int prot[NPAGES];      /* UNMAPPED or the flags */
static uint64_t seed[NPAGES]; /* what the page holds: 0 = zeros */
static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

static volatile uint64_t *page(int i)
{
	return (volatile uint64_t *)(BASE + (uint64_t)i * P);
}

static void write_page(int i, uint64_t s)
{
	for (int w = 0; w < 512; w += 8)
		page(i)[w] = s ? s * 2654435761u + w : 0;
	seed[i] = s;
}

static uint64_t checksum(int i)
{
	uint64_t sum = 0;

	for (int w = 0; w < 512; w += 8)
		sum = sum * 31 + page(i)[w];
	return sum;
}

static uint64_t expected(int i)
{
	uint64_t sum = 0;

	for (int w = 0; w < 512; w += 8)
		sum = sum * 31 + (seed[i] ? seed[i] * 2654435761u + w : 0);
	return sum;
}

static int verify(int first, int n, int step)
{
	int bad = 0;

	for (int i = first; i < first + n && i < NPAGES; i++)
		if (prot[i] != UNMAPPED && (prot[i] & PROT_READ) &&
		    checksum(i) != expected(i)) {
			if (!bad)
				printf("stress: step %d: page %d differs\n", step, i);
			bad++;
		}
	return bad;
}

static uint64_t hex(const char **s)
{
	uint64_t v = 0;

	for (;; (*s)++) {
		char c = **s;

		if (c >= '0' && c <= '9')
			v = v * 16 + (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uint64_t)(c - 'a' + 10);
		else
			return v;
	}
}

/* The maps text, NUL-terminated, or NULL. */
static const char *read_maps(void)
{
	static char text[64 * 1024];
	long n = maps(text, sizeof(text) - 1);

	if (n < 0 || n >= (long)sizeof(text)) {
		printf("stress: maps returned %ld\n", n);
		return NULL;
	}
	text[n] = 0;
	return text;
}

/* The area of the next line, "start-end rwxp ...": false at the end. */
static bool next_area(const char **l, uint64_t *start, uint64_t *end, int *pr)
{
	if (!**l)
		return false;
	*start = hex(l);
	(*l)++;
	*end = hex(l);
	*pr = ((*l)[1] == 'r' ? PROT_READ : 0) |
	      ((*l)[2] == 'w' ? PROT_WRITE : 0) |
	      ((*l)[3] == 'x' ? PROT_EXEC : 0);
	while (**l && *(*l)++ != '\n')
		;
	return true;
}

/* The end of the area holding @addr, as the kernel lists it, or 0. */
static uint64_t area_end(uint64_t addr)
{
	const char *l = read_maps();
	uint64_t start, end;
	int pr;

	while (l && next_area(&l, &start, &end, &pr))
		if (start <= addr && addr < end)
			return end;
	return 0;
}

/* The pages of the window whose protection in the maps text is not the model's. */
static int maps_differ(int step)
{
	const char *l = read_maps();
	int kernel[NPAGES], bad = 0, pr;
	uint64_t start, end;

	if (!l)
		return NPAGES;
	for (int i = 0; i < NPAGES; i++)
		kernel[i] = UNMAPPED;
	while (next_area(&l, &start, &end, &pr))
		for (uint64_t a = start < BASE ? BASE : start;
		     a < end && a < BASE + NPAGES * P; a += P)
			kernel[(a - BASE) / P] = pr;
	for (int i = 0; i < NPAGES; i++)
		if (kernel[i] != prot[i]) {
			if (!bad)
				printf("stress: step %d: page %d is %d in maps, %d in the model\n",
				       step, i, kernel[i], prot[i]);
			bad++;
		}
	return bad;
}

static int random_prot(void)
{
	static const int prots[] = { PROT_READ, RW, RW, PROT_NONE };

	return prots[rnd(4)];
}

/* The run [i, i+n) of one area in the model: all mapped with equal flags. */
static bool one_area(int i, int n)
{
	for (int k = i; k < i + n; k++)
		if (k >= NPAGES || prot[k] == UNMAPPED || prot[k] != prot[i])
			return false;
	return true;
}

static void step_once(int step)
{
	int i = (int)rnd(NPAGES), n = 1 + (int)rnd(8);
	long r;

	if (i + n > NPAGES)
		n = NPAGES - i;
	switch (rnd(7)) {
	case 0: { /* mmap fixed over whatever is there */
		int pr = random_prot();

		r = mmap(BASE + i * P, n * P, pr, ANON | MAP_FIXED);
		CHECK(r == (long)(BASE + i * P), "step %d: mmap %ld", step, r);
		for (int k = i; k < i + n; k++)
			prot[k] = pr, seed[k] = 0;
		break;
	}
	case 1:
		CHECK(munmap(BASE + i * P, n * P) == 0, "step %d: munmap", step);
		for (int k = i; k < i + n; k++)
			prot[k] = UNMAPPED;
		break;
	case 2: { /* mprotect: refused over a hole */
		int pr = random_prot();
		bool hole = false;

		for (int k = i; k < i + n; k++)
			hole |= prot[k] == UNMAPPED;
		r = mprotect(BASE + i * P, n * P, pr);
		CHECK(r == (hole ? -ENOMEM : 0), "step %d: mprotect %ld", step, r);
		if (!hole)
			for (int k = i; k < i + n; k++)
				prot[k] = pr;
		break;
	}
	case 3: /* write pages */
		for (int k = i; k < i + n; k++)
			if (prot[k] == RW)
				write_page(k, (uint64_t)step * 100 + k + 1);
		break;
	case 4: { /* mremap: move a run inside one area to a fixed place */
		int to = (int)rnd(NPAGES - n + 1);

		if (!one_area(i, n) || (to < i + n && i < to + n))
			break;
		r = mremap(BASE + i * P, n * P, n * P,
			   MREMAP_MAYMOVE | MREMAP_FIXED, BASE + to * P);
		CHECK(r == (long)(BASE + to * P), "step %d: mremap %ld", step, r);
		int pr = prot[i];
		uint64_t moved[8];

		for (int k = 0; k < n; k++)
			moved[k] = seed[i + k], prot[i + k] = UNMAPPED;
		for (int k = 0; k < n; k++)
			prot[to + k] = pr, seed[to + k] = moved[k];
		verify(to, n, step);
		break;
	}
	case 5: { /* mremap in place: shrink, or grow into free pages */
		int extra = (int)rnd(3);

		if (!one_area(i, n))
			break;
		bool free_after = i + n + extra <= NPAGES;

		for (int k = i + n; free_after && k < i + n + extra; k++)
			free_after = prot[k] == UNMAPPED;
		/* Growing needs the range to end its area, as the kernel
		 * has it: pages of equal flags faulted apart are apart. */
		bool ends = area_end(BASE + i * P) == BASE + (uint64_t)(i + n) * P;

		if (extra && free_after && ends) {
			r = mremap(BASE + i * P, n * P, (n + extra) * P, 0, 0);
			CHECK(r == (long)(BASE + i * P), "step %d: grow %ld", step, r);
			for (int k = i + n; k < i + n + extra; k++)
				prot[k] = prot[i], seed[k] = 0;
		} else if (n > 1) {
			r = mremap(BASE + i * P, n * P, P, 0, 0);
			CHECK(r == (long)(BASE + i * P), "step %d: shrink %ld", step, r);
			for (int k = i + 1; k < i + n; k++)
				prot[k] = UNMAPPED;
		}
		break;
	}
	case 6: { /* fork: the child sees the same, writes, and vanishes */
		if (rnd(4))
			break;
		long pid = fork();

		if (pid == 0) {
			int bad = verify(0, NPAGES, step);

			for (int k = 0; k < NPAGES; k++)
				if (prot[k] == RW)
					write_page(k, 7);
			exit(bad != 0);
		}
		int status = -1;

		CHECK(pid > 0 && wait(&status, NULL) == pid && status == 0,
		      "step %d: child status %x", step, status);
		break;
	}
	}
	CHECK(verify(i, n, step) == 0, "step %d: pages %d..%d", step, i, i + n);
}

int main(void)
{
	for (int i = 0; i < NPAGES; i++)
		prot[i] = UNMAPPED;
	for (int step = 0; step < STEPS && !test_failures; step++) {
		step_once(step);
		if (step % 50 == 0) {
			CHECK(verify(0, NPAGES, step) == 0, "step %d: window", step);
			CHECK(maps_differ(step) == 0, "step %d: maps", step);
		}
	}
	CHECK(verify(0, NPAGES, STEPS) == 0, "the end: window");
	CHECK(munmap(BASE, NPAGES * P) == 0, "munmap");
	printf("stress: %d failures\n", test_failures);
	return test_failures != 0;
}
