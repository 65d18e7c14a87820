#!/bin/sh
# Break the kernel on purpose, one way at a time, and check that its tests
# catch each break quickly and say what failed: a FAIL line, not the time
# limit. Each mutation is a sed script applied to a copy of kernel/; the
# tree itself is never changed.
#
#   tests/kernel/mutations.sh            every mutation
#   tests/kernel/mutations.sh NAME...    only these
#
# Needs what `make kernel-test` needs (riscv64-linux-gnu-gcc,
# qemu-system-riscv64); a few seconds per mutation after one build and run
# of the unchanged kernel. Exits 1 if a mutation goes unnoticed, is caught
# only by the time limit (TIMEOUT, default 60 s, as `make kernel-test`), or
# no longer applies: its sed script changed nothing because the code moved.
# Then write the same break again for the new code: what each one breaks
# (the list's last column) is behaviour, whatever the kernel's shape.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
limit=${TIMEOUT:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# name, file under kernel/, sed script, what it breaks
mutations() {
	m protect-fence vm.c '/^static enum mapping_error anon_protect(/,/^}/{/sfence_vma();/d}' \
		"mprotect leaves stale TLB entries"
	m unmap-fence vm.c '/^static enum mapping_error anon_unmap(/,/^}/{/sfence_vma();/d}' \
		"munmap leaves stale TLB entries"
	m dup-fence vm.c '/^static enum mapping_error anon_dup(/,/^}/{/sfence_vma();/d}' \
		"fork leaves the parent's writable TLB entries"
	m move-fence vm.c '/^static enum mapping_error anon_move(/,/^}/{/sfence_vma();/d}' \
		"mremap leaves the old range's TLB entries"
	m copy-write-check vm.c 's/(to_user ? PTE_W : PTE_R)/PTE_R/' \
		"the kernel's copies write read-only and shared pages"
	m fault-check vm.c '/(allowed & access) != access/,+1d' \
		"the fault hook allows every access"
	m fault-exec vm.c 's/ | MAPPING_ACCESS_EXEC;$/;/' \
		"the fault hook ignores instruction fetches"
	m fault-read-as-write vm.c 's/if (allowed & PROT_WRITE)$/if (allowed \& PROT_READ)/; s/allowed |= PROT_READ;/allowed |= PROT_WRITE;/' \
		"the fault hook lets read permission write"
	m leaf-exec vm.c 's/perm |= PTE_X;/perm |= 0;/' \
		"no page is executable"
	m leaf-shared-writable vm.c '/if (frame_refs(pa) > 1)$/,+1d' \
		"shared frames are mapped writable"
	m cow-in-place vm.c 's/if (frame_refs(old) > 1) {/if (0) {/' \
		"the copy-on-write break keeps the shared frame"
	m munmap-noop syscall.c 's/return err(memory_set_unmap(/return 0 \&\& err(memory_set_unmap(/' \
		"munmap unmaps nothing"
	m mprotect-noop syscall.c 's/return err(memory_set_protect_flags_strict(/return 0 \&\& err(memory_set_protect_flags_strict(/' \
		"mprotect changes nothing"
}

wanted() {
	for w in $selected; do [ "$w" = "$1" ] && return 0; done
	return 1
}

selected="$*"
mkdir "$work/tree"
cp -a "$root/kernel" "$work/tree/kernel"
ln -s "$root/src" "$work/tree/src"
ln -s "$root/include" "$work/tree/include"
echo "mutations: the unchanged kernel first"
if ! make -s -j2 -C "$work/tree/kernel" test O="$work/base" TIMEOUT="$limit" \
	>"$work/base.log" 2>&1; then
	cat "$work/base.log"
	echo "mutations: the unchanged kernel fails its tests"
	exit 1
fi

bad=0
m() {
	name=$1 file=$2 script=$3 what=$4
	[ -z "$selected" ] || wanted "$name" || return 0
	rm -rf "$work/m" "$work/out"
	cp -a "$work/tree" "$work/m"
	cp -a "$work/base" "$work/out"
	sed -i -e "$script" "$work/m/kernel/$file"
	if cmp -s "$root/kernel/$file" "$work/m/kernel/$file"; then
		echo "STALE   $name: the sed script changes nothing in kernel/$file"
		bad=1
		return 0
	fi
	if ! make -s -j2 -C "$work/m/kernel" O="$work/out" >"$work/log" 2>&1; then
		echo "BROKEN  $name: the mutated kernel does not build"
		sed 's/^/          /' "$work/log"
		bad=1
		return 0
	fi
	start=$(date +%s)
	if make -s -C "$work/m/kernel" test O="$work/out" TIMEOUT="$limit" \
		>"$work/log" 2>&1; then
		echo "MISSED  $name ($what): every test passed"
		bad=1
	elif grep -aq '^kernel-test: timed out' "$work/log"; then
		echo "HANG    $name ($what): caught only by the ${limit} s limit"
		bad=1
	else
		echo "caught  $name ($what) in $(($(date +%s) - start)) s:"
		grep -a '^kernel-test: ' "$work/log" | head -3 | sed 's/^/          /'
	fi
}
mutations
exit $bad
