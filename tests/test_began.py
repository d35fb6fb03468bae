"""BEGAN: the k_t control, M_global, the losses, the LR decay on plateaus, the nets and the checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gan_zoo import BEGAN, create_model
from gan_zoo.models.began import LR_DECAY_READ_DELAY, m_global, plateau_step, reconstruction_energy, update_k
from gan_zoo.nets import BEGANDiscriminator, BEGANGenerator


def fit(model: L.LightningModule, batches: int, tmp_path: Path, batch_size: int = 4, ckpt: bool = False) -> L.Trainer:
    images = torch.rand(batches * batch_size, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    trainer = L.Trainer(
        max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", default_root_dir=tmp_path, log_every_n_steps=1,
    )
    trainer.fit(model, DataLoader(TensorDataset(images), batch_size=batch_size))
    return trainer


def test_update_k_by_hand():
    # k_{t+1} = clip(k_t + λ_k (γ L(x) − L(G(z))), 0, 1), worked out step by step in plain floats.
    gamma, lam = 0.5, 0.1
    losses = [(0.40, 0.10), (0.30, 0.05), (0.20, 0.30), (0.50, 0.90), (0.10, 0.00)]
    hand = [0.0]
    hand.append(min(max(0.0 + 0.1 * (0.5 * 0.40 - 0.10), 0.0), 1.0))  # 0.010
    hand.append(min(max(hand[1] + 0.1 * (0.5 * 0.30 - 0.05), 0.0), 1.0))  # 0.020
    hand.append(min(max(hand[2] + 0.1 * (0.5 * 0.20 - 0.30), 0.0), 1.0))  # 0.000 (clipped from -0.0)
    hand.append(min(max(hand[3] + 0.1 * (0.5 * 0.50 - 0.90), 0.0), 1.0))  # 0.000 (clipped from -0.065)
    hand.append(min(max(hand[4] + 0.1 * (0.5 * 0.10 - 0.00), 0.0), 1.0))  # 0.005
    k = torch.tensor(0.0)
    seq = [k.item()]
    for real, fake in losses:
        k = update_k(k, gamma, lam, torch.tensor(real), torch.tensor(fake))
        seq.append(k.item())
    assert seq == pytest.approx(hand, abs=1e-7)
    assert hand[4] == 0.0  # the lower clamp was exercised
    # The upper clamp: a large step from 0.95 stops at 1.
    assert update_k(torch.tensor(0.95), 1.0, 1.0, torch.tensor(0.5), torch.tensor(0.0)).item() == 1.0


def test_m_global_as_defined():
    # M_global = L(x) + |γ L(x) − L(G(z))|, both signs of the bracket.
    assert m_global(torch.tensor(0.2), torch.tensor(0.05), 0.5).item() == pytest.approx(0.2 + 0.05)
    assert m_global(torch.tensor(0.2), torch.tensor(0.30), 0.5).item() == pytest.approx(0.2 + 0.2)
    assert m_global(torch.tensor(0.4), torch.tensor(0.12), 0.3).item() == pytest.approx(0.4)


@pytest.mark.filterwarnings("ignore:.*self.log.*")
def test_losses_are_the_papers_l1_energies():
    torch.manual_seed(0)
    model = create_model("began", tiny=True)
    model.k.fill_(0.3)
    real, fake = torch.rand(4, 3, 32, 32) * 2 - 1, torch.rand(4, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        rec_real, rec_fake = model.discriminator(real).double(), model.discriminator(fake).double()
    l_real = (real.double() - rec_real).abs().mean()  # L(x) = mean |x − D(x)| over pixels and batch
    l_fake = (fake.double() - rec_fake).abs().mean()
    d_loss, stats = model.d_loss(real, fake, None)
    assert d_loss.item() == pytest.approx((l_real - 0.3 * l_fake).item(), rel=1e-5)
    assert stats["loss_real"].item() == pytest.approx(l_real.item(), rel=1e-5)  # measured values travel as stats
    assert stats["loss_fake"].item() == pytest.approx(l_fake.item(), rel=1e-5)
    assert stats["m_global"].item() == pytest.approx((l_real + (0.5 * l_real - l_fake).abs()).item(), rel=1e-5)
    assert model.g_loss(real, fake, None).item() == pytest.approx(l_fake.item(), rel=1e-5)
    energies = reconstruction_energy(real, rec_real.float())
    assert energies.shape == (4,) and energies.mean().item() == pytest.approx(l_real.item(), rel=1e-5)


class RecordingBEGAN(BEGAN):
    """Records k_t before/after each update with the D step's losses and the lr after it."""

    def on_gan_fit_start(self) -> None:
        self.steps: list[dict[str, float]] = []

    def after_d_step(self, stats) -> None:
        k_before, real, fake = self.k.item(), stats["loss_real"].item(), stats["loss_fake"].item()
        super().after_d_step(stats)
        lr = self.optimizers()[1].param_groups[0]["lr"]
        self.steps.append({"k_before": k_before, "k_after": self.k.item(), "real": real, "fake": fake, "lr": lr})


