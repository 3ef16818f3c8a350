"""The deployment files validate offline and agree with each other and with the CLI.

Compose is checked against the Compose specification (check-jsonschema's bundled
``vendor.compose-spec``), the Kubernetes manifests with kubernetes-validate's bundled
schemas in strict mode, both run as users would run them, with any network access made
to fail. There is no Docker or Kubernetes here, so the rest are consistency checks.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
K8S = DEPLOY / "k8s"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
NO_NETWORK = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
              "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
              "NO_PROXY": "", "no_proxy": ""}


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed (pip install -e '.[dev]')")
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=NO_NETWORK, timeout=120,
                          check=False)


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # type: ignore[no-any-return]


def _ignored(path: Path) -> bool:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", str(path)],
                            check=False)
    return result.returncode == 0


# --- Compose ----------------------------------------------------------------------------

def test_compose_validates_against_the_compose_specification() -> None:
    result = _run(_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
                  str(COMPOSE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_two_workers_with_their_own_state_and_identity() -> None:
    services = _compose()["services"]
    workers = {n: s for n, s in services.items() if s.get("command") == ["worker"]}
    assert len(workers) == 2
    ids = {s["environment"]["LEADCLOCK_INSTANCE_ID"] for s in workers.values()}
    volumes = {v.split(":")[0] for s in workers.values() for v in s["volumes"]}
    apps = {s["environment"]["LEADCLOCK_APP_ID"] for s in workers.values()}
    assert len(ids) == 2 and len(volumes) == 2 and len(apps) == 1
    assert volumes <= set(_compose()["volumes"])
    for worker in workers.values():
        for one_shot in ("migrate", "topics"):
            assert worker["depends_on"][one_shot]["condition"] == "service_completed_successfully"


def test_compose_one_shots_dashboard_and_grafana() -> None:
    services = _compose()["services"]
    assert services["migrate"]["command"][0] == "migrate"
    assert "--dashboard-role" in services["migrate"]["command"]
    assert services["topics"]["command"] == ["topics"]
    assert services["dashboard"]["command"] == ["dashboard", "--host", "0.0.0.0",
                                                "--port", "8050"]
    for name in ("kafka", "clickhouse"):
        assert services[name]["healthcheck"]["test"], name
    grafana = services["grafana"]
    assert "grafana-clickhouse-datasource" in grafana["environment"]["GF_PLUGINS_PREINSTALL_SYNC"]
    mounts = dict(v.rsplit(":", 2)[:2] for v in grafana["volumes"] if v.startswith(".."))
    assert mounts["../grafana/provisioning"] == "/etc/grafana/provisioning"
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/leadclock.yaml")
                              .read_text())["providers"][0]
    assert mounts["../grafana/dashboards"] == provider["options"]["path"]
    source = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/clickhouse.yaml")
                            .read_text())["datasources"][0]
    assert source["type"] == "grafana-clickhouse-datasource"
    assert source["secureJsonData"]["password"].startswith("${")


def test_compose_images_are_pinned() -> None:
    for name, service in _compose()["services"].items():
        image = service["image"]
        if image.startswith("${LEADCLOCK_IMAGE"):
            continue
        assert re.search(r":\d+(\.\d+)+$", image), f"{name}: {image} is not pinned"


def test_compose_credentials_come_from_the_ignored_env_file() -> None:
    text = COMPOSE.read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    example = (DEPLOY / "compose" / ".env.example").read_text()
    defined = set(re.findall(r"^(\w+)=", example, re.MULTILINE))
    assert {"CLICKHOUSE_PASSWORD", "LEADCLOCK_DASHBOARD_PASSWORD",
            "GRAFANA_ADMIN_PASSWORD"} <= required <= defined
    assert not re.search(r"PASSWORD:\s*[\"']?[A-Za-z0-9]", text), "a literal password"
    assert _ignored(DEPLOY / "compose" / ".env")
    assert not _ignored(DEPLOY / "compose" / ".env.example")


# --- Kubernetes ---------------------------------------------------------------------------

def _kustomization() -> dict[str, Any]:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())  # type: ignore[no-any-return]


def _manifests() -> list[Path]:
    return [K8S / name for name in _kustomization()["resources"]] + sorted(
        (K8S / "jobs").glob("*.yaml"))


def _documents() -> list[dict[str, Any]]:
    return [doc for path in _manifests() for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_every_kustomization_file_exists() -> None:
    kustomization = _kustomization()
    for name in kustomization["resources"]:
        assert (K8S / name).is_file(), name
    for generator in kustomization["secretGenerator"]:
        for env in generator["envs"]:
            assert (K8S / f"{env}.example").is_file(), env
            assert _ignored(K8S / env), f"{env} must be git-ignored"


@pytest.mark.parametrize("version", ["1.30.0", None])
def test_manifests_validate_strictly(version: str | None) -> None:
    pinned = ["--kubernetes-version", version] if version else []
    result = _run(_tool("kubernetes-validate"), "--strict", *pinned,
                  *map(str, _manifests()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout + result.stderr


def test_the_worker_statefulset_keeps_state_and_identity() -> None:
    (worker,) = [d for d in _documents() if d["kind"] == "StatefulSet"]
    spec = worker["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["LEADCLOCK_INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    claim = spec["volumeClaimTemplates"][0]["metadata"]["name"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim] == env["LEADCLOCK_DATA_DIR"]["value"]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] == "metrics"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    kinds = {d["kind"] for d in _documents()}
    assert {"Namespace", "ConfigMap", "Service", "PodDisruptionBudget", "Deployment",
            "Job"} <= kinds
    jobs = [c["args"] for d in _documents() if d["kind"] == "Job"
            for c in d["spec"]["template"]["spec"]["containers"]]
    assert any(a[0] == "migrate" for a in jobs)
    assert any(a[:2] == ["replay", "--from-topics"] for a in jobs)


def test_secret_references_name_keys_of_the_example() -> None:
    example = (K8S / "secrets.env.example").read_text()
    keys = set(re.findall(r"^(\w+)=", example, re.MULTILINE))
    (generator,) = _kustomization()["secretGenerator"]
    refs = [e["valueFrom"]["secretKeyRef"] for d in _documents()
            if d["kind"] in ("StatefulSet", "Deployment", "Job")
            for c in d["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})]
    assert refs
    for ref in refs:
        assert ref["name"] == generator["name"] and ref["key"] in keys
    assert not [d for d in _documents() if d["kind"] == "Secret"], "no committed Secret"


def test_every_manifest_lives_in_the_namespace_and_uses_the_image() -> None:
    namespace = _kustomization()["namespace"]
    image = _kustomization()["images"][0]
    for doc in _documents():
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == namespace, doc["metadata"]["name"]
        pod = doc.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod.get("containers", []):
            assert container["image"] in (image["name"],
                                          f"{image['newName']}:{image['newTag']}")


# --- Docker -------------------------------------------------------------------------------

def test_the_image_is_slim_pinned_non_root_and_server_mode() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim", text, re.MULTILINE)
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user and not user[-1].startswith(("root", "0"))
    code = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    assert "chdb" not in code and "[embedded]" not in code
    assert re.search(r"pip install [^\n]*leadclock\s*\\?$", text, re.MULTILINE)
    assert re.search(r'^ENTRYPOINT \["leadclock"\]', text, re.MULTILINE)


def test_the_healthcheck_is_valid_python_against_the_metrics_port() -> None:
    text = DOCKERFILE.read_text()
    command = re.search(r"^HEALTHCHECK [^\n]*\\\n\s*CMD (\[[^\n]*\])$", text, re.MULTILINE)
    assert command is not None
    argv = json.loads(command[1])
    assert argv[:2] == ["python", "-c"]
    ast.parse(argv[2])
    assert "LEADCLOCK_METRICS_PORT" in argv[2] and "/metrics" in argv[2]
    assert re.search(r"LEADCLOCK_METRICS_HOST=0\.0\.0\.0", text)


def test_the_build_context_holds_the_package_and_no_secrets() -> None:
    rules = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules[0] == "*", "an allow-list: everything else stays out"
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    copied = set(re.findall(r"^COPY (?!--)(.+?) \S+$", DOCKERFILE.read_text(), re.MULTILINE))
    needed = {name for line in copied for name in line.split()}
    assert needed <= allowed
    assert not {".env", "var", ".venv"} & allowed


def test_a_tls_clickhouse_dsn_takes_its_documented_options() -> None:
    from sinks.client import connect
    from sinks.exceptions import ClickHouseUnavailable

    with pytest.raises(ClickHouseUnavailable, match="cannot open"):
        connect("https://u:p@127.0.0.1:1/db?verify=true&ca_cert=/etc/ssl/certs/ca.pem"
                "&client_cert=/c.pem&client_cert_key=/k.pem")
    with pytest.raises(ClickHouseUnavailable, match="bogus"):
        connect("https://u:p@127.0.0.1:1/db?bogus=1")
