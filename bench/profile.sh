#!/bin/sh
# Where the library's time goes in one synthetic workload: callgrind's
# instruction counts and simulated cache misses per operation, for each
# function, with the cost of mapping the initial areas taken away (the
# population-only trace is profiled too and subtracted). Instruction counts
# are repeatable: the same binary and trace give the same figures whatever
# else the machine is doing.
#
#   sh bench/profile.sh BUILD AREAS MIX [OPS]     e.g. build 100000 mixed
#
# Needs valgrind. Cache figures simulate a 48 KiB 12-way L1d and a 32 MiB
# 16-way last level, 64-byte lines.
set -eu

[ $# -ge 3 ] || { echo "usage: sh bench/profile.sh BUILD AREAS MIX [OPS]" >&2; exit 2; }
build=$(cd "$1" && pwd)
n=$2 mix=$3 ops=${4:-200000}
out=$build/bench/profile
mkdir -p "$out"

"$build/bin/gentrace" --areas "$n" --ops "$ops" --mix "$mix" > "$out/work.trace"
"$build/bin/gentrace" --areas "$n" --ops 0 --mix "$mix" > "$out/pop.trace"
for t in work pop; do
	valgrind --tool=callgrind --cache-sim=yes --I1=32768,8,64 \
		--D1=49152,12,64 --LL=33554432,16,64 \
		--callgrind-out-file="$out/$t.cg" \
		"$build/bin/ms-replay" --quiet "$out/$t.trace" 2> "$out/$t.log"
done

# name Ir D1mr D1mw LLmr LLmw, one line per function
flat() {
	callgrind_annotate --show=Ir,D1mr,D1mw,DLmr,DLmw --threshold=100 "$1" |
		sed -n '/file:function/,$p' | sed 's/([^)]*)//g; s/,//g' |
		awk -v q="'" 'NF >= 6 && $6 ~ /:/ {
			f = $6; sub(/.*:/, "", f); sub("[." q "].*", "", f)
			for (i = 1; i <= 5; i++) if ($i == ".") $i = 0
			print f, $1, $2, $3, $4, $5 }'
}
flat "$out/pop.cg" > "$out/pop.flat"
flat "$out/work.cg" > "$out/work.flat"

echo "$mix, $n areas, $ops operations after the population: per operation"
awk -v ops="$ops" '
	NR == FNR { for (i = 2; i <= 6; i++) pop[$1, i] += $i; next }
	{ for (i = 2; i <= 6; i++) w[$1, i] += $i; names[$1] = 1 }
	END {
		for (f in names) {
			if (f ~ /^(trace_parse|push|main|_start|__strlen_.*|__memchr_.*|__memcmp_.*)$/) continue
			ir = (w[f, 2] - pop[f, 2]) / ops
			if (ir < 1) continue
			printf "%-28s %9.1f %8.2f %8.2f %8.3f %8.3f\n", f, ir,
				(w[f, 3] - pop[f, 3]) / ops, (w[f, 4] - pop[f, 4]) / ops,
				(w[f, 5] - pop[f, 5]) / ops, (w[f, 6] - pop[f, 6]) / ops
			t[2] += ir
			for (i = 3; i <= 6; i++) t[i] += (w[f, i] - pop[f, i]) / ops
		}
		printf "%-28s %9.1f %8.2f %8.2f %8.3f %8.3f\n", "(total)", t[2], t[3], t[4], t[5], t[6]
	}' "$out/pop.flat" "$out/work.flat" |
	sort -k2,2 -g -r | {
	printf "%-28s %9s %8s %8s %8s %8s\n" function Ir D1mr D1mw LLmr LLmw
	head -n 16
}
