"""hako's hot functions sit side by side at the start of its text (cmake/hako.order, lld's
--symbol-ordering-file; scripts/gen-text-order writes the file). The kernel maps 64 KiB around
each page fault, so spread over the image they cost every hako process ~0.7 MiB of resident
set more (bench/run's rss figure). This fails when the link stops applying the order, or when
the file has gone stale (regenerate it with scripts/gen-text-order)."""
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HAKO = REPO / "build" / "hako"
ORDER = REPO / "cmake" / "hako.order"


def listed_functions():
    return [line.strip() for line in ORDER.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def text_functions():
    out = subprocess.run(["nm", "-S", "--defined-only", str(HAKO)], capture_output=True,
                         text=True, check=True).stdout
    funcs = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in "tTwW":
            funcs.setdefault(f[3], (int(f[0], 16), int(f[1], 16)))
    return funcs


def test_the_order_file_still_names_hakos_functions():
    listed = listed_functions()
    funcs = text_functions()
    found = [n for n in listed if n in funcs]
    assert len(found) >= 0.9 * len(listed), (
        f"only {len(found)} of the {len(listed)} functions in {ORDER.name} are in build/hako: "
        "regenerate it (scripts/gen-text-order)")


def test_the_listed_functions_are_side_by_side_at_the_start():
    listed = listed_functions()
    funcs = text_functions()
    found = [funcs[n] for n in listed if n in funcs]
    start = min(addr for addr, _ in funcs.values())
    size = sum(sz for _, sz in found)
    end = max(addr + sz for addr, sz in found)
    # Whole sections move (a libc object's other functions come along): some slack, but far
    # less than the 1.8 MB of text they would span unordered.
    assert end - start <= 2 * size, (
        f"the {len(found)} listed functions ({size} bytes) span {end - start} bytes of text: "
        "is hako linked with lld and --symbol-ordering-file (CMakeLists.txt, HAKO_TEXT_ORDER)?")
