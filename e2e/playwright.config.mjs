// Playwright for the residents' web app (issue 16), run by
// cmd/intercomd/web_test.go (TestWebApp) inside `go test ./...`: that test
// starts intercomd, the shipped Kamailio, rtpengine and coturn, and passes
// their addresses in the environment (e2e/web/fixtures.mjs reads them).
//
// The browser is Debian's Chromium ($CHROMIUM, else /usr/bin/chromium):
// Playwright never downloads one (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 where
// npm ci runs). By hand, rig included (from the repository's root):
//   go test ./cmd/intercomd -run TestWebApp -v
//   WEB_TEST_ARGS="web/call.spec.mjs --project desktop" go test ./cmd/intercomd -run TestWebApp -v
//   SCREENSHOTS=1 go test ./cmd/intercomd -run TestWebApp      # docs/screenshots/
// Specs that need only the API can also run against any intercomd:
//   INTERCOMD_URL=http://127.0.0.1:8080 INTERCOMD_ADMIN_TOKEN=… npx playwright test web/x.spec.mjs
import { defineConfig } from "@playwright/test";

const chromium = {
  browserName: "chromium",
  headless: true,
  launchOptions: {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      // A microphone (a beep) and camera without a device or a prompt.
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      // Root in a container: no user namespaces for the sandbox; no GPU.
      "--no-sandbox",
      "--disable-gpu",
      // No calls home: on a closed network Chromium otherwise keeps retrying
      // its update, sync and field-trial fetches.
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  },
};

export default defineConfig({
  testDir: "web",
  testMatch: /.*\.spec\.mjs$/,
  outputDir: process.env.PLAYWRIGHT_OUTPUT_DIR || "test-results",
  fullyParallel: false,
  workers: 1, // a 2-core machine, and one intercomd shared by every test
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["line"], ["json", { outputFile: process.env.PLAYWRIGHT_JSON_REPORT || "test-results/report.json" }]],
  use: {
    baseURL: process.env.INTERCOMD_URL,
    trace: "retain-on-failure",
    ...chromium,
  },
  projects: [
    { name: "desktop", use: { viewport: { width: 1280, height: 800 } } },
    {
      name: "phone",
      use: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true },
    },
  ],
});
