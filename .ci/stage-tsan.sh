#!/bin/sh
# CI stage: readers under a read lock and a writer under the write lock
# (tests/reliability/rw_threads.c), and readers without a lock on a
# lockless_lookups set (tests/concurrency/lockless_stress.c), built with
# ThreadSanitizer: any report fails. Nothing is muted: every node word a
# lock-free reader loads is an atomic on both sides (docs/concurrency.md).
# Debian packages: cmake, clang, libclang-rt-14-dev (the TSan runtime).
set -eu
cd "$(dirname "$0")/.."
B=build-tsan
SAN="-fsanitize=thread -g -O1"

CC=clang cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="$SAN" -DCMAKE_EXE_LINKER_FLAGS="$SAN"
cmake --build "$B" -j "$(nproc 2>/dev/null || echo 2)" --target rw_threads lockless_stress

# halt_on_error: the first race fails the run; exitcode 66 is TSan's.
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" "$B/bin/rw_threads" 20000 3
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" MS_REL_SCALE=0.1 "$B/bin/lockless_stress"
