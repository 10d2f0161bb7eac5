"""The scale-out profile on this machine: what `scripts/scale-out` starts after setup.

Two Rasa servers and two action servers behind HAProxy (Debian's package), one PostgreSQL
tracker store, the Redis lock store and the RabbitMQ event broker; the back-end sandbox, the
agent desk and the analytics service (one consumer of the broker's queue) on PostgreSQL, and the
notifier (one consumer of the back end's events, published by the sandbox to RabbitMQ). It is
the production profile (profiles/production.env) with a few overrides, run by the same code as
the embedded default: each server is started as tooling/processes.py starts it for
`scripts/run`.

Workers. Rasa's socket.io channel keeps each socket's session in the memory of the process
that answered its handshake: with several Sanic workers in one Rasa server, the kernel hands
the socket's next polling request or its websocket upgrade to any worker, which does not know
the session (HTTP 400, "Invalid session") and cannot reach the socket to push an agent's
message to it. So each Rasa server runs one worker (SANIC_WORKERS=1, refused otherwise) and
Rasa scales out by servers behind a balancer that keeps a socket on one server. The action
server holds no conversation state (the tracker comes with every call), so each runs
ACTION_SERVER_SANIC_WORKERS workers (2 unless set).

Stickiness for socket.io: HAProxy's own cookie, set on the handshake's answer, keeps a browser
on one server; clients that keep no cookies are kept by a consistent hash of the sign-in token
that the web chat puts in the socket URL (every polling request carries it). The socket.io
session id cannot serve: the server that answers the handshake makes it, so the balancer
cannot route the handshake by it; the source address would send everyone behind one NAT to one
server. REST messages go round robin: conversations live in the shared stores, and the Redis
lock store makes a conversation's messages wait for each other whichever server takes them.

The HAProxy configuration is generated from these settings into the data directory at every
start, never edited by hand; everything binds 127.0.0.1.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from common.environment import PROJECT_ROOT, process_environment, read_profile
from common.ports import free_port
from common.secrets import DEV_SECRET_PREFIX, EMBEDDED_PROFILE, PROFILE_VARIABLE
from common.settings import Environment, EnvironmentSettings, SettingError
from common.store_checks import StoreSettings, check_stores_or_exit
from tooling.launcher import run_until_stopped
from tooling.model_cache import ensure_model
from tooling.processes import (
    Server,
    action_server,
    analytics_server,
    desk_server,
    notifier_server,
    rasa_server,
    sandbox_server,
    stop_all,
    with_backend_events_queue,
)

PRODUCTION_PROFILE = "production"
DATA_DIR = PROJECT_ROOT / ".data" / "scale-out"
# Rasa's socket.io channel answers here (credentials.yml sets no other path).
SOCKETIO_PATH = "/socket.io"
# The web chat puts the customer's sign-in token in the socket URL under this name
# (services/webchat/pages.py); clients without cookies are kept on one server by it.
SOCKETIO_STICKY_PARAMETER = "token"
STICKY_COOKIE = "fincs_rasa_server"
# HAProxy names the server that answered in this response header, so an operator (and the
# tests) can see the Rasa servers take turns.
SERVED_BY_HEADER = "X-Served-By"
DEFAULT_RASA_SERVER_PORTS = (5006, 5007)
DEFAULT_ACTION_SERVER_PORTS = (5056, 5057)
DEFAULT_ACTION_SERVER_WORKERS = 2
# Two Rasa servers load their models side by side: minutes on a busy two-core machine.
START_TIMEOUT_SECONDS = 600
# A Rasa server's first answer loads parts of the model; a socket.io poll waits 25 s.
SERVER_TIMEOUT_SECONDS = 120
# Seconds between HAProxy's health checks; a server is out after three failed checks in a
# row. A server that refuses connections (stopped, killed) fails each check at once; one busy
# with many messages answers late (Rasa runs much of a message on its event loop), which is
# no reason to take it out: a check may wait as long as a request. With 10 s, both Rasa servers
# were taken out at 200 open conversations and HAProxy answered 2,748 requests 503 itself.
HEALTH_CHECK_INTERVAL_SECONDS = 1
HEALTH_CHECK_TIMEOUT_SECONDS = SERVER_TIMEOUT_SECONDS


def _ports(env: Environment, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    values = env.items(name)
    if not values:
        return default
    try:
        return tuple(int(value) for value in values)
    except ValueError:
        raise SettingError(f"{name} must list port numbers, not {','.join(values)!r}") from None


@dataclass(frozen=True)
class ScaleOutSettings(EnvironmentSettings):
    # The balancer's ports: where customers, the desk and the Rasa servers' action calls go.
    rasa_port: int
    action_port: int
    # Each server's own port behind the balancer.
    rasa_server_ports: tuple[int, ...]
    action_server_ports: tuple[int, ...]
    action_server_workers: int

    @classmethod
    def read(cls, env: Environment) -> ScaleOutSettings:
        rasa_workers = env.integer("SANIC_WORKERS", 1)
        if rasa_workers != 1:
            raise SettingError(
                f"SANIC_WORKERS={rasa_workers}: Rasa's socket.io channel keeps each socket in "
                "the worker that opened it, so a Rasa server runs one worker; list more "
                "servers in SCALE_OUT_RASA_PORTS instead"
            )
        settings = cls(
            rasa_port=env.integer("RASA_PORT", 5005),
            action_port=env.integer("ACTION_SERVER_PORT", 5055),
            rasa_server_ports=_ports(env, "SCALE_OUT_RASA_PORTS", DEFAULT_RASA_SERVER_PORTS),
            action_server_ports=_ports(env, "SCALE_OUT_ACTION_PORTS", DEFAULT_ACTION_SERVER_PORTS),
            action_server_workers=env.integer(
                "ACTION_SERVER_SANIC_WORKERS", DEFAULT_ACTION_SERVER_WORKERS
            ),
        )
        ports = [
            settings.rasa_port,
            settings.action_port,
            *settings.rasa_server_ports,
            *settings.action_server_ports,
        ]
        if len(set(ports)) != len(ports):
            raise SettingError(f"the scale-out ports must all differ: {ports}")
        return settings

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def action_server_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}/webhook"


def secret_names() -> list[str]:
    """The secrets every deployment sets: those the embedded profile gives public values."""
    return [
        name
        for name, value in read_profile(EMBEDDED_PROFILE).items()
        if value.startswith(DEV_SECRET_PREFIX)
    ]


def machine_secrets(path: Path) -> dict[str, str]:
    """This machine's own random secrets for the profile, made once and readable by their
    owner only: the production profile has no usable default, and a deployment sets them
    from its secret store (which wins: see scale_out_environment)."""
    kept = read_env_file(path) if path.exists() else {}
    made = {name: secrets.token_urlsafe(32) for name in secret_names() if name not in kept}
    if made:
        path.parent.mkdir(parents=True, exist_ok=True)
        kept.update(made)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write("".join(f"{name}={value}\n" for name, value in kept.items()))
    return kept


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, _, value in pairs}


def scale_out_environment(data_dir: Path = DATA_DIR, **overrides: str) -> dict[str, str]:
    """The production profile, the caller's environment and ``overrides``; secrets left unset
    come from this machine's own (machine_secrets); the Rasa servers call the action servers
    and the desk calls Rasa through the balancer."""
    environment = process_environment(
        PRODUCTION_PROFILE, **overrides, **{PROFILE_VARIABLE: PRODUCTION_PROFILE}
    )
    if any(not environment.get(name) for name in secret_names()):
        for name, value in machine_secrets(data_dir / "secrets.env").items():
            environment[name] = environment.get(name) or value
    settings = ScaleOutSettings.read(Environment(environment))
    environment["ACTION_SERVER_URL"] = settings.action_server_url
    environment["RASA_URL"] = settings.rasa_url
    return with_backend_events_queue(environment)


def haproxy_config(settings: ScaleOutSettings, runtime_socket: Path) -> str:
    """HAProxy's configuration for these settings (see the module's docstring for why)."""
    rasa_servers = [
        (f"rasa-{number}", port) for number, port in enumerate(settings.rasa_server_ports, 1)
    ]
    action_servers = [
        (f"actions-{number}", port) for number, port in enumerate(settings.action_server_ports, 1)
    ]

    def servers(named: list[tuple[str, int]], cookie: bool = False) -> str:
        return "\n".join(
            f"    server {name} 127.0.0.1:{port} check" + (f" cookie {name}" if cookie else "")
            for name, port in named
        )

    return f"""\
