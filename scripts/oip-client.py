#!/usr/bin/env python3
"""Call a model over the Open Inference Protocol with NVIDIA's own client.

Usage: $PEERS_VENV/bin/python scripts/oip-client.py HOST:PORT MODEL TOKEN ROWS_JSON

An independent check of `carelab serve`'s KServe V2 routes: tritonclient's
HTTP client (pip install 'tritonclient[http]', written by NVIDIA for Triton)
asks whether the server is live and ready, whether MODEL is ready, reads the
model's metadata, and infers on the rows of ROWS_JSON (a JSON array of rows,
each a list of the model's input columns; null for a missing number, sent
as NaN) twice: once with the tensors as JSON (only the rows without a
missing number: JSON has no NaN) and once, every row, in the binary tensor
extension the client uses by default. TOKEN goes in an Authorization:
Bearer header on every call.

Prints one JSON object: live, ready, model_ready, metadata, and the
probabilities of each infer (json_data, binary_data). Exit status 0 when
every call succeeded, 1 when one failed (its error on stderr), 2 on a
usage error or a missing tritonclient.
"""

import json
import sys

try:
    import numpy as np
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException
except ImportError as e:  # the caller decides whether a missing peer is fatal
    print(f"oip-client: tritonclient[http] is not installed ({e})", file=sys.stderr)
    sys.exit(2)


def infer(client, model, rows, binary, headers):
    """The probabilities for `rows`, with tensors sent and received as
    JSON (`binary` False) or in the binary extension."""
    tensor = httpclient.InferInput("features", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows, binary_data=binary)
    wanted = httpclient.InferRequestedOutput("probability", binary_data=binary)
    result = client.infer(model, [tensor], outputs=[wanted], headers=headers)
    out = result.as_numpy("probability")
    assert out.shape == (rows.shape[0], 1), f"output shape {out.shape}"
    assert out.dtype == np.float32, f"output dtype {out.dtype}"
    return [float(x) for x in out[:, 0]]


def main(argv):
    if len(argv) != 5:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    url, model, token, rows_path = argv[1:]
    with open(rows_path) as f:
        rows = json.load(f)
    rows = np.array(
        [[np.nan if x is None else x for x in row] for row in rows], dtype=np.float32
    )
    headers = {"Authorization": f"Bearer {token}"}
    client = httpclient.InferenceServerClient(url=url)
    try:
        report = {
            "live": client.is_server_live(headers=headers),
            "ready": client.is_server_ready(headers=headers),
            "model_ready": client.is_model_ready(model, headers=headers),
            "metadata": client.get_model_metadata(model, headers=headers),
            "json_data": infer(
                client, model, rows[~np.isnan(rows).any(axis=1)], False, headers
            ),
            "binary_data": infer(client, model, rows, True, headers),
        }
    except InferenceServerException as e:
        print(f"oip-client: {e}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
