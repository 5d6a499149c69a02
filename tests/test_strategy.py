"""The prioritiser's strategy: defaults, shipped profiles, TOML round trips and errors."""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

import overdue_risk as odr
from helpers import ROOT
from overdue_risk.prioritise._rules import RULES
from overdue_risk.prioritise._strategy import (
    ACTIONS,
    ActionSpec,
    Strategy,
    StrategyError,
)

PROFILES = ("china", "default", "uk_eu", "us_reg_f")


def _keys(data: dict, prefix: str = "") -> set[str]:
    """The dotted keys of the leaves of nested dicts."""
    out = set()
    for k, v in data.items():
        key = f"{prefix}{k}"
        out |= _keys(v, f"{key}.") if isinstance(v, dict) else {key}
    return out


# -- defaults --------------------------------------------------------------------------


def test_defaults():
    s = Strategy()
    assert ACTIONS == ("sms", "call", "visit", "letter", "restructure", "legal", "wait")
    assert s.action_names == ("sms", "call", "visit", "restructure", "legal", "wait")
    assert not s.actions.letter.enabled and s.actions.letter.channel == "letter"
    assert s.actions.visit.min_dpd == 15 and s.actions.visit.min_overdue == 100.0
    legal = s.actions.legal
    assert (legal.min_dpd, legal.min_balance, legal.min_failed_contacts) == (90, 500.0, 3)
    assert legal.requires_restructure_considered and legal.channel == "none"
    assert s.actions.call.capacity == math.inf and s.rules.max_attempts_7d == math.inf
    assert {getattr(s.actions, a).capacity_per_10k for a in ACTIONS} == {math.inf}
    assert s.rules.counted_actions == ("call",)
    assert s.flags.opt_out_voice == "opt_out_call" and s.flags.cease_contact == "cease_contact"
    assert (s.actions.wait.capacity, s.actions.wait.channel) == (math.inf, "none")
    assert (s.summary()["source"] == "default").all()


def test_a_disabled_action_leaves_the_strategy():
    s = Strategy.from_dict({"actions": {"visit": {"enabled": False}, "legal": {"enabled": False}}})
    assert s.action_names == ("sms", "call", "restructure", "wait")
    assert list(s.action_table().index) == ["sms", "call", "restructure", "wait"]


def test_letter_is_an_action_once_enabled():
    s = Strategy.from_dict({"actions": {"letter": {"enabled": True, "min_dpd": 10}}})
    assert s.action_names == ("sms", "call", "visit", "letter", "restructure", "legal", "wait")
    assert s.action_table().loc["letter", "min_dpd"] == 10


def test_action_table():
    table = Strategy.profile("china").action_table()
    assert table.loc["visit", "cost"] == 50.0
    assert table.loc["legal", "min_balance"] == 500.0
    assert table.loc["wait", "channel"] == "none"
    assert "enabled" not in table.columns


def test_values_are_normalised():
    s = Strategy.from_dict(
        {
            "actions": {"call": {"capacity": 300.0, "max_dpd": 60.0}},
            "rules": {"max_attempts_7d": 7.0, "counted_actions": ["call", "visit"]},
            "hours": {"start": dt.time(7, 30), "end": " 20:00:00 "},
        }
    )
    assert s.actions.call.capacity == 300 and isinstance(s.actions.call.capacity, int)
    assert s.actions.call.max_dpd == 60 and isinstance(s.actions.call.max_dpd, int)
    assert s.rules.counted_actions == ("call", "visit")
    assert (s.hours.start, s.hours.end) == ("07:30", "20:00")


# -- profiles --------------------------------------------------------------------------


def test_profiles_are_listed():
    assert Strategy.profiles() == PROFILES


@pytest.mark.parametrize("name", PROFILES)
def test_profile_loads_validates_and_is_complete(name):
    s = Strategy.profile(name)
    assert s.name == name and s.extends == name
    text = (ROOT / "src/overdue_risk/prioritise/profiles" / f"{name}.toml").read_text()
    written = _keys(tomllib.loads(text))
    every = set(Strategy().summary()["key"]) - {"extends", *_optional_keys()}
    assert written == every, "a profile lists every key"
    # Loading it as a user file gives the same values.
    assert replace(Strategy.from_dict(tomllib.loads(text)), extends=name) == s
    assert set(s.summary()["source"]) <= {"default", "profile"}


def _optional_keys() -> set[str]:
    return {f"actions.{a}.products" for a in ACTIONS[:-1]}


