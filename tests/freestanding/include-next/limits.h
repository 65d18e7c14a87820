/*
 * Empty on purpose. gcc's own limits.h defines every C limit, then asks for
 * the C library's limits.h with #include_next; under -nostdinc there is none,
 * so tests/freestanding/check.sh puts this empty one last on the path.
 */
