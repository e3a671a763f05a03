"""The NNCodec benchmark's models (bench/nncodec_models.py, bench/vs_nncodec.py): they come
from the study's training recipe and share the study's model cache. NNCodec is not run."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import nncodec_models  # noqa: E402

from symcodec.data import Dataset, load_dataset  # noqa: E402
from symcodec.study import load_study, parse_study, trained_model  # noqa: E402

PAPER = ROOT / "src" / "symcodec" / "studies" / "paper.toml"


def tiny_fashion_mnist(images: int = 8) -> Dataset:
    """A few random Fashion-MNIST-shaped images: the data never enter a cache key, so the
    models' cache paths are the real data set's (training is a step per epoch)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(images, 1, 28, 28, generator=g)
    y = torch.arange(images) % 10
    return Dataset("fashion-mnist", x, y, x[:4], y[:4], 10, (1, 28, 28), "synthetic")


def test_the_bench_trains_with_the_papers_recipe():
    bench = nncodec_models.bench_spec("fashion-mnist", "deepcnn", seeds=(0, 1, 2)).training
    paper = load_study(PAPER).training
    assert (bench.epochs, bench.lr, bench.batch_size, bench.seeds) == (10, 0.003, 128, (0, 1, 2))
    # prune_finetune_epochs only concerns the study's pruning baselines
    assert bench == dataclasses.replace(paper, prune_finetune_epochs=0)


@pytest.mark.parametrize("variant", ["none", "central-skew"])
def test_the_bench_finds_the_model_that_reproduce_of_paper_toml_caches(
    tmp_path, monkeypatch, variant
):
    monkeypatch.setenv("SYMCODEC_CACHE", str(tmp_path))
    data = tiny_fashion_mnist()
    paper = load_study(PAPER)
    _, study_info = trained_model(paper, data, variant, train_seed=1, log=lambda _: None)
    spec = nncodec_models.bench_spec("fashion-mnist", "deepcnn", seeds=(1,))
    bench, info = nncodec_models.bench_model(
        spec, data, variant, seed=1, train_threads=torch.get_num_threads(), log=print
    )
    assert info["cached"] == "yes"
    assert info["path"] == study_info["path"]
    assert Path(info["path"]).name.startswith(f"deepcnn-fashion-mnist-{variant}-e10-")
    assert (bench.seed, bench.params, bench.float_correct.shape) == (1, 467_818, (1, 4))


def test_another_thread_count_or_epoch_count_is_another_model(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMCODEC_CACHE", str(tmp_path))
    data = tiny_fashion_mnist()
    spec = nncodec_models.bench_spec("fashion-mnist", "deepcnn-gap", seeds=(0,), epochs=1)
    threads = torch.get_num_threads()
    _, first = nncodec_models.bench_model(spec, data, "none", 0, threads, log=lambda _: None)
    _, other = nncodec_models.bench_model(spec, data, "none", 0, threads + 1, log=lambda _: None)
    assert first["path"] != other["path"] and other["cached"] == "no"
    assert torch.get_num_threads() == threads  # restored after training
    assert "-e1-" in first["path"]


def test_train_only_caches_one_model_per_seed_where_the_study_looks(tmp_path, monkeypatch):
    vs_nncodec = pytest.importorskip("vs_nncodec")
    monkeypatch.setenv("SYMCODEC_CACHE", str(tmp_path))
    threads = torch.get_num_threads()
    args = ["--train-only", "--datasets", "mnist-5k", "--models", "deepcnn-gap"]
    args += ["--variants", "none", "--epochs", "0", "--seeds", "0,2"]
    assert vs_nncodec.main(args) == 0
    assert torch.get_num_threads() == threads
    files = sorted((tmp_path / "models").iterdir())
    assert len(files) == 2 and all(
        f.name.startswith("deepcnn-gap-mnist-5k-none-e0-") for f in files
    )
    study = parse_study(
        {
            "name": "any",
            "dataset": "mnist-5k",
            "model": "deepcnn-gap",
            "training": {"epochs": 0, "lr": 0.003, "batch_size": 128, "seeds": [0, 2]},
        }
    )
    data = load_dataset("mnist-5k")
    for seed in (0, 2):
        _, info = trained_model(study, data, "none", train_seed=seed, log=lambda _: None)
        assert info["cached"] == "yes" and Path(info["path"]) in files


@pytest.mark.parametrize("text", ["", "0,0", "-1", "a"])
def test_bad_seeds_are_refused(text):
    with pytest.raises(ValueError, match="--seeds"):
        nncodec_models.parse_seeds(text)


def test_the_bench_modules_doctests_hold():
    import doctest

    import nncodec_frontier
    import nncodec_frontier_files
    import nncodec_merge
    import nncodec_sweep

    modules = (
        nncodec_models,
        nncodec_frontier,
        nncodec_frontier_files,
        nncodec_merge,
        nncodec_sweep,
    )
    for module in modules:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0, module.__name__
