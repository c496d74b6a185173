"""The SEM data bar: found at the bottom of SEM-like images, never in a plain micrograph (issue 15 item 3)."""

import numpy as np
import pytest

from conftest import sem_image, sem_texture
from msdash.data.databar import crop_rows, cropped_dataset, data_bar_heights, find_data_bar
from msdash.errors import InputError


class TestFindDataBar:
    @pytest.mark.parametrize("shape", [(256, 256), (480, 640), (768, 1024), (200, 300)])
    def test_a_40_row_bar_is_found_at_several_sizes(self, shape):
        assert abs(find_data_bar(sem_image(shape)) - 40) <= 1

    @pytest.mark.parametrize("background,ink,separator", [(0, 255, None), (255, 0, None), (30, 230, 255),
                                                           (200, 20, 0)])
    def test_dark_or_light_bars_with_or_without_a_separator_line(self, background, ink, separator):
        found = find_data_bar(sem_image((480, 640), background=background, ink=ink, separator=separator))
        assert abs(found - 40) <= 1

    @pytest.mark.parametrize("bar", [12, 64, 150])
    def test_other_heights(self, bar):
        assert abs(find_data_bar(sem_image((512, 512), bar=bar)) - bar) <= 1

    def test_rgb_uint16_and_float_images(self):
        image = sem_image((300, 400))
        assert abs(find_data_bar(np.repeat(image[..., None], 3, axis=-1)) - 40) <= 1
        assert abs(find_data_bar(image.astype(np.uint16) * 257) - 40) <= 1
        assert abs(find_data_bar(image / 255.0) - 40) <= 1

    def test_nothing_is_cropped_once_the_bar_is_gone(self):
        image = sem_image((480, 640))
        assert find_data_bar(image[:-40]) == 0

    def test_the_demo_images_keep_all_their_rows(self):
        from msdash.data.dataset import demo_dataset

        demo = demo_dataset()
        assert set(data_bar_heights(demo.images).values()) == {0}

    @pytest.mark.parametrize("seed", range(5))
    def test_random_fields_keep_all_their_rows(self, seed):
        from msdash.synthetic import two_phase

        rng = np.random.default_rng(seed)
        for fraction in (0.1, 0.5, 0.9):
            for length in (1.0, 4.0, 20.0):
                binary = two_phase(1, (128, 160), volume_fraction=fraction, correlation_length=length, seed=rng)[0]
                assert find_data_bar(binary) == 0
        assert find_data_bar(rng.random((200, 200))) == 0  # white noise
        assert find_data_bar(sem_texture((300, 300), seed)) == 0  # grey texture
        assert find_data_bar(rng.integers(0, 2, (64, 64)).astype(bool)) == 0

    def test_a_dark_band_with_text_inside_the_image_is_not_a_data_bar(self):
        image = sem_image((480, 640))
        inside = np.concatenate([image[:300], image[-40:], sem_texture((140, 640), seed=7)])
        assert inside.shape == (480, 640) and find_data_bar(inside) == 0

    def test_a_uniform_band_without_text_is_left_alone(self):
        image = sem_texture((300, 300))
        image[-50:] = 0  # e.g. a shadow clipped to black: no text, so not a data bar
        assert find_data_bar(image) == 0

    def test_a_bar_taller_than_the_limit_is_not_cropped(self):
        image = sem_image((200, 300), bar=120)  # 60 % of the height
        assert find_data_bar(image) == 0
        assert abs(find_data_bar(image, max_fraction=0.7) - 120) <= 1

    def test_a_small_memory_budget_reads_the_rows_in_blocks_with_the_same_answer(self, monkeypatch):
        images = [sem_image((480, 640)), sem_image((300, 400), bar=12, background=255, ink=0), sem_texture((300, 300))]
        whole = [find_data_bar(image) for image in images]
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(20 * 640 * 3))  # 3 rows per block
        assert [find_data_bar(image) for image in images] == whole == [40, 12, 0]

    def test_flat_and_tiny_images(self):
        assert find_data_bar(np.zeros((100, 100))) == 0
        assert find_data_bar(np.full((100, 100), np.nan)) == 0
        assert find_data_bar(np.zeros((4, 4))) == 0

    def test_a_volume_is_refused_with_a_message_naming_the_argument(self):
        with pytest.raises(InputError, match="`image` must be a 2-D or RGB"):
            find_data_bar(np.zeros((5, 32, 32)))


class TestCrop:
    def test_per_image_heights_keep_the_compact_type_and_the_top_rows(self):
        from msdash.data.imagestore import Images

        a, b = sem_image((200, 300)), sem_image((240, 300), bar=30)
        images = Images({"a": a, "b": b, "v": np.zeros((4, 16, 16), np.uint8)})
        heights = data_bar_heights(images)
        assert heights == {"a": 40, "b": 30, "v": 0}
        cropped = crop_rows(images, heights)
        assert cropped.raw("a").dtype == np.uint8 and cropped.raw("a").shape == (160, 300)
        assert np.array_equal(cropped.raw("a"), a[:160]) and np.array_equal(cropped.raw("b"), b[:210])
        assert cropped.raw("v").shape == (4, 16, 16)
        assert crop_rows(images, {"a": 5}).raw("b").shape == (240, 300)

    @pytest.mark.parametrize("rows,message", [(-1, "0 or more"), (196, "leave 4 of its 200 rows"),
                                              ("x", "whole number")])
    def test_bad_heights_say_what_is_wrong(self, rows, message):
        with pytest.raises(InputError, match=message):
            crop_rows({"a": np.zeros((200, 10))}, rows)

    def test_a_volume_with_rows_to_crop_is_refused(self):
        with pytest.raises(InputError, match="3-D volume"):
            crop_rows({"v": np.zeros((3, 20, 20))}, 4)

    def test_the_cropped_set_keeps_table_group_pixel_size_and_is_a_new_set(self):
        import pandas as pd

        from msdash.data.dataset import Dataset
        from msdash.data.datastore import load_dataset, save_dataset

        table = pd.DataFrame({"hardness (HV)": [400.0, 420.0], "paper": ["p1", "p2"]}, index=["a", "b"])
        ds = Dataset("SEM set", {"a": sem_image((200, 300)), "b": sem_image((200, 300), seed=3)}, table,
                     group_column="paper", pixel_size_um=0.0125)
        old_id = save_dataset(ds)
        new = cropped_dataset(load_dataset(old_id), data_bar_heights(ds.images))
        new_id = save_dataset(new)
        back = load_dataset(new_id)
        assert new_id != old_id and back.name == "SEM set (data bar cropped)"
        assert back.images.raw("a").shape == (160, 300) and back.group_column == "paper"
        assert back.pixel_size_um == pytest.approx(0.0125)
        assert back.properties.loc["b", "hardness (HV)"] == 420.0
        assert any("40 rows removed" in note for note in back.notes)
        assert load_dataset(old_id).images.raw("a").shape == (200, 300)  # the old set is untouched

    def test_nothing_to_crop_is_said(self):
        from msdash.data.dataset import Dataset

        with pytest.raises(InputError, match="No rows to crop"):
            cropped_dataset(Dataset("x", {"a": np.zeros((20, 20))}), {"a": 0})
