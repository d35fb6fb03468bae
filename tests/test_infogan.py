"""InfoGAN: the info losses against hand-written log-likelihoods, Q's gradients reaching G, the λ = 0
reduction to the GAN losses, the latent layout and the traversal callback."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gan_zoo import create_model
from gan_zoo.callbacks import LatentTraversal
from gan_zoo.losses import info_categorical_loss, info_gaussian_nll
from gan_zoo.models.infogan import InfoGAN
from helpers import params_of, random_loader, same, tiny_trainer

K, J = 10, 2


def tiny_infogan(**overrides) -> InfoGAN:
    torch.manual_seed(0)
    return create_model("infogan", tiny=True, **overrides)


def gaussian_log_density(c: float, mu: float, var: float) -> float:
    """log N(c; mu, var), written out: log[(2π var)^(-1/2) exp(−(c − mu)² / (2 var))]."""
    return math.log((2 * math.pi * var) ** -0.5 * math.exp(-((c - mu) ** 2) / (2 * var)))


def test_gaussian_nll_matches_the_log_density_written_out():
    g = torch.Generator().manual_seed(0)
    mean = torch.randn(5, 3, generator=g, dtype=torch.float64)
    log_var = torch.randn(5, 3, generator=g, dtype=torch.float64) * 0.5
    codes = torch.rand(5, 3, generator=g, dtype=torch.float64) * 2 - 1
    expected = -sum(
        sum(gaussian_log_density(float(codes[b, j]), float(mean[b, j]), math.exp(float(log_var[b, j]))) for j in range(3))
        for b in range(5)
    ) / 5  # −E_b[Σ_j log N(c_j; μ_j, σ_j²)]
    assert info_gaussian_nll(mean, log_var, codes).item() == pytest.approx(expected, rel=1e-12)
    # σ fixed to 1 (log σ² = 0): ½ (c − μ)² + ½ log 2π per dim
    fixed = sum(0.5 * (float(codes[b, j]) - float(mean[b, j])) ** 2 + 0.5 * math.log(2 * math.pi)
                for b in range(5) for j in range(3)) / 5
    assert info_gaussian_nll(mean, torch.zeros(1, 1, dtype=torch.float64), codes).item() == pytest.approx(fixed, rel=1e-12)


def test_categorical_loss_is_minus_log_softmax_of_the_code():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]], dtype=torch.float64)
    codes = torch.tensor([0, 1])
    by_hand = [-(logits[b, codes[b]] - math.log(sum(math.exp(v) for v in logits[b].tolist()))) for b in range(2)]
    assert info_categorical_loss(logits, codes).item() == pytest.approx(float(sum(by_hand) / 2), rel=1e-12)


def test_model_info_loss_weights_both_terms_of_the_codes_g_was_given():
    model = tiny_infogan(lambda_categorical=0.7, lambda_continuous=0.3)
    z, cat, cont = model.generator.draw_codes(6, "uniform")
    _, q = model.discriminator.with_q(model.generator(model.generator.make_latent(z, cat, cont)))
    total, stats = model.info_loss(cat, cont, q)
    log_q_cat = [F.log_softmax(q.cat_logits[b].double(), 0)[int(cat[b])].item() for b in range(6)]
    log_q_cont = [sum(gaussian_log_density(float(cont[b, j]), float(q.cont_mean[b, j]), 1.0) for j in range(J)) for b in range(6)]
    ce, nll = -sum(log_q_cat) / 6, -sum(log_q_cont) / 6  # σ fixed to 1 by default
    assert total.item() == pytest.approx(0.7 * ce + 0.3 * nll, rel=1e-5)
    assert stats["mi_cat"].item() == pytest.approx(math.log(K) - ce, abs=1e-5)  # H(c_cat) − CE
    assert stats["mi_cont"].item() == pytest.approx(J * math.log(2.0) - nll, abs=1e-5)


def test_learned_variance_head_feeds_log_variances():
    model = tiny_infogan(discriminator={"init_args": {"learn_variance": True}})
    _, q = model.discriminator.with_q(torch.rand(4, 1, 28, 28) * 2 - 1)
    assert q.cat_logits.shape == (4, K) and q.cont_mean.shape == q.cont_log_var.shape == (4, J)
    assert not torch.equal(q.cont_log_var, torch.zeros_like(q.cont_log_var))


def test_latent_layout_round_trips_and_follows_the_priors():
    model = tiny_infogan()
    latent = model.sample_latent(4000, generator=torch.Generator().manual_seed(1))
    assert latent.shape == (4000, model.latent_dim + K + J)
    z, cat, cont = model.generator.split_latent(latent)
    onehot = latent[:, model.latent_dim : model.latent_dim + K]
    assert torch.equal(onehot.sum(1), torch.ones(4000)) and set(onehot.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(model.generator.make_latent(z, cat, cont), latent)
    assert cont.min() >= -1 and cont.max() <= 1 and z.min() >= -1 and z.max() <= 1  # uniform priors
    counts = torch.bincount(cat, minlength=K).float()
    assert (counts / 4000 - 0.1).abs().max() < 0.03  # uniform categorical


def test_q_gradients_reach_the_generator():
    model = tiny_infogan()
    z, cat, cont = model.generator.draw_codes(8, "uniform")
    _, q = model.discriminator.with_q(model.generator(model.generator.make_latent(z, cat, cont)))
    info, _ = model.info_loss(cat, cont, q)  # the info term alone, no adversarial loss
    info.backward()
    for name, p in model.generator.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"no info gradient in G's {name}"


def test_lambda_zero_reduces_to_the_gan_losses():
    model = tiny_infogan(lambda_categorical=0.0, lambda_continuous=0.0)
    real = torch.rand(8, 1, 28, 28) * 2 - 1
    z, cat, cont = model.generator.draw_codes(8, "uniform")
    latent = model.generator.make_latent(z, cat, cont)
    fake = model.generator(latent).detach()
    d, _ = model.d_info_loss(real, fake, cat, cont)
    # Goodfellow 2014 on logits: −log σ(D(x)) − log(1 − σ(D(x̃))) = softplus(−l_r) + softplus(l_f)
    by_hand_d = F.softplus(-model.discriminator(real)).mean() + F.softplus(model.discriminator(fake)).mean()
    assert d.item() == pytest.approx(by_hand_d.item(), rel=1e-6)
    assert d.item() == pytest.approx(model.d_loss(real, fake, None)[0].item(), rel=1e-6)  # VanillaGAN's loss
    g, _ = model.g_info_loss(z, cat, cont)
    by_hand_g = F.softplus(-model.discriminator(model.generator(latent))).mean()  # −log σ(D(G(z, c)))
    assert g.item() == pytest.approx(by_hand_g.item(), rel=1e-6)


def test_training_uses_the_info_term_for_g_and_q(tmp_path):
    """One fit batch with λ = 1 and λ = 0 from the same weights and data: G and D (with Q) end up different,
    and with λ = 0 Q's head gets no update at all."""
    results = {}
    for lam in (1.0, 0.0):
        model = tiny_infogan(lambda_categorical=lam, lambda_continuous=lam)
        q_before = params_of(model.discriminator.q_head)
        torch.manual_seed(123)
        tiny_trainer(tmp_path, max_steps=2).fit(model, random_loader((1, 28, 28), n=16, batch_size=8, num_classes=None))
        assert int(model.d_updates) == 1 and int(model.g_updates) == 1
        results[lam] = (params_of(model.generator), params_of(model.discriminator), same(q_before, params_of(model.discriminator.q_head)))
    assert not same(results[1.0][0], results[0.0][0]), "the info term did not change G's update"
    assert not same(results[1.0][1], results[0.0][1]), "the info term did not change D/Q's update"
    assert results[0.0][2] and not results[1.0][2], "Q's head should learn only from L_I"


