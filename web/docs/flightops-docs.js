/* flightops-docs.js - starts Swagger UI on /openapi.json of the origin that
 * served this page. Authorize logs in with the OAuth2 password flow
 * (POST /token) and "Try it out" calls the same origin: the document's first
 * server is "/". No script here (or in the bundle, with validatorUrl off)
 * fetches anything from another origin. */
"use strict";

window.addEventListener("load", function () {
	window.ui = SwaggerUIBundle({
		url: new URL("/openapi.json", window.location.href).href,
		dom_id: "#swagger-ui",
		deepLinking: true,
		// the public validator badge would call validator.swagger.io
		validatorUrl: null,
		// only for flows that redirect; the password flow does not
		oauth2RedirectUrl: new URL("oauth2-redirect.html", window.location.href).href,
		presets: [SwaggerUIBundle.presets.apis],
		layout: "BaseLayout",
		displayRequestDuration: true,
		showExtensions: true,
		// keep a login across reloads of this tab's page (localStorage)
		persistAuthorization: true,
	});
});
