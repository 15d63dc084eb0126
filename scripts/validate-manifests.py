#!/usr/bin/env python3
"""Validates the generated CRD and the example CacheClusters without a cluster.

1. `kubernetes-validate --strict -k 1.37.0` on the CRD and on every example (for a CacheCluster it
   only checks that the document is a well-formed Kubernetes object: it has no schema for our kind).
2. Every example against the CRD's own openAPIV3Schema with `jsonschema`, strictly: an unknown
   field is an error (the API server would drop it, and `kubectl apply` refuses it by default).

The CEL rules (x-kubernetes-validations) are checked by the Rust test operator/tests/crd_schema.rs.
Usage: scripts/validate-manifests.py CRD_FILE EXAMPLE...
"""
import copy
import subprocess
import sys

import jsonschema
import yaml

KUBERNETES_VERSION = "1.37.0"


def strict(schema):
    """Adds additionalProperties: false wherever the API server would prune unknown fields."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if not isinstance(node, dict):
            return
        if (
            "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        for key in ("properties", "patternProperties"):
            for child in node.get(key, {}).values():
                walk(child)
        for key in ("items", "additionalProperties", "not"):
            if isinstance(node.get(key), dict):
                walk(node[key])
        for key in ("allOf", "anyOf", "oneOf"):
            for child in node.get(key, []):
                walk(child)

    walk(schema)
    # The root of a custom resource also carries apiVersion, kind and metadata.
    schema.setdefault("properties", {})
    for field in ("apiVersion", "kind"):
        schema["properties"].setdefault(field, {"type": "string"})
    schema["properties"].setdefault("metadata", {"type": "object"})
    return schema


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    crd_path, examples = argv[0], argv[1:]
    failures = 0
    result = subprocess.run(
        ["kubernetes-validate", "-k", KUBERNETES_VERSION, "--strict", crd_path, *examples]
    )
    if result.returncode != 0:
        failures += 1

    with open(crd_path) as handle:
        crd = yaml.safe_load(handle)
    group = crd["spec"]["group"]
    kind = crd["spec"]["names"]["kind"]
    schemas = {
        f"{group}/{version['name']}": strict(version["schema"]["openAPIV3Schema"])
        for version in crd["spec"]["versions"]
    }
    for path in examples:
        with open(path) as handle:
            documents = [doc for doc in yaml.safe_load_all(handle) if doc]
        for document in documents:
            if document.get("kind") != kind:
                continue
            name = document.get("metadata", {}).get("name", "?")
            schema = schemas.get(document.get("apiVersion"))
            if schema is None:
                print(f"FAIL {path} {kind}/{name}: unknown apiVersion {document.get('apiVersion')}")
                failures += 1
                continue
            errors = sorted(
                jsonschema.Draft4Validator(schema).iter_errors(document),
                key=lambda error: list(error.absolute_path),
            )
            for error in errors:
                location = ".".join(str(part) for part in error.absolute_path) or "<root>"
                print(f"FAIL {path} {kind}/{name}: {location}: {error.message}")
            if errors:
                failures += 1
            else:
                print(f"ok   {path} {kind}/{name} matches the CRD schema")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
