#!/bin/sh
# CI stage: the test executables under valgrind memcheck; any error or any
# definite or indirect leak fails.
# - The unit and reliability tests run under valgrind through ctest
#   (CMAKE_CROSSCOMPILING_EMULATOR is how ctest prefixes a test whose
#   command is a built executable), the reliability ones with smaller loop
#   counts (MS_REL_SCALE). Left out: unit_scale and unit_fail (large
#   parameters: minutes under valgrind; fault_injection covers the failure
#   paths here), hw_protect (touches inaccessible memory on purpose),
#   linux_oracle and aspace_oracle (compare the kernel's maps of the
#   process, which valgrind's own mappings change).
# - The replay tool, if built, checks the edge and generated traces of the
#   conformance suite under valgrind (--check: shadow page table too).
# Debian packages: cmake, gcc, valgrind.
set -eu
cd "$(dirname "$0")/.."
B=build-valgrind
VGOPTS="--error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect --quiet"
J=$(nproc 2>/dev/null || echo 2)

cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CROSSCOMPILING_EMULATOR="valgrind;$(echo "$VGOPTS" | tr ' ' ';')"
cmake --build "$B" -j "$J"

export MS_REL_SCALE=0.1
(cd "$B" && ctest --output-on-failure -j "$J" --timeout 900 -L 'unit|reliability' \
  -E 'unit_scale|unit_fail|hw_protect|linux_oracle|aspace_oracle')

if [ -x "$B/bin/ms-replay" ] && [ -d tests/conformance/traces ]; then
  n=0
  for t in tests/conformance/traces/edge-*.trace tests/conformance/traces/gen-*.trace; do
    [ -e "$t" ] || continue
    # --check exits non-zero on a disagreement, valgrind on an error.
    valgrind $VGOPTS "$B/bin/ms-replay" --check "$t" > /dev/null
    n=$((n + 1))
  done
  echo "valgrind: $n traces replayed with --check"
fi
