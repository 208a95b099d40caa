"""The local service stack without Docker: install, configure, start, check and stop.

Every server runs on 127.0.0.1 from artifacts the project fetches itself (Maven Central for
Neo4j, Kafka and OpenSearch; the Go module proxy for FerretDB and OPA; Debian packages for Redis,
MariaDB and PostgreSQL). Downloads are cached under ``cache_dir``; state (data, logs, pid
files) lives under ``stack_dir``. ``stack down`` only stops processes whose pid file we wrote.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import httpx
import psutil

from core.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
INFRA = REPO_ROOT / "infra"
SERVICE_USER = "datawave"
SOURCE_USER = "datawave"  # account created in the edge databases for connectors and tests
FERRETDB_VERSION = "v1.24.2"
OPA_VERSION = "v1.22.4"  # pinned with its dependencies by infra/opa/go.mod


class StackError(Exception):
    """A stack operation failed; the message says what to do about it."""


@dataclass(frozen=True)
class Tool:
    command: str
    hint: str


JAVA = Tool("java", "install Java 17: apt-get install openjdk-17-jre-headless")
MAVEN = Tool("mvn", "install Maven: apt-get install maven")
GO = Tool("go", "install Go 1.24 or newer from https://go.dev/dl or apt-get install golang")
REDIS = Tool("redis-server", "install Redis: apt-get install redis-server")
MARIADB = Tool("mariadbd", "install MariaDB: apt-get install mariadb-server mariadb-client")
MARIADB_INSTALL = Tool("mariadb-install-db", MARIADB.hint)
MARIADB_CLIENT = Tool("mariadb", MARIADB.hint)


def which(tool: Tool) -> str:
    found = shutil.which(tool.command) or shutil.which(tool.command, path="/usr/sbin:/sbin")
    if not found:
        raise StackError(f"{tool.command} not found on PATH: {tool.hint}")
    return found


def postgres_bin(name: str) -> str:
    """PostgreSQL's server tools live in a versioned folder on Debian."""
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    if candidates:
        return str(candidates[0])
    found = shutil.which(name)
    if not found:
        raise StackError(f"{name} not found: install PostgreSQL: apt-get install postgresql")
    return found


def run_step(what: str, args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a set-up command; on failure raise StackError with what failed and its output."""
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-3000:]
        raise StackError(f"{what} failed (exit {result.returncode}):\n{output}")
    return result


def render(template: Path, target: Path, **values: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(Template(template.read_text()).substitute(values))


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_holder(port: int) -> str | None:
    """Describe the process listening on ``port`` (or None when the port is free)."""
    try:
        conns = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        conns = []
    for c in conns:
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port:
            if c.pid is None:
                return "an unknown process"
            try:
                proc = psutil.Process(c.pid)
                return f"pid {c.pid} ({proc.name()}: {' '.join(proc.cmdline())[:120]})"
            except psutil.Error:
                return f"pid {c.pid}"
    return "an unknown process" if port_open(port) else None


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"(no log at {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _start_ticks(pid: int) -> int | None:
    """When a Linux process started, in clock ticks since boot (``/proc/<pid>/stat`` field 22)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def start_record(proc: psutil.Process) -> dict[str, Any]:
    """What a pid file keeps to know its process again (the pid may be reused)."""
    return {"pid": proc.pid, "started": proc.create_time(), "ticks": _start_ticks(proc.pid)}


def started_as(proc: psutil.Process, record: dict[str, Any]) -> bool:
    """Whether ``proc`` is the process ``record`` was written for. Its start in ticks since
    boot decides wherever ``/proc`` has it (Linux); ``create_time`` only elsewhere, because
    psutil derives it from the boot time, which moves when the wall clock is stepped (27 s
    once here, and every service looked foreign to ``stack up`` and ``stack down``)."""
    ticks = record.get("ticks")
    if ticks is not None and (now := _start_ticks(proc.pid)) is not None:
        return now == ticks
    return proc.create_time() == record["started"]


@dataclass
class Context:
    """Where things go, and as whom services run."""

    settings: Settings
    echo: Callable[[str], None] = print

    @property
    def stack_dir(self) -> Path:
        return self.settings.stack_dir

    @property
    def cache_dir(self) -> Path:
        return self.settings.cache_dir

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    def home(self, service: str) -> Path:
        path = self.stack_dir / service
        path.mkdir(parents=True, exist_ok=True)
        return path

    def service_user(self) -> pwd.struct_passwd | None:
        """The unprivileged account for servers that refuse root; None when we are not root."""
        if not self.as_root:
            return None
        try:
            return pwd.getpwnam(SERVICE_USER)
        except KeyError:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    SERVICE_USER,
                ],
                check=True,
            )
            return pwd.getpwnam(SERVICE_USER)

    def give_to_service_user(self, path: Path) -> None:
        user = self.service_user()
        if user is None:
            return
        for p in [path, *path.rglob("*")]:
            os.lchown(p, user.pw_uid, user.pw_gid)
        self.stack_dir.chmod(0o755)  # the service user must be able to reach its folder


