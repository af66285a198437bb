// Numbered migrations: each runs once, in order, inside a transaction; user_version records the last.

/** The schema, one numbered step each; `user_version` says how many a database has run. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE launches (
     id INTEGER PRIMARY KEY,
     server TEXT NOT NULL,
     runtime TEXT NOT NULL,
     argv TEXT NOT NULL,
     env TEXT NOT NULL,
     cwd TEXT NOT NULL,
     config_hash TEXT NOT NULL,
     profile_hash TEXT NOT NULL,
     model_fingerprint TEXT,
     pid INTEGER,
     port INTEGER,
     started_at TEXT NOT NULL,
     ready_at TEXT,
     ready_ms INTEGER,
     stopped_at TEXT,
     exit_code INTEGER,
     exit_signal TEXT,
     outcome TEXT,
     log_tail TEXT
   );
   CREATE INDEX launches_by_server ON launches (server, id);`,
  `CREATE TABLE requests (
     id INTEGER PRIMARY KEY,
     at TEXT NOT NULL,
     server TEXT,
     agent TEXT,
     route TEXT NOT NULL,
     status INTEGER NOT NULL,
     stream INTEGER NOT NULL,
     ttfb_ms REAL,
     duration_ms REAL NOT NULL,
     prompt_tokens INTEGER,
     completion_tokens INTEGER,
     error TEXT
   );
   CREATE INDEX requests_by_server ON requests (server, id);`,
  // Prompt tokens the runtime's cache served: a turn that threw the cache away shows as 0 here.
  `ALTER TABLE requests ADD COLUMN cached_tokens INTEGER;
   CREATE INDEX requests_by_agent ON requests (agent, id);`,
  // What each launch was measured using (its peak) beside what rig counted it as before it ran; a
  // profile's next launch starts from its last measurement.
  `ALTER TABLE launches ADD COLUMN memory_bytes INTEGER;
   ALTER TABLE launches ADD COLUMN memory_estimate_bytes INTEGER;
   CREATE INDEX launches_by_profile ON launches (profile_hash, id);`,
  // `rig bench` runs: what was measured, on which build of which runtime, on which machine, and the figures.
  `CREATE TABLE bench_runs (
     id INTEGER PRIMARY KEY,
     server TEXT NOT NULL,
     at TEXT NOT NULL,
     runtime TEXT NOT NULL,
     runtime_version TEXT,
     config_hash TEXT NOT NULL,
     profile_hash TEXT NOT NULL,
     model_fingerprint TEXT,
     machine TEXT NOT NULL,
     settings TEXT NOT NULL,
     results TEXT NOT NULL
   );
   CREATE INDEX bench_runs_by_server ON bench_runs (server, id);`,
  // What each exchange's answer did with the tools offered (`rig stats`): calls made, repaired,
  // extracted from text, naming an unoffered tool; cut by the token limit; failed by the runtime.
  // NULL where the request never reached an answer path; by time for `--since`.
  `ALTER TABLE requests ADD COLUMN tools_offered INTEGER;
   ALTER TABLE requests ADD COLUMN tool_calls INTEGER;
   ALTER TABLE requests ADD COLUMN tool_calls_repaired INTEGER;
   ALTER TABLE requests ADD COLUMN tool_calls_extracted INTEGER;
   ALTER TABLE requests ADD COLUMN tool_calls_unoffered INTEGER;
   ALTER TABLE requests ADD COLUMN answer_cut INTEGER;
   ALTER TABLE requests ADD COLUMN upstream_error INTEGER;
   CREATE INDEX requests_by_time ON requests (at);`,
];
