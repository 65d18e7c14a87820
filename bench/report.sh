#!/bin/sh
# Puts the tables of the last `make bench` (BUILD/bench/*.md) into
# BENCHMARKS.md, between its <!-- bench:NAME --> and <!-- /bench:NAME -->
# lines, and copies the plot to docs/bench.png. The bench itself writes only
# under BUILD; this is the one command that changes the tracked files.
#
#   sh bench/report.sh [BUILD]
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
out=$build/bench
doc=$root/BENCHMARKS.md

for t in results lookup growth api profile goals; do
	if [ ! -s "$out/$t.md" ]; then
		echo "report.sh: no $out/$t.md: run make bench first" >&2
		exit 1
	fi
done

# The run: commit, state of the core, date, load.
meta() {
	awk '{ k = $1; $1 = ""; sub(/^ /, ""); v[k] = $0 }
	END {
		core = v["core"] == "clean" ? "" : " (the core had uncommitted changes)"
		old = v["old"] == "" ? "" : sprintf(" beside the core of %s", v["old"])
		printf "Commit %s%s%s, %s, load average (1, 5, 15 min) %s at the start and %s at the end",
			v["commit"], core, old, v["date"], v["load_start"], v["load_end"]
		if (v["cpu"] != "")
			printf "; %s%s", v["cpu"], (v["caches"] == "" ? "" : " (" v["caches"] ")")
		printf ".\n"
	}' "$out/meta.txt"
}
meta > "$out/run.md"

awk -v dir="$out" '
	/^<!-- bench:[a-z]+ -->$/ {
		print
		name = $2; sub(/^bench:/, "", name)
		f = dir "/" name ".md"
		while ((getline l < f) > 0)
			print l
		close(f)
		skip = 1
		next
	}
	/^<!-- \/bench:[a-z]+ -->$/ { skip = 0 }
	!skip { print }
' "$doc" > "$doc.tmp"
mv "$doc.tmp" "$doc"
if [ -s "$out/bench.png" ]; then
	cp "$out/bench.png" "$root/docs/bench.png"
	echo "report.sh: BENCHMARKS.md and docs/bench.png updated"
else
	echo "report.sh: BENCHMARKS.md updated (no plot in $out)"
fi
