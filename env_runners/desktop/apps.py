"""The applications OSWorld tasks use, as Debian packages for the desktop layer, and the named sets of them.

`lbi runner build-rootfs --desktop --apps libreoffice,chromium` (or `--apps osworld`) builds one layer holding the
desktop and those applications ahead of time; a session whose `config.packages` are all in a layer built before
uses that layer as it is (layers.ensure_layer's `covering`), so asking `["libreoffice-calc"]` after the CLI built
`libreoffice` starts at once instead of building a layer of its own.
"""

from __future__ import annotations

import os
import shlex

from env_runners.shell.layers import DEBIAN_NAME
from lbi.errors import InvalidArgument

# Each application with what it needs to run in the session and show its accessibility tree.
APPS: dict[str, list[str]] = {
    # the GTK 3 front end carries LibreOffice's accessibility bridge (AT-SPI); the default one shows no tree
    "libreoffice": ["libreoffice-calc", "libreoffice-writer", "libreoffice-impress", "libreoffice-gtk3"],
    "chromium": ["chromium"],
    "gimp": ["gimp", "libgail-common"],  # GIMP 2.10 is GTK 2: without gail its windows are not in the tree
    "vlc": ["vlc"],
    "thunderbird": ["thunderbird"],
}
# OSWorld's applications and the tools its set-up and judging commands run (gsettings, gio, xdg-mime, git, unzip,
# sqlite3, killall, curl), so an imported task opens on the layer the runner image carries.
PROFILES: dict[str, list[str]] = {
    "osworld": [
        *("libreoffice", "chromium", "gimp", "vlc", "thunderbird"),
        *("libglib2.0-bin", "gsettings-desktop-schemas", "dconf-gsettings-backend", "xdg-utils"),
        *("git", "unzip", "zip", "sqlite3", "psmisc", "curl"),
    ]
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


def packages_of(names: list[str]) -> list[str]:
    """The Debian packages of the applications and profiles named as `--apps` takes them; a name that is neither is
    taken as a Debian package of its own (as `config.packages` would name it), with what it needs."""
    wanted: list[str] = []
    for name in (n.strip() for n in names):
        if not name:
            continue
        for app in PROFILES.get(name.lower(), [name]):
            if app.lower() in APPS:
                wanted += APPS[app.lower()]
            elif DEBIAN_NAME.match(app):
                wanted.append(app)
            else:
                known = ", ".join([*APPS, *PROFILES])
                raise InvalidArgument("apps", f"neither an application ({known}) nor a Debian package: {name!r}")
    return with_companions(sorted(set(wanted)))


def with_companions(packages: list[str]) -> list[str]:
    """The packages asked, plus what each needs to be read through accessibility."""
    return sorted({*packages, *(extra for name in packages for extra in COMPANIONS.get(name.split("=")[0], []))})


def address_space_mb(apps: list[str], packages: list[str]) -> int:
    """The largest address space the session's applications (started, or installed for the agent to start) reserve."""
    programs = {os.path.basename(shlex.split(app)[0]) for app in apps if shlex.split(app)} | set(packages)
    return max((mb for name, mb in ADDRESS_SPACE_MB.items() if name in programs), default=0)