def test_k_sequence_in_training_follows_the_formula(tmp_path):
    torch.manual_seed(0)
    # λ_k = 0.5 and k_0 = 0.5 make k move visibly (and hit a clamp) within a few steps.
    model = create_model("began", tiny=True, lambda_k=0.5, k_init=0.5, gamma=0.9)
    model.__class__ = RecordingBEGAN
    trainer = fit(model, batches=6, tmp_path=tmp_path)
    steps = model.steps
    assert len(steps) == 6 and steps[0]["k_before"] == 0.5
    for prev, step in zip(steps, steps[1:]):
        assert step["k_before"] == prev["k_after"]  # k_t is carried between steps
    for step in steps:
        hand = min(max(step["k_before"] + 0.5 * (0.9 * step["real"] - step["fake"]), 0.0), 1.0)
        assert step["k_after"] == pytest.approx(hand, abs=1e-6)
        assert 0.0 <= step["k_after"] <= 1.0
    assert len({round(s["k_after"], 6) for s in steps}) > 1  # it really moved
    last = steps[-1]
    expected_m = last["real"] + abs(0.9 * last["real"] - last["fake"])
    assert trainer.callback_metrics["train/m_global"].item() == pytest.approx(expected_m, rel=1e-5)
    assert model.k.dtype == torch.float32 and "k" in model.state_dict()


class LatentRecordingBEGAN(BEGAN):
    """Keeps every latent batch the loop draws (z_D first, then z_G), so the test can redo the step by hand."""

    def sample_latent(self, n, generator=None):
        z = super().sample_latent(n, generator)
        self.drawn = [*getattr(self, "drawn", []), z.detach().clone()]
        return z


def _hand_step(model0: BEGAN, real: torch.Tensor, z_d: torch.Tensor, z_g: torch.Tensor, lr: float, simultaneous: bool):
    """One BEGAN step by plain SGD in float64, written from the paper: x̃_D = G(z_D; θ_G^t);
    θ_D ← θ_D − lr ∇ [L(x) − k_t L(x̃_D)]; θ_G ← θ_G − lr ∇ L(G(z_G)) with D at θ_D^t (simultaneous) or at the
    updated θ_D (sequential). Returns the new (G, D) parameter lists."""
    import copy

    g, d = copy.deepcopy(model0.generator).double(), copy.deepcopy(model0.discriminator).double()
    k = float(model0.k)
    energy = lambda net, v: (v - net(v)).abs().mean()  # L(v), Eq. 1 with η = 1, averaged over batch and pixels
    real, z_d, z_g = real.double(), z_d.double(), z_g.double()
    with torch.no_grad():
        fake_d = g(z_d)
    d_grads = torch.autograd.grad(energy(d, real) - k * energy(d, fake_d), list(d.parameters()))
    d_new = [p.detach() - lr * gr for p, gr in zip(d.parameters(), d_grads)]
    if not simultaneous:  # G's gradient through the updated D
        with torch.no_grad():
            for p, new in zip(d.parameters(), d_new):
                p.copy_(new)
    g_grads = torch.autograd.grad(energy(d, g(z_g)), list(g.parameters()))
    g_new = [p.detach() - lr * gr for p, gr in zip(g.parameters(), g_grads)]
    return g_new, d_new


