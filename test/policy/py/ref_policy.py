"""Asks the reference package how it decides each policy: writes a tiny encrypted file with the
policy as `local`, opens it, and reports whether opening succeeded or the error message.

Request: {dir, enc_key, sign_key, policies: [str]}; response: {results: [{ok} | {ok: false, type, message}]}.
"""
import json
import os
import sys

import cryptotensors


def main():
    request = json.loads(sys.stdin.read())
    keys = {"enc_key": request["enc_key"], "sign_key": request["sign_key"]}
    tensors = {"w": {"dtype": "float32", "shape": [2], "data": bytes(8)}}
    results = []
    for i, policy in enumerate(request["policies"]):
        path = os.path.join(request["dir"], f"p{i}.safetensors")
        config = dict(keys, policy={"local": policy, "remote": "package model\nallow = true"})
        try:
            cryptotensors.serialize_file(tensors, path, config=config)
        except Exception as exc:  # noqa: BLE001 - the reference's exception is the answer
            results.append({"ok": False, "stage": "write", "type": type(exc).__name__, "message": str(exc)})
            continue
        try:
            with cryptotensors.safe_open(path, framework="numpy", config=keys) as handle:
                handle.keys()
            results.append({"ok": True})
        except Exception as exc:  # noqa: BLE001
            results.append({"ok": False, "stage": "read", "type": type(exc).__name__, "message": str(exc)})
    sys.stdout.write(json.dumps({"results": results}))


if __name__ == "__main__":
    main()
