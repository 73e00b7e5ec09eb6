"""The composer's quick audience: friends with all, any or none of some tags, without a saved segment. It is
stored as the broadcast's own segment tree (docs/segments.md), so the compiler, the live count and the
snapshot treat it like any other tree; a stored tree of this shape is read back as a quick audience."""

from __future__ import annotations

import json

from crm.errors import N_

QUICK = "quick"  # the composer's recipients choice for a quick audience
MATCH_WORDS = {
    "all": N_("Friends with all of these tags"),
    "any": N_("Friends with any of these tags"),
    "none": N_("Friends with none of these tags"),
}


def tag_tree(tag_ids: list[int], match: str) -> dict:
    """The condition tree for friends with all / any / none of the tags."""
    leaves = [{"type": "tag", "tag_id": tag_id} for tag_id in tag_ids]
    if match == "all":
        return {"type": "all", "conditions": leaves}
    if match == "any":
        return {"type": "any", "conditions": leaves}
    if match == "none":
        return {"type": "not", "condition": {"type": "any", "conditions": leaves}}
    raise ValueError(f"unknown match {match!r}")


def read_tag_tree(tree: dict | str | None) -> tuple[str, list[int]] | None:
    """(match, tag ids) when the tree is a quick audience (as `tag_tree` builds it), else None."""
    if isinstance(tree, str):
        tree = json.loads(tree)
    if not isinstance(tree, dict):
        return None
    match = {"all": "all", "any": "any"}.get(tree.get("type"))
    group = tree
    if tree.get("type") == "not" and isinstance(tree.get("condition"), dict):
        match, group = ("none", tree["condition"]) if tree["condition"].get("type") == "any" else (None, tree)
    leaves = group.get("conditions") if match else None
    if not leaves or not all(isinstance(leaf, dict) and set(leaf) == {"type", "tag_id"} for leaf in leaves):
        return None
    if any(leaf["type"] != "tag" for leaf in leaves):
        return None
    return match, [leaf["tag_id"] for leaf in leaves]
