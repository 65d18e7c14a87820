# The plot of bench/run.sh (BUILD/bench/bench.png):
#   data: areas, then ns/op of memory_set, the maple tree and the sorted
#         array for fault, then the same for mixed (NaN: not measured);
#   real: per real trace, its areas at the end, the three ns/op, its name.
#   gnuplot -e "data='build/bench/plot.dat'; real='build/bench/plot-real.dat'; out='build/bench/bench.png'" bench/plot.gp
set terminal pngcairo size 1000,640 font ",11"
set output out
set title "memory_set, Linux's maple tree and a sorted array: time per operation" noenhanced
set xlabel "areas (synthetic: those mapped first; real traces: at the end)"
set ylabel "ns per operation (synthetic: after the population)"
set logscale xy
set format x "10^{%L}"
set format y "10^{%L}"
set grid xtics ytics mxtics mytics lc rgb "#dddddd"
set key outside right top
set xrange [20:2000000]
set datafile missing NaN
set style line 1 lc rgb "#1f77b4" lw 2 pt 7
set style line 2 lc rgb "#ff7f0e" lw 2 pt 5
set style line 3 lc rgb "#7f7f7f" lw 2 pt 9
set style line 4 lc rgb "#1f77b4" lw 2 pt 6 dt 2
set style line 5 lc rgb "#ff7f0e" lw 2 pt 4 dt 2
set style line 6 lc rgb "#7f7f7f" lw 2 pt 8 dt 2
set style line 7 lc rgb "#1f77b4" pt 13 ps 1.6
set style line 8 lc rgb "#ff7f0e" pt 11 ps 1.6
set style line 9 lc rgb "#7f7f7f" pt 15 ps 1.6
plot data using 1:2 with linespoints ls 1 title "memory_set, fault" noenhanced, \
     data using 1:3 with linespoints ls 2 title "maple tree, fault", \
     data using 1:4 with linespoints ls 3 title "sorted array, fault", \
     data using 1:5 with linespoints ls 4 title "memory_set, mixed" noenhanced, \
     data using 1:6 with linespoints ls 5 title "maple tree, mixed", \
     data using 1:7 with linespoints ls 6 title "sorted array, mixed", \
     real using 1:2 with points ls 7 title "memory_set, real traces" noenhanced, \
     real using 1:3 with points ls 8 title "maple tree, real traces", \
     real using 1:4 with points ls 9 title "sorted array, real traces", \
     real using 1:2:5 with labels offset 0,1.2 font ",9" notitle noenhanced