@dataclass
class Service:
    """One server of the stack. Subclasses fill in install/configure/command/health."""

    name: str
    ports: tuple[int, ...]
    start_timeout_s: float = 60.0
    needs_service_user: bool = False
    env: dict[str, str] = field(default_factory=dict)

    # -- hooks -----------------------------------------------------------------------------
    def check_tools(self, ctx: Context) -> None:
        """Raise StackError naming what to install when a prerequisite is missing."""

    def install(self, ctx: Context) -> None:
        """Fetch and unpack binaries into the cache (idempotent)."""

    def configure(self, ctx: Context) -> None:
        """Write config files and initialise data folders (idempotent)."""

    def command(self, ctx: Context) -> list[str]:
        raise NotImplementedError

    def healthy(self, ctx: Context) -> bool:
        return all(port_open(p) for p in self.ports)

    def after_start(self, ctx: Context) -> None:
        """One-off work once the server answers (accounts, databases)."""

    # -- bookkeeping ---------------------------------------------------------------------------
    def log_path(self, ctx: Context) -> Path:
        return ctx.home(self.name) / "logs" / "console.log"

    def pid_path(self, ctx: Context) -> Path:
        return ctx.stack_dir / "run" / f"{self.name}.pid"

    def process(self, ctx: Context) -> psutil.Process | None:
        """Our running process, if the pid file points at a live process we started."""
        path = self.pid_path(ctx)
        if not path.exists():
            return None
        try:
            record = json.loads(path.read_text())
            proc = psutil.Process(record["pid"])
            if not started_as(proc, record) or not proc.is_running():
                return None
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return proc
        except (psutil.Error, ValueError, KeyError):
            return None

    def rss_bytes(self, proc: psutil.Process) -> int:
        total = 0
        for p in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    # -- lifecycle -------------------------------------------------------------------------------
    def launch(self, ctx: Context) -> psutil.Process:
        for port in self.ports:
            holder = port_holder(port)
            if holder:
                raise StackError(
                    f"{self.name}: port {port} is already in use by {holder}; "
                    "stop that process or free the port"
                )
        log = self.log_path(ctx)
        log.parent.mkdir(parents=True, exist_ok=True)
        user = ctx.service_user() if self.needs_service_user else None
        if user is not None:
            ctx.give_to_service_user(ctx.home(self.name))
        with log.open("ab") as out:
            popen = subprocess.Popen(
                self.command(ctx),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ctx.home(self.name),
                env={**os.environ, **self.env, **self.runtime_env(ctx)},
                start_new_session=True,
                user=user.pw_uid if user else None,
                group=user.pw_gid if user else None,
                extra_groups=[] if user else None,
            )
        proc = psutil.Process(popen.pid)
        pid_path = self.pid_path(ctx)
        pid_path.parent.mkdir(parents=True, exist_ok=True)
        pid_path.write_text(json.dumps(start_record(proc)))
        return proc

    def runtime_env(self, ctx: Context) -> dict[str, str]:
        return {}

    def wait_healthy(self, ctx: Context, proc: psutil.Process) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
                raise StackError(
                    f"{self.name} exited during start-up; last lines of "
                    f"{self.log_path(ctx)}:\n{tail(self.log_path(ctx))}"
                )
            if self.healthy(ctx):
                return
            time.sleep(0.5)
        raise StackError(
            f"{self.name} did not become healthy within {self.start_timeout_s:.0f}s; last lines "
            f"of {self.log_path(ctx)}:\n{tail(self.log_path(ctx))}"
        )

    def stop(self, ctx: Context, timeout_s: float = 45.0) -> bool:
        proc = self.process(ctx)
        self.pid_path(ctx).unlink(missing_ok=True)
        if proc is None:
            return False
        family = [proc, *proc.children(recursive=True)]
        for p in family:
            with contextlib.suppress(psutil.Error):
                p.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(family, timeout=timeout_s)
        for p in alive:
            with contextlib.suppress(psutil.Error):
                p.kill()
        psutil.wait_procs(alive, timeout=5)
        return True