@pytest.mark.parametrize("order", ["simultaneous", "sequential"])
def test_update_order_matches_a_hand_written_step(tmp_path, order):
    """The default update is the paper's simultaneous one: both gradients at (θ_D^t, θ_G^t). One training batch
    with SGD is compared with the step written out in float64, for both orders; each order's result must also
    differ from the other order's hand step, so the comparison can tell them apart."""
    import copy

    torch.manual_seed(0)
    sgd = {"class_path": "torch.optim.SGD", "init_args": {"lr": 0.5}}
    model = create_model("began", tiny=True, k_init=0.3, g_optimizer=sgd, d_optimizer=sgd,
                         **({} if order == "simultaneous" else {"update_order": order}))
    assert model.hparams.update_order == order
    model.__class__ = LatentRecordingBEGAN
    model0 = copy.deepcopy(model)
    fit(model, batches=1, tmp_path=tmp_path)
    real = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1  # fit()'s one batch
    z_d, z_g = model.drawn
    for simultaneous in (True, False):
        g_new, d_new = _hand_step(model0, real, z_d, z_g, lr=0.5, simultaneous=simultaneous)
        g_gap = max((p.double() - q).abs().max().item() for p, q in zip(model.generator.parameters(), g_new))
        d_gap = max((p.double() - q).abs().max().item() for p, q in zip(model.discriminator.parameters(), d_new))
        assert d_gap < 1e-5  # D's step is the same in both orders
        if simultaneous == (order == "simultaneous"):
            assert g_gap < 1e-5, (order, g_gap)
        else:
            assert g_gap > 1e-4, (order, g_gap)  # the other order's G step is measurably different
    assert model.k.item() != 0.3  # k_t moved after the D step


def test_plateau_step_rule():
    best, stalled = torch.tensor(float("inf")), torch.tensor(0)
    decays = []
    for value in [5.0, 4.0, 4.5, 4.2, 3.0, 3.1, 3.2, 3.3, 3.4]:
        best, stalled, decay = plateau_step(torch.tensor(value), best, stalled, patience=2)
        decays.append(bool(decay))
    # new bests at 5, 4, 3; two non-improvements after 4 -> decay; after 3: decay at 3.2, then again at 3.4
    assert decays == [False, False, False, True, False, False, True, False, True]
    assert best == 3.0


def _replay_decay_rule(steps, patience: int) -> list[int]:
    """Decays due after each recorded D step, from its L(x) and L(G(z)) alone (γ 0.5), independently of the
    model's buffers."""
    best, stalled, due, due_by_step = float("inf"), 0, 0, []
    for step in steps:
        m = step["real"] + abs(0.5 * step["real"] - step["fake"])
        if m < best:
            best, stalled = m, 0
        else:
            stalled += 1
            if stalled == patience:
                stalled, due = 0, due + 1
        due_by_step.append(due)
    return due_by_step


def test_lr_decays_when_m_global_stalls(tmp_path):
    """A decay due at D step t reaches the learning rates of both nets at step t + LR_DECAY_READ_DELAY."""
    torch.manual_seed(0)
    model = create_model("began", tiny=True, lr_decay_patience=2)
    model.__class__ = RecordingBEGAN
    fit(model, batches=24, tmp_path=tmp_path)
    due_by_step = _replay_decay_rule(model.steps, patience=2)
    delay = LR_DECAY_READ_DELAY
    applied = [0] * delay + due_by_step[:-delay]  # step t acts on the count of step t - delay
    assert [s["lr"] for s in model.steps] == pytest.approx([1e-4 * 0.5**n for n in applied])
    assert applied[-1] >= 2, "the run should have stalled at least twice after the delay"
    g_opt, d_opt = model.optimizers()
    assert g_opt.param_groups[0]["lr"] == d_opt.param_groups[0]["lr"]  # both nets decay together
    assert model.lr_decays_due.item() == due_by_step[-1] and model.lr_decays_applied.item() == applied[-1]
    assert model.state_dict()["lr_decays_due_recent"].tolist() == due_by_step[-delay:]  # the counts still in flight