# The capacities every shipped profile sets, per 10,000 loans of the book a day.
TEAM = {"call": 180.0, "visit": 24.0, "restructure": 12.0, "legal": 6.0}


def test_default_profile_is_the_library_default_with_team_capacities():
    # The library's defaults ration nothing; the default profile adds the capacities.
    rates = {a: {"capacity_per_10k": r} for a, r in TEAM.items()}
    assert replace(Strategy.profile("default"), extends=None) == Strategy().replace(actions=rates)


@pytest.mark.parametrize("name", PROFILES)
def test_every_profile_limits_the_staffed_actions_by_the_book(name):
    s = Strategy.profile(name)
    for a in ACTIONS:
        spec = getattr(s.actions, a)
        assert spec.capacity == math.inf, a  # no fixed team size
        assert spec.capacity_per_10k == TEAM.get(a, math.inf), a  # sms, letter: bulk
    # 2,500 loans: 180 x 0.25 = 45 calls, 24 x 0.25 = 6 visits, 3 offers, 1.5 -> 1 case.
    assert s.capacities(2_500) == {
        "sms": math.inf,
        "call": 45,
        "visit": 6,
        "restructure": 3,
        "legal": 1,
        "wait": math.inf,
    }


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("us_reg_f", "rules.max_attempts_7d", 7),
        ("us_reg_f", "rules.cooldown_days", 7),
        ("us_reg_f", "rules.counted_actions", ("call",)),
        ("us_reg_f", "hours.end", "21:00"),
        ("china", "rules.max_attempts_day", 6),
        ("china", "rules.max_conversations_day", 3),
        ("china", "rules.counted_actions", ("call",)),
        ("china", "actions.visit.cost", 2 * Strategy().actions.visit.cost),
        ("china", "hours.end", "22:00"),
        ("uk_eu", "rules.vulnerable_actions", ("sms", "call", "restructure")),
        ("uk_eu", "actions.legal.requires_restructure_considered", True),
        ("uk_eu", "rules.restructure_lookback_days", 90),
        ("uk_eu", "rules.hardship_actions", ("restructure",)),
        ("default", "rules.max_attempts_7d", math.inf),
        ("default", "rules.cooldown_days", 0),
    ],
)
def test_profile_encodes_its_rules(name, key, value):
    summary = Strategy.profile(name).summary().set_index("key")
    assert summary.loc[key, "value"] == value


@pytest.mark.parametrize(
    ("capacity", "rate", "book", "expected"),
    [
        (math.inf, 180, 2_522, 45),  # 45.396 calls: rounded down
        (math.inf, 180, 0, 0),  # an empty book gets nothing
        (math.inf, 0.5, 19_999, 0),  # 0.99995: not one whole attempt
        (math.inf, 0.5, 20_000, 1),
        (math.inf, 2.3, 100_000, 23),  # exactly 23, though 2.3 * 100_000 is 229999.99...
        (math.inf, 0.7, 30_000, 2),  # 2.1
        (30, 180, 10_000, 30),  # the fixed capacity is smaller
        (300, 180, 10_000, 180),  # the rate is smaller
        (0, math.inf, 10_000, 0),
        (7, math.inf, 0, 7),  # no rate: the fixed capacity, whatever the book
        (math.inf, math.inf, 0, math.inf),  # both unlimited, even for an empty book
    ],
)
def test_capacities_scale_the_rate_to_the_book(capacity, rate, book, expected):
    s = Strategy().replace(actions={"call": {"capacity": capacity, "capacity_per_10k": rate}})
    got = s.capacities(book)
    assert got["call"] == expected and type(got["call"]) is type(expected)
    assert list(got) == list(s.action_names)
    assert got["wait"] == got["sms"] == math.inf


