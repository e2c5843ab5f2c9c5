#!/usr/bin/env python3
"""Load an MLflow model directory with mlflow and predict its input example.

Usage: $PEERS_VENV/bin/python scripts/mlflow-load.py MODEL_DIR

An independent check of `carelab models export --format mlflow`: MLflow's
own loader (`mlflow.pyfunc.load_model`, pip install mlflow-skinny pandas
onnx onnxruntime) reads the MLmodel file, its onnx flavour and signature,
and predicts the saved input example.

Prints one JSON object: the signature's input and output schemas as MLflow
reads them, the model's metadata, the input example's shape, and the
probabilities. Exit status 0 when it loads and predicts, 1 when not (the
reason on stderr), 2 on a usage error or a missing mlflow.
"""

import json
import logging
import os
import sys

try:
    import numpy as np
    import mlflow.pyfunc
except ImportError as e:  # the caller decides whether a missing peer is fatal
    print(f"mlflow-load: mlflow is not installed ({e})", file=sys.stderr)
    sys.exit(2)


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    path = argv[1]
    # MLflow warns that the model names no Python version: CareLab cannot
    # know which Python will load it.
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    try:
        model = mlflow.pyfunc.load_model(path)
        with open(os.path.join(path, "input_example.json")) as f:
            example = {k: np.array(v, dtype=np.float32) for k, v in json.load(f).items()}
        out = model.predict(example)
    except Exception as e:  # noqa: BLE001 - any failure to load is the finding
        print(f"mlflow-load: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    meta = model.metadata
    print(
        json.dumps(
            {
                "inputs": meta.get_input_schema().to_dict(),
                "outputs": meta.get_output_schema().to_dict(),
                "metadata": meta.metadata,
                "flavors": sorted(meta.flavors),
                "example_shape": {k: list(v.shape) for k, v in example.items()},
                "probability": [float(x) for x in out["probability"][:, 0]],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