class _LateEvent:
    """Stands in for a CUDA event whose copy has not landed: ``query`` says no until ``synchronize``."""

    waits = 0

    def __init__(self) -> None:
        self.done = False

    def query(self) -> bool:
        return self.done

    def synchronize(self) -> None:
        _LateEvent.waits += 1
        self.done = True


def test_delayed_host_read_is_exact_however_late_copies_land(monkeypatch):
    """Every push returns the value pushed ``delay`` pushes before, whether its copy has landed or not (a
    rank whose GPU is behind waits instead of reading later), so all ranks act on a value in the same step."""
    from gan_zoo.models import host_copies

    _LateEvent.waits = 0
    values = [torch.tensor(v) for v in [0, 1, 1, 2, 5, 5, 6, 9, 9, 12]]
    on_time = host_copies.DelayedHostRead(delay=3, initial=0)
    landed_at_once = [on_time.push(v) for v in values]
    monkeypatch.setattr(host_copies, "_start_host_copy", lambda v: (v.detach().clone(), _LateEvent()))
    late = host_copies.DelayedHostRead(delay=3, initial=0)
    never_landed = [late.push(v) for v in values]
    expected = [0, 0, 0] + [int(v) for v in values[:-3]]
    assert landed_at_once == never_landed == expected
    assert _LateEvent.waits == len(values) - 3  # every read of a real copy waited for it
    late.restart([7, 8, 9])  # the counts in flight at a checkpoint, restored after a load
    assert [late.push(torch.tensor(0)) for _ in range(4)] == [7, 8, 9, 0]
    with pytest.raises(ValueError, match="expected 3 values"):
        late.restart([1, 2])


