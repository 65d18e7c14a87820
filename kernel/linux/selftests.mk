# Linux's mm selftests, built at test time and never kept in the tree.
# Included by kernel/Makefile (K, O, CROSS set there).
#
#   make -C kernel selftests        build O/linux/NAME for each test
#   make -C kernel selftests-user   run them under qemu-riscv64 (user mode)
#                                   and check each by the pass rule
#
# selftests-user is a diagnostic, not a gate: Debian 12's qemu-user (7.2)
# takes MAP_FIXED_NOREPLACE as a plain hint and does not know mseal, so
# only mremap_dontunmap passes under it (map_fixed_noreplace bails out,
# mremap_test's search for a free range never ends, mseal_test skips all).
# Built natively for x86_64 and run on Linux itself, all four pass with the
# counts of selftests.txt (mseal_test also passes its two x86-only
# protection-key cases there).
#
# Only the files the four programs need come out of Debian's tarball,
# into O/linux/src: the programs, kselftest.h and mseal_helpers.h. They
# are compiled as Linux's own tools/testing/selftests/mm/Makefile does
# (-O2 -U_FORTIFY_SOURCE), static, against Debian's riscv64 glibc
# (libc6-dev-riscv64-cross). Debian 12's kernel headers predate mseal, so
# its number (462 in the generic table) is given on the command line.

LINUX_TAR ?= /usr/src/linux-source-6.12.tar.xz
LINUX_DIR := linux-source-6.12/tools/testing/selftests
QEMU_USER ?= qemu-riscv64
# name pass xfail skip limit, one line each
SELFTEST_TABLE := $(K)/linux/selftests.txt
SELFTESTS := $(shell sed -n 's/^\([a-z_]*\) .*/\1/p' $(SELFTEST_TABLE))
# Each one's time limit in the kernel, LIMIT_NAME, from the table's last column.
$(foreach t,$(shell awk '/^[a-z_]+ / { print $$1 "=" $$5 }' $(SELFTEST_TABLE)),\
	$(eval LIMIT_$(firstword $(subst =, ,$(t))) ?= $(lastword $(subst =, ,$(t)))))
ST := $(O)/linux
ST_CFLAGS := -static -O2 -Wall -U_FORTIFY_SOURCE -D__NR_mseal=462

.PHONY: selftests selftests-user selftests-deps
selftests: $(patsubst %,$(ST)/%,$(SELFTESTS))

# kernel/Makefile's deps, with the tarball (a target's variables reach its
# prerequisites).
selftests-deps: NEED_FILES += $(LINUX_TAR):linux-source-6.12
selftests-deps: deps

# One pass over the tarball (xz: about ten seconds) takes every file.
$(ST)/src/.extracted: $(SELFTEST_TABLE) $(K)/linux/selftests.mk | selftests-deps
	@rm -rf $(ST)/src && mkdir -p $(ST)/src
	tar -xJf $(LINUX_TAR) -C $(ST)/src --strip-components=4 \
		$(LINUX_DIR)/kselftest.h $(LINUX_DIR)/mm/mseal_helpers.h \
		$(patsubst %,$(LINUX_DIR)/mm/%.c,$(SELFTESTS))
	@touch $@

$(patsubst %,$(ST)/%,$(SELFTESTS)): $(ST)/%: $(ST)/src/.extracted
	$(CC) $(ST_CFLAGS) $(ST)/src/mm/$*.c -o $@

# Under the user-mode emulator, each program's output goes to O/linux/NAME.log.
selftests-user: selftests
	@fail=0; \
	while read -r name pass xfail skip limit; do \
		case $$name in ''|'#'*) continue ;; esac; \
		timeout $$limit $(QEMU_USER) $(ST)/$$name >$(ST)/$$name.log 2>&1; \
		status=$$?; [ $$status = 124 ] && status="killed after $${limit}s"; \
		sh $(K)/linux/tap-check.sh $$name "$$status" $$pass $$xfail $$skip \
			$(ST)/$$name.log || fail=1; \
	done <$(SELFTEST_TABLE); \
	exit $$fail
