"""Drafts: a scenario started from the user's own files, each value the files could not tell named as assumed.

The readers (:mod:`sandbox.compose` for docker-compose, :mod:`sandbox.k8s` for
Kubernetes manifests) say what runs, with which image, how many replicas,
what calls what and where requests enter; this module turns that into a
design: the kind from the image (each kind lists the image names it claims),
the kind's palette defaults for every number the files leave out, each one an
:class:`Assumption` with its field and the reason, so the user knows what to
measure. :func:`draft_yaml` writes the draft with the assumptions as comments.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .errors import ScenarioError
from .kinds import KINDS
from .kinds.service import SERVICE
from .scenario import from_dict

__all__ = ["Assumption", "Draft", "Workload", "kind_of_image", "node_names", "draft_node", "host_references",
           "finish", "draft_yaml", "DEFAULT_RATE_RPS", "WORKERS_PER_CPU"]

DEFAULT_RATE_RPS = 100
WORKERS_PER_CPU = 4        # threads that mostly wait on I/O: a few per core
_NAME_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Assumption:
    """A value the files could not tell: where it sits in the draft, what was put there, and why."""
    path: str
    value: Any
    why: str


@dataclass
class Draft:
    """A scenario drafted from the user's files: its data (valid as a design) and what in it is assumed."""
    data: dict[str, Any]
    assumed: list[Assumption] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # what the import left out, and why
    command: str = "sandbox import"


@dataclass
class Workload:
    """What a reader found of one deployable thing: its image, size and environment."""
    image: str | None
    replicas: int | None = None
    cpus: float | None = None
    environment: list[str] = field(default_factory=list)   # the values, where host names hide
    published: bool = False                               # reachable from outside (a port, a public Service)
    autoscale: dict[str, Any] | None = None


def kind_of_image(image: str) -> str:
    """The node kind an image is recognised as (a service when no kind claims it).

    >>> kind_of_image("bitnami/postgresql:16"), kind_of_image("redis:7-alpine"), kind_of_image("acme/api")
    ('database', 'cache', 'service')
    """
    name = image.lower().rsplit("@", 1)[0]
    name = name.rsplit("/", 1)[-1].split(":", 1)[0]          # the repository's last part, without its tag
    words = set(re.split(r"[^a-z0-9]+", name)) | {name}
    for kind in KINDS.values():
        if words & set(kind.images):
            return kind.name
    return SERVICE.name


def node_names(names: Iterable[str], draft: Draft, noun: str) -> dict[str, str]:
    """Each name's node name: itself where it is a valid one, else made valid (and said in the notes)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for s in names:
        name = s if _NAME_OK.match(s) else re.sub(r"[^A-Za-z0-9_-]", "_", s)
        if not re.match(r"[A-Za-z_]", name):
            name = "_" + name
        name = name[:64]
        base, k = name, 2
        while name in taken:
            name, k = f"{base[:60]}_{k}", k + 1
        if name != s:
            draft.notes.append(f"{noun} {s!r} is node {name!r} (node names hold letters, digits, _ and -)")
        taken.add(name)
        out[s] = name
    return out


def draft_node(name: str, w: Workload, draft: Draft) -> dict[str, Any]:
    """A node for one workload: its kind by image, its replicas and autoscaling, defaults named as assumed."""
    kind = kind_of_image(w.image) if w.image is not None else SERVICE.name
    if w.image is None:
        draft.notes.append(f"{name}: no image (built from source), so it is a service")
    elif re.search(r"(kafka|redpanda)", w.image.lower()):
        draft.notes.append(f"{name}: {w.image!r} is a stream; it is drafted as a queue (its partitions are not "
                           "modelled)")
    node = copy.deepcopy(KINDS[kind].palette)
    fields = KINDS[kind].spec.model_fields
    if w.replicas is not None and "replicas" in fields:
        node["replicas"] = w.replicas
    if w.autoscale is not None and "autoscale" in fields:
        node["autoscale"] = w.autoscale
        node["replicas"] = w.autoscale["min_replicas"]
        draft.assumed.append(Assumption(f"nodes.{name}.autoscale.cold_start_s", w.autoscale["cold_start_s"],
                                        "how long a new replica takes to serve (image pull, start, readiness): "
                                        "measure it"))
    if "workers" in node:
        if w.cpus is not None:
            node["workers"] = max(1, math.ceil(w.cpus * WORKERS_PER_CPU))
            why = (f"{WORKERS_PER_CPU} per CPU of its limit ({w.cpus:g}): threads that mostly wait on I/O; set its "
                   "real pool size")
        else:
            why = f"the {KINDS[kind].label}'s default: set its pool or connection limit"
        draft.assumed.append(Assumption(f"nodes.{name}.workers", node["workers"], why))
    if "service_time" in node:
        mean = node["service_time"].get("mean_ms")
        draft.assumed.append(Assumption(f"nodes.{name}.service_time", node["service_time"],
                                        f"a typical {KINDS[kind].label} ({mean:g} ms): measure it"))
    if "hit_ratio" in node:
        draft.assumed.append(Assumption(f"nodes.{name}.hit_ratio", node["hit_ratio"],
                                        "a common hit ratio: read yours from the cache's stats"))
    return node


def host_references(values: Iterable[str], hosts: dict[str, str]) -> list[str]:
    """The targets whose host names (``hosts``: host -> target) appear in the values as a host: ``db`` in
    ``postgres://db:5432/x`` or ``db.shop.svc.cluster.local``, not in ``mydb`` or ``db_name``."""
    found = []
    for value in values:
        for host, target in hosts.items():
            if re.search(rf"(?<![A-Za-z0-9_.-]){re.escape(host)}(?![A-Za-z0-9_-])", value):
                found.append(target)
    return found


