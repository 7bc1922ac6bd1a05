import { ConflictError, NotFoundError } from "../core/errors";

export interface TemplateVersion {
  version: number;
  templateId: string;
  createdAt: string;
  active: boolean;
}

export interface TemplateAliasView {
  alias: string;
  active: { version: number; templateId: string };
  versions: TemplateVersion[];
}

/** What a run's `template` named, resolved once when the run is created. */
export interface ResolvedTemplate {
  templateId: string;
  /** The alias and version it came from; null when `template` was a template id itself. */
  alias: { name: string; version: number } | null;
}

/**
 * Template aliases in D1: `PUT` records a new version and makes it active, rollback makes the
 * version before the active one active again. Runs resolve an alias when created and keep the id.
 */
export class TemplateAliases {
  readonly #db: D1Database;

  constructor(db: D1Database) {
    this.#db = db;
  }

  async resolve(name: string): Promise<ResolvedTemplate> {
    const row = await this.#db
      .prepare("SELECT v.version, v.template_id FROM template_aliases a JOIN template_versions v ON v.alias = a.alias AND v.version = a.active_version WHERE a.alias = ?")
      .bind(name)
      .first<{ version: number; template_id: string }>();
    return row ? { templateId: row.template_id, alias: { name, version: row.version } } : { templateId: name, alias: null };
  }

  async view(alias: string): Promise<TemplateAliasView> {
    const [active, versions] = await this.#db.batch([
      this.#db.prepare("SELECT active_version FROM template_aliases WHERE alias = ?").bind(alias),
      this.#db.prepare("SELECT version, template_id, created_at FROM template_versions WHERE alias = ? ORDER BY version DESC").bind(alias),
    ]);
    const activeVersion = (active!.results[0] as { active_version: number } | undefined)?.active_version;
    if (activeVersion === undefined) throw new NotFoundError("template alias", alias);
    const list = (versions!.results as { version: number; template_id: string; created_at: string }[]).map((v) => ({
      version: v.version,
      templateId: v.template_id,
      createdAt: v.created_at,
      active: v.version === activeVersion,
    }));
    const current = list.find((v) => v.active)!;
    return { alias, active: { version: current.version, templateId: current.templateId }, versions: list };
  }

  /** Points the alias at templateId as a new version; the same id as the active one changes nothing. */
  async put(alias: string, templateId: string): Promise<{ view: TemplateAliasView; created: boolean }> {
    const current = await this.resolve(alias);
    if (current.alias && current.templateId === templateId) return { view: await this.view(alias), created: false };
    const now = new Date().toISOString();
    await this.#db.batch([
      this.#db
        .prepare("INSERT INTO template_versions (alias, version, template_id, created_at) SELECT ?, COALESCE(MAX(version), 0) + 1, ?, ? FROM template_versions WHERE alias = ?")
        .bind(alias, templateId, now, alias),
      this.#db
        .prepare(
          `INSERT INTO template_aliases (alias, active_version, updated_at) VALUES (?, (SELECT MAX(version) FROM template_versions WHERE alias = ?), ?)
           ON CONFLICT (alias) DO UPDATE SET active_version = excluded.active_version, updated_at = excluded.updated_at`,
        )
        .bind(alias, alias, now),
    ]);
    return { view: await this.view(alias), created: true };
  }

  /** Makes the version before the active one active (409 when there is none). */
  async rollback(alias: string): Promise<TemplateAliasView> {
    const view = await this.view(alias);
    const previous = view.versions.find((v) => v.version < view.active.version);
    if (!previous) throw new ConflictError("no_previous_version", `Template alias "${alias}" has no version before ${view.active.version}.`, { alias });
    await this.#db
      .prepare("UPDATE template_aliases SET active_version = ?, updated_at = ? WHERE alias = ? AND active_version = ?")
      .bind(previous.version, new Date().toISOString(), alias, view.active.version)
      .run();
    return this.view(alias);
  }
}
