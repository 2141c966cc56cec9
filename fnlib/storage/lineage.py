"""Walk a manifest's parents back to the raw sources and render the ancestry."""

from __future__ import annotations

from dataclasses import dataclass

from fnlib.storage.manifest import Manifest, load_manifest
from fnlib.storage.objects import ObjectRef, ObjectStore

MAX_DEPTH = 32


@dataclass(frozen=True)
class LineageNode:
    depth: int
    ref: ObjectRef
    manifest: Manifest


def walk_lineage(store: ObjectStore, uri: str) -> list[LineageNode]:
    """Depth-first ancestry of the manifest at ``uri``; every parent's sha256 is verified."""
    nodes: list[LineageNode] = []
    seen: set[str] = set()

    def visit(link_uri: str, sha256: str | None, depth: int) -> None:
        if depth > MAX_DEPTH or link_uri in seen:
            return
        seen.add(link_uri)
        manifest, ref = load_manifest(store, link_uri, sha256)
        nodes.append(LineageNode(depth, ref, manifest))
        for parent in manifest.parents:
            visit(parent["uri"], parent.get("sha256"), depth + 1)

    visit(uri, None, 0)
    return nodes


def format_lineage(nodes: list[LineageNode]) -> str:
    """A readable tree: one block per manifest, its objects and what made it."""
    lines: list[str] = []
    for node in nodes:
        pad = "  " * node.depth
        m = node.manifest
        prov = m.provenance
        made_by = prov.get("airflow") or {}
        run = f"{made_by.get('dag_id')}/{made_by.get('run_id')}" if made_by else "cli"
        lines.append(f"{pad}{'└─ ' if node.depth else ''}{m.kind} {m.id}")
        lines.append(f"{pad}   manifest {node.ref.versioned_uri}")
        lines.append(
            f"{pad}   made by {run} with fnlib {prov.get('version')} (git {prov.get('git_sha')})"
            f" at {prov.get('created_at')}"
        )
        if prov.get("wandb_run"):
            lines.append(f"{pad}   W&B run {prov['wandb_run']}")
        for name, ref in sorted(m.objects.items()):
            lines.append(f"{pad}   {name}: {ref.versioned_uri} sha256={ref.sha256[:16]} size={ref.size}")
        for key in ("source", "path"):
            if m.params.get(key):
                lines.append(f"{pad}   {key}: {m.params[key]}")
        for f in m.params.get("files") or []:
            lines.append(f"{pad}   file {f['name']} sha256={f['sha256'][:16]} size={f['size']}")
    return "\n".join(lines)
