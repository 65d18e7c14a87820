#!/bin/sh
# Builds the lookup bench, BUILD/bench/lookup-bench (lookup.c): this tree's
# core, the core of an older commit when bench/core-peer.sh has built it,
# and the maple tree when bench/maple/build.sh has, in one process. Each
# core is core.c linked with its library into one object whose only global
# symbol is its table (lk_core_new, lk_core_old), so the two cores' equal
# names never meet; both are built with the same flags.
#
#   sh bench/lookup/build.sh [BUILD] [COMMIT]     COMMIT: the older core
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-build}" && pwd)
commit=${2:-f4d84d3}
out=$build/bench
obj=$out/lookup
cc=${CC:-cc}
opt="-O2 -g -DNDEBUG"
mkdir -p "$obj"

for a in libms_trace.a libmemory_set.a; do
	if [ ! -f "$build/lib/$a" ]; then
		echo "lookup: $build/lib/$a is missing: build first (make build)" >&2
		exit 1
	fi
done

# core NAME INCLUDE LIBRARY: core.c over one core, made one object.
core() {
	"$cc" -std=c11 $opt -fPIC -Wall -Wextra -Werror -I"$here" \
		-I"$root/tools" -I"$2" \
		-DLK_CORE="lk_core_$1" -c "$here/core.c" -o "$obj/shim-$1.o"
	ld -r -o "$obj/all-$1.o" "$obj/shim-$1.o" --whole-archive "$3"
	objcopy -G "lk_core_$1" "$obj/all-$1.o" "$obj/core-$1.o"
}

core new "$root/include" "$build/lib/libmemory_set.a"
objs="$obj/core-new.o"
defs=
libs=
old=$out/core-$commit
if [ -f "$old/build/lib/libmemory_set.a" ]; then
	core old "$old/include" "$old/build/lib/libmemory_set.a"
	objs="$objs $obj/core-old.o"
	defs="$defs -DLK_OLD=\"$commit\""
else
	echo "lookup: no core of $commit (bench/core-peer.sh): its rows stay empty" >&2
fi
if [ -f "$out/maple/glue.o" ]; then
	objs="$objs $out/maple/glue.o"
	defs="$defs -DLK_MAPLE -I$root/bench/maple"
	libs="-lurcu -lpthread"
else
	echo "lookup: no maple tree (bench/maple/build.sh): its rows stay empty" >&2
fi
# shellcheck disable=SC2086
"$cc" -std=c11 $opt -Wall -Wextra -Werror -I"$here" -I"$root/tools" \
	-I"$root/include" $defs -c "$here/lookup.c" -o "$obj/lookup.o"
# shellcheck disable=SC2086
"$cc" -o "$out/lookup-bench" "$obj/lookup.o" $objs "$build/lib/libms_trace.a" \
	"$build/lib/libmemory_set.a" $libs
echo "lookup: $out/lookup-bench"
