#!/usr/bin/env bash
# The project's test command (the README names it; CI runs it): installs what is missing, then the
# format check, clippy with warnings denied, the generated-CRD drift check, offline validation of the
# CRD and the examples, the Helm chart checks (scripts/check-chart.sh), every test of the workspace, the
# fuzz targets briefly (scripts/fuzz.sh), and the end-to-end suite a second time against a real control plane (etcd, kube-apiserver,
# kube-controller-manager built by scripts/install-kube.sh, which scripts/install-deps.sh runs).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
export PATH="${RINGCACHE_PYVENV:-$HOME/.cache/ringcache/venv}/bin:$PATH"
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== generated CRD is up to date (ringcache-operator crd)"
cargo run -q -p ringcache-operator --locked -- crd | diff -u crds/cacheclusters.cache.ringcache.dev.yaml - \
  || { echo "crds/ is stale: cargo run -p ringcache-operator -- crd > crds/cacheclusters.cache.ringcache.dev.yaml" >&2; exit 1; }
echo "== CRD and examples validate (kubernetes-validate --strict -k 1.37.0, the CRD's own schema)"
python scripts/validate-manifests.py crds/cacheclusters.cache.ringcache.dev.yaml examples/*.yaml
echo "== helm chart (lint, render, kubernetes-validate, CRD copy)"
scripts/check-chart.sh
echo "== cargo test"
# The binaries are installed above, so tests that need them must not skip.
export RINGCACHE_E2E_REQUIRE_REAL=1
cargo test --workspace --locked
echo "== fuzz targets, 10 s each on their corpus (scripts/fuzz.sh installs nightly and cargo-fuzz when missing)"
scripts/fuzz.sh --time 10
echo "== end-to-end suite against the real control plane (kube-apiserver, kube-controller-manager, etcd)"
# The stand-in's API tests that describe real behaviour (those started with start_either) run against
# kube-apiserver too; the others run against the stand-in again, which takes seconds.
e2e_tests=(--test local_cluster --test local_tls --test 'apiserver_*')
for file in e2e/tests/rebalance*.rs; do
  [ -e "$file" ] && e2e_tests+=(--test "$(basename "$file" .rs)")
done
RINGCACHE_E2E_CONTROL_PLANE=real cargo test --locked -p ringcache-e2e "${e2e_tests[@]}"
echo "== container images: build, run, and a 3-member cluster from the node image (skipped without Docker)"
scripts/docker-smoke.sh
