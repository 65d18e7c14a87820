#!/bin/sh
# Builds the maple-tree peer of the bench, BUILD/bench/maple-peer, from the
# Linux source Debian installs (linux-source-6.12: lib/maple_tree.c and the
# user-space headers of tools/) and liburcu (liburcu-dev). The source is
# unpacked under BUILD/bench/linux; nothing of it enters the library or the
# repository.
#
#   sh bench/maple/build.sh [BUILD]
#
# Exits 1, saying what is missing, when the source or liburcu is not there.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-build}" && pwd)
tarball=${LINUX_SOURCE:-/usr/src/linux-source-6.12.tar.xz}
out=$build/bench
cc=${CC:-cc}
src=$out/linux/linux-source-6.12
obj=$out/maple

if [ ! -f "$tarball" ]; then
	echo "maple: no $tarball (Debian: apt-get install linux-source-6.12)" >&2
	exit 1
fi
if ! echo '#include <urcu.h>' | "$cc" -E - > /dev/null 2>&1; then
	echo "maple: no liburcu (Debian: apt-get install liburcu-dev)" >&2
	exit 1
fi
for a in libms_trace.a libmemory_set.a; do
	if [ ! -f "$build/lib/$a" ]; then
		echo "maple: $build/lib/$a is missing: build first (make build)" >&2
		exit 1
	fi
done
mkdir -p "$out/linux" "$obj/generated"

# Only what the tree needs: include/, lib/ and tools/ (about 150 MB).
stamp=$out/linux/.unpacked
if [ ! -f "$stamp" ] || [ "$stamp" -ot "$tarball" ]; then
	echo "maple: unpacking $tarball"
	rm -rf "$src"
	tar -xJf "$tarball" -C "$out/linux" --wildcards \
		'linux-source-6.12/include/*' 'linux-source-6.12/lib/*' \
		'linux-source-6.12/tools/*'
	touch "$stamp"
fi

# The generated headers tools/testing/radix-tree makes: a 64-bit build.
echo "#define CONFIG_64BIT 1" > "$obj/generated/bit-length.h"
cp "$src/tools/testing/shared/autoconf.h" "$obj/generated/autoconf.h"
echo "#define XA_CHUNK_SHIFT 6" > "$obj/generated/map-shift.h"

# The flags of the library's build (RelWithDebInfo), no debug options of the
# maple tree's test suite.
opt="-O2 -g"
"$cc" $opt -D_LGPL_SOURCE -w -I"$obj" -I"$src/tools/testing/shared" \
	-I"$src/tools/testing/radix-tree" -I"$src/tools/include" \
	-I"$src/lib" -I"$here" -c "$here/glue.c" -o "$obj/glue.o"
for f in ops runner; do
	"$cc" -std=c11 $opt -Wall -Wextra -Werror -I"$here" -I"$root/tools" \
		-I"$root/include" -c "$here/$f.c" -o "$obj/$f.o"
done
"$cc" -o "$out/maple-peer" "$obj/runner.o" "$obj/ops.o" "$obj/glue.o" \
	"$build/lib/libms_trace.a" "$build/lib/libmemory_set.a" -lurcu -lpthread
echo "maple: $out/maple-peer"
