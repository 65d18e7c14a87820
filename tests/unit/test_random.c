/*
 * Random workloads on medium sets (hundreds of areas, several tree levels),
 * every call checked page for page against the mock: plain and file-backed
 * areas, merge off and on, and with hook, split and allocation failures
 * injected at random, so each failure contract is checked in many shapes.
 */
#include "mock.h"

enum {
	RC_MERGE = 1,        /* merge on */
	RC_PROTECT_ONLY = 2, /* nothing but protect after the first maps */
	RC_FILE = 4,         /* file-backed areas (split, release, can_merge) */
	RC_FAIL = 8,         /* inject failures */
	RC_TOP = 16,         /* work at the top of the space, up to 2^64 */
	RC_TOGGLE = 32,      /* turn merging on and off now and then */
	RC_GRANULE = 64,     /* switch the granule between 4 and 8 KiB */
	RC_MIXED = 128,      /* also areas whose can_merge allows any data */
};

static uint64_t tags[2];

#define SPAN_PAGES 1700u

static enum mapping_error map_one(struct env *e, int opts, uint64_t *seed,
				  uint64_t at, uint64_t size, uint64_t flags,
				  bool replace)
{
	struct file_data *d;
	struct mapping_backend b;
	enum mapping_error err;

	if ((opts & RC_MIXED) && rnd_below(seed, 3) == 0) {
		b.ops = &mock_ops_merge_all;
		b.data = &tags[rnd_below(seed, 2)];
		return t_map_b(e, at, size, flags, &b, replace);
	}
	if (!(opts & RC_FILE) || rnd_below(seed, 4) == 0)
		return t_map(e, at, size, flags, replace);
	/* Mostly offset == address, so neighbours are continuous and merge. */
	d = file_data_new(rnd_below(seed, 4) ? at : rnd_below(seed, 64) << 20,
			  at);
	b.ops = &file_ops;
	b.data = d;
	err = t_map_b(e, at, size, flags, &b, replace);
	if (err != MAPPING_OK)
		file_data_drop(d); /* never entered the set */
	return err;
}

/* Arm failures for the next operation; true if any. */
static bool arm(struct env *e, uint64_t *seed)
{
	bool armed = false;

	if (rnd_below(seed, 3) == 0) {
		mock_fail_in(&e->m, 1 + rnd_below(seed, 4), MAPPING_ERR_BAD_STATE);
		if (rnd_below(seed, 2) == 0) /* e.g. a protect's change back */
			mock_fail_in(&e->m, 2 + rnd_below(seed, 6),
				     MAPPING_ERR_BAD_STATE);
		armed = true;
	}
	if (rnd_below(seed, 6) == 0) {
		file_split_fail_in(&e->m, 1 + rnd_below(seed, 3));
		armed = true;
	}
	if (rnd_below(seed, 8) == 0) {
		e->ca.fail_from = e->ca.calls + 1 + rnd_below(seed, 3);
		armed = true;
	}
	return armed;
}

static void disarm(struct env *e)
{
	e->m.nfail = 0;
	e->m.split_fail_at = 0;
	e->ca.fail_from = 0;
}

