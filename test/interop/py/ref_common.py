"""Shared helpers of the ref_*.py scripts: JSON in on stdin, JSON out on stdout, errors as data.

Every script answers {"ok": true, ...} or {"ok": false, "error": {"type", "message", "stage"}} and
exits 0, so the TypeScript side can assert on the reference's exception class and message instead
of scraping a traceback. Only a bug in the script itself exits non-zero.
"""
import json
import sys

# Safetensors dtype name -> the dtype string the reference's raw `serialize_file` accepts
# (bindings/python/src/lib.rs `prepare`). F6_E2M3/F6_E3M2 have no entry: the Python API
# cannot write them.
WRITE_DTYPES = {
    "BOOL": "bool",
    "U8": "uint8",
    "I8": "int8",
    "I16": "int16",
    "U16": "uint16",
    "F16": "float16",
    "BF16": "bfloat16",
    "I32": "int32",
    "U32": "uint32",
    "F32": "float32",
    "I64": "int64",
    "U64": "uint64",
    "F64": "float64",
    "C64": "complex64",
    "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2",
    "F8_E8M0": "float8_e8m0fnu",
    "F4": "float4_e2m1fn_x2",
}


class ScriptError(Exception):
    """A bad request to the script (not a reference failure)."""


def read_request():
    return json.loads(sys.stdin.read())


def respond(payload):
    sys.stdout.write(json.dumps(payload))
    sys.stdout.flush()


def error_payload(exc, stage):
    return {
        "ok": False,
        "error": {"type": type(exc).__name__, "message": str(exc), "stage": stage},
    }


def key_list(keys):
    """Accepts a JWK set {"keys": [...]}, a single JWK, a list of JWKs or None."""
    if keys is None:
        return []
    if isinstance(keys, list):
        return keys
    if isinstance(keys, dict) and "keys" in keys:
        return keys["keys"]
    if isinstance(keys, dict) and "kty" in keys:
        return [keys]
    raise ScriptError("keys must be a JWK set, a JWK or a list of JWKs")


def pick_key(keys, kty, kid=None):
    """First key of that kty (and kid, when given), or None."""
    for key in keys:
        if key.get("kty") == kty and (kid is None or key.get("kid") == kid):
            return key
    return None


def direct_config(keys, enc_kid=None, sign_kid=None):
    """A config dict for safe_open/rewrap with direct enc_key/sign_key taken from a key list."""
    config = {}
    enc = pick_key(keys, "oct", enc_kid)
    sign = pick_key(keys, "okp", sign_kid)
    if enc is not None:
        config["enc_key"] = enc
    if sign is not None:
        config["sign_key"] = sign
    return config
