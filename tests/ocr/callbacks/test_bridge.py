"""BridgeCallback with the real Publisher: events, commands, failures, rude clients."""

from __future__ import annotations

import logging
import socket
import struct
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import pytorch_lightning as pl

from ocrtop.bridge import names
from ocrtop.bridge.client import BridgeClient
from ocrtop.bridge.eventlog import read_events
from ocrtop.ocr.callbacks.bridge import BridgeCallback, script_name
from ocrtop.ocr.callbacks.link import publisher_of
from ocrtop.ocr.callbacks.link.commands import CommandError, CommandRouter
from ocrtop.ocr.callbacks.link.log_handler import BridgeLogHandler
from ocrtop.ocr.callbacks.throughput_monitor import ThroughputMonitorCallback
from tests.helpers.bridge_probe import END_STATES, ClientThread
from tests.helpers.toy_training import ToyModule, loader, make_trainer


class SaysHello(pl.Callback):
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        logging.getLogger("toy.trainer").warning("epoch %d finished", trainer.current_epoch)


def events(run_dir: Path) -> list[Any]:
    return list(read_events(run_dir / "events.jsonl"))


@pytest.mark.slow
def test_publishes_status_progress_metrics_and_logs(tmp_path: Path) -> None:
    cb = BridgeCallback(
        run_dir=str(tmp_path),
        experiment_name="toy",
        arch="tiny",
        publish_max_hz=None,
        linger_s=0,
    )
    trainer = make_trainer(
        tmp_path, [cb, ThroughputMonitorCallback(), SaysHello()], max_epochs=2, log_every_n_steps=2
    )
    trainer.fit(ToyModule(), loader(n=16), loader(n=8))
    msgs = events(tmp_path)
    assert msgs[0].type == "hello" and msgs[0].payload["meta"]["arch"] == "tiny"
    statuses = [m.payload["status"] for m in msgs if m.type == "status"]
    assert statuses[0] == "setup" and statuses[-1] == "done"
    assert {"train", "validate"} <= set(statuses)
    progress = [m.payload for m in msgs if m.type == "progress"]
    assert len(progress) == 8 and progress[-1]["step"] == 8 and progress[-1]["total_steps"] == 8
    assert progress[-1]["num_batches"] == 4 and progress[-1]["max_epochs"] == 2
    metric_names = {k for m in msgs if m.type == "metrics" for k in m.payload["values"]}
    assert {names.TRAIN_LOSS, names.VAL_LOSS, names.LR, names.SAMPLES_PER_SECOND} <= metric_names
    logs = [m.payload for m in msgs if m.type == "log"]
    assert any(p["logger"] == "toy.trainer" and "epoch 1 finished" in p["message"] for p in logs)
    assert cb.publisher is None and publisher_of(trainer) is None
    assert not any(isinstance(h, BridgeLogHandler) for h in logging.getLogger().handlers)


@pytest.mark.slow
def test_failure_is_published_and_the_bridge_closes(tmp_path: Path) -> None:
    cb = BridgeCallback(run_dir=str(tmp_path))
    trainer = make_trainer(tmp_path, [cb])
    with pytest.raises(RuntimeError, match="injected failure"):
        trainer.fit(ToyModule(fail_at_step=2), loader(n=32))
    last = [m for m in events(tmp_path) if m.type == "status"][-1].payload
    assert last["status"] == "failed" and "injected failure" in last["error"]
    assert last["exit_code"] == 1 and "RuntimeError" in last["traceback"]
    assert cb.publisher is None


@pytest.mark.slow
def test_stop_command_stops_training_gracefully(tmp_path: Path) -> None:
    cb = BridgeCallback(run_dir=str(tmp_path))

    async def script(path: str) -> list[Any]:
        client = await BridgeClient.connect(path)
        sent = False
        acks = []
        async for msg in client:
            if msg.type == "progress" and not sent:
                await client.send_command("stop", mode="graceful")
                sent = True
            if msg.type == "ack":
                acks.append(msg.payload)
            if msg.type == "status" and msg.payload["status"] in END_STATES:
                break
        await client.close()
        return acks

    probe = ClientThread(cb, script)
    probe.start()
    trainer = make_trainer(tmp_path, [cb], max_epochs=50)
    trainer.fit(ToyModule(), loader(n=16, sleep_ms=5.0))
    acks = probe.outcome()
    assert acks[0]["command"] == "stop" and acks[0]["ok"] is True
    assert trainer.current_epoch < 49
    assert [m for m in events(tmp_path) if m.type == "status"][-1].payload["status"] == "stopped"