def test_sample_labels_choose_the_categorical_code():
    model = tiny_infogan()
    seen = []  # the latent that reaches G's first layer, after G put the labels in
    model.generator.fc.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    for k in (0, 7):
        model.sample(5, labels=torch.full((5,), k), seed=2)
        assert torch.equal(model.generator.split_latent(seen[-1])[1], torch.full((5,), k))
    assert torch.equal(model.grid_labels(20), torch.arange(10).repeat_interleave(2))


def test_traverse_sweeps_one_code_with_shared_noise():
    model = tiny_infogan()
    seen = []
    model.generator.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    values = torch.linspace(-2, 2, 5)
    images = model.traverse(1, values, seed=4)
    assert images.shape == (K, 5, 1, 28, 28)
    z, cat, cont = model.generator.split_latent(seen[-1])
    assert torch.equal(z, z[:1].expand_as(z)), "z must be shared by every cell"
    assert torch.equal(cat.view(K, 5), torch.arange(K)[:, None].expand(K, 5))  # rows: categorical value
    assert torch.equal(cont[:, 1].view(K, 5), values.expand(K, 5))  # columns: the swept code
    assert torch.equal(cont[:, 0], torch.zeros(K * 5))
    with pytest.raises(ValueError, match="code must be in"):
        model.traverse(2, values)


