/*
 * The sizes and offsets of the public structures as the C compiler lays
 * them out; cxx_headers.cpp compares them with the C++ compiler's layout, so
 * a C++ program and the C library agree on every structure they share.
 */
#include <stddef.h>

#include <memory_set/memory_set.h>

#include "layout.h"

#define MS_ENTRY(expr) ((unsigned long)(expr)),

const unsigned long ms_cxx_layout_c[] = { MS_LAYOUT(MS_ENTRY) };
const unsigned long ms_cxx_layout_count =
	sizeof(ms_cxx_layout_c) / sizeof(ms_cxx_layout_c[0]);
