#!/usr/bin/python3
"""Check that docker-compose.yml gives each pool exactly what it reads.

Usage: check_compose.py BIN_DIR [COMPOSE_FILE]
       (default file: docker-compose.yml two levels above this one)

No Docker engine is needed: the file is read with PyYAML (python3-yaml),
which resolves anchors and merge keys; ${VAR...} stays as written. A
service runs a pool when its command is BIN/flightops-<svc> (its migrate
step too). For each of those, against `BIN_DIR/flightops-<svc> --settings`
(NAME, secret|plain, required|optional, default, help):
  - every variable in its environment is a setting that binary reads (no
    setting of another service, no secret it does not read), and every
    required setting is set, not empty; no env_file (it would be unchecked);
  - a secret setting comes from the environment (${VAR:?...}), never a
    literal or a default; so does any *PASSWORD*, *SECRET*, *_KEY variable
    of any service;
  - the host of every URL it is given is a service of the file;
  - a serving pool (not --migrate) listens on TCP host:port, its health
    check names that port, it has deploy.replicas and nothing host-only
    (ports, volumes, container_name, network_mode), so it runs as a Swarm
    service too;
  - every binary in BIN_DIR has a serving pool.
Every service has a health check; only a one-shot step (deploy.mode
replicated-job) may disable it. Exits 1 listing every failure, 0 when all pass.
"""
import os
import re
import subprocess
import sys
import urllib.parse

try:
    import yaml
except ImportError:
    sys.exit("check_compose.py: needs PyYAML (apt-get install python3-yaml)")

POOL_BIN = re.compile(r"(?:^|/)flightops-([a-z]+)$")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|_AUTH$")
FROM_ENV = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:?\?[^}]*)?\}")
INTERPOLATION = re.compile(r"\$\{[^}]*\}")
HOST_ONLY = ("ports", "volumes", "container_name", "network_mode", "pid", "ipc")


def settings_of(bin_dir, svc, cache):
    """{name: (secret, required)} that flightops-<svc> reads."""
    if svc not in cache:
        path = os.path.join(bin_dir, f"flightops-{svc}")
        if not os.access(path, os.X_OK):
            sys.exit(f"check_compose.py: the file runs flightops-{svc}, but {path} "
                     "is not built (or the service does not exist)")
        out = subprocess.run([path, "--settings"], check=True, capture_output=True,
                             text=True).stdout
        table = {}
        for line in out.splitlines():
            name, kind, need = line.split("\t")[:3]
            table[name] = (kind == "secret", need == "required")
        cache[svc] = table
    return cache[svc]


def command_of(service):
    """The service's command as a list (empty when it has none)."""
    cmd = service.get("command") or []
    return cmd.split() if isinstance(cmd, str) else [str(c) for c in cmd]


def environment_of(service):
    """The service's environment as {name: value or None}."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {k: (None if v is None else str(v)) for k, v in env.items()}


def check_secret(where, name, value, errors):
    if value is None or not FROM_ENV.search(value) or ":-" in value:
        errors.append(f"{where}: {name} is a secret: take it from the environment "
                      "(${VAR:?message}), never a literal or a default")


def check_urls(where, env, services, errors):
    for name, value in env.items():
        if value is None or "://" not in value:
            continue
        host = urllib.parse.urlsplit(INTERPOLATION.sub("x", value)).hostname
        if host not in services:
            errors.append(f"{where}: {name} points at '{host}', which is not a service "
                          "of this file")


def check_pool_env(where, svc, env, table, errors):
    for name, value in sorted(env.items()):
        if name not in table:
            errors.append(f"{where}: sets {name}, which flightops-{svc} does not read")
        elif table[name][0]:
            check_secret(where, name, value, errors)
    for name, (_, required) in sorted(table.items()):
        if required and not env.get(name):
            errors.append(f"{where}: does not set {name}, which flightops-{svc} requires")


def check_serving(where, service, env, errors):
    listen = env.get("LISTEN") or ""
    if not re.fullmatch(r"[^/:]+:[0-9]+", listen):
        errors.append(f"{where}: LISTEN must be host:port (a pool is reached over the "
                      f"network, under Swarm too), not '{listen}'")
    test = (service.get("healthcheck") or {}).get("test") or []
    test = test if isinstance(test, str) else " ".join(str(t) for t in test)
    if listen and listen.rsplit(":", 1)[-1] not in test:
        errors.append(f"{where}: its healthcheck does not ask the pool's own port ({listen})")
    if "replicas" not in (service.get("deploy") or {}):
        errors.append(f"{where}: has no deploy.replicas")
    for key in HOST_ONLY:
        if key in service:
            errors.append(f"{where}: has {key}, which a Swarm service cannot rely on")


def check_health(where, service, errors):
    health = service.get("healthcheck")
    one_shot = (service.get("deploy") or {}).get("mode") == "replicated-job"
    if not health:
        errors.append(f"{where}: has no healthcheck")
    elif health.get("disable") and not one_shot:
        errors.append(f"{where}: disables its healthcheck but is not a one-shot step")


def check_service(name, service, ctx, errors):
    where = f"services.{name}"
    env = environment_of(service)
    check_health(where, service, errors)
    cmd = command_of(service)
    match = POOL_BIN.search(cmd[0]) if cmd else None
    table = settings_of(ctx["bin"], match.group(1), ctx["cache"]) if match else {}
    for var, value in env.items():
        if var not in table and SECRET_NAME.search(var):
            check_secret(where, var, value, errors)
    if not match:
        return
    svc = match.group(1)
    if "env_file" in service:
        errors.append(f"{where}: has env_file: give a pool its settings in environment")
    check_pool_env(where, svc, env, table, errors)
    check_urls(where, env, ctx["services"], errors)
    if "--migrate" not in cmd[1:]:
        ctx["serving"].add(svc)
        check_serving(where, service, env, errors)


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit(__doc__)
    if not os.path.isdir(argv[1]) or not any(POOL_BIN.search(f) for f in os.listdir(argv[1])):
        sys.exit(f"check_compose.py: no flightops-<svc> binary in {argv[1]}: build the pools")
    here = os.path.dirname(os.path.abspath(__file__))
    path = argv[2] if len(argv) == 3 else os.path.join(here, "..", "..", "docker-compose.yml")
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    services = doc.get("services") or {}
    ctx = {"bin": argv[1], "cache": {}, "services": set(services), "serving": set()}
    errors = []
    for name, service in services.items():
        check_service(name, service, ctx, errors)
    built = sorted(POOL_BIN.search(f).group(1) for f in os.listdir(argv[1])
                   if POOL_BIN.search(f))
    for svc in built:
        if svc not in ctx["serving"]:
            errors.append(f"{path}: no service runs flightops-{svc}")
    for e in errors:
        print(e)
    print(f"check_compose.py: {len(services)} services, {len(ctx['cache'])} pools checked, "
          f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
