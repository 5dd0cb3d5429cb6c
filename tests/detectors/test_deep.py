"""The JAX deep family: the shared training program, learning, failures, and wiring."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from anobench.detectors.deep import programs, training
from anobench.detectors.deep.autoencoders import AE, CAE
from anobench.detectors.deep.deepsvdd import DeepSVDD
from anobench.detectors.deep.fanogan import FAnoGAN
from anobench.detectors.deep.vae import VAE
from anobench.registry import detector_registry

DEEP = {"ae": AE, "vae": VAE, "cae": CAE, "fanogan": FAnoGAN, "deepsvdd": DeepSVDD}


def subspace_task(seed: int = 0, d: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normal rows near a 2-D subspace; anomalies isotropic with the same mean squared norm.

    Norms carry no signal, so an untrained network scores near chance (AUC ~ 0.55) and
    only a model that learnt the subspace separates the two.
    """
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(d, 2)))[0] * 3.0

    def normal(n: int) -> np.ndarray:
        return rng.normal(size=(n, 2)) @ basis.T + 0.05 * rng.normal(size=(n, d))

    sigma = np.sqrt((np.sum(basis**2) + d * 0.05**2) / d)
    X_test = np.vstack([normal(200), sigma * rng.normal(size=(200, d))])
    return normal(400), X_test, np.r_[np.zeros(200), np.ones(200)]


def _untrained(cls: type, params: dict) -> dict:
    extra = {"encoder_epochs": 0} if cls is FAnoGAN else {}
    return {**params, "epochs": 0, **extra}


@pytest.mark.parametrize("name", sorted(DEEP))
def test_each_model_learns(name: str) -> None:
    """Loss falls, and AUC is far above the same network untrained: a model that never
    updates its weights (PyOD's DeepSVDD bug) fails here."""
    cls = DEEP[name]
    X_train, X_test, y = subspace_task(d=64 if cls is CAE else 16)
    if cls is CAE:
        X_train, X_test = X_train.reshape(-1, 8, 8, 1), X_test.reshape(-1, 8, 8, 1)
    params = {**cls.test_params(), "random_state": 0}
    if "standardize" in cls.param_names():
        params["standardize"] = False
    det = cls(**params).fit(X_train)
    losses = det.loss_history_[0]
    assert losses[-1] < 0.5 * losses[0], f"{name}: loss {losses[0]:.3g} -> {losses[-1]:.3g}"
    trained = roc_auc_score(y, det.anomaly_score(X_test))
    untrained = roc_auc_score(y, cls(**_untrained(cls, params)).fit(X_train).anomaly_score(X_test))
    assert untrained < 0.75, f"{name}: the task is too easy untrained ({untrained:.3f})"
    assert trained > 0.95 and trained > untrained + 0.25, (name, trained, untrained)


def test_every_row_is_seen_once_per_epoch_with_a_partial_last_batch() -> None:
    n, epochs = 37, 3  # batches of 10: the last one has 7 real rows and 3 filler rows

    def init(n_rows, key, X, weights, context):
        return jnp.zeros(n_rows)

    def step(n_rows, counts, xb, mask, key):
        return counts.at[xb[:, 0].astype(jnp.int32)].add(mask), jnp.sum(mask)

    counting = training.ModelFunctions("count-rows", init, score=None, step=step)  # type: ignore[arg-type]
    X = np.arange(n, dtype=np.float32)[:, None]
    result = training.train(counting, n, X, training.seed_keys(0, 2), epochs=epochs, batch_size=10)
    # empty slots hold zeros (row 0's index) with weight 0, so they add nothing
    assert np.array_equal(np.asarray(result.state), np.full((2, n), float(epochs)))
    assert training.batch_layout(37, 10) == (10, 4)
    assert training.batch_layout(5, 128) == (128, 1)
    assert training.batch_layout(300, 128) == (128, 3)


def test_one_training_program_serves_every_row_count_of_a_width() -> None:
    X_train, _, _ = subspace_task()
    programs.clear_cache()
    AE(**AE.test_params(), random_state=0).fit(X_train)
    trained = [key for key in programs.PROGRAMS._programs if key[0] == "train"]
    for rows, epochs in ((390, 40), (100, 40), (7, 40), (250, 3)):
        AE(**{**AE.test_params(), "epochs": epochs}, random_state=1).fit(X_train[:rows])
    assert [key for key in programs.PROGRAMS._programs if key[0] == "train"] == trained
    # beyond MIN_BATCHES batches, one program per doubling of the rows
    assert training.capacity(16 * 64, 64) == training.capacity(64, 64) == 16 * 64
    assert training.capacity(17 * 64, 64) == training.capacity(32 * 64, 64) == 32 * 64


