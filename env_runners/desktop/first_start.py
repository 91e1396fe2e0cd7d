"""First-start noise off, as benchmark images (OSWorld's) have it: run INSIDE the session, before an application starts.

LibreOffice without its "Tip of the Day" dialog, "what's new" and "get involved" bars, the "keep current format"
question or Impress's template chooser (the profile's registrymodifications.xcu); Chromium without its first-run page
and default-browser question (flags, and the profile's "First Run" mark); GIMP without tips (gimprc); VLC without its
privacy question (vlcrc); Thunderbird without its account wizard, start page and default-client question (a profile
with user.js). Each file is written only where the user's own is missing, so a task that brings a profile keeps it.
Standard library only.
"""

from __future__ import annotations

import os

NEVER = 4102444800  # 2100-01-01: "last shown" times of LibreOffice's bars, so they are never due
LIBREOFFICE_XCU = f"""<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="ShowTipOfTheDay" oor:op="fuse">\
<value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse">\
<value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Save/Document"><prop oor:name="WarnAlienFormat" oor:op="fuse">\
<value>false</value></prop></item>
<item oor:path="/org.openoffice.Setup/Product"><prop oor:name="ooSetupLastVersion" oor:op="fuse">\
<value>{{version}}</value></prop></item>
<item oor:path="/org.openoffice.Setup/Product"><prop oor:name="LastTimeGetInvolvedShown" oor:op="fuse">\
<value>{NEVER}</value></prop></item>
<item oor:path="/org.openoffice.Setup/Product"><prop oor:name="LastTimeDonateShown" oor:op="fuse">\
<value>{NEVER}</value></prop></item>
<item oor:path="/org.openoffice.Office.Impress/Misc/NewDoc"><prop oor:name="AutoPilot" oor:op="fuse">\
<value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Recovery/RecoveryInfo"><prop oor:name="Enabled" oor:op="fuse">\
<value>false</value></prop></item>
</oor:items>
"""
# the session is the sandbox (Chromium's own needs namespaces a session cannot make); --test-type keeps the
# "unsupported command-line flag" bar away; page content is in the tree only when asked for
CHROMIUM_FLAGS = [
    *("--no-first-run", "--no-default-browser-check", "--password-store=basic", "--disable-sync", "--no-sandbox"),
    *("--test-type", "--force-renderer-accessibility", "--disable-features=Translate,MediaRouter"),
]
GIMPRC = "(show-tips no)\n(show-welcome-dialog no)\n(check-updates no)\n"
VLCRC = (  # with OSWorld VM's HTTP interface (password "password"), which the vlc_playing_info getter reads
    "[qt]\nqt-privacy-ask=0\nqt-updates-notif=0\n[core]\nmetadata-network-access=0\nextraintf=http\n"
    "http-host=127.0.0.1\nhttp-port=8080\n[lua]\nhttp-password=password\n"
)
THUNDERBIRD_PROFILES = (
    "[General]\nStartWithLastProfile=1\nVersion=2\n\n"
    "[Profile0]\nName=default\nIsRelative=1\nPath=lbi.default\nDefault=1\n"
)
THUNDERBIRD_PREFS = "\n".join(
    f'user_pref("{name}", {value});'
    for name, value in [
        ("mail.provider.enabled", "false"),
        ("mail.provider.suppress_dialog_on_startup", "true"),  # no account setup tab over the empty mail window
        ("mail.shell.checkDefaultClient", "false"),
        ("mailnews.start_page.enabled", "false"),
        ("mail.rights.version", "1"),
        ("mail.spotlight.firstRunDone", "true"),
        ("mail.winsearch.firstRunDone", "true"),
        ("app.update.enabled", "false"),
        ("datareporting.policy.dataSubmissionPolicyBypassNotification", "true"),
        ("datareporting.healthreport.uploadEnabled", "false"),
        ("toolkit.telemetry.reportingpolicy.firstRun", "false"),
        ("browser.aboutConfig.showWarning", "false"),
    ]
)


def _write_new(path: str, text: str) -> None:
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as out:
        out.write(text)


def _libreoffice_version() -> str:
    """The installed LibreOffice's version as its profile records it (e.g. 7.4), so no "what's new" bar shows."""
    try:
        with open("/usr/lib/libreoffice/program/versionrc") as versionrc:
            for line in versionrc:
                if line.startswith("ProductMajor="):
                    major = line.split("=", 1)[1].strip()  # e.g. 74 or 2402
                    return f"{major[:-1]}.{major[-1]}" if len(major) <= 3 else f"{major[:2]}.{major[2:]}"
    except OSError:
        pass
    return "7.4"


def quiet_first_start(argv: list[str], home: str) -> list[str]:
    """Writes the application's first-start settings into `home` where they are missing; returns its command line
    (Chromium's with its first-run flags)."""
    program = os.path.basename(argv[0]) if argv else ""
    if program in ("libreoffice", "soffice", "localc", "lowriter", "loimpress", "lodraw", "lomath", "lobase"):
        xcu = os.path.join(home, ".config/libreoffice/4/user/registrymodifications.xcu")
        _write_new(xcu, LIBREOFFICE_XCU.replace("{version}", _libreoffice_version()))
    elif program in ("chromium", "chromium-browser", "google-chrome"):
        _write_new(os.path.join(home, ".config/chromium/First Run"), "")
        return [argv[0], *[f for f in CHROMIUM_FLAGS if f not in argv], *argv[1:]]
    elif program.startswith("gimp"):
        for version in ("2.10", "2.99", "3.0"):
            _write_new(os.path.join(home, f".config/GIMP/{version}/gimprc"), GIMPRC)
    elif program in ("vlc", "cvlc"):
        _write_new(os.path.join(home, ".config/vlc/vlcrc"), VLCRC)
    elif program == "thunderbird":
        _write_new(os.path.join(home, ".thunderbird/profiles.ini"), THUNDERBIRD_PROFILES)
        profile = os.path.join(home, ".thunderbird/lbi.default")
        _write_new(os.path.join(profile, "user.js"), THUNDERBIRD_PREFS + "\n")
        if not {"-P", "-profile", "--profile", "-ProfileManager"} & set(argv):  # else it makes a profile per install
            return [argv[0], "-profile", profile, *argv[1:]]
    return argv
