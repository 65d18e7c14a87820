/*
 * doc_check DOC ROOT: the code blocks of a Markdown file that name their
 * source must match it. A block is marked by the line before it:
 *   <!-- file: PATH -->     the block is the whole file ROOT/PATH;
 *   <!-- excerpt: PATH -->  the block's lines appear, in a row, in it.
 * Fails if a block differs, or if DOC marks no block at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

/* The block of text after the fence that follows marker line p. */
static const char *block(const char *p, size_t *len, const char **next)
{
	const char *b, *e;

	p = strchr(p, '\n');
	if (!p || strncmp(p + 1, "```", 3))
		return NULL;
	b = strchr(p + 1, '\n');
	if (!b)
		return NULL;
	b++;
	for (e = b; *e; e = strchr(e, '\n') + 1) {
		if (!strncmp(e, "```", 3)) {
			*len = (size_t)(e - b);
			*next = e;
			return b;
		}
		if (!strchr(e, '\n'))
			break;
	}
	return NULL;
}

/* Does the text hold blk (whole lines) at the start of one of its lines? */
static int has_lines(const char *text, const char *blk, size_t len)
{
	const char *p;

	for (p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, blk, len))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *kinds[] = { "<!-- file: ", "<!-- excerpt: " };
	size_t dlen, n = 0;
	char *doc;
	const char *p;
	int bad = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: doc_check DOC ROOT\n");
		return 2;
	}
	doc = slurp(argv[1], &dlen);
	if (!doc) {
		fprintf(stderr, "doc_check: cannot read %s\n", argv[1]);
		return 1;
	}
	for (p = doc; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		char path[4096], name[1024];
		const char *b, *next;
		size_t k, blen, flen;
		char *src;
		int ok;

		for (k = 0; k < 2; k++)
			if (!strncmp(p, kinds[k], strlen(kinds[k])))
				break;
		if (k == 2)
			continue;
		if (sscanf(p + strlen(kinds[k]), "%1023s", name) != 1 ||
		    !(b = block(p, &blen, &next))) {
			fprintf(stderr, "%s: a marker without a code block after it\n",
				argv[1]);
			bad = 1;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", argv[2], name);
		src = slurp(path, &flen);
		if (!src) {
			fprintf(stderr, "%s: cannot read %s\n", argv[1], path);
			bad = 1;
			continue;
		}
		ok = k == 0 ? flen == blen && !memcmp(src, b, blen) :
			      has_lines(src, b, blen);
		if (!ok) {
			fprintf(stderr, "%s: the block %s %s differs from it\n",
				argv[1], k == 0 ? "of" : "from", name);
			bad = 1;
		}
		free(src);
		n++;
		p = next;
	}
	free(doc);
	if (!n) {
		fprintf(stderr, "%s: no marked code block\n", argv[1]);
		return 1;
	}
	if (!bad)
		printf("%s: %zu blocks match their sources\n", argv[1], n);
	return bad;
}
