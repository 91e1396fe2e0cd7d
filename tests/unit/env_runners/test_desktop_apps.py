"""Desktop applications as layers: named applications and profiles to packages (and Spider2-V's conda envs to pip
requirements), the layer a session uses when one built ahead of time holds its packages (a Spider2-V task's
included), a long build told by name instead of a client's deadline running out, and
first-start settings written into a home that lacks them."""

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from env_runners.desktop import first_start
from env_runners.desktop.apps import APPS, PIP_APPS, apps_for, packages_of, requirements_of, with_companions
from env_runners.desktop.environment import DesktopConfig, ahead_config, layer_asked
from env_runners.shell import layers
from env_runners.shell.rootfs import Image
from lbi.errors import InvalidArgument, Unavailable
from lbi.evaluation.importers import convert
from lbi.evaluation.importers.spider2v import ENVS


def test_apps_and_profiles_name_their_packages():
    assert packages_of(["libreoffice"]) == sorted(APPS["libreoffice"])
    everything = packages_of(["osworld"])
    assert {"chromium", "gimp", "vlc", "thunderbird", "libreoffice-calc", "libreoffice-gtk3"} <= set(everything)
    assert packages_of(["hello", " "]) == ["hello"]  # a Debian package name of its own
    assert with_companions(["libreoffice-calc"]) == ["libreoffice-calc", "libreoffice-gtk3"]
    with pytest.raises(InvalidArgument, match="neither an application"):
        packages_of(["bad name;"])


def test_spider2v_envs_name_the_importers_requirements():
    assert ENVS is PIP_APPS  # one list, the importer's config.pip and the layer built ahead of time
    assert packages_of(["jupyter", "dbt"]) == [] and packages_of(["dbt", "unzip"]) == ["unzip"]
    assert requirements_of(["jupyter"]) == sorted(PIP_APPS["jupyter"])
    assert requirements_of(["Jupyter", "dbt", "chromium"]) == sorted(PIP_APPS["jupyter"] + PIP_APPS["dbt"])
    assert requirements_of(["osworld"]) == [] and requirements_of(["spider2v"]) == requirements_of(
        ["jupyter,dbt"][0].split(",")
    )
    office = {"libreoffice-calc", "libreoffice-writer", "libreoffice-impress", "libreoffice-gtk3", "chromium"}
    profile = set(packages_of(["spider2v"]))
    assert office | {"unzip", "curl", "git"} <= profile and "gimp" not in profile
    assert apps_for(["chromium"], sorted(PIP_APPS["dbt"])) == ["chromium", "dbt"]  # the command a build names
    assert apps_for(["unzip"], ["pyautogui==0.9.54"]) == ["unzip"]


def _spider2v_configs(tmp_path: Path) -> dict[str, DesktopConfig]:
    """Session configs the Spider2-V importer writes: a dbt task whose init.sh unzips, a JupyterLab one in Chromium."""
    root = tmp_path / "Spider2-V"
    tasks = {
        "dbt": [{"type": "script_and_execute", "parameters": {"src": "{here}/init.sh", "dest": "/home/user/init.sh"}}],
        "jupyter": [
            {"type": "script_and_execute", "parameters": {"src": "{here}/init.sh", "dest": "/home/user/init.sh"}},
            {"type": "google_chrome_browser", "parameters": {"debugging_port": 1337, "urls": []}},
        ],
    }
    for env, steps in tasks.items():
        folder = root / "evaluation_examples" / "examples" / env / f"{env}-1"
        folder.mkdir(parents=True)
        here = f"evaluation_examples/examples/{env}/{env}-1"
        script = f"source /home/user/anaconda3/etc/profile.d/conda.sh\nconda activate {env}\nunzip -o x.zip\n"
        (folder / "init.sh").write_text(script)
        record: dict[str, Any] = {"id": f"{env}-1", "instruction": "Do it.", "tags": ["cli"], "config": steps}
        record["evaluator"] = {
            "func": "check_include_exclude",
            "result": {"type": "vm_command_line", "command": "ls"},
            "expected": {"type": "rule", "rules": {"include": ["x"], "exclude": []}},
        }
        (folder / f"{env}-1.json").write_text(json.dumps(record).replace("{here}", here))
    converted = convert("spider2v", root, {})
    assert not converted.refused, converted.refused
    return {t["id"].split("-")[0]: DesktopConfig.model_validate(t["config"]) for t in converted.tasks}


