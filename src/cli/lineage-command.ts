import { Args, Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { lineageGraph, lineageProvJson, productAtPath, renderLineageTree } from "../runtime/ops/lineage.ts"
import { oneLineErrors } from "./command-failure.ts"
import { jsonOption } from "./run-arguments.ts"

/*
 * `ccat lineage <product id | path> [--json]` (docs/design/runtime.md §5.2): a product's provenance back to
 * the raw packages: each product with its run (step, sub-group, software and version, config),
 * its parent products, and the raw packages at the leaves. A product is named by its id (all
 * digits) or by its file: `<run folder>/<relative path>`, absolute or relative to the current
 * folder (write `./123` for a file named 123). `--json` prints W3C PROV-JSON
 * (docs/lineage-json.md). Exit 0 shown; 1 no such product, database error.
 */

const productArg = Args.text({ name: "product" }).pipe(
  Args.withDescription("A data product: its id, or the path of its file under a run folder (absolute or relative to the current folder).")
)

export const lineageCommand = Command.make(
  "lineage",
  { product: productArg, json: jsonOption("the lineage as W3C PROV-JSON") },
  ({ product, json }) =>
    oneLineErrors(
      Effect.gen(function* () {
        const id = /^\d{1,15}$/.test(product.trim()) ? Number(product.trim()) : yield* productAtPath(product, process.cwd())
        const graph = yield* lineageGraph(id)
        yield* Console.log(json ? JSON.stringify(lineageProvJson(graph), null, 2) : renderLineageTree(graph))
      })
    )
).pipe(
  Command.withDescription(
    "Show a data product's provenance back to the raw packages: products, the runs that made them (software, version, config), and the packages at the leaves; --json as W3C PROV-JSON. Exit 0: shown; 1: no such product, or database error."
  )
)
