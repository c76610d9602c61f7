"""`evalcliff plan`: paired items per slice needed to decide non-inferiority."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any

import click

from evalcliff.errors import EvalcliffError

FORMULA = (
    "n_1 = ((z_{1-a/2} + z_power) * sqrt(f - d^2) / |d + m|)^2;"
    " items = ceil(n_1 * (1 + (cluster_size - 1) * icc))"
)


@click.command("plan")
@click.option(
    "--margin", type=float, required=True, help="Tolerated drop (fraction; 0.02 = 2 points)."
)
@click.option(
    "--flip-rate",
    type=float,
    required=True,
    help="Expected share of items whose correctness changes, both ways (fraction).",
)
@click.option(
    "--expected-delta",
    type=float,
    default=0.0,
    show_default=True,
    help="Expected cand - base mean (fraction; negative is worse).",
)
@click.option("--power", type=float, default=0.8, show_default=True, help="P(slice decided).")
@click.option(
    "--confidence", type=float, default=0.95, show_default=True, help="Two-sided CI level."
)
@click.option(
    "--cluster-size", type=int, default=1, show_default=True, help="Items per cluster (source)."
)
@click.option(
    "--icc",
    type=float,
    default=0.0,
    show_default=True,
    help="Intra-cluster correlation of the paired differences.",
)
@click.option(
    "--looks",
    type=click.IntRange(1, 20),
    default=None,
    help="Also plan a group-sequential design with this many equal looks"
    " (O'Brien-Fleming bounds; see README 'Sequential design').",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def command(
    margin: float,
    flip_rate: float,
    expected_delta: float,
    power: float,
    confidence: float,
    cluster_size: int,
    icc: float,
    looks: int | None,
    as_json: bool,
) -> None:
    """Paired items per slice to decide non-inferiority at MARGIN with the given power.

    Normal approximation for the mean of paired 0/1 differences, inflated by the design
    effect of clusters (see README "Statistics").
    """
    from evalcliff.stats.power import plan_items

    try:
        plan = plan_items(margin, flip_rate, expected_delta, power, confidence, cluster_size, icc)
    except ValueError as exc:
        raise EvalcliffError(f"plan: {exc}") from exc
    seq: dict[str, Any] | None = None
    z_bounds: list[float] = []
    if looks is not None:
        from evalcliff.stats.sequential import boundaries, sequential_plan

        sp = sequential_plan(margin, flip_rate, looks, expected_delta, power, confidence)
        per_look = -(-math.ceil(plan.items / sp.fixed_items * sp.max_items) // looks)
        z_bounds = [round(float(z), 4) for z in boundaries(looks, confidence)]
        seq = {
            "looks": looks,
            "max_items": per_look * looks,
            "items_per_look": per_look,
            "inflation": sp.inflation,
            "z_bounds": z_bounds,
        }
    if as_json:
        out = {**asdict(plan), "formula": FORMULA}
        if seq is not None:
            out["sequential"] = seq
        click.echo(json.dumps(out, indent=2))
        return
    d, m, f = plan.expected_delta, plan.margin, plan.flip_rate
    shape = "" if cluster_size == 1 else f" ({plan.clusters} clusters of {cluster_size} items)"
    click.echo(f"{plan.items} paired items per slice{shape}")
    click.echo(
        f"  to {'pass' if plan.decides == 'pass' else 'fail'} with probability {power:g}:"
        f" margin m={m:g}, expected delta d={d:g}, flip rate f={f:g}, confidence {confidence:g}"
    )
    click.echo(f"  {FORMULA}")
    click.echo(
        f"  n_1 = (({plan.z_confidence:.4f} + {plan.z_power:.4f}) * sqrt({plan.variance:.6g})"
        f" / {abs(d + m):.6g})^2 = {plan.n_independent:.2f}"
    )
    click.echo(
        f"  design effect = 1 + ({cluster_size} - 1) * {icc:g} = {plan.design_effect:.4g};"
        f" items = ceil({plan.n_independent:.2f} * {plan.design_effect:.4g}) = {plan.items}"
    )
    if seq is not None:
        bounds = ", ".join(f"{z:.3f}" for z in z_bounds)
        click.echo(
            f"sequential, {looks} looks: up to {seq['max_items']} items"
            f" ({seq['items_per_look']} per look, x{seq['inflation']:.3f});"
            f" stop at look k when |z_k| > {bounds}"
        )
