"""The neural backends' shared rules: where weights come from, how they load, the device and
precision, batch sizes bounded by memory, and out-of-memory as one clear line."""

from __future__ import annotations

import pytest
import torch

from sceneforge.reconstruct import _neural as neural
from sceneforge.scenegraph import DependencyError, InputError


class _NotATensor:
    """Something a weights-only loader must refuse to unpickle."""


def test_a_model_folder_must_hold_its_marker_file(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    source = neural.resolve_model(str(tmp_path), what="the x backend", flag="--depth.model")
    assert source.local and source.location == str(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no config.json"):
        neural.resolve_model(str(empty), what="the x backend", flag="--depth.model")


def test_no_model_or_an_uncached_repo_id_is_one_line_naming_the_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(InputError, match="--depth.model") as missing:
        neural.resolve_model(None, what="the x backend", flag="--depth.model", example="org/model")
    assert "\n" not in str(missing.value) and "org/model" in str(missing.value)
    with pytest.raises(InputError, match="not in your Hugging Face cache|neither a folder nor a repo id") as uncached:
        neural.resolve_model("nobody/no-such-model", what="the x backend", flag="--depth.model")
    assert "\n" not in str(uncached.value) and "allow-download" in str(uncached.value)
    with pytest.raises(InputError, match="not a model folder"):
        neural.resolve_model("./missing/folder", what="the x backend", flag="--depth.model")


def test_checkpoints_load_as_plain_tensors_only(tmp_path):
    from safetensors.torch import save_file

    state = {"w": torch.arange(4.0)}
    save_file(state, str(tmp_path / "m.safetensors"))
    torch.save({"model": state}, tmp_path / "m.pt")
    torch.save({"w": torch.zeros(1), "evil": _NotATensor()}, tmp_path / "pickled.pt")
    assert torch.equal(neural.load_state_dict(tmp_path / "m.safetensors", what="x")["w"], state["w"])
    assert torch.equal(neural.load_state_dict(tmp_path / "m.pt", what="x")["w"], state["w"])  # unwrapped
    with pytest.raises(InputError, match="weights_only"):
        neural.load_state_dict(tmp_path / "pickled.pt", what="x")
    with pytest.raises(InputError, match="does not exist"):
        neural.load_state_dict(tmp_path / "absent.pt", what="x")


def test_device_and_precision():
    assert neural.pick_device("cpu") == "cpu"
    assert neural.pick_dtype("cpu") == torch.float32  # half precision is slow and lossy on the CPU
    assert neural.pick_dtype("cpu", "bf16") == torch.bfloat16
    with pytest.raises(InputError, match="device must be one of"):
        neural.pick_device("tpu")
    with pytest.raises(InputError, match="precision must be one of"):
        neural.pick_dtype("cpu", "int4")
    if not torch.cuda.is_available():
        assert neural.pick_device("auto") == "cpu"
        with pytest.raises(InputError, match="no CUDA device"):
            neural.pick_device("cuda")


def test_batch_sizes_are_bounded_by_free_memory(monkeypatch):
    monkeypatch.setattr(neural, "available_memory", lambda device: 1000)
    assert neural.batch_size(100, "cpu", limit=64) == 5  # half of the free memory
    assert neural.batch_size(10_000, "cpu", limit=64) == 1  # at least one
    assert neural.batch_size(1, "cpu", limit=8) == 8  # at most the limit


def test_out_of_memory_becomes_one_line_with_advice():
    with pytest.raises(neural.OutOfMemory, match="ran out of system memory; lower") as caught:
        with neural.memory_guard("the x backend", "cpu"):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20 GiB")
    assert "\n" not in str(caught.value)
    with pytest.raises(neural.OutOfMemory):
        with neural.memory_guard("the x backend", "cpu"):
            raise RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate ... out of memory")
    with pytest.raises(RuntimeError, match="shape mismatch"):  # other errors pass through
        with neural.memory_guard("the x backend", "cpu"):
            raise RuntimeError("shape mismatch")


def test_a_missing_stack_is_a_dependency_error_with_the_install_line(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(DependencyError, match=r"pip install 'sceneforge\[neural\]'"):
        neural.require("transformers", what="the x backend")
