import dagre from "@dagrejs/dagre"
import type { ComponentChildren } from "preact"
import { useId, useMemo } from "preact/hooks"

/*
 * A directed graph laid out by dagre and drawn as an SVG of edges under absolutely placed HTML
 * nodes (so a node can be a real link with ordinary text). The caller gives each node its box;
 * dagre places them, ranks flowing along `direction`.
 */

export interface GraphNodeBox {
  readonly id: string
  readonly width: number
  readonly height: number
}

export interface GraphEdge {
  readonly from: string
  readonly to: string
}

interface Placed {
  readonly width: number
  readonly height: number
  readonly nodes: ReadonlyArray<{
    readonly id: string
    readonly left: number
    readonly top: number
    readonly width: number
    readonly height: number
  }>
  readonly edges: ReadonlyArray<{ readonly from: string; readonly to: string; readonly path: string }>
}

type Point = { readonly x: number; readonly y: number }

const xy = (x: number, y: number) => `${x.toFixed(1)},${y.toFixed(1)}`

/**
 * A B-spline through dagre's bend points (as d3's curveBasis draws them): edges bend smoothly
 * instead of in corners, and still end exactly at the node's border.
 */
const smoothPath = (points: ReadonlyArray<Point>): string => {
  const [first, second] = points
  if (first === undefined || second === undefined) return ""
  if (points.length === 2) return `M${xy(first.x, first.y)} L${xy(second.x, second.y)}`
  const segment = (a: Point, b: Point, c: Point) =>
    `C${xy((2 * a.x + b.x) / 3, (2 * a.y + b.y) / 3)} ${xy((a.x + 2 * b.x) / 3, (a.y + 2 * b.y) / 3)} ${xy((a.x + 4 * b.x + c.x) / 6, (a.y + 4 * b.y + c.y) / 6)}`
  const parts = [`M${xy(first.x, first.y)}`, `L${xy((5 * first.x + second.x) / 6, (5 * first.y + second.y) / 6)}`]
  let [a, b] = [first, second]
  for (const c of points.slice(2)) {
    parts.push(segment(a, b, c))
    ;[a, b] = [b, c]
  }
  parts.push(segment(a, b, b), `L${xy(b.x, b.y)}`)
  return parts.join(" ")
}

const place = (nodes: ReadonlyArray<GraphNodeBox>, edges: ReadonlyArray<GraphEdge>, direction: "LR" | "RL" | "TB"): Placed => {
  const graph = new dagre.graphlib.Graph<
    object,
    { width: number; height: number; x: number; y: number },
    { points?: Array<{ x: number; y: number }> }
  >()
  graph.setGraph({ rankdir: direction, nodesep: 24, ranksep: 56, marginx: 8, marginy: 8 })
  graph.setDefaultEdgeLabel(() => ({}))
  for (const node of nodes) graph.setNode(node.id, { width: node.width, height: node.height, x: 0, y: 0 })
  const known = new Set(nodes.map((node) => node.id))
  // An edge to a node not drawn would make dagre invent a box of no size.
  const drawn = edges.filter((edge) => known.has(edge.from) && known.has(edge.to) && edge.from !== edge.to)
  for (const edge of drawn) graph.setEdge(edge.from, edge.to)
  dagre.layout(graph)
  const label = graph.graph() as { width?: number; height?: number }
  return {
    width: Math.ceil(label.width ?? 0),
    height: Math.ceil(label.height ?? 0),
    nodes: nodes.map((node) => {
      const box = graph.node(node.id)
      return { id: node.id, left: box.x - node.width / 2, top: box.y - node.height / 2, width: node.width, height: node.height }
    }),
    edges: drawn.map((edge) => {
      const points = graph.edge(edge.from, edge.to)?.points ?? []
      return { from: edge.from, to: edge.to, path: smoothPath(points) }
    })
  }
}

export const DagGraph = ({
  nodes,
  edges,
  direction,
  renderNode,
  label
}: {
  readonly nodes: ReadonlyArray<GraphNodeBox>
  readonly edges: ReadonlyArray<GraphEdge>
  readonly direction: "LR" | "RL" | "TB"
  readonly renderNode: (id: string) => ComponentChildren
  readonly label: string
}) => {
  // Only the graph's shape decides the layout: a live update of the counts inside the boxes
  // re-renders the nodes without moving them.
  const shape = JSON.stringify([nodes.map((n) => [n.id, n.width, n.height]), edges.map((e) => [e.from, e.to]), direction])
  const placed = useMemo(() => place(nodes, edges, direction), [shape])
  const markerId = `arrow-${useId()}`
  return (
    <div class="graph-scroll">
      <div class="graph" role="group" aria-label={label} style={{ width: `${placed.width}px`, height: `${placed.height}px` }}>
        <svg class="graph-edges" width={placed.width} height={placed.height} aria-hidden="true">
          <defs>
            <marker id={markerId} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" />
            </marker>
          </defs>
          {placed.edges.map((edge) => (
            <path key={`${edge.from}->${edge.to}`} d={edge.path} marker-end={`url(#${markerId})`} />
          ))}
        </svg>
        {placed.nodes.map((node) => (
          <div
            key={node.id}
            class="graph-node"
            style={{ left: `${node.left}px`, top: `${node.top}px`, width: `${node.width}px`, height: `${node.height}px` }}
          >
            {renderNode(node.id)}
          </div>
        ))}
      </div>
    </div>
  )
}
