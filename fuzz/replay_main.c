/*
 * Runs the fuzz target without libFuzzer, so every compiler's build tests
 * it: each file given (or each file of each directory given) is one input,
 * then --random N inputs of random bytes.
 *
 *   ms_fuzz_replay [--random N] [--seed S] PATH...
 *
 * MS_REL_SCALE scales N, as for the reliability tests.
 */
#define _DEFAULT_SOURCE /* POSIX under -std=c11: opendir, stat, open */

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_ops.h"

static unsigned long inputs;

/* The input being run, saved to a file if it fails. */
static const unsigned char *cur;
static size_t cur_len;
static char cur_name[256];

static void on_abort(int sig)
{
	static const char path[] = "ms-fuzz-failure.bin";
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		if (write(fd, cur, cur_len) < 0)
			cur_len = 0;
		close(fd);
	}
	fprintf(stderr, "input %s failed; saved as %s\n", cur_name, path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void run_input(const unsigned char *buf, size_t len)
{
	cur = buf;
	cur_len = len;
	LLVMFuzzerTestOneInput(buf, len);
	inputs++;
}

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	rewind(f);
	buf = malloc(n ? (size_t)n : 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	snprintf(cur_name, sizeof(cur_name), "%s", path);
	run_input(buf, (size_t)n);
	free(buf);
}

static void run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "no such file: %s\n", path);
		exit(1);
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	d = opendir(path);
	if (d == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(1);
	}
	while ((e = readdir(d)) != NULL) {
		char sub[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		run_file(sub);
	}
	closedir(d);
}

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
	unsigned long random_inputs = 0;
	uint64_t seed = 1;
	unsigned char buf[1024];

	signal(SIGABRT, on_abort);

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--random") == 0 && i + 1 < argc)
			random_inputs = strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else
			run_path(argv[i]);
	}
	/* Slow runs (valgrind) ask for fewer random inputs. */
	if (getenv("MS_REL_SCALE") && atof(getenv("MS_REL_SCALE")) > 0) {
		double v = random_inputs * atof(getenv("MS_REL_SCALE"));

		random_inputs = v < 1 ? 1 : (unsigned long)v;
	}
	for (unsigned long k = 0; k < random_inputs; k++) {
		uint64_t s = seed + k, len = next(&s) % sizeof(buf);

		/* Bias the bytes toward small values: more valid ranges
		 * and more areas that meet. */
		for (uint64_t j = 0; j < len; j++) {
			uint64_t r = next(&s);
			buf[j] = (unsigned char)((r & 3) ? (r >> 8) & 0x4f
							 : (r >> 8));
		}
		snprintf(cur_name, sizeof(cur_name), "random %lu (seed %llu)",
			 k, (unsigned long long)seed);
		run_input(buf, (size_t)len);
	}
	printf("ms_fuzz_replay: %lu inputs, all agree with the model\n",
	       inputs);
	return inputs ? 0 : 1;
}
