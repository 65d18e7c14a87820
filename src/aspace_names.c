/*
 * Area names (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME)). A name lives in the
 * area's flags as an id into the space's table of names, so that the set
 * merges only areas with equal names and a rename is a change of flags
 * (split, merge, failure atomicity) like any other. The table keeps each
 * distinct name once, until the space goes; fork copies it.
 */
#include "aspace_internal.h"

/* The table: its capacity, then a name per id (id - 1). */
struct names {
	uint32_t cap;
	struct as_name *v[];
};

static size_t table_size(uint32_t cap)
{
	return sizeof(struct names) + cap * sizeof(struct as_name *);
}

const char *aspace_name_of(const struct aspace *as, uint64_t flags)
{
	uint32_t id = as_name_id(flags);
	const struct names *t = as->names;

	return id && id <= as->nnames ? t->v[id - 1]->s : NULL;
}

static size_t length(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/*
 * The id of @name, added to the table if new (*@added then set); 0 when out
 * of memory.
 */
static uint32_t intern(struct aspace *as, const char *name, bool *added)
{
	struct names *t = as->names, *nt;
	size_t len = length(name);
	struct as_name *e;
	uint32_t i, cap;

	*added = false;
	for (i = 0; i < as->nnames; i++)
		if (!memcmp(t->v[i]->s, name, len + 1))
			return i + 1;
	if (as->nnames == UINT32_MAX)
		return 0;
	e = aspace_alloc(as, sizeof(*e));
	if (!e)
		return 0;
	memcpy(e->s, name, len + 1);
	if (!t || as->nnames == t->cap) {
		cap = t ? 2 * t->cap : 4;
		nt = aspace_alloc(as, table_size(cap));
		if (!nt) {
			aspace_free(as, e, sizeof(*e));
			return 0;
		}
		nt->cap = cap;
		if (t) {
			memcpy(nt->v, t->v,
			       as->nnames * sizeof(struct as_name *));
			aspace_free(as, t, table_size(t->cap));
		}
		as->names = t = nt;
	}
	t->v[as->nnames++] = e;
	*added = true;
	return as->nnames;
}

/* Take back the name intern() just added (the call it was for failed). */
static void unintern(struct aspace *as)
{
	struct names *t = as->names;

	aspace_free(as, t->v[--as->nnames], sizeof(struct as_name));
	if (!as->nnames) {
		aspace_free(as, t, table_size(t->cap));
		as->names = NULL;
	}
}

int aspace_names_copy(struct aspace *child, const struct aspace *parent)
{
	const struct names *pt = parent->names;
	uint32_t i;
	bool added;

	for (i = 0; i < parent->nnames; i++)
		if (intern(child, pt->v[i]->s, &added) != i + 1)
			return -ASPACE_ENOMEM;
	return 0;
}

void aspace_names_free(struct aspace *as)
{
	struct names *t = as->names;
	uint32_t i, n = as->nnames;

	if (!t)
		return;
	for (i = 0; i < n; i++)
		aspace_free(as, t->v[i], sizeof(struct as_name));
	aspace_free(as, t, table_size(t->cap));
	as->names = NULL;
	as->nnames = 0;
}

static bool valid_char(char c)
{
	return c > 0x1f && c < 0x7f && c != '\\' && c != '`' && c != '$' &&
	       c != '[' && c != ']';
}

/* Only anonymous memory (shared anonymous included) can be named. */
static int check_named(struct aspace *as, const struct memory_area *a,
		       void *arg)
{
	const struct as_vma *d = as_data(a);

	(void)as, (void)arg;
	return d->obj && !aspace_obj_shmem(d->obj) ? -ASPACE_EBADF : 0;
}

int aspace_set_name(struct aspace *as, uint64_t addr, uint64_t len,
		    const char *name)
{
	struct as_change c;
	uint64_t end;
	uint32_t id = 0;
	bool added = false;
	size_t i;
	int err;

	if (name) {
		for (i = 0; name[i]; i++)
			if (i == ASPACE_NAME_MAX || !valid_char(name[i]))
				return -ASPACE_EINVAL;
	}
	err = aspace_range_arg(as, addr, len, &end);
	if (err || end == addr)
		return err;
	err = aspace_walk_check(as, addr, end, check_named, NULL);
	if (err)
		return err;
	if (name && !(id = intern(as, name, &added)))
		return -ASPACE_ENOMEM;
	c.clear = AS_F_NAME_MASK;
	c.set = (uint64_t)id << AS_F_NAME_SHIFT;
	c.mprotect = false;
	err = aspace_change_range(as, addr, end, &c);
	if (err && added)
		unintern(as);
	/* prctl says EAGAIN when the kernel is short of memory. */
	return err == -ASPACE_ENOMEM ? -ASPACE_EAGAIN : err;
}
