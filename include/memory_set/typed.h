/**
 * @file typed.h
 * @brief Typed wrappers over the untyped memory_set API: your flags type,
 * page-table type and per-area data type, checked by the compiler.
 *
 * The core stores flags as uint64_t and hands hooks `void *` page tables and
 * data. A typed wrapper declares, for one (flags, page table, data) triple,
 * a set type, a backend type and static inline functions that take exactly
 * those types. The functions only convert and forward: no cost, no new
 * state.
 *
 * Two ways to call a wrapper `vm`:
 * - the checked forms, `memory_set_typed_map(vm, &set, ...)` and so on for
 *   every operation: a wrong set, page-table, data, backend, ops or update
 *   callback type is a hard error in C11 (through `_Generic` with no default
 *   association, so with any compiler flags) and in C++;
 * - the functions themselves, `vm_map(&set, ...)`: the same checks in C++,
 *   but in C a wrong pointer type is only a warning before gcc 14
 *   (-Wincompatible-pointer-types).
 *
 * Backend hooks written with the wrapper's types are wired through
 * MEMORY_SET_TYPED_BACKEND(), MEMORY_SET_TYPED_BACKEND_FULL() or
 * MEMORY_SET_TYPED_HOOK(); a hook of the wrong type is a hard error in both
 * languages. See docs/typed.md for a complete example.
 *
 * Flags may be any integer or enum type whose values fit in 64 bits; they
 * are stored as uint64_t and converted back when read. The checked forms
 * convert the flags argument to the flags type, so flags are not checked.
 * The page-table and data types must be object types other than void
 * (complete or not). A `void *` argument (NULL, for instance) is accepted
 * where a page table, data, backend or update callback is expected, as C
 * converts it silently anyway.
 *
 * Valid C11 and C++.
 */
#ifndef MEMORY_SET_TYPED_H
#define MEMORY_SET_TYPED_H

#include <memory_set/memory_set.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @cond MEMORY_SET_PRIVATE */
/* A wrapper declares every function; a program uses some. Keep the unused
 * ones quiet without hiding anything else. */
#if defined(__GNUC__) || defined(__clang__)
#define MEMORY_SET_TYPED_FN static inline __attribute__((unused))
#else
#define MEMORY_SET_TYPED_FN static inline
#endif

/* The argument checks of the checked forms: the expression itself when its
 * type is one of those listed, else a compile error. C++ checks the call
 * of the typed function instead. */
#ifdef __cplusplus
#define MEMORY_SET_TYPED_IS_(t, e) (e)
#define MEMORY_SET_TYPED_IS2_(t1, t2, e) (e)
#define MEMORY_SET_TYPED_IS3_(t1, t2, t3, e) (e)
#else
#define MEMORY_SET_TYPED_IS_(t, e) _Generic((e), t: (e))
#define MEMORY_SET_TYPED_IS2_(t1, t2, e) _Generic((e), t1: (e), t2: (e))
#define MEMORY_SET_TYPED_IS3_(t1, t2, t3, e)                                 \
	_Generic((e), t1: (e), t2: (e), t3: (e))
#endif
#define MEMORY_SET_TYPED_SET_(name, s) MEMORY_SET_TYPED_IS_(struct name *, s)
#define MEMORY_SET_TYPED_CSET_(name, s)                                      \
	MEMORY_SET_TYPED_IS2_(struct name *, const struct name *, s)
