"""brainnet tune end to end on small data with the NumPy engine (no torch start-up in the subprocesses): a tiny
study, pruning through the training-loop protocol, a killed study resumed, two processes sharing one study."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from brainnet.cli.main import main  # noqa: E402
from brainnet.core.errors import UserInputError  # noqa: E402
from brainnet.core.training import extra_callbacks  # noqa: E402
from brainnet.scratch.estimator import ScratchMultiLabelMLP  # noqa: E402
from brainnet.tune import tune  # noqa: E402
from brainnet.tune.study import PruningCallback, study_counts  # noqa: E402

SRC = Path(__file__).resolve().parents[2] / "src"
BASE = {"n_models": 2, "epochs": 6, "patience": 3, "device": "cpu"}
SPACE = {"width": {"low": 8, "high": 32}, "depth": {"low": 1, "high": 2}}
SPACE_YAML = "width: {low: 8, high: 32}\ndepth: {low: 1, high: 2}\n"
FAST_CLI = ["--engine", "scratch", "--epochs", "6", "--patience", "3", "--n-models", "2", "--quiet"]


@pytest.fixture(scope="module")
def data(toy_data):
    return toy_data


@pytest.fixture(scope="module")
def table(tmp_path_factory, toy_data):
    X, Y = toy_data
    d = tmp_path_factory.mktemp("tune")
    path = d / "train.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"x{j}" for j in range(X.shape[1])] + [f"l{j}" for j in range(Y.shape[1])])
        for x, y in zip(X, Y, strict=True):
            w.writerow([f"{v:.5f}" for v in x] + [int(v) for v in y])
    (d / "space.yaml").write_text(SPACE_YAML)
    return path


def _cli(table: Path, out: Path, trials: int, *extra: str) -> list[str]:
    space = str(table.parent / "space.yaml")
    return ["tune", str(table), "--label-columns", "4", "--trials", str(trials), "--out", str(out),
            "--space", space, *FAST_CLI, *extra]  # fmt: skip


def _study(storage: str, name: str):
    return optuna.load_study(study_name=name, storage=storage)


def test_a_tiny_tune_saves_an_ordinary_model_with_the_study_summary(data, tmp_path):
    import brainnet

    X, Y = data
    out = tmp_path / "m"
    result = tune(ScratchMultiLabelMLP(**BASE), X, Y, trials=3, space=SPACE, out=out)
    s = result.summary
    assert s["trials_done"] == 3 and s["trials_requested"] == 3 and s["trial_n_models"] == 1
    assert (
        s["storage"] == f"sqlite:///{tmp_path.resolve() / 'm.study.db'}" and s["study_name"] == "m"
    )
    # the YAML ranges replace the defaults of their names; the other defaults stay searched
    assert set(s["best_params"]) == {"width", "depth", "dropout", "lr", "weight_decay", "batch_size",
                                     "pos_weight"}  # fmt: skip
    assert 8 <= s["best_params"]["width"] <= 32 and s["space"]["width"]["high"] == 32
    assert (tmp_path / "m.study.db").exists()
    model = brainnet.load(out)
    assert isinstance(model, ScratchMultiLabelMLP) and model.tune_ == json.loads(json.dumps(s))
    width, depth = s["best_params"]["width"], s["best_params"]["depth"]
    assert model.hidden_sizes == tuple(max(width // 2**i, 8) for i in range(depth))
    assert len(model.models_) == 2  # retrained with the base's n_models, not the trials' 1
    assert model.val_metrics_["average_precision"] > 0.5
    # the same call again finds the count reached: no new trial, the same best
    again = tune(ScratchMultiLabelMLP(**BASE), X, Y, trials=3, space=SPACE, out=out, force=True)
    assert again.best_params == result.best_params and len(_study(s["storage"], "m").trials) == 3
    # other settings on the same study are refused, naming what differs
    with pytest.raises(UserInputError, match="metric differ"):
        tune(ScratchMultiLabelMLP(**BASE), X, Y, trials=3, space=SPACE, out=out, force=True,
             metric="macro_auc")  # fmt: skip


def test_the_pruner_stops_a_trial_through_the_training_loop(data):
    X, Y = data
    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=1)
    )
    first = study.ask()
    for step in range(1, 20):
        first.report(1.0, step)  # an earlier trial that was perfect at every epoch
    study.tell(first, 1.0)
    trial = study.ask()
    callback = PruningCallback(trial, "val_average_precision")
    model = ScratchMultiLabelMLP(**{**BASE, "n_models": 1, "epochs": 20})
    with pytest.raises(optuna.TrialPruned, match="pruned at epoch 1"), extra_callbacks(callback):
        model.fit(X, Y)
    assert callback.fits == 1 and model.models_ == []  # stopped inside the first network
    model.fit(X, Y)  # outside the block the loop runs without it
    assert model.training_[0]["epochs_run"] >= 1


def _wait_for(predicate, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.2)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SRC)}


def test_a_killed_tune_continues_and_completes_the_count(table, tmp_path):
    out = tmp_path / "m"
    storage = f"sqlite:///{tmp_path.resolve() / 'm.study.db'}"
    # trials of 40 epochs (no early stop): a few tenths of a second each, so the 0.2 s poll sees 2 done before
    # all 5 are (with FAST_CLI's 6 epochs, a fast machine finished the last three between two polls)
    slow = ("--epochs", "40", "--patience", "40")
    argv = [sys.executable, "-m", "brainnet.cli.main", *_cli(table, out, 5, *slow)]
    proc = subprocess.Popen(argv, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def two_done() -> bool:
        assert proc.poll() is None, proc.stderr.read().decode()
        try:
            return study_counts(_study(storage, "m"))["complete"] >= 2
        except (KeyError, Exception):  # the study is not created yet
            return False

    _wait_for(two_done)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = study_counts(_study(storage, "m"))
    assert 2 <= before["complete"] < 5 and not out.exists()
    done = subprocess.run(argv, env=_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    after = study_counts(_study(storage, "m"))
    assert after["complete"] + after["pruned"] + after["failed"] == 5  # the count, not 5 new ones
    assert (
        after["running"] + after["abandoned"] <= 1
    )  # the killed trial, if it was mid-way, is not counted
    assert json.loads((out / "brainnet.json").read_text())["tune"]["trials_done"] == 5


def test_two_processes_share_one_study_without_losing_or_repeating_a_trial(table, tmp_path):
    storage = f"sqlite:///{tmp_path.resolve() / 'shared.db'}"
    shared = ["--storage", storage, "--study-name", "shared"]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "brainnet.cli.main",
                *_cli(table, tmp_path / f"m{k}", 6),
                *shared,
            ],
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        for k in range(2)
    ]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read().decode()
    study = _study(storage, "shared")
    counts = study_counts(study)
    assert counts["complete"] + counts["pruned"] == 6 and counts["running"] == 0
    assert counts["failed"] == counts["abandoned"] == 0
    numbers = [t.number for t in study.trials]
    assert len(set(numbers)) == len(numbers)
    # both processes worked on it, and both saved the same best trial's settings
    bests = [
        json.loads((tmp_path / f"m{k}" / "brainnet.json").read_text())["tune"] for k in range(2)
    ]
    assert bests[0]["best_trial"] == bests[1]["best_trial"]
    assert bests[0]["trials_done"] == bests[1]["trials_done"] == 6


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--trials", "0"], "--trials must be a number of trials >= 1; received 0"),
        (["--trials", "-3"], "--trials must be a number of trials >= 1; received -3"),
        (["--metric", "auc"], "--metric must be one of hamming_loss"),
        (["--timeout", "0"], "--timeout must be a positive number of seconds"),
        (["--trial-n-models", "0"], "trial_n_models must be >= 1"),
    ],
)
def test_cli_mistakes_exit_2_with_a_message(table, tmp_path, capsys, extra, message):
    argv = _cli(table, tmp_path / "m", 2) + extra
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


@pytest.mark.filterwarnings("ignore")  # optuna's heartbeat API is marked experimental
def test_a_trial_killed_before_its_first_heartbeat_goes_stale_once_adopted(tmp_path):
    """A process killed between ``ask`` and its first heartbeat leaves a RUNNING trial with no heartbeat, which
    ``fail_stale_trials`` never fails: a rerun waiting for the count hung on it. Adopted (one beat recorded), it
    goes stale after the grace period and is failed, so the waiting process can finish the count."""
    import time

    import optuna

    from brainnet.tune.study import _adopt_running_trials

    storage = optuna.storages.RDBStorage(
        f"sqlite:///{tmp_path / 's.db'}", heartbeat_interval=1, grace_period=1
    )
    study = optuna.create_study(storage=storage, study_name="s")
    study.ask()  # the killed process's trial: no heartbeat was ever recorded
    time.sleep(2.5)  # > grace_period with room for a loaded machine
    optuna.storages.fail_stale_trials(study)
    assert study.trials[0].state == optuna.trial.TrialState.RUNNING  # without adoption: forever
    adopted: set[int] = set()
    _adopt_running_trials(study, adopted)
    _adopt_running_trials(study, adopted)  # once per trial: a second call must not keep it alive
    time.sleep(2.5)  # > grace_period with room for a loaded machine
    optuna.storages.fail_stale_trials(study)
    assert study.trials[0].state == optuna.trial.TrialState.FAIL


@pytest.mark.parametrize(
    "loser",
    [
        "(sqlite3.OperationalError) table studies already exists",
        "(sqlite3.IntegrityError) UNIQUE constraint failed: alembic_version.version_num",  # seen in CI
        "(sqlite3.OperationalError) database is locked",
    ],
)
def test_the_loser_of_a_schema_creation_race_opens_the_storage_on_retry(monkeypatch, loser):
    """Two processes creating one new SQLite study at once: whatever the loser sees, it retries."""
    import optuna

    from brainnet.tune import study

    calls = []

    def rdb(url, **kwargs):
        calls.append(url)
        if len(calls) == 1:
            raise RuntimeError(loser)
        return "storage"

    monkeypatch.setattr(optuna.storages, "RDBStorage", rdb)
    monkeypatch.setattr(study.time, "sleep", lambda s: None)
    assert study._rdb_storage(optuna, "sqlite:///x.db") == "storage" and len(calls) == 2
    calls.clear()
    monkeypatch.setattr(
        optuna.storages,
        "RDBStorage",
        lambda url, **kw: (_ for _ in ()).throw(RuntimeError("no driver")),
    )
    with pytest.raises(RuntimeError, match="no driver"):  # anything else is not retried
        study._rdb_storage(optuna, "sqlite:///x.db")
