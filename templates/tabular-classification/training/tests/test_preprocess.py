import pandas as pd

from tabular_training import preprocess


def test_split_is_stratified_and_disjoint(schema, frame) -> None:
    parts = preprocess.split(frame.reset_index(names="row"), schema)
    sizes = {name: len(part) for name, part in parts.items()}
    assert sum(sizes.values()) == len(frame)
    assert sizes["train"] == int(len(frame) * 0.7)
    rate = frame[schema.target].mean()
    for part in parts.values():
        assert abs(part[schema.target].mean() - rate) < 0.05


def test_run_writes_one_csv_per_split(tmp_path) -> None:
    written = preprocess.run(None, tmp_path, synthetic_rows=400)
    assert set(written) == set(preprocess.SPLITS)
    total = sum(len(pd.read_csv(path)) for path in written.values())
    assert total == 400
