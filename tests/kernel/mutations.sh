#!/bin/sh
# Break the kernel on purpose, one way at a time, and check that its tests
# catch each break quickly and say what failed: a FAIL line, not the time
# limit. Each mutation is a sed script applied to a copy of kernel/ and
# src/ (the kernel's memory manager is the address-space layer, so some
# of what the kernel promises is the layer's code); the tree itself is
# never changed.
#
#   tests/kernel/mutations.sh            every mutation
#   tests/kernel/mutations.sh NAME...    only these
#
# Needs what `make kernel-test` needs (riscv64-linux-gnu-gcc, glibc for
# riscv64, qemu-system-riscv64, linux-source-6.12); one build and run of
# the unchanged kernel, then for each mutation a rebuild and a run that
# stops at the first program that fails (STOP_AT_FAIL=1). Exits 1 if a
# mutation goes unnoticed, is caught only by the time limit (TIMEOUT,
# default 600 s), or no longer applies: its sed script changed nothing
# because the code moved. Then write the same break again for the new
# code: what each one breaks (the list's last column) is behaviour,
# whatever the code's shape.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
limit=${TIMEOUT:-600}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# name, file, sed script, what it breaks
mutations() {
	# The TLB: each change that narrows or removes rights is flushed.
	m protect-fence src/aspace.c '/^static enum mapping_error hk_protect(/,/^}/{/aspace_flush(/d}' \
		"mprotect leaves stale TLB entries"
	m unmap-fence src/aspace_pages.c '/^static void zap_batch(/,/^}/{/aspace_flush(/d}' \
		"munmap leaves stale TLB entries"
	m dup-fence src/aspace_fork.c '/^static void protect_shared(/,/^}/{s/aspace_flush(as, a->start, a->size);/(void)as;/}' \
		"fork leaves the parent's writable TLB entries"
	m move-fence src/aspace_pages.c '/^void aspace_move_entries(/,/^}/{/aspace_flush(/d}' \
		"mremap leaves the old range's TLB entries"
	m flush-nothing kernel/vm.c '/^static void hk_tlb_flush(/,/^}/{/sfence_vma();/d;s/vm_fence_page(at);/continue;/}' \
		"the host's TLB flush flushes nothing"
	# Rights: the kernel's copies and the page faults obey the areas.
	m copy-write-check src/aspace_uaccess.c 's/access == ASPACE_ACCESS_WRITE ? ASPACE_PTE_WRITE :/access == ASPACE_ACCESS_WRITE ? ASPACE_PTE_READ :/' \
		"the kernel's copies write read-only and shared pages"
	m fault-check src/aspace_fault.c 's/if (!allowed(as, a->flags, access))/if (0 \&\& !allowed(as, a->flags, access))/' \
		"the fault path allows every access"
	m fault-exec src/aspace_fault.c '/^static bool allowed(/,/^}/{/ASPACE_ACCESS_EXEC) && !(flags/,+1d}' \
		"the fault path ignores instruction fetches"
	m fault-read-as-write src/aspace_fault.c 's/(access & ASPACE_ACCESS_WRITE) && !(flags & ASPACE_VM_WRITE)/(access \& ASPACE_ACCESS_WRITE) \&\& !(flags \& (ASPACE_VM_WRITE | ASPACE_VM_READ))/' \
		"the fault path lets read permission write"
	m leaf-exec kernel/vm.c 's/perm |= PTE_X;/perm |= 0;/' \
		"no page is executable"
	# Copy-on-write.
	m shared-writable src/aspace_fork.c 's/cr = private ? rights & ~ASPACE_PTE_WRITE : rights;/cr = private ? rights : rights;/' \
		"fork maps the shared frames writable in the child"
	m cow-in-place src/aspace_fault.c 's/if (as->ops->frame_refs(as->ctx, old) == 1) {/if (1) {/' \
		"the copy-on-write break keeps the shared frame"
	# The calls themselves.
	m munmap-noop src/aspace_mmap.c '/^int aspace_munmap(/,/^}/{s/return aspace_unmap(as, addr, end);/return 0;/}' \
		"munmap unmaps nothing"
	m mprotect-noop src/aspace_mmap.c '/^int aspace_mprotect(/,/^}/{s/return aspace_change_range(as, addr, end, &c);/return 0;/}' \
		"mprotect changes nothing"
	# mremap and mseal as Linux's selftests check them.
	m mremap-dontunmap-unmaps src/aspace_remap.c 's/if (!dontunmap)$/if (!dontunmap || 1)/' \
		"MREMAP_DONTUNMAP unmaps the old range"
	m mremap-overlap src/aspace_remap.c '/^static int check_params(/,/^}/{/if (r->addr + r->old_len > r->new_addr &&/,+2d}' \
		"mremap moves a range onto itself"
	m mseal-noop src/aspace_madvise.c 's/struct as_change c = { AS_F_SEALED, 0, false };/struct as_change c = { 0, 0, false };/' \
		"mseal seals nothing"
	m munmap-sealed src/aspace_mmap.c '/^int aspace_munmap(/,/^}/{/if (aspace_range_sealed(as, addr, end))/,+1d}' \
		"munmap unmaps sealed areas"
}

wanted() {
	for w in $selected; do [ "$w" = "$1" ] && return 0; done
	return 1
}

selected="$*"
mkdir "$work/tree"
cp -a "$root/kernel" "$root/src" "$work/tree/"
ln -s "$root/include" "$work/tree/include"
echo "mutations: the unchanged kernel first"
if ! make -s -j2 -C "$work/tree/kernel" test O="$work/base" TIMEOUT="$limit" \
	STOP_AT_FAIL=1 >"$work/base.log" 2>&1; then
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
	sed -i -e "$script" "$work/m/$file"
	if cmp -s "$root/$file" "$work/m/$file"; then
		echo "STALE   $name: the sed script changes nothing in $file"
		bad=1
		return 0
	fi
	if ! make -s -j2 -C "$work/m/kernel" O="$work/out" STOP_AT_FAIL=1 \
		>"$work/log" 2>&1; then
		echo "BROKEN  $name: the mutated kernel does not build"
		sed 's/^/          /' "$work/log"
		bad=1
		return 0
	fi
	start=$(date +%s)
	if make -s -C "$work/m/kernel" test O="$work/out" TIMEOUT="$limit" \
		STOP_AT_FAIL=1 >"$work/log" 2>&1; then
		echo "MISSED  $name ($what): every test passed"
		bad=1
	elif grep -aq '^kernel-test: timed out' "$work/log"; then
		echo "HANG    $name ($what): caught only by the ${limit} s limit"
		bad=1
	else
		echo "caught  $name ($what) in $(($(date +%s) - start)) s:"
		grep -a '^kernel-test: ' "$work/log" |
			head -3 | sed 's/^/          /'
	fi
}
mutations
exit $bad
