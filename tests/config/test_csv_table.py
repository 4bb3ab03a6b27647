"""regexp.config.csv_table: a user's CSV file read as the config names it, or a ConfigError
naming the key that does not fit."""

import numpy as np
import pytest

from regexp.config.csv_table import read_table
from regexp.config.errors import ConfigError
from regexp.config.settings import DataSettings


def _data(path, features=("a", "b"), target="y", task="regression", val_fraction=0.2):
    return DataSettings(name="csv", task=task, seed=0, path=str(path), features=tuple(features),
                        target=target, val_fraction=val_fraction)  # fmt: skip


def _csv(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_features_and_target_come_back_as_float64_in_the_files_order(tmp_path):
    path = _csv(tmp_path, "y,a,extra,b\n1,10,x,0.5\n2,20,y,-1.5\n3,30,z,2\n4,40,w,3e-3\n5,50,v,7\n")
    x, y = read_table(_data(path, features=("b", "a")))
    assert x.dtype == np.float64 and y.dtype == np.float64
    assert x.shape == (5, 2) and y.shape == (5, 1)
    np.testing.assert_array_equal(x[:, 0], [0.5, -1.5, 2.0, 3e-3, 7.0])  # the order asked for
    np.testing.assert_array_equal(x[:, 1], [10, 20, 30, 40, 50])
    np.testing.assert_array_equal(y[:, 0], [1, 2, 3, 4, 5])


def test_a_missing_file(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(ConfigError) as caught:
        read_table(_data(missing))
    assert caught.value.key == "data.path"
    assert str(caught.value) == f"data.path: no such file: {missing}"


def test_a_file_that_is_not_csv(tmp_path):
    path = _csv(tmp_path, "")
    with pytest.raises(ConfigError, match=rf"^data.path: could not read {path} as CSV \(.+\)$"):
        read_table(_data(path))


def test_a_missing_feature_names_data_features_and_lists_the_columns(tmp_path):
    path = _csv(tmp_path, "a,y\n1,2\n3,4\n5,6\n")
    with pytest.raises(ConfigError) as caught:
        read_table(_data(path, features=("a", "b")))
    assert caught.value.key == "data.features"
    assert str(caught.value) == f"data.features: column 'b' not in {path}; columns: a, y"
    with pytest.raises(ConfigError, match="^data.features: column 'b' not in"):
        read_table(_data(path, features=("b",), target="z"))  # both missing: features first


def test_non_numeric_or_missing_values_name_their_column(tmp_path):
    text = "a,b,y\n1,2,3\n4,oops,6\n7,8,9\n"
    with pytest.raises(ConfigError, match="^data.path: column 'b' has missing or non-numeric"):
        read_table(_data(_csv(tmp_path, text)))
    with pytest.raises(ConfigError, match="^data.path: column 'y' has missing or non-numeric"):
        read_table(_data(_csv(tmp_path, "a,b,y\n1,2,3\n4,5,\n7,8,9\n", "gap.csv")))


def test_classification_needs_0_1_labels(tmp_path):
    labels = _csv(tmp_path, "a,b,y\n1,2,0\n3,4,1\n5,6,1\n7,8,0\n9,10,1\n")
    _, y = read_table(_data(labels, task="classification"))
    assert y[:, 0].tolist() == [0, 1, 1, 0, 1]
    twos = _csv(tmp_path, "a,b,y\n1,2,0\n3,4,2\n5,6,1\n7,8,0\n9,10,1\n", "twos.csv")
    with pytest.raises(ConfigError, match="^data.target: must hold 0/1 labels when data.task="):
        read_table(_data(twos, task="classification"))
    assert read_table(_data(twos))[1][1, 0] == 2  # a regression target may be anything


@pytest.mark.parametrize(
    ("rows", "fraction"),
    [(2, 0.2), (3, 0.9), (5, 0.05), (10, 0.9)],  # 0 validation rows, or fewer than 2 to train
)
def test_a_split_that_leaves_a_side_empty(tmp_path, rows, fraction):
    path = _csv(tmp_path, "a,b,y\n" + "".join(f"{i},{i},{i}\n" for i in range(rows)))
    with pytest.raises(ConfigError) as caught:
        read_table(_data(path, val_fraction=fraction))
    want = f"data.val_fraction: leaves no validation or training rows ({rows} rows)"
    assert str(caught.value) == want


def test_the_smallest_split_that_works(tmp_path):
    path = _csv(tmp_path, "a,b,y\n" + "".join(f"{i},{i},{i}\n" for i in range(3)))
    x, _ = read_table(_data(path, val_fraction=0.3))  # 1 validation row, 2 training rows
    assert x.shape == (3, 2)
