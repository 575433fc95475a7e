"""Which importer a text is for: a design, a docker-compose file, or Kubernetes manifests.

The app's *Import* (and the YAML box) take any of the three; :func:`draft_of`
says which one a text is by its shape (``services:`` without ``nodes:`` is
compose; documents with ``apiVersion`` and ``kind`` are manifests) and drafts
it, or returns None for a design, which is read as one.
"""

from __future__ import annotations

from .compose import from_compose_text
from .drafts import Draft
from .k8s import from_k8s_texts
from .yamlio import parse_all

__all__ = ["draft_of"]


def draft_of(text: str, source: str) -> Draft | None:
    """The draft a compose file or a set of manifests makes (ScenarioError when it cannot), None for a design.

    >>> draft_of("name: x\\nworkload: {entry: a, rate_rps: 1, duration_s: 1}\\nnodes: {}\\n", "d.yaml") is None
    True
    >>> draft_of("services:\\n  web: {image: nginx}\\n  app: {image: acme/app}\\n", "c.yml").data["workload"]["entry"]
    'web'
    """
    documents = parse_all(text, source)
    if len(documents) == 1 and isinstance(documents[0], dict):
        doc = documents[0]
        if "services" in doc and "nodes" not in doc:
            return from_compose_text(text, source)
        if "nodes" in doc or "workload" in doc:
            return None
    if documents and any(isinstance(d, dict) and "apiVersion" in d and "kind" in d for d in documents):
        return from_k8s_texts({source: text})
    return None
