"""`talktrack eval sop`: the matcher's accuracy on hand-labelled calls, with bootstrap intervals."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from app.sop.emission import model_for
from app.sop.evaluation import (
    Estimate,
    EvalCall,
    SopEvalReport,
    load_eval_call,
    match_outcomes,
    sop_eval_report,
)
from app.sop.loader import SopValidationError, load_sop
from app.sop.schema import SopDefinition
from app.transcripts.turns import SENTENCE_S

eval_app = typer.Typer(help="Measure matching accuracy on labelled calls.", no_args_is_help=True)
console = Console(soft_wrap=True)  # ids and file names are never cut or folded
err = Console(stderr=True, soft_wrap=True)


@eval_app.callback()
def _group() -> None:
    """Measure matching accuracy on labelled calls."""  # keeps `sop` a named sub-command


class CachedEmbedder:
    """Wraps an embedder; vectors persist in `<dir>/eval-sop-<name>.npz` keyed by kind + text hash."""

    def __init__(self, model: Any, folder: Path) -> None:
        self._model = model
        self.name = str(getattr(model, "name", type(model).__name__))
        self.path = folder / f"eval-sop-{self.name.replace('/', '_')}.npz"
        self._vecs: dict[str, np.ndarray] = {}
        if self.path.exists():
            data = np.load(self.path)
            self._vecs = dict(zip(data["keys"].tolist(), data["vectors"]))

    @staticmethod
    def _key(kind: str, text: str) -> str:
        return hashlib.sha1(f"{kind}\0{text}".encode()).hexdigest()

    def embed(self, texts: Sequence[str], kind: str = "query") -> np.ndarray:
        """Cached vectors; only unseen texts reach the model."""
        keys = [self._key(kind, t) for t in texts]
        todo = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in self._vecs))
        if todo:
            for t, v in zip(todo, self._model.embed(todo, kind=kind)):
                self._vecs[self._key(kind, t)] = np.asarray(v, np.float32)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp.npz")
            names = list(self._vecs)
            np.savez(tmp, keys=np.array(names), vectors=np.stack([self._vecs[n] for n in names]))
            tmp.replace(self.path)
        return np.stack([self._vecs[k] for k in keys])


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(1)


def _read_sop(path: Path) -> SopDefinition:
    try:
        return load_sop(path.read_text(encoding="utf-8"), source=str(path))
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read SOP file {path}: {exc}")
    except SopValidationError as exc:
        _fail(
            f"invalid SOP file {path}; run `talktrack sop validate {path}`:\n"
            + "\n".join(map(str, exc.issues))
        )
    raise AssertionError("unreachable")


def _read_calls(folder: Path) -> list[EvalCall]:
    if not folder.is_dir():
        _fail(f"--labels {folder}: not a folder of labelled call JSON files")
    calls = []
    for path in sorted(folder.glob("*.json")):
        try:
            calls.append(load_eval_call(path))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            _fail(
                f"{path}: not a labelled call ({type(exc).__name__}: {exc}); see tests/data/sop_eval/README.md"
            )
    return calls


def _for_sop(calls: list[EvalCall], path: Path, sop: SopDefinition) -> list[EvalCall]:
    """Calls labelled against this SOP (by file name, or by the id the file name starts with)."""
    return [c for c in calls if c.sop == path.name or c.sop.split(".")[0] == sop.id]


@eval_app.command("sop")
def eval_sop(
    sop: Annotated[list[Path], typer.Option("--sop", help="SOP YAML file (repeat to pool SOPs)")],
    labels: Annotated[Path, typer.Option("--labels", help="folder of labelled call JSON files")],
    embedder: Annotated[
        str | None,
        typer.Option("--embedder", help="auto/e5, use, minilm, hashing, or a model path"),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table | json")] = "table",
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="keep utterance/example vectors here (e.g. var/cache)"),
    ] = None,
    labelled_scope: Annotated[
        bool,
        typer.Option(
            "--labelled-scope/--inferred-scope",
            help="process SOPs: count missed steps in the calls' labelled stages, as when a deal's stage is "
            "known in the pipeline; or (default, a call with no stage known) in the stages the matched "
            "path reached",
        ),
    ] = False,
    as_pipeline: Annotated[
        bool,
        typer.Option(
            "--as-pipeline",
            help="rebuild each call's utterances as the pipeline builds them from ASR words (a speaker's "
            f"words join until a long pause, or a sentence end once {SENTENCE_S:g} s long), match those, "
            "and score each labelled utterance by the one holding most of its words",
        ),
    ] = False,
    n_boot: Annotated[int, typer.Option("--n-boot", help="bootstrap resamples", min=0)] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="bootstrap seed")] = 0,
) -> None:
    """Per-step P/R/F1, macro-F1, off-SOP P/R and deviation detection P/R on labelled calls."""
    if fmt not in ("table", "json"):
        _fail(f"--format must be 'table' or 'json', not '{fmt}'")
    sops = [(p, _read_sop(p)) for p in sop]
    calls = _read_calls(labels)
    by_sop = [(p, d, _for_sop(calls, p, d)) for p, d in sops]
    for p, d, mine in by_sop:
        if not mine:
            present = sorted({c.sop for c in calls}) or ["none"]
            _fail(
                f"no call in {labels} is labelled against {p.name} ({d.id}); calls there use: {', '.join(present)}"
            )
        unlabelled = [c.id for c in mine if c.deviations is None]
        if unlabelled:
            _fail(f"calls without a `deviations` field: {', '.join(unlabelled)}")
    from app import ml  # the one door to models/, loaded only when evaluating

    models: dict[str, Any] = {}  # per embedder spec: each SOP matches with its language's (or --embedder)
    outcomes = []
    for _p, d, mine in by_sop:
        spec = embedder or ml.match_embedder_name(d.language)
        if spec not in models:
            try:
                models[spec] = ml.get_embedder(spec)
            except Exception as exc:  # noqa: BLE001 - any load failure becomes a message, not a traceback
                _fail(f"cannot load embedder '{spec}': {exc}")
            if cache_dir is not None:
                models[spec] = CachedEmbedder(models[spec], cache_dir)
        outcomes += match_outcomes(
            mine, d, models[spec], labelled_scope=labelled_scope,
            pipeline_sentence_s=SENTENCE_S if as_pipeline else None,
        )
    pooled = len(sops) > 1
    step_ids = [f"{d.id}/{s.id}" if pooled else s.id for _p, d in sops for _st, s in d.steps()]
    report = sop_eval_report(outcomes, step_ids, n_boot=n_boot, seed=seed)
    names = list(dict.fromkeys(str(getattr(m, "name", spec)) for spec, m in models.items()))
    if fmt == "json":
        doc = {"embedder": ", ".join(names), "labelled_scope": labelled_scope, "as_pipeline": as_pipeline,
               **report.to_dict()}
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        _print(report, names, labelled_scope, as_pipeline)


def _e(x: Estimate) -> str:
    return "n/a" if x.value is None else f"{x.value:.3f}"


def _ci(x: Estimate) -> str:
    return "" if x.value is None else f"[{x.low:.3f}, {x.high:.3f}]"


def _show(table: Table) -> None:
    """Print at the table's natural width (wider than the terminal if need be): ids stay whole."""
    natural = table.__rich_measure__(console, console.options.update_width(10_000)).maximum
    Console(width=max(console.width, natural), soft_wrap=True).print(table)


