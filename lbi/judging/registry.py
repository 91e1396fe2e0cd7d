"""The one registry of check functions: OSWorld's evaluator functions used by three or more of its tasks, some
used by fewer (GIMP's image edits, Writer's, VLC's and the system's checks), and Spider2-V's for its spreadsheet,
JupyterLab and dbt tasks, by name, with their family and options; `refusal` says why an evaluator cannot be judged,
`evaluate` judges one from the values its getters read.

An evaluator is OSWorld's: `func` (a name, or a list joined by `conj`, "and" by default, or "infeasible"), and per
function its `result` and `expected` (read by getters, apart from this library) and `options` (keyword arguments).
A function is called `run(result, expected, **options)`, or `run(result, **options)` when it has no expected input,
and scores 0..1. `and` stops at the first 0 and is otherwise the mean; `or` stops at the first 1 and is otherwise
the best. An infeasible task scores 1 only when the agent declared it infeasible, and any other task scores 0 then.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lbi.judging import (
    accessibility,
    archives,
    browser,
    dbt,
    document_contents,
    document_formatting,
    documents,
    files,
    image_edits,
    mail,
    media,
    notebooks,
    slides,
    spreadsheets,
    system,
    values,
    vlc,
)
from lbi.judging.errors import JudgingError

log = logging.getLogger(__name__)

INFEASIBLE = "infeasible"


@dataclass(frozen=True)
class CheckFunction:
    name: str
    family: str
    run: Callable[..., float]
    options: frozenset[str] | None  # keyword options it takes; None: any (its validate checks them)
    needs_expected: bool  # it compares with an expected input (its second parameter has no default)
    validate: Callable[[Mapping[str, Any]], None] | None = None  # deeper checks of its options


def _entry(
    family: str,
    run: Callable[..., float],
    options: frozenset[str] | None = None,
    validate: Callable[[Mapping[str, Any]], None] | None = None,
) -> CheckFunction:
    params = list(inspect.signature(run).parameters.values())
    if options is None and not any(p.kind is p.VAR_KEYWORD for p in params):
        options = frozenset(p.name for p in params if p.kind is p.KEYWORD_ONLY)
    second = params[1] if len(params) > 1 else None
    needs_expected = (
        second is not None and second.kind is second.POSITIONAL_OR_KEYWORD and second.default is second.empty
    )
    return CheckFunction(run.__name__, family, run, options, needs_expected, validate)


def _archive_options(options: Mapping[str, Any]) -> None:
    """compare_archive's options: file_path, file_type, and the options of the check of that file type."""
    file_type = options.get("file_type", "text")
    compare = archives.COMPARE_BY_TYPE.get(file_type)
    if compare is None:
        raise JudgingError(f"file_type: {file_type!r} is not one of {', '.join(archives.COMPARE_BY_TYPE)}")
    inner = {k: v for k, v in options.items() if k not in ("file_path", "file_type")}
    check = CHECKS[compare.__name__]
    unknown = sorted(set(inner) - check.options) if check.options is not None else []
    if unknown:
        raise JudgingError(f"{unknown[0]}: not an option of compare_archive nor of {check.name}")
    if check.validate is not None:
        check.validate(inner)


