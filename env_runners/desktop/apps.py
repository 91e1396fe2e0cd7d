"""The applications OSWorld and Spider2-V tasks use, as Debian packages (and Python requirements) for the desktop
layer, and the named sets of them.

`lbi runner build-rootfs --desktop --apps libreoffice,chromium` (or `--apps osworld`, `--apps spider2v`) builds one
layer holding the desktop and those applications ahead of time; a session whose `config.packages` and `config.pip`
are all in a layer built before uses that layer as it is (layers.built_layer's covering rule), so asking
`["libreoffice-calc"]` after the CLI built `libreoffice` starts at once instead of building a layer of its own.
`jupyter` and `dbt` name Python requirements (`PIP_APPS`), the very lists the Spider2-V importer asks as `config.pip`.
"""

from __future__ import annotations

import os
import shlex

from env_runners.shell.layers import DEBIAN_NAME
from lbi.errors import InvalidArgument
from lbi.evaluation.python_envs import PIP_APPS

# Each application with what it needs to run in the session and show its accessibility tree.
APPS: dict[str, list[str]] = {
    # the GTK 3 front end carries LibreOffice's accessibility bridge (AT-SPI); the default one shows no tree
    "libreoffice": ["libreoffice-calc", "libreoffice-writer", "libreoffice-impress", "libreoffice-gtk3"],
    "chromium": ["chromium"],
    "gimp": ["gimp", "libgail-common"],  # GIMP 2.10 is GTK 2: without gail its windows are not in the tree
    "vlc": ["vlc"],
    "thunderbird": ["thunderbird"],
}
# The tools the OSWorld importer's set-up and judging commands run (gsettings, gio, xdg-mime, git, unzip, zip,
# sqlite3, killall, curl; its TOOLS), which Spider2-V's scripts go through too.
TOOLS = (
    *("libglib2.0-bin", "gsettings-desktop-schemas", "dconf-gsettings-backend", "xdg-utils"),
    *("git", "unzip", "zip", "sqlite3", "psmisc", "curl"),
)
# Each benchmark's applications and those tools, so an imported task opens on the layer the runner image carries.
PROFILES: dict[str, list[str]] = {
    "osworld": ["libreoffice", "chromium", "gimp", "vlc", "thunderbird", *TOOLS],
    "spider2v": ["libreoffice", "chromium", "jupyter", "dbt", *TOOLS],
}
# Address space an application reserves (not memory it uses): Chromium's V8 reserves a terabyte for its sandbox, so
# under the session's usual per-process address-space limit its pages crash ("Aw, Snap!").
ADDRESS_SPACE_MB = {"chromium": 2 << 20}
# A package that needs another one for the session to read its tree, added to whatever a config asks.
COMPANIONS: dict[str, list[str]] = {
    "libreoffice-calc": ["libreoffice-gtk3"],
    "libreoffice-writer": ["libreoffice-gtk3"],
    "libreoffice-impress": ["libreoffice-gtk3"],
    "libreoffice": ["libreoffice-gtk3"],
    "gimp": ["libgail-common"],
}


def _named(names: list[str]) -> list[tuple[str, str]]:
    """(name as given, application) for each application the names give, profiles spread out."""
    return [(name, app) for name in (n.strip() for n in names) if name for app in PROFILES.get(name.lower(), [name])]


def packages_of(names: list[str]) -> list[str]:
    """The Debian packages of the applications and profiles named as `--apps` takes them; a name that is neither is
    taken as a Debian package of its own (as `config.packages` would name it), with what it needs. Python
    requirements (`jupyter`, `dbt`) are `requirements_of`'s."""
    wanted: list[str] = []
    for name, app in _named(names):
        if app.lower() in APPS:
            wanted += APPS[app.lower()]
        elif app.lower() in PIP_APPS:
            continue
        elif DEBIAN_NAME.match(app):
            wanted.append(app)
        else:
            known = ", ".join([*APPS, *PIP_APPS, *PROFILES])
            raise InvalidArgument("apps", f"neither an application ({known}) nor a Debian package: {name!r}")
    return with_companions(sorted(set(wanted)))


def requirements_of(names: list[str]) -> list[str]:
    """The Python requirements of the names `--apps` takes (`jupyter`, `dbt`, or a profile holding them), sorted as
    the Spider2-V importer writes `config.pip`."""
    return sorted({r for _, app in _named(names) for r in PIP_APPS.get(app.lower(), [])})


def apps_for(packages: list[str], requirements: list[str]) -> list[str]:
    """The `--apps` names that build a layer holding these packages and requirements ahead of time: the applications
    they are of (else the Debian packages themselves), and the named requirement sets any of them is in."""
    apps = sorted(app for app, needs in APPS.items() if set(needs) & set(packages))
    if not set(packages) <= {p for app in apps for p in APPS[app]}:
        apps = list(packages)  # `--apps` takes Debian package names too
    asked = {r.strip() for r in requirements}
    return apps + sorted(name for name, listed in PIP_APPS.items() if set(listed) & asked)


def with_companions(packages: list[str]) -> list[str]:
    """The packages asked, plus what each needs to be read through accessibility."""
    return sorted({*packages, *(extra for name in packages for extra in COMPANIONS.get(name.split("=")[0], []))})


def address_space_mb(apps: list[str], packages: list[str]) -> int:
    """The largest address space the session's applications (started, or installed for the agent to start) reserve."""
    programs = {os.path.basename(shlex.split(app)[0]) for app in apps if shlex.split(app)} | set(packages)
    return max((mb for name, mb in ADDRESS_SPACE_MB.items() if name in programs), default=0)
