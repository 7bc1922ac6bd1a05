-- Template aliases: each PUT records a version; a run resolves its alias once, when created.
CREATE TABLE IF NOT EXISTS template_versions (
  alias        TEXT NOT NULL,
  version      INTEGER NOT NULL,
  template_id  TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  PRIMARY KEY (alias, version)
);

CREATE TABLE IF NOT EXISTS template_aliases (
  alias           TEXT PRIMARY KEY,
  active_version  INTEGER NOT NULL,
  updated_at      TEXT NOT NULL
);