@given(
    tenths=st.integers(0, 100_000),
    book=st.integers(0, 10**9),
    capacity=st.one_of(st.integers(0, 10**6), st.just(math.inf)),
)
def test_capacities_are_the_floor_of_the_scaled_rate(tenths, book, capacity):
    # A rate in tenths (18.5 = 185 tenths) gives an exact integer oracle:
    # floor(tenths / 10 * book / 10,000) = (tenths * book) // 100,000.
    rate = tenths / 10
    s = Strategy().replace(actions={"visit": {"capacity": capacity, "capacity_per_10k": rate}})
    assert s.capacities(book)["visit"] == min(capacity, (tenths * book) // 100_000)


def test_disabled_actions_have_no_capacity_entry():
    s = Strategy.profile("uk_eu").replace(actions={"legal": {"enabled": False}})
    assert list(s.capacities(1_000)) == ["sms", "call", "visit", "restructure", "wait"]


@pytest.mark.parametrize("bad", [-1, 2.5, "100", None, True, math.nan])
def test_capacities_need_a_whole_book(bad):
    with pytest.raises(StrategyError, match=r"^accounts must be an integer >= 0; got "):
        Strategy().capacities(bad)


def test_profiles_are_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data = config["tool"]["setuptools"]["package-data"]
    assert "profiles/*.toml" in data["overdue_risk.prioritise"]


# -- TOML, extends, summary --------------------------------------------------------------


def test_toml_round_trip(tmp_path):
    s = Strategy.profile("uk_eu").replace(
        actions={
            "visit": {"capacity": 40, "products": ["cash", "card"]},
            "call": {"capacity_per_10k": 2.3},
            "sms": {"capacity_per_10k": 0},
        },
        rules={"cooldown_days": 5},
    )
    path = tmp_path / "s.toml"
    path.write_text(s.to_toml())
    back = Strategy.from_toml(path)
    assert back == s
    assert back.actions.visit.products == ("cash", "card")
    assert (back.actions.call.capacity_per_10k, back.actions.sms.capacity_per_10k) == (2.3, 0.0)
    assert back.actions.legal.capacity_per_10k == 6.0  # the profile's
    assert back.to_dict() == s.to_dict()
    assert "inf" in s.to_toml()
    source = back.summary().set_index("key")["source"]
    assert source["actions.call.capacity_per_10k"] == "user"
    assert source["actions.legal.capacity_per_10k"] == "profile"
    assert source["actions.letter.capacity_per_10k"] == "default"


def test_extends_starts_from_the_profile(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('extends = "us_reg_f"\nname = "acme"\n[actions.call]\ncapacity = 1200\n')
    s = Strategy.from_toml(path)
    assert (s.name, s.extends, s.actions.call.capacity) == ("acme", "us_reg_f", 1200)
    assert s.rules.max_attempts_7d == 7 and s.rules.cooldown_days == 7
    source = s.summary().set_index("key")["source"]
    assert source["actions.call.capacity"] == "user"
    assert source["actions.call.capacity_per_10k"] == "profile"
    assert s.capacities(10_000)["call"] == 180  # the profile's rate is still there
    assert s.capacities(100_000)["call"] == 1200  # ... capped by the file's capacity
    assert source["name"] == "user"
    assert source["rules.max_attempts_7d"] == "profile"
    assert source["actions.sms.cost"] == "default"


def test_summary_marks_user_values():
    s = Strategy.from_dict({"actions": {"visit": {"min_dpd": 20}}, "rules": {"cooldown_days": 0}})
    summary = s.summary().set_index("key")
    assert summary.loc["actions.visit.min_dpd", "source"] == "user"
    assert summary.loc["actions.visit.min_dpd", "default"] == 15
    # Set, but to the default value: nothing differs.
    assert summary.loc["rules.cooldown_days", "source"] == "default"
    assert list(summary.columns) == ["value", "default", "source"]


def test_replace():
    s = Strategy().replace(rules={"cooldown_days": 3}, name="mine")
    assert (s.rules.cooldown_days, s.name) == (3, "mine")
    assert Strategy().replace(actions={"sms": ActionSpec(cost=0.1, channel="sms")}).actions.sms.cost
    with pytest.raises(StrategyError, match=r"Unknown key strategy\.rule; did you mean rules\?"):
        Strategy().replace(rule={})


# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[actions.visit]\nmin_dp = 15\n",
            "Unknown key strategy.actions.visit.min_dp; did you mean min_dpd?",
        ),
        ("[action.visit]\nmin_dpd = 15\n", "Unknown key strategy.action; did you mean actions?"),
        (
            "[actions.visits]\nmin_dpd = 15\n",
            "Unknown key strategy.actions.visits; did you mean visit?",
        ),
        (
            "[actions.email]\ncost = 1\n",
            "Unknown key strategy.actions.email; valid keys: sms, call, visit, letter, "
            "restructure, legal, wait.",
        ),
        ("[actions.wait]\nmin_dpd = 3\n", "Unknown key strategy.actions.wait.min_dpd"),
        (
            "[actions.visit]\nmin_dpd = -1\n",
            "strategy.actions.visit.min_dpd must be an integer >= 0; got -1.",
        ),
        (
            '[actions.visit]\nmin_dpd = "15"\n',
            "strategy.actions.visit.min_dpd must be an integer >= 0; got '15'.",
        ),
        (
            "[actions.visit]\nmin_dpd = 2.5\n",
            "strategy.actions.visit.min_dpd must be an integer >= 0; got 2.5.",
        ),
        (
            "[actions.visit]\nmin_dpd = 40\nmax_dpd = 30\n",
            "strategy.actions.visit.min_dpd must be <= max_dpd; got 40 > 30.",
        ),
        ("[actions.sms]\ncost = -0.05\n", "strategy.actions.sms.cost must be a number >= 0"),
        (
            "[actions.call]\ncapacity = -5\n",
            "strategy.actions.call.capacity must be an integer >= 0, or inf for no limit; got -5.",
        ),
        ("[actions.call]\ncapacity = nan\n", "strategy.actions.call.capacity must be"),
        (
            "[actions.call]\ncapacity_per_10k = -1.5\n",
            "strategy.actions.call.capacity_per_10k must be a number >= 0, or inf for no limit; "
            "got -1.5.",
        ),
        (
            "[actions.call]\ncapacity_per_10k = nan\n",
            "strategy.actions.call.capacity_per_10k must be a number >= 0, or inf for no limit; "
            "got nan.",
        ),
        (
            "[actions.call]\ncapacity_per_10k = -inf\n",
            "strategy.actions.call.capacity_per_10k must be a number >= 0",
        ),
        (
            '[actions.visit]\ncapacity_per_10k = "24"\n',
            "strategy.actions.visit.capacity_per_10k must be a number >= 0, or inf for no "
            "limit; got '24'.",
        ),
        (
            "[actions.visit]\ncapacity_per_10k = false\n",
            "strategy.actions.visit.capacity_per_10k must be a number >= 0",
        ),
        (
            "[actions.legal]\ncapacity_per_10k = 1e300\n",
            "strategy.actions.legal.capacity_per_10k must be a number >= 0, or inf for no "
            "limit; got 1e+300; the largest finite rate is 1,000,000,000 (inf: no limit).",
        ),
        (
            "[actions.wait]\ncapacity_per_10k = 5\n",
            "Unknown key strategy.actions.wait.capacity_per_10k",
        ),
        (
            "[actions.call]\ncapacity_per_10 = 180\n",
            "Unknown key strategy.actions.call.capacity_per_10; did you mean capacity_per_10k?",
        ),
        ("[actions.call]\ncapacity = true\n", "strategy.actions.call.capacity must be"),
        (
            '[actions.call]\nchannel = "fild"\n',
            "strategy.actions.call.channel must be one of sms, voice, field, letter, none; "
            "got 'fild'; did you mean field?",
        ),
        ("[actions.visit]\nenabled = 1\n", "strategy.actions.visit.enabled must be true or false"),
        (
            "[actions.visit]\nproducts = []\n",
            "strategy.actions.visit.products must be None or a non-empty list of distinct names; "
            "got [].",
        ),
        ("[actions]\nvisit = 5\n", "strategy.actions.visit must be a table of keys; got 5."),
        (
            '[rules]\ncounted_actions = ["calls"]\n',
            "strategy.rules.counted_actions must be a list of distinct names among sms, call, "
            "visit, letter, restructure, legal, other; got ['calls']; 'calls' is unknown; "
            "did you mean call?",
        ),
        ('[rules]\ncounted_actions = "call"\n', "strategy.rules.counted_actions must be a list"),
        (
            '[rules]\ncounted_actions = ["call", "call"]\n',
            "strategy.rules.counted_actions must be a list of distinct names",
        ),
        (
            '[rules]\nhardship_actions = ["other"]\n',
            "strategy.rules.hardship_actions must be a list of distinct names among sms, call, "
            "visit, letter, restructure, legal, wait; got ['other']; 'other' is unknown.",
        ),
        (
            "[rules]\nmax_attempts_7d = -1\n",
            "strategy.rules.max_attempts_7d must be an integer >= 0, or inf for no limit",
        ),
        (
            "[rules]\nmax_attempt_7d = 7\n",
            "Unknown key strategy.rules.max_attempt_7d; did you mean max_attempts_7d?",
        ),
        (
            "[rules]\nrestructure_lookback_days = 0\n",
            "strategy.rules.restructure_lookback_days must be an integer >= 1; got 0.",
        ),
        ('[flags]\ncease_contact = " "\n', "strategy.flags.cease_contact must be a non-empty text"),
        ("[flags]\nhardship = 1\n", "strategy.flags.hardship must be a non-empty text; got 1."),
        (
            '[hours]\nstart = "25:00"\n',
            "strategy.hours.start must be a time of day HH:MM; got '25:00'.",
        ),
        (
            '[hours]\nstart = "22:00"\n',
            "strategy.hours.start must be before hours.end; got 22:00 >= 21:00.",
        ),
        (
            'extends = "uk"\n',
            "strategy.extends: unknown strategy profile 'uk'; did you mean uk_eu? "
            "Available profiles: china, default, uk_eu, us_reg_f.",
        ),
        ('name = ""\n', "strategy.name must be a non-empty text"),
        ("actions = = 1", "is not valid TOML"),
    ],
)
def test_bad_toml_names_the_key(tmp_path, text, message):
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(StrategyError, match=re.escape(message)):
        Strategy.from_toml(path)


