/**
 * @file typed.h
 * @brief Typed wrappers over the untyped memory_set API: your flags type,
 * page-table type and per-area data type, checked by the compiler.
 *
 * The core stores flags as uint64_t and hands hooks `void *` page tables and
 * data. A typed wrapper declares, for one (flags, page table, data) triple,
 * a set type and static inline functions that take exactly those types, so
 * passing another set's page table, data or backend is a compile error (in
 * C with -Werror=incompatible-pointer-types, the default from gcc 14; in C++
 * always). The functions only convert and forward: no cost, no new state.
 *
 * @code
 * struct pt { ... };            // the page table
 * struct obj { ... };           // per-area data
 * enum prot { R = 1, W = 2, X = 4 };
 *
 * MEMORY_SET_TYPED(vm, enum prot, struct pt, struct obj);
 *
 * static enum mapping_error my_map(struct obj *o, uint64_t start,
 *                                  uint64_t size, enum prot f, struct pt *pt);
 * static enum mapping_error my_unmap(struct obj *o, uint64_t start,
 *                                    uint64_t size, struct pt *pt);
 * static enum mapping_error my_protect(struct obj *o, uint64_t start,
 *                                      uint64_t size, enum prot old_flags,
 *                                      enum prot new_flags, struct pt *pt);
 * MEMORY_SET_TYPED_BACKEND(vm, my_ops, my_map, my_unmap, my_protect);
 *
 * struct vm set;
 * struct vm_backend b = { &my_ops, &some_obj };
 * vm_init(&set, &opts);
 * vm_map(&set, 0x1000, 0x2000, R | W, &b, &page_table, false);
 * @endcode
 *
 * Flags may be any integer or enum type whose values fit in 64 bits; they
 * are stored as uint64_t and converted back when read. The page-table and
 * data types should be complete or incomplete object types other than void
 * (with void, any pointer converts silently and the check is lost).
 *
 * Valid C11 and C++.
 */
#ifndef MEMORY_SET_TYPED_H
#define MEMORY_SET_TYPED_H

#include <memory_set/memory_set.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A wrapper declares every function; a program uses some. Keep the unused
 * ones quiet without hiding anything else. */
#if defined(__GNUC__) || defined(__clang__)
#define MEMORY_SET_TYPED_FN static inline __attribute__((unused))
#else
#define MEMORY_SET_TYPED_FN static inline
#endif

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
 *   data_type *data; }`: what each area is mapped with;
 * - `name##_update_fn`: `bool (*)(void *ctx, flags_type old_flags,
 *   flags_type *new_flags)`, the typed ::memory_set_update_fn;
 * - static inline functions, each the memory_set_* function of the same name
 *   (same semantics, errors and failure behaviour): name##_init, _destroy,
 *   _len, _is_empty, _granule, _set_granule, _merge_enabled, _set_merge,
 *   _find, _overlaps, _find_free_area, _find_free_area_top, _map, _unmap,
 *   _protect, _clear, _check, _iter_init, _iter_init_end; plus
 *   name##_protect_mask (set @p flags under @p mask, the trace language's
 *   rule), name##_area_flags and name##_area_data (an area's flags and data
 *   in their types).
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
	MEMORY_SET_TYPED_FN enum mapping_error name##_protect(               \
		struct name *set, uint64_t start, uint64_t size,             \
		name##_update_fn update, void *ctx, name##_pt_t *page_table) \
	{                                                                    \
		struct name##_update_ctx u;                                  \
		if (!update)                                                 \
			return MAPPING_ERR_INVALID_PARAM;                    \
		u.fn = update;                                               \
		u.ctx = ctx;                                                 \
		return memory_set_protect(&set->raw, start, size,            \
					  name##_update_trampoline, &u,      \
					  (void *)page_table);               \
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

/* Trampolines for the three page-table hooks of a typed backend @p var. */
#define MEMORY_SET_TYPED_HOOKS_(name, var, map_fn, unmap_fn, protect_fn)     \
	static enum mapping_error var##_map_(void *data, uint64_t start,     \
					     uint64_t size, uint64_t flags,  \
					     void *page_table)               \
	{                                                                    \
		return map_fn((name##_data_t *)data, start, size,            \
			      (name##_flags_t)flags,                         \
			      (name##_pt_t *)page_table);                    \
	}                                                                    \
	static enum mapping_error var##_unmap_(void *data, uint64_t start,   \
					       uint64_t size, void *page_table) \
	{                                                                    \
		return unmap_fn((name##_data_t *)data, start, size,          \
				(name##_pt_t *)page_table);                  \
	}                                                                    \
	static enum mapping_error var##_protect_(                            \
		void *data, uint64_t start, uint64_t size, uint64_t old_flags, \
		uint64_t new_flags, void *page_table)                        \
	{                                                                    \
		return protect_fn((name##_data_t *)data, start, size,        \
				  (name##_flags_t)old_flags,                 \
				  (name##_flags_t)new_flags,                 \
				  (name##_pt_t *)page_table);                \
	}

/**
 * @brief Define `static const struct name##_backend_ops var` from three
 * typed page-table hooks (split, release and can_merge left at their
 * defaults).
 *
 * The hooks must have these types (a mismatch is a compile error):
 * - `enum mapping_error map_fn(name##_data_t *data, uint64_t start,
 *   uint64_t size, name##_flags_t flags, name##_pt_t *page_table)`
 * - `enum mapping_error unmap_fn(name##_data_t *data, uint64_t start,
 *   uint64_t size, name##_pt_t *page_table)`
 * - `enum mapping_error protect_fn(name##_data_t *data, uint64_t start,
 *   uint64_t size, name##_flags_t old_flags, name##_flags_t new_flags,
 *   name##_pt_t *page_table)`
 *
 * The macro generates static functions with the untyped signatures that
 * convert and call the typed hooks (never a cast between function pointer
 * types, which would be undefined behaviour). Use at file scope after
 * MEMORY_SET_TYPED(name, ...), followed by a semicolon.
 */
