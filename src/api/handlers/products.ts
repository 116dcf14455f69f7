import { HttpApiBuilder, HttpPlatform, HttpServerResponse } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { lineageGraph, lineageProvJson, type LineageGraph } from "../../runtime/ops/lineage.ts"
import { productFile } from "../../runtime/ops/product-file.ts"
import { findProduct, listProducts, type ProductSummary } from "../../runtime/ops/products.ts"
import { CcatApi } from "../api.ts"
import { badRequest, databaseUnavailable, notFound } from "../errors.ts"

/*
 * /api/v1/products: lists, one product, its file and its lineage. The file is served only from
 * inside its location's folders (product-file.ts resolves links first); a path that would leave
 * them is refused, and the folder is named in the server's log, not to the client.
 */

const unknownProduct = (e: { readonly message: string }) => Effect.fail(notFound("UNKNOWN_PRODUCT", e.message))

const productJson = (p: ProductSummary) => ({ ...p, createdAt: p.createdAt.toISOString() })

const nodeIds = {
  product: (id: number) => `product-${id}`,
  run: (id: number) => `run-${id}`,
  package: (id: string) => `package-${id}`
}

/** The lineage as nodes and edges: run → product (`generated`), input → run (`used`). */
export const lineageNodesAndEdges = (g: LineageGraph) => {
  const nodes = [
    ...g.products.map((p) => ({
      kind: "product" as const,
      id: nodeIds.product(p.id),
      productId: p.id,
      type: p.type,
      relativePath: p.relativePath,
      checksum: p.checksum,
      sizeBytes: p.sizeBytes,
      createdAt: p.createdAt
    })),
    ...g.runs.map((r) => ({
      kind: "run" as const,
      id: nodeIds.run(r.id),
      runId: r.id,
      pipeline: r.pipeline,
      step: r.step,
      subGroupKey: r.subGroupKey,
      status: r.status,
      software: r.software,
      softwareVersion: r.softwareVersion,
      image: r.image,
      config: r.config
    })),
    ...g.packages.map((p) => ({
      kind: "package" as const,
      id: nodeIds.package(p.id),
      packageId: p.id,
      name: p.name,
      checksum: p.checksum,
      sizeBytes: p.sizeBytes,
      archivedAt: p.archivedAt
    }))
  ]
  const runOf = new Map(g.products.map((p) => [p.id, p.runId]))
  const edges = new Map<string, { from: string; to: string; kind: "generated" | "used" }>()
  for (const p of g.products) {
    const e = { from: nodeIds.run(p.runId), to: nodeIds.product(p.id), kind: "generated" as const }
    edges.set(`${e.from}>${e.to}`, e)
  }
  for (const e of g.edges) {
    const runId = runOf.get(e.product)
    if (runId === undefined) continue
    const from = e.parentProduct !== null ? nodeIds.product(e.parentProduct) : e.rawPackage !== null ? nodeIds.package(e.rawPackage) : null
    if (from === null) continue
    const edge = { from, to: nodeIds.run(runId), kind: "used" as const }
    edges.set(`${edge.from}>${edge.to}`, edge)
  }
  return { root: nodeIds.product(g.root), nodes, edges: [...edges.values()] }
}

export const ProductsHandlers = HttpApiBuilder.group(CcatApi, "products", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const platform = yield* HttpPlatform.HttpPlatform
    const provided = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) => Effect.provideService(effect, SqlClient.SqlClient, sql)
    return handlers
      .handle("list", ({ urlParams: q }) =>
        listProducts({
          runId: q.run ?? null,
          type: q.type ?? null,
          pipeline: q.pipeline ?? null,
          step: q.step ?? null,
          before: q.cursor ?? null,
          limit: q.limit ?? 50
        }).pipe(
          Effect.map((page) => ({ products: page.products.map(productJson), nextCursor: page.nextCursor })),
          provided,
          Effect.catchTags({ SqlError: databaseUnavailable })
        )
      )
      .handle("product", ({ path }) =>
        findProduct(path.id).pipe(
          Effect.map((p) => ({ ...productJson(p), quality: p.quality, softwareVersion: p.softwareVersion, copies: p.copies })),
          provided,
          Effect.catchTags({ UnknownProduct: unknownProduct, SqlError: databaseUnavailable })
        )
      )
      .handle("file", ({ path }) =>
        productFile(path.id).pipe(
          Effect.flatMap((file) =>
            HttpServerResponse.file(file.path, {
              contentType: file.contentType,
              headers: {
                "content-disposition": `inline; filename="${file.fileName.replace(/[^\w.-]/g, "_")}"`,
                "x-content-type-options": "nosniff"
              }
            }).pipe(Effect.provideService(HttpPlatform.HttpPlatform, platform))
          ),
          provided,
          Effect.catchTags({
            UnknownProduct: unknownProduct,
            ProductFileUnavailable: (e) => Effect.fail(notFound("FILE_UNAVAILABLE", e.message)),
            UnsafeProductPath: (e) =>
              Effect.logWarning(`API: refused to serve a file: ${e.message}`).pipe(
                Effect.zipRight(
                  Effect.fail(
                    badRequest("UNSAFE_PATH", `the file of data product ${e.productId} would leave its location's folder; not served`)
                  )
                )
              ),
            SystemError: (e) =>
              Effect.fail(notFound("FILE_UNAVAILABLE", `the file of data product ${path.id} cannot be read (${e.reason})`)),
            BadArgument: (e) =>
              Effect.fail(notFound("FILE_UNAVAILABLE", `the file of data product ${path.id} cannot be read (${e.message})`)),
            SqlError: databaseUnavailable
          })
        )
      )
      .handle("lineage", ({ path }) =>
        lineageGraph(path.id).pipe(
          Effect.map((g) => ({ ...lineageNodesAndEdges(g), prov: lineageProvJson(g) })),
          provided,
          Effect.catchTags({ UnknownProduct: unknownProduct, SqlError: databaseUnavailable })
        )
      )
  })
)
