"""Every store the assistant writes to is reached at start, or the start stops, naming it.

Rasa keeps chatting when its tracker store cannot be used: it logs an error and keeps the
conversations in memory, where the next restart loses them. Nothing of the project starts that
way. `scripts/run` (tooling/launcher.py) checks every configured store here before it starts a
server, creating the project's PostgreSQL databases and, on this machine, its RabbitMQ virtual
host; the Rasa server's own tracker store (common/tracker_store.py) checks its database again,
so a `rasa run` started any other way stops too. A store is kept in memory only where the
configuration says `in_memory`.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from common.settings import Environment, EnvironmentSettings, SettingError

IN_MEMORY = "in_memory"
# The Rasa server's tracker store: Rasa's SQL store that stops instead of falling back.
PROJECT_TRACKER_STORE = "common.tracker_store.StrictSQLTrackerStore"
PROJECT_LOCK_STORE = "common.lock_store.AtomicRedisLockStore"
SQL_TRACKER_STORES = frozenset({"sql", PROJECT_TRACKER_STORE})
CONNECT_TIMEOUT_SECONDS = 5
# PostgreSQL's own database, there on every server: where the project's databases are created.
POSTGRES_MAINTENANCE_DATABASE = "postgres"
RABBITMQ_DEFAULT_PORT = 5672
ANALYTICS_DATABASE = "analytics database (ANALYTICS_DATABASE_URL)"
NOTIFIER_DATABASE = "notifier database (NOTIFIER_DATABASE_URL)"


class StoreUnavailable(RuntimeError):
    """A configured store cannot be used: the message names it, and its URL with the password
    masked, or the variable that configures it wrongly."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message

    @classmethod
    def at(cls, store: str, url: str, reason: str) -> StoreUnavailable:
        return cls(f"{store} cannot be used at {masked_url(url)}: {reason}", reason)

    @classmethod
    def misconfigured(cls, store: str, variable: str, problem: str) -> StoreUnavailable:
        return cls(f"{store}: {variable} {problem}")


