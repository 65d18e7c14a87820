#!/bin/sh
# CI stage: the whole project built with AddressSanitizer and
# UndefinedBehaviorSanitizer (no recovery: the first report fails), and the
# whole ctest suite run on it, but for conformance.efence.check (a
# 40,000-area trace with its shadow check after every line: over 8 minutes
# under ASan; conformance.efence.plain still replays it here) and
# aspace_oracle (its executor processes must map nothing of their own: the
# sanitizers' runtime maps shadow and allocator memory where Linux is to
# place the calls' mappings; it runs natively in make test).
# Debian packages: cmake, gcc (its libasan and libubsan come with it),
# g++ if the project has C++ tests, python3 for the trace tests.
set -eu
cd "$(dirname "$0")/.."
B=build-sanitizers
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"

cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="$SAN" -DCMAKE_CXX_FLAGS="$SAN" \
  -DCMAKE_EXE_LINKER_FLAGS="$SAN" -DCMAKE_SHARED_LINKER_FLAGS="$SAN"
cmake --build "$B" -j "$(nproc 2>/dev/null || echo 2)"

# Leaks are errors too; tests that catch SIGSEGV on purpose keep their own
# handler (allow_user_segv_handler).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allow_user_segv_handler=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The reliability tests' loops at a third: fault_injection alone is two
# minutes under ASan at full size.
export MS_REL_SCALE=0.3
cd "$B"
ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" --timeout 900 \
  -E '^(conformance\.efence\.check|kernel\..*|reliability\.aspace_oracle.*)$'
