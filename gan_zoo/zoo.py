"""The zoo's shipped generators: a registry inside the package, loadable by name, hash-pinned.

``gan_zoo/pretrained/registry.yaml`` lists every generator the package knows by name (``<model>-<dataset>``):
where its two files live, their sha256, how it was trained (command, seed, budget, hardware) and what it
scored (domain FID / IS / class coverage, class accuracy for conditional models) with the evaluation
protocol. Sources:

* ``package``: the folder ``gan_zoo/pretrained/<name>/`` shipped inside the wheel (small MNIST-size nets);
* ``hf://owner/repo/sub/folder[@revision]``: a folder of a Hugging Face Hub repository, fetched with
  ``huggingface_hub`` (optional: ``pip install gan-zoo[hub]``) into its cache, offline once cached;
* ``https://host/path/folder`` (or ``file://``): a plain URL folder, for larger weights (CIFAR-10, CelebA), cached
  under ``$GAN_ZOO_CACHE`` (default ``~/.cache/gan_zoo``) and read from there offline.

Whatever the source, the two files are checked against the sha256 recorded in the package's registry before
anything is built from them (``hub.load_pretrained_folder``), and the weights are read by safetensors:
nothing is unpickled, and the config may only name gan_zoo classes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gan_zoo.errors import GanZooError

__all__ = [
    "PretrainedEntry",
    "REGISTRY_PATH",
    "load_registry",
    "list_pretrained",
    "get_pretrained",
    "not_shipped",
    "fetch_source",
    "format_pretrained_table",
    "markdown_table",
]

PRETRAINED_DIR = Path(__file__).parent / "pretrained"
REGISTRY_PATH = PRETRAINED_DIR / "registry.yaml"
CONFIG_NAME = "config.yaml"
WEIGHTS_NAME = "generator.safetensors"


@dataclass(frozen=True)
class PretrainedEntry:
    """One shipped generator, as the registry records it.

    Attributes:
        name: ``<model>-<dataset>``, e.g. ``"dcgan-mnist"``.
        model: the registry name of the model it was trained with (``"dcgan"``).
        dataset: the training data (``"mnist"``).
        resolution: the sample shape (C, H, W).
        conditional: whether the generator was trained on class labels (cGAN), so that ``sample``'s labels
            are classes. InfoGAN's are not (false), though its ``sample`` takes labels too: the value of its
            categorical code, which its training matched to digits only up to a permutation (``code_accuracy``).
        source: ``"package"``, ``"hf://owner/repo/folder[@rev]"`` or an ``https://`` / ``file://`` folder URL.
        weights_sha256 / config_sha256: the digests the two files must have.
        size_bytes: size of ``generator.safetensors``.
        weights: what the file holds (``"ema"`` or ``"raw"`` generator, and the dtype).
        training: ``command``, ``seed``, ``budget``, ``hardware``, ``wall_minutes``.
        metrics: name -> {value, std?}; ``evaluation`` is the protocol they were measured with.
        ci_check: a small-sample recomputation (``num_samples``, ``num_real``, ``seed``, metric -> value,
            ``tolerance``) that the test suite repeats.
        reference_samples: statistics of ``sample(n, seed)`` computed from the training checkpoint at export.
    """

    name: str
    model: str
    dataset: str
    resolution: tuple[int, ...]
    conditional: bool
    source: str
    weights_sha256: str
    config_sha256: str
    size_bytes: int
    weights: str
    training: dict[str, Any]
    metrics: dict[str, Any]
    evaluation: dict[str, Any]
    ci_check: dict[str, Any] = field(default_factory=dict)
    reference_samples: dict[str, Any] = field(default_factory=dict)
    notes: str = ""

    def folder(self) -> Path | None:
        """The packaged folder (``source: package``), else None."""
        return PRETRAINED_DIR / self.name if self.source == "package" else None

    def metric_summary(self) -> str:
        """``"FID 3.2, IS 9.1, cov 1.00, acc 98.1 %"`` for tables."""
        parts = []
        labels = {"domain_fid": "FID {:.2f}", "domain_is": "IS {:.2f}", "class_coverage": "coverage {:.2f}",
                  "class_accuracy": "class acc {:.1%}"}
        for key, fmt in labels.items():
            if key in self.metrics:
                parts.append(fmt.format(self.metrics[key]["value"]))
        return ", ".join(parts)


_ENTRY_KEYS = {f for f in PretrainedEntry.__dataclass_fields__ if f != "name"}
_REQUIRED_KEYS = {"model", "dataset", "resolution", "conditional", "source", "weights_sha256", "config_sha256",
                  "size_bytes", "weights", "training", "metrics", "evaluation"}


def load_registry(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The raw registry: ``{"generators": {name: {...}}, "not_shipped": {name: reason}}``."""
    path = Path(path) if path is not None else REGISTRY_PATH
    if not path.is_file():
        raise GanZooError(f"the pretrained registry {path} is missing; reinstall gan-zoo")
    data = yaml.safe_load(path.read_text()) or {}
    data.setdefault("generators", {})
    data.setdefault("not_shipped", {})
    return data


