#!/usr/bin/env python3
"""What costs the bytes of the app's wasm: code size per crate and the largest functions,
read from the wasm's name section (standard library only, nothing to install).

Run on the module cargo builds before wasm-bindgen and wasm-opt (it still has its names):

    bash scripts/build-app.sh
    python3 scripts/wasm-size.py target/wasm32-unknown-unknown/wasm-release/plansync-app.wasm

Sizes are before wasm-opt, so they add up to more than dist/'s wasm; the shares carry over.
"""

import collections
import re
import sys


def leb128(data, i):
    """An unsigned LEB128 number at `i`, and the index after it."""
    result = shift = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def sections(data):
    """(id, body) of each section of a wasm module."""
    i = 8
    while i < len(data):
        sid = data[i]
        size, i = leb128(data, i + 1)
        yield sid, data[i : i + size]
        i += size


def imported_functions(body):
    """How many functions the import section brings in (they come first in the index)."""
    n, j = leb128(body, 0)
    funcs = 0
    for _ in range(n):
        for _ in range(2):  # module and field names
            length, j = leb128(body, j)
            j += length
        kind = body[j]
        j += 1
        if kind == 0:  # function: type index
            _, j = leb128(body, j)
            funcs += 1
        elif kind == 1:  # table: element type, limits
            j += 1
            flags, j = leb128(body, j)
            _, j = leb128(body, j)
            if flags & 1:
                _, j = leb128(body, j)
        elif kind == 2:  # memory: limits
            flags, j = leb128(body, j)
            _, j = leb128(body, j)
            if flags & 1:
                _, j = leb128(body, j)
        elif kind == 3:  # global: type, mutability
            j += 2
    return funcs


def function_names(body):
    """Function index -> name, from the `name` custom section's body (after its name)."""
    names = {}
    j = 0
    while j < len(body):
        sub = body[j]
        size, j = leb128(body, j + 1)
        part = body[j : j + size]
        j += size
        if sub != 1:
            continue
        n, k = leb128(part, 0)
        for _ in range(n):
            index, k = leb128(part, k)
            length, k = leb128(part, k)
            names[index] = part[k : k + length].decode("utf8", "replace")
            k += length
    return names


def crate_of(name):
    """The crate a (legacy-mangled) Rust symbol belongs to; for a trait impl, the type's."""
    m = re.match(r"_ZN(\d+)([\w$.]+)", name)
    if not m:
        return name.split("::")[0][:40]
    first = m.group(2)[: int(m.group(1))]
    if first.startswith("_$LT$"):
        inner = first[len("_$LT$") :]
        m = re.match(r"(?:\$RF\$|\$u20\$|mut|dyn|\$LP\$)*([a-z_0-9]+)\.\.", inner)
        return m.group(1) if m else "(generic impls)"
    return first


def main(path):
    data = open(path, "rb").read()
    imports, bodies, names, data_bytes = 0, [], {}, 0
    for sid, body in sections(data):
        if sid == 2:
            imports = imported_functions(body)
        elif sid == 10:
            n, j = leb128(body, 0)
            for _ in range(n):
                size, k = leb128(body, j)
                bodies.append(size + (k - j))
                j = k + size
        elif sid == 11:
            data_bytes = len(body)
        elif sid == 0:
            length, j = leb128(body, 0)
            if body[j : j + length] == b"name":
                names = function_names(body[j + length :])
    total = sum(bodies)
    print(f"{path}: {len(data)} bytes; code {total} in {len(bodies)} functions; data {data_bytes}")
    by_crate = collections.Counter()
    largest = []
    for i, size in enumerate(bodies):
        name = names.get(imports + i, "?")
        by_crate[crate_of(name)] += size
        largest.append((size, name))
    print("code bytes by crate:")
    for crate, size in by_crate.most_common(25):
        print(f"{size:>9} {100 * size / total:5.1f}%  {crate}")
    print("largest functions:")
    for size, name in sorted(largest, reverse=True)[:15]:
        print(f"{size:>9}  {name[:120]}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: wasm-size.py PATH.wasm")
    main(sys.argv[1])
