#!/bin/sh
# kernel/linux/tap-check.sh, the selftests' pass rule, on outputs written
# here: it accepts a clean run with the expected counts and rejects each
# way a run can be wrong (each case below once made a bad run look good in
# a looser checker).
check=${1:-$(dirname "$0")/../../kernel/linux/tap-check.sh}
failures=0
in=$(mktemp)
trap 'rm -f "$in"' EXIT

good() {
	printf 'TAP version 13\n1..5\nok 1 a\nok 2 b\nok 3 # XFAIL c\nok 4 d\nok 5 # SKIP e\n'
	printf '# Totals: pass:3 fail:0 xfail:1 xpass:0 skip:1 error:0\n'
}

# expect VERDICT WHY STATUS PASS XFAIL SKIP: run the checker on the text
# in $in (not in a pipeline, so that the count of failures survives).
expect() {
	want=$1 why=$2
	shift 2
	out=$(sh "$check" t "$@" "$in")
	rc=$?
	if [ "$want" = ok ] && [ $rc -eq 0 ] && [ "${out#ok t}" != "$out" ]; then
		return
	fi
	if [ "$want" = fail ] && [ $rc -eq 1 ] && [ "${out#FAIL t: }" != "$out" ]; then
		return
	fi
	echo "tap_check: $why: got \"$out\" (exit $rc), wanted $want"
	failures=$((failures + 1))
}

good >"$in"
expect ok "a clean run" 0 3 1 1
good >"$in"
expect fail "another pass count" 0 4 1 1
good >"$in"
expect fail "another xfail count" 0 3 0 1
good >"$in"
expect fail "another skip count" 0 3 1 0
good >"$in"
expect fail "a non-zero exit" 1 3 1 1
good >"$in"
expect fail "killed" killed 3 1 1
{ good; echo 'Bail out! something broke'; } >"$in"
expect fail "a bail out" 0 3 1 1
good | sed 's/fail:0/fail:1/' >"$in"
expect fail "a failure" 0 3 1 1
good | sed 's/error:0/error:1/' >"$in"
expect fail "an error" 0 3 1 1
good | sed 's/xpass:0/xpass:1/' >"$in"
expect fail "an unexpected pass" 0 3 1 1
good | grep -v Totals >"$in"
expect fail "no Totals line" 0 3 1 1
{ good; good | tail -1; } >"$in"
expect fail "two Totals lines" 0 3 1 1
good | sed 's/^1\.\.5/1..6/' >"$in"
expect fail "fewer tests than planned" 0 3 1 1
good | grep -v '^1\.\.' >"$in"
expect fail "no plan" 0 3 1 1
good | sed 's/ skip:1//' >"$in"
expect fail "a count missing" 0 3 1 1
printf '' >"$in"
expect fail "no output" 0 0 0 0
# A kernel console: the program's lines among others, with carriage returns
# stripped by the caller; lines of other programs do not count here.
{ echo 'kernel: running t'; good; echo 'PASS t'; } >"$in"
expect ok "among other lines" 0 3 1 1

if [ $failures -ne 0 ]; then
	echo "tap_check: $failures cases wrong"
	exit 1
fi
echo "tap_check: 17 cases right"
