#!/bin/sh
# bench/paper/scale.sh — the scheduler's cost as the work grows (issue 6,
# "Performance"): mixed AR + ASAP leases on 64 to 4096 hosts, the load
# kept steady below saturation by scaling the arrival rate with the hosts,
# and the image link with them (25 Mb/s per host: one 100 Mb/s link for
# 1024 hosts would make every run a study of a saturated link).  Prints
# wall time, events, cost per event and peak RSS for each size.
#
#   bench/paper/scale.sh VWS_SIM [MAX_LEASES]
set -eu
SIM=${1:?usage: scale.sh VWS_SIM [MAX_LEASES]}
MAX=${2:-1000000}

printf '%-9s %-6s %-10s %-10s %-9s %-12s %s\n' leases hosts events wall_s us/event rss_MB strategy
for n in 10000 100000 1000000; do
    [ "$n" -gt "$MAX" ] && continue
    for h in 64 256 1024 4096; do
        # 1e6 leases only where the site is large enough to make it a day's
        # work for a real site; small sites get the smaller sizes.
        [ "$n" -eq 1000000 ] && [ "$h" -lt 1024 ] && continue
        # node-seconds per lease ~ 4.5 nodes x ~1200 s; 50 % of 2 slots/host
        # (near 90 % in practice: preparation holds slots too; more and the
        # ASAP queue grows without bound, which measures the overload)
        gap=$(awk -v h="$h" 'BEGIN { g = 5400 / (0.5 * 2 * h); printf "%d", (g < 1 ? 1 : g) }')
        half=$((n / 2))
        span=$((half * gap * 2))
        for s in hybrid; do
            "$SIM" --quiet --stats --strategy "$s" \
                --generate-ar "$half" --gen-span "$span" --gen-lead 200-2000 \
                --duration 600 --gen-nodes 1-8 \
                --generate-asap "$span" --gen-interval 1-$((gap * 4 - 1)) \
                --gen-duration 60-3600 \
                --set hosts="$h" --set bandwidth_mbps=$((h * 25)) \
                --set cache_policy=lfu --set cache_mb=1800 |
            awk -v h="$h" -v s="$s" '/^stats/ {
                printf "%-9s %-6s %-10s %-10s %-9s %-12s %s\n", $3, h, $5, $7, $9, $13, s }'
        done
    done
done