def maven_fetch(ctx: Context, profile: str) -> Path:
    """Resolve one server's artifacts from Maven Central into a folder keyed by the pom."""
    pom = INFRA / "pom.xml"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:12]
    out = ctx.cache_dir / "dist" / f"{profile}-{digest}"
    marker = out / ".complete"
    if marker.exists():
        return out
    mvn = which(MAVEN)
    ctx.echo(f"fetching {profile} from Maven Central into {out} ...")
    run_step(
        f"maven fetch of {profile}",
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "-P",
            profile,
            "dependency:copy-dependencies",
            f"-Ddw.out={out}",
        ],
    )
    marker.touch()
    return out


def java_major() -> int:
    out = subprocess.run([which(JAVA), "-version"], capture_output=True, text=True).stderr
    first = out.splitlines()[0] if out else ""
    try:
        version = first.split('"')[1]
        return int(version.split(".")[0])
    except (IndexError, ValueError):
        return 0


def check_java(name: str) -> None:
    which(JAVA)
    which(MAVEN)
    if java_major() < 17:
        raise StackError(f"{name} needs Java 17 or newer: {JAVA.hint}")


# What Neo4j's own launcher (bin/neo4j) passes the JVM: the add-opens let it reach file
# descriptors (it advises the kernel on its transaction logs; without them debug.log fills with
# "Unable to advise" warnings) and Netty its direct buffers.
NEO4J_JVM = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true",
)


