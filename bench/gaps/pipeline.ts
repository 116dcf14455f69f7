import { Effect } from "effect"
import { compileSources } from "../../src/compiler/compile.ts"
import type { IrWorkspace } from "../../src/compiler/ir.ts"
import { applyWorkspace } from "../../src/definitions/apply.ts"

// ---------------------------------------------------------------------------------------------
// The standing pipeline: chai_standing of pipelines/chai/standing.ccat at a local location.
// ---------------------------------------------------------------------------------------------

const pipelineText = `
grouping chai_archived {
  description "All archived CHAI data, both receivers"
  where Instrument.name == "CHAI"
    and InstrumentModule.name in ("LFA", "HFA")
    and RawDataPackage.state == "ARCHIVED"
}

location bench_local {
  description "The benchmark's machine"
  backend local { max_parallel 2 }
  container none
  base_dir ".ccat/runs"
}

software chai_calibration {
  description "Chopper-wheel calibration"
  image "docker://ghcr.io/ccatobs/chai-calibration:{version}"
  versions "2.3.1", "2.4.0", "2.4.2"
  command "chai-calibrate --mode {config.calibration_mode} --tsys-max {config.tsys_max_k}"
}

software chai_baseline {
  description "Polynomial baseline subtraction"
  image "docker://ghcr.io/ccatobs/chai-baseline:{version}"
  versions "1.0.0", "1.1.0", "1.2.3"
  command "chai-baseline --order {config.order} --despike {config.despike_sigma}"
}

software chai_gridding {
  description "Gridding into PPV cubes"
  image "docker://ghcr.io/ccatobs/chai-gridding:{version}"
  versions "0.9.1", "0.9.2", "0.10.0"
  command "chai-grid --pixel {config.pixel_arcsec} --kernel {config.kernel} --channel {config.channel_kms}"
}

pipeline chai_standing {
  description "Calibrated spectra per scan and PPV cubes per source and line"
  data chai_archived
  location bench_local
  trigger continuous
  priority 10

  step calibrate {
    run chai_calibration ^2.4
    group_by executed_obs_unit
    cooldown 60s
    config { calibration_mode = "hot_cold"  tsys_max_k = 4000 }
    retries 3
  }

  step baseline {
    after calibrate
    run chai_baseline ^1.2
    group_by executed_obs_unit
    cooldown 60s
    config { order = 3  despike_sigma = 5.0  window_kms = [-50, 50] }
    retries 2
  }

  step map {
    after baseline
    run chai_gridding ~0.10
    group_by source, line
    cooldown 1d
    config { pixel_arcsec = 6.5  kernel = "gauss_bessel"  channel_kms = 0.5 }
    version_policy exact
    retries 1
  }
}
`

const compilePipeline = () => compileSources([{ path: "bench.ccat", text: pipelineText }])

const stepNames = (ir: IrWorkspace): ReadonlyArray<string> => ir.pipelines.flatMap((p) => p.steps.map((s) => s.name))

/** The pipeline's step names, upstream first: how a pass's statements are split by step. */
export const pipelineSteps = (): ReadonlyArray<string> => {
  const { ir } = compilePipeline()
  return ir === undefined ? [] : stepNames(ir)
}

export const applyPipeline = Effect.gen(function* () {
  const compiled = compilePipeline()
  const errors = compiled.diagnostics.filter((d) => d.severity === "error")
  if (errors.length > 0 || compiled.ir === undefined) {
    const shown = errors.map((d) => `bench.ccat:${d.span.startLine}:${d.span.startColumn}: ${d.code} ${d.message}`).join("\n")
    return yield* Effect.dieMessage(`bench/gaps: the bench pipeline does not compile:\n${shown}`)
  }
  const applied = yield* applyWorkspace(compiled.ir, { createdBy: "bench" })
  return { generation: applied.generation, steps: stepNames(compiled.ir) }
})