def test_resume_inside_the_delay_decays_when_the_straight_run_does(tmp_path):
    """A checkpoint written while decays are in flight (due, not yet applied) resumes into the straight run bit
    for bit: the same learning rates at every later step, the same weights at the end."""
    images = torch.rand(24, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    loader = lambda: DataLoader(TensorDataset(images), batch_size=4)  # noqa: E731  (6 batches per epoch)

    def trainer(root: Path, epochs: int) -> L.Trainer:
        return L.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", default_root_dir=root)

    def build() -> BEGAN:
        model = create_model("began", tiny=True, lr_decay_patience=1)
        model.__class__ = RecordingBEGAN
        return model

    torch.manual_seed(0)
    straight = build()
    trainer(tmp_path / "a", 3).fit(straight, loader())
    torch.manual_seed(0)
    first = build()
    stopped = trainer(tmp_path / "b", 1)
    stopped.fit(first, loader())
    assert first.lr_decays_due.item() > first.lr_decays_applied.item(), "no decay in flight: the test proves nothing"
    stopped.save_checkpoint(tmp_path / "epoch1.ckpt")
    torch.manual_seed(12345)
    resumed = build()
    trainer(tmp_path / "c", 3).fit(resumed, loader(), ckpt_path=tmp_path / "epoch1.ckpt")
    assert [s["lr"] for s in resumed.steps] == [s["lr"] for s in straight.steps[6:]]
    assert straight.steps[-1]["lr"] < straight.steps[5]["lr"]  # decays landed after the checkpoint
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_checkpoint_keeps_k_and_plateau_state(tmp_path):
    torch.manual_seed(0)
    model = create_model("began", tiny=True, lambda_k=0.05, lr_decay_patience=1)
    trainer = fit(model, batches=12, tmp_path=tmp_path)  # > LR_DECAY_READ_DELAY, so a decay has been applied
    path = tmp_path / "began.ckpt"
    trainer.save_checkpoint(path)
    loaded = BEGAN.load_from_checkpoint(path, weights_only=True)
    assert loaded.k.item() == model.k.item() and loaded.k.item() > 0
    assert loaded.best_m_global.item() == model.best_m_global.item()
    assert loaded.steps_since_best.item() == model.steps_since_best.item()
    assert loaded.lr_decays_due.item() == model.lr_decays_due.item()
    assert loaded._lr_decays_applied == loaded.lr_decays_applied.item() == model._lr_decays_applied > 0
    # A checkpoint from before the decay counts were buffers still loads strictly, with both counts at 0.
    counts = ("lr_decays_due", "lr_decays_applied", "lr_decays_due_recent")
    older = {k: v for k, v in model.state_dict().items() if k not in counts}
    loaded.load_state_dict(older, strict=True)
    assert loaded.lr_decays_due.item() == loaded.lr_decays_applied.item() == loaded._lr_decays_applied == 0
    assert loaded.lr_decays_due_recent.tolist() == [0] * LR_DECAY_READ_DELAY
    # One from before the counts in flight were kept, with 2 decays due and not applied: the first read applies them.
    newer = {k: v for k, v in model.state_dict().items() if k != "lr_decays_due_recent"}
    newer |= {"lr_decays_due": torch.tensor(5), "lr_decays_applied": torch.tensor(3)}
    loaded.load_state_dict(newer, strict=True)
    assert loaded.lr_decays_due_recent.tolist() == [5] * LR_DECAY_READ_DELAY and loaded._lr_decays_applied == 3
    assert loaded.hparams.gamma == 0.5 and loaded.hparams.latent_prior == "uniform"  # paper: z ~ U[-1, 1]


def test_invalid_hyperparameters_name_the_problem():
    for bad, match in [({"gamma": 0.0}, "gamma"), ({"k_init": 1.5}, "k_init"), ({"lr_decay_patience": 0}, "lr_decay_patience")]:
        with pytest.raises(ValueError, match=match):
            create_model("began", tiny=True, **bad)
    nets = {"generator": BEGANGenerator(latent_dim=8, image_shape=(3, 32, 32), num_filters=4),
            "discriminator": BEGANDiscriminator(image_shape=(3, 32, 32), num_filters=4, hidden_dim=8)}
    with pytest.raises(ValueError, match="update_order must be 'simultaneous'"):  # the Python API's own check
        BEGAN(**nets, update_order="alternating")


@pytest.mark.parametrize("size,stages", [(32, 2), (64, 3), (128, 4)])
def test_began_nets_follow_the_paper_layout(size, stages):
    d = BEGANDiscriminator(image_shape=(3, size, size), num_filters=4, hidden_dim=8)
    g = BEGANGenerator(latent_dim=8, image_shape=(3, size, size), num_filters=4)
    x = torch.randn(2, 3, size, size)
    assert d(x).shape == x.shape and d.features(x).shape == (2, 8)
    assert g(torch.rand(2, 8) * 2 - 1).shape == x.shape
    convs = [m for m in d.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [m.stride for m in convs].count((2, 2)) == stages  # stride-2 sub-sampling, no pooling
    assert all(m.kernel_size == (3, 3) for m in convs)
    assert convs[-1].out_channels == 4 * (stages + 1)  # channels grow linearly: n, 2n, ..., (L+1)n
    for net in (d.decoder, g.decoder):
        ups = [m for m in net.modules() if isinstance(m, nn.Upsample)]
        assert len(ups) == stages and all(u.mode == "nearest" for u in ups)
        assert any(isinstance(m, nn.Linear) for m in net.modules())  # FC from h to the 8x8 map
    assert any(isinstance(m, nn.ELU) for m in d.modules())
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in d.modules())
    with pytest.raises(ValueError, match="8·2"):
        BEGANDiscriminator(image_shape=(3, 28, 28))


def test_began_nets_start_from_xavier_weights():
    # Every conv / linear of both nets: Glorot-uniform weights, U(±√(6 / (fan_in + fan_out))), and zero biases,
    # checked against fan-in / fan-out worked out from the layer shapes.
    torch.manual_seed(0)
    nets = [BEGANGenerator(latent_dim=64, image_shape=(1, 32, 32), num_filters=16),
            BEGANDiscriminator(image_shape=(1, 32, 32), num_filters=16, hidden_dim=64)]
    for net in nets:
        layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        assert len(layers) >= 8  # G: FC + 7 convs; D: more
        for m in layers:
            w = m.weight.detach().double()
            receptive = w[0, 0].numel() if w.dim() == 4 else 1
            fan_in, fan_out = w.shape[1] * receptive, w.shape[0] * receptive
            bound = (6.0 / (fan_in + fan_out)) ** 0.5
            assert w.abs().max().item() <= bound + 1e-7
            assert w.var().item() == pytest.approx(bound**2 / 3, rel=0.25)  # variance of U(-b, b) is b²/3
            assert torch.count_nonzero(m.bias).item() == 0


def test_began_generator_at_init_depends_on_z():
    # The generator has ~10 unnormalized layers. With PyTorch's default init each 3x3 conv shrinks the
    # signal about threefold, so G(z) at init was nearly one image for every z (per-pixel std across z
    # 0.003, measured) and training collapsed to a single digit; Xavier init keeps it at about 0.1.
    torch.manual_seed(0)
    g = BEGANGenerator(latent_dim=64, image_shape=(1, 32, 32), num_filters=16)
    with torch.no_grad():
        x = g(torch.rand(256, 64) * 2 - 1)  # (256, 1, 32, 32)
    spread = x.std(dim=0).mean().item()  # per-pixel std across z, averaged over pixels
    assert spread > 0.03, f"G(z) at init barely depends on z (per-pixel std {spread:.4f})"


def test_share_bound_script_reads_k_of_the_scored_checkpoints_run(tmp_path, capsys):
    """scripts/began_share_bound.py: k_t averaged over the last logged steps of the version the scored checkpoint
    belongs to, the top class's share of the samples, and the bound p_data(c) / k_t."""
    from helpers import load_script

    script = load_script("began_share_bound")
    version = tmp_path / "lightning_logs" / "version_1"
    (version / "checkpoints").mkdir(parents=True)
    other = tmp_path / "lightning_logs" / "version_2"  # a later version with other k: must not be read
    other.mkdir()
    (other / "metrics.csv").write_text("step,train/k\n0,0.9\n")
    rows = ["step,train/k,train/loss_real"] + [f"{i},{k},0.1" for i, k in enumerate([0.5, 0.1, 0.2, 0.3])]
    rows.insert(2, "1,,0.1")  # a row of another metric: skipped
    (version / "metrics.csv").write_text("\n".join(rows) + "\n")
    histogram = [0, 500, 100, 100, 100, 50, 50, 50, 30, 20]  # 1,000 samples, "1" on top
    report = {"command": f"gan-zoo evaluate --ckpt {version / 'checkpoints' / 'last.ckpt'} --dataset mnist",
              "results": {"class_coverage": {"extras": {"histogram": histogram}}}}
    (tmp_path / "eval.json").write_text(json.dumps(report))
    assert script.main([str(tmp_path), "--last", "3"]) == 0
    row = capsys.readouterr().out.splitlines()[-1].split("|")
    k = (0.1 + 0.2 + 0.3) / 3
    bound = 6742 / 60000 / k  # MNIST's 6,742 training "1"s
    assert [c.strip() for c in row[2:7]] == [f"{k:.3f}", "1", "50.0%", f"{bound:.1%}", str(sum(c >= 50 for c in histogram))]
    # `gan-zoo evaluate --out X` writes the file X: the report's own path reads the same as its folder.
    named = tmp_path / "scored.json"
    named.write_text(json.dumps(report))
    assert script.main([str(named), "--last", "3"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].split("|")[2:7] == row[2:7]
    assert script.share_bound(0.1, 0.0) == 1.0 and script.share_bound(0.1, 0.05) == 1.0


def test_class_energies_script_rank_correlation_matches_the_textbook_formula():
    """scripts/began_class_energies.py: its rank correlation of per-class tensors equals
    1 − 6 Σ d² / (n (n² − 1)) for distinct values, and is −1 for reversed orderings."""
    from helpers import load_script

    script = load_script("began_class_energies")
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        a, b = torch.rand(10, generator=generator), torch.rand(10, generator=generator)
        d = (a.argsort().argsort() - b.argsort().argsort()).double()  # rank differences
        n = len(a)
        assert script.spearman(a, b) == pytest.approx(1 - 6 * float((d**2).sum()) / (n * (n**2 - 1)), abs=1e-12)
    values = torch.tensor([0.3, 0.1, 0.5, 0.2])
    assert script.spearman(values, -values) == pytest.approx(-1.0)


def test_step_reports_the_k_its_d_loss_used(tmp_path):
    """The ``k`` a step returns (logged, shown in the progress bar) is k_t, the value in that step's L_D, not
    k_{t+1}: ``after_d_step`` updates the buffer in place, so the stat must be a copy taken before."""

    class Spy(L.Callback):
        def __init__(self) -> None:
            self.before, self.reported = [], []

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            self.before.append(pl_module.k.item())

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            self.reported.append(outputs["k"].item())

    torch.manual_seed(0)
    model = create_model("began", tiny=True, lambda_k=0.5, k_init=0.2)  # k moves visibly every step
    spy = Spy()
    images = torch.rand(16, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, accelerator="cpu", default_root_dir=tmp_path,
              callbacks=[spy]).fit(model, DataLoader(TensorDataset(images), batch_size=4))
    assert spy.reported == spy.before and len(set(spy.before)) > 1


def test_several_decays_read_at_once_are_all_applied(tmp_path):
    """A checkpoint from before the counts in flight were kept, with 2 decays due and not yet applied: the
    first D step reads both and multiplies the rates by factor² (not once), and counts both as applied."""
    torch.manual_seed(0)
    model = create_model("began", tiny=True, lr_decay_patience=10_000)  # no new decay falls due in this run
    state = {k: v for k, v in model.state_dict().items() if k != "lr_decays_due_recent"}
    state |= {"lr_decays_due": torch.tensor(5), "lr_decays_applied": torch.tensor(3)}
    model.load_state_dict(state, strict=True)
    model.__class__ = RecordingBEGAN
    fit(model, batches=2, tmp_path=tmp_path)
    assert [s["lr"] for s in model.steps] == pytest.approx([1e-4 * 0.5**2] * 2)
    assert model._lr_decays_applied == 5 and model.lr_decays_applied.item() == 5


# ------------------------------------------------------------------ mutation sweep 3: DelayedHostRead's edges
def test_delayed_host_read_refuses_a_delay_below_one():
    """A delay of 0 would hand back each value in the step that pushed it (a wait for the GPU every step)."""
    from gan_zoo.models.host_copies import DelayedHostRead

    with pytest.raises(ValueError, match="delay must be >= 1"):
        DelayedHostRead(0)


def test_delayed_host_read_starts_from_its_initial_value():
    """Until ``delay`` values have been pushed, a read returns ``initial`` (what is in flight at the start)."""
    from gan_zoo.models.host_copies import DelayedHostRead

    reader = DelayedHostRead(delay=3, initial=5)
    assert reader.in_flight() == [5, 5, 5]
    assert [reader.push(torch.tensor(v)) for v in (10, 11, 12, 13)] == [5, 5, 5, 10]
