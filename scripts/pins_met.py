"""Exit 0 when every pinned requirement (name==version, following -r includes) is installed at that version,
else 1: scripts/test.sh then skips a pip run that would change nothing (it costs ~8 s of the suite's budget)."""
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def pins(path: Path) -> list[tuple[str, str]] | None:
    out = []
    for raw in path.read_text().splitlines():
        line = raw.split("#")[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            sub = pins(path.parent / line[3:].strip())
            if sub is None:
                return None
            out += sub
        elif "==" in line and not any(c in line for c in "<>;@[ "):
            name, want = line.split("==", 1)
            out.append((name, want))
        else:
            return None  # anything but an exact pin: let pip decide
    return out


def main(path: str) -> int:
    wanted = pins(Path(path))
    if wanted is None:
        return 1
    for name, want in wanted:
        try:
            if version(name).split("+")[0] != want.split("+")[0]:
                return 1
        except PackageNotFoundError:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
