"""CSV time series: parsing with errors that name the line and column, windows, normalisation."""

import numpy as np
import pytest

from app.tasks import TASKS, TaskError
from app.tasks.csv_series import SeriesData, parse_csv, windows


def test_a_header_row_names_the_columns() -> None:
    names, values = parse_csv("temp,rain\n1.5,0\n2.5,3\n")
    assert names == ["temp", "rain"]
    np.testing.assert_array_equal(values, [[1.5, 0.0], [2.5, 3.0]])


def test_without_a_header_the_columns_are_numbered_and_blank_lines_skipped() -> None:
    names, values = parse_csv("1\n\n2\n3\n")
    assert names == ["column 1"]
    np.testing.assert_array_equal(values[:, 0], [1, 2, 3])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n1,2\n3,x\n", r"csv line 3, column 2: 'x' is not a number"),
        ("a,b\n\n\n1,2\n\n3, x\n", r"csv line 6, column 2: 'x' is not a number"),
        ('a,b\n"1\n",2\n3,y\n', r"csv line 4, column 2: 'y' is not a number"),
        ("1,2\n3\n", "csv line 2 has 1 values, expected 2"),
        ("a,b\n1,2\n3,nan\n", "csv line 3, column 2 is NaN or infinite"),
        ("a,b\n1,inf\n", "csv line 2, column 2 is NaN or infinite"),
        ('a,b\n1,"2\n', "csv line 2: unexpected end of data"),
        ("\n\n", "csv is empty"),
        ("a,b\n", "csv has a header but no data rows"),
    ],
)
def test_malformed_files_raise_naming_the_line_and_column(text: str, message: str) -> None:
    with pytest.raises(TaskError, match=message):
        parse_csv(text)


def test_windows_pair_each_window_with_the_row_a_horizon_after_it() -> None:
    values = np.arange(10.0)[:, None]
    X, y = windows(values, window=3, horizon=2)
    assert X.shape == (6, 3, 1) and y.shape == (6, 1)
    np.testing.assert_array_equal(X[0, :, 0], [0, 1, 2])
    assert y[0, 0] == 4.0 and y[-1, 0] == 9.0


def _ramp_csv(rows: int) -> str:
    return "x\n" + "\n".join(str(float(i)) for i in range(rows)) + "\n"


def test_zscore_uses_training_rows_only_and_validation_is_the_future() -> None:
    params = TASKS["csv_forecast"].validate(
        {"csv": _ramp_csv(20), "window": 2, "horizon": 1, "normalization": "zscore"}
    )
    data = SeriesData(params, 0.25)  # 18 windows: 14 train, 4 validation
    assert data.X_train.shape == (14, 2, 1) and data.X_val is not None
    train_rows = np.arange(16.0)  # rows seen by the training windows and their targets
    assert np.isclose(data.shift[0], train_rows.mean())
    assert np.isclose(data.scale[0], train_rows.std())
    restored = data.y_val[:, 0] * data.scale[0] + data.shift[0]
    np.testing.assert_allclose(restored, [16, 17, 18, 19])


def test_minmax_maps_training_rows_to_the_unit_interval() -> None:
    params = TASKS["csv_forecast"].validate(
        {"csv": _ramp_csv(12), "window": 2, "normalization": "minmax"}
    )
    data = SeriesData(params, 0.0)
    assert data.X_val is None
    assert data.X_train.min() == 0.0 and data.y_train.max() == 1.0


def test_too_few_rows_for_the_window_are_rejected() -> None:
    with pytest.raises(TaskError, match="csv has 5 rows; window 4 \\+ horizon 1 needs at least 6"):
        TASKS["csv_forecast"].sample(csv=_ramp_csv(5), window=4)


def test_model_sizes_follow_the_columns() -> None:
    config = TASKS["csv_forecast"].model_config({"csv": "a,b,c\n1,2,3\n4,5,6\n"})
    assert config["input_size"] == config["output_size"] == 3


def test_rmse_is_reported_per_column_in_the_csvs_units() -> None:
    params = TASKS["csv_forecast"].validate({"csv": "a,b\n" + "1,10\n3,30\n" * 10, "window": 2})
    data = SeriesData(params, 0.2)
    result = data._score(data.y_val + 0.5, data.y_val)  # 0.5 standard deviations off
    assert np.isclose(result["rmse"]["a"], 0.5 * 1.0) and np.isclose(result["rmse"]["b"], 5.0)


def test_a_series_whose_windows_would_not_fit_in_memory_is_refused() -> None:
    params = TASKS["csv_forecast"].validate({"csv": _ramp_csv(20_000), "window": 500})
    with pytest.raises(TaskError, match=r"csv gives 19500 windows of 500 rows × 1 columns"):
        SeriesData(params, None, max_elements=4_000_000)
