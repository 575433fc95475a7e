"""Editing a design's request classes as plain data: add, rename and remove a class, with every mention of it.

A class is named in the workload, in calls (``classes: [checkout]``) and in the
nodes' fields keyed by class (``bulkheads``, ``service_time_by_class``).
Renaming one renames every mention, so the design means the same; removing one
removes every mention, so the other classes keep their paths.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import sandbox
from sandbox import edit

MIX: dict[str, Any] = {
    "name": "Checkout mix",
    "workload": {"entry": "api", "rate_rps": 200, "duration_s": 6, "warmup_s": 1, "slo_ms": 250,
                 "classes": {"browse": {"share": 0.8, "slo_ms": 200},
                             "checkout": {"share": 0.2, "slo_ms": 500, "priority": 1, "slo_target": 0.999}}},
    "nodes": {"api": {"kind": "service", "workers": 4, "discipline": "priority",
                      "service_time": {"dist": "exponential", "mean_ms": 5},
                      "service_time_by_class": {"checkout": {"dist": "exponential", "mean_ms": 20}},
                      "shed": {"queue_over": 20, "below_priority": 1}, "bulkheads": {"checkout": 2}},
              "payments": {"kind": "service", "workers": 8, "service_time": {"dist": "exponential", "mean_ms": 40}},
              "audit": {"kind": "service", "workers": 2, "service_time": {"dist": "constant", "mean_ms": 1}}},
    "edges": [{"from": "api", "to": "payments", "classes": ["checkout"]},
              {"from": "api", "to": "audit", "classes": ["browse", "checkout"]}],
}


def test_the_mix_used_here_is_valid() -> None:
    assert edit.problems(MIX) == []


# ── add ──────────────────────────────────────────────────────────────────────

def test_the_first_class_takes_every_request_so_the_design_stays_valid() -> None:
    plain = {k: v for k, v in MIX.items() if k != "edges"}
    plain = {**plain, "workload": {k: v for k, v in MIX["workload"].items() if k != "classes"},
             "nodes": {"payments": MIX["nodes"]["payments"]}}
    plain["workload"]["entry"] = "payments"
    data, name = edit.add_class(plain)
    assert name == "class" and data["workload"]["classes"] == {"class": {"share": 1}}
    assert edit.problems(data) == []
    assert "classes" not in plain["workload"]  # the input is not changed


def test_a_later_class_starts_with_no_share_so_the_shares_still_sum_to_one() -> None:
    data, name = edit.add_class(MIX)
    data, again = edit.add_class(data)
    assert (name, again) == ("class", "class2")
    assert list(data["workload"]["classes"]) == ["browse", "checkout", "class", "class2"]
    assert data["workload"]["classes"]["class"] == {"share": 0}
    assert edit.problems(data) == []


@pytest.mark.parametrize("name, reason", [("checkout", "there is already a class called 'checkout'"),
                                          ("two words", "a class name starts with a letter"),
                                          ("9lives", "a class name starts with a letter"),
                                          ("a.b", "a class name starts with a letter")])
def test_a_class_with_a_bad_or_taken_name_is_refused(name: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        edit.add_class(MIX, name)


def test_classes_that_are_not_a_mapping_are_replaced_by_the_new_class() -> None:
    junk = edit.set_field(MIX, "workload.classes", ["browse"])
    data, name = edit.add_class(junk)
    assert data["workload"]["classes"] == {name: {"share": 1}}


# ── rename ───────────────────────────────────────────────────────────────────

def test_renaming_a_class_renames_every_mention_and_keeps_the_order() -> None:
    data = edit.rename_class(MIX, "checkout", "paid")
    assert list(data["workload"]["classes"]) == ["browse", "paid"]
    assert data["workload"]["classes"]["paid"] == MIX["workload"]["classes"]["checkout"]
    assert [e["classes"] for e in data["edges"]] == [["paid"], ["browse", "paid"]]
    api = data["nodes"]["api"]
    assert api["bulkheads"] == {"paid": 2} and list(api["service_time_by_class"]) == ["paid"]
    assert edit.problems(data) == []
    assert "checkout" in MIX["workload"]["classes"]  # the input is not changed


def test_a_renamed_class_runs_exactly_as_before_under_its_new_name() -> None:
    # a class's own service time draws from a stream named after it (as a node's do), so leave that out here
    mix = edit.set_field(MIX, "nodes.api.service_time_by_class", None)
    before = sandbox.simulate(sandbox.from_dict(mix), seed=3)
    after = sandbox.simulate(sandbox.from_dict(edit.rename_class(mix, "checkout", "paid")), seed=3)
    assert after.classes["paid"].requests == before.classes["checkout"].requests
    assert after.classes["paid"].latency_ms == before.classes["checkout"].latency_ms
    assert after.latency_ms == before.latency_ms  # the same run, byte for byte, but for a name


@pytest.mark.parametrize("new", ["browse", "has space", ""])
def test_renaming_to_a_bad_or_taken_name_is_refused(new: str) -> None:
    with pytest.raises(ValueError):
        edit.rename_class(MIX, "checkout", new)


def test_renaming_to_the_same_name_changes_nothing() -> None:
    assert edit.rename_class(MIX, "checkout", " checkout ") == MIX


# ── remove ───────────────────────────────────────────────────────────────────

def test_removing_a_class_removes_its_calls_and_settings_and_leaves_the_shares() -> None:
    data = edit.remove_class(MIX, "checkout")
    assert data["workload"]["classes"] == {"browse": {"share": 0.8, "slo_ms": 200}}
    # the call only checkout made is gone; the shared one no longer names it
    assert data["edges"] == [{"from": "api", "to": "audit", "classes": ["browse"]}]
    api = data["nodes"]["api"]
    assert "bulkheads" not in api and "service_time_by_class" not in api
    # the shares are the player's to set again: the problem says so, at the classes
    assert edit.problems(data) == [("workload.classes",
                                    "the shares must sum to 1; they sum to 0.8 (browse 0.8)")]
    assert MIX["edges"][0]["classes"] == ["checkout"]  # the input is not changed


def test_removing_the_last_class_leaves_a_workload_without_classes() -> None:
    data = edit.remove_class(edit.remove_class(MIX, "checkout"), "browse")
    assert "classes" not in data["workload"]
    assert data["edges"] == []  # both calls were taken only by classes that are gone
    # what needs classes says so where it is set
    assert ("nodes.api.discipline" in {p for p, _ in edit.problems(data)})


def test_removing_an_unknown_class_changes_nothing() -> None:
    assert edit.remove_class(MIX, "nobody") == MIX


# ── a key of a mapping ───────────────────────────────────────────────────────

def test_clearing_the_last_bulkhead_removes_the_bulkheads() -> None:
    data = edit.set_keyed(MIX, "nodes.api.bulkheads.checkout", None)
    assert "bulkheads" not in data["nodes"]["api"]
    data = edit.set_keyed(data, "nodes.api.bulkheads.browse", 1)
    assert data["nodes"]["api"]["bulkheads"] == {"browse": 1}
    two = edit.set_keyed(MIX, "nodes.api.bulkheads.browse", 1)
    assert edit.set_keyed(two, "nodes.api.bulkheads.browse", None)["nodes"]["api"]["bulkheads"] == {"checkout": 2}


def test_class_names_reads_any_design() -> None:
    assert edit.class_names(MIX) == ["browse", "checkout"]
    assert edit.class_names({"workload": {"classes": "lots"}}) == []
    assert edit.class_names({}) == []
    assert edit.class_names(copy.deepcopy(MIX)) == edit.class_names(MIX)