def _print(r: SopEvalReport, embedders: list[str], labelled_scope: bool, as_pipeline: bool) -> None:
    scope = "labelled stages given" if labelled_scope else "inferred from each matched path"
    segments = "rebuilt as the pipeline builds them" if as_pipeline else "as labelled"
    console.print(
        f"[bold]{', '.join(r.sop_ids)}[/]: {r.n_calls} calls, {r.n_utterances} utterances, "
        f"embedder {', '.join(embedders)}; 95% intervals from {r.n_boot} bootstrap resamples of calls; "
        f"call stages: {scope}; utterances: {segments}",
        highlight=False,
    )
    for name in embedders:
        model = model_for(name)
        if model is None:
            continue
        loso = ", ".join(
            f"{lang} {model.cv[f'hand_{lang}_macro_f1'][0]:.3f}" for lang in ("en", "zh") if f"hand_{lang}_macro_f1" in model.cv
        )
        console.print(
            f"learned emissions for {name} trained on {model.trained_on}: figures on the calls it was "
            f"trained on (tests/data/sop_eval, sop_train) are in-sample; on SOPs it never saw "
            f"(leave-one-SOP-out, hand-written calls) macro-F1 was {loso}",
            highlight=False,
        )
    summary = Table("metric", "value", "95% CI", "detail", title="Summary")
    summary.add_row(
        "macro-F1 (steps)",
        _e(r.macro_f1),
        _ci(r.macro_f1),
        "mean F1 over steps in gold or prediction",
    )
    summary.add_row(
        "accuracy", _e(r.accuracy), _ci(r.accuracy), "utterances labelled right, off-SOP included"
    )
    summary.add_row("off-SOP precision", _e(r.off_sop_precision), _ci(r.off_sop_precision), "")
    summary.add_row("off-SOP recall", _e(r.off_sop_recall), _ci(r.off_sop_recall), "")
    for label, d in (("missed-step", r.missed), ("out-of-order", r.out_of_order)):
        counts = f"tp {d.true_positives}, fp {d.false_positives}, fn {d.false_negatives}"
        summary.add_row(f"{label} precision", _e(d.precision), _ci(d.precision), counts)
        summary.add_row(f"{label} recall", _e(d.recall), _ci(d.recall), "")
    _show(summary)
    steps = Table(
        "step", "gold", "pred", "precision", "recall", "F1", "F1 95% CI", title="Per step"
    )
    for s in r.steps:
        steps.add_row(
            s.step_id,
            str(s.support),
            str(s.predicted),
            _e(s.precision),
            _e(s.recall),
            _e(s.f1),
            _ci(s.f1),
        )
    _show(steps)
    calls = Table(
        "call", "acc", "missed (labelled)", "missed (found)", "out of order (labelled)",
        "out of order (found)", title="Per call", show_lines=True,
    )  # fmt: skip
    for o in r.calls:
        acc = sum(g == p for g, p in zip(o.gold, o.pred)) / max(len(o.gold), 1)
        ids = lambda xs: "\n".join(xs) or "-"
        calls.add_row(
            o.call_id,
            f"{acc:.2f}",
            ids(o.gold_deviations.missed),
            ids(o.found_deviations.missed),
            ids(o.gold_deviations.out_of_order),
            ids(o.found_deviations.out_of_order),
        )
    _show(calls)
