#!/usr/bin/env bash
# Checks the Helm chart charts/ringcache-operator without a cluster:
#  - `helm lint --strict` with the default values, with ci/all-options-values.yaml (every option on)
#    and with ci/everything-off-values.yaml;
#  - the three renders pass `kubernetes-validate --strict -k 1.37.0`; a monitoring.coreos.com ServiceMonitor,
#    whose schema kubernetes-validate does not have, is checked against the subset of the Prometheus
#    operator's schema that the chart uses (field names and types, unknown fields rejected);
#  - the chart's dashboard copy is byte-identical to docs/grafana/ringcache.json;
#  - the chart's CRD copy is byte-identical to the generated crds/ file, and the rendered CRD has the
#    same spec (the template re-serialises it to add labels and the keep policy);
#  - every value of values.schema.json has a default in values.yaml and a row in the chart's README;
#  - combinations the chart refuses do fail the render, with their message.
# Uses helm from RINGCACHE_HELM, else ~/.cache/ringcache/bin, else PATH (scripts/install-deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

chart=charts/ringcache-operator
all_options="$chart/ci/all-options-values.yaml"
generated_crd=crds/cacheclusters.cache.ringcache.dev.yaml
chart_crd="$chart/files/cacheclusters.cache.ringcache.dev.yaml"
venv="${RINGCACHE_PYVENV:-$HOME/.cache/ringcache/venv}"
helm="${RINGCACHE_HELM:-$HOME/.cache/ringcache/bin/helm}"
[ -x "$helm" ] || helm=$(command -v helm) \
  || { echo "check-chart: no helm (RINGCACHE_HELM, ~/.cache/ringcache/bin/helm, PATH); run scripts/install-deps.sh" >&2; exit 1; }
export PATH="$venv/bin:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "-- chart CRD copy equals $generated_crd"
cmp "$generated_crd" "$chart_crd" \
  || { echo "check-chart: $chart_crd differs from $generated_crd; cp $generated_crd $chart_crd" >&2; exit 1; }

echo "-- chart dashboard copy equals docs/grafana/ringcache.json"
cmp docs/grafana/ringcache.json "$chart/dashboards/ringcache.json" \
  || { echo "check-chart: $chart/dashboards/ringcache.json differs; cp docs/grafana/ringcache.json $chart/dashboards/" >&2; exit 1; }

for values in default "$all_options" "$chart/ci/everything-off-values.yaml"; do
  args=(--namespace ringcache-system)
  [ "$values" = default ] || args+=(--values "$values")
  echo "-- helm lint --strict ($values values)"
  "$helm" lint --strict --quiet "$chart" "${args[@]}"
  echo "-- helm template | kubernetes-validate --strict -k 1.37.0 ($values values)"
  "$helm" template ringcache "$chart" "${args[@]}" > "$work/rendered.yaml"
  kubernetes-validate --strict --quiet -k 1.37.0 "$work/rendered.yaml"
  crd_expected=yes
  [ "$values" != "$chart/ci/everything-off-values.yaml" ] || crd_expected=no
  python - "$work/rendered.yaml" "$generated_crd" "$crd_expected" <<'PYTHON'
import sys

import jsonschema
import yaml

rendered_path, crd_path, crd_expected = sys.argv[1:]
documents = [doc for doc in yaml.safe_load_all(open(rendered_path)) if doc]


def closed(properties, required=()):
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


string_map = {"type": "object", "additionalProperties": {"type": "string"}}
duration = {"type": "string", "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}
# The part of the Prometheus operator's monitoring.coreos.com/v1 ServiceMonitor schema that the chart
# renders: same names and types, anything else is rejected.
service_monitor = closed(
    {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": closed(
            {"name": {"type": "string"}, "namespace": {"type": "string"}, "labels": string_map},
            ["name", "namespace"],
        ),
        "spec": closed(
            {
                "namespaceSelector": closed({"matchNames": {"type": "array", "items": {"type": "string"}}}),
                "selector": closed({"matchLabels": string_map}, ["matchLabels"]),
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": closed(
                        {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "interval": duration,
                            "scrapeTimeout": duration,
                        },
                        ["port"],
                    ),
                },
            },
            ["selector", "endpoints"],
        ),
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

