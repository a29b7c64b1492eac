#!/usr/bin/env python3
"""Offline checks of the deployment files (scripts/check-deploy.sh runs them).

  deploy_check.py compose deploy/docker-compose.yml
  deploy_check.py kube RENDERED.yaml GATEWAY_BINARY   # output of `kubectl kustomize`
  deploy_check.py dashboard deploy/grafana/upload-gateway.json SCRAPE.txt
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib

import yaml

failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL: {msg}", file=sys.stderr)


def check_compose(path):
    doc = yaml.safe_load(open(path))
    for name, svc in doc["services"].items():
        if svc.get("restart") not in ("always", "unless-stopped", "on-failure"):
            fail(f"compose: service {name} has no restart policy")
        for port in svc.get("ports", []):
            if not str(port).startswith("127.0.0.1:"):
                fail(f"compose: {name} publishes {port} on every interface")
    gw = doc["services"]["gateway"]
    mounts = [v for v in gw["volumes"] if isinstance(v, dict)
              and v.get("target") == "/etc/upload-gateway/config.toml"]
    # The short form "./config.toml:/etc/..." makes a missing file an empty directory.
    if not mounts or mounts[0].get("type") != "bind" \
            or mounts[0].get("bind", {}).get("create_host_path") is not False:
        fail("compose: the config must be a long-syntax bind with create_host_path: false")
    if not any(str(v).endswith(":/var/lib/upload-gateway/journal") for v in gw["volumes"]):
        fail("compose: the journal needs a named volume")


def seconds(s):
    m = re.fullmatch(r"(\d+)s", str(s))
    return int(m.group(1)) if m else int(s)


def check_kube(path, binary):
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    for kind in ("StatefulSet", "Service", "ConfigMap", "PodDisruptionBudget",
                 "HorizontalPodAutoscaler", "NetworkPolicy"):
        if kind not in by_kind:
            fail(f"kube: no {kind}")
    sts = by_kind["StatefulSet"][0]
    pod = sts["spec"]["template"]["spec"]
    c = pod["containers"][0]
    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    if not psc.get("runAsNonRoot") or psc.get("runAsUser") != 10001 or psc.get("fsGroup") != 10001:
        fail("kube: pod must run as non-root uid 10001 with fsGroup 10001")
    if not csc.get("readOnlyRootFilesystem") or csc.get("allowPrivilegeEscalation") is not False:
        fail("kube: container needs a read-only root filesystem and no privilege escalation")
    if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz" \
            or c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
        fail("kube: liveness must probe /healthz and readiness /readyz")
    if "limits" not in c.get("resources", {}) or "requests" not in c.get("resources", {}):
        fail("kube: container needs resource requests and limits")
    claims = [t["metadata"]["name"] for t in sts["spec"].get("volumeClaimTemplates", [])]
    if sts["spec"].get("persistentVolumeClaimRetentionPolicy", {}).get("whenScaled") != "Retain":
        fail("kube: journal claims must be retained on scale-down")

    cm = next(d for d in by_kind["ConfigMap"] if d["metadata"]["name"].startswith("upload-gateway-config"))
    text = cm["data"]["config.toml"]
    config = tomllib.loads(text)
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    journal_dir = config["callbacks"]["journal_dir"]
    journal_mounts = [n for n, p in mounts.items() if p == journal_dir]
    if not journal_mounts or journal_mounts[0] not in claims:
        fail(f"kube: callbacks.journal_dir {journal_dir} is not a volume claim of the pod")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    # 10 s: lifecycle::SHUTDOWN_REPLAY_BUDGET, the journal replay after the drain.
    needed = config["server"].get("shutdown_timeout_secs", 30) + 10 + pre_stop
    if grace < needed:
        fail(f"kube: terminationGracePeriodSeconds {grace} < drain + replay + preStop = {needed}")

    # check-config on the ConfigMap's TOML with the container's environment, the Secret's
    # files replaced by stand-ins of the same names and mode.
    with tempfile.TemporaryDirectory() as tmp:
        for vol in pod["volumes"]:
            secret = vol.get("secret")
            if not secret:
                continue
            if oct(secret.get("defaultMode", 0o644)) != oct(0o440):
                fail(f"kube: secret volume {vol['name']} must be mode 0440 (not world-readable)")
            stand_in = os.path.join(tmp, vol["name"])
            os.mkdir(stand_in)
            for item in secret.get("items", []):
                f = os.path.join(stand_in, item["path"])
                with open(f, "w") as out:
                    out.write("stand-in-secret-0123456789abcdef0123456789")
                os.chmod(f, 0o440)
            text = text.replace(mounts[vol["name"]], stand_in)
        cfg = os.path.join(tmp, "config.toml")
        with open(cfg, "w") as out:
            out.write(text)
        env = {k: v for k, v in os.environ.items() if not k.startswith("UPLOAD_GATEWAY")}
        for e in c.get("env", []):
            if "value" in e and e["name"] != "UPLOAD_GATEWAY_CONFIG":
                env[e["name"]] = e["value"]
        r = subprocess.run([binary, "check-config", cfg], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"kube: check-config on the ConfigMap: {r.stderr.strip()}")
        else:
            print(f"kube: {r.stdout.strip()} (with {len(c.get('env', []))} env var(s))")


KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "offset", "bool", "inf", "nan"}


def metric_names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)          # strings
    e = re.sub(r"\{[^}]*\}", "", e)                      # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                     # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"\$\w+", "", e)                          # Grafana variables
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word = m.group(0)
        rest = e[m.end():].lstrip()
        if word.lower() in KEYWORDS or rest.startswith("("):
            continue
        names.add(word)
    return names


def exprs_of(dashboard):
    out = []
    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((p.get("title", "?"), t["expr"]))
            walk(p.get("panels", []))
    walk(dashboard.get("panels", []))
    for v in dashboard.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if isinstance(q, str) and q.startswith("label_values("):
            out.append((f"variable {v['name']}", q[len("label_values("):].split(",")[0]))
    return out


def check_dashboard(path, scrape_path):
    dashboard = json.load(open(path))
    exported = set()
    for line in open(scrape_path):
        if line and not line.startswith("#"):
            exported.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
    # Grafana lays panels out on a 24-column grid: every gridPos field a whole number, no
    # panel past the right edge.
    def walk_layout(panels):
        for p in panels:
            pos = p.get("gridPos", {})
            for k in ("h", "w", "x", "y"):
                if not isinstance(pos.get(k), int) or isinstance(pos.get(k), bool):
                    fail(f"dashboard: panel {p.get('title', '?')!r} gridPos.{k} is {pos.get(k)!r}, not a whole number")
            if all(isinstance(pos.get(k), int) for k in ("w", "x")) and pos["x"] + pos["w"] > 24:
                fail(f"dashboard: panel {p.get('title', '?')!r} reaches past column 24")
            walk_layout(p.get("panels", []))
    walk_layout(dashboard.get("panels", []))
    exprs = exprs_of(dashboard)
    if len(exprs) < 10:
        fail(f"dashboard: only {len(exprs)} expressions found")
    # promtool parses each expression as a recording rule (syntax, functions, types).
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:expr{i}", "expr": re.sub(r"\$__rate_interval|\$__interval", "5m", e)}
        for i, (_, e) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(rules, f)
    r = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
    os.unlink(f.name)
    if r.returncode != 0:
        fail(f"dashboard: promtool rejects an expression:\n{r.stdout}{r.stderr}")
    used = set()
    for title, e in exprs:
        names = metric_names(e)
        if not names:
            fail(f"dashboard: panel {title!r} uses no metric: {e}")
        for n in sorted(names - exported):
            fail(f"dashboard: panel {title!r} uses {n}, which the gateway does not export")
        used |= names
    print(f"dashboard: {len(exprs)} expressions, {len(used)} metric names, all exported "
          f"(scrape has {len(exported)})" if not failures else "dashboard: see failures")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"compose": check_compose, "kube": check_kube, "dashboard": check_dashboard}[cmd](*args)
    if failures:
        sys.exit(1)
    print(f"{cmd}: ok")


if __name__ == "__main__":
    main()
