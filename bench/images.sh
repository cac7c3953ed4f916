#!/usr/bin/env bash
# `images` with 100 local images: both stores load the same docker-archive of 100
# distinct images (one shared layer, 100 configs), then `images` runs N times in each.
# Prints the ratio Berth/Podman of the medians (goal: <= 0.25).
. "$(dirname "$0")/lib.sh"
runs=${RUNS:-15}
archive="$work/many.tar"
python3 "$(dirname "$0")/make_many_images.py" "$archive" 100
berth_cmd load -q -i "$archive" >/dev/null
podman_cmd load -q -i "$archive" >/dev/null
nb=$(berth_cmd images -q | wc -l); np=$(podman_cmd images -q | wc -l)
[ "$nb" -eq 100 ] && [ "$np" -eq 100 ] || { echo "expected 100 images, berth has $nb, podman $np" >&2; exit 1; }
b=(); p=()
for i in $(seq "$runs"); do
  b+=("$(time_ms berth_cmd images)")
  p+=("$(time_ms podman_cmd images)")
done
report "images with 100 local images ($runs runs each, median)" 0.25 "${b[*]}" "${p[*]}"
