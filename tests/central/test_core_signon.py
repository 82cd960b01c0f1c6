"""Single sign-on's decision as pure logic (central.core.signon): claims and the group mapping
in, a grant or a refusal out; then the grant against what the store holds."""

from __future__ import annotations

from typing import Any

import pytest

from central.core import Role
from central.core.signon import (
    Admit,
    Change,
    Existing,
    Grant,
    GroupRule,
    Reason,
    Refused,
    SignOnRules,
    binding,
    decide,
    moved,
    reconcile,
    revokes,
)

ISSUER = "https://login.example/tenant/v2.0"
OSLO, BERGEN = "oslo-sentrum", "bergen"
RULES = SignOnRules(
    user_claim="preferred_username",
    groups_claim="groups",
    rules=(
        GroupRule("g-oslo", sites=frozenset({OSLO})),
        GroupRule("g-bergen", sites=frozenset({BERGEN})),
        GroupRule("g-responders", roles=frozenset({Role.RESPONDER})),
        GroupRule("g-leaders-oslo", frozenset({Role.LEADER}), frozenset({OSLO})),
        GroupRule("g-admins", frozenset({Role.ADMIN}), frozenset({"*"})),
    ),
)


def claims(*groups: str, **more: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "sub": "subject-kari",
        "preferred_username": "Kari.Nordmann@nav.no",
        "name": "Kari  Nordmann",
        "groups": list(groups),
    }
    found.update(more)
    return found


def test_roles_and_sites_are_the_union_of_the_matched_groups() -> None:
    grant = decide(claims("g-oslo", "g-responders", "g-leaders-oslo", "unmapped"), RULES)
    assert isinstance(grant, Grant)
    assert grant.roles == {Role.RESPONDER, Role.LEADER}
    assert grant.sites == {OSLO}
    assert grant.groups == ("g-oslo", "g-responders", "g-leaders-oslo")
    # Case-folded and whitespace-tidied: one person, one id, one name.
    assert grant.user_id == "kari.nordmann@nav.no"
    assert grant.name == "Kari Nordmann"
    assert grant.subject == "subject-kari"


def test_a_group_with_both_roles_and_sites_stands_alone() -> None:
    grant = decide(claims("g-admins"), RULES)
    assert isinstance(grant, Grant)
    assert grant.roles == {Role.ADMIN}
    assert grant.sites == {"*"}


@pytest.mark.parametrize(
    ("groups", "reason"),
    [
        ((), Reason.NO_ROLE),
        (("unmapped",), Reason.NO_ROLE),
        (("g-oslo",), Reason.NO_ROLE),  # a site without a role is no access
        (("g-responders",), Reason.NO_SITE),  # a role at no office is no access either
    ],
)
def test_no_role_or_no_site_is_refused(groups: tuple[str, ...], reason: Reason) -> None:
    refused = decide(claims(*groups), RULES)
    assert isinstance(refused, Refused)
    assert refused.reason is reason
    assert refused.user_id == "kari.nordmann@nav.no"
    assert refused.subject == "subject-kari"


def test_roles_come_only_from_the_mapping_never_from_a_claim() -> None:
    sneaky = claims("g-oslo", roles=["admin"], role="admin", sites=["*"])
    refused = decide(sneaky, RULES)
    assert isinstance(refused, Refused)
    assert refused.reason is Reason.NO_ROLE


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"preferred_username": None}, Reason.NO_USER_ID),
        ({"preferred_username": 42}, Reason.NO_USER_ID),
        ({"preferred_username": "  "}, Reason.NO_USER_ID),
        ({"sub": None}, Reason.NO_USER_ID),
        ({"preferred_username": "kari nordmann"}, Reason.BAD_USER_ID),
        ({"preferred_username": "x" * 64}, Reason.BAD_USER_ID),
        ({"preferred_username": "-kari"}, Reason.BAD_USER_ID),
        ({"groups": "g-oslo"}, Reason.BAD_GROUPS),
        ({"groups": ["g-oslo", 7]}, Reason.BAD_GROUPS),
        ({"groups": ["g"] * 1001}, Reason.BAD_GROUPS),
    ],
)
def test_claims_that_name_nobody_are_refused(changes: dict[str, Any], reason: Reason) -> None:
    bad = claims("g-oslo", "g-responders")
    for key, value in changes.items():
        if value is None:
            bad.pop(key)
        else:
            bad[key] = value
    refused = decide(bad, RULES)
    assert isinstance(refused, Refused)
    assert refused.reason is reason


