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
    the matching path in openapi.json (":id" is "{id}"), and a route flagged
    ROUTE_ETAG documents ETag on its 200, If-None-Match and a 304;
  - the document is exact where contract tools found it loose (check_exact):
    every operation has a description, a 405 with a required `Allow`, and
    every response a required `X-Request-ID`; every 401 a required
    `WWW-Authenticate`; every `/internal/` operation a 404; no `multipleOf`
    (validators reject 150.07 under 0.01); an `info.license`;
    `Idempotency-Key` as the server takes it (1-255 of bytes 0x21-0x7E);
  - the interactive page (/docs) can log in and call the same origin: an
    OAuth2 password flow with tokenUrl /token beside bearer wherever bearer
    is accepted, and "/" as the first server.
Needs no stack: a static check, standard library only.
"""
import glob
import json
import os
import re
import sys

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ROUTE_LINE = re.compile(r'\{\s*"([A-Z]+)"\s*,\s*"(/[^"]*)"\s*,\s*\w+\s*,\s*([^}]*)\}')
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


def route_tables(root, etag=None):
    """{(METHOD, '/path/{id}'): 'workers/x/service.c'} from every route table;
    the routes flagged ROUTE_ETAG are also added to the set etag."""
    routes = {}
    for src in sorted(glob.glob(os.path.join(root, "workers", "*", "service.c"))):
        rel = os.path.relpath(src, root)
        with open(src, encoding="utf-8") as f:
            for line in f:
                m = ROUTE_LINE.search(line)
                if m:
                    path = CAPTURE.sub(r"{\1}", m.group(2))
                    routes[(m.group(1), path)] = rel
                    if etag is not None and "ROUTE_ETAG" in m.group(3):
                        etag.add((m.group(1), path))
    return routes


def operations(doc):
    """(METHOD, path, operation) of every operation in doc."""
    paths = doc.get("paths") if isinstance(doc.get("paths"), dict) else {}
    for path, item in paths.items():
        for m in METHODS:
            if isinstance(item, dict) and isinstance(item.get(m), dict):
                yield m.upper(), path, item[m]


def header(doc, response, name):
    """The header object name of a (dereferenced) response, or None."""
    headers = deref(doc, response).get("headers") or {}
    return deref(doc, headers[name]) if name in headers else None


def has_key(node, key):
    if isinstance(node, dict):
        return key in node or any(has_key(v, key) for v in node.values())
    if isinstance(node, list):
        return any(has_key(v, key) for v in node)
    return False


def check_security(doc, errors):
    schemes = (doc.get("components") or {}).get("securitySchemes") or {}
    oauth = schemes.get("oauth2Password") or {}
    flow = (oauth.get("flows") or {}).get("password") or {}
    if oauth.get("type") != "oauth2" or flow.get("tokenUrl") != "/token":
        errors.append("securitySchemes.oauth2Password: not an OAuth2 password flow "
                      "with tokenUrl /token")
    servers = doc.get("servers") or [{}]
    if servers[0].get("url") != "/":
        errors.append("servers[0] is not \"/\": /docs would call another origin")
    where = [("top level", doc.get("security") or [])]
    where += [(f"{m} {p}", op["security"]) for m, p, op in operations(doc) if "security" in op]
    for name, security in where:
        names = {k for req in security for k in req}
        if "bearerAuth" in names and "oauth2Password" not in names:
            errors.append(f"{name}: security has bearerAuth but not oauth2Password")


def idempotency_key_ok(schema):
    """The schema accepts what common/idem.c accepts: 1-255 bytes 0x21-0x7E."""
    pattern = schema.get("pattern")
    if schema.get("maxLength") != 255 or schema.get("minLength") != 1 or not pattern:
        return False
    printable = "".join(chr(c) for c in range(0x21, 0x7F))
    good = [printable, "k" * 255, "a"]
    bad = ["", "k" * 256, "a b", "tab\there", "caf\u00e9", "del\x7f"]
    return (all(re.search(pattern, k) for k in good) and
            not any(re.search(pattern, k) and 1 <= len(k) <= 255 for k in bad))


def check_exact(doc, errors):
    if has_key(doc, "multipleOf"):
        errors.append("a schema has multipleOf: describe money as 'at most two decimals'")
    lic = (doc.get("info") or {}).get("license") or {}
    if not lic.get("name") or not (lic.get("identifier") or lic.get("url")):
        errors.append("info.license needs a name and an identifier or url")
    key = deref(doc, {"$ref": "#/components/parameters/IdempotencyKey"})
    if not idempotency_key_ok(key.get("schema") or {}):
        errors.append("parameters.IdempotencyKey: not 1-255 printable ASCII without spaces")
    for m, path, op in operations(doc):
        name = f"{m} {path}"
        if not str(op.get("description", "")).strip():
            errors.append(f"{name}: no description")
        responses = op.get("responses") or {}
        allow = header(doc, responses["405"], "Allow") if "405" in responses else None
        if not (allow and allow.get("required")):
            errors.append(f"{name}: no 405 with a required Allow header")
        if path.startswith("/internal/") and "404" not in responses:
            errors.append(f"{name}: no 404 (the gateway never routes /internal/*)")
        for code, response in responses.items():
            rid = header(doc, response, "X-Request-ID")
            if not (rid and rid.get("required")):
                errors.append(f"{name} {code}: no required X-Request-ID header")
            www = header(doc, response, "WWW-Authenticate")
            if code == "401" and not (www and www.get("required")):
                errors.append(f"{name} 401: no required WWW-Authenticate header")


def check_etag(doc, etag, errors):
    for method, path in sorted(etag):
        op = ((doc.get("paths") or {}).get(path) or {}).get(method.lower()) or {}
        responses = op.get("responses") or {}
        tag = header(doc, responses["200"], "ETag") if "200" in responses else None
        params = {deref(doc, p).get("name") for p in op.get("parameters") or []}
        if not (tag and tag.get("required")) or "304" not in responses or \
                "If-None-Match" not in params:
            errors.append(f"{method} {path}: ROUTE_ETAG, but no required ETag on 200, "
                          "If-None-Match or 304 documented")


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

    check_security(doc, errors)
    check_exact(doc, errors)
    etag = set()
    routes = route_tables(root, etag)
    check_etag(doc, etag, errors)
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