# Generated by tooling/scale_out.py from the scale-out settings at every start: do not edit.
global
    log stdout format raw local0
    maxconn 4096
    # The runtime API, for this machine's owner only: drain a server before restarting it.
    stats socket {runtime_socket} mode 600 level admin

defaults
    mode http
    log global
    option httplog
    option dontlognull
    # The servers see the customer's address (Rasa through SANIC_PROXIES_COUNT=1), which the
    # channels' per-address limits count.
    option forwardfor
    # A request that could not reach a server (refused: it is down or restarting) goes to
    # another; one a server took and lost is not replayed, as it may have been handled.
    option redispatch
    retries 3
    timeout connect 2s
    timeout client {SERVER_TIMEOUT_SECONDS}s
    timeout server {SERVER_TIMEOUT_SECONDS}s
    timeout tunnel 1h
    timeout check {HEALTH_CHECK_TIMEOUT_SECONDS}s
    default-server inter {HEALTH_CHECK_INTERVAL_SECONDS}s fall 3 rise 2

frontend rasa
    bind 127.0.0.1:{settings.rasa_port}
    use_backend rasa_socketio if {{ path_beg {SOCKETIO_PATH} }}
    default_backend rasa_servers

backend rasa_servers
    balance roundrobin
    option httpchk GET /
    http-response set-header {SERVED_BY_HEADER} %[srv_name]
{servers(rasa_servers)}

