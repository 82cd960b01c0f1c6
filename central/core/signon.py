"""Single sign-on as pure logic: an ID token's claims and the group mapping in, a decision out.

Why a module of its own, without I/O: who may do what after an SSO sign-in is the security
decision of the whole feature, and it must be checkable branch by branch without a provider,
a socket or a clock. The shell (``central.auth.sso``) validates the ID token first (issuer,
audience, signature, nonce, expiry: Authlib), then hands the *claims* here, then carries out
what comes back (write the account, end sessions, audit).

Two steps, each a function:

- :func:`decide` — the claims and ``[[sso.groups]]`` give a :class:`Grant` (user id, name,
  roles and sites) or a :class:`Refused` with its reason. Roles and sites come **only** from
  the mapping: the union over every matched group (a group may give roles, sites or both, so
  "everyone in Oslo" and "responders" can be separate groups). Nothing in a token can name a
  role or a site by itself. No role, or no site: refused.
- :func:`reconcile` — the grant against what the store holds under that user id and under
  the person's binding. An account is bound to the provider's ``(issuer, sub)`` at its first
  sign-in, and a binding belongs to one account at a time (the store keeps it unique): a later
  token with the same user id but another subject (a reassigned e-mail address or UPN) is
  refused, as is a user id that already belongs to a local account or a config file's user,
  compared case-folded (no SSO user can take over the break-glass admin ``Admin`` by choosing
  ``admin``). An account an administrator has disabled stays disabled.

  A person whose user claim changed (renamed: a new UPN or e-mail address) signs in under the
  new id, and the account their binding was on is **stripped** — roles, sites, sessions and
  desk tokens gone — rather than renamed. Why not rename: a user id is a key in the
  append-only audit trail and in reports, meetings and trainings; renaming would rewrite or
  orphan that history, while stripping ends every credential of the old name at once and
  leaves its history readable under the name it happened under. The old row keeps a *moved*
  mark of the binding, so the old name stays the person's (a rename back is theirs again)
  and nobody else's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from central.core.model import Role

USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$")  # central.config.UserId
MAX_NAME = 120
MAX_GROUPS = 1000  # more than this in one token is not a person's groups


class Reason(StrEnum):
    """Why a sign-in is refused (the audit trail's detail; the page words each one)."""

    NO_USER_ID = "no_user_id"  # the user id claim is missing or not text
    BAD_USER_ID = "bad_user_id"  # it is text, but not a user id central can keep
    GROUPS_OVERAGE = "groups_overage"  # the provider left the groups out (too many)
    BAD_GROUPS = "bad_groups"  # the groups claim is not a list of text
    NO_ROLE = "no_role"  # no group of the person gives a role
    NO_SITE = "no_site"  # roles, but no group gives a site
    NAME_TAKEN = "name_taken"  # a local account or a config user has this id
    OTHER_PERSON = "other_person"  # the id is bound to another subject of the provider
    DISABLED = "disabled"  # an administrator disabled the account


@dataclass(frozen=True, slots=True)
class GroupRule:
    """One ``[[sso.groups]]`` table: members of ``group`` get these roles and sites."""

    group: str
    roles: frozenset[Role] = frozenset()
    sites: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SignOnRules:
    """The ``[sso]`` settings this module needs (the config builds it)."""

    user_claim: str
    groups_claim: str
    rules: tuple[GroupRule, ...]


@dataclass(frozen=True, slots=True)
class Grant:
    user_id: str
    name: str
    subject: str  # the provider's ``sub``: what the account is bound to
    roles: frozenset[Role]
    sites: frozenset[str]
    groups: tuple[str, ...]  # the matched groups, for the audit trail


@dataclass(frozen=True, slots=True)
class Refused:
    reason: Reason
    user_id: str | None = None  # known when the refusal came after reading it
    detail: str = ""
    subject: str | None = None  # the provider's ``sub``, when known


def decide(claims: Mapping[str, object], mapping: SignOnRules) -> Grant | Refused:
    """The person these (already validated) claims make, or why they make nobody."""
    raw_id = claims.get(mapping.user_claim)
    subject = claims.get("sub")
    if not isinstance(raw_id, str) or not raw_id.strip() or not isinstance(subject, str):
        return Refused(Reason.NO_USER_ID, detail=f"no text claim {mapping.user_claim!r}")
    # Case-folded: Entra's UPN comes as the user typed it at some point; one person, one id.
    user_id = raw_id.strip().lower()
    if not USER_ID.match(user_id):
        return Refused(Reason.BAD_USER_ID, detail=f"{mapping.user_claim} {raw_id[:80]!r}")
    groups = _groups(claims, mapping.groups_claim)
    if isinstance(groups, Refused):
        return Refused(groups.reason, user_id, groups.detail, subject)
    matched = [r for r in mapping.rules if r.group in groups]
    roles = frozenset(role for r in matched for role in r.roles)
    sites = frozenset(site for r in matched for site in r.sites)
    names = tuple(r.group for r in matched)
    if not roles:
        return Refused(Reason.NO_ROLE, user_id, f"groups matched: {len(names)}", subject)
    if not sites:
        return Refused(Reason.NO_SITE, user_id, f"roles {','.join(sorted(roles))}", subject)
    return Grant(user_id, _name(claims, user_id), subject, roles, sites, names)


def _groups(claims: Mapping[str, object], claim: str) -> frozenset[str] | Refused:
    value = claims.get(claim)
    if value is None:
        # Entra ID leaves the groups out of a token when a person has too many (over 200)
        # and says where to fetch them instead ("_claim_names"): refused, with the fix named.
        overage = claims.get("_claim_names")
        if isinstance(overage, Mapping) and claim in overage:
            return Refused(Reason.GROUPS_OVERAGE, detail="the provider left the groups out")
        return frozenset()  # no groups at all: no role, refused by the caller
    if not isinstance(value, Sequence) or isinstance(value, str):
        return Refused(Reason.BAD_GROUPS, detail=f"{claim} is not a list")
    if len(value) > MAX_GROUPS or not all(isinstance(g, str) for g in value):
        return Refused(Reason.BAD_GROUPS, detail=f"{claim} is not a list of group ids")
    return frozenset(str(g) for g in value)


def _name(claims: Mapping[str, object], user_id: str) -> str:
    name = claims.get("name")
    if isinstance(name, str) and name.strip():
        return " ".join(name.split())[:MAX_NAME]
    return user_id


# --- the grant against the store -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Existing:
    """What the store holds under the grant's user id."""

    roles: frozenset[Role]
    sites: frozenset[str]
    disabled: bool
    bound_to: str | None  # "issuer sub" of its SSO binding (or ``moved(…)``); None: local


class Change(StrEnum):
    CREATED = "created"  # a new account
    CHANGED = "changed"  # roles or sites differ from last time: replaced
    SAME = "same"  # nothing to change but the name, maybe


@dataclass(frozen=True, slots=True)
class Admit:
    change: Change
    roles_before: frozenset[Role] = frozenset()
    sites_before: frozenset[str] = frozenset()
    moved_from: str | None = None  # the person's previous user id: strip it, move the binding


def binding(issuer: str, subject: str) -> str:
    """The key an SSO account is bound to: the provider and its subject for the person."""
    return f"{issuer} {subject}"


def moved(key: str, user_id: str) -> str:
    """The mark a binding leaves on the account ``user_id`` its person moved away from
    (renamed); unique, as the store's index wants, however often the person moves."""
    return f"moved({key}) {user_id}"


def is_theirs(bound_to: str, key: str) -> bool:
    """Whether an account bound so is the person's of binding ``key`` (now or before)."""
    return bound_to == key or bound_to.startswith(f"moved({key}) ")


def reconcile(
    grant: Grant,
    issuer: str,
    existing: Existing | None,
    config_user: bool,
    held_by: str | None = None,
) -> Admit | Refused:
    """Whether ``grant`` may sign in as its user id, and what that changes. ``existing`` is
    what the store holds under the grant's user id (or a local account's id that differs only
    in case), ``held_by`` the user id the person's binding is on now (None: on none)."""
    if config_user:
        return Refused(Reason.NAME_TAKEN, grant.user_id, "a user of the configuration file")
    key = binding(issuer, grant.subject)
    moved_from = held_by if held_by is not None and held_by != grant.user_id else None
    if existing is None:
        return Admit(Change.CREATED, moved_from=moved_from)
    if existing.bound_to is None:
        return Refused(Reason.NAME_TAKEN, grant.user_id, "a local account")
    if not is_theirs(existing.bound_to, key):
        return Refused(Reason.OTHER_PERSON, grant.user_id, "bound to another subject")
    if existing.disabled:
        return Refused(Reason.DISABLED, grant.user_id)
    if existing.roles == grant.roles and existing.sites == grant.sites and moved_from is None:
        return Admit(Change.SAME, existing.roles, existing.sites)
    return Admit(Change.CHANGED, existing.roles, existing.sites, moved_from)


def revokes(refused: Refused, issuer: str, existing: Existing | None) -> bool:
    """Whether a refusal takes away what the person's own account had: their groups no longer
    give them a role or a site (they lost access), and the account under that id is theirs
    (bound to this provider's subject) and still has something to lose. Other refusals leave
    the account under that id alone: it may be someone else's."""
    if refused.reason not in (Reason.NO_ROLE, Reason.NO_SITE) or refused.subject is None:
        return False
    if existing is None or existing.bound_to != binding(issuer, refused.subject):
        return False
    return bool(existing.roles or existing.sites)
