"""`evalcliff history add|list|show|pin|export|prune`: the local run history (SQLite)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

DB_ENV = "EVALCLIFF_DB"  # evalcliff.history.DB_ENV, kept here so the CLI starts without pandas

db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False),
    default=None,
    help="History database [default: $EVALCLIFF_DB, else $EVALCLIFF_CACHE/history.db, "
    "else .evalcliff/history.db].",
)


def db_path(db: str | None) -> Path:
    """The --db given, else the documented default."""
    from evalcliff.history import default_db_path

    return Path(db) if db else default_db_path()


@click.group("history")
def command() -> None:
    """Record runs in a local SQLite history and inspect it (what `drift` reads)."""


@command.command("add")
@click.argument("results", nargs=-1, required=True, type=click.Path(dir_okay=False))
@db_option
@click.option("--variant", default=None, help="Variant name [default: the run header's].")
@click.option("--at", "at", default=None, help="When the run happened, ISO-8601 "
              "[default: the header's finished_at, else now]; UTC when no zone is given.")
@click.option("--tag", "tags", multiple=True, help="KEY=VALUE, repeatable (e.g. engine=vllm-0.9).")
def add(
    results: tuple[str, ...], db: str | None, variant: str | None, at: str | None,
    tags: tuple[str, ...],
) -> None:  # fmt: skip
    """Record RESULTS files (.parquet with its header, or .jsonl rows with --variant).

    Prints one line per recorded run; the last line is the new run id alone.
    """
    from evalcliff.history import HistoryStore, parse_at, parse_tags
    from evalcliff.results import read_run

    when = parse_at(at) if at else None
    tag_map = parse_tags(tags)
    artifacts = [read_run(p) for p in results]  # every file is checked before any is added
    ids: list[int] = []
    with HistoryStore(db_path(db)) as store:
        for art in artifacts:
            run_id = store.add(art, variant=variant, at=when, tags=tag_map)
            ids.append(run_id)
            click.echo(f"recorded {art.path} as run {run_id} in {store.path}")
    click.echo(str(ids[-1]))


@command.command("list")
@db_option
@click.option("--variant", default=None, help="Only this variant's runs.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_runs(db: str | None, variant: str | None, as_json: bool) -> None:
    """Recorded runs, oldest first: id, variant, time, items, errors, fingerprint, tags."""
    from evalcliff.history import HistoryStore

    with HistoryStore(db_path(db), create=False) as store:
        for r in store.runs(variant):
            if as_json:
                fp = r.header.model.weights_fingerprint if r.header is not None else None
                click.echo(json.dumps({
                    "id": r.id, "variant": r.variant, "at": r.at, "n_items": r.n_items,
                    "n_errors": r.n_errors, "weights_fingerprint": fp, "tags": r.tags,
                    "pinned": r.pinned,
                }))  # fmt: skip
            else:
                click.echo(r.describe())


@command.command("show")
@click.argument("run_id", type=int)
@db_option
def show(run_id: int, db: str | None) -> None:
    """One run: its record, tags and header (JSON)."""
    from evalcliff.history import HistoryStore

    with HistoryStore(db_path(db), create=False) as store:
        r = store.get(run_id)
        df = store.results(run_id)
    per_slice = df[df["error"].isna()].groupby("slice", sort=False)["score"].agg(["size", "mean"])
    out = {
        "id": r.id, "variant": r.variant, "at": r.at, "added_at": r.added_at,
        "source": r.source, "pinned": r.pinned, "n_items": r.n_items, "n_errors": r.n_errors,
        "tags": r.tags,
        "slices": {str(k): {"n_valid": int(v["size"]), "mean": float(v["mean"])}
                   for k, v in per_slice.iterrows()},
        "header": r.header.model_dump(mode="json") if r.header is not None else None,
    }  # fmt: skip
    click.echo(json.dumps(out, indent=2))


@command.command("pin")
@click.argument("run_id", type=int)
@db_option
def pin(run_id: int, db: str | None) -> None:
    """Pin RUN_ID as its variant's baseline (what `drift --baseline VARIANT` uses)."""
    from evalcliff.history import HistoryStore

    with HistoryStore(db_path(db), create=False) as store:
        r = store.pin(run_id)
    click.echo(f"pinned run {r.id} as the baseline of {r.variant!r} ({r.at})")