backend rasa_socketio
    balance url_param {SOCKETIO_STICKY_PARAMETER}
    hash-type consistent
    cookie {STICKY_COOKIE} insert indirect nocache httponly
    option httpchk GET /
    http-response set-header {SERVED_BY_HEADER} %[srv_name]
{servers(rasa_servers, cookie=True)}

frontend actions
    bind 127.0.0.1:{settings.action_port}
    default_backend action_servers

backend action_servers
    balance roundrobin
    option httpchk GET /health
{servers(action_servers)}
"""


def runtime_socket(data_dir: Path) -> Path:
    return data_dir / "haproxy.sock"


def haproxy_command(socket_path: Path, command: str) -> str:
    """One command of HAProxy's runtime API, and its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(str(socket_path))
        connection.sendall(f"{command}\n".encode())
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer.decode()


def sessions_on(socket_path: Path, backend: str, server: str) -> int:
    """The requests HAProxy has in flight on one server (the scur column of show stat)."""
    rows = csv.reader(haproxy_command(socket_path, "show stat").lstrip("# ").splitlines())
    header = next(rows)
    for row in rows:
        if row[:2] == [backend, server]:
            return int(row[header.index("scur")])
    raise KeyError(f"{backend}/{server}")


def restart_drained(profile: ScaleOut, backend: str, server: Server) -> float:
    """A planned restart: HAProxy sends the server nothing new, the calls it holds finish,
    then it is stopped, started and put back once it answers. Returns the seconds it took."""
    started = time.monotonic()
    socket_path = runtime_socket(profile.data_dir)
    haproxy_command(socket_path, f"set server {backend}/{server.name} state drain")
    deadline = time.monotonic() + SERVER_TIMEOUT_SECONDS
    while sessions_on(socket_path, backend, server.name) and time.monotonic() < deadline:
        time.sleep(0.1)
    server.stop()
    server.start()
    server.wait_until_ready(START_TIMEOUT_SECONDS)
    haproxy_command(socket_path, f"set server {backend}/{server.name} state ready")
    return time.monotonic() - started


