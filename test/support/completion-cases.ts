import type { CompletionSlot } from "../../src/lsp/completion-context.ts"

/*
 * The completion table, shared by the pure tests (test/lsp-completion.test.ts) and the same
 * cases over the protocol (test/lsp-completion-protocol.test.ts): source text with `|` marking
 * the cursor, the slot it must be classified as, labels that must and must not be offered.
 */

export const shared = [
  {
    path: "shared/software.ccat",
    text: `software reducer {
  description "Reduces scans"
  image "docker://ghcr.io/ccatobs/reducer:{version}"
  versions "1.0.0", "1.1.0", "1.2.0-rc.1", "2.0.1", "2.3.0"
  command "reduce --mode {config.mode} --window {config.params.window} --smooth {config.params.smooth} v{version}"
}

software combiner {
  image "docker://ghcr.io/ccatobs/combiner:{version}"
  versions "0.3.4", "0.4.0"
  command "combine {config.format}"
}
`
  },
  {
    path: "shared/places.ccat",
    text: `location hpc {
  site "cologne"
  backend slurm { partition "batch" }
  base_dir "/data/pipelines"
  container apptainer
}

location laptop {
  site "ccat"
  backend local { max_parallel 4 }
  container none
}

grouping science {
  description "Archived science data"
  where RawDataPackage.state == "ARCHIVED"
}

grouping calibrators {
  from science
  where ObservingProgram.short_name == "Cal"
}
`
  },
  {
    path: "shared/pipelines.ccat",
    text: `pipeline nightly {
  data science
  location hpc
  trigger continuous
  step reduce_a {
    run reducer ^1.0
    group_by obs_unit
  }
  step combine {
    after reduce_a
    run combiner ^0.3
    group_by source
  }
}

pipeline calibration {
  data calibrators
  location laptop
  trigger manual
  step scan {
    run reducer ^2.0
    group_by raw_data_package
  }
}
`
  }
]

/** Source text with one `|` cursor marker: the text without it and the marker's offset. */
export const cursor = (marked: string): { text: string; offset: number } => {
  const offset = marked.indexOf("|")
  if (offset < 0 || marked.indexOf("|", offset + 1) >= 0) throw new Error(`exactly one | expected in ${marked}`)
  return { text: marked.slice(0, offset) + marked.slice(offset + 1), offset }
}

export interface Case {
  readonly name: string
  readonly src: string
  readonly slot: Partial<Record<string, unknown>> & { readonly kind: CompletionSlot["kind"] }
  readonly has?: ReadonlyArray<string>
  readonly not?: ReadonlyArray<string>
  readonly live?: boolean
}

export const pipelineWith = (stepBody: string): string => `pipeline p {
  data science
  location hpc
  trigger continuous
  step first { run reducer ^1.0  group_by obs_unit }
  step second { run combiner ^0.3  group_by source }
  step x {
    ${stepBody}
  }
}
`

