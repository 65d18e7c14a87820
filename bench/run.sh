#!/bin/sh
# The benchmark (make bench): synthetic workloads at 1k to 1M areas and the
# bundled real-program traces, each run through ms-replay --quiet and through
# the sorted-array baseline (bench/baseline.c) in the same run. Checks that
# both print the same results, prints a table (also in build/bench/results.md)
# and the goals of BENCHMARKS.md, and draws docs/bench.png.
#
#   sh bench/run.sh [BUILD]      BUILD: the CMake build directory (build)
#
# BENCH_SIZES="1000 10000" runs only those synthetic sizes. Traces are kept in
# BUILD/bench and made again only when their arguments change.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
bin=$build/bin
out=$build/bench
sizes=${BENCH_SIZES:-1000 10000 100000 1000000}
mkdir -p "$out"

for p in ms-replay baseline gentrace ms-bench; do
	if [ ! -x "$bin/$p" ]; then
		echo "run.sh: $bin/$p is missing: build first (make build)" >&2
		exit 1
	fi
done
timer=
[ -x /usr/bin/time ] && timer=/usr/bin/time

# Operations after the population: N areas get M(N) operations; at 1M the
# baseline runs a shorter trace of the same workload (each of its mutations
# moves megabytes).
ops_lib() { # areas mix
	echo 1000000
}
ops_base() { # areas mix
	case $1:$2 in
	1000000:fault) echo 200000 ;;
	1000000:*) echo 50000 ;;
	100000:churn) echo 500000 ;;
	*) echo 1000000 ;;
	esac
}

# gen FILE ARGS: a synthetic trace, unless FILE already holds it.
gen() {
	f=$1
	shift
	if [ ! -s "$f" ] || [ "$f" -ot "$bin/gentrace" ] ||
	   [ "$(head -n 1 "$f")" != "# gentrace $*" ]; then
		"$bin/gentrace" "$@" > "$f.tmp"
		mv "$f.tmp" "$f"
	fi
}

