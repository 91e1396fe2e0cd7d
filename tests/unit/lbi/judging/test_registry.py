"""The registry: which functions lbi judges, why it refuses the others, and evaluators joined by conj."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lbi.judging.errors import JudgingError
from lbi.judging.registry import CHECKS, REFUSED, Inputs, evaluate, refusal

SAMPLES = Path(__file__).resolve().parents[5] / "shared" / "benchmarks" / "osworld-sample" / "examples"
SPIDER2V_SAMPLES = (
    Path(__file__).resolve().parents[5] / "shared" / "benchmarks" / "spider2v-sample" / "evaluation_examples"
)

# OSWorld's functions used by three or more tasks, as issue 38 lists them.
COMMON = [
    "compare_table",
    "compare_pptx_files",
    "compare_docx_files",
    "compare_docx_tables",
    "compare_pdfs",
    "compare_csv",
    "compare_text_file",
    "compare_images",
    "compare_archive",
    "compare_config",
    "check_include_exclude",
    "exact_match",
    "check_list",
    "check_json",
    "check_direct_json_object",
    "check_json_settings",
    "check_accessibility_tree",
    "check_structure_sim",
    "is_expected_url_pattern_match",
    "is_expected_tabs",
    "is_expected_active_tab",
    "is_expected_bookmarks",
    "is_extension_installed",
    "check_thunderbird_prefs",
    "check_config_status",
]

# Spider2-V's functions of its spreadsheet, JupyterLab and dbt tasks, as issue 39 lists them.
SPIDER2V = [
    "compare_table",
    "compare_csv",
    "compare_notebook_outputs",
    "compare_notebook_cells",
    "compare_ipynb_files",
    "are_jupyter_outputs_cleared",
    "is_jupyter_cell_executed",
    "compare_jupyterlab_images",
    "is_expected_url_pattern_match",
    "check_include_exclude",
    "check_local_database",
    "check_yaml_file",
]


def test_every_common_function_is_judged_or_refused_with_a_reason() -> None:
    assert [name for name in COMMON if name not in CHECKS] == []
    assert "compare_audios" in REFUSED
    assert {c.family for c in CHECKS.values()} <= {
        "spreadsheets",
        "documents",
        "slides",
        "browser",
        "mail",
        "media",
        "files",
        "values",
        "desktop",
        "notebooks",
        "dbt",
    }
    assert [name for name in SPIDER2V if name not in CHECKS] == []


RULE = {"type": "rule", "rules": {"expected": "true"}}


def test_one_function() -> None:
    evaluator = {"func": "exact_match", "result": {"type": "x"}, "expected": RULE}
    assert evaluate(evaluator, [Inputs("true", {"expected": "true"})]) == 1.0
    assert evaluate(evaluator, [Inputs("false", {"expected": "true"})]) == 0.0
    assert evaluate(evaluator, [Inputs("true", {"expected": "true"})], agent_declared_infeasible=True) == 0.0


def include(*phrases: str) -> Inputs:
    return Inputs("alpha beta", {"include": list(phrases)})


def test_conj_and_needs_every_function_and_or_any() -> None:
    both = {"func": ["check_include_exclude", "check_include_exclude"], "expected": [RULE, RULE]}
    assert evaluate(both, [include("alpha"), include("beta")]) == 1.0
    assert evaluate(both, [include("alpha"), include("gamma")]) == 0.0
    either = {**both, "conj": "or"}
    assert evaluate(either, [include("gamma"), include("beta")]) == 1.0
    assert evaluate(either, [include("gamma"), include("delta")]) == 0.0


def test_and_averages_partial_scores_and_or_takes_the_best() -> None:
    fuzzy = {"func": ["fuzzy_match", "fuzzy_match"], "expected": [RULE, RULE]}
    inputs = [Inputs("colour", {"expected": "color"}), Inputs("abc", {"expected": "abd"})]
    ratios = [evaluate({"func": "fuzzy_match", "expected": RULE}, [i]) for i in inputs]
    assert evaluate(fuzzy, inputs) == pytest.approx(sum(ratios) / 2)
    assert evaluate({**fuzzy, "conj": "or"}, inputs) == pytest.approx(max(ratios))


def test_infeasible_scores_only_a_declared_refusal() -> None:
    assert evaluate({"func": "infeasible"}, [], agent_declared_infeasible=True) == 1.0
    assert evaluate({"func": "infeasible"}, []) == 0.0


def test_options_reach_the_function(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Hello")
    (tmp_path / "b.txt").write_text("hello")
    evaluator = {"func": "compare_text_file", "expected": {"type": "cloud_file"}, "options": {"ignore_case": True}}
    assert evaluate(evaluator, [Inputs(str(tmp_path / "a.txt"), str(tmp_path / "b.txt"))]) == 1.0


def test_a_check_that_breaks_on_the_result_scores_zero() -> None:
    evaluator = {"func": "check_include_exclude", "expected": RULE}
    assert evaluate(evaluator, [Inputs(None, {"include": ["x"]})]) == 0.0
    assert evaluate({"func": "is_expected_tabs", "expected": RULE}, [Inputs(42, {"type": "url", "urls": []})]) == 0.0


@pytest.mark.parametrize(
    ("evaluator", "named"),
    [
        ({"func": "compare_audios", "expected": RULE}, "compare_audios"),
        ({"func": "is_vlc_fullscreen", "expected": RULE}, "is_vlc_fullscreen"),
        ({"func": ["exact_match", "compare_videos"], "expected": [RULE, RULE]}, "evaluator.func[1]"),
        ({"func": "exact_match", "expected": RULE, "conj": "xor"}, "evaluator.conj"),
        ({"func": "compare_text_file", "expected": RULE, "options": {"strict": True}}, "evaluator.options.strict"),
        ({"func": "compare_text_file"}, "evaluator.expected"),
        ({"func": ["exact_match", "exact_match"], "expected": [RULE]}, "evaluator.expected"),
        ({"func": "compare_table", "expected": RULE, "options": {"rules": [{"type": "magic"}]}}, "rules[0].type"),
        ({"func": "compare_pptx_files", "expected": RULE, "options": {"examine_magic": True}}, "examine_magic"),
        ({"func": []}, "evaluator.func"),
        ({"func": "compare_archive", "expected": RULE, "options": {"file_type": "movie"}}, "file_type"),
        ({"func": "compare_archive", "expected": RULE, "options": {"file_type": "csv", "loud": 1}}, "options.loud"),
        ({"func": "check_local_database", "expected": RULE, "options": {"db_type": "pg"}}, "options.db_type"),
        ({"func": "check_local_database", "expected": RULE, "options": {"check_type": ["x"]}}, "options.check_type"),
        ({"func": "is_jupyter_cell_executed", "expected": RULE, "options": {"strict": 1}}, "options.strict"),
    ],
)
def test_refusals_name_the_field(evaluator: dict[str, Any], named: str) -> None:
    why = refusal(evaluator)
    assert why is not None and named in ": ".join(why)
    assert why[0].startswith("evaluator.")
    with pytest.raises(JudgingError):
        evaluate(evaluator, [Inputs("x", {})])


def test_inputs_must_match_the_functions() -> None:
    with pytest.raises(JudgingError, match="inputs"):
        evaluate({"func": "exact_match", "expected": RULE}, [])


@pytest.mark.skipif(not SAMPLES.exists(), reason="the shared benchmark samples are not beside the checkout")
def test_published_samples_are_judged_or_refused_by_name() -> None:
    judged, refused = [], []
    for path in sorted(SAMPLES.glob("*/*.json")):
        why = refusal(json.loads(path.read_text())["evaluator"])
        if why is None:
            judged.append(path.stem)
        else:
            refused.append(why)
    assert len(judged) >= 15
    assert all(field.startswith("evaluator.") and reason for field, reason in refused)


@pytest.mark.skipif(not SPIDER2V_SAMPLES.exists(), reason="the shared benchmark samples are not beside the checkout")
def test_published_spider2v_samples_of_the_three_families_are_judged() -> None:
    paths = sorted(SPIDER2V_SAMPLES.glob("examples/*/*/*.json"))
    assert paths
    assert [(p.stem, refusal(json.loads(p.read_text())["evaluator"])) for p in paths] == [(p.stem, None) for p in paths]
