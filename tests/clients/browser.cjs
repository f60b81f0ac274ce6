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

const { check, atEachWidth } = require("./common.cjs");

const [base, authorizeUrl, handle, password, group, dir, executablePath] = process.argv.slice(2);

atEachWidth(executablePath, async (page, label) => {
  await page.goto(base + "/");
  await check(page, dir, "home", label);
  await page.goto(`${base}/@${group}`);
  await check(page, dir, "group", label);
  await page.goto(base + "/auth/sign_in");
  await check(page, dir, "sign-in", label);

  await page.goto(authorizeUrl);
  await check(page, dir, "consent", label);
  await page.getByLabel("Username").fill(handle);
  await page.getByLabel("Password").fill(password);
  // The keyboard alone can approve: focus the button and press Enter.
  await page.getByRole("button", { name: "Allow" }).focus();
  await Promise.all([page.waitForURL(/[?&]code=/), page.keyboard.press("Enter")]);
  const code = new URL(page.url()).searchParams.get("code");
  console.log(`CODE ${label} ${code}`);

  await page.goto(base + "/settings/sessions");
  await check(page, dir, "sessions", label);
});
