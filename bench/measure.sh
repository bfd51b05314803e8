# measure LABEL COMMAND...: runs COMMAND $runs times (default 5) and prints a markdown row with the
# best wall time (to the millisecond, /usr/bin/time's own start included) and that run's peak RSS.
# Sourced by the bench scripts, which set $out to a scratch directory.
measure() {
  local label=$1 best="" rss=""
  shift
  for _ in $(seq "${runs:-5}"); do
    local start end wall kb
    start=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$out/time" "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    wall=$(( (end - start) / 1000000 ))
    read -r kb < "$out/time"
    if [ -z "$best" ] || [ "$wall" -lt "$best" ]; then best=$wall; rss=$kb; fi
  done
  printf '| %s | %d.%03d s | %d MB |\n' "$label" "$((best / 1000))" "$((best % 1000))" "$((rss / 1024))"
}
