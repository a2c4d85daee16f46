"""Files in the stand-in, as Slack keeps them: what people attach in a modal's ``file_input`` or share in a
conversation, ``files.info``, downloads of ``url_private_download`` with a bot token of the file's workspace (any
other token gets Slack's sign-in page, with status 200), and the external upload an app makes a copy by
(``files.getUploadURLExternal``, the upload, ``files.completeUploadExternal`` sharing it in a thread)."""

from __future__ import annotations

import json
import mimetypes
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.standin.state import TEAM, Message

# What Slack answers a download made without a token that may read the file: its sign-in page.
SIGN_IN_PAGE = b"<!DOCTYPE html><html><head><title>Sign in to Slack</title></head><body>Sign in</body></html>"
MAX_FILE = 1024 * 1024 * 1024  # Slack takes files up to 1 GB; the file_input element takes 10 MB


@dataclass
class StoredFile:
    id: str
    team: str
    user: str
    name: str
    title: str
    mimetype: str
    content: bytes
    created: int
    complete: bool = True  # an external upload is not a file until completed
    deleted: bool = False
    hidden: bool = False  # the app may not read it (a conversation it is not in): files.info says file_not_found
    shares: list[tuple[str, str]] = field(default_factory=list)  # (channel, ts) of each message showing it

    @property
    def filetype(self) -> str:
        return self.name.rpartition(".")[2].lower() if "." in self.name else "binary"