def test_a_program_is_never_shared_across_batch_sizes() -> None:
    """1024 rows in batches of 32 or of 64 have the same capacity (1024 rows): each fit
    must still train with its own batch size, as a fresh process would."""
    X = np.random.default_rng(0).normal(size=(1024, 5)).astype(np.float32)
    params = {"hidden": (4,), "epochs": 3, "random_state": 0}
    programs.clear_cache()
    alone = AE(**params, batch_size=64).fit(X).loss_history_
    programs.clear_cache()
    AE(**params, batch_size=32).fit(X)
    after = AE(**params, batch_size=64).fit(X).loss_history_
    assert np.array_equal(alone, after)


def test_cells_of_one_configuration_compile_once() -> None:
    """Two data sets of one width and different row counts, both protocols and the
    calibration's held-out fits of one deep configuration: the first cell compiles the
    training and scoring programs, the others compile nothing (counted by the compile
    clock, which sees every XLA compilation in the process)."""
    from anobench.api import evaluate
    from anobench.execution import compile_clock

    rng = np.random.default_rng(0)
    sets = []
    for n in (260, 410):
        X = rng.normal(size=(n, 6)).astype(np.float32)
        y = (np.arange(n) % 10 == 0).astype(int)
        X[y == 1] += 4.0
        sets.append((X, y))
    params = {**AE.test_params(), "epochs": 5}
    programs.clear_cache()
    compile_clock.install()
    first = compile_clock.compiles()
    evaluate("ae", sets[0], "novelty", seeds=[0], params=params, dataset_name="a")
    assert compile_clock.compiles() > first
    warm = compile_clock.compiles()
    for data, name in ((sets[0], "a"), (sets[1], "b")):
        for protocol in ("novelty", "unsupervised"):
            table = evaluate("ae", data, protocol, seeds=[1], params=params, dataset_name=name)
            assert (table["status"] == "ok").all()
    assert compile_clock.compiles() == warm
    assert len([key for key in programs.PROGRAMS._programs if key[0] == "train"]) == 1


def test_program_cache_is_bounded_and_keyed_by_frozen_configs() -> None:
    cache = programs.ProgramCache(size=2)
    built: list[str] = []
    for key in ("a", "b", "a", "c", "a", "b"):
        cache.get(key, lambda k=key: built.append(k) or k)
    # "b" was the least recently used when "c" came in, so it was built again
    assert built == ["a", "b", "c", "b"] and len(cache) == 2
    X_train, _, _ = subspace_task()
    det = AE(**AE.test_params(), random_state=0).fit(X_train)
    config = det.config()
    assert config == AE(**AE.test_params(), random_state=5).fit(X_train).config()
    hash(config)
    # no program is keyed by (or closes over) a detector instance
    keys = list(programs.PROGRAMS._programs)
    assert keys and not any(isinstance(part, AE) for key in keys for part in key)


def test_weight_decay_never_touches_biases() -> None:
    params = {"Dense_0": {"kernel": jnp.ones((3, 2)), "bias": jnp.ones(2)}}
    tx = training.optimiser(training.Optim(learning_rate=0.1, weight_decay=0.5))
    zeros = jax.tree.map(jnp.zeros_like, params)
    updates, _ = tx.update(zeros, tx.init(params), params)
    new = optax.apply_updates(params, updates)
    assert np.allclose(new["Dense_0"]["bias"], 1.0)
    assert np.all(np.asarray(new["Dense_0"]["kernel"]) < 1.0)


def test_seed_batched_models_are_independent_and_repeatable() -> None:
    X_train, X_test, _ = subspace_task()
    det = AE(**AE.test_params(), n_seeds=3, random_state=4).fit(X_train)
    per_model = det.scores_per_model(X_test)
    assert per_model.shape == (3, len(X_test))
    assert not np.array_equal(per_model[0], per_model[1])
    assert np.allclose(det.anomaly_score(X_test), per_model.mean(axis=0))
    again = AE(**AE.test_params(), n_seeds=3, random_state=4).fit(X_train).scores_per_model(X_test)
    assert np.array_equal(per_model, again)  # bit-identical on the same machine and threads
    assert det.loss_history_.shape == (3, AE.test_params()["epochs"])


def test_diverging_training_is_a_clear_error() -> None:
    X_train, _, _ = subspace_task()
    with pytest.raises(training.TrainingError, match="loss became"):
        AE(**AE.test_params(), standardize=False, random_state=0).fit(X_train * 1e30)


def test_deep_svdd_collapse_is_an_error() -> None:
    X_train, _, _ = subspace_task()
    # decoupled weight decay of lr * wd = 1 zeroes every weight: the constant solution
    collapsed = DeepSVDD(**{**DeepSVDD.test_params(), "learning_rate": 1.0, "weight_decay": 1.0})
    with pytest.raises(training.TrainingError, match="collapsed"):
        collapsed.fit(X_train)