def _entry(name: str, raw: dict[str, Any]) -> PretrainedEntry:
    unknown = set(raw) - _ENTRY_KEYS
    missing = _REQUIRED_KEYS - set(raw)
    if unknown or missing:
        raise GanZooError(f"registry entry {name!r} has unknown keys {sorted(unknown)} / lacks {sorted(missing)}")
    values = dict(raw)
    values["resolution"] = tuple(values["resolution"])
    return PretrainedEntry(name=name, **values)


def list_pretrained(registry: str | os.PathLike | None = None) -> list[PretrainedEntry]:
    """Every generator the registry lists, sorted by name (``gan_zoo.list_pretrained()``)."""
    generators = load_registry(registry)["generators"]
    return [_entry(name, generators[name]) for name in sorted(generators)]


def not_shipped(registry: str | os.PathLike | None = None) -> dict[str, str]:
    """Names the zoo plans but does not ship yet, with the reason."""
    return dict(load_registry(registry)["not_shipped"])


def get_pretrained(name: str, registry: str | os.PathLike | None = None) -> PretrainedEntry:
    """The registry entry called ``name``; an unknown name is a ``GanZooError`` listing the known ones."""
    data = load_registry(registry)
    if name in data["generators"]:
        return _entry(name, data["generators"][name])
    if name in data["not_shipped"]:
        raise GanZooError(f"{name!r} is not shipped: {data['not_shipped'][name]}")
    raise GanZooError(
        f"unknown pretrained generator {name!r}; known names: {sorted(data['generators'])} "
        "(or pass a folder made by `gan-zoo export`, or hf://owner/repo/folder)"
    )


def is_registry_name(source: str, registry: str | os.PathLike | None = None) -> bool:
    data = load_registry(registry)
    return source in data["generators"] or source in data["not_shipped"]


# --- fetching remote folders --------------------------------------------------------------------------------


def parse_hf_source(source: str) -> tuple[str, str | None, str | None]:
    """``hf://owner/repo[/sub/folder][@revision]`` -> (repo_id, subfolder or None, revision or None)."""
    rest = source[len("hf://"):]
    rest, _, revision = rest.partition("@")
    parts = [p for p in rest.split("/") if p]
    if len(parts) < 2:
        raise GanZooError(f"{source!r} is not a Hub source; write hf://owner/repo/folder[@revision]")
    return "/".join(parts[:2]), "/".join(parts[2:]) or None, revision or None


def _fetch_hf(source: str, cache_dir: str | os.PathLike | None, local_files_only: bool | None) -> Path:
    """Download (or find in the Hub cache) the folder's two files; return the snapshot folder holding them."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as err:
        raise GanZooError(
            f"loading {source} needs huggingface_hub: pip install 'gan-zoo[hub]' (or huggingface_hub)"
        ) from err
    try:  # huggingface_hub.errors exists from 0.24 on; older releases (the [hub] extra allows 0.20) keep it in utils
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:
        from huggingface_hub.utils import LocalEntryNotFoundError

    repo_id, subfolder, revision = parse_hf_source(source)
    kwargs: dict[str, Any] = {"subfolder": subfolder, "revision": revision, "library_name": "gan-zoo"}
    if cache_dir is not None:
        kwargs["cache_dir"] = str(cache_dir)
    if local_files_only is None:
        local_files_only = offline_default()
    if local_files_only:  # else huggingface_hub's own reading of $HF_HUB_OFFLINE (at its import) applies
        kwargs["local_files_only"] = True
    paths = []
    for filename in (CONFIG_NAME, WEIGHTS_NAME):
        try:
            paths.append(Path(hf_hub_download(repo_id, filename, **kwargs)))
        except LocalEntryNotFoundError as err:
            raise GanZooError(
                f"{source}: {filename} is neither in the Hub cache nor reachable (offline?); "
                "connect once to download it, or pass a local folder"
            ) from err
        except Exception as err:  # unknown repo, revision or file: the Hub's own error says which
            raise GanZooError(f"{source}: cannot fetch {filename} ({type(err).__name__}: {err})") from err
    if paths[0].parent != paths[1].parent:
        raise GanZooError(f"{source}: config and weights resolved to different snapshots; retry the download")
    return paths[0].parent


_TRUE = {"1", "true", "yes", "on"}


def offline_default() -> bool:
    """Whether downloads are off when the caller did not say: ``$HF_HUB_OFFLINE`` or ``$GAN_ZOO_OFFLINE`` set to
    1 / true / yes / on (huggingface_hub's spelling of true), for Hub and URL sources alike."""
    return any(os.environ.get(var, "").strip().lower() in _TRUE for var in ("HF_HUB_OFFLINE", "GAN_ZOO_OFFLINE"))


def _cache_root() -> Path:
    return Path(os.environ.get("GAN_ZOO_CACHE", Path.home() / ".cache" / "gan_zoo"))


def _fetch_url(source: str, expected: dict[str, str | None], cache_dir: str | os.PathLike | None,
               local_files_only: bool | None) -> Path:
    """Fetch ``<source>/config.yaml`` and ``<source>/generator.safetensors`` into the cache, by digest.

    The cache folder is named by the weights' sha256, so a cached copy is reused only if it is the pinned one;
    a download lands in a temporary file and is renamed only after its digest matched. A config without a
    pinned digest (``expected[config.yaml]`` None: the caller pinned only the weights) is kept only if it
    records the pinned weights' digest, which ``hub.load_pretrained_folder`` checks again.
    """
    from gan_zoo.provenance import sha256_file

    root = Path(cache_dir) if cache_dir is not None else _cache_root()
    folder = root / "pretrained" / expected[WEIGHTS_NAME][:16]
    if local_files_only is None:
        local_files_only = offline_default()
    for filename in (CONFIG_NAME, WEIGHTS_NAME):
        target = folder / filename
        if target.is_file() and _acceptable(target, filename, expected, sha256_file):
            continue
        if local_files_only:
            raise GanZooError(f"{source}/{filename} is not in the cache {folder} and downloads are off (offline)")
        url = source.rstrip("/") + "/" + urllib.parse.quote(filename)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.NamedTemporaryFile(dir=folder, prefix=f".{filename}.", suffix=".part", delete=False)
        try:  # whatever happens (a failed or refused download, Ctrl-C), the temporary file does not stay
            with tmp:
                try:
                    with urllib.request.urlopen(url, timeout=60) as response:
                        shutil.copyfileobj(response, tmp)
                except (OSError, ValueError) as err:  # ValueError: a URL urllib cannot parse
                    raise GanZooError(f"cannot download {url} ({err}); check the connection or the URL") from err
            if not _acceptable(Path(tmp.name), filename, expected, sha256_file):
                if expected.get(filename) is not None:
                    actual = sha256_file(tmp.name)
                    raise GanZooError(f"{url} has sha256 {actual}, but {expected[filename]} is pinned for it; not using it")
                raise GanZooError(
                    f"{url} does not record the pinned weights sha256 {expected[WEIGHTS_NAME]}; it describes other "
                    "weights: check weights_sha256 or the URL"
                )
            os.replace(tmp.name, target)
        finally:
            if os.path.exists(tmp.name):
                os.unlink(tmp.name)
    return folder


def _acceptable(path: Path, filename: str, expected: dict[str, str | None], sha256_file) -> bool:
    """Whether ``path`` may serve as ``filename``: its pinned digest, or (an unpinned config) records the weights'."""
    if expected.get(filename) is not None:
        return sha256_file(path) == expected[filename]
    try:
        config = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError):
        return False
    return isinstance(config, dict) and config.get("weights_sha256") == expected[WEIGHTS_NAME]


def fetch_source(source: str, expected: dict[str, str] | None = None, *, cache_dir: str | os.PathLike | None = None,
                 local_files_only: bool | None = None) -> Path:
    """A local folder holding ``config.yaml`` + ``generator.safetensors`` for a remote ``source``.

    ``expected`` maps file name -> sha256 (required for plain URLs: they are fetched by digest; the weights'
    digest at least, the config's may be None).
    """
    if source.startswith("hf://"):
        return _fetch_hf(source, cache_dir, local_files_only)
    if urllib.parse.urlparse(source).scheme in ("http", "https", "file"):
        if not expected or not expected.get(WEIGHTS_NAME):
            raise GanZooError(
                f"{source}: a URL source is fetched by digest and needs the sha256 of its {WEIGHTS_NAME} "
                "(list it in the registry, or pass weights_sha256 to gan_zoo.load_pretrained)"
            )
        return _fetch_url(source, expected, cache_dir, local_files_only)
    raise GanZooError(f"unknown pretrained source {source!r}; use package, hf://owner/repo/folder or an https:// URL")


def format_pretrained_table(entries: list[PretrainedEntry], skipped: dict[str, str] | None = None) -> str:
    """A plain-text table of ``list_pretrained()`` (``gan-zoo pretrained``)."""
    rows = [("name", "dataset", "shape", "weights", "MB", "metrics", "source")]
    for e in entries:
        rows.append((e.name, e.dataset, "x".join(map(str, e.resolution)), e.weights, f"{e.size_bytes / 1e6:.1f}",
                     e.metric_summary(), e.source))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for name, reason in (skipped or {}).items():
        lines.append(f"not shipped: {name}: {reason}")
    return "\n".join(lines)


def markdown_table(entries: list[PretrainedEntry], skipped: dict[str, str] | None = None) -> str:
    """The README's table of shipped generators, generated from the registry (tests/test_pretrained.py checks
    that the README holds exactly this text)."""
    lines = [
        "| name | weights | MB | domain FID ↓ | domain IS ↑ | class coverage | class / code accuracy | G updates | wall minutes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        m = e.metrics
        accuracy = m.get("class_accuracy") or m.get("code_accuracy")
        accuracy_text = "—" if accuracy is None else f"{accuracy['value']:.1%}"
        is_std = m["domain_is"].get("std")
        is_text = f"{m['domain_is']['value']:.2f}" + ("" if is_std is None else f" ± {is_std:.2f}")
        lines.append(
            f"| `{e.name}` | {e.weights} | {e.size_bytes / 1e6:.1f} | {m['domain_fid']['value']:.2f} "
            f"| {is_text} | {m['class_coverage']['value']:.2f} | {accuracy_text} "
            f"| {e.training.get('g_updates', '?')} | {e.training.get('wall_minutes', '?'):.0f} |"
        )
    if skipped:
        lines.append("")
        lines += [f"* `{name}` is not shipped: {reason}." for name, reason in skipped.items()]
    return "\n".join(lines)


def model_table_cell(model: str, entries: list[PretrainedEntry]) -> str:
    """The README model table's "pretrained (domain FID)" cell for one registry model name."""
    names = [f"`{e.name}` ({e.metrics['domain_fid']['value']:.1f})" for e in entries if e.model == model]
    return ", ".join(names) if names else "—"
