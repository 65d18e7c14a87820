/*
 * Linux's merge rule, and the merge plan that makes the set follow it.
 *
 * Two touching areas are one in Linux when their flags are equal (VM_ACCOUNT
 * and the name included), they map the same object with page offsets that
 * follow on, and their anonymous identities (anon_vma) agree: equal, or one
 * of them has none and the other was not inherited through fork. That last
 * rule is not an equivalence (X, none, Y: the middle one may join either
 * side, not both), so the set's can_merge() cannot use it: whichever pair
 * the set looked at first would win. Linux's answer depends on its order
 * instead: each call merges the range it changed with the area before it
 * first, then with the area after it.
 *
 * So can_merge() asks for equal identities, and every call that may make
 * areas touch or change their flags first reads the areas around its range
 * as they will be once it is done, left to right, and groups them as Linux
 * would: a piece joins the group before it when it is compatible with the
 * last member and its identity agrees with the group's. The plan then gives
 * each unfaulted member of a group that has an identity that identity. It
 * is applied while the call runs: to each record split() makes (for the
 * part after a cut, found by the address where it starts), and, at the
 * first page-table hook, once the call cannot fail any more, to the records
 * known beforehand (areas the call keeps whole, the part before a cut).
 * The set's merging, in any order, then joins exactly the groups.
 *
 * Each record gets the whole of what its piece will be (identity and
 * VM_ACCOUNT, which mprotect changes depending on the identity), not a
 * change: split() may copy a record the plan already changed.
 */
#include "aspace_internal.h"

bool aspace_compatible(const struct aspace *as, const struct as_piece *l,
		       const struct as_piece *r)
{
	return l->end == r->start && l->flags == r->flags && l->obj == r->obj &&
	       l->account == r->account &&
	       l->pgoff + ((l->end - l->start) >> as->page_shift) == r->pgoff;
}

bool aspace_can_merge(const struct memory_area *l, const struct memory_area *r)
{
	struct as_piece pl, pr;

	aspace_piece_of(l, l->start, as_end(l), &pl);
	aspace_piece_of(r, r->start, as_end(r), &pr);
	return pl.anon == pr.anon &&
	       aspace_compatible(as_data(l)->as, &pl, &pr);
}

/* May a group whose identity is @g take a member whose identity is @x? */
static bool identities_agree(const struct as_anon *g, const struct as_anon *x)
{
	if (g == x)
		return true;
	if (!g)
		return !x->forked;
	if (!x)
		return !g->forked;
	return false;
}

void aspace_plan_init(struct as_plan *p, struct aspace *as)
{
	memset(p, 0, sizeof(*p));
	p->as = as;
	p->a = p->inline_a;
	p->cap = AS_PLAN_INLINE;
}

static void push(struct as_plan *p, const struct as_piece *piece,
		 struct as_anon *anon)
{
	struct as_assign *a;

	if (p->failed)
		return;
	if (p->n == p->cap) {
		a = aspace_alloc(p->as, 2 * p->cap * sizeof(*a));
		if (!a) {
			p->failed = true;
			return;
		}
		memcpy(a, p->a, p->n * sizeof(*a));
		if (p->a != p->inline_a)
			aspace_free(p->as, p->a, p->cap * sizeof(*a));
		p->a = a;
		p->cap *= 2;
	}
	a = &p->a[p->n++];
	a->lo = piece->start;
	a->data = piece->data;
	a->anon = anon;
	a->account = piece->account;
}

/*
 * Read the next piece, left to right, of the areas as the call leaves them,
 * and note what it will be: its own identity, or the identity of its group
 * (given to the unfaulted members as soon as the group has one).
 */
void aspace_plan_add(struct as_plan *p, const struct as_piece *piece)
{
	size_t i;

	if (p->have_last && aspace_compatible(p->as, &p->last, piece) &&
	    identities_agree(p->group_anon, piece->anon)) {
		if (piece->anon && !p->group_anon) {
			p->group_anon = piece->anon;
			for (i = p->group_first; i < p->n; i++)
				if (!p->a[i].anon)
					p->a[i].anon = piece->anon;
		}
	} else {
		p->group_first = p->n;
		p->group_anon = piece->anon;
	}
	push(p, piece, piece->anon ? piece->anon : p->group_anon);
	p->last = *piece;
	p->have_last = true;
}

/* The part [lo, hi) of area @a, keeping its record if @keeps_data. */
void aspace_plan_add_area(struct as_plan *p, const struct memory_area *a,
			  uint64_t lo, uint64_t hi, bool keeps_data)
{
	struct as_piece piece;

	aspace_piece_of(a, lo, hi, &piece);
	piece.data = keeps_data ? as_data(a) : NULL;
	aspace_plan_add(p, &piece);
}

/* A new area [start, end) with @flags and record @d. */
void aspace_plan_new_area(struct as_plan *p, struct aspace *as, uint64_t start,
			  uint64_t end, uint64_t flags, struct as_vma *d)
{
	struct as_piece piece;

	(void)as;
	aspace_piece_new(&piece, start, end, flags, d);
	aspace_plan_add(p, &piece);
}

/*
 * Done reading: the plan applies from now on to the call's hooks.
 * -ASPACE_ENOMEM if it could not be kept (nothing changed).
 */
int aspace_plan_start(struct as_plan *p)
{
	if (p->failed) {
		aspace_plan_stop(p);
		return -ASPACE_ENOMEM;
	}
	p->as->plan = p;
	return 0;
}

void aspace_plan_stop(struct as_plan *p)
{
	if (p->as->plan == p)
		p->as->plan = NULL;
	if (p->a != p->inline_a)
		aspace_free(p->as, p->a, p->cap * sizeof(*p->a));
	p->a = p->inline_a;
	p->cap = AS_PLAN_INLINE;
	p->n = 0;
}

/* Make record @d what the plan says its piece will be. */
static void give(struct as_vma *d, const struct as_assign *e)
{
	if (d->anon != e->anon) {
		aspace_anon_put(d->as, d->anon);
		d->anon = NULL;
		if (e->anon)
			aspace_set_anon(d, e->anon);
	}
	d->account = e->account;
}

/*
 * The first page-table hook of the call: from here on it cannot fail, so
 * the records known beforehand get what the plan gives them.
 */
void aspace_plan_apply_known(struct aspace *as)
{
	struct as_plan *p = as->plan;
	size_t i;

	if (!p || p->known_done)
		return;
	p->known_done = true;
	for (i = 0; i < p->n; i++)
		if (p->a[i].data)
			give(p->a[i].data, &p->a[i]);
}

/* split() made record @d for the piece that starts at d->start. */
void aspace_plan_apply_new(struct aspace *as, struct as_vma *d)
{
	struct as_plan *p = as->plan;
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		if (!p->a[i].data && p->a[i].lo == d->start)
			give(d, &p->a[i]);
}

/*
 * The areas around [start, end) once a new area @mid fills it (the range
 * is free or the call empties it): what is left of the area before, @mid,
 * what is left of the area after.
 */
void aspace_plan_insert(struct as_plan *p, uint64_t start, uint64_t end,
			const struct as_piece *mid)
{
	const struct memory_area *a;

	if (start && (a = memory_set_find(&p->as->set, start - 1)))
		aspace_plan_add_area(p, a, a->start, start, true);
	aspace_plan_add(p, mid);
	if ((a = memory_set_find(&p->as->set, end)))
		aspace_plan_add_area(p, a, end, as_end(a), a->start == end);
}