@pytest.mark.slow
def test_training_finishes_when_a_client_disconnects_abruptly(tmp_path: Path) -> None:
    # linger_s=0: the end of a fit is published at once (else when the linger expires)
    cb = BridgeCallback(run_dir=str(tmp_path), linger_s=0)

    async def script(path: str) -> int:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        sock.settimeout(30)
        seen = b""
        while b'"progress"' not in seen:  # mid-run: training has started stepping
            chunk = sock.recv(65536)
            assert chunk, "bridge closed before any progress"
            seen += chunk
        sock.sendall(b'{"type": "command", "id": "x", "command": "pi')  # half a frame
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # reset, not a polite shutdown
        return len(seen)

    probe = ClientThread(cb, script)
    probe.start()
    trainer = make_trainer(tmp_path, [cb], max_epochs=1)
    trainer.fit(ToyModule(), loader(n=80, sleep_ms=5.0))
    assert probe.outcome() > 0
    assert trainer.global_step == 20
    assert [m for m in events(tmp_path) if m.type == "status"][-1].payload["status"] == "done"


class FakePublisher:
    def __init__(self) -> None:
        self.replies: list[dict[str, Any]] = []
        self.published: list[tuple[str, dict[str, Any]]] = []

    def reply(self, cmd: Any, **kwargs: Any) -> None:
        self.replies.append({"command": cmd.command, **kwargs})

    def publish(self, type_: str, payload: dict[str, Any], **kw: Any) -> None:
        if payload.get("logger") == "loop":
            logging.getLogger("loop").info("again")  # would recurse without the guard
        self.published.append((type_, payload))


def test_router_acks_every_outcome() -> None:
    router, pub = CommandRouter(), FakePublisher()
    trainer = SimpleNamespace(should_stop=False, global_step=3)

    def busy(trainer: Any, cmd: Any) -> None:
        raise CommandError("a window is running")

    def buggy(trainer: Any, cmd: Any) -> None:
        raise KeyError("oops")

    router.register("profile", busy)
    router.register("buggy", buggy)
    router.register("ok", lambda t, c: {"fine": 1})
    for name in ("profile", "buggy", "ok", "nope"):
        router.dispatch(trainer, pub, SimpleNamespace(command=name, args={}, id="1"))  # type: ignore[arg-type]
    ok = [r["ok"] for r in pub.replies]
    assert ok == [False, False, True, False]
    assert pub.replies[0]["error"] == "a window is running"
    assert "KeyError" in pub.replies[1]["error"] and pub.replies[2]["result"] == {"fine": 1}
    assert "unknown command 'nope'" in pub.replies[3]["error"]


def test_log_handler_skips_bridge_records_and_never_recurses() -> None:
    pub = FakePublisher()
    handler = BridgeLogHandler(pub)
    logger = logging.getLogger("loop")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("first")
        logging.getLogger("ocrtop.bridge.server").addHandler(handler)
        logging.getLogger("ocrtop.bridge.server").warning("client dropped")
    finally:
        logger.removeHandler(handler)
        logging.getLogger("ocrtop.bridge.server").removeHandler(handler)
    assert [p["message"] for _, p in pub.published] == ["first"]


@pytest.mark.slow
def test_progress_rate_is_capped_but_epoch_ends_are_always_sent(tmp_path: Path) -> None:
    cb = BridgeCallback(run_dir=str(tmp_path), publish_max_hz=2.0)
    trainer = make_trainer(tmp_path, [cb], max_epochs=2)
    trainer.fit(ToyModule(), loader(n=80, batch_size=4, batch_sleep_ms=20.0))  # ~1 s/epoch
    progress = [m.payload for m in events(tmp_path) if m.type == "progress"]
    assert 2 <= len(progress) <= 10  # 40 steps at <= 2 Hz, plus epoch ends
    assert [p["batch_idx"] for p in progress if p["batch_idx"] == 19] == [19, 19]
    assert progress[-1]["step"] == 40


