#!/usr/bin/env bash
# The quick start's main job: local Kafka, schema, the demo's campaign registry, demo
# events flowing in, and the worker printing the live scorecard (each campaign judged
# by its declared goal) and serving the dashboard page (its URL printed under the
# table), all in this one terminal. Ctrl-C stops the worker and the demo producer (the
# broker keeps running: `make kafka-stop`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
LEADCLOCK="${LEADCLOCK:-$ROOT/.venv/bin/leadclock}"
DEMO_LEADS="${DEMO_LEADS:-5000}"
DEMO_RATE="${DEMO_RATE:-1500}"
REPORT_EVERY="${REPORT_EVERY:-5}"
# The worker serves the dashboard on 127.0.0.1:DASHBOARD_PORT (0: no page).
DASHBOARD_PORT="${DASHBOARD_PORT:-8050}"
# The broker listens on KAFKA_PORT (deploy/local/kafka.sh); every command below must dial
# the same port, so the brokers follow it unless LEADCLOCK_BROKERS says otherwise.
export LEADCLOCK_BROKERS="${LEADCLOCK_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}"

bash deploy/local/kafka.sh start
"$LEADCLOCK" migrate
"$LEADCLOCK" topics
mkdir -p var
"$LEADCLOCK" demo --leads "$DEMO_LEADS" --output var/demo-events.ndjson
# Goals are declared before the data arrives (the worker is not running yet, so this
# opens the embedded ClickHouse directly; while it runs, a load goes through its gateway).
"$LEADCLOCK" campaigns load var/demo-events.campaigns.csv
echo "demo: $(wc -l <var/demo-events.ndjson) events, streaming at ${DEMO_RATE}/s" >&2

"$LEADCLOCK" produce --input var/demo-events.ndjson --rate "$DEMO_RATE" \
  >var/demo-produce.log 2>&1 &
producer=$!
trap 'kill "$producer" 2>/dev/null || true' EXIT
"$LEADCLOCK" worker --report-every "$REPORT_EVERY" --dashboard-port "$DASHBOARD_PORT"
