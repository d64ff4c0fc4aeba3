# SPDX-License-Identifier: GPL-2.0
#
# The nested start-time plot (scripts/nested-bench.sh): L2's start time
# (QEMU launch -> FASTBOOT-L2-UP) against its memory size, stock QEMU and
# fastboot, for each memory backing, from bench/nested_start_bench's PLOT
# lines; and, where measured, the same VM without its passthrough device
# (nopass: the guest's own boot, the floor under the fastboot curve).
#
#   gnuplot -e "dir='build/bench-nested'; backings='anon hugetlb'" \
#           bench/e2e_start_plot.gp
#
# Reads dir/e2e-start-<backing>.dat ("MiB stock_s fastboot_s nopass_s" per
# line, "?" where a run failed or nopass was not measured) for each word of
# backings; writes out (default dir/e2e-start.png).

if (!exists("dir")) dir = "build/bench-nested"
if (!exists("backings")) backings = "anon hugetlb"
if (!exists("out")) out = dir . "/e2e-start.png"
if (!exists("subtitle")) subtitle = ""

set terminal pngcairo size 960,640 enhanced font "sans,11"
set output out
set datafile missing "?"

set title "VM start with a passthrough device: QEMU launch to the guest's /init" . \
	(strlen(subtitle) ? "\n{/*0.8 " . subtitle . "}" : "")
set xlabel "guest memory [GiB]"
set ylabel "start time [s]"
set logscale x 2
set format x "%g"
set yrange [0:*]
set grid xtics ytics
set key top left box opaque
set offsets graph 0.05, graph 0.05, graph 0.05, 0

file(b) = sprintf("%s/e2e-start-%s.dat", dir, b)
# Stock dashed, fastboot solid, nopass dotted and thin; one colour per
# backing.
colour(b) = b eq "anon" ? "#1f77b4" : "#d62728"

plot for [b in backings] file(b) using ($1 / 1024):2 \
	with linespoints dt 2 lw 2 pt 6 ps 1.3 lc rgb colour(b) \
	title "stock, " . b, \
     for [b in backings] file(b) using ($1 / 1024):3 \
	with linespoints dt 1 lw 2 pt 7 ps 1.3 lc rgb colour(b) \
	title "fastboot, " . b, \
     for [b in backings] file(b) using ($1 / 1024):4 \
	with linespoints dt 3 lw 1 pt 1 ps 1.0 lc rgb colour(b) \
	title "no passthrough (floor), " . b