def test_cae_refuses_flat_rows_and_checks_image_shape() -> None:
    X_train, _, _ = subspace_task(d=64)
    with pytest.raises(ValueError, match="Use `ae`"):
        CAE(**CAE.test_params()).fit(X_train)
    det = CAE(**CAE.test_params(), random_state=0).fit(X_train.reshape(-1, 8, 8, 1))
    with pytest.raises(ValueError, match="shape"):
        det.anomaly_score(X_train.reshape(-1, 4, 16, 1))
    assert det.reconstruct(X_train[:5].reshape(-1, 8, 8)).shape == (5, 8, 8, 1)  # 3-D input
    assert det.encode(X_train[:5].reshape(-1, 8, 8, 1)).shape == (5, 8)


def test_cae_pads_odd_image_sizes() -> None:
    rng = np.random.default_rng(0)
    images = rng.normal(size=(50, 7, 9))
    det = CAE(**{**CAE.test_params(), "epochs": 2}, random_state=0).fit(images)
    assert det.anomaly_score(images).shape == (50,)
    assert det.reconstruct(images[:3]).shape == (3, 7, 9, 1)


def test_reconstruction_models_give_reconstructions_and_codes() -> None:
    X_train, X_test, _ = subspace_task()
    for cls, code in ((AE, 3), (VAE, 3), (FAnoGAN, 4)):
        det = cls(**cls.test_params(), random_state=0).fit(X_train)
        rec = det.reconstruct(X_test[:200])
        assert rec.shape == (200, 16)
        assert np.mean((rec - X_test[:200]) ** 2) < np.var(X_test[:200])  # in input units
        assert det.encode(X_test[:10]).shape == (10, code)


def test_works_inside_a_pipeline() -> None:
    X_train, X_test, y = subspace_task()
    pipe = make_pipeline(
        StandardScaler(), AE(**AE.test_params(), standardize=False, random_state=0)
    )
    pipe.fit(X_train)
    scores = pipe[-1].anomaly_score(pipe[:-1].transform(X_test))
    assert roc_auc_score(y, scores) > 0.9
    assert clone(pipe).get_params()["ae__epochs"] == AE.test_params()["epochs"]


def test_registered_as_deep_family() -> None:
    registry = detector_registry()
    for name in DEEP:
        cls = registry.load(name)
        assert cls.family == "deep" and cls is DEEP[name]
    assert registry.load("cae").modalities == ("image",)


def test_runner_records_compile_seconds(tmp_path) -> None:
    from anobench.execution.cell import run_cell
    from anobench.plan.expansion import expand
    from anobench.plan.suite import Suite
    from anobench.registry import dataset_registry

    suite = Suite.model_validate(
        {
            "name": "t",
            "detectors": {"ae": {"epochs": 2}, "cae": {"epochs": 2}},
            "datasets": ["wine", "digits-0"],
            "protocols": ["novelty"],
            "seeds": [0],
        }
    )
    cells = expand(suite, detector_registry(), dataset_registry())
    pairs = {(c.detector, c.dataset) for c in cells}
    assert ("cae", "wine") not in pairs  # tabular data never meets the image-only model
    assert {("ae", "wine"), ("ae", "digits-0"), ("cae", "digits-0")} <= pairs
    record = run_cell(next(c for c in cells if c.detector == "cae"))
    assert record["status"] == "ok", record.get("error")
    # the fit's own compilation is inside the fit; the cell's covers scoring and
    # calibration too (their compiled programs differ in shape)
    assert 0 < record["fit_compile_seconds"] <= record["fit_seconds"]
    assert record["fit_compile_seconds"] <= record["compile_seconds"] <= record["total_seconds"]


def test_untrained_key_derivation_is_stable() -> None:
    keys = training.seed_keys(3, 2)
    assert keys.shape == (2,)
    assert np.array_equal(jax.random.key_data(keys), jax.random.key_data(training.seed_keys(3, 2)))


def test_persistent_compilation_cache_points_at_the_anobench_cache(monkeypatch, tmp_path) -> None:
    before = jax.config.jax_compilation_cache_dir
    monkeypatch.setattr(programs, "_CACHE_READY", False)
    monkeypatch.setenv("ANOBENCH_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.delenv("ANOBENCH_XLA_CACHE", raising=False)
    jax.config.update("jax_compilation_cache_dir", None)
    try:
        programs.enable_persistent_cache()
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "xla")
        assert (tmp_path / "xla").is_dir()
    finally:
        jax.config.update("jax_compilation_cache_dir", before)


