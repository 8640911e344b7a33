"""Print the best trials' genotypes (DARTS repr and JSON), ready for `train` or `retrain`.

Each winner's line names its genotype id (equal cells, equal ids: snas.genotype.genotype_id);
a winner that looks unhealthy (collapsed, near-uniform α, a child at chance) gets one
warning line (harness.health; thresholds in the study's `health:` section), and with
--json a `health` list of what is wrong (empty when nothing is).

Only the winners' rows of the trials table are built (harness.analysis.top): ranking
10,000 trials needs their scores, not their genotypes parsed.

A multi-objective study (a list `objective:`) has no one winner: `best` prints its Pareto
front, every point with its objectives and genotype (harness.analysis.front), and --json
gives every point; --metric ranks its trials by one metric as for any study.

  snas-study best results/quickstart --top 3
  snas-study best results/quickstart --json > best.json
"""

from __future__ import annotations

import argparse
import json

from harness.analysis.results import StudyResults, load_results
from harness.analysis.top import Ranking
from harness.arguments import add_scoring_arguments
from harness.health import winner_problems, winner_warning
from snas.errors import UserInputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scoring_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the winners as one JSON document")


def run(args: argparse.Namespace) -> int:
    results = load_results(args.results)
    if results.study.multi_objective and args.metric is None:
        return _front(results, args)
    metric = results.study.metric if args.metric is None else args.metric
    results.study.check_ranking_metric(metric)
    winners = Ranking.of(results, metric, args.scope).winners(args.top)
    if not winners:
        raise UserInputError(f"no trial of {results.path} has reported {metric} yet")
    if args.json:
        for w in winners:
            w["health"] = winner_problems(results.study, w, results.data_of(w["trial_id"]))
        print(json.dumps({"metric": metric, "scope": args.scope, "trials": winners}, indent=2, default=str))
        return 0
    for note in results.notes:
        print(f"note: {note}")
    for w in winners:
        print(f"#{w['rank']} trial {w['trial_id']}: {metric} = {w['score']:.2f} ({args.scope} epoch), "
              f"genotype {w['genotype_id']}")
        _print_details(results, w)
    return 0


def _print_details(results: StudyResults, winner: dict) -> None:
    """Under a winner's (or front point's) line: its health warning, genotype and genotype JSON."""
    warning = winner_warning(results.study, winner, results.data_of(winner["trial_id"]))
    if warning:
        print(f"  {warning}")
    print(f"  {winner['genotype']}")
    if winner["genotype_json"] is not None:
        print(f"  {json.dumps(winner['genotype_json'])}")


def _front(results: StudyResults, args: argparse.Namespace) -> int:
    """The Pareto front of a multi-objective study, best first by its first objective (from
    the trials table: the front's analysis needs pandas, which a single objective's winners
    do without)."""
    from harness.analysis.front import constraint_text, empty_front_note, front_document, front_of, front_points
    from harness.analysis.tables import trials_table

    study = results.study
    table = trials_table(results, scope=args.scope)
    front = front_of(table, study)
    note = empty_front_note(front, study)
    if note:
        raise UserInputError(f"{results.path}: {note}")
    points = front_points(table, results)
    if args.json:
        for point in points:
            point["health"] = winner_problems(study, point, results.data_of(point["trial_id"]))
        print(json.dumps({**front_document(table, study), "scope": args.scope, "front": points}, indent=2,
                         default=str))
        return 0
    for line in results.notes:
        print(f"note: {line}")
    constrained = f" meeting {constraint_text(study)}" if study.constraints else ""
    print(f"Pareto front: {len(points)} of {front.candidates} finished trials{constrained} ({args.scope} epoch); "
          f"hypervolume {front.hypervolume:.4g} against ({front.reference_text(study)})")
    for point in points:
        values = ", ".join(f"{metric} = {value:.3g}" for metric, value in point["objectives"].items())
        print(f"trial {point['trial_id']}: {values}, genotype {point['genotype_id']}")
        _print_details(results, point)
    return 0
