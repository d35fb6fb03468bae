"""One sweep over every registered model: build tiny, sample, two fit steps, checkpoint round trip."""

from __future__ import annotations

import pytest
import torch

from gan_zoo import create_model, list_models
from gan_zoo.registry import get_model_spec
from helpers import random_loader, tiny_trainer


def test_registry_lists_the_core_models():
    assert {"vanilla_gan", "dcgan"} <= set(list_models())


def test_unknown_model_names_the_choices():
    with pytest.raises(Exception, match="choose one of"):
        create_model("no_such_gan")




@pytest.mark.parametrize("name", list_models())
def test_tiny_model_fits_samples_and_round_trips(name, tmp_path):
    spec = get_model_spec(name)
    model = create_model(name, tiny=True)
    shape = tuple(model.generator.image_shape)
    num_classes = getattr(model.generator, "num_classes", None) if spec.conditional else 10

    # no BatchNorm(C, 0.8): that positional 0.8 is eps, a bug copied through many GAN repos
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            assert m.eps <= 1e-3, f"{name}: {m} has eps={m.eps}"

    labels = model.grid_labels(4)
    before = model.sample(4, labels=labels, seed=0)
    assert before.shape == (4, *shape) and before.isfinite().all()

    trainer = tiny_trainer(tmp_path, max_steps=4)  # global_step counts D and G steps
    trainer.fit(model, random_loader(shape, n=64, batch_size=8, num_classes=num_classes or 10))
    assert int(model.d_updates) >= 1

    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    restored = type(model).load_from_checkpoint(path)  # weights_only=True by default for local files
    for key, value in model.state_dict().items():
        assert torch.equal(value, restored.state_dict()[key]), key
    labels = model.grid_labels(4)
    assert torch.equal(model.sample(4, labels=labels, seed=7), restored.sample(4, labels=labels, seed=7))