def test_a_users_job_is_named_after_its_script() -> None:
    assert script_name(["/home/me/my_train.py", "--lr", "3"]) == "my_train"
    assert script_name(["runners/train.py"]) == "train"
    assert script_name(["/usr/bin/my-tool"]) == "my-tool"
    assert script_name(["-c"]) is None and script_name([""]) is None and script_name([]) is None


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="log_level"):
        BridgeCallback(log_level="LOUD")
    with pytest.raises(ValueError, match="every_n_steps"):
        BridgeCallback(every_n_steps=0)
    with pytest.raises(ValueError, match="publish_max_hz"):
        BridgeCallback(publish_max_hz=0)


@pytest.mark.slow
def test_fit_then_test_is_one_stream_without_a_gap_and_sequential_jobs_close(
    tmp_path: Path,
) -> None:
    """Fit then test on one callback, then a second job in the same process (as multirun).

    Between the stages the job stays registered (``ocrtop attach`` must find it), and
    the test stage continues the same stream; after the last stage the stream closes
    once the linger period has passed.
    """
    from ocrtop.bridge.registry import list_jobs

    cb = BridgeCallback(run_dir=str(tmp_path / "job1"), linger_s=0.5)
    trainer = make_trainer(tmp_path / "job1", [cb])
    model = ToyModule()
    cb.continue_with("test")  # what runners/train.py announces when it tests after fit
    trainer.fit(model, loader(n=8))
    first_job, first_pub = cb.job_id, cb.publisher
    assert first_pub is not None
    assert [j.job_id for j in list_jobs()].count(first_job) == 1  # still attachable
    trainer.test(model, loader(n=8), verbose=False)
    assert cb.job_id == first_job and cb.publisher is first_pub
    deadline = time.monotonic() + 10
    while cb.publisher is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cb.publisher is None
    hellos = [m for m in events(tmp_path / "job1") if m.type == "hello"]
    assert [h.payload["job_id"] for h in hellos] == [first_job]
    statuses = [m.payload["status"] for m in events(tmp_path / "job1") if m.type == "status"]
    assert statuses.count("done") == 1 and statuses[-1] == "done"  # the job ends once
    fit_end = next(m.payload for m in events(tmp_path / "job1") if m.payload.get("after"))
    assert (fit_end["status"], fit_end["stage"], fit_end["after"]) == ("setup", "test", "fit")
    assert statuses[-2:] == ["test", "done"]

    cb2 = BridgeCallback(run_dir=str(tmp_path / "job2"), linger_s=0)
    make_trainer(tmp_path / "job2", [cb2]).fit(ToyModule(), loader(n=8))
    assert cb2.job_id != first_job and cb2.publisher is None
    job2 = [m.payload["status"] for m in events(tmp_path / "job2") if m.type == "status"]
    assert job2[-1] == "done"  # nothing announced: a fit alone ends the job
    assert not [j for j in list_jobs() if j.job_id in (first_job, cb2.job_id)]


class Unlogged(ToyModule):
    """A user's module that logs no ``train/loss`` (it returns the loss only)."""

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        return {"loss": self._loss(batch)}


@pytest.mark.slow
def test_fit_then_test_unannounced_ends_the_job_once_and_publishes_the_returned_loss(
    tmp_path: Path,
) -> None:
    """A plain script: ``fit()`` then ``test()``, no ``continue_with``: one job end."""
    cb = BridgeCallback(run_dir=str(tmp_path), linger_s=5.0)
    trainer = make_trainer(tmp_path, [cb], log_every_n_steps=1)
    model = Unlogged()
    trainer.fit(model, loader(n=8))
    pub = cb.publisher
    assert pub is not None
    pub.flush()
    assert "done" not in [m.payload["status"] for m in events(tmp_path) if m.type == "status"]
    trainer.test(model, loader(n=8), verbose=False)
    assert cb.publisher is pub  # the same stream went on
    cb._linger.fire_now()  # what the linger timer (or interpreter exit) does
    statuses = [m.payload["status"] for m in events(tmp_path) if m.type == "status"]
    assert statuses.count("done") == 1 and statuses[-2:] == ["test", "done"]
    losses = [
        m.payload["values"][names.TRAIN_LOSS]
        for m in events(tmp_path)
        if m.type == "metrics" and names.TRAIN_LOSS in m.payload["values"]
    ]
    assert losses and all(v > 0 for v in losses)
