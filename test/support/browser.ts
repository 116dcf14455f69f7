import { Context, Effect, Layer } from "effect"
import { mkdirSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import puppeteer, { type Browser, type Page } from "puppeteer-core"
import { buildDashboard } from "../../scripts/build-dashboard.mjs"

/*
 * A real browser for the dashboard's tests: Debian's chromium (`apt install chromium`; `.ci/run`
 * installs it) driven by puppeteer-core. CCAT_CHROMIUM names another executable. Every page
 * records what a user would see go wrong in the developer console: console errors (a refused
 * Content-Security-Policy shows up there too) and uncaught exceptions.
 */

export const chromiumPath = process.env["CCAT_CHROMIUM"] ?? "/usr/bin/chromium"

const repository = join(import.meta.dirname, "..", "..")

export const screenshotDir = join(repository, "test-artifacts", "screenshots")

export class Chromium extends Context.Tag("test/Chromium")<Chromium, Browser>() {}

/** One headless chromium for a test file, closed with the layer. */
export const ChromiumLive = Layer.scoped(
  Chromium,
  Effect.acquireRelease(
    Effect.promise(() =>
      puppeteer.launch({
        executablePath: chromiumPath,
        headless: true,
        args: [
          "--no-sandbox",
          "--headless=new",
          "--disable-gpu",
          "--disable-dev-shm-usage",
          "--no-first-run",
          "--no-default-browser-check"
        ],
        defaultViewport: { width: 1400, height: 900 }
      })
    ),
    (browser) => Effect.promise(() => browser.close())
  )
)

const newestChange = (path: string): number => {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestChange(join(path, name))))
}

/**
 * `ccat serve` serves dist/dashboard/ as `npm run build` left it; a checkout whose dashboard
 * sources changed since gets a fresh build, so the browser tests what the sources say.
 */
export const ensureDashboardBuilt = Effect.promise(async () => {
  const built = join(repository, "dist", "dashboard", "assets", "app.js")
  const stale = (() => {
    try {
      return statSync(built).mtimeMs < newestChange(join(repository, "src", "dashboard"))
    } catch {
      return true
    }
  })()
  if (stale) await buildDashboard()
})

export interface WatchedPage {
  readonly page: Page
  /** Console errors and uncaught exceptions so far, as text. */
  readonly problems: Array<string>
}

/**
 * A tab in a browser context of its own (its own localStorage, so a token saved in one tab is
 * not seen by another), recording console errors and uncaught exceptions.
 */
export const openPage = (browser: Browser): Effect.Effect<WatchedPage> =>
  Effect.promise(async () => {
    const context = await browser.createBrowserContext()
    const page = await context.newPage()
    const problems: Array<string> = []
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()} (${message.location().url ?? "?"})`)
    })
    page.on("pageerror", (error) => problems.push(`exception: ${error instanceof Error ? error.message : String(error)}`))
    return { page, problems }
  })

/** Writes the page as `test-artifacts/screenshots/<view>.png`. */
export const screenshot = (page: Page, view: string): Effect.Effect<string> =>
  Effect.promise(async () => {
    mkdirSync(screenshotDir, { recursive: true })
    const path = join(screenshotDir, `${view}.png`)
    await page.screenshot({ path, fullPage: true })
    return path
  })

/** The text of the first element that matches, once it is there. */
export const textOf = (page: Page, selector: string): Effect.Effect<string> =>
  Effect.promise(async () => {
    const element = await page.waitForSelector(selector)
    if (element === null) throw new Error(`${selector} is not on ${page.url()}`)
    return element.evaluate((node) => node.textContent ?? "")
  })
