import { layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { Page } from "puppeteer-core"
import { describe, expect } from "vitest"
import { ApiServer, apiServerLayer } from "./support/api-server.ts"
import { Chromium, ChromiumLive, ensureDashboardBuilt, openPage, screenshot, textOf } from "./support/browser.ts"
import { testBackends } from "./support/databases.ts"
import { scratchDirs } from "./support/scratch.ts"

/*
 * The dashboard in a real browser (Debian's chromium through puppeteer-core) against `ccat serve`
 * on a database with runs in every status (test/support/api-server.ts): every view loads with a
 * clean console, a click path leads from the map of steps to a product's lineage, a cancel with
 * a token shows on an open page without a reload, and one without a token is refused and
 * changes nothing. Screenshots of the views go to test-artifacts/screenshots/. One database,
 * PGlite unless CCAT_TEST_DATABASES leaves it out: the browser does not care which one answers
 * (test/api.test.ts runs the API on both).
 */

const tempDir = scratchDirs("ccat-dash")
const backend = testBackends.includes("pglite") ? "pglite" : (testBackends[0] ?? "pglite")

const go = (page: Page, url: string, ready: string) =>
  Effect.promise(async () => {
    try {
      await page.goto(url, { waitUntil: "domcontentloaded" })
      await page.waitForSelector(ready, { timeout: 20_000 })
    } catch (e) {
      throw new Error(`${url}: ${ready}: ${e instanceof Error ? e.message : String(e)}`, { cause: e })
    }
  })

const click = (page: Page, selector: string) =>
  Effect.promise(async () => {
    await page.waitForSelector(selector, { visible: true, timeout: 20_000 })
    await page.click(selector)
  })

const getJson = (url: string, token?: string) =>
  Effect.promise(async () => {
    const response = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
    return (await response.json()) as Record<string, unknown>
  })

interface PlotOfMap {
  readonly productId: number
  readonly runId: number
}

/** A PLOT the map step made, and its run: the far end of the click path. */
const plotOfMap = (api: string, pipeline: string) =>
  getJson(`${api}/products?pipeline=${pipeline}&step=map&type=PLOT&limit=1`).pipe(
    Effect.map((page) => {
      const [product] = page["products"] as Array<{ id: number; runId: number }>
      if (product === undefined) throw new Error("the seeded map step made no PLOT")
      return { productId: product.id, runId: product.runId } satisfies PlotOfMap
    })
  )

const headerStatus = '[data-testid="view-run"] h1 [data-testid="run-status"]'

describe(`the dashboard in a browser, ${backend}`, () => {
  layer(Layer.merge(apiServerLayer(tempDir, backend), ChromiumLive), { timeout: 240_000, excludeTestServices: true })((it) => {
    it.effect(
      "every view loads without console errors",
      () =>
        Effect.gen(function* () {
          yield* ensureDashboardBuilt
          const { baseUrl, pipeline, runIn } = yield* ApiServer
          const { page, problems } = yield* openPage(yield* Chromium)
          const plot = yield* plotOfMap(`${baseUrl}/api/v1`, pipeline)
          const views: ReadonlyArray<readonly [string, string, string]> = [
            ["overview", "/", `[data-testid="step-node"][data-step="${pipeline}.map"]`],
            ["step", `/pipelines/${pipeline}/steps/map`, '[data-testid="duration-chart"] canvas'],
            ["why", `/pipelines/${pipeline}/steps/map/why`, '[data-testid="why-lines"]'],
            ["runs", "/runs", '[data-testid="run-row"]'],
            ["runs-failed", "/runs?status=FAILED", '[data-testid="run-row"]'],
            ["run", `/runs/${plot.runId}`, '[data-testid="log-state"][data-state="ended"]'],
            ["run-failed", `/runs/${runIn.FAILED}`, '[data-testid="failure-reason"]'],
            ["product", `/products/${plot.productId}`, '[data-testid="lineage-node"][data-kind="package"]']
          ]
          for (const [view, path, ready] of views) {
            yield* go(page, `${baseUrl}${path}`, ready)
            yield* screenshot(page, view)
            expect({ view, problems }).toEqual({ view, problems: [] })
          }

          // Each sub-group of the why table links to its own explanation.
          yield* go(page, `${baseUrl}/pipelines/${pipeline}/steps/map/why`, '[data-testid="why-decision"] a')
          const subGroup = yield* Effect.promise(() =>
            page.$eval('[data-testid="why-decision"]', (row) => row.getAttribute("data-sub-group") ?? "")
          )
          yield* click(page, '[data-testid="why-decision"] a')
          yield* Effect.promise(() =>
            page.waitForSelector(`[data-testid="view-why"][data-sub-group="${subGroup}"] [data-testid="why-lines"]`, { timeout: 20_000 })
          )
          expect(new URL(page.url()).searchParams.get("subGroup")).toBe(subGroup)
          yield* screenshot(page, "why-sub-group")
          expect(problems).toEqual([])

          // The runs view filters by the URL's query, and colours statuses apart.
          yield* go(page, `${baseUrl}/runs?status=FAILED`, '[data-testid="run-row"]')
          const failedRows = yield* Effect.promise(() =>
            page.$$eval('[data-testid="run-row"]', (rows) => rows.map((row) => row.getAttribute("data-status")))
          )
          expect(new Set(failedRows)).toEqual(new Set(["FAILED"]))
          yield* go(page, `${baseUrl}/runs`, '[data-testid="run-row"][data-status="CANCELLED"]')
          const colours = yield* Effect.promise(() =>
            page.$$eval('[data-testid="run-row"] [data-testid="run-status"]', (badges) =>
              Object.fromEntries(
                badges.map((badge) => [
                  badge.getAttribute("data-status"),
                  badge.ownerDocument.defaultView?.getComputedStyle(badge).backgroundColor
                ])
              )
            )
          )
          expect(new Set([colours["COMPLETED"], colours["FAILED"], colours["PENDING"], colours["RUNNING"]]).size).toBe(4)
          yield* Effect.promise(() => page.browserContext().close())
        }),
      120_000
    )

    it.effect(
      "a click from the overview's step to a run to a product shows its lineage back to the raw packages",
      () =>
        Effect.gen(function* () {
          yield* ensureDashboardBuilt
          const { baseUrl, pipeline } = yield* ApiServer
          const { page, problems } = yield* openPage(yield* Chromium)
          const plot = yield* plotOfMap(`${baseUrl}/api/v1`, pipeline)
          yield* go(page, baseUrl, '[data-testid="step-node"]')
          yield* click(page, `[data-testid="step-node"][data-step="${pipeline}.map"]`)
          yield* click(page, `[data-testid="run-row"][data-run-id="${plot.runId}"] [data-testid="run-link"]`)
          yield* click(page, `[data-testid="run-product"][data-product-id="${plot.productId}"] [data-testid="product-link"]`)
          yield* Effect.promise(() =>
            page.waitForSelector('[data-testid="lineage-node"][data-kind="package"]', { visible: true, timeout: 20_000 })
          )
          expect(new URL(page.url()).pathname).toBe(`/products/${plot.productId}`)

          const kinds = yield* Effect.promise(() =>
            page.$$eval('[data-testid="lineage-node"]', (nodes) => nodes.map((node) => node.getAttribute("data-kind")))
          )
          expect(new Set(kinds)).toEqual(new Set(["product", "run", "package"]))
          // Each run node says which software made its products.
          const lineage = yield* getJson(`${baseUrl}/api/v1/products/${plot.productId}/lineage`)
          const mapRun = (lineage["nodes"] as Array<{ kind: string; runId?: number; softwareVersion?: string }>).find(
            (node) => node.kind === "run" && node.runId === plot.runId
          )!
          expect(
            yield* textOf(page, `[data-testid="lineage-node"][data-id="run-${plot.runId}"] [data-testid="lineage-software"]`)
          ).toContain(mapRun.softwareVersion)
          expect(problems).toEqual([])
          yield* Effect.promise(() => page.browserContext().close())
        }),
      120_000
    )

    it.effect(
      "a run cancelled with a token turns CANCELLED on an open run page and the overview without a reload; a step's run request is recorded as the token's",
      () =>
        Effect.gen(function* () {
          yield* ensureDashboardBuilt
          const { baseUrl, pipeline, runIn, token } = yield* ApiServer
          const browser = yield* Chromium
          const runId = runIn.RUNNING
          const watching = yield* openPage(browser)
          yield* go(watching.page, `${baseUrl}/runs/${runId}`, `${headerStatus}[data-status="RUNNING"]`)
          const overview = yield* openPage(browser)
          yield* go(overview.page, baseUrl, `[data-testid="step-node"][data-step="${pipeline}.map"]`)
          const cancelledOnMap = `[data-testid="step-node"][data-step="${pipeline}.map"] [data-status="CANCELLED"]`
          const cancelledBefore = Number(yield* textOf(overview.page, cancelledOnMap))
          // A reload would lose these marks.
          for (const { page } of [watching, overview]) yield* Effect.promise(() => page.evaluate("window.notReloaded = true"))

          const acting = yield* openPage(browser)
          yield* go(acting.page, `${baseUrl}/runs/${runId}`, `${headerStatus}[data-status="RUNNING"]`)
          yield* click(acting.page, '[data-testid="token-button"]')
          yield* Effect.promise(() => acting.page.type('[data-testid="token-input"]', token))
          yield* click(acting.page, '[data-testid="token-save"]')
          yield* Effect.promise(() => acting.page.waitForSelector('[data-testid="token-button"]::-p-text(api-test)', { timeout: 20_000 }))
          yield* click(acting.page, '[data-testid="cancel-button"]:not([disabled])')
          expect(yield* textOf(acting.page, '[data-testid="action-message"]')).toMatch(/^Cancelled \(was RUNNING\) by .*api-test/)

          yield* Effect.promise(() => watching.page.waitForSelector(`${headerStatus}[data-status="CANCELLED"]`, { timeout: 20_000 }))
          yield* Effect.promise(() => watching.page.waitForSelector('[data-testid="run-event"][data-to="CANCELLED"]', { timeout: 20_000 }))
          expect(yield* textOf(watching.page, '[data-testid="run-event"][data-to="CANCELLED"]')).toContain("api-test")
          yield* Effect.promise(() =>
            overview.page.waitForFunction(
              `Number(document.querySelector(${JSON.stringify(cancelledOnMap)})?.textContent) === ${cancelledBefore + 1}`,
              {
                timeout: 20_000
              }
            )
          )
          for (const { page } of [watching, overview]) {
            expect(yield* Effect.promise(() => page.evaluate("window.notReloaded === true"))).toBe(true)
          }
          yield* screenshot(watching.page, "run-cancelled-live")

          // The same tab, token kept, asks for the step to be evaluated now, as `ccat run --step` does.
          yield* go(acting.page, `${baseUrl}/pipelines/${pipeline}/steps/map`, '[data-testid="run-button"]')
          yield* click(acting.page, '[data-testid="run-button"]:not([disabled])')
          expect(yield* textOf(acting.page, '[data-testid="action-message"]')).toMatch(
            new RegExp(`^Request \\d+ recorded by token api-test: the next trigger pass evaluates ${pipeline}\\.map\\.$`)
          )
          expect([...watching.problems, ...overview.problems, ...acting.problems]).toEqual([])
          for (const { page } of [watching, overview, acting]) yield* Effect.promise(() => page.browserContext().close())
        }),
      120_000
    )

    it.effect(
      "a cancel without a token is refused with the API's 401 message and changes nothing",
      () =>
        Effect.gen(function* () {
          yield* ensureDashboardBuilt
          const { baseUrl, runIn, token } = yield* ApiServer
          const runId = runIn.PENDING
          const before = yield* getJson(`${baseUrl}/api/v1/runs/${runId}`, token)
          const { page, problems } = yield* openPage(yield* Chromium)
          yield* go(page, `${baseUrl}/runs/${runId}`, `${headerStatus}[data-status="PENDING"]`)
          const refusal = yield* Effect.promise(async () => {
            const answer = page.waitForResponse((response) => response.url().endsWith(`/api/v1/runs/${runId}/cancel`))
            await page.click('[data-testid="cancel-button"]')
            const response = await answer
            return { status: response.status(), body: (await response.json()) as { code: string; message: string } }
          })
          expect(refusal.status).toBe(401)
          expect(yield* textOf(page, '[data-testid="action-message"][role="alert"]')).toContain(refusal.body.message)
          yield* screenshot(page, "run-refused")

          expect(yield* getJson(`${baseUrl}/api/v1/runs/${runId}`, token)).toEqual(before)
          expect(yield* textOf(page, headerStatus)).toBe("PENDING")
          // The browser reports the refused request itself; nothing else may go wrong.
          expect(problems.filter((problem) => !problem.includes("status of 401"))).toEqual([])
          yield* Effect.promise(() => page.browserContext().close())
        }),
      60_000
    )
  })
})
