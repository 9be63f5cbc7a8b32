"""Lazy CUDA-event step timing, with fake events (no GPU here)."""

from __future__ import annotations

from ocrtop.ocr.callbacks.timing.cuda_timing import LazyCudaStepTimer


class FakeEvent:
    """Records a timestamp from a shared fake GPU clock; done once the GPU passed it."""

    gpu_time = 0.0
    gpu_done_until = 0.0

    def record(self) -> None:
        self.t = FakeEvent.gpu_time

    def query(self) -> bool:
        return self.t <= FakeEvent.gpu_done_until

    def elapsed_time(self, other: FakeEvent) -> float:
        return other.t - self.t


def test_pairs_resolve_only_when_the_gpu_has_passed_them() -> None:
    created: list[FakeEvent] = []

    def factory() -> FakeEvent:
        created.append(FakeEvent())
        return created[-1]

    timer = LazyCudaStepTimer(factory)
    for duration in (5.0, 7.0):
        timer.start()
        FakeEvent.gpu_time += duration
        timer.end()
    assert timer.resolve() == []  # GPU still busy: nothing read, nothing blocks
    FakeEvent.gpu_done_until = 5.0
    assert timer.resolve() == [5.0]
    FakeEvent.gpu_done_until = 100.0
    assert timer.resolve() == [7.0]
    timer.start()
    timer.end()
    assert len(created) == 4  # resolved events are reused, not re-created
