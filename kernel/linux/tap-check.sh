#!/bin/sh
# The pass rule for a Linux selftest: check one program's TAP output and
# exit status. Usage:
#
#   tap-check.sh NAME STATUS PASS XFAIL SKIP [LOG]
#
# LOG (default: standard input) is what the program printed; STATUS its
# exit status (a number; anything else, e.g. "killed", fails). It passes
# only if the program exited 0, printed no "Bail out!", printed exactly one
# plan line 1..N and exactly one "# Totals:" line, and the Totals say
# fail:0 xpass:0 error:0, pass PASS, xfail XFAIL, skip SKIP, adding up to N.
# Prints one line, "ok NAME ..." or "FAIL NAME: why", and exits 0 or 1.
[ $# -ge 5 ] || { echo "usage: tap-check.sh NAME STATUS PASS XFAIL SKIP [LOG]" >&2; exit 2; }
name=$1 status=$2 pass=$3 xfail=$4 skip=$5
log=${6:--}

awk -v name="$name" -v status="$status" -v want_pass="$pass" \
    -v want_xfail="$xfail" -v want_skip="$skip" '
function fail(why) { printf "FAIL %s: %s\n", name, why; exit 1 }
/^Bail out!/ { bail = bail ? bail : $0 }
/^1\.\.[0-9]+/ { plans++; split($1, p, "\\.\\."); planned = p[2] + 0 }
/^# Totals: / {
	totals++
	line = $0
	for (i = 3; i <= NF; i++) {
		split($i, kv, ":")
		count[kv[1]] = kv[2]
		seen[kv[1]] = 1
	}
}
END {
	if (status !~ /^[0-9]+$/)
		fail("did not exit (" status ")")
	if (bail != "")
		fail(bail)
	if (status != 0)
		fail("exit status " status)
	if (plans != 1)
		fail(plans + 0 " plan lines (1..N), not 1")
	if (totals != 1)
		fail(totals + 0 " Totals lines, not 1")
	split("pass fail xfail xpass skip error", keys, " ")
	for (k in keys)
		if (!seen[keys[k]] || count[keys[k]] !~ /^[0-9]+$/)
			fail("no " keys[k] " count in \"" line "\"")
	if (count["fail"] || count["error"] || count["xpass"])
		fail("\"" line "\"")
	if (count["pass"] != want_pass || count["xfail"] != want_xfail ||
	    count["skip"] != want_skip)
		fail("\"" line "\", expected pass:" want_pass " xfail:" \
		     want_xfail " skip:" want_skip)
	if (count["pass"] + count["xfail"] + count["skip"] != planned)
		fail("planned " planned " tests, the Totals add up to " \
		     count["pass"] + count["xfail"] + count["skip"])
	printf "ok %s: pass:%d xfail:%d skip:%d\n", name, count["pass"],
	       count["xfail"], count["skip"]
}' "$log"
