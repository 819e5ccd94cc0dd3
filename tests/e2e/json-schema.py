#!/usr/bin/env python3
"""json-schema.py - validates a document against a schema of docs/json.md.

    json-schema.py DOCS_JSON_MD check-schemas
        every schema block is a valid draft 2020-12 schema; prints the names
    json-schema.py DOCS_JSON_MD NAME FILE [--partial]
        FILE (one JSON document) against the schema NAME; --partial drops
        the required keys of a certificate (get --fields)

Exit 0 when valid; 1, with the validator's reasons on stderr, when not.
Used by tests/e2e/json.sh and tests/e2e/tables.sh; not a test itself.
"""
import copy
import json
import re
import sys

from jsonschema import Draft202012Validator

BLOCK = re.compile(r"^```json schema=(\S+)\n(.*?)^```", re.M | re.S)


def schemas(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    found = {}
    for name, body in BLOCK.findall(text):
        if name in found:
            sys.exit(f"{path}: schema {name} written twice")
        found[name] = json.loads(body)
    return found


def with_defs(found, name, partial):
    schema = copy.deepcopy(found[name])
    defs = copy.deepcopy(found["defs"]["$defs"])
    if partial:
        del defs["Certificate"]["required"]
    schema["$defs"] = defs
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def main():
    found = schemas(sys.argv[1])
    if sys.argv[2] == "check-schemas":
        for name in sorted(found):
            Draft202012Validator.check_schema(with_defs(found, name, False))
        print(" ".join(sorted(found)))
        return 0
    name, path = sys.argv[2], sys.argv[3]
    if name not in found:
        sys.exit(f"no schema {name} in {sys.argv[1]}")
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    v = Draft202012Validator(with_defs(found, name, "--partial" in sys.argv))
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    for e in errors[:5]:
        where = "/".join(str(p) for p in e.path) or "(document)"
        print(f"{where}: {e.message[:300]}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
