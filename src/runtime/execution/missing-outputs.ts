import type { IrOutputRule } from "../../compiler/ir.ts"
import { outputPatternMatches } from "../../compiler/output-pattern.ts"
import type { CollectedFile } from "./collect-outputs.ts"

/*
 * A run that produced nothing did not succeed (the result-integrity issue, item 4). After a job
 * that ended well, its outputs are held against the step's `outputs` block; without one, against
 * the default: at least one science file (a SCIENCE product of a final step, an INTERMEDIATE one
 * of any other). A step that may legitimately produce nothing says `outputs { science min 0 }`.
 * A rule that is not met fails the run with NO_OUTPUTS and says which rule and what was found.
 */

type Kind = IrOutputRule["kind"]

const defaultRules: ReadonlyArray<IrOutputRule> = [{ kind: "science", pattern: null, min: 1 }]

const kindFolders: ReadonlySet<string> = new Set(["science", "qa", "plots", "statistics", "logs"])

/**
 * The kind of an output file and its path below the kind's folder, from its path below the
 * run's output folder (`science/a.fits`, `qa/x.json`, `a.fits` (top level: science)).
 */
export const outputKind = (belowOutput: string): { readonly kind: Kind; readonly path: string } => {
  const [top = "", ...rest] = belowOutput.split("/")
  if (rest.length > 0 && kindFolders.has(top)) return { kind: top as Kind, path: rest.join("/") }
  return { kind: "science", path: belowOutput }
}

const describe = (rule: IrOutputRule): string => `${rule.kind}${rule.pattern === null ? "" : ` ${JSON.stringify(rule.pattern)}`}`

/**
 * The NO_OUTPUTS reason for what a run produced, or `null` when every rule is met. `outputs` are
 * the files below the run's output folder (not the job's own logs), by path below that folder.
 */
export const missingOutputs = (
  outputs: ReadonlyArray<Pick<CollectedFile, "relativePath">>,
  outputRoot: string,
  rules: ReadonlyArray<IrOutputRule> | undefined
): string | null => {
  const files = outputs.map((f) =>
    outputKind(f.relativePath.startsWith(`${outputRoot}/`) ? f.relativePath.slice(outputRoot.length + 1) : f.relativePath)
  )
  for (const rule of rules ?? defaultRules) {
    const found = files.filter((f) => f.kind === rule.kind && (rule.pattern === null || outputPatternMatches(rule.pattern, f.path))).length
    if (found >= rule.min) continue
    if (rules === undefined) {
      return "NO_OUTPUTS: the run produced no science file (a step that may produce none says so: `outputs { science min 0 }`)"
    }
    return `NO_OUTPUTS: ${describe(rule)}: found ${found} file${found === 1 ? "" : "s"}, at least ${rule.min} required`
  }
  return null
}
