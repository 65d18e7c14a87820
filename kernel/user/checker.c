/*
 * The debug check runs: a page-table entry that no area accounts for is
 * caught right after the system call that made it, and the process killed.
 */
#include "ulib.h"

const char *test_name = "checker";

static void corrupt(uint64_t op)
{
	long r = debug((int)op);

	printf("checker: debug() returned %ld: the check did not run\n", r);
	exit(1);
}

static void clean(uint64_t unused)
{
	(void)unused;
	yield();
}

int main(void)
{
	int status = run_child(corrupt, DEBUG_STRAY_PTE, NULL);

	CHECK(!WIFEXITED(status) && WKILLREASON(status) == KILL_CHECK,
	      "status %x: the stray entry was not caught", status);
	status = run_child(clean, 0, NULL);
	expect_exit("a clean child", status, 0);
	printf("checker: %d failures\n", test_failures);
	return test_failures != 0;
}
