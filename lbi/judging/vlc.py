"""VLC's checks as OSWorld's vlc metrics define them: `is_vlc_playing` (VLC's HTTP interface status says it plays
the expected file or URL; the `vlc_playing_info` getter reads it) and, on its `vlcrc` (the `vlc_config` getter),
`is_vlc_recordings_folder`, `check_qt_bgcone` and `check_global_key_play_pause`.

OSWorld reads `vlcrc` line by line: a setting is found in any line naming it, a commented default included, and
the last such line counts (the recordings folder: the first uncommented one)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from lbi.judging.errors import JudgingError
from lbi.judging.files import text_or_none
from lbi.judging.values import rule_value

PLAYING_BY = {"file_name": "filename", "url": "url"}  # the rule's type: the status's meta information it names


def is_vlc_playing(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if VLC's status (status.xml) is `playing` and its meta `filename` (rule type file_name) or `url` (type
    url) ends with the rule's value."""
    kind = rule_value(rules, "type")
    if kind not in PLAYING_BY:
        raise JudgingError(f"expected.rules.type: {kind!r} is not file_name or url")
    wanted = rule_value(rules, kind)
    text = text_or_none(result)
    if text is None:
        return 0.0
    try:
        status = etree.fromstring(text.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return 0.0
    if status.findtext("state") != "playing":
        return 0.0
    playing = status.findtext(f"information/category[@name='meta']/info[@name='{PLAYING_BY[kind]}']")
    return float(bool(playing) and str(playing).endswith(str(wanted)))


def _last_setting(result: str | None, key: str, default: str) -> str | None:
    """The value of the last line of vlcrc naming `key=` (commented or not), `default` when none does; None when
    there is no vlcrc."""
    text = text_or_none(result)
    if text is None:
        return None
    values = [line.split("=")[-1].strip() for line in text.split("\n") if f"{key}=" in line]
    return values[-1] if values else default


def is_vlc_recordings_folder(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if the first uncommented line naming input-record-path sets it to `rules["recording_file_path"]`."""
    wanted = rule_value(rules, "recording_file_path")
    text = text_or_none(result)
    lines = [] if text is None else [x for x in text.split("\n") if x.strip() and not x.startswith("#")]
    found = [x.split("=")[-1].strip() for x in lines if "input-record-path" in x]
    return float(bool(found) and found[0] == wanted)


def check_qt_bgcone(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if qt-bgcone (the cone behind the video, 1 by default) is `rules["expected_qt_bgcone"]`."""
    wanted = str(rule_value(rules, "expected_qt_bgcone"))
    value = _last_setting(result, "qt-bgcone", "1")
    return float(value is not None and value == wanted)


def check_global_key_play_pause(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if a global play/pause hot key is set ("1") or not ("0") as `rules["expected_global_key_play_pause"]`."""
    wanted = str(rule_value(rules, "expected_global_key_play_pause"))
    value = _last_setting(result, "global-key-play-pause", "")
    return float(value is not None and ("1" if value else "0") == wanted)