def test_traversal_callback_writes_one_png_per_continuous_code(tmp_path):
    model = tiny_infogan()
    callback = LatentTraversal(every_n_g_steps=0, steps=5)
    trainer = tiny_trainer(tmp_path, max_steps=2, callbacks=[callback])
    trainer.fit(model, random_loader((1, 28, 28), n=16, batch_size=8, num_classes=None))
    assert [p.name for p in callback.last_paths] == ["c0_g_step_000001.png", "c1_g_step_000001.png"]
    width, height = Image.open(callback.last_paths[0]).size
    assert (width, height) == (5 * 30 + 2, K * 30 + 2)  # make_grid: 28-pixel cells, 2-pixel padding

    with pytest.raises(TypeError, match="LatentTraversal needs a model with latent codes"):
        tiny_trainer(tmp_path, max_steps=2, callbacks=[LatentTraversal()]).fit(
            create_model("dcgan", tiny=True), random_loader((3, 32, 32), n=16, batch_size=8)
        )


def test_mismatched_code_sizes_are_refused():
    with pytest.raises(ValueError, match="equal \\(num_categories, num_continuous\\)"):
        tiny_infogan(discriminator={"init_args": {"num_continuous": 3}})


def _evidence_module():
    from helpers import load_script

    return load_script("evidence_conditional")


