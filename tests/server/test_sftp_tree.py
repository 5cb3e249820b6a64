"""The virtual tree's parent of a path that names nothing: a directory of the tree (writing
there is refused, the directory exists) or nothing at all (not found)."""

from __future__ import annotations

import pytest

from ecluse.server.sftp_tree import parent

IID = "0b5f0000-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (b"/x.csv", "root"),
        (b"/outbox/x.csv", "outbox"),
        (b"/outbox/../x.csv", "root"),
        (b"/inbox/x", "inbox"),
        (f"/inbox/{IID}/bad|name".encode(), "instruction"),
        (b"/etc/passwd", None),
        (b"/inbox/not-an-id/x.csv", None),
        (b"/outbox/sub/x.csv", None),
        (b"/\xff/x", None),
    ],
)
def test_parent(path: bytes, kind: str | None) -> None:
    node = parent(path)
    assert (node.kind if node else None) == kind
