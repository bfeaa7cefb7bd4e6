"""Times the reference package loading every tensor of a file: safe_open + get_tensor per tensor.

argv: path, keys.json (a JWK set; its first oct key and first okp key go in config), repeats.
Prints JSON: {"seconds": [...], "tensors": n, "bytes": total}.
"""
import json
import sys
import time

import cryptotensors


def main():
    path, keys_path, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(keys_path) as handle:
        keys = json.load(handle)["keys"]
    config = {
        "enc_key": next(k for k in keys if k.get("kty") == "oct"),
        "sign_key": next(k for k in keys if k.get("kty") == "okp"),
    }
    seconds = []
    count = 0
    total = 0
    for _ in range(repeats):
        start = time.perf_counter()
        with cryptotensors.safe_open(path, framework="numpy", config=config) as handle:
            count = 0
            total = 0
            for name in handle.keys():
                array = handle.get_tensor(name)
                count += 1
                total += array.nbytes
        seconds.append(time.perf_counter() - start)
        del array
    print(json.dumps({"seconds": seconds, "tensors": count, "bytes": total}))


if __name__ == "__main__":
    main()
