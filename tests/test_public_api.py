"""The public surface: what the top level exports, and the old paths of moved names."""

from __future__ import annotations

import ast
import importlib
import warnings
from pathlib import Path

import pytest

import overdue_risk as odr
import overdue_risk.simulate
import overdue_risk.workflows
from overdue_risk._version import __version__

SIMULATOR_INTERNALS = (
    "LoggedPolicy NoAction PolicyContext PolicyResult RandomPolicy SimulatedPortfolio "
    "SimulationState SimulationTruth WorklistPolicy simulate_policy"
).split()
WHAT_USERS_CALL = [
    "run_nightly",
    "NightlyRun",
    "train_risk_model",
    "evaluate_model",
    "score_portfolio",
    "TrainingResult",
    "learn_value_model",
    "prioritise_portfolio",
    "allocate",
    "account_state",
    "eligibility",
    "logged_decisions",
    "off_policy_value",
    "Allocation",
    "ArrearsRule",
    "LadderRule",
    "compare_policies",
    "simulated_comparison",
    "PolicyComparison",
    "simulate_portfolio",
    "Scenario",
    "AsOfSplit",
    "tune_risk_model",
]


def test_every_top_level_name_resolves_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in odr.__all__:
            assert getattr(odr, name) is not None, name


def test_the_top_level_holds_what_users_call_and_no_simulator_internals():
    assert set(WHAT_USERS_CALL) <= set(odr.__all__)
    assert not set(SIMULATOR_INTERNALS) & set(odr.__all__)
    assert odr.train_risk_model is overdue_risk.workflows.train_risk_model
    assert odr.simulate_portfolio is overdue_risk.simulate.simulate_portfolio


@pytest.mark.parametrize(
    ("module", "names"),
    [
        (
            "overdue_risk.model",
            ["SENSITIVE_ATTRIBUTES", "sensitive_columns", "describe_features", "undescribed"],
        ),
        ("overdue_risk.evaluation", ["ContributionSummaryDisplay", "WaterfallDisplay"]),
        ("overdue_risk.features", ["attribute_descriptions", "static_attributes"]),
    ],
)
def test_model_review_names_are_exported(module, names):
    package = importlib.import_module(module)
    assert set(names) <= set(package.__all__)
    assert all(getattr(package, name) is not None for name in names)


def test_version_lives_in_its_own_module():
    assert odr.__version__ == __version__
    assert __version__ != "0+unknown"


@pytest.mark.parametrize("name", SIMULATOR_INTERNALS)
def test_simulator_internals_at_the_top_level_warn_and_are_the_same(name):
    with pytest.warns(DeprecationWarning, match=rf"overdue_risk\.{name} has moved to "):
        old = getattr(odr, name)
    assert old is getattr(overdue_risk.simulate, name)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("overdue_risk.model", "train_risk_model"),
        ("overdue_risk.model", "evaluate_model"),
        ("overdue_risk.model", "score_portfolio"),
        ("overdue_risk.model", "TrainingResult"),
        ("overdue_risk.prioritise._worklist", "learn_value_model"),
    ],
)
def test_moved_workflows_warn_at_their_old_path_and_are_the_same(module, name):
    old_home = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=rf"overdue_risk\.workflows\.{name}"):
        old = getattr(old_home, name)
    assert old is getattr(overdue_risk.workflows, name)


def test_from_import_of_an_old_path_warns_at_the_importer():
    with pytest.warns(DeprecationWarning) as caught:
        from overdue_risk.model import train_risk_model
    assert train_risk_model is overdue_risk.workflows.train_risk_model
    assert caught[0].filename == __file__


@pytest.mark.parametrize("module", ["overdue_risk", "overdue_risk.model"])
def test_unknown_names_still_raise_attribute_error(module):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
            importlib.import_module(module).nothing_here  # noqa: B018


def test_no_package_imports_the_root_package():
    """``__version__`` comes from ``overdue_risk._version``, never from the root package."""
    root = Path(odr.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        depth = len(path.relative_to(root).parts) - 1  # packages between the root and it
        if depth == 0:
            continue  # the root package's own modules
        for node in ast.walk(ast.parse(path.read_text())):
            to_root = isinstance(node, ast.ImportFrom) and (
                (node.module is None and node.level == depth + 1)
                or (node.level == 0 and node.module == "overdue_risk")
            )
            named = isinstance(node, ast.Import) and "overdue_risk" in {a.name for a in node.names}
            if to_root or named:
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == []
