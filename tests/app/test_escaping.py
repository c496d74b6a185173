"""User text shows as written: no markdown, HTML or link from names, headers, cells or links reaches the page.

A data set whose name, property headers, cells and sample names carry markdown and HTML payloads is opened on
every page through AppTest; every string the browser renders as markdown (messages, captions, labels, help,
expander and tab labels, image captions) is rendered here with markdown-it and must hold no image, link,
emphasis or heading made from the payload, while the payload itself is shown (escaped, not dropped).
"""

import html
import json
import re

import numpy as np
import pandas as pd
import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from msdash.data.dataset import Dataset
from msdash.data.datastore import save_dataset
from msdash.display import escape_markdown, escape_plotly

APP = str(ROOT / "app.py")
IMAGE = "![x](http://127.0.0.1:9/x.png)"
LINK = "[click](http://127.0.0.1:9)"
TAG = "<img src=x>"
BOLD = "**bold**"
PAYLOADS = [IMAGE, LINK, TAG, BOLD]
MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


# What GFM's autolink-literal step (run on the text after escapes are resolved) turns into links.
AUTOLINK = re.compile(r"https?://|www\.|[-.\w+]+@[-\w]+\.", re.IGNORECASE)


def rendered(text, *, joiners=False):
    """HTML that a CommonMark renderer with raw HTML on (stricter than Streamlit's) makes of ``text``, without
    the invisible word joiners that stop GFM autolinks unless ``joiners``."""
    out = MARKDOWN.render(text)
    return out if joiners else out.replace("\u2060", "")


def assert_inert(text):
    """``text`` renders no image, link, autolink, raw tag, emphasis from a payload, heading from a newline."""
    out = rendered(text, joiners=True)
    assert "<img" not in out and "<a " not in out and not AUTOLINK.search(out), (text, out)
    assert "<strong>bold</strong>" not in out and "<h1>" not in out, (text, out)


# --- the helpers ------------------------------------------------------------------------------------------

HOSTILE = PAYLOADS + ["a\nb", "# heading", "- item", "+ item", "1. first", "3) third", "> quote", "_em_", "x_y_z",
                      "__a__", "a&lt;b", "`code`", "$x^2$", ":red[red]", ":material/home:", "~~gone~~", "a | b",
                      "<http://127.0.0.1:9>", "[ref]: http://127.0.0.1:9", "back\\slash", "    indented",
                      "x.png: bad (HV)", "img-01.png", "a\r\n\tb\x00c", "<b>", "&#60;img&#62;"]


class TestEscapeMarkdown:
    @pytest.mark.parametrize("text", HOSTILE)
    def test_renders_as_the_text_itself(self, text):
        shown = " ".join(text.replace("\x00", " ").split())  # newlines and control characters become spaces
        out = rendered(escape_markdown(text)).replace("\u2060", "")  # the invisible joiner that stops autolinks
        assert out == (f"<p>{html.escape(shown, quote=False)}</p>\n" if shown else "")

    @pytest.mark.parametrize("text, escaped", [
        # GFM autolinks are found after escapes are resolved (markdown-it's commonmark preset lacks them):
        # an invisible word joiner (U+2060) breaks them
        ("www.example.org", "www\u2060.example.org"),
        ("mail me@example.org", "mail me\\@\u2060example.org"),
        ("see http://127.0.0.1:9", "see http\u2060\\://127.0.0.1\\:9"),
        ("HTTPS://x", "HTTPS\u2060\\://x"),
        (":red[alarm]", r"\:red\[alarm\]"),  # Streamlit directives
        (":material/home:", r"\:material/home\:"),
        (":smile: ok", r"\:smile\: ok"),  # emoji shortcode
        ("price $5 and $6", r"price \$5 and \$6"),  # math
    ])
    def test_breaks_gfm_and_streamlit_constructs(self, text, escaped):
        assert escape_markdown(text) == escaped

    def test_plain_names_stay_readable(self):
        assert escape_markdown("img_01-b.png: 3 (HV)") == "img_01-b.png: 3 (HV)"


class TestEscapePlotly:
    def test_tags_and_entities_become_text(self):
        assert escape_plotly('<a href="http://x">P&G</a><br>') == '&lt;a href="http://x"&gt;P&amp;G&lt;/a&gt;&lt;br&gt;'

    def test_template_placeholders_are_not_filled(self):
        assert "%{" not in escape_plotly("%{customdata[0]}", template=True)


