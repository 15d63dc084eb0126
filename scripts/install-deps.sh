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
# Python tools that validate the CRD and the examples offline (scripts/validate-manifests.py), in a
# virtualenv of their own: Debian's system Python refuses `pip install` (PEP 668).
venv="${RINGCACHE_PYVENV:-$HOME/.cache/ringcache/venv}"
if ! "$venv/bin/python" -c 'import jsonschema, yaml, kubernetes_validate' >/dev/null 2>&1; then
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "install-deps: need python3 with venv; run as root or: sudo apt-get install -y python3-venv" >&2
      exit 1
    fi
    echo "install-deps: apt-get install python3 python3-venv"
    apt-get update -qq >/dev/null || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
  fi
  echo "install-deps: python venv $venv with kubernetes-validate, jsonschema, pyyaml"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    'kubernetes-validate==1.37.0' 'jsonschema>=4,<5' 'pyyaml>=6,<7'
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
