#!/bin/sh
# Builds the core of an older commit as a peer of the bench, so that old and
# new are measured side by side in one run:
#   BUILD/bench/core-COMMIT/build/bin/ms-replay   the trace replayer over it
#   BUILD/bench/core-COMMIT/build/lib/libmemory_set.a
#   BUILD/bench/core-COMMIT/include               its public headers
# The commit's src/, include/ and hosted/ (git archive) are built with this
# tree's CMakeLists.txt and tools/, so both replayers share their flags,
# their parser and their replay loop and differ only in the core. Should
# this tree's tools no longer build against the old headers, the commit's
# own tools/ are used instead (said on stderr).
#
#   sh bench/core-peer.sh [BUILD] [COMMIT]     COMMIT: f4d84d3 by default
#
# Exits 1, saying why, when the commit is not in the repository (a shallow
# clone) or does not build. Made again only when the commit's tree changes.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
commit=${2:-f4d84d3}
dir=$build/bench/core-$commit

tree=$(git -C "$root" rev-parse --verify -q "$commit^{tree}" 2>/dev/null) || {
	echo "core-peer: no commit $commit in $root (a shallow clone?)" >&2
	exit 1
}
stamp=$dir/.tree
if [ -x "$dir/build/bin/ms-replay" ] && [ -f "$stamp" ] &&
   [ "$(cat "$stamp")" = "$tree" ] &&
   [ "$dir/build/bin/ms-replay" -nt "$root/tools/ms-replay.c" ]; then
	exit 0
fi

# configure SRC: sources of the old core with this tree's build files.
configure() {
	rm -rf "$dir"
	mkdir -p "$dir"
	git -C "$root" archive "$commit" src include hosted | tar -x -C "$dir"
	cp "$root/CMakeLists.txt" "$dir/"
	cp -R "$root/cmake" "$dir/"
	if [ "$1" = own ]; then
		git -C "$root" archive "$commit" tools | tar -x -C "$dir"
	else
		cp -R "$root/tools" "$dir/"
	fi
	cmake -S "$dir" -B "$dir/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DMEMORY_SET_TESTS=OFF -DMEMORY_SET_ASPACE=OFF \
		> "$dir/configure.log" 2>&1 &&
	cmake --build "$dir/build" -j 2 --target ms-replay \
		> "$dir/build.log" 2>&1
}

if ! configure current; then
	echo "core-peer: this tree's tools/ do not build against $commit;" \
		"using its own tools/" >&2
	configure own || {
		cat "$dir/configure.log" "$dir/build.log" >&2
		echo "core-peer: $commit does not build" >&2
		exit 1
	}
fi
echo "$tree" > "$stamp"
echo "core-peer: $dir/build/bin/ms-replay"
