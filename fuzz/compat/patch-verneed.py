#!/usr/bin/env python3
"""Marks version requirements of an ELF shared object weak (VER_FLG_WEAK), so that the dynamic
loader accepts it on a system whose libc/libstdc++ lacks those versions; the symbols themselves
must then come from a preloaded library (glibc-compat.c).

    patch-verneed.py IN OUT VERSION...
"""
import struct
import sys

SHT_GNU_VERNEED = 0x6FFFFFFE
VER_FLG_WEAK = 0x2


def patch(data: bytearray, versions: set) -> int:
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise SystemExit("not a little-endian ELF64 file")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    patched = 0
    for _name, kind, _flags, _addr, offset, _size, link, info, _align, _entsize in sections:
        if kind != SHT_GNU_VERNEED:
            continue
        strtab = sections[link][4]
        need = offset
        for _ in range(info):
            _version, count, _file, aux, next_need = struct.unpack_from("<HHIII", data, need)
            entry = need + aux
            for _ in range(count):
                _hash, flags, _other, name, next_aux = struct.unpack_from("<IHHII", data, entry)
                start = strtab + name
                if data[start:data.index(0, start)].decode() in versions:
                    struct.pack_into("<H", data, entry + 4, flags | VER_FLG_WEAK)
                    patched += 1
                entry += next_aux
            need += next_need
    return patched


if __name__ == "__main__":
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    source, target, wanted = sys.argv[1], sys.argv[2], set(sys.argv[3:])
    with open(source, "rb") as handle:
        image = bytearray(handle.read())
    count = patch(image, wanted)
    if count == 0:
        raise SystemExit(f"none of {sorted(wanted)} is required by {source}")
    with open(target, "wb") as handle:
        handle.write(image)
    print(f"marked {count} version requirement(s) weak in {target}")