#define MEMORY_SET_TYPED_BACKEND(name, var, map_fn, unmap_fn, protect_fn)    \
	MEMORY_SET_TYPED_HOOKS_(name, var, map_fn, unmap_fn, protect_fn)     \
	static const struct name##_backend_ops var = { {                     \
		MAPPING_BACKEND_OPS_VERSION, 0u, var##_map_, var##_unmap_,   \
		var##_protect_, NULL, NULL, NULL } }

/**
 * @brief As MEMORY_SET_TYPED_BACKEND(), with the three optional hooks too
 * (all given; see ::mapping_backend_ops for what each does):
 * - `enum mapping_error split_fn(name##_data_t *data, uint64_t start,
 *   uint64_t size, uint64_t offset, name##_data_t **right_data)`
 * - `void release_fn(name##_data_t *data, uint64_t start, uint64_t size)`
 * - `bool can_merge_fn(name##_data_t *left_data, name##_data_t *right_data,
 *   const struct memory_area *left, const struct memory_area *right)`
 */
#define MEMORY_SET_TYPED_BACKEND_FULL(name, var, map_fn, unmap_fn,           \
				      protect_fn, split_fn, release_fn,      \
				      can_merge_fn)                          \
	MEMORY_SET_TYPED_HOOKS_(name, var, map_fn, unmap_fn, protect_fn)     \
	static enum mapping_error var##_split_(void *data, uint64_t start,   \
					       uint64_t size, uint64_t offset, \
					       void **right_data)            \
	{                                                                    \
		name##_data_t *right = NULL;                                 \
		enum mapping_error err = split_fn((name##_data_t *)data,     \
						  start, size, offset, &right); \
		if (err == MAPPING_OK)                                       \
			*right_data = (void *)right;                         \
		return err;                                                  \
	}                                                                    \
	static void var##_release_(void *data, uint64_t start, uint64_t size) \
	{                                                                    \
		release_fn((name##_data_t *)data, start, size);              \
	}                                                                    \
	static bool var##_can_merge_(const struct memory_area *left,         \
				     const struct memory_area *right)        \
	{                                                                    \
		return can_merge_fn((name##_data_t *)left->backend.data,     \
				    (name##_data_t *)right->backend.data,    \
				    left, right);                            \
	}                                                                    \
	static const struct name##_backend_ops var = { {                     \
		MAPPING_BACKEND_OPS_VERSION, 0u, var##_map_, var##_unmap_,   \
		var##_protect_, var##_split_, var##_release_,                \
		var##_can_merge_ } }

#endif /* MEMORY_SET_TYPED_H */
