"""The `import` command: a scenario draft from docker-compose or Kubernetes files (see :mod:`sandbox.cli`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from .errors import ScenarioError

__all__ = ["add_import_parser", "import_command", "write_new_file"]


def write_new_file(path: str, text: str, flag: str) -> None:
    """Write `text` to a file that must not exist yet: what a user made is never replaced."""
    try:
        with open(path, "x", encoding="utf-8") as f:   # "x": an existing file is never replaced
            f.write(text)
    except FileExistsError:
        raise ScenarioError(flag, [("", f"{path} already exists; choose another name")]) from None
    except OSError as exc:
        raise ScenarioError(flag, [("", f"{path} cannot be written: {exc.strerror or exc}")]) from None


def add_import_parser(sub: Any) -> None:
    """`sandbox import compose FILE` and `sandbox import k8s FILE_OR_DIR...`, each with --out."""
    imp = sub.add_parser("import", help="draft a scenario from your system's files (docker-compose, Kubernetes)")
    impsub = imp.add_subparsers(dest="import_command", required=True, metavar="FORMAT")
    imc = impsub.add_parser("compose", help="a docker-compose file: services, their kinds, calls and replicas")
    imc.add_argument("file", help="docker-compose.yml")
    imk = impsub.add_parser("k8s", help="Kubernetes manifests: Deployments, Services, autoscalers, Ingresses")
    imk.add_argument("paths", nargs="+", metavar="FILE_OR_DIR", help="manifest files, or folders of .yaml files")
    for each in (imc, imk):
        each.add_argument("--out", metavar="FILE", default=None,
                          help="write the draft here (never over an existing file) instead of printing it")


def import_command(args: argparse.Namespace, out: TextIO) -> int:
    """A scenario draft on standard output (or --out); what it assumed, on standard error."""
    from .drafts import draft_yaml
    if args.import_command == "compose":
        from .compose import from_compose
        draft = from_compose(args.file)
    else:
        from .k8s import from_k8s
        draft = from_k8s(*args.paths)
    text = draft_yaml(draft)
    if args.out is None:
        out.write(text)
    else:
        write_new_file(args.out, text, "--out")
        out.write(f"wrote {args.out}\n")
    nodes = draft.data["nodes"]
    kinds = ", ".join(f"{n} ({d['kind'].replace('_', ' ')})" for n, d in nodes.items())
    print(f"{len(nodes)} nodes: {kinds}; {len(draft.data['edges'])} calls; requests enter at "
          f"{draft.data['workload']['entry']}.", file=sys.stderr)
    print(f"{len(draft.assumed)} values are assumed (the files could not tell), marked in the draft's comments:",
          file=sys.stderr)
    for a in draft.assumed:
        print(f"  {a.path}: {a.why}", file=sys.stderr)
    for n in draft.notes:
        print(f"  note: {n}", file=sys.stderr)
    return 0
