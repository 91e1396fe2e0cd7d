"""`compare_archive`: two archives (zip, tar, tar.gz, ...) unpacked into temporary folders must list the same
files (under `file_path`, when given), and each pair of files is compared by the check of their `file_type`; the
score is the mean. Archives whose members would land outside the folder, or which unpack to more than 512 MiB, are
refused (the result one scores 0)."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from typing import Any

from lbi.judging import documents, files, media, slides, spreadsheets
from lbi.judging.errors import JudgingError

UNPACKED_CAP = 512 * 1024 * 1024

COMPARE_BY_TYPE: dict[str, Callable[..., float]] = {
    "text": files.compare_text_file,
    "pdf": documents.compare_pdfs,
    "docx": documents.compare_docx_files,
    "ppt": slides.compare_pptx_files,
    "image": media.compare_images,
    "csv": spreadsheets.compare_csv,
    "table": spreadsheets.compare_table,
}


def _unpacked_size(path: str) -> int:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    with tarfile.open(path) as archive:
        return sum(member.size for member in archive.getmembers())


def _unpack(path: str, into: str) -> bool:
    """Unpack an archive; False when it is not one, is too large, or holds unsafe members."""
    try:
        if _unpacked_size(path) > UNPACKED_CAP:
            return False
        if zipfile.is_zipfile(path):
            shutil.unpack_archive(path, into, format="zip")
        else:
            with tarfile.open(path) as archive:
                archive.extractall(into, filter="data")
    except (OSError, tarfile.TarError, zipfile.BadZipFile, ValueError, shutil.ReadError):
        return False
    root = os.path.realpath(into)
    return all(os.path.realpath(os.path.join(d, n)).startswith(root) for d, _, ns in os.walk(into) for n in ns)


def compare_archive(
    result: str | None, expected: str, *, file_path: str = "", file_type: str = "text", **options: Any
) -> float:
    """The mean score of the archives' files compared pairwise (in name order) by the `file_type` check, given the
    remaining options; 0 when the two list different files."""
    compare = COMPARE_BY_TYPE.get(file_type)
    if compare is None:
        raise JudgingError(f"options.file_type: {file_type!r} is not one of {', '.join(COMPARE_BY_TYPE)}")
    if not result:
        return 0.0
    with tempfile.TemporaryDirectory(prefix="lbi-judge-") as work:
        mine, gold = os.path.join(work, "result"), os.path.join(work, "expected")
        if not _unpack(expected, gold):
            raise JudgingError(f"expected: {expected} is not an archive lbi unpacks")
        if not _unpack(result, mine):
            return 0.0
        try:
            names = sorted(os.listdir(os.path.join(mine, file_path)))
            gold_names = sorted(os.listdir(os.path.join(gold, file_path)))
        except OSError:
            return 0.0
        if names != gold_names or not names:
            return float(names == gold_names)
        scores = [compare(os.path.join(mine, file_path, n), os.path.join(gold, file_path, n), **options) for n in names]
    return sum(scores) / len(scores)
