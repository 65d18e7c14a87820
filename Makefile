# Short commands over the CMake build in build/.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build deps test demo bench clean

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

test: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: deps
	$(MAKE) build
	sh examples/demo.sh $(BUILD)

# The bench also wants gnuplot (the plot) and GNU time (peak memory).
bench: deps
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    { ! command -v gnuplot >/dev/null 2>&1 || [ ! -x /usr/bin/time ]; }; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnuplot-nox time; \
	fi
	$(MAKE) build
	sh bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD)
