import { join } from "node:path"
import { MANIFEST_VERSION, type Manifest } from "./manifest.ts"
import type { RunContext } from "./run-context.ts"
import type { RunFolders } from "./run-folders.ts"
import { type ProductRow, type RawFileRow, stagedProductPath } from "./staging-plan.ts"

/*
 * The manifest.json of one attempt (manifest.ts, docs/design/domain.md §5): the run, its
 * software and command line, its config, and its inputs grouped by package, every path as the
 * program sees it (`seen`: the container's /workflow folders, or the host folders when it runs
 * directly). Pure: stage-run.ts writes it.
 */

/** What of the run the manifest tells. */
export type ManifestRun = Pick<
  RunContext,
  "runId" | "pipeline" | "step" | "subGroupKey" | "reason" | "softwareVersion" | "image" | "config"
> & { readonly definition: Pick<RunContext["definition"], "final" | "software"> }

export const runManifest = (
  run: ManifestRun,
  attempt: number,
  argv: ReadonlyArray<string>,
  seen: RunFolders,
  rawFiles: ReadonlyArray<RawFileRow>,
  products: ReadonlyArray<ProductRow>
): Manifest => {
  const packages = new Map<string, Manifest["inputs"]["packages"][number]>()
  for (const f of rawFiles) {
    const entry = packages.get(f.package_id) ?? {
      id: f.package_id,
      name: f.package_name,
      checksum: f.package_checksum,
      path: join(seen.input, f.package_name),
      files: []
    }
    packages.set(f.package_id, {
      ...entry,
      files: [
        ...entry.files,
        { name: f.file_name, path: join(seen.input, f.package_name, f.file_name), sizeBytes: Number(f.size_bytes), checksum: f.checksum }
      ]
    })
  }
  return {
    manifestVersion: MANIFEST_VERSION,
    run: {
      id: run.runId,
      pipeline: run.pipeline,
      step: run.step,
      subGroupKey: run.subGroupKey,
      reason: run.reason,
      attempt,
      final: run.definition.final
    },
    software: { name: run.definition.software.name, version: run.softwareVersion, image: run.image, argv },
    config: run.config,
    inputs: {
      packages: [...packages.values()],
      products: products.map((p) => ({
        id: Number(p.id),
        step: p.step,
        runId: Number(p.run_id),
        subGroupKey: p.sub_group_key,
        type: p.product_type,
        path: stagedProductPath(seen.workspace, p.step, p.sub_group_key, p.relative_path),
        sizeBytes: Number(p.size_bytes),
        checksum: p.checksum
      }))
    },
    paths: { input: seen.input, workspace: seen.workspace, output: seen.output, logs: seen.logs, manifest: seen.manifest }
  }
}
