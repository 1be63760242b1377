"""The owner guides in docs/providers/ stay true: every TOML snippet loads as a configuration,
names its platform, and the guides point nowhere outside the repository."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bot.config import load_config

DOCS = Path(__file__).resolve().parents[2] / "docs" / "providers"
GUIDES = sorted(DOCS.glob("*.md"))
SNIPPET = re.compile(r"^```toml\n(.*?)^```", re.DOTALL | re.MULTILINE)


def snippets(guide: Path) -> list[str]:
    return SNIPPET.findall(guide.read_text(encoding="utf-8"))


def test_there_is_a_guide_per_platform() -> None:
    assert {g.stem for g in GUIDES} >= {"bookingtime", "clicrdv", "qmatic"}


@pytest.mark.parametrize("guide", GUIDES, ids=lambda g: g.stem)
def test_every_snippet_of_a_guide_loads_as_a_configuration(guide: Path, tmp_path: Path) -> None:
    found = snippets(guide)
    assert found, f"{guide.name} has no TOML snippet"
    for index, text in enumerate(found):
        data = tomllib.loads(text)
        # Every secret a snippet names is an environment variable the owner sets.
        names = re.findall(r'_env\s*=\s*"([A-Z0-9_]+)"', text)
        path = tmp_path / f"{guide.stem}-{index}.toml"
        path.write_text(text, encoding="utf-8")
        config = load_config(path, env={name: "set-by-the-owner" for name in names})
        assert [b.provider for b in config.businesses] == [guide.stem] * len(data["businesses"])
        for business in config.businesses:
            business.provider_settings()  # the adapter's own settings model accepts them
            assert set(business.secret_names()) <= set(names)


@pytest.mark.parametrize("guide", GUIDES, ids=lambda g: g.stem)
def test_a_guide_says_what_customers_are_asked_and_keeps_internals_for_developers(
    guide: Path,
) -> None:
    text = guide.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert "What your customers will be asked" in headings
    assert headings[-1] == "For developers"


@pytest.mark.parametrize("guide", GUIDES, ids=lambda g: g.stem)
def test_a_guide_refers_to_nothing_outside_the_repository(guide: Path) -> None:
    text = guide.read_text(encoding="utf-8")
    for outside in ("/work/", "../shared", "shared/providers", "seed 0"):
        assert outside not in text, f"{guide.name} refers to {outside!r}"
    for link in re.findall(r"\]\(([^)]+)\)", text):
        assert link.startswith("http") or (DOCS / link).resolve().exists(), link
