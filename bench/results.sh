#!/usr/bin/env bash
# The results of uvodbc-bench-core, -pool and -bulk (their --csv FILE lines)
# as docs/performance.md shows them: a markdown table on standard output,
# and with --chart OUT.svg a gnuplot chart of uvodbc's throughput as a share
# of its baseline's (baseline median time / uvodbc median time) per workload
# and driver, the issue's limits as lines.
#
# A CSV may hold several rounds (the programs run again, appending): each
# measurement then shows the median over the rounds of each figure, and its
# share as that median with the range over the rounds.  The machines are
# shared and noisy; one round's share can move by 0.1 from the next.
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
# label, then the median share on sqlite, pg, mariadb ("-" when not
# measured).  Plain POSIX awk (Debian's default is mawk).
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
  # The median of values k SUBSEP 1 .. k SUBSEP n of array a ("" if none).
  function median(a, k, n,    i, j, t, v) {
    if (n == 0 || a[k, 1] == "") return ""   # not measured (pool, bulk CPU)
    for (i = 1; i <= n; i++) v[i] = a[k, i]
    for (i = 2; i <= n; i++)    # insertion sort: a handful of rounds
      for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
        t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
      }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  function extreme(a, k, n, want_max,    i, x) {
    x = a[k, 1]
    for (i = 2; i <= n; i++)
      if (want_max ? a[k, i] + 0 > x + 0 : a[k, i] + 0 < x + 0) x = a[k, i]
    return x
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
    if (f[5] + 0 <= 0) next
    k = driver SUBSEP m
    if (!(k in rounds)) { keys[++nkeys] = k; kd[k] = driver; km[k] = m; ku[k] = f[1] }
    r = ++rounds[k]
    base[k, r] = f[2]; uvo[k, r] = f[5]; share[k, r] = f[2] / f[5]
    cpub[k, r] = f[9]; cpuu[k, r] = f[10]
  }
  END {
    print "| driver | measurement | unit | rounds | baseline | uvodbc | share, median (range) | CPU baseline | CPU uvodbc |"
    # times and CPU: medians over the rounds of the per-round medians; CPU in
    # µs per query, or ms per 1000 rows for a fetch
    print "|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= nkeys; i++) {
      k = keys[i]; n = rounds[k]
      s = median(share, k, n)
      range = n > 1 ? sprintf(" (%.2f–%.2f)", extreme(share, k, n, 0), extreme(share, k, n, 1)) : ""
      printf "| %s | %s | %s | %d | %s | %s | %.2f%s | %s | %s |\n", \
        kd[k], km[k], ku[k], n, num(median(base, k, n)), num(median(uvo, k, n)), \
        s, range, num(median(cpub, k, n)), num(median(cpuu, k, n))
      w = workload(km[k])
      if (w == "") continue
      if (!(w in seen)) { seen[w] = 1; order[++nw] = w }
      chartv[w, kd[k]] = s
    }
    for (i = 1; i <= nw; i++) {
      w = order[i]; line = "\"" w "\""
      split("sqlite pg mariadb", ds, " ")
      for (j = 1; j <= 3; j++)
        line = line " " (((w, ds[j]) in chartv) ? sprintf("%.3f", chartv[w, ds[j]]) : "-")
      print line > chart
    }
  }' "$csv"
[ -n "$out" ] || exit 0
command -v gnuplot >/dev/null || { echo "results.sh: needs gnuplot" >&2; exit 1; }
[ -s "$data" ] || { echo "results.sh: no known workload in $csv" >&2; exit 1; }

gnuplot <<EOF
set terminal svg size 900,480 dynamic font "sans,12" background "white"
set output "$out"
set title "uvodbc throughput as a share of plain blocking ODBC in C (median over rounds of interleaved runs)\n1.0: as fast; dashed: the limits 0.95, 0.9, 0.8"
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