# --- plotly figures ------------------------------------------------------------------------------------------

def _figure_text(fig):
    """Every string of a figure except the raw names in ``customdata`` (selection events need them raw)."""
    spec = fig.to_plotly_json()
    for trace in spec["data"]:
        trace.pop("customdata", None)
    return json.dumps(spec, default=str)


class TestFigures:
    names = [IMAGE, LINK, TAG, "<b>b</b>", "plain"]

    def test_map_legend_hover_and_titles(self):
        from msdash.plots import map_figure

        coords = np.arange(10, dtype=float).reshape(5, 2)
        hover = pd.DataFrame({"<a href='http://127.0.0.1:9'>h</a>": [1.0, 2, 3, 4, 5]})
        fig = map_figure(coords, self.names, color=np.array([LINK, TAG, LINK, "<b>c</b>", "ok"], dtype=object),
                         color_label="<i>label</i>", hover=hover, selected=[TAG], title="<a href='x'>t</a>",
                         axis_labels=("<b>x</b>", "%{y}"))
        text = _figure_text(fig)
        assert "<a " not in text and "<img" not in text and "<b>b" not in text and "<i>" not in text
        assert "&lt;img src=x&gt;" in {t.name for t in fig.data}  # the category is in the legend, escaped
        # selection events still carry the raw names; the hover shows the escaped copy
        assert sorted(n for t in fig.data if t.name != "selected" for n in t.customdata[:, 0]) == sorted(self.names)
        first = fig.data[0]
        assert first.customdata[0, -1] == escape_plotly(first.customdata[0, 0], template=True)
        assert "%{customdata[2]}" in first.hovertemplate and "%{y}:" not in first.hovertemplate

    def test_parity_box_correlation_histogram_learning(self):
        from msdash.models.figures import box_figure, learning_curve_figure, parity_figure
        from msdash.plots import correlation_figure, histogram_figure

        parity = parity_figure([1.0, 2, 3, 4, 5], [1.1, 2, 3, 4, 5], self.names, label=TAG, selected=[LINK],
                               title=IMAGE)
        assert list(parity.data[0].customdata[:, 0]) == self.names
        scores = pd.DataFrame({"feature_set": [TAG, TAG], "model": [LINK, LINK], "score": [1.0, 2.0]})
        box = box_figure(scores, score_label="<b>s</b>")
        corr = correlation_figure(pd.DataFrame({"PC1": [0.5]}, index=[TAG]))
        hist = histogram_figure([1.0, 2.0], label=TAG, marker=1.5, marker_label="<a href='x'>m</a>")
        curve = learning_curve_figure(pd.DataFrame({"size": [5, 5], "score": [1.0, 2.0], "series": [TAG, TAG]}),
                                      score_label=TAG)
        for fig in (parity, box, corr, hist, curve):
            text = _figure_text(fig)
            assert "<a " not in text and "<img" not in text and "<b>s" not in text
            assert "&lt;img src=x&gt;" in text  # shown, escaped


# --- the app ---------------------------------------------------------------------------------------------------

# Protos whose string fields named here are rendered as markdown by Streamlit's frontend.
_MARKDOWN_FIELDS = {"body", "label", "help", "caption", "text", "placeholder"}
_PLAIN_ELEMENTS = {"json", "code", "text", "exception", "plotly_chart", "arrow_data_frame", "arrow_table"}


def _strings(message, out):
    from collections.abc import Sequence

    from google.protobuf.message import Message

    for descriptor, value in message.ListFields():
        if descriptor.type == descriptor.TYPE_MESSAGE:
            for item in (value if getattr(descriptor, "is_repeated", False) or isinstance(value, Sequence)
                         else [value]):
                if isinstance(item, Message):
                    _strings(item, out)
        elif descriptor.name in _MARKDOWN_FIELDS and isinstance(value, str):
            out.append(value)


def markdown_strings(at):
    """Every string of the page that Streamlit renders as markdown."""
    out, stack = [], [at._tree]
    while stack:
        node = stack.pop()
        stack.extend(getattr(node, "children", {}).values())
        proto = getattr(node, "proto", None)
        if proto is None or getattr(node, "type", None) in _PLAIN_ELEMENTS:
            continue
        _strings(proto, out)
    return out