def masked_url(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user_info, _, host = parts.netloc.rpartition("@")
    user = user_info.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _first_line(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return lines[0].strip() if lines else type(cause).__name__


# --- SQL databases: the tracker store, an SQL event broker, the desk's and the sandbox's ------


def sync_sql_url(url: str) -> URL:
    """The URL with the synchronous driver: the services name async ones (asyncpg, aiosqlite)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg2")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite")
    return parsed


def ensure_sql_database(store: str, url: str) -> str:
    """Connects to the SQL database at ``url``, creating it first where that is the project's
    job: a PostgreSQL database missing on its server, an SQLite file's directory. Returns what
    was done, for the start-up report; raises StoreUnavailable when it cannot be used."""
    sync_url = sync_sql_url(url)
    backend = sync_url.get_backend_name()
    if backend == "sqlite" and sync_url.database and sync_url.database != ":memory:":
        try:
            Path(sync_url.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreUnavailable.at(store, url, str(error)) from error
    try:
        _connect(sync_url)
        return "reached"
    except SQLAlchemyError as error:
        if backend != "postgresql":
            raise StoreUnavailable.at(store, url, _first_line(error)) from error
        first_error = error
    _create_postgres_database(store, url, sync_url, first_error)
    try:
        _connect(sync_url)
    except SQLAlchemyError as error:
        raise StoreUnavailable.at(store, url, _first_line(error)) from error
    return f"database {sync_url.database!r} created"


def _engine_options(url: URL) -> dict[str, object]:
    if url.get_backend_name() == "postgresql":
        return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_SECONDS}}
    return {}


def _connect(url: URL) -> None:
    engine = create_engine(url, poolclass=NullPool, future=True, **_engine_options(url))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def _create_postgres_database(
    store: str, url: str, sync_url: URL, first_error: SQLAlchemyError
) -> None:
    """Creates the missing database through the server's maintenance database. When the
    server cannot be reached, or the database is there after all (a wrong password, say), the
    first error stands."""
    name = sync_url.database
    unusable = StoreUnavailable.at(store, url, _first_line(first_error))
    if not name:
        raise StoreUnavailable.at(store, url, "the URL names no database") from first_error
    maintenance = create_engine(
        sync_url.set(database=POSTGRES_MAINTENANCE_DATABASE),
        poolclass=NullPool,
        future=True,
        isolation_level="AUTOCOMMIT",
        **_engine_options(sync_url),
    )
    try:
        try:
            connection = maintenance.connect()
        except SQLAlchemyError:
            raise unusable from first_error
        with connection:
            if _postgres_database_exists(connection, name):
                raise unusable from first_error
            quoted = connection.dialect.identifier_preparer.quote(name)
            try:
                connection.execute(text(f"CREATE DATABASE {quoted}"))
            except SQLAlchemyError as error:
                # Another process starting at the same time may have created it first.
                if not _postgres_database_exists(connection, name):
                    raise StoreUnavailable.at(
                        store, url, f"{unusable.reason}; creating it failed: {_first_line(error)}"
                    ) from error
    finally:
        maintenance.dispose()


def _postgres_database_exists(connection: Connection, name: str) -> bool:
    found = connection.execute(
        text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
    ).first()
    return found is not None


# --- Redis: the lock store, shared rate limits and revoked sign-ins ---------------------------


def check_redis(store: str, url: str) -> str:
    import redis

    client = redis.Redis.from_url(
        url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, socket_timeout=CONNECT_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except redis.RedisError as error:
        raise StoreUnavailable.at(store, url, _first_line(error)) from error
    finally:
        client.close()
    return "reached"


# --- RabbitMQ: the event broker ----------------------------------------------------------------


def amqp_url(url: str, username: str | None, password: str | None) -> str:
    """The broker's URL with the credentials given beside it, as Rasa's Pika broker joins them."""
    parts = urlsplit(url)
    if parts.username or not username:
        return url
    credentials = quote(username, safe="")
    if password:
        credentials += ":" + quote(password, safe="")
    return urlunsplit(parts._replace(netloc=f"{credentials}@{parts.netloc}"))


def virtual_host(url: str) -> str:
    path = urlsplit(url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def check_rabbitmq(store: str, url: str, *, create_virtual_host: bool = False) -> str:
    """Opens a connection to the broker at ``url``. With ``create_virtual_host``, a broker on
    this machine whose virtual host is missing gets it through rabbitmqctl (as on a developer's
    or a single-server machine); elsewhere creating it is the operator's job."""
    try:
        _open_amqp(url)
        return "reached"
    except Exception as error:  # aio_pika raises assorted types; every one means "not usable"
        reply = _broker_reply(error)
        first_error = error
    # Only a broker that answered can be missing the virtual host (it closes with its reason).
    may_create = create_virtual_host and reply is not None and _broker_is_here(url)
    if not may_create or _virtual_host_exists(url):
        raise StoreUnavailable.at(store, url, _amqp_reason(first_error)) from first_error
    name = virtual_host(url)
    _create_virtual_host(store, url, name)
    try:
        _open_amqp(url)
    except Exception as error:
        raise StoreUnavailable.at(store, url, _amqp_reason(error)) from error
    return f"virtual host {name!r} created"


def _open_amqp(url: str) -> None:
    import aio_pika

    async def open_and_close() -> None:
        connection = await asyncio.wait_for(
            aio_pika.connect(url, timeout=CONNECT_TIMEOUT_SECONDS), CONNECT_TIMEOUT_SECONDS + 1
        )
        await connection.close()

    asyncio.run(open_and_close())


def _broker_reply(error: BaseException) -> str | None:
    """The broker's reason when it closed the connection itself (a refused virtual host
    arrives as its Connection.Close frame, the text inside); None when it never answered."""
    for argument in getattr(error, "args", ()):
        reply = getattr(argument, "reply_text", None)
        if reply:
            return str(reply)
    return None


def _amqp_reason(error: BaseException) -> str:
    reply = _broker_reply(error)
    if reply is not None:
        return reply
    return _first_line(error) if str(error) else type(error).__name__


def _broker_is_here(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _rabbitmqctl(*arguments: str) -> subprocess.CompletedProcess[str] | None:
    command = shutil.which("rabbitmqctl")
    if command is None:
        return None
    return subprocess.run(
        [command, *arguments], capture_output=True, text=True, timeout=60, check=False
    )


def _virtual_host_exists(url: str) -> bool:
    listing = _rabbitmqctl("list_vhosts", "--quiet", "--no-table-headers")
    if listing is None or listing.returncode != 0:
        return True  # cannot tell: the broker's own error stands
    return virtual_host(url) in listing.stdout.split()


def _create_virtual_host(store: str, url: str, name: str) -> None:
    user = unquote(urlsplit(url).username or "guest")
    for arguments in (("add_vhost", name), ("set_permissions", "-p", name, user, ".*", ".*", ".*")):
        done = _rabbitmqctl(*arguments)
        if done is None or done.returncode != 0:
            output = (done.stderr or done.stdout).strip() if done else "rabbitmqctl not found"
            raise StoreUnavailable.at(store, url, f"creating virtual host {name!r}: {output}")


# --- HTTP services: the product back end ------------------------------------------------------


def check_http(store: str, url: str) -> str:
    """Anything that answers HTTP counts as reached; an error status is still an answer."""
    try:
        with urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT_SECONDS):
            pass
    except urllib.error.HTTPError:
        pass
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise StoreUnavailable.at(store, url, str(reason)) from error
    return "reached"


# --- What the environment configures ----------------------------------------------------------


@dataclass(frozen=True)
class StoreSettings(EnvironmentSettings):
    """The stores endpoints.yml and the services read from the environment (the profiles)."""

    tracker_store_type: str | None
    tracker_store_url: str | None
    lock_store_type: str | None
    lock_store_url: str
    event_broker_type: str | None
    event_broker_url: str | None
    # Unset: the desk and the sandbox keep their SQLite files under .data/.
    desk_database_url: str | None
    sandbox_database_url: str | None
    rate_limit_redis_url: str | None
    backend_url: str | None

    @classmethod
    def read(cls, env: Environment) -> StoreSettings:
        lock_host = env.text("LOCK_STORE_URL", "localhost")
        lock_port = env.integer("LOCK_STORE_PORT", 6379)
        lock_db = env.integer("LOCK_STORE_DB", 1)
        lock_prefix = env.text("LOCK_STORE_KEY_PREFIX", "")
        if env.text("LOCK_STORE_TYPE", "") == PROJECT_LOCK_STORE and not lock_prefix.isalnum():
            # Rasa would log a warning and share the default "lock:" keys with every server
            # on the same Redis database, whatever its conversations.
            raise SettingError(
                f"LOCK_STORE_KEY_PREFIX={lock_prefix!r}: Rasa takes letters and digits only"
            )
        broker_url = env.optional("EVENT_BROKER_URL")
        if broker_url and env.text("EVENT_BROKER_TYPE", "").lower() == "pika":
            broker_url = amqp_url(
                broker_url,
                env.optional("EVENT_BROKER_USERNAME"),
                env.optional("EVENT_BROKER_PASSWORD"),
            )
        return cls(
            tracker_store_type=env.optional("TRACKER_STORE_TYPE"),
            tracker_store_url=env.optional("TRACKER_STORE_URL"),
            lock_store_type=env.optional("LOCK_STORE_TYPE"),
            lock_store_url=f"redis://{lock_host}:{lock_port}/{lock_db}",
            event_broker_type=env.optional("EVENT_BROKER_TYPE"),
            event_broker_url=broker_url,
            desk_database_url=env.optional("DESK_DATABASE_URL"),
            sandbox_database_url=env.optional("SANDBOX_DATABASE_URL"),
            rate_limit_redis_url=env.optional("RATE_LIMIT_REDIS_URL"),
            backend_url=env.optional("BACKEND_URL"),
        )


def check_databases(
    settings: StoreSettings,
    *,
    create_virtual_host: bool = False,
    on_checked: Callable[[str], None] | None = None,
) -> list[str]:
    """Checks every store the servers need before they start (tracker store, lock store, event
    broker, shared rate limits, the desk's and the sandbox's databases), creating what is the
    project's to create. Returns one line per store for the start-up report, each also given
    to ``on_checked`` as soon as its store is checked; raises StoreUnavailable for the first
    that cannot be used."""
    checks: list[Callable[[], str]] = [
        functools.partial(_check_tracker_store, settings),
        functools.partial(_check_lock_store, settings),
        functools.partial(_check_event_broker, settings, create_virtual_host),
    ]
    if settings.rate_limit_redis_url:
        checks.append(
            functools.partial(
                _check_url,
                "shared rate limits (RATE_LIMIT_REDIS_URL)",
                settings.rate_limit_redis_url,
                check_redis,
            )
        )
    for store, url in (
        ("desk database (DESK_DATABASE_URL)", settings.desk_database_url),
        ("sandbox database (SANDBOX_DATABASE_URL)", settings.sandbox_database_url),
    ):
        if url:
            checks.append(functools.partial(_check_url, store, url, ensure_sql_database))
    report = []
    for check in checks:
        report.append(check())
        if on_checked is not None:
            on_checked(report[-1])
    return report


def _check_url(store: str, url: str, check: Callable[[str, str], str]) -> str:
    return _line(store, url, check(store, url))


def check_analytics_database(url: str) -> str:
    """The analytics service's database (python -m analytics), created where it is the
    project's to create, as the others are. Not among the servers' stores (check_databases):
    a deployment may run without the analytics service, and its Rasa servers do not use it."""
    return _check_url(ANALYTICS_DATABASE, url, ensure_sql_database)


def check_notifier_database(url: str) -> str:
    """The notifier's database (python -m proactive.notifier), created where it is the
    project's to create; like the analytics database, not among the servers' stores."""
    return _check_url(NOTIFIER_DATABASE, url, ensure_sql_database)


def check_stores_or_exit(
    settings: StoreSettings,
    *,
    analytics_database_url: str | None = None,
    notifier_database_url: str | None = None,
) -> None:
    """The checks as a start runs them: one line per store, or an exit naming the first store
    that cannot be used. A RabbitMQ on this machine gets its missing virtual host; the
    analytics and notifier databases are checked too when the start runs those services."""
    print("Checking the stores ...", flush=True)
    try:
        check_databases(
            settings,
            create_virtual_host=True,
            on_checked=lambda line: print(f"  {line}", flush=True),
        )
        if analytics_database_url:
            print(f"  {check_analytics_database(analytics_database_url)}", flush=True)
        if notifier_database_url:
            print(f"  {check_notifier_database(notifier_database_url)}", flush=True)
    except StoreUnavailable as error:
        raise SystemExit(f"Not started: {error}") from None


def check_backend(settings: StoreSettings) -> str:
    """The product back end answers at BACKEND_URL (once the sandbox, if it stands in, is up)."""
    store = "product back end (BACKEND_URL)"
    if not settings.backend_url:
        raise StoreUnavailable.misconfigured(store, "BACKEND_URL", "is not set")
    return _line(store, settings.backend_url, check_http(store, settings.backend_url))


def _line(store: str, url: str, outcome: str) -> str:
    return f"{store}: {masked_url(url)} {outcome}"


def _check_tracker_store(settings: StoreSettings) -> str:
    store = "tracker store (TRACKER_STORE_URL)"
    kind = settings.tracker_store_type
    if kind == IN_MEMORY:
        return f"{store}: in memory, as configured (conversations are lost at every restart)"
    if kind not in SQL_TRACKER_STORES:
        raise StoreUnavailable.misconfigured(
            store,
            "TRACKER_STORE_TYPE",
            f"is {kind or 'unset'}: the project runs on {PROJECT_TRACKER_STORE} (or sql), or "
            f"{IN_MEMORY} when losing conversations at a restart is acceptable",
        )
    if not settings.tracker_store_url:
        raise StoreUnavailable.misconfigured(store, "TRACKER_STORE_URL", "is not set")
    url = settings.tracker_store_url
    return _line(store, url, ensure_sql_database(store, url))


def _check_lock_store(settings: StoreSettings) -> str:
    store = "lock store (LOCK_STORE_URL)"
    if settings.lock_store_type == IN_MEMORY:
        return f"{store}: in memory, as configured (one Rasa server with one worker only)"
    if settings.lock_store_type == "redis":
        raise StoreUnavailable.misconfigured(
            store,
            "LOCK_STORE_TYPE",
            "is redis: Rasa's own Redis lock store lets two servers take one conversation at "
            f"once (common/lock_store.py says how); use {PROJECT_LOCK_STORE}",
        )
    if settings.lock_store_type != PROJECT_LOCK_STORE:
        raise StoreUnavailable.misconfigured(
            store,
            "LOCK_STORE_TYPE",
            f"is {settings.lock_store_type or 'unset'}: {PROJECT_LOCK_STORE} or {IN_MEMORY}",
        )
    url = settings.lock_store_url
    return _line(store, url, check_redis(store, url))


def _check_event_broker(settings: StoreSettings, create_virtual_host: bool) -> str:
    store = "event broker (EVENT_BROKER_URL)"
    kind = (settings.event_broker_type or "").lower()
    url = settings.event_broker_url
    if kind not in ("sql", "pika"):
        raise StoreUnavailable.misconfigured(
            store, "EVENT_BROKER_TYPE", f"is {kind or 'unset'}: sql or pika (RabbitMQ)"
        )
    if not url:
        raise StoreUnavailable.misconfigured(store, "EVENT_BROKER_URL", "is not set")
    if kind == "sql":
        return _line(store, url, ensure_sql_database(store, url))
    return _line(store, url, check_rabbitmq(store, url, create_virtual_host=create_virtual_host))


def main() -> None:
    """`python -m common.store_checks`: the checks alone, for servers started some other way
    than scripts/run (a Kubernetes init container, a service manager's pre-start step)."""
    from common.environment import process_environment

    check_stores_or_exit(StoreSettings.from_environment(process_environment()))


if __name__ == "__main__":
    main()