def haproxy_binary() -> str:
    found = shutil.which("haproxy", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if found is None:
        raise SystemExit(
            "HAProxy is not installed: scripts/setup-haproxy installs Debian's haproxy package "
            "(as root the first time: apt-get install haproxy)"
        )
    return found


def balancer(settings: ScaleOutSettings, data_dir: Path, environment: dict[str, str]) -> Server:
    """HAProxy in the foreground, its configuration written and checked first."""
    config = data_dir / "haproxy.cfg"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(haproxy_config(settings, runtime_socket(data_dir)))
    binary = haproxy_binary()
    checked = subprocess.run([binary, "-c", "-q", "-f", str(config)], capture_output=True)
    if checked.returncode != 0:
        raise RuntimeError(f"HAProxy refuses {config}:\n{checked.stderr.decode(errors='replace')}")
    return Server(
        "balancer", [binary, "-db", "-f", str(config)], f"{settings.rasa_url}/", environment
    )


@dataclass
class ScaleOut:
    """The profile's servers, in the order they start."""

    sandbox: Server
    desk: Server
    # One consumer of the RabbitMQ queue: it reads the events in the order Rasa sent them.
    analytics: Server
    # One consumer of the back end's events: it counts each customer's notices as it sends.
    notifier: Server
    action_servers: list[Server]
    rasa_servers: list[Server]
    balancer: Server
    # Where the HAProxy configuration, its runtime socket and the logs are.
    data_dir: Path

    def servers(self) -> list[Server]:
        return [
            self.sandbox,
            *self.action_servers,
            *self.rasa_servers,
            self.desk,
            self.analytics,
            self.notifier,
            self.balancer,
        ]

    def start(self) -> None:
        """Starts every server at once (the Rasa servers load their models side by side),
        then waits until each answers; the balancer last, so it finds its servers up."""
        for server in self.servers()[:-1]:
            server.start()
        for server in self.servers()[:-1]:
            server.wait_until_ready(START_TIMEOUT_SECONDS)
        self.balancer.start()
        self.balancer.wait_until_ready()

    def stop(self) -> None:
        stop_all(self.servers())


def scale_out(environment: dict[str, str], model: Path, data_dir: Path = DATA_DIR) -> ScaleOut:
    """The servers of the profile for ``environment`` (from scale_out_environment), logging to
    ``data_dir``/logs, started and stopped by the caller."""
    settings = ScaleOutSettings.read(Environment(environment))
    log_dir = data_dir / "logs"

    def named(server: Server, name: str) -> Server:
        return dataclasses.replace(server, name=name, log_dir=log_dir)

    # The Rasa servers take the customer's address from HAProxy's X-Forwarded-For (Sanic
    # reads SANIC_-prefixed variables into its configuration).
    rasa_environment = {**environment, "SANIC_WORKERS": "1", "SANIC_PROXIES_COUNT": "1"}
    action_environment = {
        **environment,
        "ACTION_SERVER_SANIC_WORKERS": str(settings.action_server_workers),
    }
    return ScaleOut(
        sandbox=named(sandbox_server(int(environment["SANDBOX_PORT"]), environment), "sandbox"),
        desk=named(desk_server(int(environment["DESK_PORT"]), environment), "desk"),
        analytics=named(
            analytics_server(int(environment["ANALYTICS_PORT"]), environment), "analytics"
        ),
        # Its port serves only its health route: any free one unless the environment says.
        notifier=named(
            notifier_server(int(environment.get("NOTIFIER_PORT") or free_port()), environment),
            "notifier",
        ),
        action_servers=[
            named(action_server(port, action_environment), f"actions-{number}")
            for number, port in enumerate(settings.action_server_ports, 1)
        ],
        rasa_servers=[
            named(rasa_server(model, port, rasa_environment), f"rasa-{number}")
            for number, port in enumerate(settings.rasa_server_ports, 1)
        ],
        balancer=named(balancer(settings, data_dir, environment), "balancer"),
        data_dir=data_dir,
    )


def how_to_talk(environment: Mapping[str, str], data_dir: Path) -> str:
    settings = ScaleOutSettings.read(Environment(environment))
    return f"""
The scale-out profile is running: {len(settings.rasa_server_ports)} Rasa servers and \
{len(settings.action_server_ports)} action servers ({settings.action_server_workers} workers \
each) behind HAProxy.
  - REST and socket.io through the balancer: {settings.rasa_url}
        curl -si {settings.rasa_url}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
            -d '{{"sender": "demo", "message": "hi"}}'     ({SERVED_BY_HEADER} names the server)
  - signed in, in another terminal (this machine's secrets are in {data_dir}/secrets.env):
        set -a; . {data_dir}/secrets.env; set +a
        DEPLOYMENT_PROFILE=production scripts/chat --server {settings.rasa_url} --customer C00001
Stores: tracker {environment["TRACKER_STORE_URL"]}, lock store redis \
{environment["LOCK_STORE_URL"]}:{environment["LOCK_STORE_PORT"]}, events \
{environment["EVENT_BROKER_URL"]}.
KPIs: the analytics service on port {environment["ANALYTICS_PORT"]}, shown to supervisors at \
http://127.0.0.1:{environment["DESK_PORT"]}/console/supervisor (agents with the supervisor flag).
Logs and the generated haproxy.cfg are in {data_dir}. Press Ctrl-C to stop everything.
"""


def main() -> None:
    environment = scale_out_environment()
    stores = StoreSettings.from_environment(environment)
    # Before starting anything: a store that cannot be used stops here, naming it.
    check_stores_or_exit(
        stores,
        analytics_database_url=environment["ANALYTICS_DATABASE_URL"],
        notifier_database_url=environment["NOTIFIER_DATABASE_URL"],
    )
    profile = scale_out(environment, ensure_model())
    run_until_stopped(profile.servers(), how_to_talk(environment, DATA_DIR), stores)


if __name__ == "__main__":
    main()
