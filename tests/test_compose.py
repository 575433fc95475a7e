"""Importing docker-compose files: kinds from images, calls from depends_on and the environment, every guess named."""

from __future__ import annotations

from pathlib import Path

import pytest

import sandbox
from sandbox.compose import from_compose, from_compose_text
from sandbox.drafts import draft_yaml, kind_of_image
from sandbox.errors import ScenarioError

from .conftest import run_command as cli

SHOP = """
services:
  proxy:
    image: nginx:1.27-alpine
    ports: ["80:80"]
    depends_on: [shop, admin]
  shop:
    image: ghcr.io/acme/shop:2.1
    deploy: {replicas: 3, resources: {limits: {cpus: "1.5"}}}
    environment:
      - DATABASE_URL=postgres://db:5432/shop
      - REDIS_HOST=cache
      - LOG_LEVEL=info
  admin:
    build: ./admin
    depends_on:
      db: {condition: service_healthy}
  db:
    image: postgres:16
  cache:
    image: bitnami/redis:7.2
"""



@pytest.mark.parametrize("image, kind", [
    ("postgres:16", "database"), ("bitnami/postgresql", "database"), ("mysql:8@sha256:abc", "database"),
    ("mongo", "database"), ("redis:7-alpine", "cache"), ("memcached:1.6", "cache"), ("nginx", "load_balancer"),
    ("traefik:v3", "load_balancer"), ("envoyproxy/envoy:v1.30", "load_balancer"), ("rabbitmq:3-management", "queue"),
    ("bitnami/kafka:3.7", "queue"), ("acme/api:1.0", "service"), ("registry:5000/team/redisson-app", "service"),
])
def test_the_kind_is_read_from_the_image(image: str, kind: str) -> None:
    assert kind_of_image(image) == kind


def test_postgres_redis_nginx_and_two_apps_become_five_nodes_with_their_calls() -> None:
    draft = from_compose_text(SHOP)
    nodes = draft.data["nodes"]
    assert {n: d["kind"] for n, d in nodes.items()} == {"proxy": "load_balancer", "shop": "service",
                                                        "admin": "service", "db": "database", "cache": "cache"}
    calls = [(e["from"], e["to"]) for e in draft.data["edges"]]
    # depends_on (short and long form) and the hosts named in the environment, each call once
    assert calls == [("proxy", "shop"), ("proxy", "admin"), ("shop", "db"), ("shop", "cache"), ("admin", "db")]
    assert [e.get("weight") for e in draft.data["edges"][:2]] == [1, 1]   # the balancer routes each request once
    assert draft.data["workload"]["entry"] == "proxy"   # it publishes a port and nothing calls it
    assert nodes["shop"]["replicas"] == 3 and nodes["shop"]["workers"] == 6   # ceil(1.5 CPUs x 4)
    s = sandbox.from_dict(draft.data)
    assert sandbox.simulate(sandbox.with_overrides(s, {"workload.duration_s": 10}), seed=1).requests.completed > 0


def test_every_value_the_file_cannot_tell_is_listed_as_assumed() -> None:
    draft = from_compose_text(SHOP)
    assumed = {a.path for a in draft.assumed}
    for name, node in draft.data["nodes"].items():
        if "service_time" in node:
            assert f"nodes.{name}.service_time" in assumed and f"nodes.{name}.workers" in assumed
    assert {"workload.rate_rps", "nodes.cache.hit_ratio", "edges"} <= assumed
    assert "workload.entry" not in assumed   # the file told it
    assert any("admin" in n and "no image" in n for n in draft.notes)


def test_the_draft_yaml_is_the_design_with_its_assumptions_as_comments() -> None:
    draft = from_compose_text(SHOP)
    text = draft_yaml(draft)
    assert sandbox.loads(text) == sandbox.from_dict(draft.data)
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert len(comments) == 1 + len(draft.assumed) + 1 + len(draft.notes)
    for a in draft.assumed:
        assert any(a.path in line and a.why in line for line in comments)


def test_the_files_text_cannot_escape_a_comment() -> None:
    hostile = 'services:\n  "a\\nb: 1": {image: "x\\nnodes: {evil: 1}\\nkafka"}\n'
    draft = from_compose_text(hostile)
    text = draft_yaml(draft)
    assert sandbox.loads(text) == sandbox.from_dict(draft.data)   # nothing the file said became YAML
    assert list(draft.data["nodes"]) == ["a_b__1"]


def test_names_that_are_not_node_names_are_made_valid_and_said() -> None:
    draft = from_compose_text("services:\n  my.api: {image: acme/api}\n  9lives: {image: acme/cat}\n"
                              "  my_api: {image: acme/other, depends_on: [my.api]}\n")
    assert list(draft.data["nodes"]) == ["my_api", "_9lives", "my_api_2"]
    assert [(e["from"], e["to"]) for e in draft.data["edges"]] == [("my_api_2", "my_api")]
    assert sum("is node" in n for n in draft.notes) == 3


def test_a_queue_and_a_stream_are_drafted_with_what_is_missing_said() -> None:
    draft = from_compose_text("services:\n  api: {image: acme/api, ports: ['8080:80'], depends_on: [bus]}\n"
                              "  bus: {image: bitnami/kafka:3}\n")
    assert draft.data["nodes"]["bus"]["kind"] == "queue"
    assert any("stream" in n for n in draft.notes) and any("consume" in n for n in draft.notes)


@pytest.mark.parametrize("text, where, reason", [
    ("services: [a, b]\n", "services", "maps `services:` to at least one service"),
    ("version: '3'\nnetworks: {}\n", "services", "no `services:` (it has version, networks)"),
    ("services: {}\n", "services", "at least one service"),
    ("services:\n  web: nginx\n", "services.web", "must be a mapping of the service's settings"),
    ("services: [unclosed\n", "", "line"),
    ("just text\n", "services", "at the top"),
])
def test_a_file_that_is_not_compose_is_refused_naming_the_entry(text: str, where: str, reason: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        from_compose_text(text, "docker-compose.yml")
    assert exc.value.source == "docker-compose.yml"
    assert any(p.startswith(where) and reason in r for p, r in exc.value.problems) or reason in str(exc.value)


def test_the_command_prints_the_draft_lists_the_assumptions_and_never_overwrites(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(SHOP)
    code, out, err = cli(capsys, "import", "compose", str(compose))
    assert code == 0 and sandbox.loads(out) == sandbox.from_dict(from_compose(compose).data)
    assert "5 nodes" in err and "values are assumed" in err and "nodes.db.service_time" in err
    target = tmp_path / "draft.yaml"
    assert cli(capsys, "import", "compose", str(compose), "--out", str(target))[0] == 0
    assert sandbox.load(target).nodes.keys() == {"proxy", "shop", "admin", "db", "cache"}
    target.write_text("mine")
    code, _, err = cli(capsys, "import", "compose", str(compose), "--out", str(target))
    assert code == 2 and "already exists" in err and target.read_text() == "mine"
    bad = tmp_path / "bad.yml"
    bad.write_text("services: [a]\n")
    code, _, err = cli(capsys, "import", "compose", str(bad))
    assert code == 2 and str(bad) in err and "services" in err


def test_a_proxy_that_calls_nothing_is_drafted_as_a_service_and_said() -> None:
    draft = from_compose_text("services:\n  site: {image: nginx:1.27, ports: ['80:80']}\n")
    assert draft.data["nodes"]["site"]["kind"] == "service"   # a balancer with nothing behind it is not valid
    assert any("calls nothing" in n for n in draft.notes)
    assert "nodes.site.service_time" in {a.path for a in draft.assumed}
