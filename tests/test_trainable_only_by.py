"""``GANModule.trainable_only_by``: Lightning's ``toggled_optimizer`` with cached parameter lists (issue 11).

Checked against Lightning's own ``toggled_optimizer`` as the reference, for every registered model: inside the
block the same parameters require gradients, and afterwards every parameter's flag is what it was before
(a parameter the user froze stays frozen)."""

from __future__ import annotations

import pytest
import torch

from gan_zoo import create_model, list_models
from helpers import random_loader, tiny_trainer


def fitted(name, tmp_path):
    model = create_model(name, tiny=True)
    trainer = tiny_trainer(tmp_path, max_steps=2)
    trainer.fit(model, random_loader(tuple(model.generator.image_shape), n=16, batch_size=4, num_classes=10))
    return model


def flags(model) -> dict[str, bool]:
    return {name: p.requires_grad for name, p in model.named_parameters()}


@pytest.mark.parametrize("name", list_models())
def test_same_parameters_trainable_as_lightnings_toggle(name, tmp_path):
    model = fitted(name, tmp_path)
    next(model.discriminator.parameters()).requires_grad_(False)  # frozen by the user: must stay frozen
    before = flags(model)
    for optimizer in model.optimizers():
        with model.toggled_optimizer(optimizer):
            reference = flags(model)
        assert flags(model) == before
        for _ in range(2):  # the second call uses the cached lists
            with model.trainable_only_by(optimizer):
                assert flags(model) == reference
            assert flags(model) == before


def test_the_other_net_gets_no_gradient_and_a_new_param_group_is_seen(tmp_path):
    model = fitted("dcgan", tmp_path)
    g_opt, d_opt = model.optimizers()
    with model.trainable_only_by(g_opt):  # G's update: D frozen
        assert not any(p.requires_grad for p in model.discriminator.parameters())
        assert all(p.requires_grad for p in model.generator.parameters())
    extra = torch.nn.Parameter(torch.zeros(3))
    g_opt.optimizer.add_param_group({"params": [extra]})  # a param group added after the lists were cached
    with model.trainable_only_by(d_opt):
        assert not extra.requires_grad
        assert not any(p.requires_grad for p in model.generator.parameters())
    assert extra.requires_grad


def test_plain_attribute_fast_path_still_registers_modules_and_buffers():
    model = create_model("dcgan", tiny=True)
    model.note = "a"
    model.note = "b"  # plain value over a plain attribute: the fast path
    assert model.__dict__["note"] == "b"
    model.note = torch.nn.Linear(2, 2)  # a module over a plain attribute: registered as a submodule
    assert "note" in model._modules and "note" not in model.__dict__
    model.d_updates = torch.tensor(7)  # a registered buffer replaced by a tensor stays a buffer
    assert int(model.state_dict()["d_updates"]) == 7
