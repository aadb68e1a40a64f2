"""Start a user's server inside its sandbox as that user: ``python -I -m medai_edu.hub.launch
UID -- COMMAND...``.

bubblewrap runs as root (it must, to mount) and starts this; it drops to ``UID`` for good, with
no capability left and no way back through set-uid programs, goes to ``$HOME`` and becomes
``COMMAND``.
"""

from __future__ import annotations

import os
import sys

from medai_edu.sandboxing import drop_privileges


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--" or not argv[0].isdigit():
        sys.exit("usage: python -m medai_edu.hub.launch UID -- COMMAND [ARG...]")
    drop_privileges(int(argv[0]))
    os.chdir(os.environ["HOME"])  # only now: the home is closed to root without capabilities
    os.execvp(argv[2], argv[2:])


if __name__ == "__main__":
    main(sys.argv[1:])
