# Short commands over the CMake build in build/.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build deps test demo docs bench clean

all: build

# A fresh Debian machine has gcc, make and cmake; the tests also need cmocka.
# As root, install what is missing; otherwise say what to install.
deps:
	@need=""; \
	command -v cmake >/dev/null 2>&1 || need="$$need cmake"; \
	command -v pkg-config >/dev/null 2>&1 || need="$$need pkg-config"; \
	[ -f /usr/include/cmocka.h ] || need="$$need libcmocka-dev"; \
	if [ -n "$$need" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing:$$need"; \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$need; \
		else \
			echo "please install:$$need (sudo apt-get install$$need)"; exit 1; \
		fi; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# Quiet: deps and the build write to $(BUILD)/$(1)-build.log, which is
# shown only if they fail (then the target fails).
define quiet_build
@mkdir -p $(BUILD); log=$(BUILD)/$(1)-build.log; \
	echo "Building into $(BUILD)/ (log: $$log)"; \
	if ! { $(MAKE) --no-print-directory deps && \
	       $(MAKE) --no-print-directory build; } > $$log 2>&1; then \
		cat $$log; echo "make $(1): the build failed (log above)" >&2; exit 1; \
	fi
endef

# ctest shows the output of every test that fails.
test:
	$(call quiet_build,test)
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo:
	$(call quiet_build,demo)
	@sh examples/demo.sh $(BUILD)

# The API reference (Doxyfile) as HTML into $(BUILD)/docs/html. As root on
# Debian, installs doxygen if it is missing.
docs:
	@if ! command -v doxygen >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing: doxygen"; \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends doxygen; \
		else \
			echo "please install: doxygen (sudo apt-get install doxygen)"; exit 1; \
		fi; \
	fi
	@mkdir -p $(BUILD)/docs
	( cat Doxyfile; echo "OUTPUT_DIRECTORY = $(BUILD)/docs" ) | doxygen -
	@echo "API reference: $(BUILD)/docs/html/index.html"

# The bench also wants Linux's source and liburcu (the maple-tree peer),
# gnuplot (the plot) and valgrind (the callgrind profile). It writes only
# under $(BUILD)/bench; `sh bench/report.sh $(BUILD)` puts its tables into
# BENCHMARKS.md and its plot into docs/bench.png.
bench: deps
	@need=""; \
	[ -f /usr/src/linux-source-6.12.tar.xz ] || need="$$need linux-source-6.12"; \
	echo '#include <urcu.h>' | $${CC:-cc} -E - >/dev/null 2>&1 || need="$$need liburcu-dev"; \
	command -v gnuplot >/dev/null 2>&1 || need="$$need gnuplot-nox"; \
	command -v valgrind >/dev/null 2>&1 || need="$$need valgrind"; \
	if [ -n "$$need" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing:$$need"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$need; \
	elif [ -n "$$need" ]; then \
		echo "the bench runs without what is missing:$$need"; \
	fi
	$(MAKE) build
	nice sh bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD)

# The riscv64 kernel of kernel/ under QEMU: boot it and run every user
# program (one PASS line each, with the debug checks on), or show its demo.
# As root on Debian, kernel/Makefile installs the cross gcc, QEMU and OpenSBI
# if they are missing.
.PHONY: kernel-test kernel-demo
kernel-test:
	@$(MAKE) --no-print-directory -C kernel test O=$(abspath $(BUILD))/kernel

kernel-demo:
	@$(MAKE) --no-print-directory -C kernel demo O=$(abspath $(BUILD))/kernel
