# measure LABEL COMMAND...: runs COMMAND $runs times (default 5) and prints a markdown row with the
# best wall time (to the millisecond, /usr/bin/time's own start included) and that run's peak RSS.
# measure_best COMMAND... does the same runs and leaves the figures in $best_time and $best_rss.
# With $settle set, dirty pages are flushed (sync) before each run, so that writing gigabytes does not
# pay for the previous run's writeback. Sourced by the bench scripts, which set $out to a scratch directory.
# measure_once COMMAND... runs it once and leaves its wall time in $wall_ms and peak RSS in $rss_kb.
measure_once() {
  local start end
  [ -n "${settle:-}" ] && sync
  start=$(date +%s%N)
  /usr/bin/time -f "%M" -o "$out/time" "$@" >/dev/null 2>"$out/stderr" || { echo "failed: $*" >&2; tail -3 "$out/stderr" >&2; return 1; }
  end=$(date +%s%N)
  wall_ms=$(( (end - start) / 1000000 ))
  read -r rss_kb < "$out/time"
}

# seconds MS: milliseconds as "1.234 s".
seconds() { printf '%d.%03d s' "$(($1 / 1000))" "$(($1 % 1000))"; }

measure_best() {
  local best="" rss=""
  for _ in $(seq "${runs:-5}"); do
    measure_once "$@"
    if [ -z "$best" ] || [ "$wall_ms" -lt "$best" ]; then best=$wall_ms; rss=$rss_kb; fi
  done
  best_time=$(seconds "$best")
  best_rss="$((rss / 1024)) MB"
}

measure() {
  local label=$1
  shift
  measure_best "$@"
  printf '| %s | %s | %s |\n' "$label" "$best_time" "$best_rss"
}

# compare LABEL ARGS...: `$before ARGS` and `$cli ARGS` side by side, one markdown row with both
# binaries' figures; without $before, the row has only $cli's. ARGS may name $out's files.
compare() {
  local label=$1 row
  shift
  row="| $label |"
  if [ -n "${before:-}" ]; then
    measure_best "$before" "$@"
    row="$row $best_time | $best_rss |"
  fi
  measure_best "$cli" "$@"
  echo "$row $best_time | $best_rss |"
}

compare_header() {
  local what=$1
  if [ -n "${before:-}" ]; then
    echo "| $what | before: wall | before: peak RSS | after: wall | after: peak RSS |"
    echo "| --- | --- | --- | --- | --- |"
  else
    echo "| $what | wall time | peak RSS |"
    echo "| --- | --- | --- |"
  fi
}
