"""The Kubernetes manifests (deploy/k8s) as an operator would apply them: valid against the
Kubernetes API's own schemas (bundled with kubernetes-validate, so nothing is fetched), and in
step with the code they run: every variable they set is one the code reads, every secret comes
from the Secret, every container has probes on a health route its server really serves and
resources, and every Service, Ingress, autoscaler and network policy points at something that
exists.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from jsonschema.validators import validator_for
from kubernetes_validate.utils import all_versions
from starlette.applications import Starlette

from analytics.settings import AnalyticsSettings
from common.assistant_settings import ActionServerSettings, ChannelSettings
from common.environment import PROJECT_ROOT, process_environment, read_profile
from common.secrets import PROFILE_VARIABLE, InsecureSetting
from common.settings import Environment, EnvironmentSettings
from common.store_checks import StoreSettings
from proactive.notifier_settings import NotifierSettings
from services.desk.settings import DeskSettings
from services.sandbox.config import Settings as SandboxSettings
from services.webchat.settings import WebChatSettings

K8S_DIR = PROJECT_ROOT / "deploy" / "k8s"
DEPLOY_README = PROJECT_ROOT / "deploy" / "README.md"
# The newest release whose schemas kubernetes-validate 1.28.3 bundles (the newest version of it
# that installs beside Rasa's jsonschema 4.17); the manifests use only APIs stable since 1.23
# (autoscaling/v2). Strict: an unknown field is an error, as it is to kubectl.
KUBERNETES_VERSION = "1.28"
DEFINITIONS_FILE = "_definitions.json"
SECRET_NAME = "fincs-secrets"
SETTINGS_MAP = "fincs-settings"

# Where the project's settings classes read their variables (env.text("NAME", ...) and so on).
SETTINGS_SOURCES = ("common", "services", "actions", "channels", "analytics", "proactive")
READ_CALL = re.compile(
    r"""\benv\.(?:text|integer|number|optional|required|items|secret)\(\s*["']([A-Z][A-Z0-9_]*)["']"""
)
SECRET_CALL = re.compile(
    r"""\benv\.secret\(\s*["']([A-Z][A-Z0-9_]*)["'](?:,\s*also=["']([A-Z][A-Z0-9_]*)["'])?"""
)
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
# Variables the libraries under the project read, and the file of the installed package that
# names each: Rasa's worker count, TensorFlow thread pools and telemetry switch, Sanic's
# trusted proxy count (Sanic loads every SANIC_-prefixed variable into its config), uvicorn's
# trusted proxy addresses.
LIBRARY_VARIABLES = {
    "SANIC_WORKERS": ("rasa", "constants.py", "SANIC_WORKERS"),
    "TF_INTER_OP_PARALLELISM_THREADS": ("rasa", "constants.py", "TF_INTER_OP_PARALLELISM_THREADS"),
    "TF_INTRA_OP_PARALLELISM_THREADS": ("rasa", "constants.py", "TF_INTRA_OP_PARALLELISM_THREADS"),
    "RASA_TELEMETRY_ENABLED": ("rasa", "telemetry.py", "RASA_TELEMETRY_ENABLED"),
    "SANIC_PROXIES_COUNT": ("sanic", "config.py", "PROXIES_COUNT"),
    "FORWARDED_ALLOW_IPS": ("uvicorn", "config.py", "FORWARDED_ALLOW_IPS"),
}
# Not secrets to the code, but they carry a password (a URL's user:password@, the broker's
# credentials), so they come from the Secret too.
CREDENTIAL_VARIABLES = {
    "TRACKER_STORE_URL": "postgresql://fincs:{password}@postgres:5432/fincs_tracker",
    "SANDBOX_DATABASE_URL": "postgresql+asyncpg://fincs:{password}@postgres:5432/fincs_sandbox",
    "DESK_DATABASE_URL": "postgresql+asyncpg://fincs:{password}@postgres:5432/fincs_desk",
    "ANALYTICS_DATABASE_URL": "postgresql://fincs:{password}@postgres:5432/fincs_analytics",
    "NOTIFIER_DATABASE_URL": "postgresql://fincs:{password}@postgres:5432/fincs_notifier",
    "SANDBOX_EVENTS_AMQP_URL": "amqp://fincs:{password}@rabbitmq:5672/fincs",
    "RATE_LIMIT_REDIS_URL": "redis://:{password}@redis:6379/2",
    "EVENT_BROKER_USERNAME": "fincs",
    "EVENT_BROKER_PASSWORD": "{password}",
}
LOOKS_SECRET = re.compile(r"SECRET|TOKEN|PASSWORD")
URL_WITH_PASSWORD = re.compile(r"://[^/@\s]*:[^/@\s]+@")
# The Rasa server's customer channels, the only paths of it the internet may reach.
PUBLIC_RASA_PATHS = frozenset({"/socket.io/", "/webhooks/rest/", "/webhooks/signed_rest/"})
# The processes that read profiles/<DEPLOYMENT_PROFILE>.env under their environment.
MERGES_THE_PROFILE = frozenset(
    {
        "services.sandbox",
        "services.desk",
        "services.webchat",
        "common.store_checks",
        "analytics",
        "proactive.notifier",
    }
)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
MEMORY = re.compile(r"^(\d+)(Ki|Mi|Gi)$")
MEMORY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


@dataclass(frozen=True)
class Manifest:
    file: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    def __str__(self) -> str:
        return f"{self.file}: {self.kind}/{self.name}"


def schema_dir() -> Path:
    """The strict schemas of the newest Kubernetes patch release of KUBERNETES_VERSION that
    kubernetes-validate bundles."""
    release = [v for v in all_versions() if v.startswith(f"{KUBERNETES_VERSION}.")][-1]
    return (
        Path(str(files("kubernetes_validate")))
        / "kubernetes-json-schema"
        / f"v{release}-local-strict"
    )


@cache
def schema_definitions() -> dict[str, Any]:
    return json.loads((schema_dir() / DEFINITIONS_FILE).read_text())["definitions"]


@cache
def kubernetes_validator(kind: str, api_version: str) -> Any:
    """The validator kubernetes-validate would use for this kind, built once: its schema for
    the kind points into the shared definitions, which are put beside it in one document (the
    package resolves them file by file for every manifest, fifty times slower)."""
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = schema_dir() / f"{kind.lower()}-{group_version}.json"
    assert path.exists(), f"no Kubernetes {KUBERNETES_VERSION} schema for {api_version} {kind}"
    entry = json.loads(path.read_text())
    schema = {
        **entry,
        "$ref": entry["$ref"].removeprefix(DEFINITIONS_FILE),
        "definitions": schema_definitions(),
    }
    return validator_for(entry)(schema)


def manifest_files() -> list[Path]:
    return sorted(path for path in K8S_DIR.glob("*.yaml") if path.name != "kustomization.yaml")


@cache
def manifests() -> tuple[Manifest, ...]:
    return tuple(
        Manifest(path.name, body)
        for path in manifest_files()
        for body in yaml.safe_load_all(path.read_text())
        if body
    )


def of_kind(kind: str) -> list[Manifest]:
    return [manifest for manifest in manifests() if manifest.kind == kind]


def deployments() -> dict[str, Manifest]:
    return {manifest.name: manifest for manifest in of_kind("Deployment")}


def fewest_pods(deployment: Manifest) -> int:
    """The autoscaler's minimum where one scales the Deployment, else its replicas."""
    for autoscaler in of_kind("HorizontalPodAutoscaler"):
        if autoscaler.body["spec"]["scaleTargetRef"]["name"] == deployment.name:
            return int(autoscaler.body["spec"]["minReplicas"])
    return int(deployment.body["spec"].get("replicas", 1))


def pod_spec(deployment: Manifest) -> dict[str, Any]:
    return deployment.body["spec"]["template"]["spec"]


def containers() -> Iterator[tuple[Manifest, dict[str, Any]]]:
    """Every container of every Deployment, init containers included."""
    for deployment in deployments().values():
        spec = pod_spec(deployment)
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield deployment, container


def the_container(deployment_name: str) -> dict[str, Any]:
    (container,) = pod_spec(deployments()[deployment_name])["containers"]
    return container


def settings_map() -> dict[str, str]:
    (config_map,) = [m for m in of_kind("ConfigMap") if m.name == SETTINGS_MAP]
    return dict(config_map.body["data"])


def container_environment(
    container: dict[str, Any], secret_values: Mapping[str, str]
) -> dict[str, str]:
    """The environment the container starts with: literal values, the settings map's keys,
    and ``secret_values`` for the Secret's keys (the Secret itself is the operator's)."""
    environment = {}
    config = settings_map()
    for variable in container.get("env", []):
        source = variable.get("valueFrom", {})
        if "secretKeyRef" in source:
            key = source["secretKeyRef"]["key"]
            if key in secret_values:
                environment[variable["name"]] = secret_values[key]
        elif "configMapKeyRef" in source:
            environment[variable["name"]] = config[source["configMapKeyRef"]["key"]]
        else:
            environment[variable["name"]] = str(variable["value"])
    return environment


def secret_keys() -> set[str]:
    return {
        variable["valueFrom"]["secretKeyRef"]["key"]
        for _, container in containers()
        for variable in container.get("env", [])
        if "secretKeyRef" in variable.get("valueFrom", {})
    }


def environment_as_read(
    container: dict[str, Any], secret_values: Mapping[str, str]
) -> dict[str, str]:
    """The environment the container's process reads: the services and the store checks take
    the profile's file first (common/environment.py), so what a manifest leaves out falls back
    to profiles/production.env; the Rasa and action servers read their own environment only."""
    environment = container_environment(container, secret_values)
    if served_module(container) in MERGES_THE_PROFILE:
        return {**read_profile(environment[PROFILE_VARIABLE]), **environment}
    return environment


def loopback_urls(settings: object) -> list[str]:
    """The settings' URLs (nested settings too) that point at the pod itself."""
    found = []
    for field in dataclasses.fields(settings):  # type: ignore[arg-type]
        value = getattr(settings, field.name)
        if dataclasses.is_dataclass(value):
            found += loopback_urls(value)
        elif isinstance(value, str) and "://" in value and urlsplit(value).hostname in LOOPBACK:
            found.append(f"{field.name}={value}")
    return found


def generated_secrets() -> dict[str, str]:
    """Values an operator's secret store would hold: long random secrets, and credentials in
    the shape the code expects."""
    values = {}
    for key in secret_keys():
        password = secrets.token_urlsafe(24)
        values[key] = CREDENTIAL_VARIABLES.get(key, "{password}").format(password=password)
    return values


def python_sources() -> Iterator[Path]:
    for package in SETTINGS_SOURCES:
        # The web chat's node_modules may hold Python of its own (build tools): not ours.
        yield from (
            path
            for path in (PROJECT_ROOT / package).rglob("*.py")
            if "node_modules" not in path.parts
        )


@cache
def variables_the_project_reads() -> frozenset[str]:
    names = {PROFILE_VARIABLE}
    for path in python_sources():
        source = path.read_text()
        names.update(READ_CALL.findall(source))
        names.update(also for _, also in SECRET_CALL.findall(source) if also)
    # Rasa fills these in as it reads its endpoints and credentials.
    for rasa_file in ("endpoints.yml", "credentials.yml"):
        names.update(PLACEHOLDER.findall((PROJECT_ROOT / rasa_file).read_text()))
    return frozenset(names)


@cache
def secrets_the_code_requires() -> frozenset[str]:
    names = set()
    for path in python_sources():
        for name, also in SECRET_CALL.findall(path.read_text()):
            names.update(filter(None, (name, also)))
    return frozenset(names)


def package_source(package: str, file_name: str) -> str:
    """A file of an installed package, read without importing the package."""
    spec = find_spec(package)
    assert spec is not None and spec.submodule_search_locations, f"{package} is not installed"
    return (Path(next(iter(spec.submodule_search_locations))) / file_name).read_text()


def library_reads(variable: str) -> bool:
    package, file_name, text = LIBRARY_VARIABLES[variable]
    return text in package_source(package, file_name)


def cpu_cores(quantity: str) -> float:
    match = CPU.match(str(quantity))
    assert match, f"CPU quantity {quantity!r} is not in cores or millicores"
    return float(match.group(1)) / (1000 if match.group(2) else 1)


def memory_bytes(quantity: str) -> int:
    match = MEMORY.match(str(quantity))
    assert match, f"memory quantity {quantity!r} is not in Ki, Mi or Gi"
    return int(match.group(1)) * MEMORY_UNITS[match.group(2)]


# --- The files ----------------------------------------------------------------------------------


def test_the_kustomization_applies_every_manifest_and_no_other():
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == [path.name for path in manifest_files()]


def schema_problems(body: dict[str, Any]) -> list[str]:
    validator = kubernetes_validator(body["kind"], body["apiVersion"])
    return [
        f"{'.'.join(str(part) for part in error.path)}: {error.message}"
        for error in validator.iter_errors(body)
    ]


def test_every_manifest_is_valid_against_the_kubernetes_schemas():
    problems = [
        f"{manifest}: {problem}"
        for manifest in manifests()
        for problem in schema_problems(manifest.body)
    ]
    assert not problems, "\n".join(problems)
    assert {manifest.kind for manifest in manifests()} >= {
        "Deployment",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }


def test_the_validator_refuses_a_manifest_kubernetes_would_refuse_as_the_package_does():
    rasa = deployments()["rasa"].body
    assert kubernetes_validate.validate(rasa, KUBERNETES_VERSION, strict=True) == KUBERNETES_VERSION
    # A misspelt field is what strict validation is for: it must not pass silently.
    broken = copy.deepcopy(rasa)
    broken["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    assert any("livenessprobe" in problem for problem in schema_problems(broken))
    with pytest.raises(kubernetes_validate.ValidationError, match="livenessprobe"):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


# --- Environment and secrets -----------------------------------------------------------------


def test_every_variable_the_manifests_set_is_one_the_code_reads():
    read = variables_the_project_reads()
    unknown = [
        f"{deployment.name}: {variable['name']}"
        for deployment, container in containers()
        for variable in container.get("env", [])
        if variable["name"] not in read
        and not (variable["name"] in LIBRARY_VARIABLES and library_reads(variable["name"]))
    ]
    assert not unknown, f"set by the manifests, read by no code: {unknown}"


def test_every_secret_comes_from_the_secret_and_none_has_a_default():
    must_be_secret = secrets_the_code_requires() | set(CREDENTIAL_VARIABLES)
    problems = []
    for deployment, container in containers():
        assert "envFrom" not in container, f"{deployment.name}: envFrom hides what is set"
        for variable in container.get("env", []):
            name = variable["name"]
            reference = variable.get("valueFrom", {}).get("secretKeyRef")
            if reference is not None:
                if reference["name"] != SECRET_NAME or reference.get("optional"):
                    problems.append(f"{deployment.name}: {name} from {reference}")
            elif name in must_be_secret or LOOKS_SECRET.search(name):
                problems.append(f"{deployment.name}: {name} is not a secretKeyRef")
            elif URL_WITH_PASSWORD.search(str(variable.get("value", ""))):
                problems.append(f"{deployment.name}: {name} has a password in its value")
    assert not problems, "\n".join(problems)
    # The Secret is the operator's: a manifest holding one would ship its values.
    assert not of_kind("Secret")
    assert not any(URL_WITH_PASSWORD.search(value) for value in settings_map().values())


def test_the_readme_creates_every_key_of_the_secret():
    created = set(re.findall(r"--from-literal=([A-Z][A-Z0-9_]*)=", DEPLOY_README.read_text()))
    assert created == secret_keys()


SETTINGS_OF_COMMAND: dict[str, tuple[type[EnvironmentSettings], ...]] = {
    "rasa": (ChannelSettings,),
    "actions.server": (ActionServerSettings,),
    "services.sandbox": (SandboxSettings,),
    "services.desk": (DeskSettings,),
    "services.webchat": (WebChatSettings,),
    "analytics": (AnalyticsSettings,),
    "proactive.notifier": (NotifierSettings,),
}


def served_module(container: dict[str, Any]) -> str:
    command = " ".join(container.get("command", []) + container.get("args", []))
    module = re.search(r"python -m ([\w.]+)", command)
    assert module, f"{container['name']}: no `python -m` in its command"
    return module.group(1)


@pytest.mark.parametrize("deployment_name", sorted(deployments()))
def test_each_server_starts_in_production_on_what_its_manifest_gives_it(deployment_name):
    container = the_container(deployment_name)
    environment = environment_as_read(container, generated_secrets())
    assert environment[PROFILE_VARIABLE] == "production"
    for settings_class in SETTINGS_OF_COMMAND[served_module(container)]:
        settings = settings_class.read(Environment(environment))
        # Nothing the manifest leaves out may fall back to the profile's 127.0.0.1.
        assert not loopback_urls(settings)
        # Without the Secret it must not start: no secret has a usable default.
        without_secrets = environment_as_read(container, {})
        with pytest.raises(InsecureSetting):
            settings_class.read(Environment(without_secrets))


def test_the_rasa_pods_check_every_store_the_servers_use_before_rasa_starts():
    (checks,) = pod_spec(deployments()["rasa"])["initContainers"]
    assert served_module(checks) == "common.store_checks"
    secret_values = generated_secrets()
    stores = StoreSettings.read(Environment(environment_as_read(checks, secret_values)))
    assert not loopback_urls(stores)
    # The stores it checks are the ones the servers are given.
    servers = [container for _, container in containers() if container is not checks]
    for name, value in container_environment(checks, secret_values).items():
        given = [
            environment[name]
            for environment in (container_environment(c, secret_values) for c in servers)
            if name in environment
        ]
        assert given and set(given) == {value}, f"{name}: checked {value}, servers get {given}"


def test_the_rasa_server_gets_every_variable_its_endpoints_name():
    container = the_container("rasa")
    environment = container_environment(container, generated_secrets())
    for rasa_file in ("endpoints.yml", "credentials.yml"):
        missing = set(PLACEHOLDER.findall((PROJECT_ROOT / rasa_file).read_text())) - set(
            environment
        )
        assert not missing, f"{rasa_file} needs {missing}"
    command = " ".join(container["args"])
    assert set(re.findall(r"\$([A-Z][A-Z0-9_]*)", command)) <= set(environment)
    assert '"--auth-token=$RASA_API_TOKEN"' in command
    assert "--cors $CHANNEL_ALLOWED_ORIGINS" in command
    assert "--interface 0.0.0.0" in command


def test_the_rasa_server_scales_by_pods_of_one_worker_over_shared_stores():
    deployment = deployments()["rasa"]
    environment = container_environment(the_container("rasa"), generated_secrets())
    assert fewest_pods(deployment) >= 2
    # socket.io keeps sockets in the process: one worker per pod, stickiness at the ingress.
    assert environment["SANIC_WORKERS"] == "1"
    assert environment["LOCK_STORE_TYPE"] == "common.lock_store.AtomicRedisLockStore"
    assert environment["TRACKER_STORE_TYPE"] == read_profile("production")["TRACKER_STORE_TYPE"]
    assert urlsplit(environment["TRACKER_STORE_URL"]).scheme == "postgresql"
    assert environment["EVENT_BROKER_TYPE"] == "pika"
    assert environment["CHANNEL_ALLOWED_ORIGINS"] == settings_map()["chat-origin"]


def test_the_action_server_runs_several_workers_in_several_pods_on_its_service_port():
    deployment = deployments()["actions"]
    container = the_container("actions")
    settings = ActionServerSettings.read(
        Environment(container_environment(container, generated_secrets()))
    )
    assert fewest_pods(deployment) >= 2
    assert settings.workers >= 2
    assert settings.host == "0.0.0.0"
    assert settings.port in {port["containerPort"] for port in container["ports"]}


@pytest.mark.parametrize(
    ("deployment_name", "settings_class"),
    [
        ("sandbox", SandboxSettings),
        ("desk", DeskSettings),
        ("webchat", WebChatSettings),
        ("analytics", AnalyticsSettings),
        ("notifier", NotifierSettings),
    ],
)
def test_each_service_listens_on_the_port_its_container_declares(deployment_name, settings_class):
    container = the_container(deployment_name)
    settings = settings_class.read(Environment(environment_as_read(container, generated_secrets())))
    assert settings.port in {port["containerPort"] for port in container["ports"]}


def test_every_address_inside_the_cluster_names_a_service_and_its_port():
    services = {manifest.name: manifest for manifest in of_kind("Service")}
    problems = []
    for deployment, container in containers():
        for name, value in container_environment(container, {}).items():
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or "." in (parts.hostname or "."):
                continue
            service = services.get(parts.hostname or "")
            ports = {port["port"] for port in service.body["spec"]["ports"]} if service else set()
            if parts.port not in ports:
                problems.append(f"{deployment.name}: {name}={value}")
    assert not problems, f"no such Service and port: {problems}"


# --- Probes and resources ----------------------------------------------------------------------


def container_port_names(container: dict[str, Any]) -> set[str]:
    return {port["name"] for port in container.get("ports", [])}


def test_every_container_has_readiness_and_liveness_probes_on_its_port_and_resources():
    problems = []
    for deployment, container in containers():
        # An init container runs to its end before the pod serves: it has no probes.
        initializes = container in pod_spec(deployment).get("initContainers", [])
        probes = () if initializes else ("readinessProbe", "livenessProbe")
        for probe in probes:
            check = container.get(probe, {}).get("httpGet")
            if check is None or check["port"] not in container_port_names(container):
                problems.append(f"{deployment.name}: {probe} is not an HTTP check on its port")
        resources = container.get("resources", {})
        for amount, parse in (("cpu", cpu_cores), ("memory", memory_bytes)):
            request = resources.get("requests", {}).get(amount)
            limit = resources.get("limits", {}).get(amount)
            if request is None or limit is None:
                problems.append(f"{deployment.name}: no {amount} request and limit")
            elif parse(limit) < parse(request):
                problems.append(f"{deployment.name}: {amount} limit below its request")
    assert not problems, "\n".join(problems)


def starlette_paths(app: Starlette) -> set[str]:
    return {getattr(route, "path", "") for route in app.routes}


def served_paths(module: str) -> set[str]:
    """The paths the server of ``module`` answers to a probe, from its own route table where
    building it is cheap; the Sanic servers' from their source (Rasa's import alone takes
    longer than this whole file)."""
    environment = process_environment("embedded")
    if module == "actions.server":
        from actions.server import OPEN_PATHS

        # A probe carries no token: only the open paths answer it, and rasa-sdk serves them.
        endpoint = package_source("rasa_sdk", "endpoint.py")
        return {path for path in OPEN_PATHS if f'@app.get("{path}")' in endpoint}
    if module == "services.sandbox":
        from services.sandbox.app import create_app

        return starlette_paths(create_app(SandboxSettings.read(Environment(environment))))
    if module == "services.desk":
        from services.desk.app import create_app as create_desk

        return starlette_paths(create_desk(DeskSettings.read(Environment(environment))))
    if module == "services.webchat":
        from services.webchat.app import create_app as create_webchat

        return starlette_paths(create_webchat(WebChatSettings.read(Environment(environment))))
    if module == "analytics":
        from analytics.api import create_app as create_analytics

        return starlette_paths(create_analytics(AnalyticsSettings.read(Environment(environment))))
    if module == "proactive.notifier":
        from proactive.notifier import create_app as create_notifier
        from proactive.notifier_store import open_store

        settings = NotifierSettings.read(Environment(environment))
        # Its routes only: a database in memory, not the embedded profile's file.
        return starlette_paths(create_notifier(settings, engine=open_store("sqlite://")))
    assert module == "rasa"
    return rasa_health_paths()


def rasa_health_paths() -> set[str]:
    """Rasa's root (rasa/server.py, answered once the model is loaded) and the project's
    channels' own health routes, mounted by Rasa under /webhooks/<channel name>/."""
    paths = set()
    if '@app.get("/")' in package_source("rasa", "server.py"):
        paths.add("/")
    for path in (PROJECT_ROOT / "channels").glob("*.py"):
        source = path.read_text()
        health = re.search(r'@\w+\.route\("/", methods=\["GET"\]\)\s+async def health', source)
        for name in re.findall(r'def name\(cls\) -> str:\s+return "(\w+)"', source):
            if health:
                paths.add(f"/webhooks/{name}/")
    return paths


@pytest.mark.parametrize("deployment_name", sorted(deployments()))
def test_every_probe_asks_a_health_route_its_server_serves(deployment_name):
    container = the_container(deployment_name)
    paths = served_paths(served_module(container))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        if probe in container:
            assert container[probe]["httpGet"]["path"] in paths, f"{probe} asks a path not served"


# --- What points at what -----------------------------------------------------------------------


def pods_selected(selector: dict[str, str]) -> list[Manifest]:
    return [
        deployment
        for deployment in deployments().values()
        if selector.items() <= deployment.body["spec"]["template"]["metadata"]["labels"].items()
    ]


def test_every_service_selects_a_deployment_and_targets_a_port_it_declares():
    for service in of_kind("Service"):
        (deployment,) = pods_selected(service.body["spec"]["selector"])
        names = {
            name
            for container in pod_spec(deployment)["containers"]
            for name in container_port_names(container)
        }
        for port in service.body["spec"]["ports"]:
            assert port["targetPort"] in names, f"{service}: targetPort {port['targetPort']}"
    # And each Deployment is reachable through one.
    selected = {pods_selected(s.body["spec"]["selector"])[0].name for s in of_kind("Service")}
    assert selected == set(deployments())


def test_deployments_select_their_own_pods():
    for deployment in deployments().values():
        assert pods_selected(deployment.body["spec"]["selector"]["matchLabels"]) == [deployment]


def test_autoscalers_budgets_and_network_policies_point_at_deployments():
    for autoscaler in of_kind("HorizontalPodAutoscaler"):
        target = autoscaler.body["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments()
        # The autoscaler owns the count: a replicas field would be reset at every apply.
        assert "replicas" not in deployments()[target["name"]].body["spec"]
    for budget in of_kind("PodDisruptionBudget"):
        assert pods_selected(budget.body["spec"]["selector"]["matchLabels"]), str(budget)
    guarded = set()
    for policy in of_kind("NetworkPolicy"):
        selector = policy.body["spec"]["podSelector"].get("matchLabels", {})
        selected = pods_selected(selector)
        assert selected, str(policy)
        for rule in policy.body["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                if "podSelector" in peer:
                    assert pods_selected(peer["podSelector"]["matchLabels"]), str(policy)
        if selector:
            guarded.update(deployment.name for deployment in selected)
    assert guarded == set(deployments()), "a Deployment no network policy lets anyone reach"


def ingress_backends() -> Iterator[tuple[Manifest, str, str, dict[str, Any]]]:
    for ingress in of_kind("Ingress"):
        for rule in ingress.body["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                yield ingress, rule["host"], path["path"], path["backend"]["service"]


def test_the_internet_reaches_only_the_customer_channels_of_the_rasa_server():
    services = {manifest.name: manifest for manifest in of_kind("Service")}
    rasa_paths = set()
    for ingress, _, path, backend in ingress_backends():
        service = services[backend["name"]]
        port_names = {port["name"] for port in service.body["spec"]["ports"]}
        assert backend["port"]["name"] in port_names, str(ingress)
        if backend["name"] == "rasa":
            rasa_paths.add(path)
    assert rasa_paths == PUBLIC_RASA_PATHS


def test_socketio_is_sticky_on_the_host_the_browser_is_allowed_from():
    chat_host = urlsplit(settings_map()["chat-origin"]).hostname
    (socketio,) = [ingress for ingress, _, path, _ in ingress_backends() if path == "/socket.io/"]
    annotations = socketio.body["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    # The sign-in token rides in the socket's query string: no access log there.
    assert annotations["nginx.ingress.kubernetes.io/enable-access-log"] == "false"
    hosts = {host for ingress, host, path, _ in ingress_backends() if path in PUBLIC_RASA_PATHS}
    assert hosts == {chat_host}
