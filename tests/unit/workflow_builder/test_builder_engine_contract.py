"""What the builder writes passes kefu's own publish checks (the engine's reading of the BPMN contract)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from kefu.workflow.builder import to_bpmn
from kefu.workflow.engine import parse, validate_bpmn

from .flows import ALL, random_flows

LAWS = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("make", ALL, ids=lambda make: make.__name__)
def test_typical_flows_pass_the_engine_checks(make):
    xml = to_bpmn(make())
    assert validate_bpmn(xml) == []
    assert parse(xml) is not None


@LAWS
@given(random_flows())
def test_any_valid_form_passes_the_engine_checks(flow):
    assert validate_bpmn(to_bpmn(flow)) == []