class Files:
    """The file methods of ``SlackStandIn``, which holds their state (``files``)."""

    def add_file(
        self, user: str, name: str, content: bytes, *, mimetype: str | None = None, team: str = TEAM
    ) -> dict[str, Any]:
        """``user`` picked a file from their computer (a modal's file_input, or a message's attachment): Slack's
        file object for it, as a view submission or a message reports it."""
        with self.lock:
            stored = StoredFile(
                f"F{next(self._ids):010d}",
                team,
                user,
                name,
                name,
                mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream",
                content,
                int(self.clock()),
            )
            self.files[stored.id] = stored
            return self.file_object(stored)

    def share_file(
        self, user: str, channel: str, file: dict[str, Any], text: str = "", thread_ts: str | None = None
    ) -> Message:
        """``user`` posted a message with a file they added (``add_file``) in ``channel``."""
        with self.lock:
            stored = self.files[file["id"]]
            ts = self._next_ts()
            message = Message(channel, ts, text, [], thread_ts, files=[self.file_object(stored)], user=user)
            self.messages[(channel, ts)] = message
            stored.shares.append((channel, ts))
            self.version += 1
            return message

    def change_file(self, file_id: str, content: bytes) -> None:
        """The file's owner edited it in Slack: its content is not what it was."""
        with self.lock:
            self.files[file_id].content = content

    def delete_file(self, file_id: str) -> None:
        with self.lock:
            self.files[file_id].deleted = True

    def file_object(self, stored: StoredFile) -> dict[str, Any]:
        base = f"{self.url}/files-pri/{stored.team}-{stored.id}"
        quoted = urllib.parse.quote(stored.name)
        return {
            "id": stored.id,
            "created": stored.created,
            "timestamp": stored.created,
            "name": stored.name,
            "title": stored.title,
            "mimetype": stored.mimetype,
            "filetype": stored.filetype,
            "pretty_type": stored.filetype.upper(),
            "user": stored.user,
            "user_team": stored.team,
            "size": len(stored.content),
            "mode": "hosted",
            "is_external": False,
            "is_public": False,
            "url_private": f"{base}/{quoted}",
            "url_private_download": f"{base}/download/{quoted}",
            "permalink": f"https://demo.slack.com/files/{stored.user}/{stored.id}/{quoted}",
            # Where it is shared, as Slack lists it: public channels, private ones and group DMs, and DMs.
            "channels": sorted({c for c, _ in stored.shares if c[:1] == "C"}),
            "groups": sorted({c for c, _ in stored.shares if c[:1] == "G"}),
            "ims": sorted({c for c, _ in stored.shares if c[:1] == "D"}),
            "shares": {
                "public": {c: [{"ts": ts}] for c, ts in stored.shares if c[:1] == "C"},
                "private": {c: [{"ts": ts}] for c, ts in stored.shares if c[:1] != "C"},
            },
        }

    def file_content(self, file_id: str) -> bytes:
        with self.lock:
            return self.files[file_id].content

    def _readable(self, file_id: str) -> StoredFile | None:
        """The file as the calling workspace's app may read it."""
        stored = self.files.get(file_id)
        if stored is None or stored.deleted or stored.hidden or not stored.complete or stored.team != self.caller_team:
            return None
        return stored

    def _files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = str(args.get("file") or "")
        stored = self.files.get(file_id)
        if stored is not None and stored.deleted and stored.team == self.caller_team:
            return {"ok": False, "error": "file_deleted"}
        if (stored := self._readable(file_id)) is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": self.file_object(stored)}

    def download(self, path: str, token: str) -> tuple[int, bytes, str]:
        """A GET of a file's ``url_private(_download)``: (status, body, content type)."""
        parts = path.removeprefix("/files-pri/").split("/")
        team, _, file_id = parts[0].partition("-")
        with self.lock:
            stored = self.files.get(file_id)
            if stored is None or stored.team != team:
                return 404, b"file not found", "text/plain"
            if self.token_team(token) != team:
                return 200, SIGN_IN_PAGE, "text/html; charset=utf-8"
            if stored.deleted or stored.hidden or not stored.complete:
                return 404, b"file not found", "text/plain"
            return 200, stored.content, stored.mimetype

    def token_team(self, token: str) -> str | None:
        """The workspace a bot token belongs to, or None for anything else."""
        if self.oauth is not None:
            issued = self.oauth.tokens.get(token)
            return issued[0] if issued else None
        return TEAM if token.startswith("xoxb-") else None

    def _files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("filename") or "")
        length = str(args.get("length") or "")
        if not name or not length.isdigit() or not 0 < int(length) <= MAX_FILE:
            return self._refuse("files.getUploadURLExternal", "invalid_arguments", ["filename and length: required"])
        stored = StoredFile(
            f"F{next(self._ids):010d}",
            self.caller_team,
            "U0BOT",
            name,
            name,
            mimetypes.guess_type(name)[0] or "application/octet-stream",
            b"",
            int(self.clock()),
            complete=False,
        )
        self.files[stored.id] = stored
        return {"ok": True, "upload_url": f"{self.url}/upload/v1/{stored.id}", "file_id": stored.id}

    def upload(self, path: str, data: bytes) -> tuple[int, str]:
        """The POST of a file's bytes to the URL files.getUploadURLExternal gave."""
        with self.lock:
            stored = self.files.get(path.removeprefix("/upload/v1/"))
            if stored is None or stored.complete:
                return 404, "invalid upload url"
            stored.content = data
            return 200, f"OK - {len(data)}"

    def _files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        listed = args.get("files")
        listed = json.loads(listed) if isinstance(listed, str) else listed
        if not isinstance(listed, list) or not listed:
            return self._refuse("files.completeUploadExternal", "invalid_arguments", ["files: required"])
        channel, thread_ts = args.get("channel_id"), args.get("thread_ts")
        if thread_ts and channel and (channel, thread_ts) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        done = []
        for entry in listed:
            stored = self.files.get(str(entry.get("id")))
            if stored is None or stored.complete or stored.team != self.caller_team or not stored.content:
                return {"ok": False, "error": "file_not_found"}
            stored.complete = True
            stored.title = str(entry.get("title") or stored.name)
            done.append(stored)
        if channel:
            ts = self._next_ts()
            objects = [self.file_object(stored) for stored in done]
            text = str(args.get("initial_comment") or "")
            self.messages[(channel, ts)] = Message(channel, ts, text, [], thread_ts, files=objects, user="U0BOT")
            for stored in done:
                stored.shares.append((channel, ts))
        return {"ok": True, "files": [{"id": stored.id, "title": stored.title} for stored in done]}
