import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { compileSources } from "../../src/compiler/compile.ts"
import { applyWorkspace } from "../../src/definitions/apply.ts"

// ---------------------------------------------------------------------------------------------
// Three pipelines over the CHAI archive of bench/gaps: the standing one (calibrate and baseline per
// scan, map per source and line), a quick look per scan, and a reprocessing that ran only in the
// archive's first days (manual), whose few runs and products are all far back: five steps.
// ---------------------------------------------------------------------------------------------

const workspace = `
grouping chai_archived {
  where Instrument.name == "CHAI" and RawDataPackage.state == "ARCHIVED"
}

location bench_local {
  backend local { max_parallel 2 }
  container none
  base_dir ".ccat/runs"
}

software chai_calibration {
  image "docker://ghcr.io/ccatobs/chai-calibration:{version}"
  versions "2.4.2"
  command "chai-calibrate --mode {config.mode}"
}

software chai_baseline {
  image "docker://ghcr.io/ccatobs/chai-baseline:{version}"
  versions "1.2.3"
  command "chai-baseline --order {config.order}"
}

software chai_gridding {
  image "docker://ghcr.io/ccatobs/chai-gridding:{version}"
  versions "0.10.0"
  command "chai-grid --kernel {config.kernel}"
}

pipeline chai_standing {
  data chai_archived
  location bench_local
  trigger continuous

  step calibrate {
    run chai_calibration ^2.4
    group_by executed_obs_unit
    config { mode = "hot_cold" }
  }

  step baseline {
    after calibrate
    run chai_baseline ^1.2
    group_by executed_obs_unit
    config { order = 3 }
  }

  step map {
    after baseline
    run chai_gridding ~0.10
    group_by source, line
    cooldown 1d
    config { kernel = "gauss_bessel" }
  }
}

pipeline chai_reprocess {
  data chai_archived
  location bench_local
  trigger manual

  step rebaseline {
    run chai_baseline ^1.2
    group_by executed_obs_unit
    config { order = 5 }
  }
}

pipeline chai_quicklook {
  data chai_archived
  location bench_local
  trigger continuous

  step preview {
    run chai_gridding ~0.10
    group_by executed_obs_unit
    config { kernel = "box" }
  }
}
`

/**
 * The steps, in the order the seed deals runs to them: run r goes to step (r - 1) % 4, but for
 * the oldest runs of the fourth, which went to the fifth (bench/api/seed.ts).
 */
export const benchSteps = [
  { pipeline: "chai_standing", step: "calibrate", version: "2.4.2" },
  { pipeline: "chai_standing", step: "baseline", version: "1.2.3" },
  { pipeline: "chai_standing", step: "map", version: "0.10.0" },
  { pipeline: "chai_quicklook", step: "preview", version: "0.10.0" },
  { pipeline: "chai_reprocess", step: "rebaseline", version: "1.2.3" }
] as const

/** Applies the workspace; the ids of benchSteps, in their order. */
export const applyPipelines = Effect.gen(function* () {
  const compiled = compileSources([{ path: "bench-api.ccat", text: workspace }])
  const errors = compiled.diagnostics.filter((d) => d.severity === "error")
  if (errors.length > 0 || compiled.ir === undefined) {
    const shown = errors.map((d) => `bench-api.ccat:${d.span.startLine}:${d.span.startColumn}: ${d.code} ${d.message}`).join("\n")
    return yield* Effect.dieMessage(`bench/api: the bench workspace does not compile:\n${shown}`)
  }
  yield* applyWorkspace(compiled.ir, { createdBy: "bench" })
  return yield* stepIds
})

/** The ids of benchSteps, in their order. */
export const stepIds = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ id: string; pipeline: string; step: string }>`
    SELECT s.id, p.name AS pipeline, s.name AS step FROM reduction_step s JOIN pipeline p ON p.id = s.pipeline_id`
  return benchSteps.map((b) => {
    const row = rows.find((r) => r.pipeline === b.pipeline && r.step === b.step)
    if (row === undefined) throw new Error(`bench/api: step ${b.pipeline}.${b.step} was not applied`)
    return Number(row.id)
  })
})
