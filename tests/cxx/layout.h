/*
 * The layout facts compared between C and C++ (see layout.c). Each entry is
 * an integer expression valid in both languages.
 */
#ifndef MS_CXX_LAYOUT_H
#define MS_CXX_LAYOUT_H

#define MS_LAYOUT(X)                                                     \
	X(sizeof(enum mapping_error))                                    \
	X(sizeof(struct mapping_backend_ops))                            \
	X(offsetof(struct mapping_backend_ops, map))                     \
	X(offsetof(struct mapping_backend_ops, can_merge))               \
	X(sizeof(struct mapping_backend))                                \
	X(sizeof(struct memory_area))                                    \
	X(offsetof(struct memory_area, flags))                           \
	X(offsetof(struct memory_area, backend))                         \
	X(sizeof(struct memory_set_allocator))                           \
	X(offsetof(struct memory_set_allocator, free))                   \
	X(sizeof(struct memory_set_options))                             \
	X(offsetof(struct memory_set_options, merge))                    \
	X(offsetof(struct memory_set_options, allocator))                \
	X(offsetof(struct memory_set_options, granule))                  \
	X(sizeof(struct memory_set))                                     \
	X(MS_ALIGNOF(struct memory_set))                        \
	X(sizeof(struct memory_set_iter))                                \
	X(sizeof(struct memory_set_pool))                                \
	X(sizeof(bool))

#ifdef __cplusplus
#define MS_ALIGNOF(t) alignof(t)
extern "C" {
#else
#define MS_ALIGNOF(t) _Alignof(t)
#endif
extern const unsigned long ms_cxx_layout_c[];
extern const unsigned long ms_cxx_layout_count;
#ifdef __cplusplus
}
#endif

#endif
