"""The reference package's retained load, driven one load at a time by a benchmark in Node.

argv: path, keys.json (a JWK set; its first oct key and first okp key go in config).
On each stdin line "load": safe_open + get_tensor of every tensor, results kept alive (as a server
keeps the model it serves) until the next load has finished, so every load lands in fresh memory.
Prints one JSON line per load: {"ms", "minorFaults", "majorFaults", "tensors", "bytes"}, timed and
counted inside this process. "quit" (or end of input) exits.
"""
import json
import resource
import sys
import time

import cryptotensors


def load(path, config):
    tensors = {}
    with cryptotensors.safe_open(path, framework="numpy", config=config) as handle:
        for name in handle.keys():
            tensors[name] = handle.get_tensor(name)
    return tensors


def main():
    path, keys_path = sys.argv[1], sys.argv[2]
    with open(keys_path) as handle:
        keys = json.load(handle)["keys"]
    config = {
        "enc_key": next(k for k in keys if k.get("kty") == "oct"),
        "sign_key": next(k for k in keys if k.get("kty") == "okp"),
    }
    kept = None
    for line in sys.stdin:
        if line.strip() != "load":
            break
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        loaded = load(path, config)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        kept = loaded  # the previous load is released only now
        print(
            json.dumps(
                {
                    "ms": seconds * 1000,
                    "minorFaults": after.ru_minflt - before.ru_minflt,
                    "majorFaults": after.ru_majflt - before.ru_majflt,
                    "tensors": len(kept),
                    "bytes": sum(a.nbytes for a in kept.values()),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