#define MEMORY_SET_TYPED_PT_(name, pt)                                       \
	MEMORY_SET_TYPED_IS2_(name##_pt_t *, void *, pt)
#define MEMORY_SET_TYPED_DATA_(name, d)                                      \
	MEMORY_SET_TYPED_IS2_(name##_data_t *, void *, d)
#define MEMORY_SET_TYPED_BE_(name, b)                                        \
	MEMORY_SET_TYPED_IS3_(const struct name##_backend *,                 \
			      struct name##_backend *, void *, b)
#define MEMORY_SET_TYPED_OPS_(name, o)                                       \
	MEMORY_SET_TYPED_IS2_(const struct name##_backend_ops *,             \
			      struct name##_backend_ops *, o)
#define MEMORY_SET_TYPED_UPD_(name, f)                                       \
	MEMORY_SET_TYPED_IS2_(name##_update_fn, void *, f)
/** @endcond */

/** @brief Context of the update rule behind the *_protect_mask functions. */
struct memory_set_typed_mask {
	uint64_t flags; /**< New flags, under mask. */
	uint64_t mask;  /**< Bits of the flags to set. */
};

/**
 * @brief Update rule of the trace language's protect: an area whose flags
 * already agree with @c flags under @c mask is left whole; any other gets
 * `(flags & mask) | (old & ~mask)`. @p ctx is a ::memory_set_typed_mask.
 */
MEMORY_SET_TYPED_FN bool memory_set_typed_mask_update(void *ctx,
						      uint64_t old_flags,
						      uint64_t *new_flags)
{
	const struct memory_set_typed_mask *m =
		(const struct memory_set_typed_mask *)ctx;

	if ((old_flags & m->mask) == (m->flags & m->mask))
		return false;
	*new_flags = (m->flags & m->mask) | (old_flags & ~m->mask);
	return true;
}

#ifdef __cplusplus
}
#endif

/**
 * @brief Declare the typed wrapper @p name over the untyped set.
 *
 * @param name       prefix of everything declared
 * @param flags_type the flags: an integer or enum type
 * @param pt_type    the page table; functions take `pt_type *`
 * @param data_type  per-area data; backends carry `data_type *`
 *
 * Declares:
 * - `name##_flags_t`, `name##_pt_t`, `name##_data_t`: the three types;
 * - `struct name { struct memory_set raw; }`: the set (`raw` is the untyped
 *   set, for the iterators and anything not wrapped);
 * - `struct name##_backend_ops { struct mapping_backend_ops raw; }`: a typed
 *   ops table; define one with MEMORY_SET_TYPED_BACKEND();
 * - `struct name##_backend { const struct name##_backend_ops *ops;
 *   data_type *data; }`: what each area is mapped with; make one with
 *   memory_set_typed_backend() (checked) or `name##_backend_make`;
 * - `name##_update_fn`: `bool (*)(void *ctx, flags_type old_flags,
 *   flags_type *new_flags)`, the typed ::memory_set_update_fn;
 * - static inline functions, each the memory_set_* function of the same name
 *   (same semantics, errors and failure behaviour), with `struct name *`
 *   for the set, `pt_type *` for page tables and `struct name##_backend *`
 *   for backends: `name##_init`, `_destroy`, `_len`, `_is_empty`,
 *   `_granule`, `_set_granule`, `_max_areas`, `_set_max_areas`,
 *   `_merge_enabled`, `_set_merge`, `_find`, `_overlaps`, `_can_access`,
 *   `_handle_fault`, `_find_free_area`, `_find_free_area_top`, `_map`,
 *   `_unmap`, `_unmap_strict`, `_protect`, `_protect_strict`,
 *   `_protect_flags`, `_protect_flags_strict`, `_remap`, `_remap_fixed`,
 *   `_dup`, `_clear`, `_check`, `_iter_init`, `_iter_init_end`,
 *   `_gap_iter_init`, `_gap_iter_init_end`; plus `name##_protect_mask`
 *   (the trace language's protect rule, as `_protect_flags`),
 *   `name##_area_flags` and `name##_area_data` (an area's flags and data in
 *   their types) and `name##_backend_make` (a backend from an ops table and
 *   data).
 *
 * Each has a checked form, `memory_set_typed_<function>(name, ...)`, with
 * the same arguments after @p name.
 *
 * Use at file scope, once per name, followed by a semicolon.
 */
#define MEMORY_SET_TYPED(name, flags_type, pt_type, data_type)              \
	typedef flags_type name##_flags_t;                                   \
	typedef pt_type name##_pt_t;                                         \
	typedef data_type name##_data_t;                                     \
	struct name {                                                        \
		struct memory_set raw;                                       \
	};                                                                   \
	struct name##_backend_ops {                                          \
		struct mapping_backend_ops raw;                              \
	};                                                                   \
	struct name##_backend {                                              \
		const struct name##_backend_ops *ops;                        \
		name##_data_t *data;                                         \
	};                                                                   \
	typedef bool (*name##_update_fn)(void *ctx, name##_flags_t old_flags, \
					 name##_flags_t *new_flags);          \
	struct name##_update_ctx {                                           \
		name##_update_fn fn;                                         \
		void *ctx;                                                   \
	};                                                                   \
	MEMORY_SET_TYPED_FN struct name##_backend name##_backend_make(       \
		const struct name##_backend_ops *ops, name##_data_t *data)   \
	{                                                                    \
		struct name##_backend b;                                     \
		b.ops = ops;                                                 \
		b.data = data;                                               \
		return b;                                                    \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_init(                  \
		struct name *set, const struct memory_set_options *opts)     \
	{                                                                    \
		return memory_set_init(&set->raw, opts);                     \
	}                                                                    \
	MEMORY_SET_TYPED_FN void name##_destroy(struct name *set)            \
	{                                                                    \
		if (set)                                                     \
			memory_set_destroy(&set->raw);                       \
	}                                                                    \
	MEMORY_SET_TYPED_FN uint64_t name##_len(const struct name *set)      \
	{                                                                    \
		return memory_set_len(&set->raw);                            \
	}                                                                    \
	MEMORY_SET_TYPED_FN bool name##_is_empty(const struct name *set)     \
	{                                                                    \
		return memory_set_is_empty(&set->raw);                       \
	}                                                                    \
	MEMORY_SET_TYPED_FN uint64_t name##_granule(const struct name *set)  \
	{                                                                    \
		return memory_set_granule(&set->raw);                        \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_set_granule(           \
		struct name *set, uint64_t granule)                          \
	{                                                                    \
		return memory_set_set_granule(&set->raw, granule);           \
	}                                                                    \
	MEMORY_SET_TYPED_FN uint64_t name##_max_areas(const struct name *set) \
	{                                                                    \
		return memory_set_max_areas(&set->raw);                      \
	}                                                                    \
	MEMORY_SET_TYPED_FN void name##_set_max_areas(struct name *set,      \
						      uint64_t max)          \
	{                                                                    \
		memory_set_set_max_areas(&set->raw, max);                    \
	}                                                                    \
	MEMORY_SET_TYPED_FN bool name##_merge_enabled(const struct name *set) \
	{                                                                    \
		return memory_set_merge_enabled(&set->raw);                  \
	}                                                                    \
	MEMORY_SET_TYPED_FN void name##_set_merge(struct name *set, bool on) \
	{                                                                    \
		memory_set_set_merge(&set->raw, on);                         \
	}                                                                    \
	MEMORY_SET_TYPED_FN const struct memory_area *name##_find(           \
		const struct name *set, uint64_t addr)                       \
	{                                                                    \
		return memory_set_find(&set->raw, addr);                     \
	}                                                                    \
	MEMORY_SET_TYPED_FN bool name##_overlaps(const struct name *set,     \
						 uint64_t start, uint64_t size) \
	{                                                                    \
		return memory_set_overlaps(&set->raw, start, size);          \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_can_access(            \
		const struct name *set, uint64_t start, uint64_t size,       \
		name##_flags_t mask)                                         \
	{                                                                    \
		return memory_set_can_access(&set->raw, start, size,         \
					     (uint64_t)mask);                \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_handle_fault(          \
		const struct name *set, uint64_t addr, uint64_t access,      \
		name##_pt_t *page_table, const struct memory_area **area)    \
	{                                                                    \
		return memory_set_handle_fault(&set->raw, addr, access,      \
					       (void *)page_table, area);    \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_find_free_area(        \
		const struct name *set, uint64_t hint, uint64_t size,        \
		uint64_t align, uint64_t first, uint64_t last, uint64_t *addr) \
	{                                                                    \
		return memory_set_find_free_area(&set->raw, hint, size, align, \
						 first, last, addr);         \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_find_free_area_top(    \
		const struct name *set, uint64_t hint, uint64_t size,        \
		uint64_t align, uint64_t first, uint64_t last, uint64_t *addr) \
	{                                                                    \
		return memory_set_find_free_area_top(&set->raw, hint, size,  \
						     align, first, last, addr); \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_map(                   \
		struct name *set, uint64_t start, uint64_t size,             \
		name##_flags_t flags, const struct name##_backend *backend,  \
		name##_pt_t *page_table, bool unmap_overlap)                 \
	{                                                                    \
		struct mapping_backend b;                                    \
		if (!backend || !backend->ops)                               \
			return MAPPING_ERR_INVALID_PARAM;                    \
		b.ops = &backend->ops->raw;                                  \
		b.data = (void *)backend->data;                              \
		return memory_set_map(&set->raw, start, size, (uint64_t)flags, \
				      &b, (void *)page_table, unmap_overlap); \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_unmap(                 \
		struct name *set, uint64_t start, uint64_t size,             \
		name##_pt_t *page_table)                                     \
	{                                                                    \
		return memory_set_unmap(&set->raw, start, size,              \
					(void *)page_table);                 \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_unmap_strict(          \
		struct name *set, uint64_t start, uint64_t size,             \
		name##_pt_t *page_table)                                     \
	{                                                                    \
		return memory_set_unmap_strict(&set->raw, start, size,       \
					       (void *)page_table);          \
	}                                                                    \
	MEMORY_SET_TYPED_FN bool name##_update_trampoline(                   \
		void *ctx, uint64_t old_flags, uint64_t *new_flags)          \
	{                                                                    \
		const struct name##_update_ctx *u =                          \
			(const struct name##_update_ctx *)ctx;               \
		name##_flags_t f = (name##_flags_t)old_flags;                \
		if (!u->fn(u->ctx, (name##_flags_t)old_flags, &f))           \
			return false;                                        \
		*new_flags = (uint64_t)f;                                    \
		return true;                                                 \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_protect_any_(          \
		struct name *set, uint64_t start, uint64_t size,             \
		name##_update_fn update, void *ctx, name##_pt_t *page_table, \
		bool strict)                                                 \
	{                                                                    \
		struct name##_update_ctx u;                                  \
		if (!update)                                                 \
			return MAPPING_ERR_INVALID_PARAM;                    \
		u.fn = update;                                               \
		u.ctx = ctx;                                                 \
		if (strict)                                                  \
			return memory_set_protect_strict(                    \
				&set->raw, start, size,                      \
				name##_update_trampoline, &u,                \
				(void *)page_table);                         \
		return memory_set_protect(&set->raw, start, size,            \
					  name##_update_trampoline, &u,      \
					  (void *)page_table);               \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_protect(               \
		struct name *set, uint64_t start, uint64_t size,             \
		name##_update_fn update, void *ctx, name##_pt_t *page_table) \
	{                                                                    \
		return name##_protect_any_(set, start, size, update, ctx,    \
					   page_table, false);               \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_protect_strict(        \
		struct name *set, uint64_t start, uint64_t size,             \
		name##_update_fn update, void *ctx, name##_pt_t *page_table) \
	{                                                                    \
		return name##_protect_any_(set, start, size, update, ctx,    \
					   page_table, true);                \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_protect_flags(         \
		struct name *set, uint64_t start, uint64_t size,             \
		name##_flags_t flags, name##_flags_t mask,                   \
		name##_pt_t *page_table)                                     \
	{                                                                    \
		return memory_set_protect_flags(&set->raw, start, size,      \
						(uint64_t)flags,             \
						(uint64_t)mask,              \
						(void *)page_table);         \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_protect_flags_strict(  \
		struct name *set, uint64_t start, uint64_t size,             \
		name##_flags_t flags, name##_flags_t mask,                   \
		name##_pt_t *page_table)                                     \
	{                                                                    \
		return memory_set_protect_flags_strict(&set->raw, start, size, \
						       (uint64_t)flags,      \
						       (uint64_t)mask,       \
						       (void *)page_table);  \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_protect_mask(          \
		struct name *set, uint64_t start, uint64_t size,             \
		name##_flags_t flags, name##_flags_t mask,                   \
		name##_pt_t *page_table)                                     \
	{                                                                    \
		struct memory_set_typed_mask m;                              \
		m.flags = (uint64_t)flags;                                   \
		m.mask = (uint64_t)mask;                                     \
		return memory_set_protect(&set->raw, start, size,            \
					  memory_set_typed_mask_update, &m,  \
					  (void *)page_table);               \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_remap(                 \
		struct name *set, uint64_t start, uint64_t size,             \
		uint64_t new_size, name##_pt_t *page_table)                  \
	{                                                                    \
		return memory_set_remap(&set->raw, start, size, new_size,    \
					(void *)page_table);                 \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_remap_fixed(           \
		struct name *set, uint64_t start, uint64_t size,             \
		uint64_t new_size, uint64_t new_start,                       \
		name##_pt_t *page_table)                                     \
	{                                                                    \
		return memory_set_remap_fixed(&set->raw, start, size,        \
					      new_size, new_start,           \
					      (void *)page_table);           \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_dup(                   \
		struct name *dst, const struct name *src,                    \
		name##_pt_t *src_page_table, name##_pt_t *dst_page_table)    \
	{                                                                    \
		return memory_set_dup(dst ? &dst->raw : NULL,                \
				      src ? &src->raw : NULL,                \
				      (void *)src_page_table,                \
				      (void *)dst_page_table);               \
	}                                                                    \
	MEMORY_SET_TYPED_FN enum mapping_error name##_clear(                 \
		struct name *set, name##_pt_t *page_table)                   \
	{                                                                    \
		return memory_set_clear(&set->raw, (void *)page_table);      \
	}                                                                    \
	MEMORY_SET_TYPED_FN const char *name##_check(const struct name *set) \
	{                                                                    \
		return memory_set_check(&set->raw);                          \
	}                                                                    \
	MEMORY_SET_TYPED_FN void name##_iter_init(struct memory_set_iter *it, \
						  const struct name *set,    \
						  uint64_t addr)             \
	{                                                                    \
		memory_set_iter_init(it, &set->raw, addr);                   \
	}                                                                    \
	MEMORY_SET_TYPED_FN void name##_iter_init_end(                       \
		struct memory_set_iter *it, const struct name *set)          \
	{                                                                    \
		memory_set_iter_init_end(it, &set->raw);                     \
	}                                                                    \
	MEMORY_SET_TYPED_FN void name##_gap_iter_init(                       \
		struct memory_set_gap_iter *gi, const struct name *set,      \
		uint64_t first, uint64_t last)                               \
	{                                                                    \
		memory_set_gap_iter_init(gi, &set->raw, first, last);        \
	}                                                                    \
	MEMORY_SET_TYPED_FN void name##_gap_iter_init_end(                   \
		struct memory_set_gap_iter *gi, const struct name *set,      \
		uint64_t first, uint64_t last)                               \
	{                                                                    \
		memory_set_gap_iter_init_end(gi, &set->raw, first, last);    \
	}                                                                    \
	MEMORY_SET_TYPED_FN name##_flags_t name##_area_flags(                \
		const struct memory_area *area)                              \
	{                                                                    \
		return (name##_flags_t)area->flags;                          \
	}                                                                    \
	MEMORY_SET_TYPED_FN name##_data_t *name##_area_data(                 \
		const struct memory_area *area)                              \
	{                                                                    \
		return (name##_data_t *)area->backend.data;                  \
	}                                                                    \
	typedef int name##_typed_declared_ /* swallow the caller's ';' */

/**
 * @name Checked forms
 * Each calls the wrapper @p name's function of the same name after checking,
 * at compile time, that the set, page-table, backend, ops, data and update
 * callback arguments have exactly the wrapper's types (a `void *` page
 * table, data, backend or callback, such as NULL, passes). A mismatch is a
 * compile error in C11 and in C++, whatever the warning flags. Flags are
 * converted to @p name's flags type. Arguments after @p name are those of
 * the function; each is evaluated once.
 * @{
 */
/** @brief `name##_backend_make`: a backend of @p ops with @p data. */
#define memory_set_typed_backend(name, ops, data)                            \
	name##_backend_make(MEMORY_SET_TYPED_OPS_(name, ops),                 \
			    MEMORY_SET_TYPED_DATA_(name, data))
/** @brief `name##_init`, see memory_set_init(). */
#define memory_set_typed_init(name, set, opts)                               \
	name##_init(MEMORY_SET_TYPED_SET_(name, set), (opts))
/** @brief `name##_destroy`, see memory_set_destroy(). */
#define memory_set_typed_destroy(name, set)                                  \
	name##_destroy(MEMORY_SET_TYPED_SET_(name, set))
/** @brief `name##_len`, see memory_set_len(). */
#define memory_set_typed_len(name, set)                                      \
	name##_len(MEMORY_SET_TYPED_CSET_(name, set))
/** @brief `name##_is_empty`, see memory_set_is_empty(). */
#define memory_set_typed_is_empty(name, set)                                 \
	name##_is_empty(MEMORY_SET_TYPED_CSET_(name, set))
/** @brief `name##_granule`, see memory_set_granule(). */
#define memory_set_typed_granule(name, set)                                  \
	name##_granule(MEMORY_SET_TYPED_CSET_(name, set))
/** @brief `name##_set_granule`, see memory_set_set_granule(). */
#define memory_set_typed_set_granule(name, set, granule)                     \
	name##_set_granule(MEMORY_SET_TYPED_SET_(name, set), (granule))
/** @brief `name##_max_areas`, see memory_set_max_areas(). */
#define memory_set_typed_max_areas(name, set)                                \
	name##_max_areas(MEMORY_SET_TYPED_CSET_(name, set))
/** @brief `name##_set_max_areas`, see memory_set_set_max_areas(). */
#define memory_set_typed_set_max_areas(name, set, max)                       \
	name##_set_max_areas(MEMORY_SET_TYPED_SET_(name, set), (max))
/** @brief `name##_merge_enabled`, see memory_set_merge_enabled(). */
#define memory_set_typed_merge_enabled(name, set)                            \
	name##_merge_enabled(MEMORY_SET_TYPED_CSET_(name, set))
/** @brief `name##_set_merge`, see memory_set_set_merge(). */
#define memory_set_typed_set_merge(name, set, on)                            \
	name##_set_merge(MEMORY_SET_TYPED_SET_(name, set), (on))
/** @brief `name##_find`, see memory_set_find(). */
#define memory_set_typed_find(name, set, addr)                               \
	name##_find(MEMORY_SET_TYPED_CSET_(name, set), (addr))
/** @brief `name##_overlaps`, see memory_set_overlaps(). */
#define memory_set_typed_overlaps(name, set, start, size)                    \
	name##_overlaps(MEMORY_SET_TYPED_CSET_(name, set), (start), (size))
/** @brief `name##_can_access`, see memory_set_can_access(). */
#define memory_set_typed_can_access(name, set, start, size, mask)            \
	name##_can_access(MEMORY_SET_TYPED_CSET_(name, set), (start), (size), \
			  (name##_flags_t)(mask))
/** @brief `name##_handle_fault`, see memory_set_handle_fault(). */
#define memory_set_typed_handle_fault(name, set, addr, access, pt, area)     \
	name##_handle_fault(MEMORY_SET_TYPED_CSET_(name, set), (addr),        \
			    (access), MEMORY_SET_TYPED_PT_(name, pt), (area))
/** @brief `name##_find_free_area`, see memory_set_find_free_area(). */
#define memory_set_typed_find_free_area(name, set, hint, size, align, first, \
					last, addr)                          \
	name##_find_free_area(MEMORY_SET_TYPED_CSET_(name, set), (hint),      \
			      (size), (align), (first), (last), (addr))
/** @brief `name##_find_free_area_top`, see memory_set_find_free_area_top(). */
#define memory_set_typed_find_free_area_top(name, set, hint, size, align,    \
					    first, last, addr)               \
	name##_find_free_area_top(MEMORY_SET_TYPED_CSET_(name, set), (hint),  \
				  (size), (align), (first), (last), (addr))
/** @brief `name##_map`, see memory_set_map(). */
#define memory_set_typed_map(name, set, start, size, flags, backend, pt,     \
			     unmap_overlap)                                  \
	name##_map(MEMORY_SET_TYPED_SET_(name, set), (start), (size),         \
		   (name##_flags_t)(flags), MEMORY_SET_TYPED_BE_(name, backend), \
		   MEMORY_SET_TYPED_PT_(name, pt), (unmap_overlap))
/** @brief `name##_unmap`, see memory_set_unmap(). */
#define memory_set_typed_unmap(name, set, start, size, pt)                   \
	name##_unmap(MEMORY_SET_TYPED_SET_(name, set), (start), (size),       \
		     MEMORY_SET_TYPED_PT_(name, pt))
/** @brief `name##_unmap_strict`, see memory_set_unmap_strict(). */
#define memory_set_typed_unmap_strict(name, set, start, size, pt)            \
	name##_unmap_strict(MEMORY_SET_TYPED_SET_(name, set), (start), (size), \
			    MEMORY_SET_TYPED_PT_(name, pt))
/** @brief `name##_protect`, see memory_set_protect(). */
#define memory_set_typed_protect(name, set, start, size, update, ctx, pt)    \
	name##_protect(MEMORY_SET_TYPED_SET_(name, set), (start), (size),     \
		       MEMORY_SET_TYPED_UPD_(name, update), (ctx),            \
		       MEMORY_SET_TYPED_PT_(name, pt))
/** @brief `name##_protect_strict`, see memory_set_protect_strict(). */
#define memory_set_typed_protect_strict(name, set, start, size, update, ctx, \
					pt)                                  \
	name##_protect_strict(MEMORY_SET_TYPED_SET_(name, set), (start),      \
			      (size), MEMORY_SET_TYPED_UPD_(name, update),    \
			      (ctx), MEMORY_SET_TYPED_PT_(name, pt))
/** @brief `name##_protect_flags`, see memory_set_protect_flags(). */
#define memory_set_typed_protect_flags(name, set, start, size, flags, mask,  \
				       pt)                                   \
	name##_protect_flags(MEMORY_SET_TYPED_SET_(name, set), (start),       \
			     (size), (name##_flags_t)(flags),                 \
			     (name##_flags_t)(mask),                          \
			     MEMORY_SET_TYPED_PT_(name, pt))
/** @brief `name##_protect_flags_strict`, see memory_set_protect_flags_strict(). */
#define memory_set_typed_protect_flags_strict(name, set, start, size, flags, \
					      mask, pt)                      \
	name##_protect_flags_strict(MEMORY_SET_TYPED_SET_(name, set), (start), \
				    (size), (name##_flags_t)(flags),          \
				    (name##_flags_t)(mask),                   \
				    MEMORY_SET_TYPED_PT_(name, pt))
/** @brief `name##_protect_mask`: the rule of memory_set_protect_flags(). */
#define memory_set_typed_protect_mask(name, set, start, size, flags, mask,   \
				      pt)                                    \
	name##_protect_mask(MEMORY_SET_TYPED_SET_(name, set), (start), (size), \
			    (name##_flags_t)(flags), (name##_flags_t)(mask),  \
			    MEMORY_SET_TYPED_PT_(name, pt))
/** @brief `name##_remap`, see memory_set_remap(). */
#define memory_set_typed_remap(name, set, start, size, new_size, pt)         \
	name##_remap(MEMORY_SET_TYPED_SET_(name, set), (start), (size),       \
		     (new_size), MEMORY_SET_TYPED_PT_(name, pt))
/** @brief `name##_remap_fixed`, see memory_set_remap_fixed(). */
#define memory_set_typed_remap_fixed(name, set, start, size, new_size,       \
				     new_start, pt)                          \
	name##_remap_fixed(MEMORY_SET_TYPED_SET_(name, set), (start), (size), \
			   (new_size), (new_start),                           \
			   MEMORY_SET_TYPED_PT_(name, pt))
/** @brief `name##_dup`, see memory_set_dup(). */
#define memory_set_typed_dup(name, dst, src, src_pt, dst_pt)                 \
	name##_dup(MEMORY_SET_TYPED_SET_(name, dst),                          \
		   MEMORY_SET_TYPED_CSET_(name, src),                         \
		   MEMORY_SET_TYPED_PT_(name, src_pt),                        \
		   MEMORY_SET_TYPED_PT_(name, dst_pt))
/** @brief `name##_clear`, see memory_set_clear(). */
#define memory_set_typed_clear(name, set, pt)                                \
	name##_clear(MEMORY_SET_TYPED_SET_(name, set),                        \
		     MEMORY_SET_TYPED_PT_(name, pt))
/** @brief `name##_check`, see memory_set_check(). */
#define memory_set_typed_check(name, set)                                    \
	name##_check(MEMORY_SET_TYPED_CSET_(name, set))
/** @brief `name##_iter_init`, see memory_set_iter_init(). */
#define memory_set_typed_iter_init(name, it, set, addr)                      \
	name##_iter_init((it), MEMORY_SET_TYPED_CSET_(name, set), (addr))
/** @brief `name##_iter_init_end`, see memory_set_iter_init_end(). */
#define memory_set_typed_iter_init_end(name, it, set)                        \
	name##_iter_init_end((it), MEMORY_SET_TYPED_CSET_(name, set))
/** @brief `name##_gap_iter_init`, see memory_set_gap_iter_init(). */
#define memory_set_typed_gap_iter_init(name, gi, set, first, last)           \
	name##_gap_iter_init((gi), MEMORY_SET_TYPED_CSET_(name, set),         \
			     (first), (last))
/** @brief `name##_gap_iter_init_end`, see memory_set_gap_iter_init_end(). */
#define memory_set_typed_gap_iter_init_end(name, gi, set, first, last)       \
	name##_gap_iter_init_end((gi), MEMORY_SET_TYPED_CSET_(name, set),     \
				 (first), (last))
/** @} */

/**
 * @brief Define the static function @p hook, of the untyped type of the
 * mapping_backend_ops member @p kind, that converts its arguments and calls
 * @p fn, a hook written with wrapper @p name's types.
 *
 * @p kind is one of map, unmap, protect, split, release, can_merge, dup,
 * move, fault. @p fn must have exactly this type (anything else is a
 * compile error, in C11 and in C++), where D, F and P are `name##_data_t`,
 * `name##_flags_t` and `name##_pt_t`:
 * - map: `enum mapping_error (D *data, uint64_t start, uint64_t size,
 *   F flags, P *page_table)`
 * - unmap: `enum mapping_error (D *data, uint64_t start, uint64_t size,
 *   P *page_table)`
 * - protect: `enum mapping_error (D *data, uint64_t start, uint64_t size,
 *   F old_flags, F new_flags, P *page_table)`
 * - split: `enum mapping_error (D *data, uint64_t start, uint64_t size,
 *   uint64_t offset, D **right_data)`
 * - release: `void (D *data, uint64_t start, uint64_t size)`
 * - can_merge: `bool (D *left_data, D *right_data,
 *   const struct memory_area *left, const struct memory_area *right)`
 * - dup: `enum mapping_error (D *data, uint64_t start, uint64_t size,
 *   F flags, P *src_page_table, P *dst_page_table, D **child_data)`
 * - move: `enum mapping_error (D *data, uint64_t old_start,
 *   uint64_t new_start, uint64_t size, F flags, P *page_table)`
 * - fault: `enum mapping_error (D *data, const struct memory_area *area,
 *   uint64_t addr, uint64_t access, P *page_table)`
 *
 * Then put @p hook in an ops table, in the order of ::mapping_backend_ops:
 * @code
 * static const struct vm_backend_ops ops = { {
 *	MAPPING_BACKEND_OPS_VERSION, 0, map_hook, unmap_hook, protect_hook,
 *	NULL, NULL, NULL, dup_hook, NULL, fault_hook } };
 * @endcode
 * No cast between function pointer types is involved,
 * which would be undefined behaviour. Use at file scope, followed by a
 * semicolon.
 */
#define MEMORY_SET_TYPED_HOOK(name, kind, hook, fn)                          \
	MEMORY_SET_TYPED_HOOK_##kind##_(name, hook, fn)                      \
	typedef int hook##_typed_hook_ /* swallow the caller's ';' */

/** @cond MEMORY_SET_PRIVATE */
/* One per hook kind: check fn's type, then define the untyped hook. */
#define MEMORY_SET_TYPED_HOOK_map_(name, hook, fn)                           \
	static enum mapping_error hook(void *data, uint64_t start,           \
				       uint64_t size, uint64_t flags,        \
				       void *page_table)                     \
	{                                                                    \
		return MEMORY_SET_TYPED_IS_(                                 \
			enum mapping_error (*)(name##_data_t *, uint64_t,    \
					       uint64_t, name##_flags_t,     \
					       name##_pt_t *), fn)(           \
			(name##_data_t *)data, start, size,                  \
			(name##_flags_t)flags, (name##_pt_t *)page_table);   \
	}
#define MEMORY_SET_TYPED_HOOK_unmap_(name, hook, fn)                         \
	static enum mapping_error hook(void *data, uint64_t start,           \
				       uint64_t size, void *page_table)      \
	{                                                                    \
		return MEMORY_SET_TYPED_IS_(                                 \
			enum mapping_error (*)(name##_data_t *, uint64_t,    \
					       uint64_t, name##_pt_t *), fn)( \
			(name##_data_t *)data, start, size,                  \
			(name##_pt_t *)page_table);                          \
	}
#define MEMORY_SET_TYPED_HOOK_protect_(name, hook, fn)                       \
	static enum mapping_error hook(void *data, uint64_t start,           \
				       uint64_t size, uint64_t old_flags,    \
				       uint64_t new_flags, void *page_table) \
	{                                                                    \
		return MEMORY_SET_TYPED_IS_(                                 \
			enum mapping_error (*)(name##_data_t *, uint64_t,    \
					       uint64_t, name##_flags_t,     \
					       name##_flags_t, name##_pt_t *), \
			fn)((name##_data_t *)data, start, size,              \
			    (name##_flags_t)old_flags,                       \
			    (name##_flags_t)new_flags,                       \
			    (name##_pt_t *)page_table);                      \
	}
#define MEMORY_SET_TYPED_HOOK_split_(name, hook, fn)                         \
	static enum mapping_error hook(void *data, uint64_t start,           \
				       uint64_t size, uint64_t offset,       \
				       void **right_data)                    \
	{                                                                    \
		name##_data_t *right = NULL;                                 \
		enum mapping_error err = MEMORY_SET_TYPED_IS_(               \
			enum mapping_error (*)(name##_data_t *, uint64_t,    \
					       uint64_t, uint64_t,           \
					       name##_data_t **), fn)(        \
			(name##_data_t *)data, start, size, offset, &right); \
		if (err == MAPPING_OK)                                       \
			*right_data = (void *)right;                         \
		return err;                                                  \
	}
#define MEMORY_SET_TYPED_HOOK_release_(name, hook, fn)                       \
	static void hook(void *data, uint64_t start, uint64_t size)          \
	{                                                                    \
		MEMORY_SET_TYPED_IS_(void (*)(name##_data_t *, uint64_t,     \
					      uint64_t), fn)(                 \
			(name##_data_t *)data, start, size);                 \
	}
#define MEMORY_SET_TYPED_HOOK_can_merge_(name, hook, fn)                     \
	static bool hook(const struct memory_area *left,                     \
			 const struct memory_area *right)                    \
	{                                                                    \
		return MEMORY_SET_TYPED_IS_(                                 \
			bool (*)(name##_data_t *, name##_data_t *,           \
				 const struct memory_area *,                 \
				 const struct memory_area *), fn)(            \
			(name##_data_t *)left->backend.data,                 \
			(name##_data_t *)right->backend.data, left, right);  \
	}
#define MEMORY_SET_TYPED_HOOK_dup_(name, hook, fn)                           \
	static enum mapping_error hook(void *data, uint64_t start,           \
				       uint64_t size, uint64_t flags,        \
				       void *src_page_table,                 \
				       void *dst_page_table, void **child_data) \
	{                                                                    \
		name##_data_t *child = NULL;                                 \
		enum mapping_error err = MEMORY_SET_TYPED_IS_(               \
			enum mapping_error (*)(name##_data_t *, uint64_t,    \
					       uint64_t, name##_flags_t,     \
					       name##_pt_t *, name##_pt_t *, \
					       name##_data_t **), fn)(        \
			(name##_data_t *)data, start, size,                  \
			(name##_flags_t)flags, (name##_pt_t *)src_page_table, \
			(name##_pt_t *)dst_page_table, &child);              \
		if (err == MAPPING_OK)                                       \
			*child_data = (void *)child;                         \
		return err;                                                  \
	}
#define MEMORY_SET_TYPED_HOOK_move_(name, hook, fn)                          \
	static enum mapping_error hook(void *data, uint64_t old_start,       \
				       uint64_t new_start, uint64_t size,    \
				       uint64_t flags, void *page_table)     \
	{                                                                    \
		return MEMORY_SET_TYPED_IS_(                                 \
			enum mapping_error (*)(name##_data_t *, uint64_t,    \
					       uint64_t, uint64_t,           \
					       name##_flags_t, name##_pt_t *), \
			fn)((name##_data_t *)data, old_start, new_start,     \
			    size, (name##_flags_t)flags,                     \
			    (name##_pt_t *)page_table);                      \
	}
#define MEMORY_SET_TYPED_HOOK_fault_(name, hook, fn)                         \
	static enum mapping_error hook(void *data,                           \
				       const struct memory_area *area,       \
				       uint64_t addr, uint64_t access,       \
				       void *page_table)                     \
	{                                                                    \
		return MEMORY_SET_TYPED_IS_(                                 \
			enum mapping_error (*)(name##_data_t *,              \
					       const struct memory_area *,   \
					       uint64_t, uint64_t,           \
					       name##_pt_t *), fn)(           \
			(name##_data_t *)data, area, addr, access,           \
			(name##_pt_t *)page_table);                          \
	}
/** @endcond */

/**
 * @brief Define `static const struct name##_backend_ops var` from three
 * typed page-table hooks (the other hooks left at their defaults).
 *
 * The hooks must have the map, unmap and protect types listed at
 * MEMORY_SET_TYPED_HOOK(); anything else is a compile error. Use at file
 * scope after MEMORY_SET_TYPED(name, ...), followed by a semicolon.
 */
#define MEMORY_SET_TYPED_BACKEND(name, var, map_fn, unmap_fn, protect_fn)    \
	MEMORY_SET_TYPED_HOOK_map_(name, var##_map_, map_fn)                 \
	MEMORY_SET_TYPED_HOOK_unmap_(name, var##_unmap_, unmap_fn)           \
	MEMORY_SET_TYPED_HOOK_protect_(name, var##_protect_, protect_fn)     \
	static const struct name##_backend_ops var = { {                     \
		MAPPING_BACKEND_OPS_VERSION, 0u, var##_map_, var##_unmap_,   \
		var##_protect_, NULL, NULL, NULL, NULL, NULL, NULL } }

/**
 * @brief As MEMORY_SET_TYPED_BACKEND(), with split, release and can_merge
 * too (all given, of the types listed at MEMORY_SET_TYPED_HOOK()). For the
 * version-2 hooks (dup, move, fault), write the table with
 * MEMORY_SET_TYPED_HOOK().
 */
#define MEMORY_SET_TYPED_BACKEND_FULL(name, var, map_fn, unmap_fn,           \
				      protect_fn, split_fn, release_fn,      \
				      can_merge_fn)                          \
	MEMORY_SET_TYPED_HOOK_map_(name, var##_map_, map_fn)                 \
	MEMORY_SET_TYPED_HOOK_unmap_(name, var##_unmap_, unmap_fn)           \
	MEMORY_SET_TYPED_HOOK_protect_(name, var##_protect_, protect_fn)     \
	MEMORY_SET_TYPED_HOOK_split_(name, var##_split_, split_fn)           \
	MEMORY_SET_TYPED_HOOK_release_(name, var##_release_, release_fn)     \
	MEMORY_SET_TYPED_HOOK_can_merge_(name, var##_can_merge_, can_merge_fn) \
	static const struct name##_backend_ops var = { {                     \
		MAPPING_BACKEND_OPS_VERSION, 0u, var##_map_, var##_unmap_,   \
		var##_protect_, var##_split_, var##_release_,                \
		var##_can_merge_, NULL, NULL, NULL } }

#endif /* MEMORY_SET_TYPED_H */
