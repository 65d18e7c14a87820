#!/bin/sh
# The demo (make demo): replay the address space of a real program through
# memory_set and show how it ends, the way /proc/PID/maps shows one.
# The listing is replayed with merging on, as Linux merges touching areas
# with equal rights; the checks run the trace as recorded (merging off).
#
#   sh examples/demo.sh [BUILD_DIR [TRACE]]
#
# TRACE defaults to node's, recorded with strace on Debian 12. Set ALL=1 to
# list every area instead of the first and last ones.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
trace=${2:-$root/tests/conformance/traces/node.trace}
replay=$build/bin/ms-replay
expected=${trace%.trace}.out

if [ ! -x "$replay" ]; then
	echo "demo: $replay not found; build first (make)" >&2
	exit 1
fi

# The trace's first line says where it comes from.
about=$(sed -n '1s/^# *//p' "$trace")
echo "Replaying $(basename "$trace"): ${about:-a memory-set trace}"
echo

# The listing, merging on.
maps=$({ echo "merge on"; cat "$trace"; } | "$replay" --maps -)
n=$(printf '%s\n' "$maps" | awk 'NF { n++ } END { print n + 0 }')
echo "Final address space, merging on as in /proc/PID/maps: $n areas"
echo "  columns: start-end, permissions (r read, w write, x execute, p private"
echo "  or s shared), offset, device and inode (0: the trace names no files),"
echo "  size, backing (file or anon)"
printf '%s\n' "$maps" | awk -v all="${ALL:-0}" '
	{ line[NR] = $0 }
	END {
		for (i = 1; i <= NR; i++) {
			if (all != 1 && NR > 30 && i > 15 && i <= NR - 10) {
				if (i == 16)
					printf "  ... %d more areas ...\n", NR - 25
				continue
			}
			print "  " line[i]
		}
	}'
echo

# The trace as recorded (merging off, so touching areas stay apart): its
# output compared with the reference model's, then run against a shadow
# page table, then timed.
stats=$("$replay" --quiet "$trace" 2>&1 >/dev/null)
echo "$stats" | awk '{ printf "The trace as recorded, merging off: %d operations, %d areas at the end.\n", $2, $8 }'
if [ -f "$expected" ]; then
	if "$replay" "$trace" | cmp -s - "$expected"; then
		echo "  Output identical to the reference model (tools/reftrace.py)."
	else
		echo "Output DIFFERS from the reference model: see $expected" >&2
		exit 1
	fi
fi
"$replay" --check "$trace" > /dev/null
echo "  Set and shadow page table agree after every operation (--check)."
echo "$stats" | awk '{ printf "  %.0f ns per operation.\n", $6 }'