CHECKS: dict[str, CheckFunction] = {
    c.name: c
    for c in (
        _entry(
            "spreadsheets",
            spreadsheets.compare_table,
            validate=lambda options: spreadsheets.check_rules(options.get("rules")),
        ),
        _entry("spreadsheets", spreadsheets.compare_csv),
        _entry("documents", documents.compare_docx_files),
        _entry("documents", documents.compare_docx_tables),
        _entry("documents", documents.compare_pdfs),
        _entry("documents", document_formatting.compare_line_spacing),
        _entry("documents", document_formatting.check_tabstops),
        _entry("documents", document_formatting.compare_font_names),
        _entry("documents", document_formatting.has_page_numbers_in_footers),
        _entry("documents", document_formatting.is_first_line_centered),
        _entry("documents", document_formatting.compare_subscript_contains),
        _entry("documents", document_formatting.check_italic_font_size_14),
        _entry("documents", document_formatting.evaluate_colored_words_in_tables),
        _entry("documents", document_formatting.check_highlighted_words),
        _entry("documents", document_contents.contains_page_break),
        _entry("documents", document_contents.compare_insert_equation),
        _entry("documents", document_contents.compare_docx_lines),
        _entry("documents", document_contents.check_no_duplicates),
        _entry("documents", document_contents.find_default_font),
        _entry("slides", slides.compare_pptx_files, slides.OPTIONS),
        _entry("slides", slides.check_image_stretch_and_center),
        _entry("media", media.compare_images),
        _entry("media", media.check_structure_sim),
        _entry("media", image_edits.check_brightness_decrease_and_structure_sim),
        _entry("media", image_edits.check_saturation_increase_and_structure_sim),
        _entry("media", image_edits.check_contrast_increase_and_structure_sim),
        _entry("media", image_edits.check_file_exists_and_structure_sim),
        _entry("media", image_edits.check_palette_and_structure_sim),
        _entry("media", image_edits.check_image_mirror),
        _entry("media", image_edits.check_green_background),
        _entry("media", image_edits.check_triangle_position),
        _entry("media", image_edits.check_image_size),
        _entry("media", image_edits.check_textbox_on_leftside),
        _entry("media", image_edits.increase_saturation),
        _entry("media", image_edits.decrease_brightness),
        _entry("media", image_edits.check_structure_sim_resized),
        _entry("media", image_edits.check_sharper),
        _entry("media", image_edits.check_image_file_size),
        _entry("media", vlc.is_vlc_playing),
        _entry("media", vlc.is_vlc_recordings_folder),
        _entry("media", vlc.check_qt_bgcone),
        _entry("media", vlc.check_qt_max_volume),
        _entry("media", vlc.check_qt_minimal_view),
        _entry("media", vlc.check_qt_slider_colours),
        _entry("media", vlc.check_one_instance_when_started_from_file),
        _entry("media", vlc.check_global_key_play_pause),
        _entry("files", files.compare_text_file),
        _entry("files", files.compare_config),
        _entry("files", files.check_list),
        _entry("files", files.check_json),
        _entry("files", files.check_json_settings),
        _entry("files", files.check_config_status),
        _entry("files", archives.compare_archive, validate=_archive_options),
        _entry("mail", mail.check_thunderbird_prefs),
        _entry("notebooks", notebooks.compare_notebook_cells),
        _entry("notebooks", notebooks.compare_notebook_outputs),
        _entry("notebooks", notebooks.compare_ipynb_files),
        _entry("notebooks", notebooks.is_jupyter_cell_executed),
        _entry("notebooks", notebooks.are_jupyter_outputs_cleared),
        _entry("notebooks", notebooks.compare_jupyterlab_images),
        _entry("dbt", dbt.check_yaml_file),
        _entry("dbt", dbt.check_local_database, validate=dbt.check_options),
        _entry("browser", browser.is_expected_url_pattern_match),
        _entry("browser", browser.is_expected_tabs),
        _entry("browser", browser.is_expected_active_tab),
        _entry("browser", browser.is_expected_bookmarks),
        _entry("desktop", accessibility.check_accessibility_tree),
        _entry("desktop", system.check_moved_jpgs),
        _entry("desktop", system.run_sqlite3),
        _entry("desktop", system.is_utc_0),
        _entry("desktop", system.check_gnome_favorite_apps),
        _entry("files", system.check_csv),
        _entry("files", system.file_contains),
        _entry("files", system.diff_text_file),
        _entry("values", values.exact_match),
        _entry("values", values.match_in_list),
        _entry("values", values.is_in_list),
        _entry("values", values.literal_match),
        _entry("values", values.fuzzy_match),
        _entry("values", values.check_include_exclude),
        _entry("values", values.check_direct_json_object),
        _entry("values", values.is_extension_installed),
    )
}

# OSWorld functions that lbi does not judge, and why.
REFUSED = {
    "compare_audios": "compares MFCC features aligned by dynamic time warping (librosa, fastdtw): no light library "
    "does that here",
    "compare_videos": "compares decoded video frames (OpenCV): not a dependency of lbi",
    "compare_image_text": "reads text from an image by OCR (easyocr and its model weights): not available offline",
    "check_left_panel": "reads the position of Impress's split panes within their parent (cp:parentcoord), which "
    "lbi's accessibility tree does not give",
}


@dataclass(frozen=True)
class Inputs:
    """What the getters read for one function of an evaluator: the session's value and the expected one (None
    when the evaluator gives none; a getter that finds nothing in the session gives None as the result)."""

    result: Any
    expected: Any = None


