#!/bin/sh
# CI stage: the test executables under valgrind memcheck; any error or any
# definite or indirect leak fails. Every test whose command is a built
# executable runs under valgrind (CMAKE_CROSSCOMPILING_EMULATOR is how ctest
# prefixes it), with smaller loop counts (MS_REL_SCALE). Left out: the two
# tests that touch inaccessible memory on purpose (hw_protect) or compare
# the kernel's maps of the process (linux_oracle), which valgrind's own
# mappings change.
# Debian packages: cmake, gcc, valgrind.
set -eu
cd "$(dirname "$0")/.."
B=build-valgrind
VG="valgrind;--error-exitcode=1;--leak-check=full;--errors-for-leak-kinds=definite,indirect;--show-leak-kinds=definite,indirect;--track-origins=yes;--quiet"

cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CROSSCOMPILING_EMULATOR="$VG"
cmake --build "$B" -j "$(nproc 2>/dev/null || echo 2)"

export MS_REL_SCALE=0.05
cd "$B"
ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" --timeout 900 \
  -E 'hw_protect|linux_oracle'