def test_evidence_moments_read_slant():
    # (the code-to-digit matching is gan_zoo.metrics.scores.code_accuracy: tests/test_label_metrics.py)
    evidence = _evidence_module()
    images = -torch.ones(3, 1, 28, 28)
    for row in range(5, 23):  # rows grow downwards: the top of a right-leaning stroke sits further right
        images[0, 0, row, 14 + (14 - row) // 3] = 1
        images[1, 0, row, 14 - (14 - row) // 3] = 1
        images[2, 0, row, 13:16] = 1
    props = evidence.image_properties(images)
    assert props["slant"][0] > 0 > props["slant"][1] and props["slant"][2] == 0
    assert props["ink"][2] == pytest.approx(18 * 3 / 784) and props["width"][2] == pytest.approx(math.sqrt(2 / 3))


def test_pretrained_generator_samples_like_the_model(tmp_path):
    """One sampling protocol: the loaded generator draws the same codes as the model (z, c_cont from the
    priors; c_cat = labels, balanced by default) and so gives the same images for the same seed."""
    from gan_zoo import load_pretrained, save_pretrained

    model = tiny_infogan().eval()
    save_pretrained(model, tmp_path / "pretrained")
    loaded = load_pretrained(tmp_path / "pretrained")
    labels = torch.tensor([3, 0, 9, 3])
    x = loaded.sample(4, labels=labels, seed=5)
    assert torch.equal(x, model.sample(4, labels=labels, seed=5))
    rng = torch.Generator().manual_seed(5)  # the priors, written out: z ~ U(−1, 1)^Z, c_cat (replaced), c_cont ~ U(−1, 1)^J
    z = torch.rand(4, model.latent_dim, generator=rng) * 2 - 1
    torch.randint(K, (4,), generator=rng)
    cont = torch.rand(4, J, generator=rng) * 2 - 1
    assert torch.allclose(x, model.generator.eval()(model.generator.make_latent(z, labels, cont)))
    balanced = torch.arange(6) % K
    assert torch.equal(loaded.sample(6, seed=1), model.sample(6, labels=balanced, seed=1))


def test_mutual_information_term_moves_the_generator_in_its_step():
    """G's step loss, from one state and one latent, with λ = 1 and λ = 0: the difference of G's gradients
    is the gradient of λ·(−L_I) alone. It must be non-zero (Q's outputs must not be detached in the G step)
    and equal the gradient of the info loss written out here (CE of the code + Gaussian NLL, σ = 1)."""
    model = tiny_infogan()
    model.eval()  # no batch-norm statistics updates between the calls
    z, categories, continuous = model.draw_codes(8)

    def g_grads(lam: float) -> list[torch.Tensor]:
        model.hparams.lambda_categorical = model.hparams.lambda_continuous = lam
        model.zero_grad(set_to_none=True)
        loss, _ = model.g_info_loss(z, categories, continuous)
        loss.backward()
        return [p.grad.detach().clone() for p in model.generator.parameters()]

    with_info, without_info = g_grads(1.0), g_grads(0.0)
    difference = [a - b for a, b in zip(with_info, without_info)]
    assert sum(d.abs().sum().item() for d in difference) > 0, "the info term does not reach G in the G step"

    # The same gradient from the info loss written out: −log softmax(q)[c] + ½ (c' − μ)² + ½ log 2π.
    model.zero_grad(set_to_none=True)
    _, q = model.discriminator.with_q(model.generator(model.generator.make_latent(z, categories, continuous)))
    ce = -(q.cat_logits.log_softmax(1).gather(1, categories[:, None])).mean()
    nll = (0.5 * (continuous - q.cont_mean) ** 2 + 0.5 * math.log(2 * math.pi)).sum(1).mean()
    (ce + nll).backward()
    for d, p in zip(difference, model.generator.parameters()):
        torch.testing.assert_close(d, p.grad, rtol=1e-4, atol=1e-6)


def test_one_sided_label_smoothing_reaches_infogans_d_loss():
    """``real_label`` (0.9: one-sided smoothing) changes InfoGAN's D loss by the closed form: with
    BCE(l, t) = softplus(l) − t·l, L(t = 0.9) − L(t = 1) = 0.1 · mean(D(x)) over the real logits."""
    model = tiny_infogan(real_label=0.9)
    with torch.no_grad():  # larger weights: logits well away from 0, where the difference would vanish
        for p in model.discriminator.parameters():
            p.mul_(3.0)
    plain = tiny_infogan()
    plain.load_state_dict(model.state_dict())  # the same nets, only the real target differs
    model.eval(), plain.eval()  # no dropout or batch-statistics noise between the two calls
    real = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    z, cat, cont = model.generator.draw_codes(8, "uniform", torch.Generator().manual_seed(1))
    fake = model.generator(model.generator.make_latent(z, cat, cont)).detach()
    with torch.no_grad():
        smoothed, _ = model.d_info_loss(real, fake, cat, cont)
        full, _ = plain.d_info_loss(real, fake, cat, cont)
        real_logits = model.discriminator(real).double()
    assert smoothed.item() - full.item() == pytest.approx(0.1 * real_logits.mean().item(), abs=1e-5)
    assert abs(real_logits.mean().item()) > 1e-3  # else the difference would be ~0 whichever target


def test_g_step_draws_fresh_codes_of_its_own(tmp_path):
    """Algorithm step 3 (the G step) draws its own z and codes; it does not reuse the latent D was just shown
    (which would train G on half as many distinct codes per batch). One training step's two latents, taken
    at G's input, differ and are the two draw_codes draws in order."""
    model = tiny_infogan()
    seen = []
    model.generator.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))
    trainer = tiny_trainer(tmp_path, max_steps=2)
    torch.manual_seed(5)
    trainer.fit(model, random_loader((1, 28, 28), n=8, batch_size=8, num_classes=None))
    d_latent, g_latent = seen[0], seen[-1]
    assert d_latent.shape == g_latent.shape and not torch.equal(d_latent, g_latent)
    # the G latent's codes are not D's codes reordered either
    assert not torch.equal(model.generator.split_latent(d_latent)[2], model.generator.split_latent(g_latent)[2])


@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_continuous_codes_are_uniform_whatever_z_prior(prior):
    """Sec. 7.1: c_cont ~ U(−1, 1) whatever the prior of z (a normal z must not make the codes normal):
    the codes replayed from the same generator state are exactly rand·2 − 1 after z and the categories."""
    model = tiny_infogan(latent_prior=prior)
    n = 4096
    z, cat, cont = model.generator.draw_codes(n, prior, torch.Generator().manual_seed(3))
    replay = torch.Generator().manual_seed(3)
    z_again = torch.randn(n, model.latent_dim, generator=replay) if prior == "normal" else (
        torch.rand(n, model.latent_dim, generator=replay) * 2 - 1)
    cat_again = torch.randint(K, (n,), generator=replay)
    cont_again = torch.rand(n, J, generator=replay) * 2 - 1
    assert torch.equal(z, z_again) and torch.equal(cat, cat_again) and torch.equal(cont, cont_again)
    assert cont.min() >= -1 and cont.max() <= 1 and abs(cont.var().item() - 1 / 3) < 0.03