def test_entra_group_overage_is_refused_with_its_own_reason() -> None:
    overage = claims()
    del overage["groups"]
    overage["_claim_names"] = {"groups": "src1"}
    refused = decide(overage, RULES)
    assert isinstance(refused, Refused)
    assert refused.reason is Reason.GROUPS_OVERAGE


def test_another_claim_can_be_the_user_id_and_the_name_falls_back_to_it() -> None:
    rules = SignOnRules("email", "roles_groups", RULES.rules)
    grant = decide(
        {"sub": "s", "email": "ola@nav.no", "roles_groups": ["g-admins"]},
        rules,
    )
    assert isinstance(grant, Grant)
    assert (grant.user_id, grant.name) == ("ola@nav.no", "ola@nav.no")


# --- the grant against the store -------------------------------------------------------


def _grant() -> Grant:
    found = decide(claims("g-oslo", "g-responders"), RULES)
    assert isinstance(found, Grant)
    return found


def existing(**changes: Any) -> Existing:
    base: dict[str, Any] = {
        "roles": frozenset({Role.RESPONDER}),
        "sites": frozenset({OSLO}),
        "disabled": False,
        "bound_to": binding(ISSUER, "subject-kari"),
    }
    base.update(changes)
    return Existing(**base)


def test_first_sign_in_creates_and_the_same_groups_change_nothing() -> None:
    assert reconcile(_grant(), ISSUER, None, False) == Admit(Change.CREATED)
    same = reconcile(_grant(), ISSUER, existing(), False)
    assert isinstance(same, Admit)
    assert same.change is Change.SAME


def test_other_groups_replace_the_roles_and_sites_never_merge() -> None:
    before = existing(roles=frozenset({Role.LEADER, Role.RESPONDER}), sites=frozenset({"*"}))
    changed = reconcile(_grant(), ISSUER, before, False)
    assert changed == Admit(Change.CHANGED, before.roles, before.sites)


@pytest.mark.parametrize(
    ("found", "config_user", "reason"),
    [
        (existing(bound_to=None), False, Reason.NAME_TAKEN),  # local
        (None, True, Reason.NAME_TAKEN),  # a user of the configuration file
        (existing(bound_to=binding(ISSUER, "someone-else")), False, Reason.OTHER_PERSON),
        (
            existing(bound_to=binding("https://other.example", "subject-kari")),
            False,
            Reason.OTHER_PERSON,
        ),
        (existing(disabled=True), False, Reason.DISABLED),
    ],
)
def test_an_sso_sign_in_never_lands_on_someone_elses_account(
    found: Existing | None, config_user: bool, reason: Reason
) -> None:
    refused = reconcile(_grant(), ISSUER, found, config_user)
    assert isinstance(refused, Refused)
    assert refused.reason is reason


def test_losing_every_role_revokes_only_the_persons_own_account() -> None:
    refused = decide(claims("g-oslo"), RULES)  # left the responders' group
    assert isinstance(refused, Refused)
    assert revokes(refused, ISSUER, existing())
    # Already stripped: nothing more to take (no second "access removed").
    assert not revokes(refused, ISSUER, existing(roles=frozenset(), sites=frozenset()))
    # Not theirs: a local account or another subject's keeps what it has.
    assert not revokes(refused, ISSUER, existing(bound_to=None))
    assert not revokes(refused, ISSUER, existing(bound_to=binding(ISSUER, "other")))
    assert not revokes(refused, ISSUER, None)
    bad_id = decide(claims("g-oslo", preferred_username="a b"), RULES)
    assert isinstance(bad_id, Refused)
    assert not revokes(bad_id, ISSUER, existing())


def test_a_renamed_person_moves_their_binding_and_the_old_account_is_stripped() -> None:
    """The binding is on ``kari.old`` and the person signs in as the grant's id: a new account,
    the old one named to be stripped; coming back to the old name is theirs, nobody else's."""
    grant = _grant()
    created = reconcile(grant, ISSUER, None, False, held_by="kari.old")
    assert created == Admit(Change.CREATED, moved_from="kari.old")
    back = existing(bound_to=moved(binding(ISSUER, "subject-kari"), grant.user_id))
    returned = reconcile(grant, ISSUER, back, False, held_by="kari.new")
    assert isinstance(returned, Admit)
    assert returned.moved_from == "kari.new"
    other = existing(bound_to=moved(binding(ISSUER, "subject-mallory"), grant.user_id))
    refused = reconcile(grant, ISSUER, other, False, held_by=None)
    assert isinstance(refused, Refused)
    assert refused.reason is Reason.OTHER_PERSON
    same = reconcile(grant, ISSUER, existing(), False, held_by=grant.user_id)
    assert isinstance(same, Admit)
    assert same.moved_from is None
