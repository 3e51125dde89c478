// The seed plan's own approach, written from its Step 2 and "Technical Decisions", as
// the baseline of the watcher benchmark (not part of promptshelf):
// - chokidar watches the personas/ and prompts/ folders (*.json, *.prompty);
// - a 500 ms debounce per file; a rename is a delete plus an add;
// - better-sqlite3 with prepared statements; the initial sync in one transaction;
// - on startup every file is read and parsed again (there is no change detection).
// It is given WAL mode (the seed does not say), which only helps it.
//
// usage: node seed-sync.mjs DIR DB [--once]
import fs from 'node:fs';
import path from 'node:path';
import chokidar from 'chokidar';
import Database from 'better-sqlite3';
import yaml from 'js-yaml';

const [dir, dbPath, mode] = process.argv.slice(2);
const root = path.resolve(dir);
const db = new Database(dbPath);
db.pragma('journal_mode = WAL');
db.exec(`
CREATE TABLE IF NOT EXISTS documents (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL CHECK (type IN ('persona', 'prompt_template')),
  name TEXT NOT NULL,
  document JSON NOT NULL,
  file_path TEXT NOT NULL,
  file_modified DATETIME NOT NULL,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_documents_type ON documents(type);
CREATE INDEX IF NOT EXISTS idx_documents_name ON documents(name);
CREATE INDEX IF NOT EXISTS idx_documents_file_path ON documents(file_path);
`);
const upsert = db.prepare(`INSERT INTO documents (id, type, name, document, file_path, file_modified)
  VALUES (@id, @type, @name, @document, @file_path, @file_modified)
  ON CONFLICT(id) DO UPDATE SET type = excluded.type, name = excluded.name, document = excluded.document,
    file_path = excluded.file_path, file_modified = excluded.file_modified, updated_at = CURRENT_TIMESTAMP`);
const removeByPath = db.prepare('DELETE FROM documents WHERE file_path = ?');
const allPaths = db.prepare('SELECT file_path FROM documents');

function kindOf(rel) {
  if (rel.startsWith('personas/') && rel.endsWith('.json')) return 'persona';
  if (rel.startsWith('prompts/') && rel.endsWith('.prompty')) return 'prompt_template';
  return null;
}

function parseFile(abs) {
  const rel = path.relative(root, abs).split(path.sep).join('/');
  const type = kindOf(rel);
  if (!type) return null;
  const text = fs.readFileSync(abs, 'utf8');
  const stat = fs.statSync(abs);
  const derived = rel.replace(/\.[^./]+$/, '');
  let doc;
  if (type === 'persona') {
    doc = JSON.parse(text);
  } else {
    const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(text);
    if (!m) throw new Error(`${rel}: no front matter`);
    doc = { ...(yaml.load(m[1]) ?? {}), body: m[2] };
  }
  const id = typeof doc.id === 'string' ? doc.id : derived;
  return {
    id, type, name: String(doc.name ?? doc.title ?? id), document: JSON.stringify(doc),
    file_path: rel, file_modified: stat.mtime.toISOString(),
  };
}

function syncFile(abs) {
  try {
    if (!fs.existsSync(abs)) {
      removeByPath.run(path.relative(root, abs).split(path.sep).join('/'));
      return;
    }
    const row = parseFile(abs);
    if (row) upsert.run(row);
  } catch (e) {
    console.error(`sync error: ${e.message}`);
  }
}

function walk(d, out) {
  let entries;
  try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return out; }
  for (const e of entries) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p, out); else out.push(p);
  }
  return out;
}

// Initial sync: parse every file, one transaction.
const t0 = performance.now();
const files = [...walk(path.join(root, 'personas'), []), ...walk(path.join(root, 'prompts'), [])];
const seen = new Set();
db.transaction(() => {
  for (const f of files) {
    try {
      const row = parseFile(f);
      if (row) { upsert.run(row); seen.add(row.file_path); }
    } catch (e) {
      console.error(`sync error: ${e.message}`);
    }
  }
  for (const { file_path } of allPaths.all()) if (!seen.has(file_path)) removeByPath.run(file_path);
})();
console.error(`initial sync: ${files.length} files in ${(performance.now() - t0).toFixed(0)} ms`);

if (mode === '--once') {
  db.close();
  process.exit(0);
}

const timers = new Map();
function debounced(abs) {
  clearTimeout(timers.get(abs));
  timers.set(abs, setTimeout(() => { timers.delete(abs); syncFile(abs); }, 500));
}
const watcher = chokidar.watch([path.join(root, 'personas'), path.join(root, 'prompts')], {
  ignoreInitial: true,
});
watcher.on('add', debounced).on('change', debounced).on('unlink', debounced);
watcher.on('ready', () => console.log('ready'));
const stop = async () => { await watcher.close(); db.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
