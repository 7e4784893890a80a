"""The agent's one piece of memory: the feed cursor of the last batch the receiver has."""

import json
import os
import tempfile


class StateError(Exception):
    pass


class StateFile:
    def __init__(self, path, *, url, agent):
        self.path, self.url, self.agent = os.path.abspath(path), url, agent

    def load(self):
        """The saved cursor, or None to start at the feed's beginning. A state file of another
        portal or agent is refused: its cursor would skip or repeat this agent's events."""
        try:
            with open(self.path, encoding="utf-8") as file:
                data = json.load(file)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise StateError(f"cannot read the state file {self.path}: {error}") from None
        if not isinstance(data, dict) or not isinstance(data.get("cursor"), str):
            raise StateError(f"the state file {self.path} is not one of this agent's")
        if (data.get("url"), data.get("agent")) != (self.url, self.agent):
            raise StateError(
                f"the state file {self.path} belongs to agent “{data.get('agent')}” at "
                f"{data.get('url')}; give this agent its own --state file"
            )
        return data["cursor"]

    def save(self, cursor):
        """Written to a temporary file, flushed to disk, then renamed over the old one: a crash
        at any point leaves either the old cursor or the new one, never half a file."""
        folder = os.path.dirname(self.path)
        os.makedirs(folder, exist_ok=True)
        body = json.dumps({"url": self.url, "agent": self.agent, "cursor": cursor})
        descriptor, temporary = tempfile.mkstemp(prefix=".state-", dir=folder)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(body + "\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)
