#!/usr/bin/env bash
# CI stage: the project cross-built with Debian's cross gcc for aarch64,
# riscv64, i686 and armhf (the last two: 32-bit pointers, 64-bit addresses),
# and its tests run by ctest under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR,
# set by cmake/toolchains/*.cmake): the cmocka unit tests, the conformance
# suite and the rest of the ctest suite, with the reliability loops scaled
# down (MS_REL_SCALE).
#
# cmocka for the targets: Debian bookworm has no riscv64 packages to install
# through multiarch, so the stage builds cmocka from Debian's own source
# package (the same version as the host's libcmocka-dev, fetched with
# `apt-get source` through a private deb-src list, nothing changed on the
# system) into build-cross-cmocka/<arch>, a static library with a cmocka.pc
# that the toolchain file puts first on PKG_CONFIG_LIBDIR.
#
# Environment: MS_CROSS_ARCHES (default "aarch64 riscv64 i686 armhf"),
# MS_CMOCKA_SOURCE (an unpacked cmocka source tree, to skip the download),
# MS_CROSS_TIMEOUT (seconds per test under qemu, default 600),
# MS_CROSS_TIMEOUT_SCALE (factor on the tests' own TIMEOUT, default 5),
# MS_CROSS_EXCLUDE (ctest -E regex of tests left out under qemu, see below).
# Debian packages: cmake, make, pkg-config, xz-utils, python3, qemu-user,
# gcc-aarch64-linux-gnu, gcc-riscv64-linux-gnu, gcc-i686-linux-gnu,
# gcc-arm-linux-gnueabihf, libc6-dev-arm64-cross, libc6-dev-riscv64-cross,
# libc6-dev-i386-cross, libc6-dev-armhf-cross.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
ROOT=$(pwd)
ARCHES=${MS_CROSS_ARCHES:-aarch64 riscv64 i686 armhf}
JOBS=$(nproc 2>/dev/null || echo 2)
TIMEOUT=${MS_CROSS_TIMEOUT:-600}
TIMEOUT_SCALE=${MS_CROSS_TIMEOUT_SCALE:-5} # tests' own TIMEOUT under qemu
# Left out under qemu-user: linux_oracle and aspace_oracle compare with the
# kernel's /proc/self/maps, and under qemu-user that file is qemu's own
# rendering of the guest's pages (it does not merge neighbours as Linux
# does), so the tests would check qemu, not this library. They run natively.
# Also left out: efence.check, the 40,000-area trace with the invariant
# checker after each of its 330,000 operations (O(n) each): seconds natively,
# many minutes under qemu. Its plain replay (output compared byte for byte)
# runs under qemu; --check runs natively, under the sanitizers and valgrind.
EXCLUDE=${MS_CROSS_EXCLUDE:-'^reliability\.(linux_oracle|aspace_oracle.*)$|^conformance\.efence\.check$'}
CM=$ROOT/build-cross-cmocka

triple_of() {
	case "$1" in
	aarch64) echo aarch64-linux-gnu ;;
	riscv64) echo riscv64-linux-gnu ;;
	i686) echo i686-linux-gnu ;;
	armhf) echo arm-linux-gnueabihf ;;
	*) echo "unknown architecture $1" >&2; return 1 ;;
	esac
}

qemu_of() {
	case "$1" in
	aarch64) echo qemu-aarch64 ;;
	riscv64) echo qemu-riscv64 ;;
	i686) echo qemu-i386 ;;
	armhf) echo qemu-arm ;;
	esac
}

# 1. cmocka's source, from Debian.
cmocka_source() {
	if [ -n "${MS_CMOCKA_SOURCE:-}" ]; then
		echo "$MS_CMOCKA_SOURCE"
		return
	fi
	local dir=$CM/src
	if [ ! -f "$dir/src/cmocka.c" ]; then
		local apt=$CM/apt
		rm -rf "$apt" "$dir"
		mkdir -p "$apt/lists/partial" "$apt/dl"
		echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" \
			>"$apt/sources.list"
		local opts=(-o "Dir::Etc::SourceList=$apt/sources.list"
			-o Dir::Etc::SourceParts=/dev/null
			-o "Dir::State::Lists=$apt/lists"
			-o Debug::NoLocking=1 -o APT::Sandbox::User=root -q)
		timeout 300 apt-get "${opts[@]}" update >"$apt/update.log" 2>&1 ||
			{ cat "$apt/update.log" >&2; return 1; }
		(cd "$apt/dl" && timeout 300 apt-get "${opts[@]}" source --download-only cmocka) \
			>"$apt/source.log" 2>&1 || { cat "$apt/source.log" >&2; return 1; }
		mkdir -p "$dir"
		local tarball
		tarball=$(ls "$apt"/dl/cmocka_*.orig.tar.* | grep -v '\.asc$' | head -1)
		tar -xf "$tarball" -C "$dir" --strip-components=1
	fi
	echo "$dir"
}

