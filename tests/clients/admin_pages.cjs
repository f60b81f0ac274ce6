// Hearth's admin pages in headless Chromium, without JavaScript, as a clinic's admin uses them
// on a phone and on a desktop: signs in, reads the dashboard, blocks a domain on the
// federation page and resolves a report on the reports page, then reads the accounts page and
// the audit log. Saves a screenshot of each page at each width, checks that every field has a
// label and that nothing scrolls sideways, and prints one line per act done:
// "BLOCKED <width> <domain>" and "RESOLVED <width> <report id>".
//
// Run by the e2e test `admin_pages_block_a_domain_and_resolve_a_report`
// (tests/e2e/client_libraries.rs) with NODE_PATH naming a node_modules that holds
// playwright-core.
//
// Arguments: BASE_URL HANDLE PASSWORD SCREENSHOT_DIR CHROMIUM DOMAIN_PREFIX REPORT_ID...
// (one report id per width: phone, then desktop)

const { check, atEachWidth } = require("./common.cjs");

const [base, handle, password, dir, executablePath, prefix, ...reports] = process.argv.slice(2);

atEachWidth(executablePath, async (page, label, i) => {
  await page.goto(base + "/auth/sign_in");
  await page.getByLabel("Username").fill(handle);
  await page.getByLabel("Password").fill(password);
  await Promise.all([page.waitForURL(/settings\/sessions/), page.getByRole("button", { name: "Sign in" }).click()]);

  await page.goto(base + "/admin");
  await check(page, dir, "admin-dashboard", label);

  const domain = `${prefix}-${label}.example`;
  await page.getByRole("link", { name: "Federation", exact: true }).click();
  await page.locator("#block-domain").fill(domain);
  await page.getByLabel("Severity").selectOption("suspend");
  await page.getByLabel("Public comment").fill("Sells miracle cures");
  await Promise.all([
    page.waitForURL(/\/admin\/federation$/),
    page.getByRole("button", { name: "Block domain" }).click(),
  ]);
  if (!(await page.getByText(`${domain}: suspend`).isVisible())) {
    throw new Error(`${domain} is not listed after blocking it:\n${await page.content()}`);
  }
  await check(page, dir, "admin-federation", label);
  console.log(`BLOCKED ${label} ${domain}`);

  const report = reports[i];
  await page.getByRole("link", { name: "Reports", exact: true }).click();
  await check(page, dir, "admin-reports", label);
  await page.locator(`#note-${report}`).fill("Post removed; member contacted");
  await Promise.all([
    page.waitForURL(/\/admin\/reports$/),
    page.getByRole("button", { name: `Resolve report ${report}` }).click(),
  ]);
  if (await page.locator(`#note-${report}`).count() !== 0) {
    throw new Error(`report ${report} is still open`);
  }
  console.log(`RESOLVED ${label} ${report}`);

  await page.getByRole("link", { name: "Accounts", exact: true }).click();
  await check(page, dir, "admin-accounts", label);
  await page.getByRole("link", { name: "Audit log", exact: true }).click();
  if (!(await page.getByText("verifies").isVisible())) {
    throw new Error("the audit page does not say the chain verifies");
  }
  await check(page, dir, "admin-audit", label);
});
