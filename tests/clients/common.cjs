// What the browser scripts (browser.cjs, admin_pages.cjs) share: the Chromium launch (no
// background traffic), a phone and a desktop width, and the checks every page must pass.
// Required by relative path, so it is found wherever node runs; playwright-core comes from
// the NODE_PATH the e2e tests set.

const { chromium } = require("playwright-core");
const path = require("path");

const widths = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 800 } };

// Fails if a field has no label or the page scrolls sideways; saves a screenshot in `dir`.
async function check(page, dir, name, label) {
  const unlabelled = await page.$$eval(
    "input:not([type=hidden]), select, textarea",
    (fields) => fields.filter((f) => f.labels.length === 0).map((f) => f.name),
  );
  if (unlabelled.length > 0) throw new Error(`${name}: fields without a label: ${unlabelled}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) throw new Error(`${name} scrolls sideways by ${overflow}px at ${label} width`);
  await page.screenshot({ path: path.join(dir, `${name}-${label}.png`), fullPage: true });
}

// Runs `visit(page, label, index)` once per width, each in a fresh context without
// JavaScript, as a browser with JavaScript off sees the pages; exits 1 on the first error.
function atEachWidth(executablePath, visit) {
  (async () => {
    const browser = await chromium.launch({
      executablePath,
      args: [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
    });
    try {
      for (const [i, [label, viewport]] of Object.entries(widths).entries()) {
        const context = await browser.newContext({ viewport, javaScriptEnabled: false });
        await visit(await context.newPage(), label, i);
        await context.close();
      }
    } finally {
      await browser.close();
    }
  })().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

module.exports = { check, atEachWidth };
