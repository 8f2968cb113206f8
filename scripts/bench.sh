#!/usr/bin/env bash
# Load figures for issue 2, measured in one run on this machine: the demo
# server and a no-op net/http server side by side, driven by wrk over loopback.
# Prints GET /api/v1/intercom/180 throughput as a ratio of the no-op's, durable
# PATCH requests/s (synchronous=FULL on SQLite; a committed transaction on
# PostgreSQL), p99 latency of each, and peak RSS.
#
#   scripts/bench.sh            # 10 s per run, 64 connections, a fresh SQLite file
#   DURATION=30s CONNS=128 scripts/bench.sh
#   DB=postgres://postgres@127.0.0.1:5432/bench_x?sslmode=disable scripts/bench.sh
#
# DB names the database as --db does. A PostgreSQL database must be empty (or
# hold only an earlier run's demo): the demo refuses any other. The node then
# joins the cluster as every node on PostgreSQL does (bus, deadlines, batched
# heartbeats).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
PORT=${PORT:-18180}
NOOP_PORT=${NOOP_PORT:-18181}

command -v wrk >/dev/null || { echo "bench.sh needs wrk (Debian: apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
DB=${DB:-$work/bench.db}
case "$DB" in postgres://* | postgresql://*) engine=PostgreSQL ;; *) engine=SQLite ;; esac
trap cleanup EXIT

go build -o "$work/intercomd" ./cmd/intercomd
go build -o "$work/noophttp" ./scripts/noophttp

# A node on PostgreSQL needs a secret key file; on SQLite it is made beside the file.
key=()
if [ "$engine" = PostgreSQL ]; then
  (umask 077; head -c 32 /dev/urandom | base64 >"$work/secret.key")
  key=(--secret-key-file "$work/secret.key")
fi
"$work/intercomd" serve --demo --addr "127.0.0.1:$PORT" --db "$DB" "${key[@]}" --log-level error >"$work/demo.out" 2>"$work/demo.err" &
pids+=($!); server=$!
"$work/noophttp" -addr "127.0.0.1:$NOOP_PORT" &
pids+=($!)

for _ in $(seq 100); do grep -q -- '--data-raw' "$work/demo.out" 2>/dev/null && break; sleep 0.1; done
token=$(sed -n 's/.*Bearer \([A-Za-z0-9_-]*\).*/\1/p' "$work/demo.out" | head -1)
[ -n "$token" ] || { echo "the demo did not start:" >&2; cat "$work/demo.err" >&2; exit 1; }
body=$(sed -n "s/.*--data-raw '\(.*\)'/\1/p" "$work/demo.out")

cat >"$work/patch.lua" <<LUA
wrk.method = "PATCH"
wrk.body = [[$body]]
wrk.headers["Content-Type"] = "application/json"
LUA

hdrs=(-H "Authorization: Bearer $token" -H "X-Client: ios-cctv" -H "X-UUID: demo-phone" -H "Accept: application/json")
run() { wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$@"; }
rps() { awk '/^Requests\/sec/ {print $2}' "$1"; }
p99() { awk '$1 == "99%" {print $2}' "$1"; }
errs() { awk '/Non-2xx|Socket errors/' "$1"; }

echo "warming up..."
wrk -t1 -c8 -d2s "${hdrs[@]}" "http://127.0.0.1:$PORT/api/v1/intercom/180" >/dev/null
run "http://127.0.0.1:$NOOP_PORT/" >"$work/noop.txt"
run "${hdrs[@]}" "http://127.0.0.1:$PORT/api/v1/intercom/180" >"$work/get.txt"
run "${hdrs[@]}" -s "$work/patch.lua" "http://127.0.0.1:$PORT/api/v1/intercom/180" >"$work/patch.txt"
rss=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")

noop=$(rps "$work/noop.txt"); get=$(rps "$work/get.txt"); patch=$(rps "$work/patch.txt")
echo
echo "machine: $(nproc) cores, $(go version | awk '{print $3}'), wrk -t$THREADS -c$CONNS -d$DURATION, $engine"
printf '%-38s %12s req/s   p99 %s\n' "no-op net/http handler" "$noop" "$(p99 "$work/noop.txt")"
printf '%-38s %12s req/s   p99 %s\n' "GET /api/v1/intercom/180" "$get" "$(p99 "$work/get.txt")"
printf '%-38s %12s req/s   p99 %s\n' "PATCH /api/v1/intercom/180 (durable)" "$patch" "$(p99 "$work/patch.txt")"
awk -v g="$get" -v n="$noop" 'BEGIN { printf "GET / no-op throughput ratio: %.2f (goal >= 0.5)\n", g / n }'
awk -v p="$patch" 'BEGIN { printf "durable PATCH: %.0f/s (goal >= 5000/s)\n", p }'
awk -v k="$rss" 'BEGIN { printf "peak RSS of intercomd: %.1f MiB (goal <= 100 MiB)\n", k / 1024 }'
for f in get patch; do e=$(errs "$work/$f.txt"); [ -z "$e" ] || echo "$f: $e"; done
