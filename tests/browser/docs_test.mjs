// docs_test.mjs - the interactive API page in a real browser: Debian's
// chromium, headless, driven by playwright-core (never a downloaded
// browser). Registers a user through the API, opens /docs on the gateway,
// logs in through Authorize (OAuth2 password flow: username, password),
// runs "Try it out" on GET /users/me and expects 200 with that user in the
// page, no console error, and no request to another origin. Saves a
// screenshot (its path is printed) whether it passes or not.
//
// Environment: FO_GATEWAY_PORT (18080 under ctest), FO_CHROMIUM
// (/usr/bin/chromium), FO_SCREENSHOT (where the PNG goes).
import { chromium } from "playwright-core";

const gateway = `http://127.0.0.1:${process.env.FO_GATEWAY_PORT || "8080"}`;
const executablePath = process.env.FO_CHROMIUM || "/usr/bin/chromium";
const screenshot = process.env.FO_SCREENSHOT || "docs.png";
// Generous bounded waits: a shared 2-core machine under a full test run.
const WAIT_MS = 30000;

function fail(message) {
	throw new Error(message);
}

// A fresh user per run, so the test needs no sample data and can repeat.
async function registerUser() {
	const stamp = `${Date.now().toString(36)}${process.pid.toString(36)}`;
	const user = { username: `docs_${stamp}`, password: `docs-pass-${stamp}` };
	const res = await fetch(`${gateway}/register`, {
		method: "POST",
		headers: { "Content-Type": "application/json" },
		body: JSON.stringify({
			email: `${user.username}@example.com`,
			username: user.username,
			full_name: "Docs Browser Test",
			password: user.password,
		}),
	});
	if (res.status !== 201) fail(`POST /register: ${res.status} ${await res.text()}`);
	return user;
}

// Authorize -> the oauth2Password block: username, password, Authorize.
async function logIn(page, user) {
	await page.getByRole("button", { name: "Authorize" }).first().click();
	const dialog = page.locator(".modal-ux");
	const oauth = dialog.locator(".auth-container").filter({ hasText: "oauth2Password" });
	await oauth.locator("#oauth_username").fill(user.username);
	await oauth.locator("#oauth_password").fill(user.password);
	await oauth.getByRole("button", { name: "Apply given OAuth2 credentials" }).click();
	// Swagger UI offers Logout once /token answered with a token
	await oauth.getByRole("button", { name: "Remove authorization" }).waitFor();
	await dialog.locator("button.btn-done").first().click();
	await dialog.waitFor({ state: "detached" });
}

async function tryUsersMe(page, user) {
	const op = page.locator("#operations-users-getMe");
	await op.locator(".opblock-summary").first().click();
	await op.getByRole("button", { name: "Try it out" }).click();
	await op.getByRole("button", { name: "Execute" }).click();
	const live = op.locator(".live-responses-table");
	const status = live.locator("tbody .response-col_status").first();
	await status.waitFor();
	const code = (await status.innerText()).trim();
	if (code !== "200") fail(`GET /users/me in the page: status ${code}`);
	const body = await live.locator("tbody .response-col_description pre").first().innerText();
	if (!body.includes(`"${user.username}"`)) fail(`GET /users/me in the page: body ${body}`);
}

async function main() {
	const user = await registerUser();
	const browser = await chromium.launch({
		executablePath,
		headless: true,
		args: [
			"--no-sandbox",
			"--disable-gpu",
			"--no-first-run",
			"--disable-background-networking",
			"--disable-component-update",
		],
	});
	const problems = [];
	let page;
	try {
		page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
		page.setDefaultTimeout(WAIT_MS);
		page.on("console", (msg) => {
			if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
		});
		page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
		page.on("request", (req) => {
			const url = new URL(req.url());
			if (url.protocol !== "data:" && url.origin !== gateway)
				problems.push(`request to another origin: ${req.url()}`);
		});
		page.on("response", (res) => {
			if (res.status() >= 400) problems.push(`${res.status()} from ${res.url()}`);
		});
		await page.goto(`${gateway}/docs`);
		await page.locator(".swagger-ui .info .title").filter({ hasText: "FlightOps API" }).waitFor();
		await logIn(page, user);
		await tryUsersMe(page, user);
		if (problems.length) fail(problems.join("\n"));
		console.log(`ok: /docs logged in as ${user.username}, GET /users/me answered 200 in the page`);
	} finally {
		if (page) {
			// the operation with its live answer when it got that far, else the view
			const op = page.locator("#operations-users-getMe .live-responses-table");
			const shot = { path: screenshot, timeout: 5000 };
			if (await op.isVisible())
				await page.locator("#operations-users-getMe").screenshot(shot).catch(() => {});
			else
				await page.screenshot(shot).catch(() => {});
			console.log(`screenshot: ${screenshot}`);
		}
		await browser.close();
	}
}

main().catch((err) => {
	console.error(`docs_test: FAILED: ${err.stack || err}`);
	process.exit(1);
});
