#!/usr/bin/env bash
# The kernel drop-in check: copy exactly the files of kernel-files.txt (the
# list docs/kernel.md gives) into an empty tree, compile them alone,
# freestanding, for every kernel target, link each target's objects into one
# relocatable object (ld -r) and check with nm that nothing is undefined
# beyond memcpy, memset, memmove and memcmp, and that every global symbol it
# defines starts with memory_set_ or mapping_.
#
# Usage: tests/freestanding/check.sh [ROOT]
#   ROOT                   tree holding the files (default: this repository)
#   MS_FREESTANDING_OUT    work folder (default: ROOT/build-freestanding)
#   MS_FREESTANDING_STRICT 1: a missing compiler fails (default: 1 under CI)
#
# Each file is compiled with -nostdinc: only the compiler's own freestanding
# headers (stddef.h, stdint.h, stdbool.h, limits.h, ...) and the four-function
# string.h of tests/freestanding/include are visible, as in a kernel tree.
# Compilers: gcc and Debian's cross gcc (x86_64, aarch64, riscv64, i686,
# armhf), and clang for the same targets as bare-metal ELF (*-none-elf).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "${1:-$HERE/../..}" && pwd)
OUT=${MS_FREESTANDING_OUT:-$ROOT/build-freestanding}
STRICT=${MS_FREESTANDING_STRICT:-$([ -n "${CI:-}" ] && echo 1 || echo 0)}
ALLOWED='^(memcpy|memset|memmove|memcmp)$'
PREFIXES='^(memory_set_|mapping_)'
# Helpers a compiler calls for 64-bit arithmetic on 32-bit targets (libgcc or
# compiler-rt): kernels such as Linux do not link them.
HELPERS='^(__(u)?(div|mod)di3|__udivmoddi4|__divmoddi4|__aeabi_(u)?ldivmod|__aeabi_l(lsl|lsr|asr)|__(ash|lsh)(l|r)di3|__(clz|ctz|ffs|popcount|parity)(s|d)i2|__mul(d|s)i3|__bswap(s|d)i2)$'

COMMON=(-std=c11 -ffreestanding -nostdlib -fno-builtin -fno-stack-protector
	-Wall -Wextra -Werror -O2)

# name | compiler | target flags | linker (ld -r) | nm
TARGETS=(
	"x86_64-gcc|gcc|-m64 -mno-red-zone -mcmodel=kernel -mgeneral-regs-only -fno-pic|ld|nm"
	"aarch64-gcc|aarch64-linux-gnu-gcc|-mgeneral-regs-only -fno-pic|aarch64-linux-gnu-ld|aarch64-linux-gnu-nm"
	"riscv64-gcc|riscv64-linux-gnu-gcc|-march=rv64imac -mabi=lp64 -mcmodel=medany -fno-pic|riscv64-linux-gnu-ld|riscv64-linux-gnu-nm"
	"i686-gcc|i686-linux-gnu-gcc|-m32 -mgeneral-regs-only -fno-pic|i686-linux-gnu-ld|i686-linux-gnu-nm"
	"armhf-gcc|arm-linux-gnueabihf-gcc|-marm -mfloat-abi=soft -fno-pic|arm-linux-gnueabihf-ld|arm-linux-gnueabihf-nm"
	"x86_64-clang|clang|--target=x86_64-unknown-none-elf -mno-red-zone -mcmodel=kernel -mgeneral-regs-only -fno-pic|ld.lld|llvm-nm"
	"aarch64-clang|clang|--target=aarch64-unknown-none-elf -mgeneral-regs-only -fno-pic|ld.lld|llvm-nm"
	"riscv64-clang|clang|--target=riscv64-unknown-elf -march=rv64imac -mabi=lp64 -mcmodel=medany -fno-pic|ld.lld|llvm-nm"
	"i686-clang|clang|--target=i686-unknown-none-elf -mgeneral-regs-only -fno-pic|ld.lld|llvm-nm"
	"armv7-clang|clang|--target=armv7a-unknown-none-eabi -mfloat-abi=soft -fno-pic|ld.lld|llvm-nm"
)