class Neo4j(Service):
    # The JVM is launched directly (not through bin/neo4j), so the heap goes on its command
    # line and into neo4j.conf from this one value.
    HEAP = "1g"

    def __init__(self) -> None:
        super().__init__("neo4j", (7687, 7474), start_timeout_s=180.0)

    def check_tools(self, ctx: Context) -> None:
        check_java(self.name)

    def install(self, ctx: Context) -> None:
        self.lib = maven_fetch(ctx, "neo4j")

    def configure(self, ctx: Context) -> None:
        home = ctx.home(self.name)
        for sub in ("conf", "data", "logs", "run", "plugins", "import"):
            (home / sub).mkdir(exist_ok=True)
        render(
            INFRA / "neo4j.conf",
            home / "conf" / "neo4j.conf",
            home=str(home),
            lib=str(self.lib),
            heap=self.HEAP,
        )
        marker = home / "data" / ".password-set"
        if not marker.exists():
            password = ctx.settings.neo4j.password.get_secret_value()
            run_step(
                "neo4j-admin set-initial-password",
                [
                    which(JAVA),
                    "-cp",
                    f"{self.lib}/*",
                    "org.neo4j.server.startup.Neo4jAdminBoot",
                    "dbms",
                    "set-initial-password",
                    password,
                ],
                env={**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(home / "conf")},
            )
            marker.touch()

    def command(self, ctx: Context) -> list[str]:
        home = ctx.home(self.name)
        return [
            which(JAVA),
            f"-Xms{self.HEAP}",
            f"-Xmx{self.HEAP}",
            *NEO4J_JVM,
            "-cp",
            f"{self.lib}/*",
            "org.neo4j.server.CommunityEntryPoint",
            f"--home-dir={home}",
            f"--config-dir={home / 'conf'}",
        ]

    def healthy(self, ctx: Context) -> bool:
        if not port_open(7687):
            return False
        try:
            return httpx.get("http://127.0.0.1:7474/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


class Kafka(Service):
    def __init__(self) -> None:
        super().__init__("kafka", (9092, 9093), start_timeout_s=120.0)

    def check_tools(self, ctx: Context) -> None:
        check_java(self.name)

    def install(self, ctx: Context) -> None:
        self.lib = maven_fetch(ctx, "kafka")

    def configure(self, ctx: Context) -> None:
        home = ctx.home(self.name)
        (home / "logs").mkdir(exist_ok=True)
        render(INFRA / "kafka.properties", home / "server.properties", home=str(home))
        if not (home / "data" / "meta.properties").exists():
            cluster_id = hashlib.sha256(str(home).encode()).digest()[:16]
            cid = base64.urlsafe_b64encode(cluster_id).decode().rstrip("=")
            run_step(
                "kafka storage format",
                [
                    which(JAVA),
                    "-cp",
                    f"{self.lib}/*",
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cid,
                    "-c",
                    str(home / "server.properties"),
                ],
            )

    def command(self, ctx: Context) -> list[str]:
        home = ctx.home(self.name)
        return [
            which(JAVA),
            "-Xms384m",
            "-Xmx384m",
            "-XX:+UseG1GC",
            f"-Dkafka.logs.dir={home / 'logs'}",
            f"-Dlog4j2.configurationFile={INFRA / 'kafka-log4j2.properties'}",
            "-cp",
            f"{self.lib}/*",
            "kafka.Kafka",
            str(home / "server.properties"),
        ]

    def healthy(self, ctx: Context) -> bool:
        if not port_open(9092):
            return False
        from aiokafka.admin import AIOKafkaAdminClient

        async def probe() -> bool:
            admin = AIOKafkaAdminClient(bootstrap_servers="127.0.0.1:9092", request_timeout_ms=3000)
            try:
                await asyncio.wait_for(admin.start(), 5)
                await asyncio.wait_for(admin.list_topics(), 5)
                return True
            except Exception:
                return False
            finally:
                await admin.close()

        return asyncio.run(probe())


class OpenSearch(Service):
    def __init__(self) -> None:
        super().__init__("opensearch", (9200,), start_timeout_s=180.0, needs_service_user=True)

    def check_tools(self, ctx: Context) -> None:
        check_java(self.name)

    def install(self, ctx: Context) -> None:
        dist = maven_fetch(ctx, "opensearch")
        (archive,) = dist.glob("opensearch-*.zip")
        self.dist_home = ctx.home(self.name) / archive.stem
        if not (self.dist_home / "bin" / "opensearch").exists():
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(ctx.home(self.name))
            for script in (self.dist_home / "bin").iterdir():
                script.chmod(0o755)

    def configure(self, ctx: Context) -> None:
        home = ctx.home(self.name)
        for sub in ("data", "logs"):
            (home / sub).mkdir(exist_ok=True)
        render(
            INFRA / "opensearch.yml", self.dist_home / "config" / "opensearch.yml", home=str(home)
        )

    def runtime_env(self, ctx: Context) -> dict[str, str]:
        java_home = Path(os.path.realpath(which(JAVA))).parents[1]
        return {
            "OPENSEARCH_JAVA_HOME": str(java_home),
            "OPENSEARCH_JAVA_OPTS": "-Xms512m -Xmx512m",
            "OPENSEARCH_PATH_CONF": str(self.dist_home / "config"),
        }

    def command(self, ctx: Context) -> list[str]:
        return [str(self.dist_home / "bin" / "opensearch")]

    def healthy(self, ctx: Context) -> bool:
        try:
            r = httpx.get("http://127.0.0.1:9200/_cluster/health", timeout=2)
            return r.status_code == 200 and r.json().get("status") in ("green", "yellow")
        except (httpx.HTTPError, ValueError):
            return False


class Redis(Service):
    def __init__(self) -> None:
        super().__init__("redis", (6379,), start_timeout_s=20.0)

    def check_tools(self, ctx: Context) -> None:
        which(REDIS)

    def command(self, ctx: Context) -> list[str]:
        home = ctx.home(self.name)
        return [
            which(REDIS),
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--dir",
            str(home),
            "--daemonize",
            "no",
            "--appendonly",
            "yes",
            "--save",
            "60 1",
            "--maxmemory",
            "256mb",
            "--protected-mode",
            "yes",
        ]


class MariaDB(Service):
    def __init__(self) -> None:
        super().__init__("mariadb", (3306,), start_timeout_s=60.0, needs_service_user=True)

    def check_tools(self, ctx: Context) -> None:
        for tool in (MARIADB, MARIADB_INSTALL, MARIADB_CLIENT):
            which(tool)

    def socket(self, ctx: Context) -> Path:
        return ctx.home(self.name) / "mysqld.sock"

    def configure(self, ctx: Context) -> None:
        data = ctx.home(self.name) / "data"
        if (data / "mysql").exists():
            return
        user = ctx.service_user()
        args = [
            which(MARIADB_INSTALL),
            f"--datadir={data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]
        if user:
            args.append(f"--user={user.pw_name}")
        run_step("mariadb-install-db", args)

    def command(self, ctx: Context) -> list[str]:
        home = ctx.home(self.name)
        return [
            which(MARIADB),
            "--no-defaults",
            f"--datadir={home / 'data'}",
            f"--socket={self.socket(ctx)}",
            "--port=3306",
            "--bind-address=127.0.0.1",
            f"--pid-file={home / 'mariadb.pid'}",
            "--innodb-buffer-pool-size=128M",
            "--performance-schema=OFF",
            "--skip-name-resolve",
            f"--log-error={home / 'logs' / 'error.log'}",
        ]

    def after_start(self, ctx: Context) -> None:
        pw = ctx.settings.source_password.get_secret_value()
        sql = (
            f"CREATE USER IF NOT EXISTS '{SOURCE_USER}'@'%' IDENTIFIED BY '{pw}';"
            f"ALTER USER '{SOURCE_USER}'@'%' IDENTIFIED BY '{pw}';"
            f"GRANT ALL PRIVILEGES ON *.* TO '{SOURCE_USER}'@'%' WITH GRANT OPTION;"
        )
        run_step(
            f"creating the {SOURCE_USER} account in mariadb",
            [which(MARIADB_CLIENT), f"--socket={self.socket(ctx)}", "-uroot", "-e", sql],
        )


class PostgreSQL(Service):
    def __init__(self) -> None:
        super().__init__("postgresql", (5432,), start_timeout_s=60.0, needs_service_user=True)

    def check_tools(self, ctx: Context) -> None:
        postgres_bin("postgres")
        postgres_bin("initdb")

    def configure(self, ctx: Context) -> None:
        home = ctx.home(self.name)
        data = home / "data"
        if (data / "PG_VERSION").exists():
            return
        pwfile = home / "pwfile"
        pwfile.write_text(ctx.settings.source_password.get_secret_value() + "\n")
        ctx.give_to_service_user(home)
        user = ctx.service_user()
        try:
            run_step(
                "initdb",
                [
                    postgres_bin("initdb"),
                    "-D",
                    str(data),
                    "-U",
                    SOURCE_USER,
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
                user=user.pw_uid if user else None,
                group=user.pw_gid if user else None,
                extra_groups=[] if user else None,
                cwd=home,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def command(self, ctx: Context) -> list[str]:
        home = ctx.home(self.name)
        return [
            postgres_bin("postgres"),
            "-D",
            str(home / "data"),
            "-p",
            "5432",
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={home}",
            "-c",
            "shared_buffers=128MB",
            "-c",
            "max_connections=200",
        ]


class FerretDB(Service):
    def __init__(self) -> None:
        super().__init__("ferretdb", (27017,), start_timeout_s=30.0)

    def check_tools(self, ctx: Context) -> None:
        which(GO)

    def binary(self, ctx: Context) -> Path:
        return ctx.cache_dir / "bin" / f"ferretdb-{FERRETDB_VERSION}"

    def install(self, ctx: Context) -> None:
        """Build FerretDB from the Go module proxy.

        The module's embedded version file is generated by FerretDB's own build tool and is
        absent from the proxy's copy, so we build from a writable copy that adds it.
        """
        target = self.binary(ctx)
        if target.exists():
            return
        go = which(GO)
        module = f"github.com/FerretDB/FerretDB@{FERRETDB_VERSION}"
        ctx.echo(f"building FerretDB {FERRETDB_VERSION} from the Go module proxy ...")
        dl = run_step(
            f"go mod download {module}",
            [go, "mod", "download", "-json", module],
            cwd=INFRA / "ferretdb",
        )
        src = ctx.cache_dir / "src" / f"ferretdb-{FERRETDB_VERSION}"
        shutil.rmtree(src, ignore_errors=True)
        shutil.copytree(json.loads(dl.stdout)["Dir"], src)
        for p in [src, *src.rglob("*")]:
            p.chmod(p.stat().st_mode | 0o200)
        (src / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
        target.parent.mkdir(parents=True, exist_ok=True)
        run_step(
            "building FerretDB",
            [go, "build", "-o", str(target), "./cmd/ferretdb"],
            cwd=src,
            env={**os.environ, "GOTOOLCHAIN": "local"},
        )

    def command(self, ctx: Context) -> list[str]:
        home = ctx.home(self.name)
        (home / "data").mkdir(exist_ok=True)
        return [
            str(self.binary(ctx)),
            "--handler=sqlite",
            f"--sqlite-url=file:{home / 'data'}/",
            "--listen-addr=127.0.0.1:27017",
            "--telemetry=disable",
            f"--state-dir={home}",
            "--log-level=warn",
        ]


class OPA(Service):
    """Open Policy Agent, the policy engine governance/ pushes Rego and data to (REST, 8181).

    Policies live in its memory only: governance re-pushes the active rule set when OPA comes
    back without it, so a restart loses nothing.
    """

    def __init__(self) -> None:
        super().__init__("opa", (8181,), start_timeout_s=30.0)

    def check_tools(self, ctx: Context) -> None:
        which(GO)

    def binary(self, ctx: Context) -> Path:
        return ctx.cache_dir / "bin" / f"opa-{OPA_VERSION}"

    def install(self, ctx: Context) -> None:
        """Build OPA from the Go module proxy, at the version and checksums of infra/opa."""
        target = self.binary(ctx)
        if target.exists():
            return
        ctx.echo(f"building OPA {OPA_VERSION} from the Go module proxy ...")
        target.parent.mkdir(parents=True, exist_ok=True)
        run_step(
            "building OPA",
            [which(GO), "build", "-o", str(target), "github.com/open-policy-agent/opa"],
            cwd=INFRA / "opa",
        )

    def command(self, ctx: Context) -> list[str]:
        return [
            str(self.binary(ctx)),
            "run",
            "--server",
            "--addr=127.0.0.1:8181",
            "--disable-telemetry",
            "--log-level=error",
        ]

    def healthy(self, ctx: Context) -> bool:
        try:
            return httpx.get("http://127.0.0.1:8181/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


SERVICES: tuple[Service, ...] = (
    Neo4j(),
    Kafka(),
    OpenSearch(),
    Redis(),
    MariaDB(),
    PostgreSQL(),
    FerretDB(),
    OPA(),
)


def select(names: list[str] | None) -> list[Service]:
    if not names:
        return list(SERVICES)
    known = {s.name: s for s in SERVICES}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise StackError(f"unknown service(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names]


def up(ctx: Context, names: list[str] | None = None) -> None:
    """Start what is not running, then wait for every selected service to be healthy."""
    services = select(names)
    for svc in services:
        svc.check_tools(ctx)
    started: list[tuple[Service, psutil.Process]] = []
    for svc in services:
        svc.install(ctx)
        proc = svc.process(ctx)
        if proc is not None:
            ctx.echo(f"{svc.name}: already running (pid {proc.pid})")
            started.append((svc, proc))
            continue
        svc.configure(ctx)
        proc = svc.launch(ctx)
        ctx.echo(f"{svc.name}: started (pid {proc.pid}), waiting for health ...")
        started.append((svc, proc))
    for svc, proc in started:
        svc.wait_healthy(ctx, proc)
        svc.after_start(ctx)
        ctx.echo(f"{svc.name}: healthy on {', '.join(str(p) for p in svc.ports)}")


def down(ctx: Context, names: list[str] | None = None) -> None:
    for svc in reversed(select(names)):
        if svc.stop(ctx):
            ctx.echo(f"{svc.name}: stopped")
        else:
            ctx.echo(f"{svc.name}: not running (nothing of ours to stop)")


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    ports: tuple[int, ...]
    pid: int | None
    up: bool
    rss_bytes: int


def status(ctx: Context) -> list[ServiceStatus]:
    rows = []
    for svc in SERVICES:
        proc = svc.process(ctx)
        rss = svc.rss_bytes(proc) if proc else 0
        up_now = proc is not None and all(port_open(p) for p in svc.ports)
        rows.append(ServiceStatus(svc.name, svc.ports, proc.pid if proc else None, up_now, rss))
    return rows