static void random_checked(int opts, uint64_t seed, int ops)
{
	struct env e;
	int i;

	/* RC_TOP: the window's last page is the last of the space. */
	uint64_t base = (opts & RC_TOP) ? 0 - SPAN_PAGES * 0x1000ull : 0;

	env_init(&e, 0, opts & RC_MERGE);
	for (i = 0; i < 400; i++)
		assert_int_equal(map_one(&e, opts, &seed,
					 base + (uint64_t)i * 0x4000 + 0x1000,
					 0x3000, 1 + rnd_below(&seed, 3), false),
				 MAPPING_OK);
	for (i = 0; i < ops; i++) {
		uint64_t at = base + rnd_below(&seed, SPAN_PAGES) * 0x1000;
		uint64_t size = (1 + rnd_below(&seed, 64)) * 0x1000;
		uint64_t f = 1 + rnd_below(&seed, 3);
		bool armed = (opts & RC_FAIL) && arm(&e, &seed);
		enum mapping_error err;

		/* Near 2^64, cut ranges to end there at most (most of the
		 * time; past it is InvalidParam, checked below). */
		if ((opts & RC_TOP) && size - 1 > TOP - at &&
		    rnd_below(&seed, 8) != 0)
			size = TOP - at + 1;
		if ((opts & RC_GRANULE) && rnd_below(&seed, 50) == 0)
			assert_int_equal(memory_set_set_granule(&e.set,
					 rnd_below(&seed, 2) ? 0x2000 : 0x1000),
					 MAPPING_OK);
		if ((opts & RC_TOGGLE) && rnd_below(&seed, 100) == 0) {
			memory_set_set_merge(&e.set,
					     !memory_set_merge_enabled(&e.set));
			check_env(&e);
		}

		switch ((opts & RC_PROTECT_ONLY) ? 4 : rnd_below(&seed, 6)) {
		case 0:
			err = t_unmap(&e, at, size);
			break;
		case 1:
			size = size % 0x5000 + 0x1000;
			err = map_one(&e, opts, &seed, at, size, f, true);
			break;
		case 2:
			size = 0x1000;
			err = map_one(&e, opts, &seed, at, size, f, false);
			if (err == MAPPING_ERR_ALREADY_EXISTS)
				err = MAPPING_OK;
			break;
		case 3:
			if (rnd_below(&seed, 50) == 0) {
				err = t_clear(&e);
				at = size = 0; /* no range */
			} else
				err = t_protect(&e, at, size, f, ~0ull);
			break;
		default:
			err = t_protect(&e, at, size, f,
					rnd_below(&seed, 2) ? 3 : 1);
			break;
		}
		/* With failures armed, the op may fail with one of them; t_*
		 * checked the set against the page table either way. An
		 * invalid range is refused before any hook or allocation. */
		if (armed && (err == MAPPING_ERR_BAD_STATE ||
			      err == MAPPING_ERR_NO_MEMORY))
			err = MAPPING_OK;
		/* A range past 2^64 or off the granule is refused. */
		if (size > 0 && (size - 1 > TOP - at ||
				 (at | size) % memory_set_granule(&e.set)))
			assert_int_equal(err, MAPPING_ERR_INVALID_PARAM);
		else
			assert_int_equal(err, MAPPING_OK);
		disarm(&e);
	}
	env_fini(&e);
}

static void test_plain(void **state)
{
	(void)state;
	random_checked(0, 7, 3000);
}

static void test_plain_merge(void **state)
{
	(void)state;
	random_checked(RC_MERGE, 8, 3000);
}

/* Protect alone: many small areas, splits in many leaves at once. */
static void test_protect_only(void **state)
{
	(void)state;
	random_checked(RC_PROTECT_ONLY, 9, 3000);
}

static void test_file(void **state)
{
	(void)state;
	random_checked(RC_FILE, 10, 3000);
}

static void test_file_merge(void **state)
{
	(void)state;
	random_checked(RC_FILE | RC_MERGE, 11, 3000);
}

static void test_failures(void **state)
{
	(void)state;
	random_checked(RC_FAIL, 12, 3000);
}

static void test_failures_file_merge(void **state)
{
	(void)state;
	random_checked(RC_FAIL | RC_FILE | RC_MERGE, 13, 3000);
	random_checked(RC_FAIL | RC_FILE, 14, 3000);
}

static void test_top(void **state)
{
	(void)state;
	random_checked(RC_TOP, 15, 3000);
	random_checked(RC_TOP | RC_MERGE | RC_FILE, 16, 3000);
}

static void test_toggle(void **state)
{
	(void)state;
	random_checked(RC_TOGGLE, 17, 3000);
	random_checked(RC_TOGGLE | RC_FILE | RC_FAIL | RC_TOP, 18, 3000);
}

static void test_granule_mixed(void **state)
{
	(void)state;
	random_checked(RC_GRANULE | RC_MIXED | RC_MERGE, 19, 3000);
	random_checked(RC_GRANULE | RC_MIXED | RC_FILE | RC_TOGGLE | RC_FAIL,
		       20, 3000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_plain_merge),
		cmocka_unit_test(test_protect_only),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_merge),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_failures_file_merge),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_toggle),
		cmocka_unit_test(test_granule_mixed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
