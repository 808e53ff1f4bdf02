#!/usr/bin/env bash
# Runs Katib's own unit tests of its suggestion and early-stopping services (test/unit/v1beta1 of a Katib checkout)
# against katib-ts's services, over real sockets: grpc_testing.py stands in for the in-process test server, the
# servicer classes the tests import are empty stand-ins, and api_pb2 is generated from our proto/api.proto.
#
#   KATIB_SRC=/path/to/katib bash test/compat/katib/run.sh              # Katib's assertions as written
#   KATIB_SRC=/path/to/katib bash test/compat/katib/run.sh --codes-only # status codes only, not Katib's wording
#
# Needs `npm run build` and Debian's python3-pytest, python3-grpcio and python3-grpc-tools (/usr/bin/python3).
# Only the tests that go through gRPC run (GetSuggestions, ValidateAlgorithmSettings, GetEarlyStoppingRules,
# ValidateEarlyStoppingSettings); the others test Katib's Python internals. Not part of CI: it needs a Katib checkout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
py=/usr/bin/python3
: "${KATIB_SRC:?set KATIB_SRC to a Katib checkout (git clone https://github.com/kubeflow/katib)}"
tests="$KATIB_SRC/test/unit/v1beta1"
[ -d "$tests/suggestion" ] || { echo "run.sh: $tests/suggestion not found; is KATIB_SRC=$KATIB_SRC a Katib checkout?" >&2; exit 2; }
[ -f "$root/dist/src/cli/main.js" ] || { echo "run.sh: dist/ is missing; run npm run build first" >&2; exit 2; }
export KATIB_TS_CODES_ONLY=0
[ "${1:-}" = "--codes-only" ] && { KATIB_TS_CODES_ONLY=1; shift; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

api="$work/pkg/apis/manager/v1beta1/python"
mkdir -p "$api"
"$py" -m grpc_tools.protoc -I "$root/proto" --python_out="$api" --grpc_python_out="$api" "$root/proto/api.proto"
sed -i 's/^import api_pb2 as/from pkg.apis.manager.v1beta1.python import api_pb2 as/' "$api/api_pb2_grpc.py"
stub() { mkdir -p "$work/$(dirname "$1")"; printf '%s\n' "$2" > "$work/$1"; }
stub pkg/suggestion/v1beta1/optuna/base_service.py 'class BaseOptunaService: pass'
stub pkg/suggestion/v1beta1/optuna/service.py 'class OptunaService: pass'
stub pkg/suggestion/v1beta1/hyperopt/service.py 'class HyperoptService: pass'
stub pkg/suggestion/v1beta1/skopt/service.py 'class SkoptService: pass'
stub pkg/suggestion/v1beta1/hyperband/service.py 'class HyperbandService: pass'
stub pkg/suggestion/v1beta1/internal/search_space.py $'class HyperParameter: pass\nclass HyperParameterSearchSpace: pass'
stub pkg/suggestion/v1beta1/internal/constant.py $'INTEGER = "int"\nDOUBLE = "double"\nCATEGORICAL = "categorical"\nDISCRETE = "discrete"\nUNIFORM = "UNIFORM"\nLOG_UNIFORM = "LOG_UNIFORM"\nNORMAL = "NORMAL"\nLOG_NORMAL = "LOG_NORMAL"'
stub pkg/earlystopping/v1beta1/medianstop/service.py $'import types\nconfig = types.SimpleNamespace(load_kube_config=lambda *a, **k: None)\nclass MedianStopService: pass'
find "$work/pkg" -type d -exec touch {}/__init__.py \;
cp "$here/grpc_testing.py" "$work/"

mkdir -p "$work/suggestion" "$work/earlystopping"
cp "$tests"/suggestion/utils.py "$work/suggestion/"
for t in optuna hyperopt skopt hyperband; do
  [ -f "$tests/suggestion/test_${t}_service.py" ] && cp "$tests/suggestion/test_${t}_service.py" "$work/suggestion/"
done
cp "$tests"/earlystopping/utils.py "$tests"/earlystopping/test_medianstop_service.py "$work/earlystopping/"

# Each service on a free port; the port is read back from its first log line.
start() {
  local log="$work/$1.log"
  shift
  node "$root/bin/katib.js" serve "$@" --host 127.0.0.1 --port 0 >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    grep -q 'listening on' "$log" && { sed -n 's/.*listening on [^:]*:\([0-9]*\).*/\1/p' "$log" | head -1; return; }
    sleep 0.1
  done
  echo "run.sh: katib serve $* did not start:" >&2
  cat "$log" >&2
  exit 1
}
KATIB_TS_SUGGESTION_PORT=$(start suggestion suggestion)
KATIB_TS_EARLYSTOPPING_PORT=$(start earlystopping earlystopping --algorithm medianstop)
export KATIB_TS_SUGGESTION_PORT KATIB_TS_EARLYSTOPPING_PORT

status=0
for suite in suggestion earlystopping; do
  (cd "$work/$suite" && PYTHONPATH="$work" "$py" -m pytest -p no:cacheprovider -q -rfE \
    -k 'test_get_suggestion or test_validate or test_get_earlystopping_rules' "$@" .) || status=$?
done
exit $status
