"""The previous release, as CHANGELOG.md names it: git tags may not travel with main, so the
commit is read from the file (CONTRACT §14)."""

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
CHANGELOG = ROOT / "CHANGELOG.md"
VERSION = re.compile(r"^## (\d+\.\d+\.\d+)\s*$")
COMMIT = re.compile(r"^commit: ([0-9a-f]{40})\s*$")


class ReleaseError(Exception):
    """The changelog or the clone cannot say what the previous release is: one line why."""


@dataclass(frozen=True)
class Release:
    version: str
    commit: str

    def files(self):
        """Every path in the release's tree."""
        listed = git("ls-tree", "-r", "--name-only", self.commit, missing=self)
        return set(listed.splitlines())


def previous_release(changelog=CHANGELOG):
    """The newest release: the first `## X.Y.Z` heading and the `commit:` line under it."""
    version = None
    for line in Path(changelog).read_text().splitlines():
        if heading := VERSION.match(line):
            if version:
                break
            version = heading[1]
        elif version and (commit := COMMIT.match(line)):
            return Release(version, commit[1])
    if version:
        raise ReleaseError(
            f"{Path(changelog).name}: release {version} has no `commit: <40 hex digits>` line."
        )
    raise ReleaseError(f"{Path(changelog).name} names no release (a `## X.Y.Z` heading).")


def git(*args, missing=None):
    result = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        if missing is not None:
            raise ReleaseError(
                f"Commit {missing.commit} of release {missing.version} (CHANGELOG.md) is not "
                "in this clone: fetch the history (git fetch --unshallow origin main)."
            )
        raise ReleaseError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout
