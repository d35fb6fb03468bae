"""The progressive-growing schedule (Karras et al. 2018, Sec. 3 and Appendix A.1) as a pure function of the
number of real images shown to the discriminator — the one piece of training state it needs.

Timeline, with F = ``fade_in_images`` and S = ``stabilize_images`` (the paper: 800k each):

    stage 0 (4×4)        stabilize  [0, S)                                     α = 1
    stage s >= 1         fade_in    [S + (s−1)(F+S),  S + (s−1)(F+S) + F)     α = (n − start) / F, from 0 up to 1
                         stabilize  [S + (s−1)(F+S) + F,  S + s(F+S))         α = 1
    the final stage      stabilize  for ever after its fade-in (training ends by max_steps)

α is continuous: it rises linearly through a fade-in, equals exactly 1 from the first image of the
stabilisation phase on, and the next fade-in starts again at 0 with a new block (whose output at α = 0 is the
upsampled output of the stage before, so the *function* G computes is continuous too).

During a fade-in the batch size and learning rate are the new (higher) resolution's, as in the authors'
code. The paper's batch sizes (Appendix A.1): 16 for 4²–128², then 14, 6, 3 at 256², 512², 1024² — a
memory budget, not a quality choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["GrowthPoint", "GrowthSchedule", "PAPER_BATCH_SIZES"]

Phase = Literal["fade_in", "stabilize"]

PAPER_BATCH_SIZES: dict[int, int] = {4: 16, 8: 16, 16: 16, 32: 16, 64: 16, 128: 16, 256: 14, 512: 6, 1024: 3}


@dataclass(frozen=True)
class GrowthPoint:
    """Where training stands after ``images_shown`` real images.

    Attributes:
        stage: 0 for 4×4, s for 4·2^s pixels.
        alpha: fade-in weight of the newest block, in [0, 1].
        phase: "fade_in" or "stabilize".
        resolution: 4·2^stage.
        batch_size: real images per D step at this resolution.
        lr: Adam's learning rate at this resolution (None: leave the optimizers' own).
        phase_start: images shown when this phase began.
    """

    stage: int
    alpha: float
    phase: Phase
    resolution: int
    batch_size: int
    lr: float | None
    phase_start: int


@dataclass(frozen=True)
class GrowthSchedule:
    """(stage, α, phase, batch size, lr) as a function of real images shown.

    Args:
        num_stages: stages from 4×4 to the final resolution (32×32: 4; 1024×1024: 9).
        fade_in_images: F, images per fade-in phase.
        stabilize_images: S, images per stabilisation phase.
        batch_sizes: resolution → batch size; resolutions not listed use ``default_batch_size``.
        default_batch_size: batch size for unlisted resolutions.
        learning_rates: resolution → learning rate; unlisted resolutions leave the optimizers' lr.
    """

    num_stages: int
    fade_in_images: int = 800_000
    stabilize_images: int = 800_000
    batch_sizes: dict[int, int] = field(default_factory=dict)
    default_batch_size: int = 16
    learning_rates: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.num_stages < 1:
            raise ValueError(f"num_stages must be >= 1, got {self.num_stages}")
        if self.fade_in_images < 0 or self.stabilize_images < 0 or self.fade_in_images + self.stabilize_images == 0:
            raise ValueError(
                f"fade_in_images ({self.fade_in_images}) and stabilize_images ({self.stabilize_images}) must be "
                ">= 0 and not both 0; the paper uses 800000 each"
            )
        resolutions = {4 * 2**s for s in range(self.num_stages)}
        for name, table in (("batch_sizes", self.batch_sizes), ("learning_rates", self.learning_rates)):
            unknown = sorted(set(table) - resolutions)
            if unknown:
                raise ValueError(f"{name} names resolutions {unknown} outside this schedule's {sorted(resolutions)}")
        bad = {r: b for r, b in self.batch_sizes.items() if b < 1}
        if bad or self.default_batch_size < 1:
            raise ValueError(f"batch sizes must be >= 1, got {bad or self.default_batch_size}")

    @property
    def phase_images(self) -> int:
        """F + S: images from one stage's fade-in start to the next one's."""
        return self.fade_in_images + self.stabilize_images

    def stage_start(self, stage: int) -> int:
        """Images shown when ``stage`` begins (its fade-in; stage 0 starts at 0)."""
        return 0 if stage == 0 else self.stabilize_images + (stage - 1) * self.phase_images

    def batch_size_at(self, resolution: int) -> int:
        return self.batch_sizes.get(resolution, self.default_batch_size)

    @property
    def max_batch_size(self) -> int:
        return max(self.batch_size_at(4 * 2**s) for s in range(self.num_stages))

    def at(self, images_shown: int) -> GrowthPoint:
        """The schedule after ``images_shown`` real images (a python int: no device tensor, no sync)."""
        if images_shown < 0:
            raise ValueError(f"images_shown must be >= 0, got {images_shown}")
        if images_shown < self.stabilize_images or self.num_stages == 1:
            stage, phase, start, alpha = 0, "stabilize", 0, 1.0
        else:
            stage = min(1 + (images_shown - self.stabilize_images) // self.phase_images, self.num_stages - 1)
            start = self.stage_start(stage)
            into = images_shown - start  # images since this stage's fade-in began
            if into < self.fade_in_images:
                phase, alpha = "fade_in", into / self.fade_in_images  # in [0, 1)
            else:
                phase, alpha, start = "stabilize", 1.0, start + self.fade_in_images
        resolution = 4 * 2**stage
        return GrowthPoint(
            stage=stage,
            alpha=alpha,
            phase=phase,
            resolution=resolution,
            batch_size=self.batch_size_at(resolution),
            lr=self.learning_rates.get(resolution),
            phase_start=start,
        )

    def milestones(self) -> list[tuple[int, str]]:
        """(images shown, label) at the middle of every fade-in and the end of every stage but the last:
        where the paper's "quality does not drop at the transitions" is checked."""
        points: list[tuple[int, str]] = []
        for stage in range(self.num_stages - 1):
            resolution = 4 * 2**stage
            if stage > 0 and self.fade_in_images:
                points.append((self.stage_start(stage) + self.fade_in_images // 2, f"{resolution}x{resolution} mid-fade-in"))
            points.append((self.stage_start(stage + 1), f"{resolution}x{resolution} end"))
        last = 4 * 2 ** (self.num_stages - 1)
        if self.num_stages > 1 and self.fade_in_images:
            points.append((self.stage_start(self.num_stages - 1) + self.fade_in_images // 2, f"{last}x{last} mid-fade-in"))
        return points
