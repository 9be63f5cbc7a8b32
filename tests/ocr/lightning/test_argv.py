"""The seed sweep line ``... -m model/architectures=[dbnetpp,craft,dbnet]`` runs three jobs."""

from __future__ import annotations

from ocrtop.ocr.lightning.argv import list_to_sweep, multirun_flag_first, prepare_argv


def test_seed_sweep_line() -> None:
    argv = [
        "train.py",
        "data=canonical",
        "wandb=true",
        "-m",
        "model/architectures=[dbnetpp,craft,dbnet]",
    ]
    assert prepare_argv(argv) == [
        "train.py",
        "-m",
        "data=canonical",
        "wandb=true",
        "model/architectures=dbnetpp,craft,dbnet",
    ]


def test_lists_are_left_alone_outside_multirun_and_for_other_keys() -> None:
    argv = ["t.py", "model/architectures=[dbnet]", "trainer.devices=[0,1]"]
    assert prepare_argv(argv) == argv
    assert list_to_sweep("trainer.devices=[0,1]") == "trainer.devices=[0,1]"
    assert (
        list_to_sweep("model/architectures=[ craft , dbnet ]") == "model/architectures=craft,dbnet"
    )
    assert list_to_sweep("model/architectures=[]") == "model/architectures=[]"


def test_flag_order() -> None:
    assert multirun_flag_first(["t.py", "a=1"]) == ["t.py", "a=1"]
    assert multirun_flag_first(["t.py", "--multirun", "a=1,2"]) == ["t.py", "--multirun", "a=1,2"]
    assert multirun_flag_first(["t.py", "a=1", "--multirun"]) == ["t.py", "--multirun", "a=1"]
    assert multirun_flag_first([]) == []
