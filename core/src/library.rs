//! What counts as a document in a library folder, and how duplicate ids are settled.
//! (Skeleton: filled in with the parsers.)

use crate::model::DocType;

/// The document kind of a library-relative path, or `None` when the path is not a
/// document (other extension, hidden, editor temp/backup file).
pub fn classify(_path: &str) -> Option<DocType> {
    None
}
