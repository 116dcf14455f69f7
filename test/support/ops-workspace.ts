import { join } from "node:path"
import type { SourceInput } from "../../src/compiler/compile.ts"
import { loadCcatFiles, repoRoot } from "./workspace.ts"

// The operator tests need real runs to look at but not the whole CHAI workspace: its shared
// definitions (software, locations, groupings, the dev pipeline) and one small continuous chain
// over the 8 Orion-KL commissioning scans on the LFA, so that every run the trigger makes is known.

export interface OpsChain {
  /** The pipeline's name, which the tests filter runs by. */
  readonly pipeline: string
  /** A `priority` line, for tests of the order pipelines are shown in; none gives the default. */
  readonly priority?: number
  /** Adds `map` after `baseline`: 2 cubes, CO43 from 7 scans and CI10 from 1. */
  readonly withMap?: boolean
}

/** The CHAI definitions every pipeline here builds on, without CHAI's own production pipelines. */
export const chaiDefinitions = (): Array<SourceInput> =>
  loadCcatFiles(join(repoRoot, "pipelines", "chai")).filter((s) => /\/(software|locations|groupings|dev)\.ccat$/.test(s.path))

/** The CHAI definitions plus a chain: each scan calibrated, then baselined (then, withMap, gridded by source and line). */
export const opsWorkspace = ({ pipeline, priority, withMap = false }: OpsChain): Array<SourceInput> => {
  const priorityLine = priority === undefined ? "" : `\n  priority ${priority}`
  const mapStep = withMap
    ? `
  step map {
    after baseline
    run chai_gridding ~0.10
    group_by source, line
    config { pixel_arcsec = 10.0  kernel = "gauss"  channel_kms = 1.0 }
  }`
    : ""
  const text = `
pipeline ${pipeline} {
  data chai_orion_lfa_commissioning
  location local
  trigger continuous${priorityLine}
  step calibrate {
    run chai_calibration ^2.4
    group_by executed_obs_unit
    config { calibration_mode = "hot_cold"  tsys_max_k = 4000 }
  }
  step baseline {
    after calibrate
    run chai_baseline ^1.2
    group_by executed_obs_unit
    config { order = 3  despike_sigma = 5.0 }
  }${mapStep}
}
`
  return [...chaiDefinitions(), { path: `test/${pipeline}.ccat`, text }]
}
