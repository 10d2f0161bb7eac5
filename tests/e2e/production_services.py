"""The production profile's servers on this machine: PostgreSQL, Redis and RabbitMQ.

Tests create their own database and virtual host and leave the servers' settings alone.
Without the servers those tests skip, saying why, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

import psycopg2
import pytest

from tooling.scale_out import haproxy_binary

POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
POSTGRES_HOST_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
REDIS_ADDRESS = ("127.0.0.1", 6379)
RABBITMQ_ADDRESS = ("127.0.0.1", 5672)


def _reachable(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=2):
            return True
    except OSError:
        return False


def require_servers(*names: str) -> None:
    addresses = {
        "postgres": ("127.0.0.1", 5432),
        "redis": REDIS_ADDRESS,
        "rabbitmq": RABBITMQ_ADDRESS,
    }
    missing = [name for name in names if not _reachable(addresses[name])]
    if not missing:
        return
    reason = f"production-profile servers not reachable on this machine: {', '.join(missing)}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true requires them)")
    pytest.skip(reason)


def require_scale_out_servers() -> None:
    """The production profile's servers, and Debian's HAProxy for the scale-out profile."""
    require_servers("postgres", "redis", "rabbitmq")
    try:
        haproxy_binary()
    except SystemExit as missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing} (CI=true requires it)")
        pytest.skip(str(missing))


def fresh_postgres_database(name: str) -> str:
    """Drops and recreates the project's own test database; returns its URL."""
    connection = psycopg2.connect(POSTGRES_ADMIN_DSN)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return f"{POSTGRES_HOST_URL}/{name}"


def fresh_rabbitmq_vhost(name: str) -> str:
    """Recreates the project's own RabbitMQ virtual host for guest; returns its AMQP URL."""
    rabbitmqctl = shutil.which("rabbitmqctl")
    if rabbitmqctl is None:
        if os.environ.get("CI") == "true":
            pytest.fail("rabbitmqctl is needed to create the test virtual host")
        pytest.skip("rabbitmqctl not found: cannot create the test virtual host")
    subprocess.run([rabbitmqctl, "delete_vhost", name], capture_output=True)
    subprocess.run([rabbitmqctl, "add_vhost", name], check=True, capture_output=True)
    subprocess.run(
        [rabbitmqctl, "set_permissions", "-p", name, "guest", ".*", ".*", ".*"],
        check=True,
        capture_output=True,
    )
    return f"amqp://{RABBITMQ_ADDRESS[0]}:{RABBITMQ_ADDRESS[1]}/{name}"


def queued_messages(vhost: str, queue: str) -> int:
    rabbitmqctl = shutil.which("rabbitmqctl") or "rabbitmqctl"
    listing = subprocess.run(
        [
            rabbitmqctl,
            "list_queues",
            "-p",
            vhost,
            "name",
            "messages",
            "--no-table-headers",
            "--quiet",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == queue:
            return int(parts[1])
    return 0


def postgres_rows_holding(database_url: str, values: tuple[str, ...]) -> dict[str, list[str]]:
    """Each table of the database whose rows, read as text, contain one of ``values``."""
    found: dict[str, list[str]] = {}
    connection = psycopg2.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
            for (table,) in cursor.fetchall():
                cursor.execute(f'SELECT t::text FROM "{table}" t')
                text = "\n".join(row[0] for row in cursor.fetchall()).lower()
                hits = [value for value in values if value.lower() in text]
                if hits:
                    found[table] = hits
    finally:
        connection.close()
    return found


def drained_messages(vhost: str, queue: str) -> list[bytes]:
    """Every message waiting in ``queue`` of the project's own test virtual host (consumed)."""
    import asyncio

    import aio_pika

    async def drain() -> list[bytes]:
        host, port = RABBITMQ_ADDRESS
        connection = await aio_pika.connect(f"amqp://guest:guest@{host}:{port}/{vhost}")
        bodies: list[bytes] = []
        async with connection:
            channel = await connection.channel()
            waiting = await channel.get_queue(queue)
            while (message := await waiting.get(no_ack=True, fail=False)) is not None:
                bodies.append(message.body)
        return bodies

    return asyncio.run(drain())
