"""Tables as the reports show them: no 0, 1, 2 row index, counts with separators (not labels such as
years or hours), and values from the data lake escaped, never run as markup."""

from __future__ import annotations

import pandas as pd

from sparkify.display import frame_html


def test_values_from_the_lake_are_escaped():
    page = frame_html(pd.DataFrame({"title": ['<script>alert("x")</script>'], "name": ["<b>Bold</b> & Co"]}))
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page and "&amp; Co" in page


def test_counts_get_separators_labels_do_not_and_the_range_index_is_hidden():
    page = frame_html(pd.DataFrame({"year": [2018], "hour": [16], "play_count": [12345], "duration": [1234.5]}))
    assert ">2018<" in page.replace(" ", "") and ">16<" in page.replace(" ", "")
    assert "12,345" in page and "1,234.5" in page
    assert 'class="row_heading' not in page  # no 0, 1, 2 column of row numbers


def test_a_named_index_is_kept():
    page = frame_html(pd.DataFrame({"rows": [3]}, index=pd.Index(["songplays"], name="table_name")))
    assert "songplays" in page and "table_name" in page
