"""Reads safetensors files with the real HF `safetensors` package, for the interop tests.

stdin: {"files": [{"path", "numpy": bool}]}
stdout: {"files": [{"ok", "error"?, "metadata", "tensors": [{"name", "dtype", "shape", "data"}],
         "numpy": {name: {"dtype", "shape", "data"}} | null}]} with data as hex.
`deserialize` covers every dtype; `safe_open(framework="numpy")` is the user path for numpy dtypes.
"""
import json
import sys

import safetensors


def read(entry):
    with open(entry["path"], "rb") as f:
        raw = f.read()
    try:
        tensors = [
            {"name": name, "dtype": view["dtype"], "shape": list(view["shape"]), "data": bytes(view["data"]).hex()}
            for name, view in safetensors.deserialize(raw)
        ]
    except Exception as e:  # noqa: BLE001 - the test asserts on the message
        return {"ok": False, "error": str(e)}
    out = {"ok": True, "tensors": tensors, "metadata": None, "numpy": None}
    with safetensors.safe_open(entry["path"], framework="numpy") as handle:
        out["metadata"] = handle.metadata()
        if entry["numpy"]:
            out["numpy"] = {}
            for name in handle.keys():
                array = handle.get_tensor(name)
                out["numpy"][name] = {"dtype": str(array.dtype), "shape": list(array.shape), "data": array.tobytes().hex()}
    return out


def main():
    request = json.load(sys.stdin)
    json.dump({"files": [read(e) for e in request["files"]]}, sys.stdout)


main()
