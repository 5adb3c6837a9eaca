# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks, without installing, that ``meson install`` puts each part where its user looks.

usage: layout.py BUILD_DIR PREFIX GST_PLUGINSDIR

With the system's prefix (/usr or /usr/local): the plugin in GStreamer's own
plugin dir, the Python package in a directory this interpreter searches; for
any prefix: a byte-compiled package that importing leaves unchanged (so
uninstall removes everything), and a ``shmring`` command that runs the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def installed(build: str) -> dict[str, str]:
    """Map every file or directory meson installs to its destination."""
    out = subprocess.run(["meson", "introspect", "--installed", build],
                         check=True, capture_output=True, text=True).stdout
    return {os.path.basename(src.rstrip("/")): dst for src, dst in json.loads(out).items()}


def tree(path: str) -> list[str]:
    """Every path under path, sorted."""
    return sorted(os.path.join(d, n) for d, dirs, files in os.walk(path) for n in dirs + files)


def main() -> int:
    build, prefix, pluginsdir = sys.argv[1:]
    dests = installed(build)
    errors = []
    system_prefix = prefix.rstrip("/") in ("/usr", "/usr/local")

    plugin = dests.get("libgstshmring.so")
    if plugin and system_prefix and os.path.dirname(plugin) != pluginsdir:
        errors.append(f"the plugin goes to {plugin}, but GStreamer only looks in {pluginsdir}")

    package = dests.get("shmring")
    if package:
        search = subprocess.run([sys.executable, "-I", "-c", "import sys; print('\\n'.join(sys.path))"],
                                check=True, capture_output=True, text=True).stdout.split()
        if system_prefix and os.path.dirname(package) not in search:
            errors.append(f"the Python package goes to {package}, which {sys.executable} does not search: "
                          f"{search}")

        # Importing every module of the staged package (as root would, once
        # installed) must write nothing: no __pycache__ that uninstall misses.
        stage = os.path.join(build, "python")
        before = tree(os.path.join(stage, "shmring"))
        modules = sorted(n[:-3] for n in os.listdir(os.path.join(stage, "shmring"))
                         if n.endswith(".py") and n != "__main__.py")
        code = ("import importlib, sys\nsys.path.insert(0, sys.argv[1])\n"
                "for m in sys.argv[2:]:\n"
                "    try:\n        importlib.import_module('shmring.' + m if m != '__init__' else 'shmring')\n"
                "    except ImportError:\n        pass  # an optional dependency (cv2) is missing\n")
        subprocess.run([sys.executable, "-I", "-c", code, stage, *modules], check=True)
        added = sorted(set(tree(os.path.join(stage, "shmring"))) - set(before))
        if added:
            errors.append(f"importing the package to be installed wrote {added}: it is not byte-compiled")

        launcher = os.path.join(build, "python", "shmring-launcher")
        if os.path.basename(dests.get("shmring-launcher", "")) != "shmring":
            errors.append(f"no shmring command installed: {dests}")
        env = dict(os.environ, PYTHONPATH=stage)
        got = subprocess.run([launcher, "--help"], env=env, capture_output=True, text=True)
        want = subprocess.run([sys.executable, "-m", "shmring", "--help"], env=env, capture_output=True, text=True)
        def options(help_text: str) -> list[str]:
            """The help text without its usage lines, which name the program."""
            return [line.strip() for line in help_text.split("\n\n", 1)[-1].splitlines()]
        if got.returncode != 0 or not got.stdout or options(got.stdout) != options(want.stdout):
            errors.append(f"`shmring --help` gave {got.returncode} {got.stdout!r} {got.stderr!r}, "
                          f"`python3 -m shmring --help` {want.stdout!r}")

    for e in errors:
        print("error:", e)
    if not errors:
        print("\n".join(f"{k} -> {v}" for k, v in sorted(dests.items())))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
