"""Remote attach end to end: a throwaway sshd on 127.0.0.1, ``ssh://`` through the relay."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ocrtop.bridge.client import BridgeClient
from ocrtop.bridge.publisher import Publisher

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
SSHD = "/usr/sbin/sshd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """(port, user key) of an sshd that admits only the current user with that key."""
    if not os.path.exists(SSHD):
        pytest.skip(f"{SSHD} not installed (apt-get install openssh-server)")
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        pytest.skip("the ssh client is not installed")
    if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
        os.makedirs("/run/sshd", mode=0o755)  # sshd's privilege-separation dir (root only)
    d = tmp_path_factory.mktemp("sshd")
    _keygen(d / "host_key")
    _keygen(d / "user_key")
    shutil.copy(d / "user_key.pub", d / "authorized_keys")
    port = _free_port()
    config = d / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n"
        f"AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
        f"AllowUsers {getpass.getuser()}\nLogLevel ERROR\n"
    )
    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 10
    while True:
        if proc.poll() is not None:
            pytest.skip(f"sshd could not start: {proc.stderr.read() if proc.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.skip("sshd did not start listening within 10 s")
            time.sleep(0.05)
    yield port, d / "user_key"
    proc.terminate()
    proc.wait(10)


async def test_attach_over_ssh(
    sshd: tuple[int, Path], make_publisher: Callable[..., Publisher], registry_dir: Path
) -> None:
    port, key = sshd
    pub = make_publisher(meta={"arch": "craft"})
    pub.publish("status", {"status": "train"})
    for i in range(20):
        pub.metrics({"train/loss": 1.0 / (i + 1)}, step=i)
    stop = threading.Event()

    def trainer() -> None:
        while not stop.wait(0.01):
            for cmd in pub.poll_commands():
                pub.reply(cmd, ok=True, result={"steps": cmd.args.get("steps")})

    threading.Thread(target=trainer, daemon=True).start()
    remote = [
        "env",
        f"PYTHONPATH={REPO}",
        f"OCRTOP_RUNTIME_DIR={registry_dir}",
        sys.executable,
        "-m",
        "ocrtop.bridge.relay",
    ]
    opts = ["-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    opts += ["-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
    target = f"ssh://{getpass.getuser()}@127.0.0.1:{port}/{pub.job_id}"
    client = await BridgeClient.connect(target, remote_command=remote, ssh_options=opts)
    try:
        assert client.hello["job_id"] == pub.job_id and client.hello["meta"] == {"arch": "craft"}
        snap = await client.recv(10)
        assert snap is not None and snap.type == "snapshot"
        assert snap.payload["events"][-1]["payload"]["values"]["train/loss"] == 1.0 / 20
        pub.publish("log", {"level": "INFO", "logger": "t", "message": "over ssh"})
        live = await client.recv(10)
        assert live is not None and live.payload["message"] == "over ssh"
        cmd_id = await client.send_command("profile", steps=3)
        ack = await client.recv(10)
        assert ack is not None and ack.type == "ack"
        assert ack.payload["id"] == cmd_id and ack.payload["result"] == {"steps": 3}
    finally:
        await client.close()
        stop.set()
