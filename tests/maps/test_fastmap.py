"""The fast canvas map's payload (what fastmap.js reads) and its selection events."""


import numpy as np
import pandas as pd
import pytest

from conftest import unpack
from msdash.app.fastmap import pack_map, selection_ids, selection_names
from msdash.errors import InputError

@pytest.fixture
def sample():
    rng = np.random.default_rng(1)
    coords = rng.normal(size=(7, 3))
    coords[2, 0] = np.nan
    coords[5, 1] = np.inf
    names = [f"n{i}" for i in range(7)]
    return coords, names


class TestPackMap:
    def test_only_finite_rows_travel_with_their_row_ids(self, sample):
        coords, names = sample
        header, arrays = unpack(pack_map(coords, names))
        rows = [0, 1, 3, 4, 6]
        assert header["n"] == 5
        assert arrays["id"].tolist() == rows
        np.testing.assert_array_equal(arrays["x"], coords[rows, 0].astype(np.float32))
        np.testing.assert_array_equal(arrays["y"], coords[rows, 1].astype(np.float32))
        assert bytes(arrays["names"]).decode().split("\x1f") == [names[i] for i in rows]
        assert header["color"]["kind"] == "none" and header["hover"] == []

    def test_numeric_colour_carries_its_range_and_missing_values(self, sample):
        coords, names = sample
        color = np.array([0.5, np.nan, 9.0, -2.0, 3.0, 100.0, 1.0])
        header, arrays = unpack(pack_map(coords, names, color=color, color_label="E (GPa)"))
        drawn = color[[0, 1, 3, 4, 6]]
        assert header["color"] == {"kind": "numeric", "label": "E (GPa)", "palette": header["color"]["palette"],
                                   "min": -2.0, "max": 3.0}  # of the drawn samples, NaN ignored
        np.testing.assert_array_equal(arrays["color"], drawn.astype(np.float32))

    def test_categories_are_sorted_codes_with_missing_as_minus_one(self, sample):
        coords, names = sample
        color = np.array(["b", "a", "c", None, "b", "a", "a"], dtype=object)
        header, arrays = unpack(pack_map(coords, names, color=color, color_label="family"))
        assert header["color"]["kind"] == "category"
        assert header["color"]["categories"] == ["a", "b"]  # "c" sits on a row that is not drawn
        assert arrays["color"].tolist() == [1, 0, -1, 1, 0]

    def test_integer_labels_can_be_forced_categorical(self, sample):
        coords, names = sample
        header, arrays = unpack(pack_map(coords, names, color=np.array([3.0, 1, 1, 3, 2, 2, 1]), categorical=True))
        assert header["color"]["categories"] == ["1", "2", "3"]
        assert arrays["color"].tolist() == [2, 0, 2, 1, 0]

    def test_hover_columns_follow_rows_by_position(self, sample):
        coords, names = sample
        hover = pd.DataFrame({"vf": np.arange(7) / 10, "E": np.arange(7) * 2.0}, index=list("abcdefg"))
        header, arrays = unpack(pack_map(coords, names, hover=hover))
        assert header["hover"] == ["vf", "E"]
        np.testing.assert_array_equal(arrays["hover1"], np.array([0, 2, 6, 8, 12], dtype=np.float32))

    def test_selection_is_row_ids_and_does_not_change_the_token(self, sample):
        coords, names = sample
        plain, _ = unpack(pack_map(coords, names))
        picked, _ = unpack(pack_map(coords, names, selected=["n6", "n3", "unknown", "n2"]))
        assert picked["selected"] == [2, 3, 6]  # n2 is not drawn; the browser ignores its id
        assert picked["token"] == plain["token"]
        recoloured, _ = unpack(pack_map(coords, names, color=np.arange(7.0)))
        assert recoloured["token"] != plain["token"]

    def test_separator_inside_a_name_does_not_shift_names(self):
        header, arrays = unpack(pack_map(np.zeros((2, 2)), ["a\x1fb", "c"]))
        assert bytes(arrays["names"]).decode().split("\x1f") == ["a b", "c"]

    @pytest.mark.parametrize("coords", [np.zeros((3, 1)), np.zeros((4, 2)), np.zeros(3)])
    def test_coords_must_match_names(self, coords):
        with pytest.raises(InputError, match="coords"):
            pack_map(coords, ["a", "b", "c"])

    def test_colour_must_have_one_value_per_sample(self):
        with pytest.raises(InputError, match="color"):
            pack_map(np.zeros((3, 2)), ["a", "b", "c"], color=[1.0, 2.0])

    def test_hover_must_be_a_frame_with_one_row_per_sample(self):
        with pytest.raises(InputError, match="hover"):
            pack_map(np.zeros((3, 2)), ["a", "b", "c"], hover=pd.DataFrame({"v": [1, 2]}))


class TestSelectionEvents:
    def test_ids_become_names_and_bad_ids_are_dropped(self):
        event = {"selection": {"ids": [3, -1, 1, 99, "2"], "seq": 5}}
        assert selection_ids(event) == ([3, -1, 1, 99], 5)
        assert selection_names(event, ["a", "b", "c", "d"]) == ["d", "b"]

    @pytest.mark.parametrize("event", [None, {}, {"selection": None}, {"selection": {"points": []}}])
    def test_other_states_are_not_fast_map_events(self, event):
        assert selection_ids(event) is None
        assert selection_names(event, ["a"]) is None


def _fast_map_script():
    import streamlit as st

    from msdash.app.fastmap import fast_map

    picked = fast_map([[0, 0], [1, 1], [2, 0]], ["a", "b", "c"], key="m")
    st.write(f"picked: {picked}")


class TestFastMapElement:
    def test_returns_names_once_per_user_action(self):
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_function(_fast_map_script).run()
        assert not at.exception
        (element,) = at.get("bidi_component")
        assert unpack(element.proto.bytes)[0]["n"] == 3
        assert at.markdown[0].value == "picked: None"
        at.session_state["m"] = {"selection": {"ids": [2, 1], "seq": 3}}  # what fastmap.js sends
        at.run()
        assert at.markdown[0].value == "picked: ['c', 'b']"
        at.run()  # no new user action
        assert at.markdown[0].value == "picked: None"
