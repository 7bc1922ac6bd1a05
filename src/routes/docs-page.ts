/**
 * The /docs page's style and script: a small, dependency-free renderer of /openapi.json
 * (operations grouped by tag, expandable schemas, a "try it" panel). Plain ES2020 in strings, so
 * it is served inline (the page must work on a closed network). The script uses no backquotes and
 * no "${" (it lives in a template literal); test/node/openapi.test.ts checks that it parses.
 */

export const DOCS_PAGE_STYLE = `
:root { color-scheme: light dark; --fg: #1d2430; --muted: #667085; --bg: #fff; --panel: #f6f7f9; --line: #dde1e7; --accent: #2f6feb;
  --get: #1a7f37; --post: #2f6feb; --put: #9a6700; --delete: #cf222e; --patch: #8250df; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --muted: #9aa4b2; --bg: #0f1217; --panel: #171b22; --line: #2a313c; --accent: #6ea8fe; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1rem; justify-content: space-between; align-items: center; padding: .75rem 1.25rem; border-bottom: 1px solid var(--line); position: sticky; top: 0; background: var(--bg); z-index: 1; }
h1 { font-size: 1.2rem; margin: 0; } h1 span { font-weight: normal; color: var(--muted); font-size: .9rem; }
header p { margin: .1rem 0 0; color: var(--muted); }
h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; text-transform: capitalize; } h2 + p { margin-top: 0; color: var(--muted); }
.token input { margin-left: .5rem; width: 16rem; }
.layout { display: grid; grid-template-columns: 16rem 1fr; }
nav { border-right: 1px solid var(--line); padding: .75rem; position: sticky; top: 3.6rem; height: calc(100vh - 3.6rem); overflow: auto; font-size: 13px; }
nav a { display: block; color: inherit; text-decoration: none; padding: .1rem .25rem; border-radius: 4px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
nav a:hover { background: var(--panel); } nav b { display: block; margin: .6rem 0 .2rem; text-transform: capitalize; }
main { padding: 0 1.25rem 3rem; min-width: 0; }
details.op { border: 1px solid var(--line); border-radius: 6px; margin: .5rem 0; background: var(--bg); }
details.op > summary { cursor: pointer; padding: .45rem .6rem; display: flex; gap: .6rem; align-items: baseline; }
details.op[open] > summary { border-bottom: 1px solid var(--line); background: var(--panel); }
.body { padding: .6rem .8rem; }
.method { font: 600 12px ui-monospace, monospace; text-transform: uppercase; min-width: 3.5rem; color: var(--post); }
.method.get { color: var(--get); } .method.put { color: var(--put); } .method.delete { color: var(--delete); } .method.patch { color: var(--patch); }
code, .path, pre, textarea, input, select { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
.muted { color: var(--muted); } .lock { color: var(--muted); font-size: 12px; margin-left: auto; }
table { border-collapse: collapse; width: 100%; margin: .3rem 0 .6rem; } th, td { text-align: left; padding: .25rem .4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
.schema { margin: .2rem 0 .2rem .2rem; } .schema details { margin-left: .9rem; } .schema summary { cursor: pointer; }
.prop { margin: .1rem 0 .1rem .9rem; } .prop .name { font-family: ui-monospace, monospace; font-weight: 600; }
.req { color: var(--delete); font-size: 11px; margin-left: .2rem; } .type { color: var(--accent); font-family: ui-monospace, monospace; margin-left: .4rem; }
.desc { color: var(--muted); margin-left: .4rem; }
.try { border-top: 1px dashed var(--line); margin-top: .6rem; padding-top: .6rem; }
.try label { display: block; margin: .25rem 0; } .try label span { display: inline-block; min-width: 9rem; }
textarea { width: 100%; min-height: 12rem; background: var(--panel); color: inherit; border: 1px solid var(--line); border-radius: 4px; padding: .4rem; }
input, select { background: var(--panel); color: inherit; border: 1px solid var(--line); border-radius: 4px; padding: .2rem .35rem; }
button { font: inherit; padding: .25rem .8rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; margin-right: .4rem; }
button.secondary { background: transparent; color: var(--accent); }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 4px; padding: .5rem; overflow: auto; max-height: 28rem; white-space: pre-wrap; word-break: break-word; }
.status { font-weight: 600; } .status.ok { color: var(--get); } .status.err { color: var(--delete); }
@media (max-width: 800px) { .layout { grid-template-columns: 1fr; } nav { display: none; } header { flex-direction: column; align-items: flex-start; } }
`;

