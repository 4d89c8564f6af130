#!/usr/bin/env bash
# Hold the server to its OpenAPI document: schemathesis with every check (the
# equivalent of --checks all is in schemathesis.toml) and every phase, a fixed seed and a time budget, against a real server (uvicorn on a free
# loopback port, a fresh SQLite database and blob directory). Exclusions, each with
# its reason, are in schemathesis.toml. Any failure fails this script.
#
#   .ci/schemathesis.sh                      # as CI runs it
#   SCHEMATHESIS_MAX_TIME=600 .ci/schemathesis.sh --include-path /maestro/runs
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VENV=${ST_VENV:-.venv-schemathesis}
MAX_TIME=${SCHEMATHESIS_MAX_TIME:-150}
SEED=${SCHEMATHESIS_SEED:-20261202}

if ! [ -x "$ST_VENV/bin/st" ] || ! cmp -s .ci/schemathesis-requirements.txt "$ST_VENV/.requirements"; then
  python3 -m venv "$ST_VENV"
  "$ST_VENV/bin/python" -m pip install --quiet -r .ci/schemathesis-requirements.txt
  cp .ci/schemathesis-requirements.txt "$ST_VENV/.requirements"
fi

work=$(mktemp -d)
# Every request carries an admin token, made before the server starts: a token that
# schemathesis itself creates (POST /maestro/tokens) would otherwise end local mode halfway
# and turn the rest of the run into 401s.
token=$(env -u MAESTRO_BLOB_URL MAESTRO_DATA_DIR="$work/data" MAESTRO_DATABASE_URL="sqlite:///$work/data/maestro.db" \
  .venv/bin/python -c "from maestro.cli import main; main()" tokens bootstrap --expires 1d -q)
port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env -u MAESTRO_INTELGRAPH_URL -u MAESTRO_PUBLIC_URL -u MAESTRO_BLOB_URL \
  MAESTRO_DATA_DIR="$work/data" MAESTRO_DATABASE_URL="sqlite:///$work/data/maestro.db" \
  MAESTRO_ACCESS_LOG=false \
  .venv/bin/uvicorn maestro.app:app --host 127.0.0.1 --port "$port" >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 60); do
  .venv/bin/python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/readyz', timeout=2)" \
    2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.5
done

status=0
"$ST_VENV/bin/st" run "http://127.0.0.1:$port/openapi.json" \
  --phases examples,coverage,fuzzing,stateful \
  --header "Authorization: Bearer $token" \
  --seed "$SEED" --max-time "$MAX_TIME" --no-color --report junit \
  --report-junit-path "$work/junit.xml" "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "== server log (tracebacks of any 500 are here)"
  tail -n 200 "$work/server.log"
fi
exit "$status"
