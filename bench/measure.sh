# measure LABEL COMMAND...: runs COMMAND $runs times (default 5) and prints a markdown row with the
# best wall time and that run's peak RSS. Sourced by the bench scripts, which set $out to a
# scratch directory.
measure() {
  local label=$1 best="" rss=""
  shift
  for _ in $(seq "${runs:-5}"); do
    /usr/bin/time -f "%e %M" -o "$out/time" "$@" >/dev/null 2>&1
    read -r wall kb < "$out/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; rss=$kb; fi
  done
  printf '| %s | %.2f s | %d MB |\n' "$label" "$best" "$((rss / 1024))"
}
