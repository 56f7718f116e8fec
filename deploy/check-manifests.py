#!/usr/bin/env python3
"""Checks deploy/kubernetes/*.yaml without a cluster: every document parses
and has its required fields, and the pieces agree with each other and with
the tls-tunnel configuration in the ConfigMap (probe paths and ports, the
ticket key Secret, selectors, the termination grace period).

Usage: check-manifests.py MANIFEST [TOML_OUT]
Writes the ConfigMap's tunnel.toml to TOML_OUT (for `tls-tunnel --check`).
Prints one line per problem and exits 1 if there is any. Needs python3-yaml.
"""

import posixpath
import re
import sys
import tomllib

import yaml

REQUIRED_KINDS = {"ConfigMap", "Secret", "Deployment", "Service", "PodDisruptionBudget"}
API_VERSIONS = {
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "PodDisruptionBudget": "policy/v1",
}
problems = []


def problem(msg):
    problems.append(msg)


def seconds(text):
    """A tls-tunnel duration ("500ms", "30", "30s", "5m", "12h", "7d") in seconds."""
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", text)
    if not m:
        problem(f"duration {text!r} is not one tls-tunnel reads")
        return 0
    scale = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    return int(m.group(1)) * scale


def port_of(addr):
    return int(addr.rsplit(":", 1)[1])


def subset(small, big):
    return all(big.get(k) == v for k, v in (small or {}).items())


def main():
    path = sys.argv[1]
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    by_kind = {}
    for d in docs:
        kind = d.get("kind")
        for field in ("apiVersion", "kind", "metadata"):
            if field not in d:
                problem(f"{kind or 'a document'}: no {field}")
        if not (d.get("metadata") or {}).get("name"):
            problem(f"{kind}: no metadata.name")
        if kind in API_VERSIONS and d.get("apiVersion") != API_VERSIONS[kind]:
            problem(f"{kind}: apiVersion {d.get('apiVersion')!r}, want {API_VERSIONS[kind]!r}")
        by_kind.setdefault(kind, []).append(d)
    missing = REQUIRED_KINDS - by_kind.keys()
    if missing:
        problem(f"missing kinds: {sorted(missing)}")
        return
    cm, secret, deploy, svc, pdb = (by_kind[k][0] for k in
                                    ("ConfigMap", "Secret", "Deployment", "Service", "PodDisruptionBudget"))

    text = cm.get("data", {}).get("tunnel.toml")
    if text is None:
        problem("ConfigMap: no data.tunnel.toml")
        return
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            f.write(text)
    cfg = tomllib.loads(text)
    glob = cfg.get("global", {})
    service = cfg["service"][0]
    if "metrics" not in glob:
        problem("tunnel.toml: no [global] metrics: the probes have nothing to ask")
        return
    probe_port = port_of(glob["metrics"])
    if not glob["metrics"].startswith("0.0.0.0:"):
        problem("tunnel.toml: metrics must listen on 0.0.0.0 for the kubelet's probes")
    listen_port = port_of(service["listen"])

    spec = deploy["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"].get("labels", {})
    if not subset(spec["selector"].get("matchLabels"), labels):
        problem("Deployment: selector does not match the pod labels")
    containers = pod.get("containers") or []
    if len(containers) != 1:
        problem("Deployment: want one container")
        return
    c = containers[0]
    for field in ("name", "image"):
        if not c.get(field):
            problem(f"Deployment: container has no {field}")
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}

    def resolve(port):
        return ports.get(port) if isinstance(port, str) else port

    for probe, want in (("readinessProbe", "/readyz"), ("livenessProbe", "/livez")):
        get = (c.get(probe) or {}).get("httpGet")
        if not get:
            problem(f"Deployment: no {probe}.httpGet")
            continue
        if get.get("path") != want:
            problem(f"Deployment: {probe} asks {get.get('path')!r}, tls-tunnel answers {want}")
        if resolve(get.get("port")) != probe_port:
            problem(f"Deployment: {probe} port {get.get('port')!r} is not metrics port {probe_port}")
    if listen_port not in ports.values():
        problem(f"Deployment: no containerPort for the service's listen port {listen_port}")

    grace = pod.get("terminationGracePeriodSeconds", 30)
    need = seconds(glob.get("drain_grace", "0s")) + seconds(glob.get("drain_timeout", "30s"))
    if grace <= need:
        problem(f"Deployment: terminationGracePeriodSeconds {grace} <= drain_grace + drain_timeout ({need:g} s)")

    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}

    def volume_at(file):
        """The volume mounted at the directory holding `file`, and the name inside it."""
        d, base = posixpath.split(file)
        for name, at in mounts.items():
            if at.rstrip("/") == d:
                return volumes.get(name), base
        problem(f"Deployment: nothing mounted at {d} (for {file})")
        return None, base

    args = c.get("args", [])
    if "--config" not in args:
        problem("Deployment: no --config argument")
    else:
        vol, base = volume_at(args[args.index("--config") + 1])
        if vol and (vol.get("configMap", {}).get("name") != cm["metadata"]["name"] or base not in cm["data"]):
            problem(f"Deployment: --config is not the ConfigMap's {base}")
    if "subPath" in str(c.get("volumeMounts")):
        problem("Deployment: subPath mounts never see ConfigMap or Secret updates")

    key_file = service.get("ticket_key_file")
    if not key_file:
        problem("tunnel.toml: no ticket_key_file: replicas would not share tickets")
    else:
        vol, base = volume_at(key_file)
        if vol and vol.get("secret", {}).get("secretName") != secret["metadata"]["name"]:
            problem("Deployment: ticket_key_file is not in the ticket key Secret")
        data = dict(secret.get("stringData") or {})
        if base not in data and base not in (secret.get("data") or {}):
            problem(f"Secret: no key {base!r} for ticket_key_file")
        keys = [l.strip() for l in data.get(base, "").splitlines()
                if l.strip() and not l.strip().startswith("#")]
        if not keys or not all(re.fullmatch(r"[0-9a-fA-F]{64}", k) for k in keys):
            problem("Secret: ticket keys must be 64 hex digits each, one a line")
    for field in ("cert", "key"):
        if field in service:
            vol, _ = volume_at(service[field])
            if vol and "secret" not in vol:
                problem(f"Deployment: {field} should come from a Secret")

    if not subset(svc["spec"].get("selector"), labels) or not svc["spec"].get("selector"):
        problem("Service: selector does not match the pod labels")
    for p in svc["spec"].get("ports", []):
        if resolve(p.get("targetPort", p.get("port"))) != listen_port:
            problem(f"Service: targetPort {p.get('targetPort')!r} is not the listen port {listen_port}")

    if not subset(pdb["spec"].get("selector", {}).get("matchLabels"), labels):
        problem("PodDisruptionBudget: selector does not match the pod labels")
    if pdb["spec"].get("minAvailable", 0) >= spec.get("replicas", 1):
        problem("PodDisruptionBudget: minAvailable leaves no pod to disrupt")


main()
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
