#!/usr/bin/env python3
"""Check an ONNX model with the onnx package and score rows with onnxruntime.

Usage: $PEERS_VENV/bin/python scripts/onnx-score.py MODEL.onnx ROWS_JSON

An independent check of `carelab models export --format onnx`: the model
must pass `onnx.checker.check_model` (with full_check, which runs shape
inference), and onnxruntime (not CareLab) scores the rows of ROWS_JSON (a
JSON array of rows, each a list of the model's input columns; null for a
missing number, sent as NaN).

Prints one JSON object: the opset, ir_version, metadata_props, the input
and output names and shapes as onnxruntime sees them, and the
probabilities. Exit status 0 when the model checks and scores, 1 when not
(the reason on stderr), 2 on a usage error or a missing onnx/onnxruntime.
"""

import json
import sys

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
except ImportError as e:  # the caller decides whether a missing peer is fatal
    print(f"onnx-score: onnx or onnxruntime is not installed ({e})", file=sys.stderr)
    sys.exit(2)


def shape(arg):
    return {"name": arg.name, "shape": [d if isinstance(d, int) else str(d) for d in arg.shape]}


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    path, rows_path = argv[1:]
    model = onnx.load(path)
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as e:
        print(f"onnx-score: the checker rejects {path}: {e}", file=sys.stderr)
        return 1
    with open(rows_path) as f:
        rows = json.load(f)
    x = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=np.float32)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (out,) = session.run(["probability"], {"features": x})
    print(
        json.dumps(
            {
                "ir_version": model.ir_version,
                "opset": [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")],
                "metadata": {p.key: p.value for p in model.metadata_props},
                "inputs": [shape(a) for a in session.get_inputs()],
                "outputs": [shape(a) for a in session.get_outputs()],
                "dtype": str(out.dtype),
                "probability": [float(v) for v in out[:, 0]],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
