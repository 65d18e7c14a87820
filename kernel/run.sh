#!/bin/sh
# Boot a kernel image under QEMU. Usage: run.sh QEMU IMAGE TIMEOUT [PROGRAM...]
# With programs named, the run passes only if the console shows "PASS NAME"
# for each of them, the kernel's final line reports no failure, and all of
# it happens within TIMEOUT seconds; the console text is shown either way.
qemu=$1 image=$2 limit=$3
shift 3
log=${image%.bin}.log

timeout "$limit" "$qemu" -machine virt -bios default -m 64M -smp 1 \
	-nographic -no-reboot -kernel "$image" </dev/null | tr -d '\r' >"$log"
rc=$?
cat "$log"
[ $# -eq 0 ] && exit 0

fail=0
if ! grep -q '^kernel: .* programs run, 0 failed$' "$log"; then
	echo "kernel-test: the kernel did not finish cleanly (hang after ${limit}s, panic, or a failure)"
	fail=1
fi
for p in "$@"; do
	if grep -q "^PASS $p\$" "$log"; then
		:
	elif grep -q "^FAIL $p" "$log"; then
		echo "kernel-test: $p failed: $(grep "^FAIL $p" "$log")"
		fail=1
	else
		echo "kernel-test: no result line for $p"
		fail=1
	fi
done
[ "$fail" = 0 ] && echo "kernel-test: all $# programs passed"
exit $fail
