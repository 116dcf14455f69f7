import type { Lineage, LineageNode } from "../api-types.ts"
import { DagGraph, type GraphEdge, type GraphNodeBox } from "../components/dag-graph.tsx"
import { basename, bytes, configSummary } from "../format.ts"
import { Link, paths } from "../router.tsx"

/*
 * A product's lineage read from the left: the product asked about, the run that made it, what
 * that run used, and so on back to the raw packages on the right (arrows point the way the data
 * flowed). A run that read hundreds of packages
 * shows the first few and a count, so the graph stays readable and quick to lay out.
 */

const packagesShownPerRun = 6

const boxes = {
  product: { width: 240, height: 62 },
  run: { width: 260, height: 80 },
  package: { width: 220, height: 58 },
  more: { width: 220, height: 40 }
}

type Drawn = { readonly kind: "node"; readonly node: LineageNode } | { readonly kind: "more"; readonly hidden: number }

const shape = (lineage: Lineage) => {
  const byId = new Map(lineage.nodes.map((node) => [node.id, node]))
  const isPackage = (id: string) => byId.get(id)?.kind === "package"
  const usedPackages = new Map<string, Array<string>>()
  for (const edge of lineage.edges) {
    if (edge.kind === "used" && isPackage(edge.from)) usedPackages.set(edge.to, [...(usedPackages.get(edge.to) ?? []), edge.from])
  }
  const keptPackages = new Set<string>()
  for (const packages of usedPackages.values()) for (const id of packages.slice(0, packagesShownPerRun)) keptPackages.add(id)
  const drawn = new Map<string, Drawn>()
  const edges: Array<GraphEdge> = []
  for (const node of lineage.nodes) if (node.kind !== "package" || keptPackages.has(node.id)) drawn.set(node.id, { kind: "node", node })
  for (const [runId, packages] of usedPackages) {
    const hidden = packages.filter((id) => !keptPackages.has(id)).length
    if (hidden > 0) {
      drawn.set(`more-${runId}`, { kind: "more", hidden })
      edges.push({ from: `more-${runId}`, to: runId })
    }
  }
  for (const edge of lineage.edges) if (drawn.has(edge.from) && drawn.has(edge.to)) edges.push({ from: edge.from, to: edge.to })
  const nodes: Array<GraphNodeBox> = [...drawn].map(([id, item]) => ({ id, ...boxes[item.kind === "more" ? "more" : item.node.kind] }))
  return { drawn, nodes, edges }
}

const NodeBox = ({ node, root }: { readonly node: LineageNode; readonly root: boolean }) => {
  switch (node.kind) {
    case "product":
      return (
        <Link
          href={paths.product(node.productId)}
          class={`lineage-node lineage-product${root ? " lineage-root" : ""}`}
          data-testid="lineage-node"
          data-kind="product"
          data-id={node.id}
          title={node.relativePath}
        >
          <span class="node-kind">{node.type}</span>
          <span class="node-title">{basename(node.relativePath)}</span>
          <span class="node-meta">
            #{node.productId} · {bytes(node.sizeBytes)}
          </span>
        </Link>
      )
    case "run":
      return (
        <Link
          href={paths.run(node.runId)}
          class={`lineage-node lineage-run status-edge-${node.status}`}
          data-testid="lineage-node"
          data-kind="run"
          data-id={node.id}
          title={`${node.image}\n${JSON.stringify(node.config)}`}
        >
          <span class="node-kind">
            run #{node.runId} · {node.status}
          </span>
          <span class="node-title">
            {node.pipeline}.{node.step} <span class="muted mono">{node.subGroupKey}</span>
          </span>
          <span class="node-meta" data-testid="lineage-software">
            {node.software} {node.softwareVersion}
          </span>
          <span class="node-meta mono" data-testid="lineage-config">
            {configSummary(node.config) || "no config"}
          </span>
        </Link>
      )
    case "package":
      return (
        <div class="lineage-node lineage-package" data-testid="lineage-node" data-kind="package" data-id={node.id} title={node.packageId}>
          <span class="node-kind">raw package</span>
          <span class="node-title">{node.name}</span>
          <span class="node-meta">{bytes(node.sizeBytes)}</span>
        </div>
      )
  }
}

export const LineageGraph = ({ lineage }: { readonly lineage: Lineage }) => {
  const { drawn, nodes, edges } = shape(lineage)
  return (
    <DagGraph
      label="Lineage"
      direction="RL"
      nodes={nodes}
      edges={edges}
      renderNode={(id) => {
        const item = drawn.get(id)
        if (item === undefined) return null
        if (item.kind === "more")
          return (
            <div class="lineage-node lineage-more" data-testid="lineage-node" data-kind="more">
              +{item.hidden} more raw packages
            </div>
          )
        return <NodeBox node={item.node} root={id === lineage.root} />
      }}
    />
  )
}