export const cases: ReadonlyArray<Case> = [
  // --- top level ---
  {
    name: "empty file",
    src: "|",
    slot: { kind: "topLevelKeyword" },
    has: ["pipeline", "grouping", "software", "location"],
    not: ["step", "after"]
  },
  {
    name: "between blocks",
    src: "grouping g { from science }\n\n|\n\npipeline q { data g }",
    slot: { kind: "topLevelKeyword" },
    has: ["pipeline"]
  },
  { name: "typing a top-level keyword", src: "pip|", slot: { kind: "topLevelKeyword" }, has: ["pipeline"] },
  { name: "declaration name", src: "pipeline |", slot: { kind: "none" }, has: [], not: ["pipeline", "science"] },
  { name: "after a closed block", src: 'location l { site "ccat" }\n|', slot: { kind: "topLevelKeyword" }, has: ["software"] },

  // --- property keywords per block ---
  {
    name: "pipeline block",
    src: "pipeline p {\n  |\n}",
    slot: { kind: "propertyKeyword", block: "pipeline", pipeline: "p" },
    has: ["data", "location", "trigger", "step", "priority", "enabled", "description"],
    not: ["after", "run", "where", "pipeline"]
  },
  {
    name: "pipeline block: given properties are not offered again",
    src: "pipeline p {\n  data science\n  |\n  trigger manual\n  step a { run reducer ^1.0  group_by obs_unit }\n}",
    slot: { kind: "propertyKeyword", block: "pipeline", present: ["data", "trigger", "step"] },
    has: ["location", "step", "priority"],
    not: ["data", "trigger"]
  },
  {
    name: "step block",
    src: pipelineWith("|"),
    slot: { kind: "propertyKeyword", block: "step", pipeline: "p", step: "x" },
    has: [
      "after",
      "run",
      "group_by",
      "config",
      "resources",
      "outputs",
      "retries",
      "timeout",
      "version_policy",
      "final",
      "fan_out",
      "cooldown"
    ],
    not: ["data", "trigger", "where", "step"]
  },
  {
    name: "step block: typed prefix",
    src: pipelineWith("run reducer ^1.0\n    gro|"),
    slot: { kind: "propertyKeyword", block: "step" },
    has: ["group_by"],
    not: ["run"]
  },
  {
    name: "location block",
    src: "location l {\n  |\n}",
    slot: { kind: "propertyKeyword", block: "location" },
    has: ["site", "backend", "base_dir", "purge_above", "container"],
    not: ["data", "run"]
  },
  {
    name: "software block",
    src: 'software s {\n  image "x"\n  |\n}',
    slot: { kind: "propertyKeyword", block: "software" },
    has: ["versions", "command"],
    not: ["image", "run"]
  },
  {
    name: "grouping block",
    src: 'grouping g {\n  where Source.name == "x"\n  |\n}',
    slot: { kind: "propertyKeyword", block: "grouping" },
    has: ["from", "where", "description"],
    not: ["data"]
  },
  {
    name: "unclosed block at end of file",
    src: "pipeline p {\n  data science\n  |",
    slot: { kind: "propertyKeyword", block: "pipeline" },
    has: ["location", "trigger"],
    not: ["data"]
  },
  {
    name: "unclosed step: the next step re-syncs",
    src: "pipeline p {\n  step a {\n    run reducer ^1.0\n  step b {\n    |\n  }\n}",
    slot: { kind: "propertyKeyword", block: "step", pipeline: "p", step: "b" },
    has: ["run"]
  },
  {
    name: "unclosed pipeline: the next declaration re-syncs",
    src: "pipeline p {\n  data science\n\ngrouping g {\n  |\n}",
    slot: { kind: "propertyKeyword", block: "grouping" },
    has: ["where"],
    not: ["data"]
  },
  {
    name: "after a value on the next line",
    src: pipelineWith("group_by source\n    |"),
    slot: { kind: "propertyKeyword", block: "step" },
    has: ["run"],
    not: ["group_by"]
  },

  // --- references ---
  {
    name: "data offers groupings",
    src: "pipeline p {\n  data |\n}",
    slot: { kind: "reference", target: "grouping" },
    has: ["science", "calibrators"],
    not: ["hpc", "reducer"]
  },
  { name: "data at end of a broken file", src: "pipeline p { data |", slot: { kind: "reference", target: "grouping" }, has: ["science"] },
  { name: "data with a prefix", src: "pipeline p { data sci| }", slot: { kind: "reference", target: "grouping" }, has: ["science"] },
  {
    name: "from offers groupings",
    src: "grouping g {\n  from |\n}",
    slot: { kind: "reference", target: "grouping" },
    has: ["calibrators"],
    not: ["laptop"]
  },
  {
    name: "location in a pipeline offers locations",
    src: "pipeline p {\n  location |\n}",
    slot: { kind: "reference", target: "location" },
    has: ["hpc", "laptop"],
    not: ["science"]
  },
  {
    name: "run offers software",
    src: pipelineWith("run |"),
    slot: { kind: "reference", target: "software" },
    has: ["reducer", "combiner"],
    not: ["hpc", "science"]
  },
  {
    name: "after offers the other steps of this pipeline",
    src: pipelineWith("after |"),
    slot: { kind: "reference", target: "step", pipeline: "p", step: "x" },
    has: ["first", "second"],
    not: ["x", "reduce_a", "scan", "science"]
  },
  {
    name: "after a comma",
    src: pipelineWith("after first, |"),
    slot: { kind: "reference", target: "step" },
    has: ["second"],
    not: ["first", "x"]
  },
  {
    name: "after in a one-line broken step",
    src: "pipeline p {\n  step a { run reducer ^1.0 }\n  step x { after | }\n  step z {",
    slot: { kind: "reference", target: "step" },
    has: ["a", "z"],
    not: ["x"]
  },
  {
    name: "after with a missing value, then run",
    src: pipelineWith("after |\n    run reducer ^1.0"),
    slot: { kind: "reference", target: "step" },
    has: ["first"]
  },

  {
    name: "after in a stray step (no pipeline)",
    src: "step x { after | }",
    slot: { kind: "reference", target: "step", step: "x" },
    has: [],
    not: ["x"]
  },
  {
    name: "missing value, then location",
    src: "pipeline p {\n  data\n  location |",
    slot: { kind: "reference", target: "location" },
    has: ["hpc"],
    not: ["science"]
  },
  { name: "cron schedule is a string", src: "pipeline p { trigger cron |", slot: { kind: "none" }, has: [] },

  // --- versions ---
  {
    name: "versions after run sw",
    src: pipelineWith("run reducer |"),
    slot: { kind: "version", software: "reducer" },
    has: ["^2.3", "^2.0", "^1.1", "^1.0", "=2.3.0", "=1.2.0-rc.1", "=1.0.0"],
    not: ["^0.3", "reducer", "run"]
  },
  {
    name: "versions after a range operator",
    src: pipelineWith("run combiner ^|"),
    slot: { kind: "version", software: "combiner" },
    has: ["^0.4", "^0.3", "=0.3.4"],
    not: ["^2.3"]
  },
  {
    name: "versions of unknown software",
    src: pipelineWith("run nothing |"),
    slot: { kind: "version", software: "nothing" },
    has: [],
    not: ["^2.3"]
  },

  // --- filters ---
  {
    name: "table after where",
    src: "grouping g {\n  where |\n}",
    slot: { kind: "table" },
    has: ["Source", "RawDataPackage", "ObsUnit"],
    not: ["science", "where"]
  },
  { name: "table after and", src: 'grouping g { where Source.name == "a" and | }', slot: { kind: "table" }, has: ["Source"] },
  {
    name: "table after or on the next line",
    src: 'grouping g {\n  where Source.name == "a"\n    or |\n}',
    slot: { kind: "table" },
    has: ["Instrument"]
  },
  { name: "table after not", src: "grouping g { where not | }", slot: { kind: "table" }, has: ["Source"] },
  { name: "table after (", src: 'grouping g { where Source.kind == "FIXED" and (| }', slot: { kind: "table" }, has: ["ObsUnit"] },
  { name: "table with a prefix", src: "grouping g { where Sou| }", slot: { kind: "table" }, has: ["Source"] },
  {
    name: "column after Table.",
    src: "grouping g { where Source.| }",
    slot: { kind: "column", table: "Source" },
    has: ["name", "kind", "ra_deg"],
    not: ["state", "Source"]
  },
  {
    name: "column after a trailing Table. at end of file",
    src: "grouping g {\n  where Source.|",
    slot: { kind: "column", table: "Source" },
    has: ["name"]
  },
  {
    name: "trailing Table. in a broken pipeline file",
    src: "pipeline p {\n  step x {\n    where Source.|\n  step y {",
    slot: { kind: "column", table: "Source" },
    has: ["dec_deg"]
  },
  {
    name: "column with a prefix",
    src: "grouping g { where RawDataPackage.st| }",
    slot: { kind: "column", table: "RawDataPackage" },
    has: ["state", "size_bytes"]
  },
  {
    name: "json path after a json column",
    src: "grouping g { where RawDataPackage.metadata.| }",
    slot: { kind: "jsonPath", table: "RawDataPackage", column: "metadata" },
    has: []
  },
  {
    name: "enum values after ==",
    src: "grouping g { where RawDataPackage.state == | }",
    slot: { kind: "enumValue", table: "RawDataPackage", column: "state" },
    has: ['"ARCHIVED"', '"WAITING"'],
    not: ["Source", '"FIXED"']
  },
  {
    name: "enum values after !=",
    src: "grouping g { where Source.kind != |",
    slot: { kind: "enumValue", table: "Source", column: "kind" },
    has: ['"FIXED"', '"SOLAR_SYSTEM"']
  },
  {
    name: "enum values after in (",
    src: "grouping g { where ExecutedObsUnit.status in (| }",
    slot: { kind: "enumValue", table: "ExecutedObsUnit", column: "status" },
    has: ['"SUCCESS"', '"FAILED"']
  },
  {
    name: "enum values after not in ( ... ,",
    src: 'grouping g { where Source.kind not in ("FIXED", | }',
    slot: { kind: "enumValue", table: "Source", column: "kind" },
    has: ['"SOLAR_SYSTEM"']
  },
  {
    name: "no enum values for a string column",
    src: "grouping g { where Source.name == | }",
    slot: { kind: "enumValue", table: "Source", column: "name" },
    has: [],
    not: ['"FIXED"']
  },
  {
    name: "live values for a string column",
    src: "grouping g { where Source.name == | }",
    slot: { kind: "enumValue" },
    has: ['"ρ Oph"', '"NGC253"'],
    live: true
  },
  { name: "inside a string", src: 'grouping g { where Source.name == "NG| }', slot: { kind: "none", reason: "string" }, has: [] },

  // --- group_by, trigger, policies ---
  {
    name: "dimensions after group_by",
    src: pipelineWith("group_by |"),
    slot: { kind: "dimension" },
    has: ["source", "executed_obs_unit", "night", "all"],
    not: ["Source", "first"]
  },
  {
    name: "dimensions after a comma",
    src: pipelineWith("group_by source, |"),
    slot: { kind: "dimension" },
    has: ["line"],
    not: ["source"]
  },
  {
    name: "trigger modes",
    src: "pipeline p { trigger | }",
    slot: { kind: "triggerMode" },
    has: ["continuous", "cron", "manual"],
    not: ["data"]
  },
  { name: "version policies", src: pipelineWith("version_policy |"), slot: { kind: "versionPolicy" }, has: ["compatible", "exact"] },
  { name: "container runtimes", src: "location l {\n  container |\n}", slot: { kind: "containerRuntime" }, has: ["apptainer", "none"] },
  { name: "backend kinds", src: "location l {\n  backend |\n}", slot: { kind: "backendKind" }, has: ["local", "slurm"] },
  { name: "enabled", src: "pipeline p { enabled | }", slot: { kind: "boolean" }, has: ["true", "false"] },

  // --- entries and config ---
  {
    name: "resource keys",
    src: pipelineWith("resources { | }"),
    slot: { kind: "resourceKey" },
    has: ["cpus", "memory", "time", "gpus"],
    not: ["run"]
  },
  {
    name: "resource keys after an entry",
    src: pipelineWith("resources { cpus 4  | }"),
    slot: { kind: "resourceKey" },
    has: ["memory"],
    not: ["cpus"]
  },
  { name: "resource value", src: pipelineWith("resources { cpus | }"), slot: { kind: "none" }, has: [] },
  {
    name: "resource keys in an unclosed block",
    src: "pipeline p {\n  step x {\n    resources {\n      |",
    slot: { kind: "resourceKey" },
    has: ["partition"]
  },
  // --- outputs ---
  {
    name: "outputs is offered once per step",
    src: pipelineWith("outputs { science min 0 }\n    |"),
    slot: { kind: "propertyKeyword", block: "step", present: ["outputs"] },
    has: ["run"],
    not: ["outputs"]
  },
  {
    name: "outputs is no pipeline property",
    src: "pipeline p {\n  |\n}",
    slot: { kind: "propertyKeyword", block: "pipeline" },
    not: ["outputs"]
  },
  {
    name: "output kinds in an empty block",
    src: pipelineWith("outputs { | }"),
    slot: { kind: "outputKind" },
    has: ["science", "qa", "plots", "statistics", "logs"],
    not: ["min", "cpus", "run"]
  },
  { name: "output kind with a prefix", src: pipelineWith("outputs { sci| }"), slot: { kind: "outputKind" }, has: ["science"] },
  {
    name: "output kinds on the line after a rule",
    src: pipelineWith('outputs {\n      science "*.fits"\n      |\n    }'),
    slot: { kind: "outputKind" },
    has: ["qa"],
    not: ["min"]
  },
  {
    name: "output kinds after a complete rule",
    src: pipelineWith("outputs { science min 0  | }"),
    slot: { kind: "outputKind" },
    has: ["plots"]
  },
  { name: "output kinds after a comma", src: pipelineWith('outputs { science "*.fits", | }'), slot: { kind: "outputKind" }, has: ["logs"] },
  {
    name: "output kinds in an unclosed block",
    src: "pipeline p {\n  step x {\n    outputs {\n      |",
    slot: { kind: "outputKind" },
    has: ["statistics"]
  },
  {
    name: "min after a kind",
    src: pipelineWith("outputs { science | }"),
    slot: { kind: "outputMin" },
    has: ["min"],
    not: ["science", "run"]
  },
  { name: "min after a pattern", src: pipelineWith('outputs {\n      qa "*.json" |\n    }'), slot: { kind: "outputMin" }, has: ["min"] },
  { name: "min with a prefix", src: pipelineWith('outputs { qa "*.json" mi| }'), slot: { kind: "outputMin" }, has: ["min"] },
  { name: "the count after min", src: pipelineWith("outputs { science min | }"), slot: { kind: "none" }, has: [] },
  { name: "inside a pattern", src: pipelineWith('outputs { science "*.fi| }'), slot: { kind: "none", reason: "string" }, has: [] },
  // --- retries ---
  { name: "the count after retries", src: pipelineWith("retries |"), slot: { kind: "none", reason: "value" }, has: [] },
  {
    name: "on after the count",
    src: pipelineWith("retries 3 |"),
    slot: { kind: "retryOn", adjustment: false },
    has: ["on"],
    not: ["timeout", "OOM"]
  },
  { name: "on with a prefix", src: pipelineWith("retries 3 o|"), slot: { kind: "retryOn", adjustment: false }, has: ["on"] },
  {
    name: "properties on the line after the count",
    src: pipelineWith("retries 3\n    |"),
    slot: { kind: "propertyKeyword", block: "step", present: ["retries"] },
    has: ["timeout"],
    not: ["on", "retries"]
  },
  {
    name: "reasons after on",
    src: pipelineWith("retries 3 on |"),
    slot: { kind: "failureReason", listed: [] },
    has: ["EXIT_CODE", "TIMEOUT", "OOM", "NODE_FAIL", "NO_OUTPUTS"],
    not: ["on", "memory"]
  },
  { name: "a reason with a prefix", src: pipelineWith("retries 3 on TIM|"), slot: { kind: "failureReason" }, has: ["TIMEOUT"] },
  {
    name: "reasons after a comma, less those listed",
    src: pipelineWith("retries 3 on TIMEOUT, OOM, |"),
    slot: { kind: "failureReason", listed: ["TIMEOUT", "OOM"] },
    has: ["NODE_FAIL", "LOST"],
    not: ["TIMEOUT", "OOM"]
  },
  {
    name: "properties on the line after the reasons",
    src: pipelineWith("retries 3 on TIMEOUT\n    |"),
    slot: { kind: "propertyKeyword", block: "step" },
    has: ["timeout"],
    not: ["OOM"]
  },
  {
    name: "on inside the braces",
    src: pipelineWith("retries 3 on TIMEOUT, OOM { | }"),
    slot: { kind: "retryOn", adjustment: true, retried: ["TIMEOUT", "OOM"] },
    has: ["on"],
    not: ["OOM", "memory"]
  },
  {
    name: "on after an adjustment",
    src: pipelineWith("retries 3 {\n      on OOM memory x2\n      |\n    }"),
    slot: { kind: "retryOn", adjustment: true },
    has: ["on"]
  },
  {
    name: "the reasons retried after on in the braces",
    src: pipelineWith("retries 3 on TIMEOUT, OOM { on | }"),
    slot: { kind: "failureReason", retried: ["TIMEOUT", "OOM"] },
    has: ["TIMEOUT", "OOM"],
    not: ["EXIT_CODE", "LOST"]
  },
  {
    name: "every reason in braces without on",
    src: pipelineWith("retries 3 { on | }"),
    slot: { kind: "failureReason" },
    has: ["EXIT_CODE", "OOM", "LOST"]
  },
  {
    name: "resources after on REASON",
    src: pipelineWith("retries 3 { on OOM | }"),
    slot: { kind: "growableResource" },
    has: ["cpus", "memory", "time"],
    not: ["gpus", "partition", "OOM"]
  },
  { name: "a resource with a prefix", src: pipelineWith("retries 3 { on OOM mem| }"), slot: { kind: "growableResource" }, has: ["memory"] },
  {
    name: "the factor after a resource",
    src: pipelineWith("retries 3 { on OOM memory | }"),
    slot: { kind: "none", reason: "value" },
    has: []
  },
  {
    name: "resources in an unclosed block",
    src: "pipeline p {\n  step x {\n    retries 3 on OOM {\n      on OOM |",
    slot: { kind: "growableResource" },
    has: ["memory"]
  },

  {
    name: "slurm options",
    src: "location l {\n  backend slurm {\n    |\n  }\n}",
    slot: { kind: "backendOption", backend: "slurm" },
    has: ["partition", "account", "qos", "max_queued"],
    not: ["max_parallel"]
  },
  {
    name: "local options",
    src: "location l { backend local { | } }",
    slot: { kind: "backendOption", backend: "local" },
    has: ["max_parallel"],
    not: ["partition"]
  },
  {
    name: "config keys of the step's software",
    src: pipelineWith("run reducer ^1.0\n    config { | }"),
    slot: { kind: "configKey", software: "reducer", path: [] },
    has: ["mode", "params"],
    not: ["format", "version", "window"]
  },
  {
    name: "config keys when run comes after config",
    src: pipelineWith("config {\n      |\n    }\n    run combiner ^0.3"),
    slot: { kind: "configKey", software: "combiner" },
    has: ["format"],
    not: ["mode"]
  },
  {
    name: "nested config keys",
    src: pipelineWith('run reducer ^1.0\n    config { mode = "x"  params = { | } }'),
    slot: { kind: "configKey", software: "reducer", path: ["params"] },
    has: ["window", "smooth"],
    not: ["mode"]
  },
  {
    name: "config keys already given",
    src: pipelineWith('run reducer ^1.0\n    config { mode = "x"  | }'),
    slot: { kind: "configKey" },
    has: ["params"],
    not: ["mode"]
  },
  { name: "config value", src: pipelineWith("run reducer ^1.0\n    config { mode = | }"), slot: { kind: "none" }, has: [] },

  // --- comments and strings ---
  { name: "line comment", src: "pipeline p {\n  // data |\n}", slot: { kind: "none", reason: "comment" }, has: [] },
  { name: "block comment", src: "pipeline p {\n  /* after | */\n}", slot: { kind: "none", reason: "comment" }, has: [] },
  { name: "unterminated block comment", src: "pipeline p {\n  /* data |", slot: { kind: "none", reason: "comment" }, has: [] },
  { name: "description string", src: 'pipeline p { description "data | science" }', slot: { kind: "none", reason: "string" }, has: [] },
  {
    name: "right after a comment",
    src: "pipeline p {\n  /* c */ |\n}",
    slot: { kind: "propertyKeyword", block: "pipeline" },
    has: ["data"]
  }
]
