import { Either } from "effect"
import { join, relative, sep } from "node:path"
import { confinedPath, type PathEscape } from "./confined-path.ts"
import type { RunFolders } from "./run-folders.ts"

/*
 * What staging an attempt will do with the files, decided before anything is touched
 * (docs/design/runtime.md §3.7, layout: §3.6): where each raw file and upstream product comes
 * from and where it goes in the attempt's folder (every name held to its folder,
 * confined-path.ts), which folders are made, which staged raw files become physical copies at
 * the processing location, and what the whole takes on disk when it does not fit. Pure:
 * stage-run.ts reads the rows and does the copying.
 */

/** A raw data file the run reads, with its best present archive copy (null: none is present). */
export interface RawFileRow {
  readonly package_id: string
  readonly package_name: string
  readonly package_checksum: string | null
  readonly file_id: string
  readonly file_name: string
  readonly size_bytes: string
  readonly checksum: string
  readonly root_path: string | null
  readonly copy_path: string | null
}

/** An upstream product the run reads, with the folder and step of the run that made it. */
export interface ProductRow {
  readonly id: string
  readonly relative_path: string
  readonly size_bytes: string
  readonly checksum: string
  readonly product_type: string
  readonly run_id: string
  readonly sub_group_key: string
  readonly run_dir: string | null
  readonly step: string
}

/** Where each raw file comes from and goes, and each upstream product: every path checked. */
export interface StagingPlan {
  readonly raw: ReadonlyArray<{ readonly file: RawFileRow; readonly source: string; readonly target: string }>
  readonly products: ReadonlyArray<{ readonly product: ProductRow; readonly source: string; readonly target: string }>
}

/** Why an input cannot be staged at all (no archive copy, no upstream run folder), or null when each can. */
export const unstageableInput = (rawFiles: ReadonlyArray<RawFileRow>, products: ReadonlyArray<ProductRow>): string | null => {
  const missing = rawFiles.find((f) => f.root_path === null || f.copy_path === null)
  if (missing !== undefined) return `no present copy of ${missing.package_name}/${missing.file_name} at any archive location`
  const lostProduct = products.find((p) => p.run_dir === null)
  if (lostProduct !== undefined) return `upstream product ${lostProduct.id} has no run folder`
  return null
}

/**
 * The sources and targets of the attempt's inputs, or the first name that would leave its
 * folder. Runs before any folder is made; the rows passed unstageableInput.
 */
export const planStaging = (
  input: string,
  workspace: string,
  rawFiles: ReadonlyArray<RawFileRow>,
  products: ReadonlyArray<ProductRow>
): Either.Either<StagingPlan, PathEscape> =>
  Either.gen(function* () {
    const raw: Array<StagingPlan["raw"][number]> = []
    for (const file of rawFiles) {
      // (Rows without an archive copy were turned away before.)
      const source = yield* confinedPath(file.root_path!, file.copy_path!, `the archive path of raw data file ${file.file_id}`)
      const packageDir = yield* confinedPath(input, file.package_name, `the name of raw data package ${file.package_id}`)
      const target = yield* confinedPath(
        packageDir,
        file.file_name,
        `the name of raw data file ${file.file_id} (package ${JSON.stringify(file.package_name)})`
      )
      raw.push({ file, source, target })
    }
    const staged: Array<StagingPlan["products"][number]> = []
    for (const product of products) {
      const what = `the path of upstream product ${product.id} (run ${product.run_id})`
      const source = yield* confinedPath(product.run_dir!, product.relative_path, what)
      const stepDir = yield* confinedPath(workspace, product.step, `the name of upstream step ${JSON.stringify(product.step)}`)
      const subGroupDir = yield* confinedPath(stepDir, product.sub_group_key, `the sub-group key of upstream run ${product.run_id}`)
      const target = yield* confinedPath(subGroupDir, belowOutput(product.relative_path), what)
      staged.push({ product, source, target })
    }
    return { raw, products: staged }
  })

/** A product's path below its run's output folder (`science/x.fits`), from its path below the run folder. */
export const belowOutput = (relativePath: string): string => {
  const parts = relativePath.split("/")
  return (parts[0] === "workspace" ? parts.slice(2) : parts.slice(1)).join("/")
}

/** Where a downstream run sees an upstream product: workspace/{step}/{sub-group}/{path below its output}. */
export const stagedProductPath = (workspace: string, step: string, subGroupKey: string, relativePath: string): string =>
  join(workspace, step, subGroupKey, belowOutput(relativePath))

/** The folders an attempt needs before its inputs are placed, in the order they are made; a final step's output has one per product kind. */
export const attemptFolders = (folders: RunFolders, final: boolean): ReadonlyArray<string> => [
  folders.input,
  folders.workspace,
  folders.output,
  folders.config,
  folders.logs,
  ...(final ? ["science", "qa", "plots", "statistics", "logs"].map((sub) => join(folders.output, sub)) : [])
]

/** `path` below `folder`, with `/` whatever the platform: how staged paths are recorded in the database. */
export const slashRelative = (folder: string, path: string): string => relative(folder, path).split(sep).join("/")

/** The staged raw files as physical copies at the processing location: their paths below its base folder. */
export const processingCopies = (baseDir: string, plan: StagingPlan): ReadonlyArray<{ readonly file: string; readonly path: string }> =>
  plan.raw.map(({ file, target }) => ({ file: file.file_id, path: slashRelative(baseDir, target) }))

/** What staging the inputs takes on disk: their bytes, and an inode each plus some for the folders and the manifest. */
export const stagingNeeds = (
  rawFiles: ReadonlyArray<RawFileRow>,
  products: ReadonlyArray<ProductRow>
): { readonly neededBytes: number; readonly neededInodes: number } => ({
  neededBytes: rawFiles.reduce((n, f) => n + Number(f.size_bytes), 0) + products.reduce((n, p) => n + Number(p.size_bytes), 0),
  neededInodes: rawFiles.length + products.length + 32
})
