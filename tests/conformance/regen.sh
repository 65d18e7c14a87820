#!/bin/sh
# Rebuild the synthetic traces and every expected output with the reference
# model. Needs python3; the tests themselves do not.
#
#   sh tests/conformance/regen.sh
#
# NAME.trace gets NAME.out (its standard output); a malformed bad-*.trace gets
# NAME.err (the reference's message, which names the line).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tools=$here/../../tools
cd "$here/traces"

gen() { # name, then gentrace.py arguments
	name=$1
	shift
	python3 "$tools/gentrace.py" "$@" > "$name.trace"
}
gen gen-mixed-1 --areas 500 --ops 5000 --mix mixed --seed 1
gen gen-mixed-7 --areas 50 --ops 3000 --mix mixed --seed 7
gen gen-fault-2 --areas 2000 --ops 5000 --mix fault --seed 2
gen gen-churn-3 --areas 300 --ops 5000 --mix churn --seed 3
gen gen-churn-4 --areas 20 --ops 3000 --mix churn --seed 4
# Merging: on from the start, and turned on over an existing population.
gen gen-churn-merge-5 --areas 300 --ops 4000 --mix churn --seed 5
sed -i '3i merge on' gen-churn-merge-5.trace
gen gen-mixed-merge-6 --areas 400 --ops 4000 --mix mixed --seed 6
sed -i '1500i merge on' gen-mixed-merge-6.trace
sed -i '3000i merge off' gen-mixed-merge-6.trace
sed -i '$a dump' gen-mixed-merge-6.trace
# The kernel's operations (remap, strict forms, access, gaps, dup) under an
# area limit: a roomy one, a tight one reached early, and with merging.
gen gen-kernel-8 --areas 200 --ops 3000 --mix kernel --seed 8
gen gen-kernel-9 --areas 30 --ops 3000 --mix kernel --seed 9
gen gen-kernel-merge-10 --areas 300 --ops 3000 --mix kernel --seed 10
sed -i '3i merge on' gen-kernel-merge-10.trace
sed -i '$a dump' gen-kernel-merge-10.trace
gen gen-remap-11 --areas 100 --ops 2000 --mix remap --seed 11

for t in *.trace; do
	name=${t%.trace}
	rm -f "$name.out" "$name.err"
	if python3 "$tools/reftrace.py" "$t" > "$name.out" 2> "$name.err"; then
		rm "$name.err"
	else
		case $name in
		bad-*) rm "$name.out" ;;
		*) echo "regen.sh: $t fails in the reference" >&2; exit 1 ;;
		esac
	fi
	case $name in
	bad-*) [ -f "$name.err" ] || { echo "regen.sh: $t should fail" >&2; exit 1; } ;;
	esac
done