def finish(draft: Draft, source: str, what: str, nodes: dict[str, Any], calls: list[tuple[str, str]],
           published: list[str]) -> Draft:
    """The design from its nodes and calls (each once, in order): a balancer's calls weighed equally, the entry
    chosen, the traffic assumed, and the whole validated. `what` names the files, in the plural ("Kubernetes
    manifests"); `published` are the nodes reachable from outside, the likeliest entry first."""
    edges: list[dict[str, Any]] = []
    for pair in dict.fromkeys(c for c in calls if c[0] != c[1]):
        edges.append({"from": pair[0], "to": pair[1]})
    for node, spec in list(nodes.items()):
        out = [e for e in edges if e["from"] == node]
        if KINDS[spec["kind"]].balancer and not out:   # a balancer needs something to balance over
            draft.notes.append(f"{node} looks like a {KINDS[spec['kind']].label} but calls nothing the files "
                               "name: drafted as a service (serving its own content); give it its calls and "
                               f"kind: {spec['kind']} if it proxies")
            nodes[node] = spec = copy.deepcopy(SERVICE.palette)
            draft.assumed.append(Assumption(f"nodes.{node}.service_time", spec["service_time"],
                                            "a typical service: measure it"))
        if KINDS[spec["kind"]].balancer and len(out) > 1:   # a balancer routes each request to one of them
            for e in out:
                e["weight"] = 1
            draft.assumed.append(Assumption(f"nodes.{node} calls", "weight 1 each",
                                            f"{node} routes to {len(out)} services; set each one's share of requests"))
        if KINDS[spec["kind"]].asynchronous:
            draft.notes.append(f"{node} is a {KINDS[spec['kind']].label}: which services consume it the files "
                               f"cannot tell; add a call from {node} to each consumer")
    if edges:
        draft.assumed.append(Assumption("edges", "probability 1", "every call is made on every request: set the "
                                                                  "share of requests that make each"))
    called = {e["to"] for e in edges}
    front = [n for n in published if n not in called]
    pools = ([n for n in front if KINDS[nodes[n]["kind"]].balancer], front, [n for n in nodes if n not in called],
             list(nodes))
    entry = next(pool[0] for pool in pools if pool)
    if entry not in front:
        draft.assumed.append(Assumption("workload.entry", entry, "nothing reachable from outside is called by "
                                                                 "none: set where your requests arrive"))
    draft.assumed.insert(0, Assumption("workload.rate_rps", DEFAULT_RATE_RPS,
                                       f"{what} say nothing of traffic: set your peak requests per second"))
    draft.data = {
        "name": f"Imported from {Path(source).name}",
        "description": f"Drafted from {what}: the structure is the files', the numbers are assumptions (see the "
                       "comments) to replace with measurements.",
        "workload": {"entry": entry, "rate_rps": DEFAULT_RATE_RPS, "duration_s": 60, "warmup_s": 5},
        "nodes": nodes,
        "edges": edges,
    }
    try:
        from_dict(draft.data, source)
    except ScenarioError as exc:   # a draft that does not validate is a bug here, said with its reasons
        raise ScenarioError(source, [(p, f"the drafted design is not valid: {r}") for p, r in exc.problems]) from None
    return draft


def draft_yaml(draft: Draft) -> str:
    """The draft as a YAML design, its assumptions and notes as comments at the top."""
    import yaml
    head = [f"# Drafted by `{draft.command}`. Assumed (the files could not tell; replace with measurements):"]
    head += [_comment(f"  {a.path}: {_inline(a.value)}  ({a.why})") for a in draft.assumed]
    if draft.notes:
        head += ["# Notes:"] + [_comment(f"  {n}") for n in draft.notes]
    body = yaml.safe_dump(draft.data, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(head) + "\n" + body


def _comment(text: str) -> str:
    """One YAML comment line: the files' text in it (an image name, a service's) can never end the comment."""
    return "# " + re.sub(r"[\x00-\x1f\x7f\u0085\u2028\u2029]", " ", text)


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)