failures = 0
generated = yaml.safe_load(open(crd_path))
for document in documents:
    kind, name = document.get("kind"), document.get("metadata", {}).get("name")
    if document.get("apiVersion", "").startswith("monitoring.coreos.com/"):
        errors = list(jsonschema.Draft7Validator(service_monitor).iter_errors(document))
        for error in errors:
            where = ".".join(str(part) for part in error.absolute_path) or "<root>"
            print(f"FAIL {kind}/{name}: {where}: {error.message}")
        failures += bool(errors)
        if not errors:
            print(f"ok   {kind}/{name}: matches the ServiceMonitor fields the chart uses (no CRD schema offline)")
    if kind == "CustomResourceDefinition":
        if document["spec"] != generated["spec"] or document["metadata"]["name"] != generated["metadata"]["name"]:
            print(f"FAIL {kind}/{name}: rendered spec differs from {crd_path}")
            failures += 1
        elif document["metadata"].get("annotations", {}).get("helm.sh/resource-policy") != "keep":
            print(f"FAIL {kind}/{name}: no helm.sh/resource-policy: keep")
            failures += 1
        else:
            print(f"ok   {kind}/{name}: same spec as {crd_path}, kept on uninstall")
crds = sum(document.get("kind") == "CustomResourceDefinition" for document in documents)
if crds != (1 if crd_expected == "yes" else 0):
    print(f"FAIL {crds} CustomResourceDefinition(s) rendered, expected {1 if crd_expected == 'yes' else 0}")
    failures += 1
sys.exit(1 if failures else 0)
PYTHON
done

echo "-- every value is in values.yaml and documented in $chart/README.md"
python - "$chart" <<'PYTHON'
import json
import sys

import yaml

chart = sys.argv[1]
schema = json.load(open(f"{chart}/values.schema.json"))
values = yaml.safe_load(open(f"{chart}/values.yaml"))
readme = open(f"{chart}/README.md").read()


def leaves(node, prefix=""):
    """Value paths down to the objects the chart defines key by key: closed, with required keys
    (`resources`, closed but a Kubernetes type, is one value)."""
    for key, child in node.get("properties", {}).items():
        path = f"{prefix}{key}"
        if child.get("additionalProperties") is False and child.get("required"):
            yield from leaves(child, path + ".")
        else:
            yield path


missing = []
for path in leaves(schema):
    if path == "global":
        continue
    node = values
    for part in path.split("."):
        node = node.get(part, KeyError) if isinstance(node, dict) else KeyError
    if node is KeyError:
        missing.append(f"{path}: in values.schema.json, not in values.yaml")
    if f"| `{path}` |" not in readme:
        missing.append(f"{path}: not in the README's values table")
for problem in missing:
    print(f"FAIL {problem}")
sys.exit(1 if missing else 0)
PYTHON

echo "-- refused combinations fail the render"
refused() {
  local expected="$1"
  shift
  if "$helm" template ringcache "$chart" "$@" > /dev/null 2> "$work/error.txt"; then
    echo "check-chart: helm template $* rendered; it must fail with: $expected" >&2
    exit 1
  fi
  grep -qF "$expected" "$work/error.txt" \
    || { echo "check-chart: helm template $* failed without '$expected':" >&2; cat "$work/error.txt" >&2; exit 1; }
  echo "ok   $* -> $expected"
}
refused "leaderElection.enabled is false" --set replicaCount=2 --set leaderElection.enabled=false
refused "the operator watches one namespace or all of them" --set 'watchNamespaces={a,b}'
refused "needs metrics.service.enabled" --set monitoring.serviceMonitor.enabled=true --set metrics.service.enabled=false
refused "additional properties 'replicas' not allowed" --set replicas=2
echo "chart checks passed"
