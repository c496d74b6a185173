"""The study table of msdash.references agrees with docs/references.md, which the docstrings cite."""

import re

import pytest

from conftest import ROOT
from msdash.errors import InputError
from msdash.references import STUDIES, citation

DOC = (ROOT / "docs" / "references.md").read_text(encoding="utf-8")


def _flat(text):
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("key", list(STUDIES))
def test_every_study_is_in_docs_references_with_the_same_entries(key):
    study = STUDIES[key]
    section = _flat(DOC.split(f"## Study {key} ")[1].split("## ")[0])
    for field in (study.authors, study.title, study.venue, study.url):
        assert _flat(field) in section
    assert study.title in citation(key)


def test_docstrings_cite_the_references_file_not_science_md():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "msdash").rglob("*.py")
                 if "SCIENCE.md" in p.read_text(encoding="utf-8")]
    assert offenders == []
    assert len([p for p in (ROOT / "msdash").rglob("*.py")
                if "docs/references.md" in p.read_text(encoding="utf-8")]) >= 10


def test_unknown_study_is_refused():
    with pytest.raises(InputError, match="`key`"):
        citation("E")


def test_the_features_page_cites_the_study_a_preset_reproduces():
    from streamlit.testing.v1 import AppTest

    from msdash.references import citation

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("msdash/app/screens/features.py").run()
    at.selectbox(key="extractor").set_value("volume_fraction").run()
    assert not any("Reproduces study" in c.value for c in at.caption)
    at.selectbox(key="extractor").set_value("two_point_paper_b").run()
    cited = [c.value for c in at.caption if "Reproduces study" in c.value]
    assert not at.exception and len(cited) == 1 and cited[0].startswith("Reproduces study B")
    assert "MicroPropViT" in cited[0] and citation("B")[:20] in cited[0].replace("\\", "")
