/**
 * The dashboard's client (bundled by scripts/build-assets.ts into /dashboard/app.js): no framework,
 * DOM APIs and text nodes only. The router picks a view per hash route; a signed-out user gets the
 * token form.
 */
import { whenSignedOut } from "./lib/auth.ts";
import { main } from "./lib/page.ts";
import { route } from "./router.ts";

whenSignedOut(route);
document.getElementById("skip-link")?.addEventListener("click", (ev) => {
  ev.preventDefault();
  main.focus();
});
window.addEventListener("hashchange", route);
route();
