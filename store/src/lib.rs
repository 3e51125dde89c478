//! The one definition of promptshelf's SQLite schema and the queries both the watcher
//! (read-write) and the edge worker (read-only snapshot) run against it.
//! (Skeleton: the schema lands with the watcher.)
