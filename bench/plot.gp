# docs/bench.png from bench/run.sh's plot.dat:
#   areas, then library and baseline ns/op for mixed, fault and churn.
#   gnuplot -e "data='build/bench/plot.dat'; out='docs/bench.png'" bench/plot.gp
set terminal pngcairo size 900,600 font ",11"
set output out
set title "memory_set against a sorted array: time per operation" noenhanced
set xlabel "areas (the generator's --areas)"
set ylabel "ns per operation (after the areas are mapped)"
set logscale xy
set format x "10^{%L}"
set format y "10^{%L}"
set grid xtics ytics mxtics mytics lc rgb "#dddddd"
set key outside right top
set xrange [500:2000000]
set style line 1 lc rgb "#1f77b4" lw 2 pt 7
set style line 2 lc rgb "#2ca02c" lw 2 pt 5
set style line 3 lc rgb "#d62728" lw 2 pt 9
set style line 4 lc rgb "#1f77b4" lw 2 pt 6 dt 2
set style line 5 lc rgb "#2ca02c" lw 2 pt 4 dt 2
set style line 6 lc rgb "#d62728" lw 2 pt 8 dt 2
plot data using 1:2 with linespoints ls 1 title "memory_set, mixed" noenhanced, \
     data using 1:4 with linespoints ls 2 title "memory_set, fault" noenhanced, \
     data using 1:6 with linespoints ls 3 title "memory_set, churn" noenhanced, \
     data using 1:3 with linespoints ls 4 title "sorted array, mixed", \
     data using 1:5 with linespoints ls 5 title "sorted array, fault", \
     data using 1:7 with linespoints ls 6 title "sorted array, churn"
