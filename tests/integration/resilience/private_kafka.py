"""A private single-node KRaft broker on free ports, from the Kafka distribution the local
stack cached (~/.cache/datawave/dist/kafka-*), with its data in a temporary folder: a test may
kill and restart it without touching the Kafka other test runs share (whose broker advertises
127.0.0.1:9092, so no TCP proxy can stand in front of it).
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from core.outages import wait_out
from core.settings import KafkaSettings, ResilienceSettings

DIST = Path.home() / ".cache" / "datawave" / "dist"


def port_open(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=1):
        return True
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateKafka:
    def __init__(self, home: Path) -> None:
        dists = sorted(DIST.glob("kafka-*"))
        if not dists or not shutil.which("java"):
            raise RuntimeError("no cached Kafka distribution or no java: run `datawave stack up`")
        self.lib = dists[-1]
        self.home = home
        self.port, controller = free_port(), free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        (home / "server.properties").write_text(
            "process.roles=broker,controller\nnode.id=1\n"
            f"controller.quorum.voters=1@127.0.0.1:{controller}\n"
            f"listeners=PLAINTEXT://{self.bootstrap},CONTROLLER://127.0.0.1:{controller}\n"
            f"advertised.listeners=PLAINTEXT://{self.bootstrap}\n"
            "controller.listener.names=CONTROLLER\n"
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n"
            f"log.dirs={home / 'data'}\nnum.partitions=3\n"
            "offsets.topic.replication.factor=1\ntransaction.state.log.replication.factor=1\n"
            "transaction.state.log.min.isr=1\ngroup.initial.rebalance.delay.ms=0\n"
            "auto.create.topics.enable=false\n"
        )
        cid = "-"
        while cid.startswith("-"):  # the format tool would read it as an option
            cid = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        subprocess.run(
            [*self._java(), "kafka.tools.StorageTool", "format", "-t", cid, "-c",
             str(home / "server.properties")],
            check=True, capture_output=True,
        )  # fmt: skip

    def _java(self) -> list[str]:
        return ["java", "-Xms256m", "-Xmx256m", "-cp", f"{self.lib}/*"]

    def start(self, timeout_s: float = 90) -> None:
        log = (self.home / "kafka.log").open("ab")
        self.process = subprocess.Popen(
            [*self._java(), f"-Dkafka.logs.dir={self.home}", "kafka.Kafka",
             str(self.home / "server.properties")],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while not port_open(self.bootstrap):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"private Kafka did not start; see {self.home / 'kafka.log'}")
            time.sleep(0.5)

    def kill(self) -> None:
        """SIGKILL, as an outage: no clean shutdown."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(30)
        self.kill()


async def create_topics(kafka: KafkaSettings, *names: str) -> None:
    """Create topics of 3 partitions, waiting for a broker that is still starting."""

    async def create() -> None:
        admin = AIOKafkaAdminClient(**kafka.client_options())
        await admin.start()
        try:
            await admin.create_topics([NewTopic(n, 3, 1) for n in names])
        finally:
            await admin.close()

    fast = ResilienceSettings(backoff_initial_s=0.2, backoff_max_s=2)
    await wait_out(create, fast, "test", give_up_after_s=60)
