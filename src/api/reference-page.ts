import type { OpenApi } from "@effect/platform"

/*
 * The API's reference page (/api/v1/docs), written from the OpenAPI document: every operation
 * with its parameters, body, answers and the schemas they name. Plain HTML and a stylesheet of
 * our own (/api/v1/docs.css): nothing fetched from elsewhere, no script, so it works under the
 * server's Content-Security-Policy and offline.
 */

const escape = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/** A schema in one line: `Run`, `array of Run`, `string`, `"a" | "b"`. */
const schemaText = (schema: unknown): string => {
  if (typeof schema !== "object" || schema === null) return "any"
  const s = schema as Record<string, unknown>
  if (typeof s["$ref"] === "string") {
    const name = s["$ref"].split("/").pop() ?? ""
    return `<a href="#schema-${escape(name)}">${escape(name)}</a>`
  }
  if (Array.isArray(s["enum"])) return s["enum"].map((v) => escape(JSON.stringify(v))).join(" | ")
  if (Array.isArray(s["anyOf"])) return s["anyOf"].map(schemaText).join(" | ")
  if (Array.isArray(s["oneOf"])) return s["oneOf"].map(schemaText).join(" | ")
  if (s["type"] === "array") return `array of ${schemaText(s["items"])}`
  if (typeof s["type"] === "string") return escape(s["type"])
  if (typeof s["properties"] === "object") return "object"
  return "any"
}

/** A schema's description, when it has one. */
const descriptionOf = (schema: unknown): string => {
  const d = typeof schema === "object" && schema !== null ? (schema as Record<string, unknown>)["description"] : undefined
  return typeof d === "string" ? d : ""
}

const propertiesTable = (schema: Record<string, unknown>): string => {
  const properties = (schema["properties"] ?? {}) as Record<string, Record<string, unknown>>
  const required = new Set((schema["required"] ?? []) as ReadonlyArray<string>)
  const rows = Object.entries(properties).map(
    ([name, p]) =>
      `<tr><td><code>${escape(name)}</code>${required.has(name) ? "" : ' <span class="optional">optional</span>'}</td><td>${schemaText(p)}</td><td>${escape(descriptionOf(p))}</td></tr>`
  )
  return rows.length === 0 ? "" : `<table><tr><th>field</th><th>type</th><th>meaning</th></tr>${rows.join("")}</table>`
}

export const referencePage = (spec: OpenApi.OpenAPISpec): string => {
  const operations: Array<string> = []
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item as Record<string, OpenApi.OpenAPISpecOperation>)) {
      if (typeof op !== "object" || op === null || !("responses" in op)) continue
      const params = (op.parameters ?? []).map(
        (p) =>
          `<tr><td><code>${escape(p.name)}</code> (${escape(p.in)})${p.required ? "" : ' <span class="optional">optional</span>'}</td><td>${schemaText(p.schema)}</td><td>${escape(p.description ?? "")}</td></tr>`
      )
      const body = op.requestBody?.content?.["application/json"]?.schema
      const answers = Object.entries(op.responses).map(([status, r]) => {
        const content = (r as { content?: Record<string, { schema?: unknown }> }).content ?? {}
        const types = Object.entries(content).map(([type, c]) => `${escape(type)}: ${schemaText(c.schema)}`)
        return `<li><b>${escape(status)}</b> ${types.join(", ") || "no body"}</li>`
      })
      operations.push(`<section class="operation" id="${escape(op.operationId ?? "")}">
<h3><span class="method ${escape(method)}">${escape(method.toUpperCase())}</span> <code>${escape(path)}</code></h3>
<p>${escape(op.summary ?? "")}</p>
${params.length === 0 ? "" : `<table><tr><th>parameter</th><th>type</th><th>meaning</th></tr>${params.join("")}</table>`}
${body === undefined ? "" : `<p>Body (JSON): ${schemaText(body)}</p>`}
<ul>${answers.join("")}</ul>
${(op.security ?? []).length > 0 ? '<p class="security">Bearer token: see the group\'s rules.</p>' : ""}
</section>`)
    }
  }
  const schemas = Object.entries(spec.components.schemas).map(
    ([name, schema]) =>
      `<section id="schema-${escape(name)}"><h3>${escape(name)}</h3><p>${escape(descriptionOf(schema))}</p>${propertiesTable(schema as unknown as Record<string, unknown>) || `<p>${schemaText(schema)}</p>`}</section>`
  )
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(spec.info.title)} — reference</title>
<link rel="stylesheet" href="/api/v1/docs.css"></head>
<body><h1>${escape(spec.info.title)} <small>${escape(spec.info.version)}</small></h1>
<p>${escape(spec.info.description ?? "")}</p>
<p>The same document as JSON: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>. The dashboard: <a href="/">/</a>.</p>
<h2>Operations</h2>${operations.join("\n")}
<h2>Schemas</h2>${schemas.join("\n")}
</body></html>
`
}

export const referenceStylesheet = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d232a}
code{font:13px ui-monospace,monospace}table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #d5dae0;padding:.2rem .5rem;text-align:left;vertical-align:top}
.operation{border-top:1px solid #d5dae0;padding-top:.5rem}.method{display:inline-block;min-width:3.5rem;font:600 12px ui-monospace,monospace;color:#fff;background:#3867d6;border-radius:3px;padding:.1rem .4rem;text-align:center}
.method.post{background:#20bf6b}.optional{color:#6b7580;font-size:12px}small{color:#6b7580}
`
