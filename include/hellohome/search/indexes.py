"""Versioned concrete indexes (`properties_v3`) behind a read alias and a write alias.

Readers always use `<kind>`, writers `<kind>-write`; a reindex builds `<kind>_v<n+1>` and `swap`
moves both aliases in one atomic `_aliases` call, so searches never see a half-built index.
"""
from __future__ import annotations

import re

from opensearchpy import OpenSearch, RequestError

from hellohome.config import Settings
from hellohome.errors import HelloHomeError
from hellohome.search.mappings import properties_body, user_profiles_body

KINDS = {"properties": properties_body, "user_profiles": user_profiles_body}


def client(settings: Settings) -> OpenSearch:
    return OpenSearch(settings.opensearch_url, timeout=30, max_retries=2, retry_on_timeout=True, pool_maxsize=8)


def read_alias(kind: str, prefix: str = "") -> str:
    return f"{prefix}{kind}"


def write_alias(kind: str, prefix: str = "") -> str:
    return f"{prefix}{kind}-write"


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise HelloHomeError(f"kind: unknown {kind!r}; choose one of {', '.join(KINDS)}")


def versions(os_client: OpenSearch, kind: str, prefix: str = "") -> list[tuple[int, str]]:
    pattern = re.compile(rf"^{re.escape(prefix + kind)}_v(\d+)$")
    names = os_client.indices.get(index=f"{prefix}{kind}_v*", ignore_unavailable=True, allow_no_indices=True)
    return sorted((int(m.group(1)), n) for n in names if (m := pattern.match(n)))


def create(os_client: OpenSearch, settings: Settings, kind: str, prefix: str = "") -> str:
    """Create the next version of `kind`; the first one also gets both aliases."""
    _check_kind(kind)
    existing = versions(os_client, kind, prefix)
    name = f"{prefix}{kind}_v{existing[-1][0] + 1 if existing else 1}"
    body = KINDS[kind](settings)
    if not existing:
        body["aliases"] = {read_alias(kind, prefix): {}, write_alias(kind, prefix): {"is_write_index": True}}
    os_client.indices.create(index=name, body=body)
    return name


def current(os_client: OpenSearch, kind: str, prefix: str = "") -> str | None:
    alias = read_alias(kind, prefix)
    if not os_client.indices.exists_alias(name=alias):
        return None
    return next(iter(os_client.indices.get_alias(name=alias)))


def swap(os_client: OpenSearch, kind: str, target: str, prefix: str = "") -> None:
    """Point the read and write aliases at `target` in one atomic call."""
    _check_kind(kind)
    if target not in dict((n, v) for v, n in versions(os_client, kind, prefix)):
        raise HelloHomeError(f"index: {target!r} is not a version of {prefix}{kind}")
    actions = []
    for alias in (read_alias(kind, prefix), write_alias(kind, prefix)):
        if os_client.indices.exists_alias(name=alias):
            actions += [{"remove": {"index": old, "alias": alias}} for old in os_client.indices.get_alias(name=alias)]
    actions += [{"add": {"index": target, "alias": read_alias(kind, prefix)}},
                {"add": {"index": target, "alias": write_alias(kind, prefix), "is_write_index": True}}]
    os_client.indices.update_aliases(body={"actions": actions})


def drop(os_client: OpenSearch, name: str) -> None:
    """Delete a concrete index version; refuses one that an alias still points at."""
    if not os_client.indices.exists(index=name):
        raise HelloHomeError(f"index: {name!r} does not exist")
    aliases = os_client.indices.get_alias(index=name)[name]["aliases"]
    if aliases:
        raise HelloHomeError(f"index: {name!r} is live behind {', '.join(aliases)}; swap first")
    os_client.indices.delete(index=name)


def listing(os_client: OpenSearch, prefix: str = "") -> list[dict]:
    rows = []
    for kind in KINDS:
        for _, name in versions(os_client, kind, prefix):
            stats = os_client.cat.indices(index=name, format="json")[0]
            aliases = sorted(os_client.indices.get_alias(index=name)[name]["aliases"])
            rows.append({"index": name, "docs": int(stats["docs.count"]), "health": stats["health"],
                         "aliases": aliases})
    return rows


def outdated(os_client: OpenSearch, settings: Settings, kind: str, prefix: str = "") -> str | None:
    """The live index of `kind` if it was built from another mapping than this code's
    (mappings.fingerprint), so its documents need rebuilding by a backfill; else None."""
    live = current(os_client, kind, prefix)
    wanted = KINDS[kind](settings)["mappings"].get("_meta", {}).get("fingerprint")
    if live is None or wanted is None:
        return None
    meta = os_client.indices.get_mapping(index=live)[live]["mappings"].get("_meta", {})
    return live if meta.get("fingerprint") != wanted else None


def add_new_fields(os_client: OpenSearch, settings: Settings, kind: str, prefix: str = "") -> None:
    """Add this code's new fields to the live index, so documents built by this code can be written
    to it until a backfill replaces it (a changed field cannot be added: OpenSearch refuses it)."""
    properties = KINDS[kind](settings)["mappings"]["properties"]
    try:
        os_client.indices.put_mapping(index=write_alias(kind, prefix), body={"properties": properties})
    except RequestError as exc:
        raise HelloHomeError(f"index: the live {prefix}{kind} index has fields this version maps differently "
                             f"({exc.error}); run `hellohome backfill` to rebuild it") from exc
