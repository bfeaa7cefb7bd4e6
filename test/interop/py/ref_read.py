"""Loads a safetensors/CryptoTensors file with the reference package and dumps it as hex.

Request: {path, keys?, via?, api?, enc_kid?, sign_kid?, tensors?, slice?}
  keys: a JWK set, one JWK or a list of JWKs.
  via: how the keys reach the reference —
    "direct"   (default) safe_open(..., config={"enc_key", "sign_key"}) with the first oct/okp
               key (or the one with enc_kid/sign_kid);
    "registry" register_direct_key_provider(keys=...) then no config;
    "env"      CRYPTOTENSOR_KEYS = json(keys), no config;
    "none"     no keys at all.
  api: "safe_open" (default; numpy framework, get_tensor per tensor) or "deserialize"
       (cryptotensors.deserialize(bytes): registry/env keys only, returns whatever the Rust
       `tensors()` gives, which is ciphertext when a tag check fails — FORMAT.md §8.4).
  tensors: names to read (default: all, in offset order).
  slice: {name, ranges: [[start, stop] | int, ...]} read through get_slice(name)[...].
Response: {ok: true, metadata, reserved, tensors: {name: {dtype, shape, hex}}, slice?}
       or {ok: false, error: {type, message, stage}} with stage "open", "get_tensor" or "slice".
"""
import contextlib
import json
import os

import numpy as np

import cryptotensors

from ref_common import direct_config, error_payload, key_list, read_request, respond

# numpy 2.2 has no bfloat16/float8 dtypes (the reference asks numpy for them by name and fails
# with "data type 'bfloat16' not understood"); we only want the bytes, so we lend numpy
# same-width integer stand-ins while one tensor is converted.
_BYTE_STANDINS = ("float8_e4m3fn", "float8_e5m2", "float8_e8m0fnu")


@contextlib.contextmanager
def raw_dtype_standins():
    original_dtype = np.dtype
    added = [name for name in _BYTE_STANDINS if not hasattr(np, name)]
    for name in added:
        setattr(np, name, np.uint8)

    def dtype_shim(spec, *args, **kwargs):
        if spec == "bfloat16":
            return original_dtype(np.uint16)
        return original_dtype(spec, *args, **kwargs)

    np.dtype = dtype_shim
    try:
        yield
    finally:
        np.dtype = original_dtype
        for name in added:
            delattr(np, name)


NEEDS_STANDIN = {"BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0"}
# 4- and 6-bit dtypes cannot be reshaped by numpy at all: the reference's numpy path cannot
# return them; only the "deserialize" api can.
NOT_NUMPY = {"F4", "F6_E2M3", "F6_E3M2"}


class NotSupported(Exception):
    pass


def array_hex(array):
    return np.ascontiguousarray(array).tobytes().hex()


def read_one(handle, name):
    view = handle.get_slice(name)
    dtype = view.get_dtype()
    shape = list(view.get_shape())
    if dtype in NOT_NUMPY:
        raise NotSupported(f"dtype {dtype} cannot be returned by the reference's numpy framework")
    if dtype in NEEDS_STANDIN:
        with raw_dtype_standins():
            array = handle.get_tensor(name)
    else:
        array = handle.get_tensor(name)
    return {"dtype": dtype, "shape": shape, "hex": array_hex(array)}


def slice_index(ranges):
    index = []
    for item in ranges:
        if isinstance(item, list):
            index.append(slice(item[0], item[1]))
        else:
            index.append(item)
    return tuple(index)


def read_safe_open(request, config):
    stage = "open"
    try:
        with cryptotensors.safe_open(request["path"], framework="numpy", config=config) as handle:
            metadata = handle.metadata() or {}
            reserved = handle.reserved_metadata() or {}
            names = request.get("tensors") or handle.offset_keys()
            tensors = {}
            stage = "get_tensor"
            for name in names:
                tensors[name] = read_one(handle, name)
            result = {"ok": True, "metadata": metadata, "reserved": reserved, "tensors": tensors}
            if request.get("slice") is not None:
                stage = "slice"
                spec = request["slice"]
                view = handle.get_slice(spec["name"])
                if view.get_dtype() in NEEDS_STANDIN:
                    with raw_dtype_standins():
                        part = view[slice_index(spec["ranges"])]
                else:
                    part = view[slice_index(spec["ranges"])]
                result["slice"] = {"shape": list(part.shape), "hex": array_hex(part)}
            return result
    except Exception as exc:  # noqa: BLE001 - the reference's exception is the answer
        return error_payload(exc, stage)


def read_deserialize(request):
    try:
        with open(request["path"], "rb") as f:
            data = f.read()
        items = cryptotensors.deserialize(data)
    except Exception as exc:  # noqa: BLE001
        return error_payload(exc, "open")
    wanted = request.get("tensors")
    tensors = {}
    for name, info in items:
        if wanted is None or name in wanted:
            tensors[name] = {"dtype": info["dtype"], "shape": list(info["shape"]), "hex": bytes(info["data"]).hex()}
    return {"ok": True, "metadata": {}, "reserved": {}, "tensors": tensors}


def main():
    request = read_request()
    keys = key_list(request.get("keys"))
    via = request.get("via", "direct")
    config = None
    if via == "direct":
        config = direct_config(keys, request.get("enc_kid"), request.get("sign_kid"))
    elif via == "registry":
        try:
            cryptotensors.register_direct_key_provider(keys=keys)
        except Exception as exc:  # noqa: BLE001
            respond(error_payload(exc, "register"))
            return
    elif via == "env":
        os.environ["CRYPTOTENSOR_KEYS"] = json.dumps({"keys": keys})
    elif via != "none":
        raise ValueError(f"unknown via {via!r}")
    if request.get("api", "safe_open") == "deserialize":
        respond(read_deserialize(request))
    else:
        respond(read_safe_open(request, config))


if __name__ == "__main__":
    main()
