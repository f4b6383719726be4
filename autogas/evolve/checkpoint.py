"""The search state, saved atomically after every generation and read back by ``--resume``.

Everything needed to continue a search exactly as if it had not stopped is in the state: the
settings, the benches and the fitness archs of each (validation split or constraint sample), the
random generator's state, every evaluated candidate with its fitness and per-bench figures
(evaluation order preserved), the current top-k and the per-generation history. A resumed search
therefore makes the same choices and the same evaluations as an uninterrupted one. Version 1
files (one bench, before per-bench figures) are read as a one-bench state.
"""
from __future__ import annotations

import dataclasses
import json
import os
import random
from pathlib import Path
from typing import Any

from autogas.atomic import write_text_atomic
from autogas.errors import AutogasError
from autogas.evolve.fitness import BenchPart, Fitness

FORMAT = "autogas-evolve-checkpoint"
VERSION = 2
READABLE_VERSIONS = (1, 2)


@dataclasses.dataclass
class SearchState:
    """Mutable state of one search (``generation`` = last completed one, -1 before the start)."""

    settings: dict[str, Any]
    benches: list[str]
    fit_archs: list[list[str]]  # per bench: its validation split or constraint sample
    rng_state: tuple
    generation: int = -1
    fitness: dict[str, Fitness] = dataclasses.field(default_factory=dict)
    elite: list[str] = dataclasses.field(default_factory=list)
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    @classmethod
    def start(cls, settings: dict[str, Any], benches: list[str], fit_archs: list[list[str]],
              seed: int) -> "SearchState":
        return cls(settings, list(benches), [list(a) for a in fit_archs],
                   random.Random(seed).getstate())

    def to_json(self) -> dict[str, Any]:
        version, internal, gauss = self.rng_state
        return {
            "format": FORMAT, "version": VERSION, "settings": self.settings,
            "benches": self.benches, "fit_archs": self.fit_archs, "generation": self.generation,
            "rng_state": [version, list(internal), gauss],
            "fitness": [[text, f.kendall, f.reason, [p.to_json() for p in f.parts]]
                        for text, f in self.fitness.items()],
            "elite": self.elite, "history": self.history, "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, obj: Any) -> "SearchState":
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise ValueError(f"not an {FORMAT} file")
        if obj.get("version") not in READABLE_VERSIONS:
            raise ValueError(f"version {obj.get('version')}, expected one of {READABLE_VERSIONS}")
        if obj["version"] == 1:
            benches, fit_archs = [str(obj["bench"])], [[str(a) for a in obj["val_archs"]]]
        else:
            benches = [str(b) for b in obj["benches"]]
            fit_archs = [[str(a) for a in archs] for archs in obj["fit_archs"]]
        version, internal, gauss = obj["rng_state"]
        return cls(
            settings=dict(obj["settings"]), benches=benches, fit_archs=fit_archs,
            rng_state=(int(version), tuple(int(x) for x in internal), gauss),
            generation=int(obj["generation"]),
            fitness={str(e[0]): Fitness(None if e[1] is None else float(e[1]), e[2],
                                        tuple(BenchPart.from_json(p) for p in
                                              (e[3] if len(e) > 3 else ())))
                     for e in obj["fitness"]},
            elite=[str(t) for t in obj["elite"]], history=list(obj["history"]),
            seconds=float(obj["seconds"]),
        )


def save_state(path: str | os.PathLike, state: SearchState) -> None:
    """Write ``state`` atomically (a crash leaves the previous checkpoint intact)."""
    write_text_atomic(path, json.dumps(state.to_json()) + "\n")


def load_state(path: str | os.PathLike) -> SearchState:
    """Read a checkpoint; AutogasError names the file if it is unreadable or damaged."""
    path = Path(path)
    try:
        return SearchState.from_json(json.loads(path.read_text()))
    except OSError as err:
        raise AutogasError(f"cannot read checkpoint {path}: {err.strerror or err}") from None
    except (ValueError, KeyError, TypeError) as err:
        raise AutogasError(f"checkpoint {path} is damaged or not an evolve checkpoint: "
                           f"{err}") from None
