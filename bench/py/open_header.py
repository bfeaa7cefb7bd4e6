"""Child of bench/header-limits.mjs: opens one file with HF safetensors or the reference package
and prints {ok, error, seconds, peakRss, minflt, majflt} as JSON. Peak RSS is VmHWM of this
process (getrusage's maxrss could include a parent's high-water mark inherited across fork)."""
import json
import re
import resource
import sys
import time

which, path = sys.argv[1], sys.argv[2]
start = time.perf_counter()
ok, error = True, None
try:
    if which == "hf":
        from safetensors import safe_open
    else:
        from cryptotensors import safe_open
    with safe_open(path, framework="numpy") as f:
        list(f.keys())
except BaseException as exc:  # the point is to report whatever the library raises
    ok, error = False, f"{type(exc).__name__}: {str(exc)[:160]}"
seconds = time.perf_counter() - start
with open("/proc/self/status") as status:
    peak = int(re.search(r"^VmHWM:\s+(\d+) kB", status.read(), re.M).group(1)) * 1024
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"ok": ok, "error": error, "seconds": seconds, "peakRss": peak,
                  "minflt": usage.ru_minflt, "majflt": usage.ru_majflt}))
