#!/usr/bin/python3
"""Check openapi.json against itself and against the route tables.

Usage: check_openapi.py [REPO_ROOT]   (default: two levels above this file)

Checks, and exits 1 listing every failure (0 when all pass):
  - openapi.json is valid JSON and "openapi" is "3.1.x";
  - every "$ref" is a local JSON pointer ("#/...") that resolves;
  - every path parameter "{name}" is declared (in: path) on the path or on
    each of its operations, and every operation has "responses";
  - every route of every workers/*/service.c route table (a line such as
    `{ "GET", "/users/:id", users_get, ROUTE_ADMIN },`) has that method on
    the matching path in openapi.json (":id" is "{id}").
Needs no stack: a static check, standard library only.
"""
import glob
import json
import os
import re
import sys

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ROUTE_LINE = re.compile(r'\{\s*"([A-Z]+)"\s*,\s*"(/[^"]*)"')
CAPTURE = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")
TEMPLATE = re.compile(r"\{([^}/]+)\}")


def pointer(doc, ref):
    """The object ref ("#/a/b") names in doc, or raise KeyError."""
    if not ref.startswith("#"):
        raise KeyError("not a local reference")
    node = doc
    for part in ref[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(part)
    return node


def walk_refs(doc, node, where, errors):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            try:
                pointer(doc, ref)
            except (KeyError, ValueError, IndexError) as e:
                errors.append(f"{where}: $ref '{ref}' does not resolve ({e})")
        for k, v in node.items():
            key = k.replace("~", "~0").replace("/", "~1")
            walk_refs(doc, v, f"{where}/{key}", errors)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk_refs(doc, v, f"{where}/{i}", errors)


def deref(doc, node):
    """Follow $ref chains (bounded); unresolved refs give {}."""
    for _ in range(16):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            return node
        try:
            node = pointer(doc, node["$ref"])
        except (KeyError, ValueError, IndexError):
            return {}
    return {}


def path_params(doc, params):
    names = set()
    for p in params or []:
        p = deref(doc, p)
        if p.get("in") == "path":
            names.add(p.get("name"))
    return names


def check_paths(doc, errors):
    paths = doc.get("paths")
    if not isinstance(paths, dict) or not paths:
        errors.append("no 'paths' object")
        return
    for path, item in paths.items():
        if not path.startswith("/"):
            errors.append(f"path '{path}' does not start with '/'")
        wanted = set(TEMPLATE.findall(path))
        common = path_params(doc, item.get("parameters"))
        ops = [m for m in METHODS if m in item]
        if not ops:
            errors.append(f"{path}: no operations")
        for m in ops:
            op = item[m]
            if not isinstance(op.get("responses"), dict) or not op["responses"]:
                errors.append(f"{m.upper()} {path}: no responses")
            declared = common | path_params(doc, op.get("parameters"))
            for name in sorted(wanted - declared):
                errors.append(f"{m.upper()} {path}: path parameter '{name}' not declared")


def route_tables(root):
    """{(METHOD, '/path/{id}'): 'workers/x/service.c'} from every route table."""
    routes = {}
    for src in sorted(glob.glob(os.path.join(root, "workers", "*", "service.c"))):
        rel = os.path.relpath(src, root)
        with open(src, encoding="utf-8") as f:
            for line in f:
                m = ROUTE_LINE.search(line)
                if m:
                    path = CAPTURE.sub(r"{\1}", m.group(2))
                    routes[(m.group(1), path)] = rel
    return routes


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..")
    errors = []
    try:
        with open(os.path.join(root, "openapi.json"), encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"check_openapi: openapi.json: {e}", file=sys.stderr)
        return 1
    if not isinstance(doc, dict) or not re.fullmatch(r"3\.1\.\d+", str(doc.get("openapi", ""))):
        errors.append("'openapi' is not \"3.1.x\"")
        doc = doc if isinstance(doc, dict) else {}
    for key in ("info", "paths"):
        if key not in doc:
            errors.append(f"missing top-level '{key}'")
    walk_refs(doc, doc, "#", errors)
    check_paths(doc, errors)

    routes = route_tables(root)
    if not routes:
        errors.append("no routes found in workers/*/service.c (route table format changed?)")
    paths = doc.get("paths") if isinstance(doc.get("paths"), dict) else {}
    for (method, path), src in sorted(routes.items()):
        if method.lower() not in paths.get(path, {}):
            errors.append(f"{src}: route {method} {path} is not in openapi.json")

    for e in errors:
        print(f"check_openapi: {e}", file=sys.stderr)
    if errors:
        print(f"check_openapi: FAILED ({len(errors)} problem(s))", file=sys.stderr)
        return 1
    print(f"check_openapi: ok ({len(paths)} paths, {len(routes)} routes checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
