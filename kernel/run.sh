#!/bin/sh
# Boot a kernel image under QEMU. Usage: run.sh QEMU IMAGE RAM_MB TIMEOUT [PROGRAM...]
# With programs named, the run passes only if the console shows "PASS NAME"
# for each of them, the kernel's final line reports no failure, and all of
# it happens within TIMEOUT seconds; the console text is shown either way,
# then a summary: a hang or a panic, and each failed program with its first
# failed checks (the lines "NAME: check failed...").
#
# A program listed in TAP_TABLE (kernel/linux/selftests.txt: name, pass,
# xfail, skip) is one of Linux's selftests: its output, from the kernel's
# "kernel: running NAME" to its result line, and its exit status must also
# pass TAP_CHECK (kernel/linux/tap-check.sh), the selftests' pass rule.
qemu=$1 image=$2 ram=$3 limit=$4
shift 4
log=${image%.bin}.log

{
	timeout "$limit" "$qemu" -machine virt -bios default -m "${ram}M" -smp 1 \
		-nographic -no-reboot -kernel "$image" </dev/null
	echo $? >"$log.rc"
} | tr -d '\r' >"$log"
rc=$(cat "$log.rc")
rm -f "$log.rc"
cat "$log"
[ $# -eq 0 ] && exit 0

fail=0
if [ "$rc" = 124 ]; then
	echo "kernel-test: timed out: no end after ${limit}s (a hang)"
	fail=1
elif grep -aq '^panic: ' "$log"; then
	echo "kernel-test: the kernel stopped: $(grep -a -m1 '^panic: ' "$log")"
	fail=1
elif ! grep -aq '^kernel: .* programs run, ' "$log"; then
	echo "kernel-test: the kernel stopped before its last line (QEMU: $rc)"
	fail=1
elif ! grep -aq '^kernel: .* programs run, 0 failed$' "$log"; then
	fail=1 # the programs' lines below say which
fi
for p in "$@"; do
	if grep -aq "^PASS $p\$" "$log"; then
		:
	elif grep -aq "^FAIL $p" "$log"; then
		echo "kernel-test: $p failed: $(grep -a "^FAIL $p" "$log")"
		grep -a "^$p: check failed" "$log" | head -5 | sed 's/^/kernel-test:   /'
		fail=1
	else
		echo "kernel-test: no result line for $p"
		fail=1
	fi
done
# The selftests' pass rule, on each one's slice of the console.
if [ -n "${TAP_TABLE:-}" ]; then
	while read -r name pass xfail skip rest; do
		case $name in ''|'#'*) continue ;; esac
		for p in "$@"; do [ "$p" = "$name" ] || continue
			result=$(grep -a -m1 "^\(PASS\|FAIL\) $name\b" "$log")
			case $result in
			"") continue ;; # never ran: said above
			"PASS $name") status=0 ;;
			"FAIL $name: exit "*) status=${result##* } ;;
			*) status="ended: $result" ;;
			esac
			sed -n "/^kernel: running $name\$/,/^\(PASS\|FAIL\) $name\b/p" "$log" \
				>"$log.$name"
			if ! line=$(sh "$TAP_CHECK" "$name" "$status" "$pass" "$xfail" \
				"$skip" "$log.$name"); then
				fail=1
			fi
			echo "kernel-test: $line"
			rm -f "$log.$name"
		done
	done <"$TAP_TABLE"
fi
[ "$fail" = 0 ] && echo "kernel-test: all $# programs passed"
exit $fail
