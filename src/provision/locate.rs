//! Where a key sits in a TOML text: semantic errors found after parsing (a bad version range, an
//! unknown installer flag) name the line and column of the value, as syntax errors do.

use toml::de::{DeTable, DeValue};

/// One step of a path into a TOML document: a table key or an array index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// 1-based (line, column) of the value at `path`; of its nearest ancestor that exists when it
/// does not (a missing key is reported where its table starts); (1, 1) for an unparsable text.
pub fn locate(text: &str, path: &[Seg]) -> (usize, usize) {
    let Ok(doc) = DeTable::parse(text) else { return (1, 1) };
    let mut start = doc.span().start;
    let mut found_any = false;
    let mut table: Option<&DeTable> = Some(doc.get_ref());
    let mut array: Option<&[toml::Spanned<DeValue>]> = None;
    for seg in path {
        let next = match (seg, table, array) {
            (Seg::Key(k), Some(t), _) => {
                t.iter().find(|(key, _)| key.get_ref().as_ref() == *k).map(|(key, value)| (key.span(), value))
            }
            (Seg::Index(i), _, Some(a)) => a.get(*i).map(|v| (v.span(), v)),
            _ => None,
        };
        let Some((key_span, value)) = next else { break };
        // A table's own span can be the whole document for `[[array]]` headers: the key (or the
        // element) is the better place to point at.
        start = match value.get_ref() {
            DeValue::Table(_) => key_span.start,
            _ => value.span().start,
        };
        found_any = true;
        table = None;
        array = None;
        match value.get_ref() {
            DeValue::Table(t) => table = Some(t),
            DeValue::Array(a) => array = Some(a),
            _ => {}
        }
    }
    if !found_any {
        return (1, 1);
    }
    line_col(text, start)
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_in_tables_arrays_of_tables_and_arrays() {
        let text = "name = \"x\"\n\n[[base]]\nplatform = \"jetson\"\ncandidates = [\"a\", \"b\"]\n\n[[base]]\nplatform = \"x86_64\"\njetpack = \">=6\"\n[zed]\nflags = [\"silent\", \"bogus\"]\n";
        assert_eq!(locate(text, &[Seg::Key("name")]), (1, 8));
        assert_eq!(locate(text, &[Seg::Key("base"), Seg::Index(1), Seg::Key("jetpack")]), (9, 11));
        assert_eq!(
            locate(text, &[Seg::Key("base"), Seg::Index(0), Seg::Key("candidates"), Seg::Index(1)]),
            (5, 20)
        );
        assert_eq!(locate(text, &[Seg::Key("zed"), Seg::Key("flags"), Seg::Index(1)]), (11, 20));
        // A missing key: the nearest ancestor.
        assert_eq!(locate(text, &[Seg::Key("zed"), Seg::Key("variant")]).0, 10);
        assert_eq!(locate("not = [toml", &[Seg::Key("not")]), (1, 1));
    }
}
