"""Writes safetensors files with the real HF `safetensors` package, for the interop tests.

stdin: {"cases": [{"path", "api": "numpy" | "serialize", "tensors": [{"name", "dtype", "shape", "data"}],
         "metadata": {...} | null}]} with data as hex and dtype a safetensors name (F32, BF16, ...).
stdout: {"written": [paths]}
"""
import json
import sys

import numpy as np
import safetensors
import safetensors.numpy

NUMPY = {
    "BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "U16": np.uint16,
    "F16": np.float16, "I32": np.int32, "U32": np.uint32, "F32": np.float32, "C64": np.complex64,
    "F64": np.float64, "I64": np.int64, "U64": np.uint64,
}
# Names the Rust-level `safetensors.serialize_file` accepts (the torch spellings).
SERIALIZE = {
    "BOOL": "bool", "U8": "uint8", "I8": "int8", "F8_E5M2": "float8_e5m2", "F8_E4M3": "float8_e4m3fn",
    "F8_E8M0": "float8_e8m0fnu", "I16": "int16", "U16": "uint16", "F16": "float16", "BF16": "bfloat16",
    "I32": "int32", "U32": "uint32", "F32": "float32", "C64": "complex64", "F64": "float64",
    "I64": "int64", "U64": "uint64", "F4": "float4_e2m1fn_x2",
}


def write(case):
    tensors = case["tensors"]
    if case["api"] == "numpy":
        arrays = {
            t["name"]: np.frombuffer(bytes.fromhex(t["data"]), dtype=NUMPY[t["dtype"]]).reshape(t["shape"])
            for t in tensors
        }
        safetensors.numpy.save_file(arrays, case["path"], metadata=case["metadata"])
        return
    views = {}
    for t in tensors:
        shape = list(t["shape"])
        if t["dtype"] == "F4":
            # The binding counts float4_e2m1fn_x2 in pairs and doubles the last dimension on write.
            shape[-1] //= 2
        views[t["name"]] = {"dtype": SERIALIZE[t["dtype"]], "shape": shape, "data": bytes.fromhex(t["data"])}
    safetensors.serialize_file(views, case["path"], metadata=case["metadata"])


def main():
    request = json.load(sys.stdin)
    for case in request["cases"]:
        write(case)
    json.dump({"written": [c["path"] for c in request["cases"]], "version": safetensors.__version__}, sys.stdout)


main()
