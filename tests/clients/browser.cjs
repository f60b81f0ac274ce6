// Hearth's pages in headless Chromium, as a patient on a phone and on a desktop uses them:
// the home page, a group's page, and an app's sign-in and consent page, which this script
// fills in and approves. Saves a screenshot of each page at each width, checks that every
// field has a label and that nothing scrolls sideways, and prints the authorization code the
// app received, one line per width: "CODE <width> <code>".
//
// Run by the e2e test `browser_pages` (tests/e2e/client_libraries.rs) with NODE_PATH naming
// a node_modules that holds playwright-core.
//
// Arguments: BASE_URL AUTHORIZE_URL HANDLE PASSWORD GROUP SCREENSHOT_DIR CHROMIUM

const { chromium } = require("playwright-core");
const path = require("path");

const [base, authorizeUrl, handle, password, group, dir, executablePath] = process.argv.slice(2);
const widths = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 800 } };

async function check(page, name, label) {
  const unlabelled = await page.$$eval(
    "input:not([type=hidden]), select, textarea",
    (fields) => fields.filter((f) => f.labels.length === 0).map((f) => f.name),
  );
  if (unlabelled.length > 0) throw new Error(`${name}: fields without a label: ${unlabelled}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) throw new Error(`${name} scrolls sideways by ${overflow}px at ${label} width`);
  await page.screenshot({ path: path.join(dir, `${name}-${label}.png`), fullPage: true });
}

(async () => {
  const browser = await chromium.launch({
    executablePath,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  try {
    for (const [label, viewport] of Object.entries(widths)) {
      const context = await browser.newContext({ viewport, javaScriptEnabled: false });
      const page = await context.newPage();
      await page.goto(base + "/");
      await check(page, "home", label);
      await page.goto(`${base}/@${group}`);
      await check(page, "group", label);
      await page.goto(base + "/auth/sign_in");
      await check(page, "sign-in", label);

      await page.goto(authorizeUrl);
      await check(page, "consent", label);
      await page.getByLabel("Username").fill(handle);
      await page.getByLabel("Password").fill(password);
      // The keyboard alone can approve: focus the button and press Enter.
      await page.getByRole("button", { name: "Allow" }).focus();
      await Promise.all([page.waitForURL(/[?&]code=/), page.keyboard.press("Enter")]);
      const code = new URL(page.url()).searchParams.get("code");
      console.log(`CODE ${label} ${code}`);

      await page.goto(base + "/settings/sessions");
      await check(page, "sessions", label);
      await context.close();
    }
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