def shown_text(strings):
    return "\n".join(rendered(s) for s in strings)


@pytest.fixture
def hostile_id():
    rng = np.random.default_rng(0)
    names = [IMAGE.replace("/", "|"), LINK, TAG, f"{BOLD}\n# heading", "x_1", "y_2"]
    images = {name: (rng.random((24, 24)) < 0.4).astype(np.float32) for name in names}
    properties = pd.DataFrame({f"{LINK} (HV)": np.arange(6, dtype=float), "paper": [TAG, IMAGE, BOLD, LINK, "a", "b"]},
                              index=names)
    return save_dataset(Dataset(name=f"{IMAGE} {LINK}\n{TAG} {BOLD}", images=images, properties=properties,
                                group_column="paper", source="upload"))


def open_app(query, timeout=120):
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.query_params.update(query)
    return at.run()


def check_page(at):
    assert not at.exception, at.exception
    strings = markdown_strings(at)
    assert strings
    for text in strings:
        assert_inert(text)
    return shown_text(strings)


class TestPages:
    def test_data_and_gallery_show_names_headers_and_cells_as_text(self, hostile_id):
        at = open_app({"ds": hostile_id})
        shown = check_page(at)
        assert html.escape(IMAGE, quote=False) in shown  # the data set name is shown, as text
        assert html.escape(f"{LINK} (HV)", quote=False) in shown  # the property header
        at.switch_page("msdash/app/screens/gallery.py").run()
        at.multiselect(key="gallery_captions").set_value([f"{LINK} (HV)", "paper"]).run()
        at.selectbox(key="viewer_sample").set_value(f"{BOLD}\n# heading").run()
        shown = check_page(at)
        captions = [img.caption for image in at.image for img in image.proto.imgs]
        assert any(html.escape(TAG, quote=False) in rendered(c) for c in captions)  # a cell in a caption
        assert "**bold** # heading" in shown  # the sample name with a newline, on one line

    def test_features_map_models_predict_learn(self, hostile_id):
        at = open_app({"ds": hostile_id}, timeout=300)
        at.switch_page("msdash/app/screens/features.py").run()
        at.selectbox(key="extractor").set_value("two_point").run()
        at.button(key="compute_features").click().run()
        check_page(at)
        at.switch_page("msdash/app/screens/map.py").run()
        at.selectbox(key="map_color").set_value("paper").run()
        check_page(at)
        spec = json.dumps([json.loads(c.proto.spec)["data"] for c in at.get("plotly_chart")][0])
        legend = [t["name"] for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]]
        assert html.escape(TAG, quote=False) in legend and TAG not in legend
        assert "<a " not in spec.replace(json.dumps(LINK)[1:-1], "")  # only the raw names in customdata
        for path in ("msdash/app/screens/models.py", "msdash/app/screens/predict.py", "msdash/app/screens/learn.py"):
            at.switch_page(path).run()
            check_page(at)

    def test_crafted_ds_link_shows_no_link_in_the_warning(self):
        at = open_app({"ds": f"{LINK} {IMAGE} **urgent**: log in at www.example.org"})
        assert not at.exception
        warnings = [w.value for w in at.warning]
        assert len(warnings) == 1 and "is not in this workspace" in warnings[0]
        assert_inert(warnings[0])
        assert "www." not in warnings[0] and "](" not in warnings[0].replace("\\]", "")
        assert html.escape(LINK, quote=False) in rendered(warnings[0])


def test_upload_error_naming_a_hostile_file_is_plain_text():
    at = AppTest.from_file(APP, default_timeout=60).run()
    name = "[click](mailto:x) <img src=x>.png"  # an upload's name holds no "/" (that would be a folder)
    at.file_uploader(key="upload_images").set_value([(name, b"\x89PNG not really", "image/png")]).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors and all("[click](mailto" not in e for e in errors)
    for error in errors:
        assert_inert(error)
    assert any(html.escape(name, quote=False) in rendered(e) for e in errors)
    assert any("kept only in this browser tab" in i.value for i in at.info)  # item 3: unsaved upload notice
