#!/usr/bin/env bash
# The README's main job, end to end, offline: a Redis server built from Debian packages,
# started with pycompose, reached from the host, torn down.
#
#   bash scripts/setup.sh          # once per machine (as root)
#   bash examples/run-demo.sh      # as root; the first run bootstraps Debian (minutes)
#   bash examples/run-demo.sh --keep    # leave the stack running afterwards
#
# PYCOMPOSE (e.g. "/path/venv/bin/python -m compose") picks the command; PYCOMPOSE_ROOT selects the state root as usual (default: the normal root).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${PYCOMPOSE:-}" ]; then read -r -a PC <<< "$PYCOMPOSE"
elif [ -x .venv/bin/pycompose ]; then PC=(.venv/bin/pycompose)
elif command -v pycompose >/dev/null; then PC=(pycompose)
else PC=(python3 -m compose); fi
FILE=examples/redis/compose.yaml

if ! "${PC[@]}" image inspect debian:bookworm-slim >/dev/null 2>&1; then
  echo "demo: no debian:bookworm-slim image yet: bootstrapping it from the apt mirror (once)"
  "${PC[@]}" image bootstrap debian:bookworm-slim
fi
echo "demo: pycompose -f $FILE up -d --wait"
"${PC[@]}" -f "$FILE" up -d --wait
trap '[ "${1:-}" = --keep ] || "${PC[@]}" -f "$FILE" down -v' EXIT
"${PC[@]}" -f "$FILE" ps
echo "demo: SET/GET through pycompose exec:"
"${PC[@]}" -f "$FILE" exec -T redis redis-cli set greeting "hello from pycompose"
"${PC[@]}" -f "$FILE" exec -T redis redis-cli get greeting
port=$("${PC[@]}" -f "$FILE" port redis 6379)
echo "demo: from the host through the published port $port:"
host=${port%:*}; [ "$host" = 0.0.0.0 ] && host=127.0.0.1
exec 3<>"/dev/tcp/$host/${port##*:}"
printf 'PING\r\n' >&3
read -r -t 5 reply <&3
exec 3<&-
echo "PING -> ${reply%$'\r'}"
[ "${reply%$'\r'}" = "+PONG" ]
echo "demo: ok"
