#!/usr/bin/env bash
# The results of uvodbc-bench-core, -pool and -bulk (their --csv FILE lines)
# as docs/performance.md shows them: a markdown table of every row on
# standard output, and with --chart OUT.svg a gnuplot chart of uvodbc's
# throughput as a share of its baseline's (baseline median time / uvodbc
# median time) per workload and driver, the issue's limits as lines.
#
#   bench/results.sh perf.csv [--chart docs/performance.svg]
set -euo pipefail
usage="usage: bench/results.sh results.csv [--chart out.svg]"
csv=${1:?$usage}
out=
if [ $# -ge 2 ]; then
    [ "$2" = --chart ] && [ $# -eq 3 ] || { echo "$usage" >&2; exit 2; }
    out=$3
fi
data=$(mktemp)
trap 'rm -f "$data"' EXIT

# Prints the table; writes to $data one line per workload of the chart: its
# label, then the share on sqlite, pg, mariadb ("-" when not measured; the
# last matching CSV line of a cell wins).
awk -v chart="$data" '
  function num(v) {             # about three digits; "-" when not measured
    if (v == "") return "-"
    return v + 0 >= 100 ? sprintf("%.0f", v) : sprintf("%.3g", v)
  }
  function workload(m) {
    if (m ~ /UseDeclareFetch/) return ""
    if (m ~ /cursor, default options/) return "fetch, cursor"
    if (m ~ /read_start, default options/) return "fetch, read\\_start"
    if (m ~ /conn_query \(whole result\)/) return "fetch, whole result"
    if (m ~ /^SELECT 1: conn_query vs bare hop$/) return "SELECT 1 vs bare hop"
    if (m ~ /^SELECT 1: conn_query$/) return "SELECT 1 vs blocking"
    if (m ~ /^SELECT 1, 8 requesters/) return "pool of 8 vs 8 threads"
    if (m ~ /columns, arrays of/) return "bulk insert, columns"
    return ""
  }
  NR > 1 {
    driver = substr($0, 1, index($0, ",") - 1)
    rest = substr($0, length(driver) + 2)
    if (substr(rest, 1, 1) == "\"") {   # quoted: it has commas
      m = substr(rest, 2); m = substr(m, 1, index(m, "\"") - 1)
      rest = substr(rest, length(m) + 4)
    } else {
      m = substr(rest, 1, index(rest, ",") - 1)
      rest = substr(rest, length(m) + 2)
    }
    split(rest, f, ",")          # unit, base_med, ..., uvo_med at f[5]
    if (!header++) {
      print "| driver | measurement | unit | baseline med (min–max) | uvodbc med (min–max) | share | CPU baseline | CPU uvodbc |"
      # CPU: µs per query, or ms per 1000 rows for a fetch
      print "|---|---|---|---|---|---|---|---|"
    }
    printf "| %s | %s | %s | %s (%s–%s) | %s (%s–%s) | %.2f | %s | %s |\n", \
      driver, m, f[1], num(f[2]), num(f[3]), num(f[4]), num(f[5]), \
      num(f[6]), num(f[7]), f[2] / f[5], num(f[9]), num(f[10])
    w = workload(m)
    if (w == "" || f[5] + 0 <= 0) next
    if (!(w in seen)) { seen[w] = 1; order[++n] = w }
    share[w, driver] = f[2] / f[5]
  }
  END {
    for (i = 1; i <= n; i++) {
      w = order[i]; line = "\"" w "\""
      split("sqlite pg mariadb", ds, " ")
      for (j = 1; j <= 3; j++)
        line = line " " (((w, ds[j]) in share) ? sprintf("%.3f", share[w, ds[j]]) : "-")
      print line > chart
    }
  }' "$csv"
[ -n "$out" ] || exit 0
command -v gnuplot >/dev/null || { echo "results.sh: needs gnuplot" >&2; exit 1; }
[ -s "$data" ] || { echo "results.sh: no known workload in $csv" >&2; exit 1; }

gnuplot <<EOF
set terminal svg size 900,480 dynamic font "sans,12" background "white"
set output "$out"
set title "uvodbc throughput as a share of plain blocking ODBC in C (median of interleaved runs)\n1.0: as fast; dashed: the limits 0.95, 0.9, 0.8"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set datafile missing "-"
set yrange [0:1.4]
set ylabel "baseline time / uvodbc time"
set xtics rotate by -20 noenhanced
set key top left horizontal
set grid ytics
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 dt 1
set arrow from graph 0, first 0.95 to graph 1, first 0.95 nohead dt 2
set arrow from graph 0, first 0.9 to graph 1, first 0.9 nohead dt 3
set arrow from graph 0, first 0.8 to graph 1, first 0.8 nohead dt 4
plot "$data" using 2:xtic(1) title "sqlite", "" using 3 title "pg", "" using 4 title "mariadb"
EOF
echo "results.sh: wrote $out" >&2
