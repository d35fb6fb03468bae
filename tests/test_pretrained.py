"""The zoo's shipped generators and the machinery behind them (gan_zoo.zoo, gan_zoo.hub, gan_zoo.latent_paths,
`gan-zoo sample` / `gan-zoo pretrained`).

Part 1 uses tiny random models in temporary registries; part 2 checks every generator the package ships.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

import gan_zoo
from gan_zoo import create_model, load_pretrained, save_pretrained
from gan_zoo import zoo
from gan_zoo.callbacks.sample_grid import to_grid
from gan_zoo.cli import main
from gan_zoo.errors import GanZooError
from gan_zoo.hub import sha256_file
from gan_zoo.latent_paths import interpolation_inputs, slerp, traversal_inputs
from gan_zoo.sampling import sampling_inputs

EXPECTED_NAMES = ["vanilla_gan-mnist", "dcgan-mnist", "dcgan-fashion_mnist", "cgan-mnist", "cgan-fashion_mnist",
                  "infogan-mnist", "wgan-mnist", "wgan_gp-mnist", "began-mnist"]


# ---------------------------------------------------------------------------------------------- helpers
def lively(name: str, **overrides):
    """A tiny model whose samples differ visibly between seeds. At initialisation (N(0, 0.02) weights, batch
    norm's running statistics 0 and 1) the tiny DCGAN/InfoGAN generators emit near-constant images in eval
    mode (std ~1e-4), against which a wrong seed or a swapped row would go unnoticed."""
    model = create_model(name, tiny=True, **overrides)
    with torch.no_grad():
        for module in model.generator.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
                module.weight.normal_(0, 2 / math.sqrt(module.weight[0].numel()))
    return model


def entry_for(folder: Path, model_name: str, source: str = "package") -> dict:
    """A registry entry for an exported folder, with the digests of its files as they are now."""
    return {
        "model": model_name, "dataset": "tiny", "resolution": [1, 28, 28], "conditional": False, "source": source,
        "weights_sha256": sha256_file(folder / "generator.safetensors"),
        "config_sha256": sha256_file(folder / "config.yaml"),
        "size_bytes": (folder / "generator.safetensors").stat().st_size, "weights": "raw generator, float32",
        "training": {"command": "none (random init)"}, "metrics": {}, "evaluation": {},
    }


@pytest.fixture
def tiny_zoo(tmp_path, monkeypatch):
    """A registry in tmp_path shipping one tiny DCGAN as ``tiny-dcgan``; returns (model, folder, registry path)."""
    root = tmp_path / "pretrained"
    model = lively("dcgan")
    folder = save_pretrained(model, root / "tiny-dcgan")
    registry = root / "registry.yaml"
    registry.write_text(yaml.safe_dump({"generators": {"tiny-dcgan": entry_for(folder, "dcgan")},
                                        "not_shipped": {"began-tiny": "collapses in short runs"}}))
    monkeypatch.setattr(zoo, "PRETRAINED_DIR", root)
    monkeypatch.setattr(zoo, "REGISTRY_PATH", registry)
    return model, folder, registry


def read_png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path)).astype(np.int16)


def png_of(grid: torch.Tensor) -> np.ndarray:
    """What torchvision's save_image writes for a [0, 1] grid, as (H, W[, 3]) uint8 values."""
    array = grid.mul(255).add(0.5).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy().astype(np.int16)
    return array


# ------------------------------------------------------------------------------- part 1: the machinery
def test_a_name_loads_from_the_package_registry_with_the_checkpoints_samples(tiny_zoo):
    model, _, _ = tiny_zoo
    generator = load_pretrained("tiny-dcgan")
    assert generator.name == "tiny-dcgan"
    assert torch.equal(generator.sample(6, seed=3), model.sample(6, seed=3))
    assert [e.name for e in gan_zoo.list_pretrained()] == ["tiny-dcgan"]


def test_files_that_disagree_with_the_registry_are_refused(tiny_zoo):
    _, folder, _ = tiny_zoo
    # a consistent folder whose weights are not the registered ones: only the registry can tell
    other = save_pretrained(create_model("dcgan", tiny=True), folder.parent / "other")
    shutil.copy(other / "generator.safetensors", folder / "generator.safetensors")
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["weights_sha256"] = sha256_file(folder / "generator.safetensors")
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.raises(GanZooError, match="sha256"):
        load_pretrained("tiny-dcgan")
    assert load_pretrained(folder) is not None  # the same folder by path: only its own digest applies


def test_an_edited_config_is_refused_by_its_registered_digest(tiny_zoo):
    _, folder, _ = tiny_zoo
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["latent_prior"] = "uniform"  # same weights, different samples: must not pass silently
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.raises(GanZooError, match="config.yaml has sha256"):
        load_pretrained("tiny-dcgan")


def test_a_config_without_a_weights_digest_is_refused(tmp_path):
    folder = save_pretrained(create_model("dcgan", tiny=True), tmp_path / "p")
    config = yaml.safe_load((folder / "config.yaml").read_text())
    del config["weights_sha256"]
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(GanZooError, match="records no weights_sha256"):
        load_pretrained(folder)


def test_unknown_and_unshipped_names_say_what_exists(tiny_zoo):
    with pytest.raises(GanZooError, match=r"neither a pretrained name \(tiny-dcgan\)"):
        load_pretrained("dcgan-cifar99")
    with pytest.raises(GanZooError, match="not shipped: collapses in short runs"):
        load_pretrained("began-tiny")
    with pytest.raises(GanZooError, match="known names: \\['tiny-dcgan'\\]"):
        zoo.get_pretrained("nope")


def test_pinned_digest_must_match(tmp_path):
    folder = save_pretrained(create_model("dcgan", tiny=True), tmp_path / "p")
    assert load_pretrained(folder, weights_sha256=sha256_file(folder / "generator.safetensors")) is not None
    with pytest.raises(GanZooError, match="pinned"):
        load_pretrained(folder, weights_sha256="0" * 64)


def test_float16_export_halves_the_file_and_rounds_each_weight(tmp_path):
    model = create_model("dcgan", tiny=True, ema_decay=0.9)
    full = save_pretrained(model, tmp_path / "f32")
    half = save_pretrained(model, tmp_path / "f16", dtype="float16")
    size = lambda p: (p / "generator.safetensors").stat().st_size  # noqa: E731
    assert size(half) < 0.6 * size(full)
    assert yaml.safe_load((half / "config.yaml").read_text())["dtype"] == "float16"
    loaded = load_pretrained(half).generator.state_dict()
    for name, tensor in model.generator_ema.module.state_dict().items():
        expected = tensor.half().to(tensor.dtype) if tensor.is_floating_point() else tensor
        assert loaded[name].dtype == tensor.dtype and torch.equal(loaded[name], expected), name
    with pytest.raises(GanZooError, match="float32 or float16"):
        save_pretrained(model, tmp_path / "bf", dtype="bfloat16")


# --- Hugging Face Hub source, no network: a pre-populated cache, and a fake server of a hub-laid-out folder
def hub_cache(cache: Path, repo_id: str, revision_hash: str, files: dict[str, Path]) -> None:
    """Lay files out as huggingface_hub caches them: models--owner--repo/{refs/main, snapshots/<hash>/...}."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision_hash)
    for relative, source in files.items():
        target = repo / "snapshots" / revision_hash / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)


def test_hf_source_loads_offline_from_the_hub_cache(tmp_path):
    model = lively("cgan")
    folder = save_pretrained(model, tmp_path / "export")
    cache = tmp_path / "hf"
    hub_cache(cache, "someone/gan-zoo-weights", "a" * 40,
              {"cgan-tiny/config.yaml": folder / "config.yaml",
               "cgan-tiny/generator.safetensors": folder / "generator.safetensors"})
    generator = load_pretrained("hf://someone/gan-zoo-weights/cgan-tiny", cache_dir=cache, local_files_only=True)
    labels = torch.tensor([3, 1, 4, 1])
    assert torch.equal(generator.sample(4, labels=labels, seed=5), model.sample(4, labels=labels, seed=5))
    with pytest.raises(GanZooError, match="neither in the Hub cache nor reachable"):
        load_pretrained("hf://someone/gan-zoo-weights/missing", cache_dir=cache, local_files_only=True)


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    """huggingface_hub.hf_hub_download served from ``tmp_path/hub/<owner>/<repo>/<revision>/<path>``."""
    import huggingface_hub

    served = tmp_path / "hub"
    calls = []

    def hf_hub_download(repo_id, filename, *, subfolder=None, revision=None, cache_dir=None, **kwargs):
        calls.append((repo_id, subfolder, filename, revision))
        path = served / repo_id / (revision or "main") / (subfolder or "") / filename
        if not path.is_file():
            raise huggingface_hub.errors.EntryNotFoundError(f"404: {path}")
        return str(path)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    return served, calls


def test_hf_source_is_fetched_with_revision_and_checked(fake_hub, tmp_path):
    served, calls = fake_hub
    model = lively("dcgan")
    folder = save_pretrained(model, served / "me/zoo/v1/nets/dcgan")
    generator = load_pretrained("hf://me/zoo/nets/dcgan@v1")
    assert torch.equal(generator.sample(3, seed=0), model.sample(3, seed=0))
    assert calls == [("me/zoo", "nets/dcgan", "config.yaml", "v1"), ("me/zoo", "nets/dcgan", "generator.safetensors", "v1")]

    data = bytearray((folder / "generator.safetensors").read_bytes())
    data[-1] ^= 0xFF  # a corrupted download
    (folder / "generator.safetensors").write_bytes(bytes(data))
    with pytest.raises(GanZooError, match="sha256"):
        load_pretrained("hf://me/zoo/nets/dcgan@v1")
    with pytest.raises(GanZooError, match="cannot fetch"):
        load_pretrained("hf://me/zoo/nets/absent@v1")


def test_hf_config_naming_a_foreign_class_is_refused(fake_hub):
    served, _ = fake_hub
    folder = save_pretrained(create_model("dcgan", tiny=True), served / "me/zoo/main/evil")
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["generator"]["class_path"] = "subprocess.Popen"
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(GanZooError, match="only name gan_zoo classes"):
        load_pretrained("hf://me/zoo/evil")


def test_url_source_is_fetched_by_digest_and_cached_for_offline_use(tmp_path, monkeypatch):
    remote = save_pretrained(create_model("dcgan", tiny=True), tmp_path / "server" / "big-dcgan")
    root = tmp_path / "pretrained"
    root.mkdir()
    registry = root / "registry.yaml"
    registry.write_text(yaml.safe_dump({"generators": {"big-dcgan": entry_for(remote, "dcgan", remote.as_uri())}}))
    monkeypatch.setattr(zoo, "PRETRAINED_DIR", root)
    monkeypatch.setattr(zoo, "REGISTRY_PATH", registry)
    cache = tmp_path / "cache"
    with pytest.raises(GanZooError, match="not in the cache"):
        load_pretrained("big-dcgan", cache_dir=cache, local_files_only=True)
    first = load_pretrained("big-dcgan", cache_dir=cache)
    shutil.rmtree(remote)  # the server is gone: the cache answers
    again = load_pretrained("big-dcgan", cache_dir=cache, local_files_only=True)
    assert torch.equal(first.sample(2, seed=1), again.sample(2, seed=1))

    other = save_pretrained(create_model("dcgan", tiny=True), tmp_path / "server" / "big-dcgan")  # replaced upstream
    shutil.rmtree(cache)
    with pytest.raises(GanZooError, match="is pinned for it"):
        load_pretrained("big-dcgan", cache_dir=cache)
    assert not list((cache / "pretrained").rglob("generator.safetensors")), "a file with the wrong digest was kept"
    assert other.is_dir()


# --- latent paths
def test_slerp_keeps_the_norm_and_turns_by_t_omega():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 16, generator=g, dtype=torch.float64), torch.randn(5, 16, generator=g, dtype=torch.float64)
    b = b / b.norm(dim=1, keepdim=True) * a.norm(dim=1, keepdim=True)  # equal norms: the path is a great circle
    t = torch.linspace(0, 1, 7, dtype=torch.float64)
    path = slerp(a, b, t)  # (5, 7, 16)
    omega = torch.acos((a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)))
    angle_to_a = torch.acos(((path * a[:, None]).sum(-1) / (path.norm(dim=-1) * a.norm(dim=1)[:, None])).clamp(-1, 1))
    torch.testing.assert_close(path.norm(dim=-1), a.norm(dim=1)[:, None].expand(5, 7))
    torch.testing.assert_close(angle_to_a, omega[:, None] * t[None], atol=1e-6, rtol=0)
    torch.testing.assert_close(path[:, 0], a)
    torch.testing.assert_close(path[:, -1], b)
    same = slerp(a, a.clone(), t)  # ω = 0: no division by sin ω
    torch.testing.assert_close(same, a[:, None].expand(5, 7, 16))


@pytest.mark.parametrize("name", ["dcgan", "cgan", "infogan"])
def test_interpolation_strip_ends_at_the_samples_of_its_seed(name, tmp_path):
    model = lively(name)
    generator = load_pretrained(save_pretrained(model, tmp_path / name))
    rows, steps = 3, 5
    strip = generator.interpolate(rows, steps, seed=7)  # (R, S, C, H, W)
    assert strip.shape[:2] == (rows, steps)
    # endpoints: the samples sample(2R, seed) draws, each row's label held (balanced: row r has r mod K)
    k = generator.num_classes
    labels = None if k is None else torch.cat([torch.arange(rows) % k] * 2)
    ends = generator.sample(2 * rows, labels=labels, seed=7)
    torch.testing.assert_close(strip[:, 0], ends[:rows], atol=1e-5, rtol=0)
    torch.testing.assert_close(strip[:, -1], ends[rows:], atol=1e-5, rtol=0)
    inputs, path_labels = interpolation_inputs(generator.generator, rows, steps, generator.latent_prior, seed=7)
    if name == "dcgan":  # Gaussian z: the path stays near the shell, unlike the chord's midpoint
        z, _ = sampling_inputs(generator.generator, 2 * rows, "normal", seed=7)
        chord_mid = ((z[:rows] + z[rows:]) / 2).norm(dim=1)
        path_mid = inputs.view(rows, steps, -1)[:, steps // 2].norm(dim=1)
        assert (path_mid > chord_mid).all()
    else:
        assert torch.equal(path_labels, (torch.arange(rows) % k).repeat_interleave(steps))


def test_traversal_matches_the_paper_layout_and_the_model(tmp_path):
    model = lively("infogan")
    generator = load_pretrained(save_pretrained(model, tmp_path / "info"))
    values = torch.linspace(-2, 2, 4)
    images = generator.traverse(1, values, seed=3)  # (K, V, C, H, W)
    torch.testing.assert_close(images, model.traverse(1, values, seed=3), atol=1e-6, rtol=0)
    net = generator.generator
    z = torch.rand(1, net.latent_dim, generator=torch.Generator().manual_seed(3)) * 2 - 1  # uniform prior
    k, v = 2, 3
    c = torch.zeros(1, net.num_continuous)
    c[0, 1] = values[v]
    expected = generator.generate(net.make_latent(z, torch.tensor([k]), c))
    torch.testing.assert_close(images[k, v], expected[0], atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="no latent codes"):
        traversal_inputs(create_model("dcgan", tiny=True).generator, 0, values, "normal")


# --- command line, in-process
def test_sample_command_writes_the_protocols_grid(tiny_zoo, tmp_path, capsys):
    model, _, _ = tiny_zoo
    out = tmp_path / "grid.png"
    main(["sample", "--pretrained", "tiny-dcgan", "--num", "9", "--seed", "4", "--out", str(out)])
    expected = png_of(to_grid(model.sample(9, seed=4)))
    assert np.abs(read_png(out) - expected).max() <= 1


def test_sample_command_labels_interpolate_and_traverse(tmp_path, capsys):
    cgan = save_pretrained(lively("cgan"), tmp_path / "cgan")
    out = tmp_path / "sevens.png"
    main(["sample", "--pretrained", str(cgan), "--num", "4", "--labels", "7", "--out", str(out)])
    expected = load_pretrained(cgan).sample(4, labels=torch.full((4,), 7), seed=0)
    assert np.abs(read_png(out) - png_of(to_grid(expected))).max() <= 1

    strip = tmp_path / "strip.png"
    main(["sample", "--pretrained", str(cgan), "--interpolate", "--num", "2", "--steps", "6", "--labels", "3,5",
          "--seed", "1", "--out", str(strip)])
    images = load_pretrained(cgan).interpolate(2, 6, labels=torch.tensor([3, 5]), seed=1)
    assert np.abs(read_png(strip) - png_of(to_grid(images.flatten(0, 1), nrow=6))).max() <= 1

    info = save_pretrained(lively("infogan"), tmp_path / "info")
    main(["sample", "--pretrained", str(info), "--traverse", "--steps", "5", "--seed", "2",
          "--out", str(tmp_path / "trav.png")])
    generator = load_pretrained(info)
    for code in range(generator.generator.num_continuous):
        images = generator.traverse(code, torch.linspace(-2, 2, 5), seed=2)
        written = read_png(tmp_path / f"trav_c{code}.png")
        assert np.abs(written - png_of(to_grid(images.flatten(0, 1), nrow=5))).max() <= 1
    assert "trav_c1.png" in capsys.readouterr().out


def test_strips_from_a_checkpoint_with_an_ema_draw_from_the_ema_generator():
    """``gan-zoo sample --ckpt`` strips and traversals use the EMA generator when the checkpoint keeps one (as
    ``sample`` and an export do), not the raw generator."""
    from gan_zoo.commands import checkpoint_generator

    model = create_model("dcgan", tiny=True, ema_decay=0.9).eval()
    with torch.no_grad():
        for p in model.generator_ema.module.parameters():
            p.add_(0.05 * torch.randn_like(p))  # the EMA now differs from the generator
    assert not torch.equal(model.sample(4, seed=0, use_ema=True), model.sample(4, seed=0, use_ema=False))
    drawn = checkpoint_generator(model, "m.ckpt").sample(4, seed=0)
    torch.testing.assert_close(drawn, model.sample(4, seed=0, use_ema=True), atol=1e-6, rtol=0)


def test_sample_files_hold_the_samples_gan_zoo_evaluate_scores(tmp_path, capsys):
    """--out X.npz / FOLDER/: the samples of evaluate's protocol (batch i drawn from seed + i, balanced labels),
    8-bit as torchvision's save_image writes PNGs, the same in both formats, with the labels beside them."""
    from gan_zoo.metrics.driver import draw_samples

    cgan = save_pretrained(lively("cgan"), tmp_path / "cgan")
    generator = load_pretrained(cgan)
    main(["sample", "--pretrained", str(cgan), "--num", "13", "--batch-size", "5", "--seed", "2",
          "--out", str(tmp_path / "s.npz")])
    main(["sample", "--pretrained", str(cgan), "--num", "13", "--batch-size", "5", "--seed", "2",
          "--out", str(tmp_path / "pngs") + "/"])
    labels = torch.arange(13) % 10
    drawn = torch.cat([generator.sample(len(part), labels=part, seed=2 + i)
                       for i, part in enumerate(labels.split(5))])  # (13, 1, 28, 28)
    torch.testing.assert_close(drawn, torch.cat(draw_samples(generator, 13, 5, 2)[0]), atol=0, rtol=0)
    expected = np.floor((drawn.clamp(-1, 1).numpy() + 1) / 2 * 255 + 0.5).clip(0, 255).astype(np.uint8)
    expected = expected.transpose(0, 2, 3, 1)  # NHWC
    with np.load(tmp_path / "s.npz") as files:
        assert files["arr_0"].dtype == np.uint8 and np.array_equal(files["arr_0"], expected)
        assert np.array_equal(files["labels"], labels.numpy())
    folder = tmp_path / "pngs"
    assert sorted(p.name for p in folder.iterdir()) == [f"{i:06d}.png" for i in range(13)] + ["labels.txt"]
    for i in range(13):
        assert np.array_equal(np.asarray(Image.open(folder / f"{i:06d}.png")), expected[i, ..., 0])
    assert (folder / "labels.txt").read_text().split() == [str(int(y)) for y in labels]
    assert not list(tmp_path.glob(".*"))  # no temporary left
    umask = os.umask(0)
    os.umask(umask)
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask  # as any folder the user makes

    main(["sample", "--pretrained", str(cgan), "--num", "4", "--labels", "7", "--out", str(tmp_path / "sevens.npz")])
    with np.load(tmp_path / "sevens.npz") as files:
        assert np.array_equal(files["labels"], np.full(4, 7))
        sevens = generator.sample(4, labels=torch.full((4,), 7), seed=0)
        assert np.abs(files["arr_0"].astype(int) - expected_uint8(sevens)).max() == 0

    # --center-crop S (a generator trained on padded images): the central SxS of the same samples, 28 -> 20 from
    # row / column (28 - 20) // 2 = 4, in the files and in the grid
    main(["sample", "--pretrained", str(cgan), "--num", "13", "--batch-size", "5", "--seed", "2", "--center-crop", "20",
          "--out", str(tmp_path / "cropped.npz")])
    with np.load(tmp_path / "cropped.npz") as files:
        assert np.array_equal(files["arr_0"], expected[:, 4:24, 4:24])
    main(["sample", "--pretrained", str(cgan), "--num", "13", "--seed", "2", "--center-crop", "20", "--out", str(tmp_path / "g.png")])
    grid = to_grid(generator.sample(13, labels=labels, seed=2)[..., 4:24, 4:24], nrow=10)  # a row per 10 classes
    assert np.abs(read_png(tmp_path / "g.png") - png_of(grid)).max() <= 1


@pytest.mark.parametrize("crop", [[], ["--center-crop", "4"]], ids=["uncropped", "cropped"])
def test_sample_folder_holds_one_batch_at_a_time(tiny_zoo, tmp_path, monkeypatch, crop):
    """gan-zoo sample --out FOLDER/ writes each batch's PNGs before it draws the next, cropped or not (50,000
    CelebA-128 samples are 9.8 GB as float32; a crop must not gather them all first)."""
    from gan_zoo.metrics import driver

    drawn, drawn_at_save = [], []
    draw = driver.sample_batches

    def counted_draw(*args, **kwargs):
        batches, labels, note = draw(*args, **kwargs)

        def each():
            for batch in batches:
                drawn.append(len(batch))
                yield batch

        return each(), labels, note

    save = Image.Image.save

    def counted_save(image, path, *args, **kwargs):
        drawn_at_save.append(len(drawn))
        return save(image, path, *args, **kwargs)

    monkeypatch.setattr(driver, "sample_batches", counted_draw)
    monkeypatch.setattr(Image.Image, "save", counted_save)
    main(["sample", "--pretrained", "tiny-dcgan", "--num", "7", "--batch-size", "3", *crop,
          "--out", str(tmp_path / "f") + "/"])
    assert drawn == [3, 3, 1] and drawn_at_save == [1, 1, 1, 2, 2, 2, 3]
    assert len(list((tmp_path / "f").glob("*.png"))) == 7


def test_sample_files_of_2d_toy_points_are_float_points_in_npz_only(tmp_path, capsys):
    nets = {"generator": {"init_args": {"latent_dim": 2, "image_shape": [2], "hidden": [8], "output": "identity"}},
            "discriminator": {"init_args": {"image_shape": [2], "hidden": [8]}}}
    toy = save_pretrained(create_model("vanilla_gan", **nets), tmp_path / "toy")
    main(["sample", "--pretrained", str(toy), "--num", "7", "--batch-size", "3", "--out", str(tmp_path / "p.npz")])
    generator = load_pretrained(toy)
    expected = torch.cat([generator.sample(n, seed=i) for i, n in enumerate((3, 3, 1))])  # (7, 2), unquantized
    with np.load(tmp_path / "p.npz") as files:
        assert files["arr_0"].dtype == np.float32 and np.array_equal(files["arr_0"], expected.numpy())
        assert "labels" not in files
    with pytest.raises(SystemExit):
        main(["sample", "--pretrained", str(toy), "--num", "7", "--out", str(tmp_path / "pts") + "/"])
    assert "points, not images" in capsys.readouterr().err
    assert not (tmp_path / "pts").exists() and not list(tmp_path.glob(".pts*"))
    with pytest.raises(SystemExit):  # a crop of points is refused, not silently skipped
        main(["sample", "--pretrained", str(toy), "--num", "7", "--center-crop", "1", "--out", str(tmp_path / "c.npz")])
    assert "draws 2-D points, not images: drop --center-crop" in capsys.readouterr().err
    assert not (tmp_path / "c.npz").exists()


def test_evaluate_samples_scores_real_images_as_the_suite_does(data_dir, tmp_path, capsys):
    """`gan-zoo evaluate --samples`: 300 real MNIST test images, as a .npz and as a folder of PNGs, score what
    the metric suite gives on the same images loaded by the reference loader (the IS of real digits is high)."""
    from gan_zoo.evaluate import evaluate_main
    from gan_zoo.metrics.reference import load_split
    from gan_zoo.metrics.suite import MetricSuite

    real, _ = load_split("mnist", "test", data_dir, 300)  # (300, 1, 28, 28) in [-1, 1]
    pixels = np.rint((real.numpy() + 1) * 127.5).astype(np.uint8).transpose(0, 2, 3, 1)  # back to the file bytes
    np.savez(tmp_path / "real.npz", arr_0=pixels)
    (tmp_path / "real").mkdir()
    for i, image in enumerate(pixels):
        Image.fromarray(image[..., 0]).save(tmp_path / "real" / f"{i:04d}.png")
    options = ["--dataset", "mnist", "--metrics", "domain_fid", "domain_is", "class_coverage", "--num-samples", "300",
               "--num-real", "300", "--batch-size", "128", "--data-dir", str(data_dir)]
    from_npz = evaluate_main(["--samples", str(tmp_path / "real.npz"), *options])["results"]
    from_folder = evaluate_main(["--samples", str(tmp_path / "real"), *options])["results"]
    scores = lambda results: {k: (r["value"], r["std"]) for k, r in results.items()}  # noqa: E731
    assert scores(from_npz) == scores(from_folder)
    suite = MetricSuite(["domain_fid", "domain_is", "class_coverage"], domain="mnist", batch_size=128)
    reference, _ = load_split("mnist", "train", data_dir, 300)
    suite.set_reference(reference, "mnist:train[:300]", match_size=28)
    direct = suite.compute(iter(real.split(128)), seed=0)
    for name, result in direct.items():
        assert from_npz[name]["value"] == pytest.approx(result.value, rel=1e-6), name
    assert from_npz["domain_is"]["value"] > 7 and from_npz["class_coverage"]["value"] == 1.0  # 10 splits of 30
    assert (tmp_path / "real.npz.eval.json").is_file() and (tmp_path / "real.eval.json").is_file()


def test_evaluate_samples_of_a_generator_score_as_the_generator(tmp_path, data_dir, capsys):
    """A float .npz of exactly the driver's samples scores exactly what --pretrained scores; the 8-bit files
    `gan-zoo sample` writes score within the quantization's reach of it."""
    from gan_zoo.evaluate import evaluate_main
    from gan_zoo.metrics.driver import draw_samples

    folder = save_pretrained(lively("cgan"), tmp_path / "cgan")
    options = ["--dataset", "mnist", "--metrics", "domain_fid", "domain_is", "--num-samples", "60", "--num-real",
               "100", "--batch-size", "25", "--seed", "3", "--data-dir", str(data_dir)]
    generator_scores = evaluate_main(["--pretrained", str(folder), *options, "--out", str(tmp_path / "g.json")])
    batches, _ = draw_samples(load_pretrained(folder), 60, 25, 3)
    np.savez(tmp_path / "float.npz", arr_0=torch.cat(batches).numpy())
    float_scores = evaluate_main(["--samples", str(tmp_path / "float.npz"), *options])
    for name in ("domain_fid", "domain_is"):
        assert float_scores["results"][name]["value"] == generator_scores["results"][name]["value"], name
    main(["sample", "--pretrained", str(folder), "--num", "60", "--batch-size", "25", "--seed", "3",
          "--out", str(tmp_path / "bytes.npz")])
    byte_scores = evaluate_main(["--samples", str(tmp_path / "bytes.npz"), *options])
    assert byte_scores["results"]["domain_fid"]["value"] == pytest.approx(
        generator_scores["results"]["domain_fid"]["value"], rel=0.02)


@pytest.mark.parametrize("make, args, message", [
    (lambda d: np.savez(d / "few.npz", arr_0=np.zeros((5, 28, 28, 1), np.uint8)), ["--samples", "few.npz"],
     "holds 5 images, fewer than --num-samples 10"),
    (lambda d: np.savez(d / "other.npz", images=np.zeros((20, 28, 28, 1), np.uint8)), ["--samples", "other.npz"],
     "has no arr_0"),
    (lambda d: np.savez(d / "s.npz", arr_0=np.zeros((20, 28, 28, 1), np.uint8)), ["--samples", "s.npz", "--ema"],
     "drop them with --samples"),
    (lambda d: np.savez(d / "bad.npz", arr_0=np.zeros((20, 28, 28, 2), np.uint8)), ["--samples", "bad.npz"],
     "give (H, W, 1) or (H, W, 3)"),
    (lambda d: (d / "notes.txt").write_text("x"), ["--samples", "notes.txt"], "not a .npz file or a folder"),
    (lambda d: np.savez(d / "unit.npz", arr_0=np.full((20, 1, 28, 28), 0.5, np.float32)), ["--samples", "unit.npz"],
     None),  # in range: scored
    (lambda d: np.savez(d / "unit.npz", arr_0=np.linspace(0, 255, 20 * 784, dtype=np.float32).reshape(20, 1, 28, 28)),
     ["--samples", "unit.npz"], "float images must lie in [-1, 1], these span [0, "),
    (lambda d: np.savez(d / "nan.npz", arr_0=np.full((20, 1, 28, 28), np.nan, np.float32)), ["--samples", "nan.npz"],
     "NaN or infinite"),
    (lambda d: np.savez(d / "nhwc.npz", arr_0=np.zeros((20, 28, 28, 1), np.float32)), ["--samples", "nhwc.npz"],
     "give (N, C, H, W) images"),
    (lambda d: (d / "junk.npz").write_bytes(b"not a zip"), ["--samples", "junk.npz"], "cannot read it as a .npz"),
    (lambda d: np.savez(d / "empty.npz", arr_0=np.zeros((0, 28, 28, 1), np.uint8)), ["--samples", "empty.npz"],
     "holds no images"),
    (lambda d: np.savez(d / "small.npz", arr_0=np.zeros((20, 8, 8, 1), np.uint8)), ["--samples", "small.npz"],
     "smaller than mnist's 28x28"),
    (lambda d: np.savez(d / "colour.npz", arr_0=np.arange(20 * 784 * 3, dtype=np.uint8).reshape(20, 28, 28, 3)),
     ["--samples", "colour.npz"], "colour images, but mnist is grayscale"),
    (lambda d: np.savez(d / "nhw.npz", arr_0=np.zeros((20, 28, 28), np.uint8)), ["--samples", "nhw.npz"], None),
    (lambda d: _png_folder(d, lambda i: Image.fromarray(np.full((28, 28), i, np.uint8)), extra="!bad.png"),
     ["--samples", "pngs"], "cannot read it as an image"),
    (lambda d: _png_folder(d, lambda i: Image.fromarray(np.full((28, 28), 300 * i, np.uint16))), ["--samples", "pngs"],
     "save 8-bit images"),
    (lambda d: _png_folder(d, lambda i: Image.fromarray(np.full((28, 28), i, np.uint8)).convert("RGBA")),
     ["--samples", "pngs"], None),  # gray saved as RGBA: scored as one channel
])
def test_evaluate_samples_errors_are_one_line(tmp_path, monkeypatch, capsys, data_dir, make, args, message):
    """Each bad file is one line and exit 2, nothing written; the accepted variants (message None) score."""
    monkeypatch.chdir(tmp_path)
    make(tmp_path)
    command = ["evaluate", *args, "--dataset", "mnist", "--num-samples", "10", "--num-real", "20",
               "--metrics", "domain_fid", "class_coverage", "--data-dir", str(data_dir)]
    if message is None:
        main(command)
        assert len(list(tmp_path.glob("*.eval.json"))) == 1
        return
    with pytest.raises(SystemExit) as exit_info:
        main(command)
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and message in err and "\n" not in err, err
    assert not list(tmp_path.glob("*.eval.json"))


def _png_folder(root: Path, image_of, extra: str | None = None) -> None:
    """``root/pngs`` with 12 images ``image_of(i)`` and, if named, a file ``extra`` that is no image."""
    (root / "pngs").mkdir()
    for i in range(12):
        image_of(i).save(root / "pngs" / f"{i:03d}.png")
    if extra:
        (root / "pngs" / extra).write_bytes(b"not an image")


def test_evaluate_samples_reads_gray_kept_as_rgb_as_one_channel(tmp_path, data_dir, capsys):
    """Gray digits saved as RGB PNGs score exactly as the same digits saved as one-channel PNGs."""
    from gan_zoo.evaluate import evaluate_main
    from gan_zoo.metrics.reference import load_split

    real, _ = load_split("mnist", "test", data_dir, 40)
    pixels = np.rint((real.numpy()[:, 0] + 1) * 127.5).astype(np.uint8)  # (40, 28, 28)
    for name, mode in (("gray", "L"), ("rgb", "RGB")):
        (tmp_path / name).mkdir()
        for i, image in enumerate(pixels):
            Image.fromarray(image).convert(mode).save(tmp_path / name / f"{i:03d}.png")
    options = ["--dataset", "mnist", "--metrics", "domain_fid", "domain_is", "--num-samples", "40", "--num-real", "40",
               "--is-splits", "4", "--data-dir", str(data_dir)]
    gray = evaluate_main(["--samples", str(tmp_path / "gray"), *options])["results"]
    rgb = evaluate_main(["--samples", str(tmp_path / "rgb"), *options])["results"]
    assert {k: r["value"] for k, r in gray.items()} == {k: r["value"] for k, r in rgb.items()}


def expected_uint8(samples: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (N, H, W, C) as save_image quantizes, as ints."""
    unit = (samples.clamp(-1, 1).numpy() + 1) / 2
    return np.floor(unit * 255 + 0.5).clip(0, 255).astype(int).transpose(0, 2, 3, 1)


def test_sample_files_overwrite_nothing_and_leave_nothing_when_stopped(tiny_zoo, tmp_path, capsys, monkeypatch):
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "mine.txt").write_text("mine")
    (tmp_path / "old.npz").write_bytes(b"old")
    refusals = [
        (["--out", str(kept) + "/"], "is not an empty folder"),
        (["--out", str(tmp_path / "old.npz")], "exists"),
        (["--interpolate", "--out", str(tmp_path / "strip.npz")], "draw one PNG"),
        (["--out", str(tmp_path / "samples.txt")], "a .npz file or a FOLDER/"),
        (["--batch-size", "0", "--out", str(tmp_path / "b.npz")], "--batch-size must be at least 1"),
        (["--steps", "5", "--out", str(tmp_path / "c.npz")], "drop them when writing sample files"),
        (["--out", "./"], "is the current folder"),
    ]
    for args, message in refusals:
        with pytest.raises(SystemExit) as exit_info:
            main(["sample", "--pretrained", "tiny-dcgan", *args])
        err = capsys.readouterr().err.strip()
        assert exit_info.value.code == 2 and message in err and "\n" not in err, (args, err)
    assert (kept / "mine.txt").read_text() == "mine" and sorted(p.name for p in kept.iterdir()) == ["mine.txt"]
    assert (tmp_path / "old.npz").read_bytes() == b"old"
    assert not (tmp_path / "strip.npz").exists() and not (tmp_path / "b.npz").exists()

    written = []

    def save_then_stop(image, path, *args, **kwargs):  # Ctrl-C after the third sample
        if len(written) == 3:
            raise KeyboardInterrupt
        written.append(path)
        Path(path).write_bytes(b"png")

    monkeypatch.setattr(Image.Image, "save", save_then_stop)
    with pytest.raises(SystemExit) as exit_info:
        main(["sample", "--pretrained", "tiny-dcgan", "--num", "8", "--out", str(tmp_path / "stopped") + "/"])
    assert exit_info.value.code == 130 and "interrupted" in capsys.readouterr().err
    assert len(written) == 3 and not (tmp_path / "stopped").exists() and not list(tmp_path.glob(".stopped*"))


@pytest.mark.parametrize("args, message", [
    (["--labels", "3"], "is unconditional: drop --labels"),
    (["--traverse"], "has no latent codes to traverse"),
    (["--interpolate", "--steps", "1"], "--steps must be at least 2"),
    (["--center-crop", "999"], "center crop 999 does not fit"),
])
def test_sample_command_errors_are_one_line(tiny_zoo, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["sample", "--pretrained", "tiny-dcgan", *args, "--out", str(tmp_path / "x.png")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gan-zoo: error:") and message in err and "\n" not in err


def test_pretrained_command_lists_the_registry(tiny_zoo, capsys):
    main(["pretrained"])
    out = capsys.readouterr().out
    assert "tiny-dcgan" in out and "not shipped: began-tiny: collapses in short runs" in out
    main(["pretrained", "tiny-dcgan"])
    assert "weights_sha256" in capsys.readouterr().out


# ---------------------------------------------------------------------- part 2: the shipped generators
SHIPPED = zoo.list_pretrained()


def test_the_zoo_ships_weights_and_accounts_for_every_planned_name():
    assert len(SHIPPED) >= 2, "the package ships no pretrained generators"
    unaccounted = set(EXPECTED_NAMES) - {e.name for e in SHIPPED} - set(zoo.not_shipped())
    assert not unaccounted, f"neither shipped nor listed as not shipped (with a reason): {unaccounted}"
    assert all(reason.strip() for reason in zoo.not_shipped().values())


@pytest.mark.parametrize("entry", SHIPPED, ids=[e.name for e in SHIPPED])
def test_shipped_generator_files_digests_and_record(entry):
    folder = entry.folder()
    assert folder is not None and folder.is_dir()
    assert sha256_file(folder / "generator.safetensors") == entry.weights_sha256
    assert sha256_file(folder / "config.yaml") == entry.config_sha256
    assert entry.size_bytes == (folder / "generator.safetensors").stat().st_size < 5_000_000  # "a few MB at most"
    model_name, _, dataset = entry.name.partition("-")
    assert (entry.model, entry.dataset) == (model_name, dataset) and model_name in gan_zoo.list_models()
    for key in ("command", "seed", "budget", "hardware", "g_updates"):
        assert entry.training.get(key) not in (None, ""), f"training.{key} missing"
    for metric in ("domain_fid", "domain_is", "class_coverage"):
        assert math.isfinite(entry.metrics[metric]["value"])
    assert "--num-samples 5000" in entry.evaluation["command"]


@pytest.mark.parametrize("entry", SHIPPED, ids=[e.name for e in SHIPPED])
def test_shipped_generator_reproduces_its_checkpoints_samples(entry):
    generator = load_pretrained(entry.name)
    ref = entry.reference_samples
    images = generator.sample(ref["num"], seed=ref["seed"]).double()
    assert tuple(images.shape[1:]) == entry.resolution
    assert (images.min() >= -1) and (images.max() <= 1)
    np.testing.assert_allclose(images.flatten(1).mean(1).numpy(), ref["per_sample_mean"], atol=ref["tolerance"])
    assert abs(float(images.std()) - ref["std"]) < ref["tolerance"]


@pytest.mark.parametrize("entry", SHIPPED, ids=[e.name for e in SHIPPED])
def test_shipped_generator_metrics_recomputed_within_tolerance(entry, data_dir, tmp_path, capsys):
    from gan_zoo.evaluate import evaluate_main

    check = entry.ci_check
    report = evaluate_main([
        "--pretrained", entry.name, "--dataset", entry.dataset, "--data-dir", str(data_dir),
        "--metrics", *check["metrics"], "--num-samples", str(check["num_samples"]),
        "--num-real", str(check["num_real"]), "--seed", str(check["seed"]), "--out", str(tmp_path / "r.json"),
    ])
    for metric, recorded in check["metrics"].items():
        value = report["results"][metric]["value"]
        assert value == pytest.approx(recorded, rel=check["relative_tolerance"], abs=1e-3), metric


def test_readme_tables_match_the_registry():
    from helpers import load_script

    module = load_script("update_readme_pretrained")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert module.render(readme) == readme, "README.md is stale: run python scripts/update_readme_pretrained.py"
    for entry in SHIPPED:  # the generated text really carries the registry's numbers
        assert f"`{entry.name}` ({entry.metrics['domain_fid']['value']:.1f})" in readme


def test_readme_pretrained_python_block_runs_as_written():
    """The README's Python example for the shipped generators, copied by users as it stands (it once used
    torch without importing it), gives the shapes its comments promise."""
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if 'load_pretrained("cgan-mnist")' in b)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)
    assert tuple(scope["images"].shape) == (10, 1, 28, 28)
    assert tuple(scope["strip"].shape) == (4, 10, 1, 28, 28)
