#!/usr/bin/env python3
"""Reads a valgrind memcheck XML report and fails (exit 1) on every error that has a stack frame
in the named object (our addon), listing them; definite leaks allocated from it fail too. Errors
entirely inside Node/V8 are counted but do not fail: they are not ours to fix.

    triage.py valgrind.xml cryptotensors.node
"""
import sys
import xml.etree.ElementTree as ET


def frames(error):
    for frame in error.iter("frame"):
        yield (frame.findtext("obj") or "", frame.findtext("fn") or "?", frame.findtext("file") or "", frame.findtext("line") or "")


def main(path, ours):
    root = ET.parse(path).getroot()
    errors = root.findall("error")
    mine, foreign = [], 0
    for error in errors:
        kind = error.findtext("kind") or "?"
        stack = list(frames(error))
        if any(ours in obj for obj, *_ in stack):
            mine.append((kind, error.findtext("what") or (error.find("xwhat").findtext("text") if error.find("xwhat") is not None else ""), stack))
        else:
            foreign += 1
    status = root.find("status")
    print(f"valgrind: {len(errors)} report(s): {len(mine)} in {ours}, {foreign} in node/V8/libc (not ours)")
    # Suppressed reports are listed too, so that a one-time allocation hidden by node.supp (OpenSSL's
    # lazy per-thread init inside the addon) stays visible in the job's output.
    for pair in root.iter("pair"):
        print(f"  suppressed {pair.findtext('count')}x: {pair.findtext('name')}")
    for kind, what, stack in mine:
        print(f"  {kind}: {what}")
        for obj, fn, file, line in stack[:12]:
            print(f"      {fn} ({file}:{line})" if file else f"      {fn} [{obj}]")
    if status is None:
        print("valgrind: the report is incomplete (did the scenario crash?)")
        return 1
    return 1 if mine else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
