import { Schema } from "effect"

/*
 * `manifest.json`: everything a run's program needs to know (docs/design/domain.md §5, the
 * container contract), written before submission and mounted read-only at /workflow/config/manifest.json.
 * Paths in it are the paths the program sees: /workflow/... inside a container, host paths
 * when the location runs programs directly (`container none`). Documented in the README.
 */

export const MANIFEST_VERSION = 1

const InputFile = Schema.Struct({
  name: Schema.String,
  path: Schema.String,
  sizeBytes: Schema.Number,
  checksum: Schema.String
})

const InputPackage = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  checksum: Schema.NullOr(Schema.String),
  /** The package's folder under `paths.input`. */
  path: Schema.String,
  files: Schema.Array(InputFile)
})

const InputProduct = Schema.Struct({
  id: Schema.Number,
  step: Schema.String,
  runId: Schema.Number,
  subGroupKey: Schema.String,
  type: Schema.String,
  path: Schema.String,
  sizeBytes: Schema.Number,
  checksum: Schema.String
})

export const Manifest = Schema.Struct({
  manifestVersion: Schema.Literal(MANIFEST_VERSION),
  run: Schema.Struct({
    id: Schema.Number,
    pipeline: Schema.String,
    step: Schema.String,
    subGroupKey: Schema.String,
    reason: Schema.String,
    attempt: Schema.Number,
    final: Schema.Boolean
  }),
  software: Schema.Struct({
    name: Schema.String,
    version: Schema.String,
    image: Schema.String,
    argv: Schema.Array(Schema.String)
  }),
  config: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  inputs: Schema.Struct({
    packages: Schema.Array(InputPackage),
    products: Schema.Array(InputProduct)
  }),
  paths: Schema.Struct({
    input: Schema.String,
    workspace: Schema.String,
    output: Schema.String,
    logs: Schema.String,
    manifest: Schema.String
  })
})
export type Manifest = typeof Manifest.Type