@pytest.mark.parametrize("stride", [1, 2])
def test_conv_matches_flax_and_its_gradient_matches_the_native_one(stride: int) -> None:
    import flax.linen as nn

    from anobench.detectors.deep.networks import Conv, conv2d

    x = jax.random.normal(jax.random.key(0), (2, 7, 9, 3))
    params = Conv(5, 3, stride).init(jax.random.key(1), x)
    ours = Conv(5, 3, stride).apply(params, x)
    ref = nn.Conv(5, (3, 3), strides=(stride, stride), padding="SAME").apply(params, x)
    assert ours.shape == ref.shape and np.allclose(ours, ref, atol=1e-5)
    kernel = params["params"]["kernel"]

    def native(x, k):
        dims = ("NHWC", "HWIO", "NHWC")
        return jax.lax.conv_general_dilated(x, k, (stride, stride), "SAME", dimension_numbers=dims)

    def loss(f):
        return jax.grad(lambda k, x: jnp.sum(jnp.sin(f(x, k))), argnums=(0, 1))(kernel, x)

    for a, b in zip(loss(lambda x, k: conv2d(x, k, stride)), loss(native), strict=True):
        assert np.allclose(a, b, atol=1e-4)
    up = Conv(4, 3, 2, transpose=True)
    assert up.init_with_output(jax.random.key(0), x)[0].shape == (2, 14, 18, 4)


def test_perf_deep_runs_and_reports_figures(capsys, tmp_path) -> None:
    import json

    from anobench.cli import main
    from anobench.perf.deep import dense_ae_flops

    assert dense_ae_flops([784, 128, 784]) == 3 * 2 * (784 * 128 * 2)
    out = tmp_path / "perf.json"
    args = ["perf", "deep", "--no-torch", "--n-train", "300", "--epochs", "2", "--repeats", "1"]
    assert main([*args, "--seeds", "2", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "anobench ae (JAX, one compiled program)" in printed and "vmap over 2 seeds" in printed
    report = json.loads(out.read_text())
    (row,) = report["rows"]
    assert row["train_seconds"] > 0 and row["gflops"] > 0 and 0 <= row["roc_auc"] <= 1
    assert report["matmul_gflops"] > 0 and report["config"]["n_train"] == 300
    assert report["vmap"]["speedup"] > 0


def test_perf_compile_measures_each_option_set_and_restores_the_library_choice(capsys) -> None:
    from anobench.cli import main

    before = dict(programs.COMPILER_OPTIONS)
    assert main(["perf", "compile", "--models", "deepsvdd", "--rows", "64", "--repeats", "1"]) == 0
    printed = capsys.readouterr().out
    lines = [line for line in printed.splitlines() if line.startswith("deepsvdd")]
    assert len(lines) == 4 and "xla defaults" in lines[0] and "1.00x" in lines[0]
    assert "O1" in printed and "the library compiles with" in printed
    assert before == programs.COMPILER_OPTIONS


def test_programs_are_keyed_by_the_functions_not_their_name() -> None:
    """A model that swaps AE's loss but keeps its name and config trains its own program."""
    import dataclasses

    from anobench.detectors.deep import autoencoders

    def l1_loss(cfg, params, frozen, xb, mask, key):  # type: ignore[no-untyped-def]
        error = jnp.abs(cfg.network().apply(params, xb) - xb).mean(axis=1)
        return training.masked_mean(error, mask)

    class L1AE(AE):
        functions = dataclasses.replace(autoencoders.AE_FUNCTIONS, loss=l1_loss)

    X_train, _, _ = subspace_task()
    params = {**AE.test_params(), "epochs": 3}
    squared = AE(**params, random_state=0).fit(X_train).loss_history_
    absolute = L1AE(**params, random_state=0).fit(X_train).loss_history_
    assert not np.allclose(squared, absolute)


COMPILING_PLUGIN = """
from anobench.detectors.classical import IForest

class Compiles(IForest):
    '''Reports a compile time of its own (as a numba or torch plugin might).'''
    def _fit(self, X):
        super()._fit(X)
        self.compile_seconds_ = 1.5
"""


def test_a_detectors_own_compile_time_is_kept_without_jax(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from anobench.execution.cell import run_cell
    from anobench.plan.expansion import expand
    from anobench.plan.suite import Suite
    from anobench.registry import dataset_registry

    (tmp_path / "compiling_plugin.py").write_text(COMPILING_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    suite = Suite.model_validate(
        {"name": "t", "detectors": {"iforest": {}}, "datasets": ["wine"], "seeds": [0]}
    )
    cell = expand(suite, detector_registry(), dataset_registry())[0]
    cell = dataclasses.replace(cell, detector_ref="compiling_plugin:Compiles")
    record = run_cell(cell)
    assert record["status"] == "ok", record.get("error")
    # JAX's compile clock may run in this process (other tests): its 0 must not win
    assert record["fit_compile_seconds"] == record["compile_seconds"] == 1.5