# once PROG ARGS: run with the quiet line on stderr; sets q_secs q_ops
# q_areas q_bytes q_rss (KiB, or - without /usr/bin/time).
once() {
	if [ -n "$timer" ]; then
		$timer -f %M -o "$out/rss" "$@" > /dev/null 2> "$out/quiet" ||
			{ cat "$out/quiet" >&2; exit 1; }
		q_rss=$(tail -n 1 "$out/rss")
	else
		"$@" > /dev/null 2> "$out/quiet" || { cat "$out/quiet" >&2; exit 1; }
		q_rss=-
	fi
	set -- $(awk '/^ops /{ for (i = 1; i < NF; i += 2) v[$i] = $(i + 1) }
		END { print v["secs"], v["ops"], v["areas"], (v["bytes"] == "" ? "-" : v["bytes"]) }' \
		"$out/quiet")
	q_secs=$1 q_ops=$2 q_areas=$3 q_bytes=$4
}

# best PROG ARGS: the fastest of three runs (one if a run takes over 5 s).
best() {
	once "$@"
	b_secs=$q_secs b_rss=$q_rss
	for r in 2 3; do
		awk "BEGIN { exit !($b_secs < 5) }" || break
		once "$@"
		b_secs=$(awk "BEGIN { print ($q_secs < $b_secs ? $q_secs : $b_secs) }")
	done
}

# same TRACE: do the library and the baseline print the same for TRACE?
same() {
	"$bin/ms-replay" "$1" > "$out/lib.out"
	"$bin/baseline" "$1" > "$out/base.out"
	if cmp -s "$out/lib.out" "$out/base.out"; then
		verdict=same
	else
		verdict=DIFFERENT
		status=1
	fi
}

# ns SECS_FULL SECS_POP OPS: ns per operation of the part after the
# population.
ns() {
	awk "BEGIN { v = ($1 - $2) * 1e9 / $3; printf \"%.1f\", (v > 0 ? v : 0) }"
}

human() { # 1000000 -> 1M
	awk "BEGIN { n = $1; if (n >= 1e6 && n % 1e6 == 0) print n / 1e6 \"M\";
		else if (n >= 1e3 && n % 1e3 == 0) print n / 1e3 \"k\"; else print n }"
}

mib() { # KiB -> MiB
	[ "$1" = - ] && { echo -; return; }
	awk "BEGIN { printf \"%.1f\", $1 / 1024 }"
}

status=0
results=$out/results.txt
table=$out/results.md
: > "$results"
{
	echo "| workload | areas at end | ops | library ns/op | baseline ns/op | speed-up | library peak RSS MiB | baseline peak RSS MiB | library B/area | baseline B/area | results |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
} > "$table"
cat "$table"

# row WORKLOAD AREAS OPS LIB_NS BASE_NS LIB_RSS BASE_RSS LIB_BYTES BASE_BYTES VERDICT
row() {
	ratio=$(awk "BEGIN { printf \"%.1fx\", ($4 > 0 ? $5 / $4 : 0) }")
	bpa_lib=$(awk "BEGIN { printf \"%.1f\", ($2 ? $8 / $2 : 0) }")
	bpa_base=$(awk "BEGIN { printf \"%.1f\", ($2 ? $9 / $2 : 0) }")
	line="| $1 | $2 | $3 | $4 | $5 | $ratio | $(mib "$6") | $(mib "$7") | $bpa_lib | $bpa_base | ${10} |"
	echo "$line" | tee -a "$table"
	printf '%s %s %s %s %s\n' "$(echo "$1" | tr ' ' _)" "$4" "$5" "$bpa_lib" "$2" >> "$results"
}

# Synthetic workloads: the population alone is timed too, and taken away.
for n in $sizes; do
	pop=$out/pop-$n.trace
	gen "$pop" --areas "$n" --ops 0 --mix mixed --seed 1
	best "$bin/ms-replay" --quiet "$pop"
	pop_lib=$b_secs
	best "$bin/baseline" --quiet "$pop"
	pop_base=$b_secs
	for mix in mixed fault churn; do
		ml=$(ops_lib "$n" "$mix")
		mb=$(ops_base "$n" "$mix")
		tl=$out/$mix-$n-$ml.trace
		tb=$out/$mix-$n-$mb.trace
		gen "$tl" --areas "$n" --ops "$ml" --mix "$mix" --seed 1
		gen "$tb" --areas "$n" --ops "$mb" --mix "$mix" --seed 1

		best "$bin/ms-replay" --quiet "$tl"
		lib_ns=$(ns "$b_secs" "$pop_lib" "$ml")
		"$bin/ms-bench" "$tl" 2> "$out/quiet"
		set -- $(awk '/^ops /{ print $8, $10 }' "$out/quiet")
		areas=$1 lib_bytes=$2

		best "$bin/baseline" --quiet "$tb"
		base_ns=$(ns "$b_secs" "$pop_base" "$mb")
		base_rss=$b_rss base_bytes=$q_bytes base_areas=$q_areas base_secs=$b_secs
		once "$bin/ms-replay" --quiet "$tb"
		lib_rss=$q_rss
		# Whole output where the baseline is quick, else the final count.
		if awk "BEGIN { exit !($base_secs < 20) }"; then
			same "$tb"
		elif [ "$q_areas" = "$base_areas" ]; then
			verdict="same len"
		else
			verdict=DIFFERENT
			status=1
		fi
		# Bytes per area: the baseline's at the end of its own trace.
		base_bytes=$(awk "BEGIN { print $base_areas ? $base_bytes * $areas / $base_areas : 0 }")
		ops=$(human "$ml")
		[ "$ml" = "$mb" ] || ops="$ops / $(human "$mb")"
		row "$mix $(human "$n")" "$areas" "$ops" "$lib_ns" "$base_ns" \
			"$lib_rss" "$base_rss" "$lib_bytes" "$base_bytes" "$verdict"
	done
done

# The bundled real-program traces, whole; the small ones repeated (with a
# clear between copies) to reach a few hundred thousand operations.
traces=$root/tests/conformance/traces
for spec in efence:1 node:50 java:40 python3:250 gcc:1000; do
	name=${spec%:*}
	reps=${spec#*:}
	src=$traces/$name.trace
	if [ ! -f "$src" ]; then
		echo "| $name | - | - | - | - | - | - | - | - | - | no trace in tests/conformance/traces |" | tee -a "$table"
		continue
	fi
	t=$out/$name-x$reps.trace
	if [ ! -s "$t" ] || [ "$t" -ot "$src" ]; then
		i=1
		while [ "$i" -le "$reps" ]; do
			[ "$i" -gt 1 ] && echo clear
			cat "$src"
			i=$((i + 1))
		done > "$t"
	fi
	best "$bin/ms-replay" --quiet "$t"
	lib_ns=$(ns "$b_secs" 0 "$q_ops")
	lib_rss=$b_rss ops=$q_ops
	"$bin/ms-bench" "$t" 2> "$out/quiet"
	set -- $(awk '/^ops /{ print $8, $10 }' "$out/quiet")
	areas=$1 lib_bytes=$2
	best "$bin/baseline" --quiet "$t"
	base_ns=$(ns "$b_secs" 0 "$q_ops")
	same "$t"
	label=$name
	[ "$reps" = 1 ] || label="$name x$reps"
	row "$label" "$areas" "$(human "$ops")" "$lib_ns" "$base_ns" \
		"$lib_rss" "$b_rss" "$lib_bytes" "$q_bytes" "$verdict"
done

# The goals of BENCHMARKS.md.
get() { # workload field(2 lib ns, 3 base ns, 4 B/area)
	awk -v w="$1" -v f="$2" '$1 == w { print $f }' "$results"
}
goal() { # text, condition over the figures
	if awk "BEGIN { exit !($2) }" 2> /dev/null; then
		echo "- met: $1"
	else
		echo "- NOT met: $1"
	fi
}
{
	echo
	echo "Goals:"
	lib=$(get mixed_100k 2) base=$(get mixed_100k 3)
	[ -n "$lib" ] && goal "mixed at 100k areas: $lib ns/op (<= 300), $(awk "BEGIN { printf \"%.1f\", $base / $lib }")x the baseline (>= 20)" "$lib <= 300 && $base >= 20 * $lib"
	lib=$(get fault_1M 2)
	[ -n "$lib" ] && goal "fault (lookups) at 1M areas: $lib ns/op (<= 150)" "$lib <= 150"
	for mix in mixed fault churn; do
		a=$(get "${mix}_1k" 2) b=$(get "${mix}_1M" 2)
		[ -n "$a" ] && [ -n "$b" ] &&
			goal "growth of $mix from 1k to 1M areas: $(awk "BEGIN { printf \"%.2f\", $b / $a }")x (<= 3)" "$b <= 3 * $a"
	done
	lib=$(get efence 2) base=$(get efence 3)
	[ -n "$lib" ] && goal "Electric Fence trace: $(awk "BEGIN { printf \"%.1f\", $base / $lib }")x the baseline (>= 3)" "$base >= 3 * $lib"
	worst=$(awk '$5 >= 1000 && $4 > w { w = $4 } END { print w + 0 }' "$results")
	goal "memory: at most $worst bytes per area over the workloads of 1k areas or more (<= 80)" "$worst <= 80"
} | tee "$out/goals.txt"

# The plot: ns per operation against areas, one line per mix and side.
dat=$out/plot.dat
: > "$dat"
for n in $sizes; do
	printf '%s' "$n" >> "$dat"
	for mix in mixed fault churn; do
		printf ' %s %s' "$(get "${mix}_$(human "$n")" 2)" "$(get "${mix}_$(human "$n")" 3)" >> "$dat"
	done
	echo >> "$dat"
done
if command -v gnuplot > /dev/null; then
	gnuplot -e "data='$dat'; out='$root/docs/bench.png'" "$root/bench/plot.gp"
	echo "plot: docs/bench.png"
else
	echo "run.sh: gnuplot not found (Debian: gnuplot-nox): no plot" >&2
fi
exit $status