def _listed(evaluator: Mapping[str, Any], key: str, count: int) -> list[Any]:
    value = evaluator.get(key)
    if isinstance(evaluator.get("func"), list):
        items = value if isinstance(value, list) else [value] * count
        if len(items) != count:
            raise JudgingError(f"evaluator.{key}: {len(items)} entries for {count} functions")
        return items
    return [value]


def functions(evaluator: Mapping[str, Any]) -> list[str]:
    func = evaluator.get("func")
    names = func if isinstance(func, list) else [func]
    if not names or not all(isinstance(n, str) and n for n in names):
        raise JudgingError("evaluator.func: a function name or a list of them")
    return [str(n) for n in names]


def check_evaluator(evaluator: Mapping[str, Any]) -> None:
    """Raise JudgingError naming the field of `evaluator` that lbi cannot judge."""
    names = functions(evaluator)
    if names == [INFEASIBLE]:
        return
    if evaluator.get("conj", "and") not in ("and", "or"):
        raise JudgingError(f"evaluator.conj: {evaluator.get('conj')!r} is not and / or")
    options = _listed(evaluator, "options", len(names))
    expected = _listed(evaluator, "expected", len(names))
    for i, name in enumerate(names):
        where = "evaluator.func" + (f"[{i}]" if len(names) > 1 else "")
        if name in REFUSED:
            raise JudgingError(f"{where}: {name} {REFUSED[name]}")
        check = CHECKS.get(name)
        if check is None:
            raise JudgingError(
                f"{where}: {name} is not among lbi's check functions (OSWorld's used by three or more tasks "
                "and some used by fewer, Spider2-V's spreadsheet, JupyterLab and dbt ones)"
            )
        opts = options[i] or {}
        if not isinstance(opts, Mapping):
            raise JudgingError(f"evaluator.options: an object of options for {name}")
        unknown = sorted(set(opts) - check.options) if check.options is not None else []
        if unknown:
            raise JudgingError(f"evaluator.options.{unknown[0]}: not an option of {name}")
        if check.validate is not None:
            try:
                check.validate(opts)
            except JudgingError as e:
                raise JudgingError(f"evaluator.options.{e}") from None
        if not expected[i] and check.needs_expected:
            raise JudgingError(f"evaluator.expected: {name} compares with an expected input, and there is none")


def refusal(evaluator: Mapping[str, Any]) -> tuple[str, str] | None:
    """Why lbi cannot judge `evaluator`, as (the field, the reason), or None when it can."""
    try:
        check_evaluator(evaluator)
    except JudgingError as e:
        field, _, why = str(e).partition(": ")
        return field, why
    return None


def evaluate(
    evaluator: Mapping[str, Any], inputs: Sequence[Inputs], *, agent_declared_infeasible: bool = False
) -> float:
    """The evaluator's score (0..1) from the inputs its getters read, one per function. A malformed evaluator
    raises JudgingError; a check that fails on what the session left scores 0 for that function."""
    check_evaluator(evaluator)
    names = functions(evaluator)
    if names == [INFEASIBLE]:
        return float(agent_declared_infeasible)
    if agent_declared_infeasible:
        return 0.0
    if len(inputs) != len(names):
        raise JudgingError(f"inputs: {len(inputs)} for {len(names)} functions")
    options = _listed(evaluator, "options", len(names))
    conj = evaluator.get("conj", "and")
    scores = []
    for name, given, opts in zip(names, inputs, options, strict=True):
        score = _run(CHECKS[name], given, opts or {})
        if conj == "and" and score == 0.0:
            return 0.0
        if conj == "or" and score == 1.0:
            return 1.0
        scores.append(score)
    return sum(scores) / len(scores) if conj == "and" else max(scores)


def _run(check: CheckFunction, given: Inputs, options: Mapping[str, Any]) -> float:
    args = (given.result,) if given.expected is None else (given.result, given.expected)
    try:
        score = float(check.run(*args, **options))
    except JudgingError:
        raise
    except Exception:  # what the agent left broke the check (a file of the wrong kind, a value of the wrong type)
        log.info("%s scored 0: the check failed on the session's result", check.name, exc_info=True)
        return 0.0
    return min(max(score, 0.0), 1.0)
