"""Reading and writing claims frames (parquet) and SageMaker path conventions."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pandas as pd

PROCESSING_BASE = "/opt/ml/processing"
SPLITS = ("train", "validation", "test")


def env_path(var: str, default: str) -> str:
    return os.environ.get(var, default)


def write_frame(df: pd.DataFrame, directory: str | Path, name: str = "claims.parquet") -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    df.to_parquet(path, index=False)
    return path


def read_frame(directory: str | Path) -> pd.DataFrame:
    """All parquet/CSV files of a channel directory (or a single file) as one frame."""
    directory = Path(directory)
    if directory.is_file():
        files = [directory]
    else:
        files = sorted(directory.glob("*.parquet")) or sorted(directory.glob("*.csv"))
    if not files:
        raise FileNotFoundError(
            f"no .parquet or .csv files in {directory}; run preprocess first or point the "
            "channel at the preprocess output"
        )
    frames = [pd.read_parquet(f) if f.suffix == ".parquet" else pd.read_csv(f) for f in files]
    return pd.concat(frames, ignore_index=True)


def resolve_model_dir(path: str | Path, workdir: str | Path) -> Path:
    """A bundle directory, or a SageMaker model.tar.gz (in a dir or given directly) unpacked."""
    path = Path(path)
    tar = path if path.is_file() else path / "model.tar.gz"
    if tar.is_file():
        out = Path(workdir)
        out.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tar) as t:
            t.extractall(out, filter="data")
        return out
    return path


def pack_model(model_dir: str | Path, tar_path: str | Path) -> Path:
    """model.tar.gz the way SageMaker packs SM_MODEL_DIR."""
    model_dir, tar_path = Path(model_dir), Path(tar_path)
    tar_path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path, "w:gz") as t:
        for item in sorted(model_dir.iterdir()):
            t.add(item, arcname=item.name)
    return tar_path
