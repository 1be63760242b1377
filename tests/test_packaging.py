"""What the image installs: ``constraints.txt`` pins every package bookbot needs at run time
(transitive ones included) within ``pyproject.toml``'s ranges, the Dockerfile installs through
it, and the time zone database comes with bookbot rather than from the system."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def pins() -> dict[str, Version]:
    """``constraints.txt`` as {package: version}."""
    pinned: dict[str, Version] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line!r}"
            pinned[canonicalize_name(name)] = Version(version)
    return pinned


def runtime_closure() -> dict[str, list[Requirement]]:
    """Every package bookbot needs at run time, from pyproject's dependencies down through the
    installed packages' own metadata (markers evaluated here, extras followed), each with the
    requirements naming it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pending = [(Requirement(r), "") for r in project["dependencies"]]
    found: dict[str, list[Requirement]] = {}
    seen: set[tuple[str, str]] = set()
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        found.setdefault(name, []).append(requirement)
        for wanted in ("", *sorted(requirement.extras)):
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            for line in metadata.requires(requirement.name) or []:
                pending.append((Requirement(line), wanted))
    return found


def test_constraints_pin_every_runtime_package_within_pyprojects_ranges() -> None:
    pinned, needed = pins(), runtime_closure()
    assert "tzdata" in needed
    missing = sorted(set(needed) - set(pinned))
    assert not missing, f"not in constraints.txt (regenerate it, see its header): {missing}"
    outside = {
        name: (str(pinned[name]), [str(r.specifier) for r in requirements])
        for name, requirements in needed.items()
        if not all(r.specifier.contains(pinned[name], prereleases=True) for r in requirements)
    }
    assert not outside, f"pinned outside the required ranges: {outside}"
    stale = sorted(set(pinned) - set(needed))
    assert not stale, f"pinned but needed by nothing: {stale}"


def test_the_image_installs_through_the_constraints() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = re.search(r"^COPY .*\bconstraints\.txt\b", dockerfile, re.MULTILINE)
    installs = re.findall(r"pip install [^\n&]*", dockerfile)
    assert copied and installs, dockerfile
    assert all("-c constraints.txt" in command for command in installs), installs


def test_zones_resolve_without_a_system_zone_database(tmp_path: Path) -> None:
    """A slim image or Windows has no /usr/share/zoneinfo, and newer Debian images dropped the
    legacy names: with zoneinfo's search path on an empty directory, the zones still load."""
    config = tmp_path / "zones.toml"
    sample = (ROOT / "bot" / "sample_config.toml").read_text(encoding="utf-8")
    config.write_text(sample.replace('timezone = "Europe/Paris"', 'timezone = "US/Eastern"', 1))
    empty = tmp_path / "no-zoneinfo"
    empty.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check-config"],
        env={"BOOKBOT_CONFIG": str(config), "PYTHONTZPATH": str(empty), "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import zoneinfo; zoneinfo.ZoneInfo('Europe/Paris'); zoneinfo.ZoneInfo('US/Eastern')",
        ],
        env={"PYTHONTZPATH": str(empty), "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