def test_unknown_profile_lists_the_available_ones():
    with pytest.raises(
        StrategyError,
        match=re.escape(
            "Unknown strategy profile 'us'; did you mean us_reg_f? "
            "Available profiles: china, default, uk_eu, us_reg_f."
        ),
    ):
        Strategy.profile("us")


def test_strategy_error_is_an_overdue_risk_error(tmp_path):
    assert issubclass(StrategyError, odr.OverdueRiskError)
    with pytest.raises(StrategyError, match=r"Cannot read strategy file .*missing\.toml"):
        Strategy.from_toml(tmp_path / "missing.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(
        StrategyError, match=r"Strategy file .*latin\.toml' is not UTF-8 text: byte 0xe9 at"
    ):
        Strategy.from_toml(latin)
    with pytest.raises(StrategyError, match=r"^strategy must be a table of keys; got \[\]\.$"):
        Strategy.from_dict([])


def test_construction_is_validated_too():
    with pytest.raises(StrategyError, match=r"strategy\.actions\.sms\.cost must be a number"):
        Strategy(actions=replace(Strategy().actions, sms=ActionSpec(cost="free")))
    with pytest.raises(StrategyError, match=r"strategy\.rules must be a table of keys; got \{"):
        Strategy(rules={"cooldown_days": 3})
    with pytest.raises(StrategyError, match=r"strategy\.extends: unknown strategy profile"):
        Strategy(extends="nowhere")


