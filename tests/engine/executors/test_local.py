"""The local executor: a process pool whose results come back as they finish, whose tasks get
their share of the cores, and whose lost workers' tasks run again."""

from __future__ import annotations

import pytest

from sceneforge.engine.executors import Resources, WorkerLost, make_executor
from sceneforge.scenegraph import InputError

from . import _tasks


def test_every_item_comes_back_once_with_its_index():
    executor = make_executor("local", workers=2)
    results = dict(executor.map(_tasks.scaled, [1, 2, 3, 4, 5], shared={"factor": 10}))
    assert results == {0: 10, 1: 20, 2: 30, 3: 40, 4: 50}
    assert executor.workers == 2 and not executor.fans_out_frames


def test_each_task_is_given_its_share_of_the_cores():
    executor = make_executor("local", workers=1)
    (_, allotted), = executor.map(_tasks.threads_allotted, [0])
    assert int(allotted) >= 1


def test_a_task_error_is_raised_as_it_was():
    with pytest.raises(InputError, match="item 2 is bad"):
        list(make_executor("local", workers=1).map(_tasks.refuse, [2]))


def test_a_killed_worker_s_task_runs_again(tmp_path):
    results = dict(make_executor("local", workers=2).map(_tasks.die_once, [0, 1, 2], shared=str(tmp_path)))
    assert results == {0: 0, 1: 1, 2: 2}
    assert (tmp_path / "1.started").exists()


def test_a_task_that_always_kills_its_worker_gives_up():
    with pytest.raises(WorkerLost, match="died"):
        list(make_executor("local", workers=1).map(_tasks.die_always, [0]))


def test_bad_executor_choices_are_one_line_errors():
    with pytest.raises(InputError, match="unknown executor"):
        make_executor("slurm")
    with pytest.raises(InputError, match="--address is for --executor ray"):
        make_executor("local", address="auto")
    with pytest.raises(InputError, match="at least 1"):
        make_executor("local", workers=0)
    with pytest.raises(InputError, match="positive"):
        Resources(cpus=0)
