// The public API, same origin only (CSP connect-src 'self'). Errors are
// thrown as ApiError carrying the API's own words: `detail` when it is a
// string, the `msg` of each item when it is a 422 list.

const TOKEN_KEY = "flightops.token";

export class ApiError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

// The hold countdown runs on the server's clock: the difference to ours,
// from the Date header of the latest answer.
let serverSkewMs = 0;
export function serverNow() {
	return Date.now() + serverSkewMs;
}

export function getToken() {
	return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
	if (token) sessionStorage.setItem(TOKEN_KEY, token);
	else sessionStorage.removeItem(TOKEN_KEY);
}

function detailText(status, body) {
	const detail = body && body.detail;
	if (typeof detail === "string" && detail) return detail;
	if (Array.isArray(detail) && detail.length) {
		return detail
			.map((item) => {
				const field = Array.isArray(item.loc) ? item.loc.filter((p) => p !== "body").join(".") : "";
				return field ? `${field}: ${item.msg}` : String(item.msg);
			})
			.join("; ");
	}
	return `The server answered ${status}`;
}

// Called with every 401: the token is gone or expired, so the app logs out.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
	onUnauthorized = fn;
}

export async function api(method, path, { json, form, auth = true } = {}) {
	const headers = { Accept: "application/json" };
	let body;
	if (json !== undefined) {
		headers["Content-Type"] = "application/json";
		body = JSON.stringify(json);
	} else if (form !== undefined) {
		headers["Content-Type"] = "application/x-www-form-urlencoded";
		body = new URLSearchParams(form).toString();
	}
	const token = getToken();
	if (auth && token) headers.Authorization = `Bearer ${token}`;
	let res;
	try {
		// no-cache: answers may be reused only once the API says they are
		// current (the seat map's ETag makes that a cheap 304).
		res = await fetch(path, { method, headers, body, cache: "no-cache" });
	} catch {
		throw new ApiError(0, "The server could not be reached. Check your connection and try again.");
	}
	const date = Date.parse(res.headers.get("Date") || "");
	if (!Number.isNaN(date)) serverSkewMs = date - Date.now();
	const text = await res.text();
	let data = null;
	if (text) {
		try {
			data = JSON.parse(text);
		} catch {
			data = null;
		}
	}
	if (!res.ok) {
		if (res.status === 401 && auth && token) onUnauthorized();
		throw new ApiError(res.status, detailText(res.status, data));
	}
	return { data, total: Number(res.headers.get("X-Total-Count") || 0) };
}

export function query(params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
	const s = q.toString();
	return s ? `?${s}` : "";
}

export function money(n) {
	return Number(n).toFixed(2);
}

export const CABINS = ["first", "business", "premium_economy", "economy"];
export function cabinName(c) {
	return { first: "First", business: "Business", premium_economy: "Premium economy", economy: "Economy" }[c] || c;
}
