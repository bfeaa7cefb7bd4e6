"""Writes a (possibly encrypted) safetensors file with the reference package.

Request: {path, tensors: {name: {dtype, shape, hex}}, metadata?, config?, register_keys?, api?}
  dtype is the safetensors name ("F32", "BF16", "F8_E4M3", "F4", ...); shape counts elements as
  in the header (F4: 4-bit elements). config is passed to the reference unchanged (enc_key,
  sign_key, enc_kid, enc_jku, sign_kid, sign_jku, version, chunk_size, tensors, policy).
  register_keys: a JWK set registered with register_direct_key_provider first (registry path).
  api: "serialize_file" (default) or "serialize" (bytes, then written by this script).
Response: {ok: true, size} or {ok: false, error: {type, message, stage}}.
"""
import cryptotensors

from ref_common import WRITE_DTYPES, ScriptError, error_payload, key_list, read_request, respond


def tensor_dict(spec):
    out = {}
    for name, tensor in spec.items():
        dtype = tensor["dtype"]
        if dtype not in WRITE_DTYPES:
            raise ScriptError(f"dtype {dtype} cannot be written through the reference's Python API")
        shape = list(tensor["shape"])
        if dtype == "F4":
            # The binding doubles the last dimension of float4_e2m1fn_x2 (two values per byte).
            if not shape or shape[-1] % 2:
                raise ScriptError("F4 needs a last dimension divisible by 2")
            shape[-1] //= 2
        out[name] = {"dtype": WRITE_DTYPES[dtype], "shape": shape, "data": bytes.fromhex(tensor["hex"])}
    return out


def main():
    request = read_request()
    stage = "prepare"
    try:
        tensors = tensor_dict(request["tensors"])
        if request.get("register_keys") is not None:
            stage = "register"
            cryptotensors.register_direct_key_provider(keys=key_list(request["register_keys"]))
        stage = "serialize"
        metadata = request.get("metadata")
        config = request.get("config")
        if request.get("api", "serialize_file") == "serialize":
            data = bytes(cryptotensors.serialize(tensors, metadata=metadata, config=config))
            with open(request["path"], "wb") as f:
                f.write(data)
            size = len(data)
        else:
            cryptotensors.serialize_file(tensors, request["path"], metadata=metadata, config=config)
            with open(request["path"], "rb") as f:
                size = len(f.read())
        respond({"ok": True, "size": size})
    except ScriptError:
        raise
    except Exception as exc:  # noqa: BLE001 - the reference's exception is the answer
        respond(error_payload(exc, stage))


if __name__ == "__main__":
    main()