@command.command("export")
@db_option
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Directory.")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet",
              show_default=True)
@click.option("--variant", default=None, help="Only this variant's runs.")
def export(db: str | None, out: str, fmt: str, variant: str | None) -> None:
    """Write OUT/runs.FMT (one row per run) and OUT/results.FMT (one row per item and run)."""
    from evalcliff.history import HistoryStore, export_history

    with HistoryStore(db_path(db), create=False) as store:
        paths = export_history(store, Path(out), "csv" if fmt == "csv" else "parquet", variant)
    for p in paths:
        click.echo(str(p))


@command.command("prune")
@db_option
@click.option("--keep-last", type=click.IntRange(min=1), default=None,
              help="Keep the newest N runs of each variant.")
@click.option("--before", default=None, help="Delete runs recorded before this ISO-8601 date.")
@click.option("--variant", default=None, help="Only this variant's runs.")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted, delete nothing.")
def prune(
    db: str | None, keep_last: int | None, before: str | None, variant: str | None,
    dry_run: bool,
) -> None:  # fmt: skip
    """Retention: delete old runs (both limits apply together when both are given). Pinned
    runs are never deleted."""
    from evalcliff.history import HistoryStore, parse_at

    when = parse_at(before, "--before") if before else None
    with HistoryStore(db_path(db), create=False) as store:
        gone = store.prune(keep_last=keep_last, before=when, variant=variant, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for r in gone:
        click.echo(f"{verb} run {r.id} ({r.variant}, {r.at})")
    click.echo(f"{verb} {len(gone)} run(s)")


def record_options(f: Any) -> Any:
    """--db and --tag for commands that record their finished runs (`run`, `report`)."""
    f = click.option(
        "--tag", "record_tags", multiple=True,
        help="KEY=VALUE tag for the runs recorded with --db, repeatable (e.g. engine=vllm-0.9).",
    )(f)  # fmt: skip
    return click.option(
        "--db", "record_db", type=click.Path(dir_okay=False), default=None, envvar=DB_ENV,
        help=f"Record the finished run(s) in this history database (also ${DB_ENV}); "
        "nothing is recorded when neither is given.",
    )(f)  # fmt: skip


@dataclass(frozen=True)
class Recorder:
    """Records finished runs in a history database (checked before any work)."""

    db: Path
    tags: dict[str, str]

    def record(self, paths: list[Path], err: bool = False) -> list[int]:
        from evalcliff.errors import EvalcliffError
        from evalcliff.history import HistoryStore
        from evalcliff.results import read_run

        ids: list[int] = []
        try:
            with HistoryStore(self.db) as store:
                for p in paths:
                    run_id = store.add(read_run(p), tags=self.tags)
                    ids.append(run_id)
                    click.echo(f"history: recorded {p} as run {run_id} in {self.db}", err=err)
        except EvalcliffError as exc:
            left = [str(p) for p in paths[len(ids) :]]
            raise EvalcliffError(
                f"{exc}; the run file(s) are written and kept: record them later with "
                f"`evalcliff history add {' '.join(left)} --db {self.db}`"
            ) from None
        return ids


def recorder(db: str | None, tags: tuple[str, ...]) -> Recorder | None:
    """A Recorder for --db/--tag (None without a db); EvalcliffError on bad tags or a db
    that cannot be opened, before any work."""
    from evalcliff.errors import EvalcliffError
    from evalcliff.history import HistoryStore, parse_tags

    parsed = parse_tags(tags)
    if not db:
        if tags:
            raise EvalcliffError(f"--tag needs --db (or ${DB_ENV}): the tags label recorded runs")
        return None
    # created, migrated and its schema checked now: a bad path or file fails before the run
    HistoryStore(db).close()
    return Recorder(Path(db), parsed)