# The kernel tree of a list file: the files it names (globs; a line
# starting with ! removes what its glob matches) and nothing else.
make_tree() {
	local kt=$1 list patterns excluded f
	shift
	rm -rf "$kt"
	mkdir -p "$kt/include/memory_set" "$kt/lib/memory_set"
	ncopied=0
	for list in "$@"; do
		excluded=()
		while read -r pattern; do
			case "$pattern" in '!'*)
				shopt -s nullglob
				# shellcheck disable=SC2206
				excluded+=($ROOT/${pattern#!})
				shopt -u nullglob ;;
			esac
		done <"$list"
		while read -r pattern; do
			case "$pattern" in '' | '#'* | '!'*) continue ;; esac
			shopt -s nullglob
			# shellcheck disable=SC2206
			files=($ROOT/$pattern)
			shopt -u nullglob
			for f in "${files[@]}"; do
				[[ " ${excluded[*]} " == *" $f "* ]] && continue
				case "$pattern" in
				include/memory_set/*) cp "$f" "$kt/include/memory_set/" ;;
				*) cp "$f" "$kt/lib/memory_set/" ;;
				esac
				ncopied=$((ncopied + 1))
			done
		done <"$list"
	done
}

failed=0
skipped=0
summary=()

# check_tree NAME PREFIXES LIST...: build the tree of the lists for every
# target, link, and check the undefined and the global symbols.
check_tree() {
	local tname=$1 prefixes=$2
	shift 2
	local KT=$OUT/$tname-tree
	make_tree "$KT" "$@"
	SOURCES=("$KT"/lib/memory_set/*.c)
	if [ ! -e "${SOURCES[0]}" ]; then
		echo "freestanding: no source file under $ROOT/src" >&2
		exit 1
	fi
	echo "$tname tree: $ncopied files copied from $(basename -a "$@" | tr '\n' ' ')"
	(cd "$KT" && find . -type f | sort | sed 's/^/  /')
	summary+=("$tname:")
	# 2. Each target.
	for t in "${TARGETS[@]}"; do
		IFS='|' read -r name cc tflags ld nm <<<"$t"
		missing=
		for tool in "$cc" "$ld" "$nm"; do
			command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
		done
		if [ -n "$missing" ]; then
			summary+=("$(printf '  %-14s SKIPPED (not installed:%s)' "$name" "$missing")")
			skipped=$((skipped + 1))
			continue
		fi
		# shellcheck disable=SC2206
		tf=($tflags)
		# The compiler's own headers only (plus gcc's include-fixed for limits.h).
		sysinc=(-nostdinc -isystem "$HERE/include" -idirafter "$HERE/include-next")
		if [ "$cc" = clang ]; then
			sysinc+=(-isystem "$(clang -print-resource-dir)/include")
		else
			sysinc+=(-isystem "$("$cc" -print-file-name=include)")
			fixed=$("$cc" -print-file-name=include-fixed)
			[ -d "$fixed" ] && sysinc+=(-isystem "$fixed")
		fi
		dir=$OUT/$tname-$name
		mkdir -p "$dir"
		# gcc reports each function's stack frame (kernel stacks are small).
		[ "$cc" != clang ] && tf+=(-fstack-usage)
		ok=1
		objs=()
		for src in "${SOURCES[@]}"; do
			obj=$dir/$(basename "${src%.c}").o
			if ! "$cc" "${COMMON[@]}" "${tf[@]}" "${sysinc[@]}" -I"$KT/include" \
				-c "$src" -o "$obj" 2>"$dir/errors.txt"; then
				echo "== $name: $(basename "$src") does not compile:"
				sed 's/^/  /' "$dir/errors.txt" | head -40
				ok=0
			fi
			objs+=("$obj")
		done
		if [ "$ok" = 1 ] && ! "$ld" -r -o "$dir/combined.o" "${objs[@]}" 2>"$dir/errors.txt"; then
			echo "== $name: ld -r failed (a symbol defined twice?):"
			sed 's/^/  /' "$dir/errors.txt"
			ok=0
		fi
		if [ "$ok" = 0 ]; then
			summary+=("$(printf '  %-14s FAILED to build' "$name")")
			failed=$((failed + 1))
			continue
		fi
		undef=$("$nm" -u "$dir/combined.o" | awk '{print $NF}' | sort -u)
		bad=$(grep -Ev "$ALLOWED" <<<"$undef" | grep -v '^$' || true)
		used=$(grep -E "$ALLOWED" <<<"$undef" | tr '\n' ' ' || true)
		used=$(echo $used)
		text=0
		while read -r _ size type _; do
			case "$type" in t | T) text=$((text + 16#$size)) ;; esac
		done < <("$nm" -S "$dir/combined.o" | awk 'NF == 4')
		if [ -n "$bad" ]; then
			echo "== $name: undefined symbols beyond memcpy/memset/memmove/memcmp:"
			while read -r s; do
				if grep -Eq "$HELPERS" <<<"$s"; then
					echo "  $s   (compiler runtime helper: 64-bit arithmetic on a 32-bit target?)"
				else
					echo "  $s"
				fi
			done <<<"$bad"
			for s in $bad; do
				for o in "${objs[@]}"; do
					"$nm" -u "$o" | awk '{print $NF}' | grep -qx "$s" &&
						echo "    $s is used by $(basename "${o%.o}").c"
				done
			done
			summary+=("$(printf '  %-14s FAILED: undefined %s' "$name" "$(echo $bad)")")
			failed=$((failed + 1))
			continue
		fi
		# A kernel links everything into one namespace: every global symbol the
		# core defines must carry the library's prefix.
		stray=$("$nm" -g --defined-only "$dir/combined.o" | awk 'NF == 3 {print $3}' |
			grep -Ev "$prefixes" || true)
		if [ -n "$stray" ]; then
			echo "== $tname $name: global symbols without a prefix of $prefixes:"
			sed 's/^/  /' <<<"$stray"
			summary+=("$(printf '  %-14s FAILED: unprefixed globals %s' "$name" "$(echo $stray)")")
			failed=$((failed + 1))
			continue
		fi
		nglobal=$("$nm" -g --defined-only "$dir/combined.o" | awk 'NF == 3' | wc -l)
		frame=
		if ls "$dir"/*.su >/dev/null 2>&1; then
			frame=$(cat "$dir"/*.su | sort -t$'\t' -k2 -n | tail -1 |
				awk -F'\t' '{n = split($1, p, ":"); printf ", largest frame %s bytes (%s)", $2, p[n]}')
		fi
		summary+=("$(printf '  %-14s ok   code %6s bytes, %3s globals, needs: %s%s' "$name" "$text" "$nglobal" "${used:-nothing}" "$frame")")
	done
}

check_tree kernel "$PREFIXES" "$HERE/kernel-files.txt"
# The address-space layer over the core, as a kernel that takes it copies.
if [ -f "$HERE/aspace-files.txt" ]; then
	check_tree aspace '^(memory_set_|mapping_|aspace_)' \
		"$HERE/kernel-files.txt" "$HERE/aspace-files.txt"
fi

echo
echo "freestanding build of the kernel files (and of the address-space layer over them), ${COMMON[*]}:"
printf '  %s\n' "${summary[@]}"
if [ "$failed" -gt 0 ]; then
	echo "freestanding: $failed target(s) failed" >&2
	exit 1
fi
if [ "$skipped" -gt 0 ] && [ "$STRICT" = 1 ]; then
	echo "freestanding: $skipped target(s) skipped, compilers missing (strict mode)" >&2
	exit 1
fi
echo "freestanding: every target clean"
