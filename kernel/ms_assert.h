/*
 * Passed with -include to the memory_set sources. In debug builds their
 * assertions, and the invariant checker the set then runs after every
 * mutation, report through the kernel's panic(). Defining the macro turns
 * that checker on, so it is defined only there.
 */
#ifdef MEMORY_SET_DEBUG_CHECK
void kernel_assert_failed(const char *file, int line, const char *cond);
#define MEMORY_SET_ASSERT(x) \
	((x) ? (void)0 : kernel_assert_failed(__FILE__, __LINE__, #x))
#endif
