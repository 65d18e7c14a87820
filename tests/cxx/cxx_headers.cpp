// Every public header of memory_set, compiled as C++ (C++11 and later, with
// -Wall -Wextra -Werror -pedantic), and a few calls through them: the C
// library linked into a C++ program, with the same structure layout on both
// sides (layout.c), the iteration macro, a captureless lambda as the protect
// rule, the fixed pool, and the typed wrapper of typed.h.
#include "ms_all_headers.h" // every include/memory_set/*.h, listed by CMake

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "layout.h"

namespace {

int failures = 0;

#define CHECK(cond)                                                      \
	do {                                                             \
		if (!(cond)) {                                           \
			std::fprintf(stderr, "%s:%d: check failed: %s\n", \
				     __FILE__, __LINE__, #cond);         \
			++failures;                                      \
		}                                                        \
	} while (0)

// A page table: one entry per 4 KiB page of a small window.
struct PageTable {
	std::vector<std::uint64_t> flags; // 0: unmapped
	std::uint64_t base;
	unsigned calls;
};

bool in_window(const PageTable *pt, std::uint64_t start, std::uint64_t size)
{
	return start >= pt->base &&
	       (start - pt->base + size) / 4096 <= pt->flags.size();
}

enum mapping_error pt_map(void *data, std::uint64_t start, std::uint64_t size,
			  std::uint64_t flags, void *page_table)
{
	(void)data;
	PageTable *pt = static_cast<PageTable *>(page_table);
	if (!in_window(pt, start, size))
		return MAPPING_ERR_INVALID_PARAM;
	for (std::uint64_t a = start; a < start + size; a += 4096)
		pt->flags[(a - pt->base) / 4096] = flags;
	pt->calls++;
	return MAPPING_OK;
}

enum mapping_error pt_unmap(void *data, std::uint64_t start,
			    std::uint64_t size, void *page_table)
{
	return pt_map(data, start, size, 0, page_table);
}

enum mapping_error pt_protect(void *data, std::uint64_t start,
			      std::uint64_t size, std::uint64_t old_flags,
			      std::uint64_t new_flags, void *page_table)
{
	(void)old_flags;
	return pt_map(data, start, size, new_flags, page_table);
}

const struct mapping_backend_ops pt_ops = {
	MAPPING_BACKEND_OPS_VERSION, 0u, pt_map, pt_unmap, pt_protect,
	nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
};

void check_layout()
{
	const unsigned long cxx[] = {
#define MS_CXX_ENTRY(expr) static_cast<unsigned long>(expr),
		MS_LAYOUT(MS_CXX_ENTRY)
#undef MS_CXX_ENTRY
	};
	const unsigned long n = sizeof(cxx) / sizeof(cxx[0]);
	CHECK(n == ms_cxx_layout_count);
	for (unsigned long i = 0; i < n && i < ms_cxx_layout_count; i++) {
		if (cxx[i] != ms_cxx_layout_c[i]) {
			std::fprintf(stderr, "layout entry %lu: C++ %lu, C %lu\n",
				     i, cxx[i], ms_cxx_layout_c[i]);
			++failures;
		}
	}
}

void check_untyped(const struct memory_set_allocator *alloc, void *ctx)
{
	PageTable pt;
	pt.flags.assign(64, 0);
	pt.base = 0x100000;
	pt.calls = 0;

	struct memory_set_options opts;
	std::memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.allocator = alloc;
	opts.allocator_ctx = ctx;
	opts.granule = 4096;

	struct memory_set set;
	CHECK(memory_set_init(&set, &opts) == MAPPING_OK);
	CHECK(memory_set_is_empty(&set));

	const struct mapping_backend backend = { &pt_ops, nullptr };
	for (std::uint64_t i = 0; i < 8; i++)
		CHECK(memory_set_map(&set, pt.base + i * 0x2000, 0x1000, 1 + i,
				     &backend, &pt, false) == MAPPING_OK);
	CHECK(memory_set_len(&set) == 8);
	CHECK(memory_set_map(&set, pt.base, 0x1000, 1, &backend, &pt, false) ==
	      MAPPING_ERR_ALREADY_EXISTS);
	CHECK(memory_set_check(&set) == nullptr);

	const struct memory_area *a = memory_set_find(&set, pt.base + 0x2010);
	CHECK(a != nullptr && memory_area_start(a) == pt.base + 0x2000 &&
	      memory_area_flags(a) == 2 && memory_area_contains(a, pt.base + 0x2fff));
	CHECK(memory_set_find(&set, pt.base + 0x1000) == nullptr);

	// Walk forwards with the macro, then backwards.
	struct memory_set_iter it;
	const struct memory_area *area;
	std::uint64_t n = 0, last = 0;
	memory_set_foreach(area, &it, &set) {
		CHECK(n == 0 || memory_area_start(area) > last);
		last = memory_area_start(area);
		n++;
	}
	CHECK(n == 8);
	memory_set_iter_init_end(&it, &set);
	n = 0;
	while (memory_set_iter_prev(&it) != nullptr)
		n++;
	CHECK(n == 8);

	std::uint64_t addr = 0;
	CHECK(memory_set_find_free_area(&set, pt.base, 0x1000, 0x1000, pt.base,
					pt.base + 0x3ffff, &addr) == MAPPING_OK &&
	      addr == pt.base + 0x1000);
	CHECK(memory_set_find_free_area_top(&set, 0, 0x1000, 0x1000, pt.base,
					    pt.base + 0x3ffff, &addr) == MAPPING_OK &&
	      addr == pt.base + 0x3f000);

	// Protect with a captureless lambda: every area gets flags 9.
	memory_set_update_fn rule = [](void *c, std::uint64_t old_flags,
				       std::uint64_t *new_flags) -> bool {
		(void)c;
		if (old_flags == 9)
			return false;
		*new_flags = 9;
		return true;
	};
	CHECK(memory_set_protect(&set, pt.base, 0x4000, rule, nullptr, &pt) ==
	      MAPPING_OK);
	CHECK(pt.flags[0] == 9 && pt.flags[2] == 9 && pt.flags[4] == 3);

	CHECK(memory_set_unmap(&set, pt.base, 0x4000, &pt) == MAPPING_OK);
	CHECK(memory_set_len(&set) == 6 && pt.flags[0] == 0);
	CHECK(memory_set_check(&set) == nullptr);
	CHECK(memory_set_memory_bytes(&set) >= MEMORY_SET_NODE_SIZE);
	CHECK(memory_set_clear(&set, &pt) == MAPPING_OK);
	CHECK(memory_set_is_empty(&set));
	for (std::size_t i = 0; i < pt.flags.size(); i++)
		CHECK(pt.flags[i] == 0);
	memory_set_destroy(&set);
}

void check_errors()
{
	CHECK(mapping_error_to_errno(MAPPING_OK) == 0);
	CHECK(mapping_error_to_errno(MAPPING_ERR_INVALID_PARAM) == 22);
	CHECK(mapping_error_to_errno(MAPPING_ERR_ALREADY_EXISTS) == 17);
	CHECK(mapping_error_to_errno(MAPPING_ERR_BAD_STATE) == 14);
	CHECK(mapping_error_to_errno(MAPPING_ERR_NO_MEMORY) == 12);
	CHECK(std::strcmp(mapping_strerror(MAPPING_ERR_NO_MEMORY), "NoMemory") == 0);
	CHECK(mapping_strerror(static_cast<enum mapping_error>(-99)) != nullptr);
}

#ifdef MS_CXX_HAVE_TYPED
// The typed wrapper: flags as an enum, the page table and data as classes.
enum Prot : std::uint32_t { PROT_R = 1, PROT_W = 2, PROT_X = 4 };
struct Obj {
	int id;
};

MEMORY_SET_TYPED(cxxvm, enum Prot, PageTable, Obj);

enum mapping_error obj_map(Obj *o, std::uint64_t start, std::uint64_t size,
			   enum Prot f, PageTable *pt)
{
	return pt_map(o, start, size, f, pt);
}

enum mapping_error obj_unmap(Obj *o, std::uint64_t start, std::uint64_t size,
			     PageTable *pt)
{
	return pt_unmap(o, start, size, pt);
}

enum mapping_error obj_protect(Obj *o, std::uint64_t start, std::uint64_t size,
			       enum Prot old_flags, enum Prot new_flags,
			       PageTable *pt)
{
	return pt_protect(o, start, size, old_flags, new_flags, pt);
}

MEMORY_SET_TYPED_BACKEND(cxxvm, obj_ops, obj_map, obj_unmap, obj_protect);

void check_typed(const struct memory_set_allocator *alloc, void *ctx)
{
	PageTable pt;
	pt.flags.assign(16, 0);
	pt.base = 0x400000;
	pt.calls = 0;
	Obj obj = { 7 };

	struct memory_set_options opts;
	std::memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.allocator = alloc;
	opts.allocator_ctx = ctx;

	struct cxxvm set;
	CHECK(cxxvm_init(&set, &opts) == MAPPING_OK);
	struct cxxvm_backend b = { &obj_ops, &obj };
	CHECK(cxxvm_map(&set, pt.base, 0x4000, PROT_R, &b, &pt, false) == MAPPING_OK);
	CHECK(cxxvm_protect_mask(&set, pt.base + 0x1000, 0x1000, PROT_W, PROT_W,
				 &pt) == MAPPING_OK);
	CHECK(cxxvm_len(&set) == 3);
	CHECK(pt.flags[1] == (PROT_R | PROT_W) && pt.flags[2] == PROT_R);
	CHECK(cxxvm_check(&set) == nullptr);
	CHECK(cxxvm_clear(&set, &pt) == MAPPING_OK);
	cxxvm_destroy(&set);
	(void)PROT_X;
}
#endif

} // namespace

int main()
{
	check_layout();
	check_errors();
#ifdef MS_CXX_HAVE_MALLOC
	check_untyped(&memory_set_malloc_allocator, nullptr);
#endif
	// The fixed pool: no heap at all.
	static std::uint64_t buffer[MEMORY_SET_POOL_BYTES(16) / sizeof(std::uint64_t)];
	struct memory_set_pool pool;
	CHECK(memory_set_pool_init(&pool, buffer, sizeof(buffer)) == MAPPING_OK);
	CHECK(memory_set_pool_available(&pool) == 16);
	check_untyped(&memory_set_pool_allocator, &pool);
	CHECK(memory_set_pool_available(&pool) == 16);
#ifdef MS_CXX_HAVE_TYPED
	check_typed(&memory_set_pool_allocator, &pool);
	CHECK(memory_set_pool_available(&pool) == 16);
#endif
	std::printf("C++%ld: %s\n", static_cast<long>(__cplusplus),
		    failures ? "FAILED" : "all checks passed");
	return failures ? 1 : 0;
}