export const DOCS_PAGE_SCRIPT = `
"use strict";
(function () {
  var TOKEN_KEY = "forkyard.docs.token";
  var METHODS = ["get", "post", "put", "patch", "delete"];
  var spec = null;

  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (attrs[k] === undefined || attrs[k] === null) continue;
      if (k === "text") el.textContent = attrs[k];
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), attrs[k]);
      else el.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return el;
  }

  /** Text with \u0060code\u0060 spans (the only markdown the document uses). */
  function md(text, cls) {
    var el = h("span", cls ? { class: cls } : null);
    String(text).split("\u0060").forEach(function (part, i) { el.appendChild(i % 2 ? h("code", { text: part }) : document.createTextNode(part)); });
    return el;
  }

  function refName(ref) { return ref.split("/").pop(); }
  function resolve(obj) {
    var seen = 0;
    while (obj && obj.$ref && seen++ < 20) {
      var parts = obj.$ref.replace(/^#\\//, "").split("/");
      var cur = spec;
      for (var i = 0; i < parts.length; i++) cur = cur && cur[parts[i]];
      obj = cur;
    }
    return obj || {};
  }

  function typeLabel(s) {
    if (!s) return "any";
    if (s.$ref) return refName(s.$ref);
    if (s.const !== undefined) return JSON.stringify(s.const);
    if (s.enum) return s.enum.map(function (v) { return JSON.stringify(v); }).join(" | ");
    if (s.anyOf || s.oneOf) return (s.anyOf || s.oneOf).map(typeLabel).join(" | ");
    if (s.type === "array") return typeLabel(s.items) + "[]";
    if (s.type === "object" && !s.properties && s.additionalProperties && typeof s.additionalProperties === "object") return "map<string, " + typeLabel(s.additionalProperties) + ">";
    if (Array.isArray(s.type)) return s.type.join(" | ");
    return s.type || "any";
  }

  function constraints(s) {
    var out = [];
    var keys = ["minimum", "exclusiveMinimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "maxProperties", "pattern", "default"];
    for (var i = 0; i < keys.length; i++) if (s[keys[i]] !== undefined) out.push(keys[i] + ": " + JSON.stringify(s[keys[i]]));
    return out.join(", ");
  }

  /** A schema as an expandable tree; referenced and nested schemas render when opened. */
  function schemaTree(s, depth) {
    depth = depth || 0;
    var box = h("div", { class: "schema" });
    if (depth > 12) { box.appendChild(h("span", { class: "muted", text: "…" })); return box; }
    if (s && s.$ref) {
      var d = h("details", null, h("summary", null, h("span", { class: "type", text: refName(s.$ref) })));
      d.addEventListener("toggle", function once() {
        d.removeEventListener("toggle", once);
        d.appendChild(schemaTree(resolve(s), depth + 1));
      });
      box.appendChild(d);
      return box;
    }
    s = s || {};
    if (s.description && depth === 0) box.appendChild(md(s.description, "muted"));
    var variants = s.anyOf || s.oneOf;
    if (variants) {
      box.appendChild(h("div", { class: "muted", text: "one of:" }));
      variants.forEach(function (v) { box.appendChild(schemaTree(v, depth + 1)); });
      return box;
    }
    if (s.type === "array") {
      box.appendChild(h("div", null, h("span", { class: "muted", text: "array of" }), h("span", { class: "type", text: typeLabel(s.items) })));
      if (s.items && (s.items.$ref || s.items.properties)) box.appendChild(schemaTree(resolve(s.items), depth + 1));
      return box;
    }
    if (s.properties) {
      var required = s.required || [];
      Object.keys(s.properties).forEach(function (name) {
        var p = s.properties[name];
        var nested = p.$ref || p.properties || p.anyOf || (p.type === "array" && p.items && (p.items.$ref || p.items.properties));
        var line = h("span", null, h("span", { class: "name", text: name }), required.indexOf(name) >= 0 ? h("span", { class: "req", text: "required" }) : null,
          h("span", { class: "type", text: typeLabel(p) }), p.description ? md(p.description, "desc") : null,
          constraints(p) ? h("span", { class: "desc", text: "(" + constraints(p) + ")" }) : null);
        if (nested) {
          var d = h("details", { class: "prop" }, h("summary", null, line));
          d.addEventListener("toggle", function once() {
            d.removeEventListener("toggle", once);
            d.appendChild(schemaTree(p.$ref ? resolve(p) : p, depth + 1));
          });
          box.appendChild(d);
        } else box.appendChild(h("div", { class: "prop" }, line));
      });
      if (s.additionalProperties === false) box.appendChild(h("div", { class: "prop muted", text: "(no other fields)" }));
      return box;
    }
    box.appendChild(h("div", null, h("span", { class: "type", text: typeLabel(s) }), constraints(s) ? h("span", { class: "desc", text: "(" + constraints(s) + ")" }) : null));
    return box;
  }

  /** A plausible value for a schema: example, default, first enum value, or a skeleton. */
  function sample(s, depth) {
    depth = depth || 0;
    s = resolve(s);
    if (depth > 6) return null;
    if (s.example !== undefined) return s.example;
    if (s.default !== undefined) return s.default;
    if (s.const !== undefined) return s.const;
    if (s.enum) return s.enum[0];
    if (s.anyOf || s.oneOf) return sample((s.anyOf || s.oneOf)[0], depth + 1);
    if (s.type === "array") return [sample(s.items, depth + 1)];
    if (s.type === "object" || s.properties) {
      var o = {};
      (s.required || Object.keys(s.properties || {})).forEach(function (k) { o[k] = sample((s.properties || {})[k], depth + 1); });
      return o;
    }
    if (s.type === "integer" || s.type === "number") return s.minimum !== undefined ? s.minimum : 1;
    if (s.type === "boolean") return false;
    return "";
  }

  function bodyExample(op) {
    var media = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
    if (!media) return null;
    if (media.examples) { var first = media.examples[Object.keys(media.examples)[0]]; if (first) return first.value; }
    if (media.example !== undefined) return media.example;
    return sample(media.schema);
  }

  function params(op, pathItem) {
    return (pathItem.parameters || []).concat(op.parameters || []).map(resolve);
  }

  function tryPanel(path, method, op, pathItem) {
    var ps = params(op, pathItem);
    var inputs = {};
    var panel = h("div", { class: "try" }, h("b", { text: "Try it" }));
    ps.forEach(function (p) {
      var input = h("input", { type: "text", placeholder: p.schema && p.schema.default !== undefined ? String(p.schema.default) : (p.required ? "required" : "") });
      inputs[p.in + ":" + p.name] = input;
      panel.appendChild(h("label", null, h("span", { text: p.name + " (" + p.in + ")" }), input));
    });
    var example = bodyExample(op);
    var textarea = null;
    if (example !== null) {
      var media = op.requestBody.content["application/json"];
      if (media.examples && Object.keys(media.examples).length > 1) {
        var select = h("select", null);
        Object.keys(media.examples).forEach(function (k) { select.appendChild(h("option", { value: k, text: media.examples[k].summary || k })); });
        select.addEventListener("change", function () { textarea.value = JSON.stringify(media.examples[select.value].value, null, 2); });
        panel.appendChild(h("label", null, h("span", { text: "example" }), select));
      }
      textarea = h("textarea", { spellcheck: "false" });
      textarea.value = JSON.stringify(example, null, 2);
      panel.appendChild(textarea);
    }
    var out = h("div", null);
    var controller = null;
    var send = h("button", { type: "button", text: "Send" });
    var stop = h("button", { type: "button", class: "secondary", text: "Stop" });
    stop.style.display = "none";
    stop.addEventListener("click", function () { if (controller) controller.abort(); });
    send.addEventListener("click", function () {
      var url = path;
      var query = new URLSearchParams();
      var headers = new Headers();
      for (var i = 0; i < ps.length; i++) {
        var p = ps[i];
        var v = inputs[p.in + ":" + p.name].value;
        if (v === "") continue;
        if (p.in === "path") url = url.replace("{" + p.name + "}", encodeURIComponent(v));
        else if (p.in === "query") query.set(p.name, v);
        else if (p.in === "header") headers.set(p.name, v);
      }
      if (query.toString()) url += "?" + query.toString();
      var token = document.getElementById("token").value.trim();
      var secured = op.security ? op.security.length > 0 : (spec.security || []).length > 0;
      if (token && secured) headers.set("Authorization", "Bearer " + token);
      var init = { method: method.toUpperCase(), headers: headers };
      if (textarea) { headers.set("Content-Type", "application/json"); init.body = textarea.value; }
      controller = new AbortController();
      init.signal = controller.signal;
      out.textContent = "";
      var statusLine = h("div", { class: "status", text: init.method + " " + url + " …" });
      var pre = h("pre", null);
      out.appendChild(statusLine);
      out.appendChild(pre);
      var started = Date.now();
      fetch(url, init).then(function (res) {
        statusLine.className = "status " + (res.ok ? "ok" : "err");
        statusLine.textContent = res.status + " " + res.statusText + "  (" + (Date.now() - started) + " ms" + (res.headers.get("X-Request-Id") ? ", request id " + res.headers.get("X-Request-Id") : "") + ")";
        var type = res.headers.get("Content-Type") || "";
        if (type.indexOf("text/event-stream") >= 0 && res.body) {
          stop.style.display = "";
          var reader = res.body.getReader();
          var decoder = new TextDecoder();
          var pump = function () {
            return reader.read().then(function (r) {
              if (r.done) { stop.style.display = "none"; pre.appendChild(document.createTextNode("\\n(stream ended)")); return; }
              pre.appendChild(document.createTextNode(decoder.decode(r.value, { stream: true })));
              pre.scrollTop = pre.scrollHeight;
              return pump();
            });
          };
          return pump();
        }
        return res.text().then(function (text) {
          try { pre.textContent = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { pre.textContent = text; }
        });
      }).catch(function (err) {
        stop.style.display = "none";
        if (err && err.name === "AbortError") { pre.appendChild(document.createTextNode("\\n(stopped)")); return; }
        statusLine.className = "status err";
        statusLine.textContent = "Request failed: " + err;
      });
    });
    panel.appendChild(h("div", null, send, stop));
    panel.appendChild(out);
    return panel;
  }

  function operation(path, method, op, pathItem) {
    var id = op.operationId || (method + path);
    var secured = op.security ? op.security.length > 0 : (spec.security || []).length > 0;
    var details = h("details", { class: "op", id: "op-" + id },
      h("summary", null, h("span", { class: "method " + method, text: method }), h("span", { class: "path", text: path }), h("span", { text: op.summary || "" }),
        secured ? h("span", { class: "lock", text: "bearer" }) : null));
    details.addEventListener("toggle", function once() {
      details.removeEventListener("toggle", once);
      var body = h("div", { class: "body" });
      if (op.description) body.appendChild(h("p", null, md(op.description)));
      var ps = params(op, pathItem);
      if (ps.length) {
        var table = h("table", null, h("tr", null, h("th", { text: "parameter" }), h("th", { text: "in" }), h("th", { text: "type" }), h("th", { text: "description" })));
        ps.forEach(function (p) {
          table.appendChild(h("tr", null, h("td", null, h("code", { text: p.name }), p.required ? h("span", { class: "req", text: "required" }) : null), h("td", { text: p.in }),
            h("td", null, h("code", { text: typeLabel(p.schema) }), constraints(resolve(p.schema)) ? h("div", { class: "muted", text: constraints(resolve(p.schema)) }) : null),
            h("td", null, md(p.description || ""))));
        });
        body.appendChild(h("b", { text: "Parameters" }));
        body.appendChild(table);
      }
      if (op.requestBody) {
        body.appendChild(h("b", { text: "Request body" }));
        Object.keys(op.requestBody.content || {}).forEach(function (type) {
          body.appendChild(h("div", { class: "muted", text: type }));
          body.appendChild(schemaTree(op.requestBody.content[type].schema));
        });
      }
      body.appendChild(h("b", { text: "Responses" }));
      var table2 = h("table", null, h("tr", null, h("th", { text: "status" }), h("th", { text: "description" }), h("th", { text: "body" })));
      Object.keys(op.responses || {}).forEach(function (status) {
        var r = resolve(op.responses[status]);
        var cell = h("td", null);
        Object.keys(r.content || {}).forEach(function (type) {
          cell.appendChild(h("div", { class: "muted", text: type }));
          cell.appendChild(schemaTree(r.content[type].schema));
        });
        table2.appendChild(h("tr", null, h("td", null, h("code", { text: status })), h("td", null, md(r.description || "")), cell));
      });
      body.appendChild(table2);
      body.appendChild(tryPanel(path, method, op, pathItem));
      details.appendChild(body);
    });
    return details;
  }

  function render() {
    document.getElementById("version").textContent = "v" + spec.info.version + " · OpenAPI " + spec.openapi;
    document.getElementById("summary").textContent = spec.info.summary || "";
    var main = document.getElementById("main");
    var nav = document.getElementById("nav");
    main.textContent = "";
    if (spec.info.description) main.appendChild(h("p", null, md(spec.info.description, "muted")));
    var byTag = {};
    var tagOrder = (spec.tags || []).map(function (t) { return t.name; });
    Object.keys(spec.paths).forEach(function (path) {
      var item = spec.paths[path];
      METHODS.forEach(function (m) {
        if (!item[m]) return;
        var tag = (item[m].tags && item[m].tags[0]) || "other";
        if (tagOrder.indexOf(tag) < 0) tagOrder.push(tag);
        (byTag[tag] = byTag[tag] || []).push([path, m, item[m], item]);
      });
    });
    tagOrder.forEach(function (tag) {
      if (!byTag[tag]) return;
      var info = (spec.tags || []).filter(function (t) { return t.name === tag; })[0];
      main.appendChild(h("h2", { id: "tag-" + tag, text: tag }));
      if (info && info.description) main.appendChild(h("p", { text: info.description }));
      nav.appendChild(h("b", { text: tag }));
      byTag[tag].forEach(function (e) {
        var op = operation(e[0], e[1], e[2], e[3]);
        main.appendChild(op);
        nav.appendChild(h("a", { href: "#" + op.id, onclick: function () { op.open = true; } }, h("span", { class: "method " + e[1], text: e[1] }), " " + e[0]));
      });
    });
    var schemas = (spec.components && spec.components.schemas) || {};
    main.appendChild(h("h2", { id: "schemas", text: "Schemas" }));
    nav.appendChild(h("b", { text: "schemas" }));
    Object.keys(schemas).forEach(function (name) {
      var d = h("details", { class: "op", id: "schema-" + name }, h("summary", null, h("span", { class: "path", text: name }), h("span", { class: "muted", text: schemas[name].description || "" })));
      d.addEventListener("toggle", function once() {
        d.removeEventListener("toggle", once);
        d.appendChild(h("div", { class: "body" }, schemaTree(schemas[name])));
      });
      main.appendChild(d);
      nav.appendChild(h("a", { href: "#schema-" + name, onclick: function () { d.open = true; } }, name));
    });
    if (location.hash) { var target = document.getElementById(location.hash.slice(1)); if (target) { target.open = true; target.scrollIntoView(); } }
  }

  var tokenInput = document.getElementById("token");
  try { tokenInput.value = localStorage.getItem(TOKEN_KEY) || ""; } catch (e) { /* storage disabled */ }
  tokenInput.addEventListener("input", function () { try { localStorage.setItem(TOKEN_KEY, tokenInput.value); } catch (e) { /* storage disabled */ } });

  fetch("openapi.json").then(function (res) {
    if (!res.ok) throw new Error("GET openapi.json: HTTP " + res.status);
    return res.json();
  }).then(function (doc) { spec = doc; render(); }).catch(function (err) {
    document.getElementById("main").textContent = "Could not load the API document: " + err;
  });
})();
`;
