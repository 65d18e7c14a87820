#!/usr/bin/env bash
# CI stage: static analysis of the core (src/) and hosted/: clang-tidy with
# the checked-in .clang-tidy (bugprone, cert, clang-analyzer, misc,
# portability, readability; every finding an error), once as the hosted
# build compiles it and once freestanding with the invariant checker on, and
# cppcheck (warning, style, performance, portability) for a 64-bit and a
# 32-bit platform with .cppcheck-suppressions. Any finding fails the stage.
# Debian packages: clang-tidy, cppcheck.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t FILES < <(ls src/*.c hosted/*.c 2>/dev/null)
if [ "${#FILES[@]}" -eq 0 ]; then
	echo "static: no source under src/" >&2
	exit 1
fi
echo "static analysis of: ${FILES[*]}"
echo "clang-tidy: $(clang-tidy --version | grep -i version | head -1)"
echo "cppcheck:   $(cppcheck --version)"

status=0
run() {
	local label=$1
	shift
	echo
	echo "--- $label"
	local out
	out=$(mktemp)
	if "$@" >"$out" 2>&1; then
		grep -Ev '^[0-9]+ warnings? generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter' "$out" || true
		echo "$label: clean"
	else
		cat "$out"
		echo "$label: FINDINGS (see above)"
		status=1
	fi
	rm -f "$out"
}

run "clang-tidy (hosted build flags)" \
	timeout 900 clang-tidy --quiet "${FILES[@]}" -- -std=c11 -Iinclude
run "clang-tidy (freestanding, MEMORY_SET_DEBUG_CHECK=1)" \
	timeout 900 clang-tidy --quiet "${FILES[@]}" -- -std=c11 -Iinclude \
	-ffreestanding -DMEMORY_SET_DEBUG_CHECK=1

CPPCHECK=(cppcheck --enable=warning,style,performance,portability --std=c11
	--error-exitcode=1 --inline-suppr --quiet
	--suppressions-list=.cppcheck-suppressions
	--template='{file}:{line}: {severity}: {message} [{id}]'
	-Iinclude -Isrc)
for platform in unix64 unix32; do
	run "cppcheck ($platform)" timeout 900 "${CPPCHECK[@]}" --platform=$platform src hosted
done

echo
if [ "$status" -ne 0 ]; then
	echo "static: findings above; fix them, or suppress one with its reason in .clang-tidy or .cppcheck-suppressions" >&2
	exit 1
fi
echo "static: clang-tidy and cppcheck clean"
