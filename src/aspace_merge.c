/*
 * Linux's merge rule, and the merge plan that makes the set follow it.
 *
 * Linux merges only inside a call, around the range the call changed
 * (vma_merge(): the area before it, the pieces of the range, the area
 * after it): two touching areas that became alike some other way (fork
 * copies the areas one for one, a fault gives an area a neighbour's
 * identity, MREMAP_DONTUNMAP takes one away) stay apart until a call
 * merges there. There, two pieces are one when their flags are equal
 * (VM_ACCOUNT and the name included), they map the same object with page
 * offsets that follow on, and their anonymous identities (anon_vma) agree:
 * equal, or one of them has none and the other was not inherited through
 * fork. That last rule is not an equivalence (X, none, Y: the middle one
 * may join either side, not both): Linux's answer depends on its order,
 * the area before first, then the area after.
 *
 * So every call that may make areas touch or change their flags first
 * reads the areas around its range as they will be once it is done, left
 * to right, and groups them as Linux would: a piece joins the group before
 * it when the call merges at their boundary, it is compatible with the
 * last member and its identity agrees with the group's. The plan then
 * gives each unfaulted member of a group that has an identity that
 * identity, and marks every member but the first to join the one before
 * it; can_merge() merges only marked areas, so the set, whose merging
 * runs in any order, joins exactly the groups and nothing else.
 *
 * The plan is applied while the call runs. The join marks of the records
 * known beforehand (areas the call keeps whole, the part before a cut) are
 * set when the call starts, so that the set counts the merges it will make
 * against the area limit, and cleared again if the call fails before its
 * first page-table hook (it then changed nothing). The rest of each
 * record (identity and VM_ACCOUNT, which mprotect changes depending on the
 * identity) is given at that first hook, once the call cannot fail any
 * more; each record split() makes gets all of it at once, found by the
 * address where it starts. Each record gets the whole of what its piece
 * will be, not a change: split() may copy a record the plan already
 * changed.
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

	if (!as_data(r)->join)
		return false;
	aspace_piece_of(l, l->start, as_end(l), &pl);
	aspace_piece_of(r, r->start, as_end(r), &pr);
	return pl.anon == pr.anon &&
	       aspace_compatible(as_data(l)->as, &pl, &pr);
}

/*
 * May a group whose identity is @g take piece @x? One without an identity
 * takes the other's, unless that one is a fork child's (Linux's
 * vma_is_fork_child()) and came from an area: a new range's identity
 * (@g_new, @x->new_range) does not ask.
 */
static bool identities_agree(const struct as_anon *g, bool g_new,
			     const struct as_piece *x)
{
	if (g == x->anon)
		return true;
	if (!g)
		return x->new_range || !x->anon->forked;
	if (!x->anon)
		return g_new || !g->forked;
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
		 struct as_anon *anon, bool join)
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
	a->join = join;
}

/*
 * Read the next piece, left to right, of the areas as the call leaves them,
 * and note what it will be: its own identity, or the identity of its group
 * (given to the unfaulted members as soon as the group has one).
 */
void aspace_plan_add(struct as_plan *p, const struct as_piece *piece)
{
	bool join = p->have_last && !piece->keep_left &&
		    aspace_compatible(p->as, &p->last, piece) &&
		    identities_agree(p->group_anon, p->group_new_range, piece);
	size_t i;

	if (join) {
		if (piece->anon && !p->group_anon) {
			p->group_anon = piece->anon;
			p->group_new_range = piece->new_range;
			for (i = p->group_first; i < p->n; i++)
				if (!p->a[i].anon)
					p->a[i].anon = piece->anon;
		}
	} else {
		p->group_first = p->n;
		p->group_anon = piece->anon;
		p->group_new_range = piece->new_range;
	}
	push(p, piece, piece->anon ? piece->anon : p->group_anon, join);
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

/*
 * Done reading: the plan applies from now on to the call's hooks.
 * -ASPACE_ENOMEM if it could not be kept (nothing changed).
 */
int aspace_plan_start(struct as_plan *p)
{
	size_t i;

	if (p->failed) {
		aspace_plan_stop(p);
		return -ASPACE_ENOMEM;
	}
	for (i = 0; i < p->n; i++)
		if (p->a[i].data)
			p->a[i].data->join = p->a[i].join;
	p->as->plan = p;
	return 0;
}

/*
 * The call is over. If it never reached a page-table hook it failed (or
 * changed nothing) and merged nothing: its known records are all there,
 * and lose their join marks. Else the marked ones were merged away.
 */
void aspace_plan_stop(struct as_plan *p)
{
	size_t i;

	if (p->as->plan == p) {
		p->as->plan = NULL;
		for (i = 0; i < p->n && !p->known_done; i++)
			if (p->a[i].data)
				p->a[i].data->join = false;
	}
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
	d->join = e->join;
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
