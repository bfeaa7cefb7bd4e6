"""Rewraps an encrypted file in place with cryptotensors.rewrap_file.

Request: {path, new_keys, old_keys?, policy?, enc_kid?, sign_kid?, new_config?}
  new_keys: JWK set; its first oct key becomes new_config.enc_key and its first okp key (with
  `d` and `x`) new_config.sign_key. policy: {local?, remote?} replaces the file's policy.
  old_keys: JWK set for opening the file (direct keys); absent -> registry/env lookup.
  new_config: merged over the config built from new_keys (for probing e.g. alg changes).
Response: {ok: true, size} or {ok: false, error: {type, message, stage}}.
"""
import cryptotensors

from ref_common import direct_config, error_payload, key_list, read_request, respond


def main():
    request = read_request()
    new_config = direct_config(key_list(request["new_keys"]), request.get("enc_kid"), request.get("sign_kid"))
    if request.get("policy") is not None:
        new_config["policy"] = request["policy"]
    new_config.update(request.get("new_config") or {})
    old_config = None
    if request.get("old_keys") is not None:
        old_config = direct_config(key_list(request["old_keys"]))
    try:
        cryptotensors.rewrap_file(request["path"], new_config, old_config)
        with open(request["path"], "rb") as f:
            size = len(f.read())
        respond({"ok": True, "size": size})
    except Exception as exc:  # noqa: BLE001 - the reference's exception is the answer
        respond(error_payload(exc, "rewrap"))


if __name__ == "__main__":
    main()
