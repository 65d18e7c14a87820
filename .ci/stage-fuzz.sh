#!/bin/sh
# CI stage: the libFuzzer targets with AddressSanitizer and
# UndefinedBehaviorSanitizer, each for a bounded time: the core's
# (fuzz/fuzz_ops.c, MS_FUZZ_SECONDS, default 90, from fuzz/corpus; a failing
# input is kept in build-fuzz/ and printed as a trace) and the address-space
# layer's (fuzz/fuzz_aspace.c, MS_FUZZ_ASPACE_SECONDS, default 60, from
# fuzz/corpus-aspace).
# Debian packages: cmake, clang, libclang-rt-14-dev (or the libclang-rt-dev
# of the installed clang: libFuzzer and the sanitizer runtimes).
set -eu
cd "$(dirname "$0")/.."
B=build-fuzz
SECS=${MS_FUZZ_SECONDS:-90}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize=fuzzer-no-link -g"

CC=clang cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMEMORY_SET_LIBFUZZER=ON -DCMAKE_C_FLAGS="$SAN"
cmake --build "$B" -j "$(nproc 2>/dev/null || echo 2)" --target ms_fuzz ms_fuzz_replay \
  ms_fuzz_aspace ms_fuzz_aspace_replay

# New inputs go to a scratch copy; the repository's corpus stays small.
WORK="$B/fuzz-corpus"
rm -rf "$WORK"
mkdir -p "$WORK"
cp fuzz/corpus/* "$WORK"/

# The seeds must pass before fuzzing starts.
if ! (cd "$B" && ./bin/ms_fuzz_replay ../fuzz/corpus); then
  echo "== a seed fails; as a trace:"
  (cd "$B" && MS_FUZZ_TRACE=1 ./bin/ms_fuzz_replay ms-fuzz-failure.bin 2>&1 | head -200) || true
  exit 1
fi

status=0
(cd "$B" && ASAN_OPTIONS=detect_leaks=1 ./bin/ms_fuzz -max_total_time="$SECS" \
  -timeout=10 -rss_limit_mb=2048 -max_len=2048 -print_final_stats=1 \
  fuzz-corpus) || status=$?
if [ "$status" -ne 0 ]; then
  for f in "$B"/crash-* "$B"/leak-* "$B"/timeout-* "$B"/oom-*; do
    [ -e "$f" ] || continue
    echo "== failing input $f as a trace:"
    MS_FUZZ_TRACE=1 "$B/bin/ms_fuzz_replay" "$f" 2>&1 | head -200 || true
  done
  exit "$status"
fi
echo "fuzz: ${SECS}s without a failure"

# The address-space layer: seeds first, then fuzzing.
ASECS=${MS_FUZZ_ASPACE_SECONDS:-60}
AWORK="$B/fuzz-corpus-aspace"
rm -rf "$AWORK"
mkdir -p "$AWORK"
cp fuzz/corpus-aspace/* "$AWORK"/
(cd "$B" && ./bin/ms_fuzz_aspace_replay ../fuzz/corpus-aspace)
(cd "$B" && ASAN_OPTIONS=detect_leaks=1 ./bin/ms_fuzz_aspace -max_total_time="$ASECS" \
  -timeout=10 -rss_limit_mb=2048 -max_len=2048 -print_final_stats=1 \
  fuzz-corpus-aspace)
echo "fuzz aspace: ${ASECS}s without a failure"