# -- a strategy that only waits, and the flags its rules read ---------------------------

WAITS = Strategy().replace(
    actions={a: {"enabled": False} for a in ("sms", "call", "visit", "restructure", "legal")}
)


def test_a_strategy_that_only_waits_is_valid():
    assert WAITS.action_names == ("wait",)
    assert WAITS.action_table().index.tolist() == ["wait"]
    assert Strategy.from_dict(WAITS.to_dict()) == WAITS
    assert Strategy.from_dict(tomllib.loads(WAITS.to_toml())) == WAITS


@pytest.mark.parametrize(
    ("strategy", "flag", "rule"),
    [
        (Strategy(), "cease_contact", "cease_contact (blocks sms, call, visit, restructure)"),
        (Strategy(), "opt_out_letter", "opt_out letter (blocks restructure)"),  # its channel
        (
            Strategy(),
            "restructure_ineligible",
            "restructure_ineligible (blocks restructure, legal)",
        ),
        (Strategy.profile("uk_eu"), "vulnerable", "vulnerable (blocks visit, legal)"),
        (Strategy().replace(actions={"restructure": {"channel": "none"}}), "opt_out_letter", None),
        (Strategy().replace(rules={"hardship_actions": list(ACTIONS)}), "hardship", None),
        (WAITS, "cease_contact", None),
    ],
)
def test_flag_rules_name_the_flags_a_strategy_reads(strategy, flag, rule):
    from overdue_risk.prioritise import flag_rules

    assert flag_rules(strategy).get(flag) == rule


# -- docs ------------------------------------------------------------------------------


def test_docs_name_every_key_profile_and_rule():
    text = (ROOT / "docs" / "strategy.md").read_text()
    for key in Strategy().summary()["key"]:
        short = re.sub(
            r"^actions\.(sms|call|visit|letter|restructure|legal)\.", "actions.<action>.", key
        )
        assert f"`{short}`" in text or f"`{key}`" in text, key
    for name in PROFILES:
        assert f"`{name}`" in text, name
    for rule in RULES:
        assert f"`{rule}`" in text, rule
