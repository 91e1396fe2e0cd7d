"""VLC's checks as OSWorld's vlc metrics define them: `is_vlc_playing` (VLC's HTTP interface status says it plays
the expected file or URL; the `vlc_playing_info` getter reads it) and, on its `vlcrc` (the `vlc_config` getter),
`is_vlc_recordings_folder`, `check_qt_bgcone`, `check_qt_max_volume`, `check_qt_minimal_view`,
`check_qt_slider_colours`, `check_one_instance_when_started_from_file` and `check_global_key_play_pause`.

OSWorld reads `vlcrc` line by line: a setting is found in any line naming it, a commented default included, and
the last such line counts (the recordings folder: the first uncommented one)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from lbi.judging.errors import JudgingError
from lbi.judging.files import text_or_none
from lbi.judging.values import rule_value

SLIDER_COLOURS = "153;210;153;20;210;20;255;199;15;245;39;29"  # VLC's default volume slider colours
BLACKISH = 100  # every channel of a blackish colour is below this
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
    return _setting_is(result, "qt-bgcone", "1", rule_value(rules, "expected_qt_bgcone"))


def _setting_is(result: str | None, key: str, default: str, wanted: Any) -> float:
    value = _last_setting(result, key, default)
    return float(value is not None and value == str(wanted))


def check_qt_max_volume(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if qt-max-volume (125 by default) is `rules["expected_qt_max_volume"]`."""
    return _setting_is(result, "qt-max-volume", "125", rule_value(rules, "expected_qt_max_volume"))


def check_qt_minimal_view(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if qt-minimal-view (0 by default) is `rules["expected_qt_minimal_view"]`."""
    return _setting_is(result, "qt-minimal-view", "0", rule_value(rules, "expected_qt_minimal_view"))


def check_one_instance_when_started_from_file(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if one-instance-when-started-from-file (1 by default) is the rule's value."""
    wanted = rule_value(rules, "expected_one_instance_when_started_from_file")
    return _setting_is(result, "one-instance-when-started-from-file", "1", wanted)


def check_qt_slider_colours(result: str | None, rules: Mapping[str, Any]) -> float:
    """Rule type `match`: 1.0 if qt-slider-colours is `expected_qt_slider_colours`; type `blackish`: 1.0 if every
    colour it lists has each channel below 100."""
    kind = rule_value(rules, "type")
    if kind not in ("match", "blackish"):
        raise JudgingError(f"expected.rules.type: {kind!r} is not match or blackish")
    value = _last_setting(result, "qt-slider-colours", SLIDER_COLOURS)
    if value is None:
        return 0.0
    if kind == "match":
        return float(value == rule_value(rules, "expected_qt_slider_colours"))
    try:
        channels = [int(x) for x in value.split(";")]
    except ValueError:
        return 0.0
    return float(all(c < BLACKISH for c in channels[: len(channels) // 3 * 3]))


def check_global_key_play_pause(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if a global play/pause hot key is set ("1") or not ("0") as `rules["expected_global_key_play_pause"]`."""
    wanted = str(rule_value(rules, "expected_global_key_play_pause"))
    value = _last_setting(result, "global-key-play-pause", "")
    return float(value is not None and ("1" if value else "0") == wanted)