# 2. cmocka as a static library for one target: one file, and the config.h
# its own CMake would write for glibc on Linux.
build_cmocka() {
	local triple=$1 src=$2 prefix=$3
	rm -rf "$prefix"
	mkdir -p "$prefix/lib/pkgconfig" "$prefix/include" "$prefix/build"
	local version
	version=$(sed -n 's/^project(cmocka VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
	cat >"$prefix/build/config.h" <<EOF
#define PACKAGE "cmocka"
#define VERSION "${version:-1.1.5}"
#define HAVE_ASSERT_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_MALLOC_H 1
#define HAVE_MEMORY_H 1
#define HAVE_SETJMP_H 1
#define HAVE_SIGNAL_H 1
#define HAVE_STDARG_H 1
#define HAVE_STDDEF_H 1
#define HAVE_STDINT_H 1
#define HAVE_STDIO_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRINGS_H 1
#define HAVE_STRING_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_TIME_H 1
#define HAVE_UNISTD_H 1
#define HAVE_STRUCT_TIMESPEC 1
#define HAVE_CALLOC 1
#define HAVE_EXIT 1
#define HAVE_FPRINTF 1
#define HAVE_SNPRINTF 1
#define HAVE_VSNPRINTF 1
#define HAVE_FREE 1
#define HAVE_LONGJMP 1
#define HAVE_SIGLONGJMP 1
#define HAVE_MALLOC 1
#define HAVE_MEMCPY 1
#define HAVE_MEMSET 1
#define HAVE_PRINTF 1
#define HAVE_SETJMP 1
#define HAVE_SIGNAL 1
#define HAVE_STRCMP 1
#define HAVE_STRSIGNAL 1
#define HAVE_CLOCK_GETTIME 1
#define HAVE_GCC_THREAD_LOCAL_STORAGE 1
#define HAVE_CLOCK_REALTIME 1
#define WORDS_SIZEOF_VOID_P __SIZEOF_POINTER__
EOF
	"$triple-gcc" -std=gnu99 -O2 -g -DHAVE_CONFIG_H -I"$prefix/build" -I"$src/include" \
		-c "$src/src/cmocka.c" -o "$prefix/build/cmocka.o"
	"$triple-ar" rcs "$prefix/lib/libcmocka.a" "$prefix/build/cmocka.o"
	cp "$src"/include/cmocka*.h "$prefix/include/"
	cat >"$prefix/lib/pkgconfig/cmocka.pc" <<EOF
prefix=\${pcfiledir}/../..
Name: cmocka
Description: The cmocka unit testing library (static, for $triple)
Version: ${version:-1.1.5}
Libs: -L\${prefix}/lib -lcmocka
Cflags: -I\${prefix}/include
EOF
}

src=$(cmocka_source)
echo "cmocka source: $src"

failed=()
for arch in $ARCHES; do
	triple=$(triple_of "$arch")
	echo
	echo "=== cross: $arch ($triple) ==="
	start=$SECONDS
	B=$ROOT/build-cross-$arch
	prefix=$CM/$arch
	if [ ! -f "$prefix/lib/libcmocka.a" ]; then
		build_cmocka "$triple" "$src" "$prefix"
		rm -f "$B/CMakeCache.txt" # pkg-config's answers are cached there
	fi
	mkdir -p "$B"
	cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchains/$triple.cmake" \
		-DMS_CROSS_EXTRA_ROOT="$prefix" >"$B/ms-configure.log" 2>&1 ||
		{ cat "$B/ms-configure.log"; failed+=("$arch (configure)"); continue; }
	if ! cmake --build "$B" -j "$JOBS" >"$B/ms-build.log" 2>&1; then
		grep -E 'error|warning' "$B/ms-build.log" | head -60
		failed+=("$arch (build)")
		continue
	fi
	# The tests' own timeouts are set for native speed: scale them for
	# emulation (ctest --timeout only sets a default).
	find "$B" -name CTestTestfile.cmake -exec python3 -c '
import re, sys
for p in sys.argv[2:]:
    s = open(p).read()
    t = re.sub(r"TIMEOUT \"([0-9.]+)\"",
               lambda m: "TIMEOUT \"%g\"" % (float(m.group(1)) * float(sys.argv[1])), s)
    if t != s:
        open(p, "w").write(t)
' "$TIMEOUT_SCALE" {} +
	emu=("$(qemu_of "$arch")" -L "/usr/$triple")
	# Tests whose script starts a built program (the conformance suite's
	# `cmake -P replay.cmake`) run apart, with the emulator put in front of
	# that program; ctest runs the rest, prefixing the emulator itself.
	scripted=$(python3 tests/cross/run_script_tests.py "$B" --exclude "$EXCLUDE" --list)
	exclude=$EXCLUDE
	if [ -n "$scripted" ]; then
		exclude="$exclude|^($(sed 's/\./\\./g' <<<"$scripted" | paste -sd'|'))\$"
	fi
	echo "built in $((SECONDS - start))s; ctest under ${emu[*]}"
	if ! (cd "$B" && MS_REL_SCALE=${MS_REL_SCALE:-0.05} \
		ctest --output-on-failure -j "$JOBS" --timeout "$TIMEOUT" -E "$exclude"); then
		failed+=("$arch (tests)")
	fi
	if [ -n "$scripted" ]; then
		echo "--- $arch: $(wc -l <<<"$scripted") script-driven tests under ${emu[*]}"
		if ! MS_REL_SCALE=${MS_REL_SCALE:-0.05} \
			python3 tests/cross/run_script_tests.py "$B" --exclude "$EXCLUDE" --run "${emu[@]}"; then
			failed+=("$arch (script tests)")
		fi
	fi
	echo "=== cross: $arch done in $((SECONDS - start))s ==="
done

echo
if [ "${#failed[@]}" -gt 0 ]; then
	echo "cross: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "cross: every architecture passed ($ARCHES)"
