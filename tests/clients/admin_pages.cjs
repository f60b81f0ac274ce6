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

// Clicks a link in the admin menu and waits until its page has loaded: a click alone returns
// before the navigation ends, and the checks that follow would read the page being left.
async function follow(page, name, url) {
  await Promise.all([page.waitForURL(url), page.getByRole("link", { name, exact: true }).click()]);
}

const [base, handle, password, dir, executablePath, prefix, ...reports] = process.argv.slice(2);

atEachWidth(executablePath, async (page, label, i) => {
  await page.goto(base + "/auth/sign_in");
  await page.getByLabel("Username").fill(handle);
  await page.getByLabel("Password").fill(password);
  await Promise.all([page.waitForURL(/settings\/sessions/), page.getByRole("button", { name: "Sign in" }).click()]);

  await page.goto(base + "/admin");
  await check(page, dir, "admin-dashboard", label);

  const domain = `${prefix}-${label}.example`;
  await follow(page, "Federation", /\/admin\/federation$/);
  await page.locator("#block-domain").fill(domain);
  await page.getByLabel("Severity").selectOption("suspend");
  await page.getByLabel("Public comment").fill("Sells miracle cures");
  // The form answers with a redirect to the page it is on, so the URL cannot tell that the
  // answer has loaded: wait for what the answer shows instead.
  await page.getByRole("button", { name: "Block domain" }).click();
  await page.getByText(`${domain}: suspend`).waitFor().catch(async () => {
    throw new Error(`${domain} is not listed after blocking it:\n${await page.content()}`);
  });
  await check(page, dir, "admin-federation", label);
  console.log(`BLOCKED ${label} ${domain}`);

  const report = reports[i];
  await follow(page, "Reports", /\/admin\/reports$/);
  await check(page, dir, "admin-reports", label);
  await page.locator(`#note-${report}`).fill("Post removed; member contacted");
  await page.getByRole("button", { name: `Resolve report ${report}` }).click();
  await page.locator(`#note-${report}`).waitFor({ state: "detached" }).catch(() => {
    throw new Error(`report ${report} is still open`);
  });
  console.log(`RESOLVED ${label} ${report}`);

  await follow(page, "Accounts", /\/admin\/accounts$/);
  await check(page, dir, "admin-accounts", label);
  await follow(page, "Audit log", /\/admin\/audit$/);
  if (!(await page.getByText("verifies").isVisible())) {
    throw new Error("the audit page does not say the chain verifies");
  }
  await check(page, dir, "admin-audit", label);
});
