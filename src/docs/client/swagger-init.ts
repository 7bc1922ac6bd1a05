/**
 * The /docs page's initializer (bundled by scripts/build-assets.ts into /docs/swagger-init.js):
 * starts Swagger UI (swagger-ui-bundle.js, loaded before it from this origin) on /openapi.json.
 * Nothing leaves this origin: no validator badge, no remote config.
 */
interface SwaggerUIBundleOptions {
  url: string;
  dom_id: string;
  deepLinking: boolean;
  validatorUrl: null;
  presets: unknown[];
  queryConfigEnabled: boolean;
  tryItOutEnabled: boolean;
  defaultModelsExpandDepth: number;
  docExpansion: "list" | "full" | "none";
}

declare const SwaggerUIBundle: ((options: SwaggerUIBundleOptions) => unknown) & { presets: { apis: unknown } };

SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // Swagger UI's default asks validator.swagger.io to badge the document: off (and the CSP forbids it).
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  // ?url=… and ?configUrl=… must not point the page at another document.
  queryConfigEnabled: false,
  tryItOutEnabled: false,
  defaultModelsExpandDepth: 0,
  docExpansion: "list",
});