def test_a_spider2v_session_uses_the_layer_build_rootfs_builds_for_its_apps(tmp_path):
    configs = _spider2v_configs(tmp_path)
    assert configs["dbt"].pip == sorted(PIP_APPS["dbt"]) and configs["dbt"].packages == ["unzip"]
    assert configs["jupyter"].pip == sorted(PIP_APPS["jupyter"]) and "chromium" in configs["jupyter"].packages
    image, layers_dir = _image(tmp_path), tmp_path / "layers"
    # the very layer `--apps dbt,unzip` builds: the same key
    assert layers._key(image, *layer_asked(configs["dbt"])) == layers._key(
        image, *layer_asked(ahead_config(["dbt", "unzip"]))
    )
    for config in configs.values():  # the command a session told UNAVAILABLE names builds its very layer
        ahead = ahead_config(apps_for(config.packages, config.pip))
        assert layers._key(image, *layer_asked(config)) == layers._key(image, *layer_asked(ahead))
    # one `--apps spider2v` layer holds both tasks' packages and requirements; a larger osworld,spider2v one too
    spider2v = _built(layers_dir, image, *layer_asked(ahead_config(["spider2v"])), 10)
    both = _built(layers_dir, image, *layer_asked(ahead_config(["osworld", "spider2v"])), 20)
    for config in configs.values():
        assert layers.built_layer(layers_dir, image, *layer_asked(config)) == spider2v  # the smallest holding it
    assert layers.built_layer(layers_dir, image, *layer_asked(ahead_config(["gimp"]))) == both
    # a layer of the desktop and Debian packages only (what --apps built before) holds no env: not taken
    _built(layers_dir, image, *layer_asked(ahead_config(["libreoffice", "chromium", "unzip"])), 1)
    assert layers.built_layer(layers_dir, image, *layer_asked(configs["jupyter"])) == spider2v
    shutil.rmtree(spider2v.parent)
    assert all(layers.built_layer(layers_dir, image, *layer_asked(c)) == both for c in configs.values())


def _image(tmp_path: Path) -> Image:
    folder = tmp_path / "images" / "debian-test"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"built_at": "2026-12-01T00:00:00Z", "uid_base": 1}))
    return Image("debian-test", folder)


def _built(layers_dir: Path, image: Image, apt: list[str], pip: list[str], size: int) -> Path:
    folder = layers_dir / layers._key(image, apt, pip)
    (folder / "upper").mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"image": image.name, "apt": apt, "pip": pip, "size_bytes": size}))
    return folder / "upper"


def test_a_session_uses_the_smallest_layer_built_ahead_that_holds_its_packages(tmp_path):
    image, layers_dir = _image(tmp_path), tmp_path / "layers"
    desktop = ["openbox", "xvfb"]
    everything = _built(layers_dir, image, [*desktop, "chromium", "libreoffice-calc", "libreoffice-gtk3"], ["x"], 900)
    office = _built(layers_dir, image, [*desktop, "libreoffice-calc", "libreoffice-gtk3"], ["x"], 500)
    asked = with_companions([*desktop, "libreoffice-calc"])
    assert layers.built_layer(layers_dir, image, asked, ["x"]) == office
    assert layers.built_layer(layers_dir, image, [*desktop, "chromium"], ["x"]) == everything
    assert layers.built_layer(layers_dir, image, [*desktop, "gimp"], ["x"]) is None
    assert layers.built_layer(layers_dir, image, desktop, ["x", "y"]) is None  # a requirement it lacks
    exact = _built(layers_dir, image, desktop, ["x"], 2000)
    assert layers.built_layer(layers_dir, image, desktop, ["x"]) == exact  # its own before any larger one
    # a layer of another build of the image (same name, built again) is never taken
    rebuilt = Image(image.name, image.folder)
    rebuilt.manifest["built_at"] = "2026-12-02T00:00:00Z"
    assert layers.built_layer(layers_dir, rebuilt, asked, ["x"]) is None


def test_a_long_build_is_told_by_name_and_found_when_done(tmp_path, monkeypatch):
    image, layers_dir = _image(tmp_path), tmp_path / "layers"
    release, calls = threading.Event(), []

    def slow_build(layers_dir, image, packages, requirements, log, prebuilt):
        calls.append(packages)
        release.wait(10)
        return _built(layers_dir, image, packages, requirements, 1)

    monkeypatch.setattr(layers, "ensure_layer", slow_build)
    ahead = "lbi runner build-rootfs --desktop --apps libreoffice"
    for _ in range(2):  # asking again while it builds starts no second build
        with pytest.raises(Unavailable) as told:
            layers.ensure_layer_within(layers_dir, image, ["libreoffice-calc"], [], 0.05, ahead)
        assert "is being built" in str(told.value) and ahead in str(told.value)
    release.set()
    found = layers.ensure_layer_within(layers_dir, image, ["libreoffice-calc"], [], 5, ahead)
    assert found is not None and found.is_dir() and len(calls) == 1


def test_first_start_settings_are_written_where_missing(tmp_path):
    home = str(tmp_path)
    first_start.quiet_first_start(["libreoffice", "--calc", "x.ods"], home)
    xcu = (tmp_path / ".config/libreoffice/4/user/registrymodifications.xcu").read_text()
    assert 'oor:name="ShowTipOfTheDay"' in xcu and "<value>false</value>" in xcu
    assert 'oor:name="ooSetupLastVersion"' in xcu and "{version}" not in xcu
    argv = first_start.quiet_first_start(["chromium", "https://example.org"], home)
    assert argv[0] == "chromium" and argv[-1] == "https://example.org" and "--no-first-run" in argv
    assert (tmp_path / ".config/chromium/First Run").exists()
    gimprc = tmp_path / ".config/GIMP/2.10/gimprc"
    gimprc.parent.mkdir(parents=True)
    gimprc.write_text('(theme "Dark")\n')  # the task's own profile is kept
    first_start.quiet_first_start(["gimp"], home)
    assert gimprc.read_text() == '(theme "Dark")\n'
    argv = first_start.quiet_first_start(["thunderbird"], home)
    assert argv == ["thunderbird", "-profile", str(tmp_path / ".thunderbird/lbi.default")]  # not one of its own
    assert "suppress_dialog_on_startup" in (tmp_path / ".thunderbird/lbi.default/user.js").read_text()
